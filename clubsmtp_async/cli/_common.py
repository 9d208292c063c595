"""Small pieces several commands share: confirmation, and where generated passwords go."""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path

import anyio
from rich.markup import escape

from ..onboarding import PasswordFile
from ._exit import CliError, ExitCode
from ._session import Settings

__all__ = ["confirm", "password_sink", "read_password"]


async def _read_line() -> str:
    """A line from stdin, read in a daemon thread so the event loop (and Ctrl-C) stay live."""
    answer: list[str] = []

    def read() -> None:
        with contextlib.suppress(OSError, ValueError):
            answer.append(sys.stdin.readline())

    reader = threading.Thread(target=read, name="clubsmtp prompt", daemon=True)
    reader.start()
    while reader.is_alive():  # noqa: ASYNC110 - a thread cannot set an anyio event directly
        await anyio.sleep(0.05)
    return answer[0] if answer else ""


async def confirm(settings: Settings, question: str, *, yes: bool) -> None:
    """Ask on the terminal unless `yes`; refuse to ask without one.

    The question goes to stderr and nothing to stdout. Ctrl-C while it waits
    interrupts the command at once (exit 130).

    Raises:
        CliError: without a terminal (or with ``--no-input`` or ``--json``), or when declined.

    """
    if yes:
        return
    if not settings.can_prompt:
        raise CliError(f"{question} — stdin is not a terminal (or --no-input or --json was "
                       "given): pass --yes to go ahead without asking", ExitCode.USAGE)
    settings.output.err.print(escape(f"{question} [y/N] "), end="")
    if (await _read_line()).strip().lower() not in ("y", "yes"):
        raise CliError("cancelled: nothing was changed", ExitCode.ERROR)


def password_sink(settings: Settings, passwords_file: Path | None,
                  generated: int) -> PasswordFile | None:
    """Where the `generated` passwords go: the 0600 file, or (``--json``) the JSON report.

    Raises:
        CliError: if passwords would be generated with neither — before anything is sent.

    """
    if passwords_file is not None:
        return PasswordFile(passwords_file)
    if generated and not settings.output.json:
        raise CliError(
            f"{generated} password(s) would be generated, and they are never shown on the "
            "terminal: pass --passwords-file PATH (created 0600) to receive them, or --json "
            "to get them in the JSON report; nothing was sent", ExitCode.USAGE,
        )
    return None


def read_password(path: Path) -> str:
    """A password from a file (``-``: stdin), without its trailing newline.

    Raises:
        CliError: if it cannot be read or is empty.

    """
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the password file {path}: "
                       f"{getattr(exc, 'strerror', None) or exc}", ExitCode.USAGE) from None
    password = text.rstrip("\r\n")
    if not password:
        raise CliError(f"the password file {path} is empty", ExitCode.USAGE)
    return password
