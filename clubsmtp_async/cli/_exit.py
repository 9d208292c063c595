"""Exit codes, and the one table that maps every expected failure to one of them.

| code | meaning |
|---|---|
| 0 | success |
| 1 | error: the API refused the call, answered unexpectedly, or the plan conflicts |
| 2 | usage error: bad arguments or a bad input file; nothing was sent |
| 3 | authentication or permission: the key is invalid, expired or out of scope |
| 4 | rate limited, still, after the retries |
| 5 | the API could not be reached: connection refused, TLS or DNS failure, timeout |
| 6 | an apply partly failed: some actions failed or were skipped |
| 130 | interrupted (Ctrl-C, SIGTERM) |

A missing key is a usage error (2): nothing was sent.

``plan --detailed-exitcode`` follows Terraform instead: 0 no changes, 1 error,
2 changes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from .._errors import (
    APIConnectionError,
    AuthError,
    ClientClosedError,
    ClubSMTPError,
    RateLimitError,
    SecurityError,
    ValidationError,
)
from ..onboarding import PlanError

__all__ = ["CliError", "ExitCode", "exit_code_of"]


class ExitCode(enum.IntEnum):
    """The ``clubsmtp`` command's exit codes (see the module docstring)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    RATE_LIMITED = 4
    UNREACHABLE = 5
    PARTIAL = 6
    INTERRUPTED = 130


class CliError(Exception):
    """A failure the command reports in one line, with its exit code.

    Args:
        message: What happened and what to do (never a secret).
        code: The exit code.

    """

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# Checked in order: the first class an error is an instance of gives its code.
_CODES: Mapping[type[BaseException], ExitCode] = {
    CliError: ExitCode.ERROR,  # replaced by its own code below
    ValidationError: ExitCode.USAGE,
    AuthError: ExitCode.AUTH,
    SecurityError: ExitCode.AUTH,
    RateLimitError: ExitCode.RATE_LIMITED,
    APIConnectionError: ExitCode.UNREACHABLE,
    ClientClosedError: ExitCode.ERROR,
    PlanError: ExitCode.ERROR,
    ClubSMTPError: ExitCode.ERROR,
    ImportError: ExitCode.ERROR,
    OSError: ExitCode.ERROR,
}


def exit_code_of(error: BaseException) -> ExitCode | None:
    """The exit code of an expected failure, or None for an unexpected one (a bug)."""
    if isinstance(error, CliError):
        return error.code
    for cls, code in _CODES.items():
        if isinstance(error, cls):
            return code
    return None
