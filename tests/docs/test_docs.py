"""Every code block of the README and the guides runs as pasted (see `snippets`)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis_server import redis_server_binary

from .snippets import Block, blocks_of, run_python, substitute

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KEY = "sk_test_" + "d0c5" * 18
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PLACEHOLDERS = {"sk_live_...": KEY, "sk_test_…": KEY, "whsec_...": SECRET}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner keeps one loop"),
]


class Server:
    """``clubsmtp emulator`` in its own process, for the snippets that talk to an API."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clubsmtp_async.cli", "emulator", "--port", "0",
             "--api-key", KEY, "--requests-per-minute", "600000", "--burst", "10000"],
            stdout=subprocess.PIPE, text=True,
        )
        self.url = self._read_url()

    def _read_url(self) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("URL: "):
                return line.removeprefix("URL: ").strip()
            if not line:
                break
        raise RuntimeError("the emulator did not start")

    def reset(self) -> None:
        httpx.post(f"{self.url}/_admin/reset").raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Server) -> Path:
    """The reader's folder: the examples at hand, the API's key and URL in the environment."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLUBSMTP_API_KEY", KEY)
    monkeypatch.setenv("CLUBSMTP_BASE_URL", server.url)
    monkeypatch.setenv("NO_COLOR", "1")
    # The test server's keys allow this rate; a reader's would say theirs.
    monkeypatch.setenv("CLUBSMTP_REQUESTS_PER_MINUTE", "600000")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    # The example applications' pages run them with PYTHONPATH=examples/<app>.
    for app in sorted((tmp_path / "examples").iterdir()):
        if app.is_dir() and any(app.glob("*/__init__.py")):
            monkeypatch.syspath_prepend(str(app))
    server.reset()
    return tmp_path


def _check_data(block: Block, code: str) -> None:
    from clubsmtp_async.onboarding import parse_tenant

    lang = {"yml": "yaml"}.get(block.lang, block.lang)
    tenant = "[[domains]]" in code if lang == "toml" else "domains" in code
    if lang == "json" and '"account"' in code:  # the emulator's seed, a tenant with an account
        from clubsmtp_async.testing import Emulator

        Emulator().seed(json.loads(code))
    elif lang in ("toml", "yaml", "json") and tenant:
        parse_tenant(code, lang, source=block.where, check_sources=False)
    elif lang == "json":
        json.loads(code)


def _extras() -> set[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


def _check_install(block: Block, line: str) -> None:
    """A ``pip install`` line names this project and extras it has (it is not run)."""
    for requirement in shlex.split(line, comments=True)[2:]:
        if requirement.startswith("-"):
            continue
        name, _, extras = requirement.partition("[")
        if name not in ("clubsmtp-async", "."):  # another package the page's code uses
            importlib.metadata.distribution(re.split(r"[<>=!~ ]", name)[0])
            continue
        wanted = set(filter(None, extras.rstrip("]").split(",")))
        assert wanted <= _extras(), f"{block.where}: no extra {wanted - _extras()}"


def _run_bash(block: Block, code: str, workdir: Path) -> None:
    expected = int(block.directives.get("exit", "0"))
    lines = code.splitlines()
    for line in lines:
        if line.startswith("pip install "):
            _check_install(block, line)
    code = "\n".join(line for line in lines if not line.startswith("pip install "))
    if re.search(r"\bredis-(server|cli)\b", code):
        redis_server_binary()  # skipped (failed under CI) when missing, not waited for
    # Its own session, so whatever it leaves in the background is stopped with it.
    process = subprocess.Popen(["bash", "-e", "-c", code], cwd=workdir, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert done.returncode == expected, (
        f"{block.where}: exit {done.returncode}, not {expected}\n{done.stdout}\n{done.stderr}")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_block_runs_as_pasted(page: Path, workdir: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    with asyncio.Runner() as runner:
        for block in blocks_of(page):
            code = substitute(block.code, PLACEHOLDERS)
            if "file" in block.directives:
                (workdir / block.directives["file"]).write_text(code)
            if "skip" in block.directives:
                assert block.directives["skip"], f"{block.where}: say why it is not run"
                continue
            if block.lang == "python":
                run_python(code, namespace, runner, block.where)
            elif block.lang in ("bash", "sh", "console"):
                _run_bash(block, code, workdir)
            elif block.lang in ("toml", "yaml", "yml", "json"):
                _check_data(block, code)
            elif block.lang == "csv":
                assert "file" in block.directives, f"{block.where}: a CSV block names its file"
            else:
                assert block.lang == "text", f"{block.where}: unknown block language {block.lang}"
