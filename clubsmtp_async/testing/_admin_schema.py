"""The typed bodies of the ``/_admin`` endpoints: one decoder checks them all.

Every admin body is decoded by msgspec into one of these Structs before any
handler sees it: unknown fields, wrong JSON types (a bool is not a number, a
float is not an integer), out-of-range numbers and nulls where none is allowed
are refused with a 400 that names the field's JSON path, so nothing malformed
is ever stored to fail later on ``/v1``. ``null`` is accepted only where it
means something (clearing a DNS value, "no limit" for a fault rule's
``times``/``probability``), exactly as the admin API's answers show it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar, Union

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ._errors import invalid
from ._faults import (
    MAX_LATENCY,
    MAX_RETRY_AFTER,
    Drop,
    ErrorAfter,
    ErrorBefore,
    Latency,
    RateLimit,
    Reaction,
)
from ._keys import DEFAULT_ACCOUNT, MAX_EXPIRES_IN, MAX_RATE

__all__ = [
    "CreateKey",
    "DnsRecordPatch",
    "EmitEvent",
    "FaultRuleSpec",
    "FaultSeed",
    "NewEndpoint",
    "Reset",
    "VerifyDomain",
    "decode_body",
    "fault_rule",
    "given",
    "reaction_of",
]

_Text = Annotated[str, Meta(max_length=1000)]
_Name = Annotated[str, Meta(min_length=1, max_length=200)]
# Header-safe: printable ASCII only (a CR/LF would break the response later).
_HeaderValue = Annotated[str, Meta(max_length=200, pattern=r"^[\x20-\x7e]*$")]
_Int32 = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
_Aware = Annotated[datetime, Meta(tz=True)]


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class CreateKey(_Body, kw_only=True):
    """POST /_admin/keys."""

    key: _Name | UnsetType = UNSET
    live: bool = False
    account: _Name = DEFAULT_ACCOUNT
    scopes: Annotated[list[_Text], Meta(max_length=100)] = msgspec.field(
        default_factory=lambda: ["*:*"]
    )
    cidrs: Annotated[list[_Name], Meta(max_length=100)] = msgspec.field(default_factory=list)
    expires_at: _Aware | UnsetType = UNSET
    expires_in: Annotated[float, Meta(ge=-MAX_EXPIRES_IN, le=MAX_EXPIRES_IN)] | UnsetType = UNSET
    requests_per_minute: Annotated[float, Meta(gt=0, le=MAX_RATE)] | UnsetType = UNSET
    burst: Annotated[int, Meta(ge=1, le=1_000_000)] | UnsetType = UNSET


class Reset(_Body, kw_only=True):
    """POST /_admin/reset."""

    keys: bool = False
    webhooks: bool = False


class DnsRecordPatch(_Body, kw_only=True):
    """PATCH /_admin/dns-records/{uuid}."""

    status: _Int32 | UnsetType = UNSET
    expected_value: Annotated[str, Meta(max_length=4096)] | UnsetType | None = UNSET
    actual_value: Annotated[str, Meta(max_length=4096)] | UnsetType | None = UNSET
    last_checked_at: _Aware | UnsetType | None = UNSET


class VerifyDomain(_Body, kw_only=True):
    """POST /_admin/domains/{uuid}/verify."""

    status: _Int32 = 2


class FaultSeed(_Body, kw_only=True):
    """POST /_admin/faults/seed (null: unpredictable)."""

    seed: int | _Text | None = None


class _Rule(_Body, tag_field="kind", kw_only=True):
    method: Annotated[str, Meta(pattern=r"^(\*|[A-Za-z]{1,20})$")] = "*"
    path: Annotated[str, Meta(max_length=1000, pattern=r"^(\*|/.*)$")] = "*"
    times: Annotated[int, Meta(ge=1, le=2**31 - 1)] | None = None
    probability: Annotated[float, Meta(ge=0, le=1)] | None = None


_Seconds = Annotated[float, Meta(ge=0, le=MAX_LATENCY)]


class LatencyRule(_Rule, tag="latency", kw_only=True):
    """A latency rule."""

    seconds: _Seconds
    max_seconds: _Seconds | None = None


class _ErrorRule(_Rule, kw_only=True):
    status: Annotated[int, Meta(ge=400, le=599)] = 500
    message: _Text = "Internal server error."
    type: Annotated[str, Meta(min_length=1, max_length=100)] = "api_error"
    body: Annotated[str, Meta(max_length=1_000_000)] | None = None
    content_type: _HeaderValue = "text/html; charset=utf-8"


class ErrorBeforeRule(_ErrorRule, tag="error_before", kw_only=True):
    """An error before processing."""


class ErrorAfterRule(_ErrorRule, tag="error_after", kw_only=True):
    """An error after processing."""


class DropRule(_Rule, tag="drop", kw_only=True):
    """A dropped connection."""

    after_processing: bool = True


class RateLimitRule(_Rule, tag="rate_limit", kw_only=True):
    """An injected 429."""

    retry_after: Annotated[int, Meta(ge=0, le=MAX_RETRY_AFTER)] = 1


FaultRuleSpec = Union[LatencyRule, ErrorBeforeRule, ErrorAfterRule, DropRule, RateLimitRule]  # noqa: UP007


_REACTIONS: dict[type[_Rule], type[Any]] = {
    LatencyRule: Latency,
    ErrorBeforeRule: ErrorBefore,
    ErrorAfterRule: ErrorAfter,
    DropRule: Drop,
    RateLimitRule: RateLimit,
}
_MATCHER_FIELDS = frozenset({"method", "path", "times", "probability"})


def fault_rule(spec: Any) -> FaultRuleSpec:
    """Check a fault rule in its JSON form (a mapping), as the admin API does.

    Raises:
        ValueError: naming the problem and its path.

    """
    try:
        rule: FaultRuleSpec = msgspec.convert(spec, FaultRuleSpec)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid fault rule: {exc}") from None
    return rule


def reaction_of(rule: FaultRuleSpec) -> Reaction:
    """The reaction a checked rule describes."""
    fields = {name: getattr(rule, name) for name in rule.__struct_fields__
              if name not in _MATCHER_FIELDS}
    reaction: Reaction = _REACTIONS[type(rule)](**fields)
    return reaction


class NewEndpoint(_Body, kw_only=True):
    """POST /_admin/webhooks/endpoints."""

    url: Annotated[str, Meta(min_length=1, max_length=2000)]
    secret: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    account: _Name = DEFAULT_ACCOUNT
    events: Annotated[list[_Name], Meta(max_length=50)] | UnsetType = UNSET


class EmitEvent(_Body, kw_only=True):
    """POST /_admin/webhooks/events."""

    type: _Name
    object: dict[str, Any] | UnsetType = UNSET
    account: _Name = DEFAULT_ACCOUNT


T = TypeVar("T")

_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode_body(raw: bytes, schema: Any) -> Any:
    """Decode an admin body (empty means ``{}``) into `schema`.

    Raises:
        ApiError: 400 naming the problem and its JSON path.

    """
    decoder = _decoders.get(schema)
    if decoder is None:
        decoder = _decoders[schema] = msgspec.json.Decoder(schema)
    try:
        return decoder.decode(raw if raw.strip() else b"{}")
    except msgspec.ValidationError as exc:
        raise invalid(f"Invalid request body: {exc}.") from None
    except msgspec.DecodeError:
        raise invalid("Request body is not valid JSON.") from None


def given(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields of `struct` that were given (not `UNSET`)."""
    return {
        name: value
        for name in struct.__struct_fields__
        if (value := getattr(struct, name)) is not UNSET
    }
