"""`PasswordFile`: generated passwords on disk, each written before its mailbox is created.

A CSV file created 0600, one line per event::

    address,password,status
    alice@acme.example,Xq3…,pending        # written and flushed before the create is sent
    alice@acme.example,Xq3…,created        # the server created it with this password
    bob@acme.example,Lm9…,pending
    bob@acme.example,Lm9…,not-created      # never used (e.g. the mailbox existed already)

For each address, its password is that of the last ``pending`` or ``created``
line whose password was not later marked ``not-created``. A ``pending`` line
with nothing after it means the process stopped (or the answer was lost) after
sending: the mailbox may exist, and if it does, that is its password.
`PasswordFile.read` applies this rule.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import stat
import threading
from pathlib import Path

import anyio

from .._errors import ValidationError
from ._errors import OnboardingError
from ._passwords import PasswordStatus

__all__ = ["HEADER", "PasswordFile"]

HEADER = ("address", "password", "status")
"""The CSV header of a passwords file."""


def _open(path: Path) -> tuple[int, os.stat_result]:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValidationError(f"the passwords file {path} is a symbolic link: give the "
                                  "path of the file itself") from None
        raise ValidationError(f"cannot open the passwords file {path}: "
                              f"{exc.strerror or exc}") from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file: choose a file path"
    elif os.name == "posix" and info.st_mode & 0o077:
        problem = f"can be read by others: run 'chmod 600 {path}' or choose a new file"
    if problem is not None:
        os.close(fd)
        raise ValidationError(f"the passwords file {path} {problem}")
    return fd, info


class PasswordFile:
    """A CSV file of generated passwords, created 0600 (see the module docstring).

    Pass it as ``apply(..., on_password=PasswordFile(path))``: each generated
    password is appended and flushed to disk *before* its mailbox's create is
    sent, then its outcome; so no password is lost even if the process is
    killed, and a password that was never used never hides the real one.
    Running apply again appends to the same file.

    Args:
        path: The file. It is created (mode 0600) on the first password;
            an existing file must be a regular file only its owner can read.

    Raises:
        ValidationError: if the path cannot be used (checked at once).

    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = -1
        self._lock = threading.Lock()
        if self.path.exists() or self.path.is_symlink():
            self._fd, info = _open(self.path)  # check it now; it is written to later
            if info.st_size == 0:
                self._write_line(*HEADER)
        elif not self.path.parent.is_dir():
            raise ValidationError(f"cannot create the passwords file {self.path}: the folder "
                                  f"{self.path.parent} does not exist")

    def _write_line(self, *cells: str) -> None:
        if self._fd < 0:
            self._fd, info = _open(self.path)
            if info.st_size == 0:
                self._write_line(*HEADER)
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(cells)
        data = line.getvalue().encode()
        try:
            while data:  # os.write may write less than asked (a full disk, a size limit)
                written = os.write(self._fd, data)
                data = data[written:]
            os.fsync(self._fd)
        except OSError as exc:
            raise OnboardingError(f"cannot write to the passwords file {self.path}: "
                                  f"{exc.strerror or exc}; the mailbox was not created") from None

    def write(self, address: str, password: str, status: PasswordStatus) -> None:
        """Append one line, flushed to disk before returning (blocking; thread-safe).

        Raises:
            OnboardingError: if it cannot be written.

        """
        with self._lock:
            self._write_line(address, password, status)

    async def __call__(self, address: str, password: str, status: PasswordStatus) -> None:
        """Append one line, flushed to disk before returning, without blocking the event loop.

        The write and its fsync run in a worker thread: a layer of creates
        starting together would otherwise hold up the event loop for as many
        fsyncs, and delay requests the limiter has already released.

        Raises:
            OnboardingError: if it cannot be written (a ``pending`` line: the
                create is then not sent).

        """
        await anyio.to_thread.run_sync(self.write, address, password, status)

    def close(self) -> None:
        """Close the file. Idempotent."""
        with self._lock:
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
    def read(*paths: str | os.PathLike[str]) -> dict[str, str]:
        """Address → password, by the file's rule, over one or more files read in order.

        For each address, the password of its last ``pending`` or ``created``
        line whose password was not later marked ``not-created``. Several files
        (e.g. one per run, oldest first) read as one.
        """
        candidates: dict[str, list[str]] = {}
        for path in paths:
            with open(path, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    address, password = row["address"], row["password"]
                    kept = candidates.setdefault(address, [])
                    if row.get("status") == "not-created":
                        kept[:] = [p for p in kept if p != password]
                    else:
                        kept.append(password)
        return {address: kept[-1] for address, kept in candidates.items() if kept}
