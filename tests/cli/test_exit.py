"""The exit-code table: one code per kind of failure, the same in the code and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from clubsmtp_async import (
    APIConnectionError,
    APITimeoutError,
    AuthError,
    InvalidRequestError,
    RateLimitError,
    SecurityError,
    ServerError,
    ValidationError,
)
from clubsmtp_async.cli._exit import CliError, ExitCode, exit_code_of
from clubsmtp_async.cli._runner import describe
from clubsmtp_async.onboarding import PlanError, PlanFileError, TenantFileError

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationError("bad"), ExitCode.USAGE),
        (TenantFileError("t.toml", "domains[0]", "bad"), ExitCode.USAGE),
        (PlanFileError("damaged"), ExitCode.USAGE),
        (AuthError("no", status_code=401), ExitCode.AUTH),
        (SecurityError("no", status_code=403), ExitCode.AUTH),
        (RateLimitError("slow", status_code=429), ExitCode.RATE_LIMITED),
        (APIConnectionError("down"), ExitCode.UNREACHABLE),
        (APITimeoutError("slow"), ExitCode.UNREACHABLE),
        (InvalidRequestError("taken", status_code=400), ExitCode.ERROR),
        (ServerError("oops", status_code=500), ExitCode.ERROR),
        (PlanError(["conflict"]), ExitCode.ERROR),
        (CliError("cancelled", ExitCode.USAGE), ExitCode.USAGE),
        (ImportError("needs the 'emulator' extra"), ExitCode.ERROR),
        (FileNotFoundError(2, "No such file", "x.toml"), ExitCode.ERROR),
        (KeyError("a bug"), None),
    ],
)
def test_every_expected_failure_has_its_code(error: BaseException, code: ExitCode | None) -> None:
    assert exit_code_of(error) == code


def test_the_docs_table_lists_every_code() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", DOCS.read_text(), re.MULTILINE))
    assert sorted(int(code) for code in rows) == sorted(int(code) for code in ExitCode)


def test_hints_say_what_to_do() -> None:
    assert "check --api-key" in describe(AuthError("Invalid API key.", status_code=401))
    tls = APIConnectionError("ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] nope",
                             request=httpx.Request("GET", "https://x"))
    assert "SSL_CERT_FILE" in describe(tls)
    assert describe(FileNotFoundError(2, "No such file", "x.toml")) == "x.toml: No such file"
