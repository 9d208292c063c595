"""Passwords of the mailboxes an apply creates: resolved before sending, generated when absent.

Every password is resolved before the first request: an unset variable or an
unreadable file stops the apply with nothing sent. Generated passwords are kept
in `GeneratedPasswords`, which never shows them in ``repr()``, ``str()`` or
logs; they are read on purpose, through `GeneratedPasswords.reveal`.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import stat
import string
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from .._errors import ValidationError
from ._actions import Action, CreateMailbox
from ._errors import PlanError

__all__ = [
    "GENERATED_LENGTH",
    "GeneratedPasswords",
    "PasswordFile",
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


class GeneratedPasswords:
    """The passwords an apply generated, by mailbox address; never shown by accident.

    ``repr()`` and ``str()`` give only the count. Iterating gives the addresses.

    Example:
        ```python
        for address, password in report.passwords.reveal():
            vault.store(address, password)
        ```

    """

    __slots__ = ("_by_address",)

    def __init__(self, by_address: Mapping[str, str] | None = None) -> None:
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
        return list(self._by_address.items())

    def get(self, address: str) -> str | None:
        """The generated password of one address, if any."""
        return self._by_address.get(address)

    def only(self, addresses: Iterable[str]) -> GeneratedPasswords:
        """The passwords of these addresses only (e.g. the mailboxes actually created)."""
        keep = set(addresses)
        return GeneratedPasswords({a: p for a, p in self._by_address.items() if a in keep})


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
) -> tuple[dict[str, str], GeneratedPasswords]:
    """The password of every mailbox the actions create.

    Returns:
        ``(address → password, the generated ones)``.

    Raises:
        PlanError: naming every mailbox whose source is unusable (nothing is sent).

    """
    env = os.environ if environ is None else environ
    passwords: dict[str, str] = {}
    generated: dict[str, str] = {}
    problems: list[str] = []
    for action in actions:
        if not isinstance(action, CreateMailbox):
            continue
        source = action.password
        try:
            if source is None:
                generated[action.address] = passwords[action.address] = generate_password()
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
    return passwords, GeneratedPasswords(generated)


class PasswordFile:
    """A CSV file (``address,password``) of generated passwords, created 0600.

    Pass it as ``apply(..., on_password=PasswordFile(path))``: each generated
    password is appended and flushed to disk *before* its mailbox's create is
    sent, so no password is lost even if the process is killed. Running apply
    again appends to the same file: a later line for an address supersedes an
    earlier one, and a line whose create never succeeded names a password that
    was never used.

    Args:
        path: The file. It is created with mode 0600; an existing file must be a
            regular file that only its owner can read.

    Raises:
        ValidationError: if the file cannot be opened, is not a regular file, or
            (an existing one) can be read by others.

    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise ValidationError(f"cannot open the passwords file {self.path}: "
                                  f"{exc.strerror or exc}") from None
        info = os.fstat(fd)
        problem = None
        if not stat.S_ISREG(info.st_mode):
            problem = "is not a regular file: choose a file path"
        elif os.name == "posix" and info.st_mode & 0o077:
            problem = f"can be read by others: run 'chmod 600 {self.path}' or choose a new file"
        if problem is not None:
            os.close(fd)
            raise ValidationError(f"the passwords file {self.path} {problem}")
        self._fd = fd
        if info.st_size == 0:
            self._write("address", "password")

    def _write(self, address: str, password: str) -> None:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow([address, password])
        os.write(self._fd, line.getvalue().encode())
        os.fsync(self._fd)

    def __call__(self, address: str, password: str) -> None:
        """Append one password (flushed to disk before returning)."""
        self._write(address, password)

    def close(self) -> None:
        """Close the file. Idempotent."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)

    def __enter__(self) -> PasswordFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PasswordFile({str(self.path)!r})"

    @staticmethod
    def read(path: str | os.PathLike[str]) -> dict[str, str]:
        """Address → password as the file holds them (the last line of an address wins)."""
        with open(path, newline="", encoding="utf-8") as handle:
            return {row["address"]: row["password"] for row in csv.DictReader(handle)}
