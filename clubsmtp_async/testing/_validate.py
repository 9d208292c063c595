"""Decoding and checking of request bodies and identifiers (pure functions).

Each function returns the normalised value (lower-cased where the API compares
case-insensitively) or raises a 400 `ApiError` that names the parameter.
Nothing here trusts the JSON types: a wrong type is a 400, never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from .._validation import DNS_LABEL, DOT_ATOM, MAX_PATTERN
from ._errors import invalid

__all__ = [
    "domain_name",
    "json_object",
    "local_part",
    "mailbox_uuid_list",
    "optional_bool",
    "optional_storage_gb",
    "password",
    "pattern",
    "reject_unknown",
    "required_uuid",
    "uuid_value",
]

# `\Z`, not `$`: `$` also matches before a trailing newline.
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_MAX_PASSWORD = 1024


def json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be a JSON object.

    Raises:
        ApiError: 400 if the body is empty, not JSON, or not an object.

    """
    if not raw.strip():
        raise invalid("Request body must be a JSON object.")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise invalid("Request body is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise invalid("Request body must be a JSON object.")
    return value


def reject_unknown(body: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuse parameters the endpoint does not take (catches typos and SDK bugs).

    Raises:
        ApiError: 400 naming the first unknown parameter.

    """
    known = set(allowed)
    for key in body:
        if key not in known:
            raise invalid(f"Unknown parameter: {key}.")


def _required(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise invalid(f"Missing required parameter: {name}.")
    return body[name]


def uuid_value(value: object, name: str) -> str:
    """A UUID string (any case), returned lower-cased.

    Raises:
        ApiError: 400 if it is not a string in the 8-4-4-4-12 hex form.

    """
    if not isinstance(value, str) or not _UUID.match(value.lower()):
        raise invalid(f"Invalid {name}: expected a UUID string.")
    return value.lower()


def required_uuid(body: dict[str, Any], name: str) -> str:
    """The required UUID parameter `name`, lower-cased.

    Raises:
        ApiError: 400 if missing or not a UUID.

    """
    return uuid_value(_required(body, name), name)


def domain_name(body: dict[str, Any]) -> str:
    """The required ``name`` of a domain: fully qualified, ASCII/punycode, lower-cased.

    Raises:
        ApiError: 400 if missing or malformed.

    """
    value = _required(body, "name")
    if not isinstance(value, str):
        raise invalid("Invalid name: expected a string.")
    name = value.lower()
    labels = name.split(".")
    valid = (
        name.isascii()
        and len(name) <= 253
        and len(labels) >= 2
        and all(DNS_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )
    if not valid:
        raise invalid(
            f"Invalid name: {value!r} is not a fully-qualified domain name "
            "(use the punycode xn-- form for internationalised names)."
        )
    return name


def local_part(body: dict[str, Any]) -> str:
    """The required ``local_part``: an RFC 5321 dot-atom of at most 64 characters.

    Raises:
        ApiError: 400 if missing or malformed.

    """
    value = _required(body, "local_part")
    if not isinstance(value, str):
        raise invalid("Invalid local_part: expected a string.")
    if len(value) > 64 or not DOT_ATOM.match(value):
        raise invalid(f"Invalid local_part: {value!r} is not a valid local part.")
    return value.lower()


def password(body: dict[str, Any]) -> str:
    """The required ``password``: a non-empty string.

    Raises:
        ApiError: 400 if missing, empty or not a string (the value is never echoed).

    """
    value = _required(body, "password")
    if not isinstance(value, str) or not value or len(value) > _MAX_PASSWORD:
        raise invalid(f"Invalid password: expected a string of 1 to {_MAX_PASSWORD} characters.")
    return value


def optional_storage_gb(body: dict[str, Any]) -> int | None:
    """``storage_gb`` if present: an integer (not a bool) of at least 1.

    Raises:
        ApiError: 400 if present and invalid.

    """
    if "storage_gb" not in body:
        return None
    value = body["storage_gb"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("Invalid storage_gb: expected an integer.")
    if value < 1:
        raise invalid("Invalid storage_gb: the minimum is 1.")
    return value


def optional_bool(body: dict[str, Any], name: str) -> bool | None:
    """Boolean parameter `name` if present.

    Raises:
        ApiError: 400 if present and not a JSON boolean.

    """
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, bool):
        raise invalid(f"Invalid {name}: expected a boolean.")
    return value


def pattern(body: dict[str, Any]) -> str:
    """The required sender ``pattern``: one non-empty token without spaces, lower-cased.

    Raises:
        ApiError: 400 if missing or malformed.

    """
    value = _required(body, "pattern")
    if not isinstance(value, str) or not value:
        raise invalid("Invalid pattern: expected a non-empty string.")
    if len(value) > MAX_PATTERN or any(ch.isspace() for ch in value):
        raise invalid(
            f"Invalid pattern: at most {MAX_PATTERN} characters and no whitespace."
        )
    return value.lower()


def mailbox_uuid_list(body: dict[str, Any]) -> list[str]:
    """The required, non-empty ``mailbox_uuids``, lower-cased, duplicates removed.

    Raises:
        ApiError: 400 if missing, not a list, empty, or holding a non-UUID.

    """
    value = _required(body, "mailbox_uuids")
    if not isinstance(value, list):
        raise invalid("Invalid mailbox_uuids: expected an array of mailbox UUIDs.")
    if not value:
        raise invalid("Invalid mailbox_uuids: at least one mailbox is required.")
    uuids = [uuid_value(item, "mailbox_uuids item") for item in value]
    return list(dict.fromkeys(uuids))


