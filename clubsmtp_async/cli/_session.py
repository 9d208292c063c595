"""What every command shares: the global options, the output streams, and the client.

Data goes to stdout (rich tables for people, one JSON document with
``--json``); messages, prompts and progress go to stderr. Colour follows the
terminal and ``NO_COLOR``. The API key is held by the client, which never
shows it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from rich.console import Console
from rich.markup import escape

from ._exit import CliError, ExitCode

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["Output", "Settings", "open_client"]


@dataclass
class Output:
    """The command's two streams.

    Attributes:
        json: Machine output: one JSON document on stdout, no colour, no progress.
        out: stdout, for data.
        err: stderr, for messages and progress.

    """

    json: bool = False
    out: Console = field(default_factory=lambda: Console(highlight=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))

    def __post_init__(self) -> None:
        if self.json:
            self.out = Console(highlight=False, no_color=True, markup=False, emoji=False)

    def data(self, value: Any, render: Callable[[Console], None]) -> None:
        """Show a result: `value` as JSON with ``--json``, else `render` it for people."""
        if self.json:
            self.write_json(value)
        else:
            render(self.out)

    def write_json(self, value: Any) -> None:
        """Write one JSON document to stdout."""
        encoded = msgspec.json.format(msgspec.json.encode(value), indent=2).decode()
        sys.stdout.write(encoded + "\n")
        sys.stdout.flush()

    def say(self, text: str) -> None:
        """A message for people on stderr (plain text: brackets are shown as they are)."""
        self.err.print(escape(text), soft_wrap=True)

    def fail(self, message: str, code: int, *, json_document: bool = True) -> None:
        """Report a failure: one line on stderr and, with ``--json``, a JSON error document.

        Args:
            message: What happened and what to do (plain text).
            code: The exit code.
            json_document: False when the command's JSON document was written already.

        """
        self.err.print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                       soft_wrap=True)
        if self.json and json_document:
            self.write_json({"error": {"message": message, "exit_code": int(code)}})

    @property
    def interactive(self) -> bool:
        """Whether progress bars can be drawn (stderr is a terminal and not ``--json``)."""
        return not self.json and self.err.is_terminal


@dataclass
class Settings:
    """The global options of ``clubsmtp``.

    Attributes:
        api_key: From ``--api-key`` or ``$CLUBSMTP_API_KEY``.
        base_url: From ``--base-url`` or ``$CLUBSMTP_BASE_URL``.
        requests_per_minute: The key's ceiling the client keeps to.
        timeout: Seconds per attempt.
        max_retries: Retries of a failed request.
        emulator: Run against an embedded in-process emulator.
        emulator_state: The embedded emulator's state file (loaded, then saved).
        no_input: Never prompt.
        output: The output streams.

    """

    api_key: str | None = None
    base_url: str | None = None
    requests_per_minute: float = 60.0
    timeout: float = 30.0
    max_retries: int = 3
    emulator: bool = False
    emulator_state: Path | None = None
    no_input: bool = False
    output: Output = field(default_factory=Output)

    @property
    def can_prompt(self) -> bool:
        """Whether a question may be asked (a terminal on stdin, and no ``--no-input``)."""
        return not (self.no_input or self.output.json) and sys.stdin.isatty()


@asynccontextmanager
async def _embedded(settings: Settings) -> AsyncIterator[AsyncClient]:
    from ._embedded import embedded_client

    async with embedded_client(settings.requests_per_minute, settings.emulator_state,
                               timeout=settings.timeout,
                               max_retries=settings.max_retries) as client:
        yield client


@asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """The client the options describe (the embedded emulator's with ``--emulator``)."""
    if settings.emulator:
        async with _embedded(settings) as client:
            yield client
        return
    from .._client import AsyncClient

    if not settings.api_key:
        raise CliError(
            "no API key: pass --api-key or set CLUBSMTP_API_KEY "
            "(or try everything locally with --emulator)", ExitCode.USAGE,
        )
    async with AsyncClient(
        settings.api_key, base_url=settings.base_url,
        requests_per_minute=settings.requests_per_minute, timeout=settings.timeout,
        max_retries=settings.max_retries,
    ) as client:
        yield client
