"""Usage errors as one line on stderr (exit code 2), for every command of ``clubsmtp``.

Click draws a usage error as a usage line, a hint and (under typer) a boxed
panel. Every other failure of the command is one line, so usage errors are
too: ``clubsmtp plan: error: Missing argument 'FILE'. (clubsmtp plan --help)``.
The root group catches them all, since every sub-command is parsed and run
inside its ``invoke``.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["OneLineErrors", "OneLineGroup", "fail"]

# typer re-exports click's exceptions (recent versions from a copy of click of
# their own): the usage error class is BadParameter's base either way.
_UsageError: type[Exception] = typer.BadParameter.__mro__[1]


_ARGV = "clubsmtp.argv"  # the root's raw arguments, kept in the shared context meta


def fail(message: str, code: int, command: str | None = None) -> NoReturn:
    """Print one line on stderr and exit with `code`."""
    typer.echo(f"{command or 'clubsmtp'}: error: {message}", err=True)
    raise typer.Exit(code)


def _fail_usage(exc: Exception, ctx: Any) -> NoReturn:
    """One line; with ``--json`` also the JSON error document, with ``--detailed-exitcode`` 1."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    failed_ctx = getattr(exc, "ctx", None) or ctx
    path = getattr(failed_ctx, "command_path", None)
    argv = ctx.meta.get(_ARGV, ()) if hasattr(ctx, "meta") else ()
    # Terraform's -detailed-exitcode: 2 means "changes", so every error is 1.
    code = 1 if "--detailed-exitcode" in argv else getattr(exc, "exit_code", 2)
    if "--json" in argv:
        document = {"error": {"message": message, "exit_code": code}}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    hint = f" ({path} --help)" if path else ""
    fail(message + hint, code, path)


class _OneLine:
    """Turns a usage error met while parsing or running into one line."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse the arguments; a usage error becomes one line."""
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc,no-any-return]
        except _UsageError as exc:
            _fail_usage(exc, ctx)

    def invoke(self, ctx: Any) -> Any:
        """Run (a group: resolve and run the sub-command); a usage error becomes one line."""
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except _UsageError as exc:
            _fail_usage(exc, ctx)


class OneLineErrors(_OneLine, TyperCommand):
    """A command whose usage errors are one line on stderr (exit code 2), not a panel."""


class OneLineGroup(_OneLine, TyperGroup):
    """A group (the root ``clubsmtp``) whose usage errors, and its commands', are one line."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Keep the raw arguments (for ``--json`` and ``--detailed-exitcode``), then parse."""
        ctx.meta.setdefault(_ARGV, tuple(args))
        return super().parse_args(ctx, args)
