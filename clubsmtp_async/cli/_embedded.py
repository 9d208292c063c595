"""``--emulator``: run a command against an in-process emulator, no account needed.

The emulator enforces the same rate as the client (``--requests-per-minute``),
so a plan's time estimate is what the command takes. With ``--emulator-state
FILE`` it starts from that state file (written by ``clubsmtp emulator --state``
or an earlier ``--emulator-state`` run) and saves its state back when the
command ends, so commands can build on each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ._exit import CliError, ExitCode

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["embedded_client"]


@asynccontextmanager
async def embedded_client(
    requests_per_minute: float, state_file: Path | None, *, timeout: float, max_retries: int
) -> AsyncIterator[AsyncClient]:
    """An `AsyncClient` wired to a fresh (or restored) in-process emulator.

    Raises:
        CliError: if the state file is damaged (nothing is loaded or overwritten).

    """
    from clubsmtp_async.testing import Emulator

    try:
        emulator = Emulator(requests_per_minute=requests_per_minute, state_file=state_file)
    except ValueError as exc:  # a damaged state file: its message names the file
        raise CliError(str(exc), ExitCode.USAGE) from None
    if not len(emulator.keys):
        emulator.create_key()
    for key in emulator.keys:  # a restored key keeps the rate of this run
        key.requests_per_minute = requests_per_minute
    async with emulator.running(), emulator.client(
        requests_per_minute=requests_per_minute, timeout=timeout, max_retries=max_retries
    ) as client:
        yield client
    if state_file is not None:  # saved on exit already; this says so if it could not be
        try:
            emulator.save_state(state_file)
        except OSError as exc:
            raise CliError(f"could not save the emulator state to {state_file}: "
                           f"{exc.strerror or exc}") from None
