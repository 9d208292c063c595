"""Generated passwords in a fleet: one 0600 file per tenant and attempt, never in a result.

Each attempt of a tenant writes the passwords it generates to its own file,
``<FLEET_PASSWORDS_DIR>/<tenant>.<attempt>.csv``, through the onboarding
engine's `PasswordFile`: created 0600, each line flushed to disk *before* the
create that uses it is sent, so a worker killed at any moment loses none.

Attempt numbers come from `TenantLease` (they only grow, and attempts of one
tenant never overlap), which gives the rule to read them back:
`read_passwords` takes every file of the tenant in attempt order, and a later
line for an address supersedes an earlier one. An attempt that finishes also
*retracts* each password it wrote but did not use (its create failed, or found
the mailbox already there) with a line that has an empty password, so that an
earlier attempt's line for that address stands. A killed attempt retracts
nothing: its unused lines are superseded by the attempt that creates those
mailboxes, and a line whose create did succeed is the mailbox's password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import anyio

from clubsmtp_async.onboarding import PasswordFile

from .lease import TenantLease

__all__ = ["AttemptPasswords", "attempt_files", "password_file_path", "read_passwords"]

_NAME = re.compile(r"(?P<tenant>.+)\.(?P<attempt>\d+)\.csv")


def password_file_path(directory: Path, tenant: str, attempt: int) -> Path:
    """The file of one attempt's generated passwords."""
    return directory / f"{tenant}.{attempt:06d}.csv"


def attempt_files(directory: Path, tenant: str) -> list[Path]:
    """A tenant's password files in attempt order (missing directory: none)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.fullmatch(path.name)
        if match and match["tenant"] == tenant:
            found.append((int(match["attempt"]), path))
    return [path for _, path in sorted(found)]


def read_passwords(directory: Path, tenant: str) -> dict[str, str]:
    """Address → generated password of a tenant, over all its attempts (the latest wins).

    Args:
        directory: The passwords directory (gather the files of every host
            into one directory first, if they are not on a shared volume).
        tenant: The tenant's name.

    """
    passwords: dict[str, str] = {}
    for path in attempt_files(directory, tenant):
        passwords.update((address, password)
                         for address, password in PasswordFile.read(path).items() if password)
    return passwords


class AttemptPasswords:
    """The ``on_password`` callback of one attempt: checks the lease, then writes the line.

    The file is created on the first generated password (an attempt that
    generates none leaves no file). The directory is created 0700.

    Args:
        directory: The passwords directory.
        tenant: The tenant's name.
        lease: The attempt's lease (already acquired: it holds the attempt number).

    """

    def __init__(self, directory: Path, tenant: str, lease: TenantLease) -> None:
        if lease.attempt is None:
            raise ValueError("acquire the lease before writing passwords")
        self.path = password_file_path(directory, tenant, lease.attempt)
        self.written: list[str] = []
        self._lease = lease
        self._file: PasswordFile | None = None
        self._opening = anyio.Lock()

    async def __call__(self, address: str, password: str) -> None:
        """Write one generated password, if this attempt still holds the tenant's lease.

        The write and its fsync run in a worker thread: a layer of creates
        starting together would otherwise block the event loop for as many
        fsyncs, and delay requests that the limiter has already released.

        Raises:
            LeaseLost: the lease is gone; the create is then not sent.

        """
        await self._lease.check()
        password_file = await self._open()
        await anyio.to_thread.run_sync(password_file, address, password)
        self.written.append(address)

    async def retract_unused(self, created: Iterable[str]) -> list[str]:
        """Retract the passwords written for mailboxes this attempt did not create.

        Args:
            created: The addresses whose create succeeded (``report.passwords``).

        Returns:
            The retracted addresses.

        """
        used = set(created)
        unused = [address for address in self.written if address not in used]
        if self._file is not None:
            for address in unused:
                await anyio.to_thread.run_sync(self._file, address, "")
        return unused

    async def _open(self) -> PasswordFile:
        async with self._opening:
            if self._file is None:
                self._file = await anyio.to_thread.run_sync(self._create)
            return self._file

    def _create(self) -> PasswordFile:
        os.makedirs(self.path.parent, mode=0o700, exist_ok=True)
        return PasswordFile(self.path)

    def close(self) -> None:
        """Close the file, if one was opened. Idempotent."""
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> AttemptPasswords:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
