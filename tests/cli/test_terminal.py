"""The confirmation prompt on a real terminal (a pty): answered, declined, interrupted."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import CLUBSMTP, TENANT, clean_env

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="needs a pty")]


class Terminal:
    """``clubsmtp`` with stdin, stdout and stderr on a pseudo-terminal."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [*CLUBSMTP, *args], stdin=slave, stdout=slave, stderr=slave,
            env=clean_env({"COLUMNS": "120"}), start_new_session=True,
        )
        os.close(slave)
        self.output = ""

    def read_until(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in {self.output!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, timeout: float = 30) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            with_rest = ""
            while select.select([self.master], [], [], 0.1)[0]:
                try:
                    with_rest += os.read(self.master, 4096).decode(errors="replace")
                except OSError:
                    break
            self.output += with_rest
            os.close(self.master)
        return code


@pytest.fixture
def apply_args(tmp_path: Path) -> list[str]:
    tenant = tmp_path / "tenant.toml"
    tenant.write_text(TENANT)
    return ["--emulator", "--emulator-state", str(tmp_path / "state.json"), "--rpm", "60000",
            "apply", str(tenant), "--passwords-file", str(tmp_path / "pw.csv")]


def test_answering_yes_applies(apply_args: list[str]) -> None:
    terminal = Terminal(*apply_args)
    terminal.read_until("[y/N]")
    terminal.type("y\n")
    assert terminal.wait() == 0, terminal.output
    assert "3 generated password(s) written to" in terminal.output


def test_answering_no_changes_nothing(apply_args: list[str], tmp_path: Path) -> None:
    terminal = Terminal(*apply_args)
    terminal.read_until("[y/N]")
    terminal.type("\n")
    assert terminal.wait() == 1, terminal.output
    assert "cancelled: nothing was changed" in terminal.output
    assert not (tmp_path / "pw.csv").exists()


def test_ctrl_c_at_the_prompt_stops_at_once(apply_args: list[str]) -> None:
    terminal = Terminal(*apply_args)
    terminal.read_until("[y/N]")
    os.killpg(terminal.process.pid, signal.SIGINT)
    assert terminal.wait(timeout=10) == 130, terminal.output
    assert "interrupted" in terminal.output
