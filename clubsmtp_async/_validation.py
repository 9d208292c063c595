"""Checks on user input, run before anything is sent.

Each function returns the value to send (normalised where the API compares
case-insensitively) or raises `ValidationError` naming the parameter — for
any input: a wrong type, text with a lone surrogate (which no JSON body or
URL can carry), an object of another class. None of them does I/O.

Messages show a rejected value only when it is a short string or a number
(`shown`); of anything else they name only the type, so an object that holds a
password (a ``csv.DictReader`` row, say) is never quoted. A password is never
shown at all.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import TypeGuard

import idna

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
    "encodable",
    "finite_number",
    "local_part",
    "path_id",
    "shown",
    "shown_url",
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
_SHOWN_LENGTH = 80
_MAX_NAME_INPUT = 1024  # far beyond 253 ASCII characters: refused before any IDNA work


def shown(value: object) -> str:
    """A rejected value as an error message may show it: never more than a short string.

    Strings (cut to 80 characters), numbers, booleans and None are shown with
    ``repr()``; anything else only by its type, e.g. ``a dict``.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a very large int"  # repr() of a huge int is long, or refused outright
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        text = repr(value[:_SHOWN_LENGTH])
        return text + ("…" if len(value) > _SHOWN_LENGTH else "")
    return f"a {type(value).__name__}"


def finite_number(value: object) -> TypeGuard[int | float]:
    """Whether `value` is a finite int or float (not a bool) that a float can hold.

    An int too large for a float (``10**400``) is not: arithmetic with it
    against floats raises `OverflowError`.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


_USERINFO = re.compile(r"^([^:/?#]*:?//)[^/?#]*@")


def shown_url(raw: str) -> str:
    """The URL as a message may quote it: no user name or password, query or fragment.

    Done on the text, not on a parsed URL, so it holds for text no parser accepts.
    """
    text = _USERINFO.sub(r"\1***@", raw)
    text = re.split(r"[?#]", text, maxsplit=1)[0] + ("?…" if re.search(r"[?#]", text) else "")
    return shown(text)


def encodable(value: str) -> bool:
    """Whether the text can be sent: UTF-8 has no lone surrogates (such as U+D800)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def path_id(value: object, name: str) -> str:
    """An identifier that is safe to put in a URL path segment.

    Raises:
        ValidationError: if it is empty, not a string, or could address another path.

    """
    if not isinstance(value, str) or not _PATH_ID.match(value):
        raise ValidationError(f"{name} must be an identifier such as a UUID, got {shown(value)}")
    return value  # unreserved characters only (RFC 3986): nothing to percent-encode


