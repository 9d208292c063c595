"""Passwords of the mailboxes an apply creates: resolved before sending, generated when absent.

Every password is resolved before the first request: an unset variable or an
unreadable file stops the apply with nothing sent. Generated passwords are kept
in `GeneratedPasswords`, which never shows them in ``repr()``, ``str()`` or
logs; they are read on purpose, through `GeneratedPasswords.reveal`.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Literal

from ._actions import Action, CreateMailbox
from ._errors import PlanError

__all__ = [
    "GENERATED_LENGTH",
    "GeneratedPasswords",
    "PasswordStatus",
    "generate_password",
    "resolve_passwords",
]

GENERATED_LENGTH = 20
"""Characters of a generated password (about 119 bits of entropy)."""

_SYMBOLS = "-_.!#%+=@"
_ALPHABET = string.ascii_letters + string.digits + _SYMBOLS
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS)


def generate_password(length: int = GENERATED_LENGTH) -> str:
    """A strong random password with lower- and upper-case letters, digits and symbols."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if all(any(ch in chars for ch in candidate) for chars in _CLASSES):
            return candidate


PasswordStatus = Literal["pending", "created", "not-created"]
"""Where a generated password stands: ``pending`` (about to be sent, or sent with no
answer), ``created`` (its mailbox was created with it), ``not-created`` (never used)."""


class GeneratedPasswords:
    """The passwords an apply generated, by mailbox address; never shown by accident.

    ``repr()`` and ``str()`` give only the count. Iterating gives the addresses.
    Besides the passwords of mailboxes certainly created, it keeps those whose
    create was sent without an answer (``pending``): such a mailbox may exist,
    and then only this password opens it.

    Example:
        ```python
        for address, password in report.passwords.reveal():
            vault.store(address, password)
        ```

    """

    __slots__ = ("_by_address",)

    def __init__(self, by_address: Mapping[str, tuple[str, PasswordStatus]] | None = None) -> None:
        self._by_address = dict(by_address or {})

    def __len__(self) -> int:
        return len(self._by_address)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_address)

    def __contains__(self, address: object) -> bool:
        return address in self._by_address

    def __repr__(self) -> str:
        return f"<GeneratedPasswords: {len(self)} password(s), hidden>"

    __str__ = __repr__

    def reveal(self) -> list[tuple[str, str]]:
        """``(address, password)`` pairs, in creation order."""
        return [(address, password) for address, (password, _) in self._by_address.items()]

    def get(self, address: str) -> str | None:
        """The generated password of one address, if any."""
        entry = self._by_address.get(address)
        return None if entry is None else entry[0]

    def status(self, address: str) -> PasswordStatus | None:
        """``created``, or ``pending`` when the create's answer never came."""
        entry = self._by_address.get(address)
        return None if entry is None else entry[1]

    def to_json(self) -> list[dict[str, str]]:
        """``[{"address", "password", "status"}]`` — only for output that goes to a safe place."""
        return [{"address": address, "password": password, "status": status}
                for address, (password, status) in self._by_address.items()]


def _read_file(path: str, address: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError([f"the password file of {address} cannot be read ({path}): "
                         f"{getattr(exc, 'strerror', None) or type(exc).__name__}"]) from None
    password = text.rstrip("\r\n")
    if not password:
        raise PlanError([f"the password file of {address} is empty ({path})"])
    return password


def resolve_passwords(
    actions: Iterable[Action], environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], set[str]]:
    """The password of every mailbox the actions create.

    Returns:
        ``(address → password, the addresses whose password was generated)``.

    Raises:
        PlanError: naming every mailbox whose source is unusable (nothing is sent).

    """
    env = os.environ if environ is None else environ
    passwords: dict[str, str] = {}
    generated: set[str] = set()
    problems: list[str] = []
    for action in actions:
        if not isinstance(action, CreateMailbox):
            continue
        source = action.password
        try:
            if source is None:
                passwords[action.address] = generate_password()
                generated.add(action.address)
            elif source.env is not None:
                value = env.get(source.env)
                if not value:
                    raise PlanError([f"the password of {action.address} comes from "
                                     f"${source.env}, which is not set"])
                passwords[action.address] = value
            else:
                assert source.file is not None  # a source holds env or file
                passwords[action.address] = _read_file(source.file, action.address)
        except PlanError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PlanError(problems)
    return passwords, generated
