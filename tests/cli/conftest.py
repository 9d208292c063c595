"""Helpers of the CLI tests: the ``clubsmtp`` command as a subprocess, and tenant files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

CLUBSMTP = [sys.executable, "-m", "clubsmtp_async.cli"]

TENANT = """\
[[domains]]
name = "acme.example"

  [[domains.mailboxes]]
  local_part = "alice"
  storage_gb = 20
  whitelist = ["*@trusted.example"]

  [[domains.mailboxes]]
  local_part = "bob"
  blacklist = ["*@spam.example"]

  [[domains.aliases]]
  local_part = "info"
  forward_to = ["alice", "bob"]

[[domains]]
name = "beta.example"

  [[domains.mailboxes]]
  local_part = "carol"
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the socket emulator runs uvicorn


@pytest.fixture
def tenant_file(tmp_path: Path) -> Path:
    path = tmp_path / "tenant.toml"
    path.write_text(TENANT)
    return path


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child ``clubsmtp``: no ClubSMTP settings but the HTTP library."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLUBSMTP_") or k == "CLUBSMTP_HTTP_LIBRARY"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", **(extra or {})})
    return env


async def clubsmtp(*args: str, env: Mapping[str, str] | None = None,
                   cwd: Path | None = None, stdin: bytes | None = None) -> Any:
    """Run the command to its end; the completed process (stdout/stderr as text)."""
    done = await anyio.run_process(
        [*CLUBSMTP, *args], input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
        check=False, env=clean_env(env), cwd=cwd,
    )
    done.stdout = done.stdout.decode()
    done.stderr = done.stderr.decode()
    return done
