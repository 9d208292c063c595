"""Running one command: the event loop, and every failure turned into one line and an exit code.

No expected failure shows a traceback: the exception's message (which never
holds a secret) and, where it helps, what to do. An unexpected exception — a
bug — is reported in one line too; ``CLUBSMTP_DEBUG=1`` shows its traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Awaitable, Callable

import anyio
import typer

from .._errors import APIConnectionError, AuthError, SecurityError
from ._exit import ExitCode, exit_code_of
from ._session import Output

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = ["describe", "run"]

_TLS_HINT = (
    " — the server's certificate is not trusted: for a local emulator started with --tls, "
    "set SSL_CERT_FILE to the CA file it printed"
)


def describe(error: BaseException) -> str:
    """One line saying what failed and, where it helps, what to do."""
    text = str(error) or type(error).__name__
    if isinstance(error, AuthError):
        return f"{text} — check --api-key or CLUBSMTP_API_KEY"
    if isinstance(error, SecurityError):
        return f"{text} — the key may not be allowed to do this (scope or IP range)"
    if isinstance(error, APIConnectionError):
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return f"could not reach the API: {text}{_TLS_HINT}"
        return f"could not reach the API: {text} — check --base-url and the network"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return text


def _sole(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def run(
    output: Output, command: Callable[[], Awaitable[int | None]], *, collapse_errors: bool = False
) -> None:
    """Run `command` on an event loop and exit with its code (or the failure's).

    Args:
        output: Where failures are reported.
        command: The command's coroutine function; returns the exit code (None: 0).
        collapse_errors: Every failure exits 1, as Terraform's ``-detailed-exitcode`` wants.

    Raises:
        typer.Exit: always, with the exit code.

    """
    try:
        code = anyio.run(command)
    except KeyboardInterrupt:
        output.fail("interrupted", ExitCode.INTERRUPTED)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as raw:
        error = _sole(raw)
        if isinstance(error, KeyboardInterrupt):
            output.fail("interrupted", ExitCode.INTERRUPTED)
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        if isinstance(error, typer.Exit):
            raise error from None
        known = exit_code_of(error)
        if known is None:
            if os.environ.get("CLUBSMTP_DEBUG"):
                traceback.print_exception(error)
            output.fail(f"unexpected {type(error).__name__}: {error} (a bug: please report it; "
                        "CLUBSMTP_DEBUG=1 shows the traceback)", ExitCode.ERROR)
            raise typer.Exit(ExitCode.ERROR) from None
        code = ExitCode.ERROR if collapse_errors else known
        output.fail(describe(error), code)
        raise typer.Exit(code) from None
    raise typer.Exit(int(code or 0))
