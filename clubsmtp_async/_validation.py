"""Checks on user input, run before anything is sent.

Each function returns the value to send (normalised where the API compares
case-insensitively) or raises `ValidationError` naming the parameter. None of
them does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

from ._errors import ValidationError
from ._models import MailboxUpdate, NewAlias, NewDomain, NewListEntry, NewMailbox

__all__ = [
    "DNS_LABEL",
    "DOT_ATOM",
    "MAX_PATTERN",
    "checked_alias",
    "checked_domain",
    "checked_list_entry",
    "checked_mailbox",
    "checked_mailbox_update",
    "domain_name",
    "local_part",
    "path_id",
]

# `\Z`, not `$`, ends every pattern: `$` also matches before a trailing newline.
DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
"""One ASCII label of a domain name (lower case)."""
# RFC 5321 dot-atom: atext characters, dots only between them.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = re.compile(rf"^{_ATEXT}(?:\.{_ATEXT})*\Z")
"""A local part: RFC 5321 dot-atom (its length, at most 64, is checked apart)."""
# Identifiers go into URL paths: unreserved characters only, never "." or "..".
_PATH_ID = re.compile(r"^(?!\.+\Z)[A-Za-z0-9._~-]{1,128}\Z")
MAX_PATTERN = 320
"""The longest sender pattern accepted."""


def path_id(value: object, name: str) -> str:
    """An identifier that is safe to put in a URL path segment.

    Raises:
        ValidationError: if it is empty, not a string, or could address another path.

    """
    if not isinstance(value, str) or not _PATH_ID.match(value):
        raise ValidationError(f"{name} must be an identifier such as a UUID, got {value!r}")
    return quote(value, safe="")


def domain_name(value: object, name: str = "name") -> str:
    """A fully-qualified domain name in its ASCII (IDNA) form, lower-cased.

    Internationalised names are accepted and converted, e.g. ``bücher.example``
    becomes ``xn--bcher-kva.example``.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty domain name, got {value!r}")
    text = value.strip().rstrip(".").lower()
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValidationError(f"{name} {value!r} is not a valid domain name") from exc
    labels = ascii_name.split(".")
    valid = (
        len(ascii_name) <= 253
        and len(labels) >= 2
        and all(DNS_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )
    if not valid:
        raise ValidationError(f"{name} {value!r} is not a fully-qualified domain name")
    return ascii_name


def local_part(value: object, name: str = "local_part") -> str:
    """The part of an address before the ``@`` (RFC 5321 dot-atom, at most 64 characters)."""
    if not isinstance(value, str) or len(value) > 64 or not DOT_ATOM.match(value):
        raise ValidationError(f"{name} {value!r} is not a valid local part (the text before '@')")
    return value


def _storage_gb(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"storage_gb must be a whole number of GB, at least 1, got {value!r}")
    return value


def _pattern(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"pattern must be a non-empty sender pattern, got {value!r}")
    if len(value) > MAX_PATTERN or any(ch.isspace() for ch in value):
        raise ValidationError(f"pattern {value!r} must be one address pattern without spaces")
    return value


def _mailbox_uuids(value: object) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(f"mailbox_uuids must be a list of mailbox UUIDs, got {value!r}")
    uuids = [_checked_uuid(item, "each of mailbox_uuids") for item in value]
    if not uuids:
        raise ValidationError("mailbox_uuids must name at least one mailbox")
    return uuids


def checked_domain(body: NewDomain) -> NewDomain:
    """The domain create body, validated and normalised."""
    return NewDomain(name=domain_name(body.name))


def checked_mailbox(body: NewMailbox) -> NewMailbox:
    """The mailbox create body, validated."""
    if not isinstance(body.password, str) or not body.password:
        raise ValidationError("password must be a non-empty string")
    return NewMailbox(
        domain_uuid=_checked_uuid(body.domain_uuid, "domain_uuid"),
        local_part=local_part(body.local_part),
        password=body.password,
        storage_gb=None if body.storage_gb is None else _storage_gb(body.storage_gb),
    )


def checked_mailbox_update(body: MailboxUpdate) -> MailboxUpdate:
    """The mailbox update body: at least one field, each valid."""
    if body.enabled is None and body.storage_gb is None:
        raise ValidationError("update needs at least one of enabled or storage_gb")
    if body.enabled is not None and not isinstance(body.enabled, bool):
        raise ValidationError(f"enabled must be True or False, got {body.enabled!r}")
    if body.storage_gb is not None:
        _storage_gb(body.storage_gb)
    return body


def checked_list_entry(body: NewListEntry) -> NewListEntry:
    """The whitelist/blacklist add body, validated."""
    return NewListEntry(pattern=_pattern(body.pattern))


def checked_alias(body: NewAlias) -> NewAlias:
    """The alias create body, validated."""
    return NewAlias(
        domain_uuid=_checked_uuid(body.domain_uuid, "domain_uuid"),
        local_part=local_part(body.local_part),
        mailbox_uuids=_mailbox_uuids(body.mailbox_uuids),
    )


def _checked_uuid(value: object, name: str) -> str:
    path_id(value, name)
    assert isinstance(value, str)  # path_id() raised otherwise
    return value
