"""The root typer application, its global options, and helpers commands share.

Command modules register themselves on `app` (or add sub-apps to it);
importing them is what adds them (see `clubsmtp_async.cli`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from .._config import DEFAULT_REQUESTS_PER_MINUTE, resolve_requests_per_minute
from .._version import __version__
from ._runner import run
from ._session import Output, Settings
from ._usage import OneLineGroup

if TYPE_CHECKING:
    from rich.console import Console

    from .._client import AsyncClient

__all__ = ["app", "run_command", "settings_of", "show"]

T = TypeVar("T")

EPILOG = (
    "Exit codes: 0 ok, 1 error, 2 usage error or bad file, 3 authentication or permission, "
    "4 rate limited, 5 API unreachable, 6 apply partly failed, 130 interrupted."
)

app = typer.Typer(
    name="clubsmtp",
    help="ClubSMTP from the command line: every endpoint, and declarative tenant onboarding.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    cls=OneLineGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clubsmtp {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    api_key: Annotated[str | None, typer.Option(
        envvar="CLUBSMTP_API_KEY", show_default=False, show_envvar=True,
        help="The API key (never shown).",
    )] = None,
    base_url: Annotated[str | None, typer.Option(
        envvar="CLUBSMTP_BASE_URL", show_envvar=True,
        help="The API's base URL (default: https://api.clubsmtp.com).",
    )] = None,
    requests_per_minute: Annotated[float, typer.Option(
        "--requests-per-minute", "--rpm", envvar="CLUBSMTP_REQUESTS_PER_MINUTE",
        parser=resolve_requests_per_minute, metavar="FLOAT",
        help="The key's ceiling: the client never sends faster.",
    )] = DEFAULT_REQUESTS_PER_MINUTE,
    timeout: Annotated[float, typer.Option(min=0.001, help="Seconds per attempt.")] = 30.0,
    max_retries: Annotated[int, typer.Option(
        min=0, help="Retries of a failed request (0: none).")] = 3,
    json: Annotated[bool, typer.Option(
        "--json", help="Machine output: one JSON document on stdout, no colour, no progress.",
    )] = False,
    emulator: Annotated[bool, typer.Option(
        "--emulator", help="Run against an embedded in-process emulator (no account needed).",
    )] = False,
    emulator_state: Annotated[Path | None, typer.Option(
        help="With --emulator: start from this state file and save the state back to it.",
    )] = None,
    no_input: Annotated[bool, typer.Option(
        "--no-input", help="Never prompt (commands that would ask need --yes).",
    )] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.",
    )] = False,
) -> None:
    """ClubSMTP from the command line: every endpoint, and declarative tenant onboarding."""
    if emulator_state is not None and not emulator:
        raise typer.BadParameter("--emulator-state goes with --emulator",
                                 param_hint="--emulator-state")
    ctx.obj = Settings(
        api_key=api_key, base_url=base_url, requests_per_minute=requests_per_minute,
        timeout=timeout, max_retries=max_retries, emulator=emulator,
        emulator_state=emulator_state, no_input=no_input,
        output=Output(json=json),
    )


def settings_of(ctx: typer.Context) -> Settings:
    """The global options, from the root callback."""
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):  # a sub-command invoked without the root
        settings = Settings()
    return settings


def run_command(
    ctx: typer.Context,
    command: Callable[[Settings], Awaitable[int | None]],
    *,
    collapse_errors: bool = False,
) -> None:
    """Run an async command with the global options; exits with its code.

    Args:
        ctx: The command's context.
        command: Called with the global options; returns the exit code (None: 0).
        collapse_errors: Exit 1 for every failure (``plan --detailed-exitcode``).

    """
    settings = settings_of(ctx)

    async def main() -> int | None:
        return await command(settings)

    run(settings.output, main, collapse_errors=collapse_errors)


def show(
    ctx: typer.Context,
    fetch: Callable[[AsyncClient], Awaitable[T]],
    render: Callable[[Console, T], None],
) -> None:
    """The common command: one call with the client, then its result (JSON or `render`)."""
    from ._session import open_client

    async def command(settings: Settings) -> None:
        async with open_client(settings) as client:
            value = await fetch(client)
        settings.output.data(value, lambda console: render(console, value))

    run_command(ctx, command)