def domain_name(value: object, name: str = "name") -> str:
    """A fully-qualified domain name in its ASCII (IDNA) form, lower-cased.

    Internationalised names follow IDNA 2008 with the UTS 46 mapping, as
    browsers and the `idna` package do (Python's own ``"idna"`` codec is IDNA
    2003, which turns ``faß.de`` into ``fass.de``, another domain): e.g.
    ``bücher.example`` becomes ``xn--bcher-kva.example`` and ``faß.de``
    ``xn--fa-hia.de``. An ASCII name is taken as it is, lower-cased, its labels
    checked as DNS labels; an ``xn--`` label must be valid Punycode of printable
    text, so ``xn--zz.example`` is refused (an A-label a registry issued is
    never re-judged by IDNA 2008's rules for its text).

    Raises:
        ValidationError: if it is not a string or not a fully-qualified name.

    """
    if not isinstance(value, str) or not value.strip() or not encodable(value):
        raise ValidationError(f"{name} must be a non-empty domain name, got {shown(value)}")
    if len(value) > _MAX_NAME_INPUT:
        raise ValidationError(f"{name} {shown(value)} is too long for a domain name")
    text = value.strip().rstrip(".")
    ascii_name = text.lower() if text.isascii() else _to_ascii(text, value, name)
    labels = ascii_name.split(".")
    valid = (
        len(ascii_name) <= 253
        and len(labels) >= 2
        and all(DNS_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )
    if not valid:
        raise ValidationError(f"{name} {shown(value)} is not a fully-qualified domain name")
    for label in labels:
        if label.startswith("xn--"):
            _check_a_label(label, value, name)
    return ascii_name


def _check_a_label(label: str, value: str, name: str) -> None:
    """An ``xn--`` label must be Punycode for printable, non-ASCII text.

    Only the encoding is checked, not IDNA 2008's rules for the text: an A-label
    a registry has issued (emoji domains exist under some TLDs) stays usable.
    """
    try:
        text = label[4:].encode("ascii").decode("punycode")
        valid = (
            not text.isascii()
            and all(unicodedata.category(char)[0] != "C" for char in text)
            and "xn--" + text.encode("punycode").decode("ascii") == label
        )
    except UnicodeError:
        valid = False
    if not valid:
        raise ValidationError(
            f"{name} {shown(value)} is not a valid internationalised domain name "
            f"({label!r} is not Punycode of a name)"
        )


def _to_ascii(text: str, value: str, name: str) -> str:
    try:
        return idna.encode(text, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise ValidationError(
            f"{name} {shown(value)} is not a valid internationalised domain name ({exc})"
        ) from None


def local_part(value: object, name: str = "local_part") -> str:
    """The part of an address before the ``@`` (RFC 5321 dot-atom, at most 64 characters)."""
    if not isinstance(value, str) or len(value) > 64 or not DOT_ATOM.match(value):
        raise ValidationError(
            f"{name} {shown(value)} is not a valid local part (the text before '@')"
        )
    return value


def _storage_gb(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"storage_gb must be a whole number of GB, at least 1, got {shown(value)}"
        )
    return value


def _pattern(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or not encodable(value):
        raise ValidationError(f"pattern must be a non-empty sender pattern, got {shown(value)}")
    if len(value) > MAX_PATTERN or not value.isprintable() or any(ch.isspace() for ch in value):
        raise ValidationError(
            f"pattern {shown(value)} must be one address pattern, printable, without spaces"
        )
    return value


def _password(value: object) -> str:
    # Never shown, whatever it is.
    if not isinstance(value, str) or not value:
        raise ValidationError("password must be a non-empty string")
    if not encodable(value):
        raise ValidationError("password holds a lone surrogate, which cannot be sent")
    return value


def _mailbox_uuids(value: object) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(
            f"mailbox_uuids must be a list of mailbox UUIDs, got {shown(value)}"
        )
    uuids = [_checked_uuid(item, "each of mailbox_uuids") for item in value]
    if not uuids:
        raise ValidationError("mailbox_uuids must name at least one mailbox")
    return uuids


def _expect(body: object, cls: type, what: str) -> None:
    if not isinstance(body, cls):
        # Only the type: the object may hold a password.
        raise ValidationError(f"{what} takes a {cls.__name__}, got a {type(body).__name__}")


def checked_domain(body: NewDomain) -> NewDomain:
    """The domain create body, validated and normalised."""
    _expect(body, NewDomain, "a domain create")
    return NewDomain(name=domain_name(body.name))


def checked_mailbox(body: NewMailbox) -> NewMailbox:
    """The mailbox create body, validated.

    Raises:
        ValidationError: if it is not a `NewMailbox`, or a field is invalid.

    """
    _expect(body, NewMailbox, "create_from")
    password = _password(body.password)
    return NewMailbox(
        domain_uuid=_checked_uuid(body.domain_uuid, "domain_uuid"),
        local_part=local_part(body.local_part),
        password=password,
        storage_gb=None if body.storage_gb is None else _storage_gb(body.storage_gb),
    )


def checked_mailbox_update(body: MailboxUpdate) -> MailboxUpdate:
    """The mailbox update body: at least one field, each valid."""
    _expect(body, MailboxUpdate, "a mailbox update")
    if body.enabled is None and body.storage_gb is None:
        raise ValidationError("update needs at least one of enabled or storage_gb")
    if body.enabled is not None and not isinstance(body.enabled, bool):
        raise ValidationError(f"enabled must be True or False, got {shown(body.enabled)}")
    if body.storage_gb is not None:
        _storage_gb(body.storage_gb)
    return body


def checked_list_entry(body: NewListEntry) -> NewListEntry:
    """The whitelist/blacklist add body, validated."""
    _expect(body, NewListEntry, "a sender-list add")
    return NewListEntry(pattern=_pattern(body.pattern))


def checked_alias(body: NewAlias) -> NewAlias:
    """The alias create body, validated.

    Raises:
        ValidationError: if it is not a `NewAlias`, or a field is invalid.

    """
    _expect(body, NewAlias, "create_from")
    return NewAlias(
        domain_uuid=_checked_uuid(body.domain_uuid, "domain_uuid"),
        local_part=local_part(body.local_part),
        mailbox_uuids=_mailbox_uuids(body.mailbox_uuids),
    )


def _checked_uuid(value: object, name: str) -> str:
    path_id(value, name)
    assert isinstance(value, str)  # path_id() raised otherwise
    return value
