"""Without an extra installed, its names fail with an error that says what to install.

Each check runs in a fresh interpreter in which the extra's package cannot be
imported, so nothing cached in this test process is disturbed.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run_without(package: str, code: str) -> subprocess.CompletedProcess[str]:
    blocker = f"import sys; sys.modules[{package!r}] = None\n"
    return subprocess.run(
        [sys.executable, "-c", blocker + code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("package", "code", "extra"),
    [
        ("redis", "from clubsmtp_async import RedisLimiter", "redis"),
        ("starlette", "from clubsmtp_async.testing import Emulator", "emulator"),
        ("typer", "from clubsmtp_async.cli import main; main()", "cli"),
    ],
)
def test_a_missing_extra_is_named(package: str, code: str, extra: str) -> None:
    result = _run_without(package, code)
    assert result.returncode != 0
    assert f"clubsmtp-async[{extra}" in result.stderr
    assert "Traceback" not in result.stderr or "ImportError" in result.stderr


def test_the_core_imports_without_any_extra() -> None:
    code = "import clubsmtp_async; print(clubsmtp_async.AsyncClient.__name__)"
    for package in ("redis", "starlette", "uvicorn", "trustme", "typer", "rich"):
        code = f"sys.modules[{package!r}] = None; " + code
    result = _run_without("respx", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "AsyncClient"
