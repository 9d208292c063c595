"""Shared pieces of the rate benchmarks: the emulator in its own process, and the figures.

The emulator runs as ``clubsmtp emulator`` in a subprocess, so that serving does
not take CPU from the client being measured. Its statistics (``GET
/_admin/stats``) give, per key, the emulator-clock time of every request that
passed its bucket; the achieved rate is measured from those, excluding the first
request: ``(n - 1) / (t_last - t_first)``.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

API_KEY_PREFIX = "sk_test_bench"


def key_for(name: str) -> str:
    """A valid emulator key for one contender (one key = one bucket)."""
    return API_KEY_PREFIX + hashlib.sha256(name.encode()).hexdigest()[:40]


def key_id(token: str) -> str:
    """The emulator's non-secret id of a key (as in its statistics)."""
    return "key_" + hashlib.sha256(token.encode()).hexdigest()[:12]


class EmulatorProcess:
    """``clubsmtp emulator`` on a free loopback port, with the given keys and rate."""

    def __init__(self, keys: list[str], requests_per_minute: float) -> None:
        argv = [sys.executable, "-c", "from clubsmtp_async.cli import main; main()",
                "emulator", "--host", "127.0.0.1", "--port", "0",
                "--requests-per-minute", str(requests_per_minute)]
        for key in keys:
            argv += ["--api-key", key]
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.url = self._read_url()

    def _read_url(self) -> str:
        assert self._proc.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline()
            if not line:
                break
            if line.startswith("URL: "):
                return line.removeprefix("URL: ").strip()
        self.stop()
        raise RuntimeError("the emulator did not print its URL")

    def stats(self) -> dict[str, Any]:
        """The emulator's statistics (admin API)."""
        stats: dict[str, Any] = httpx.get(f"{self.url}/_admin/stats").json()["stats"]
        return stats

    def reset_stats(self) -> None:
        httpx.delete(f"{self.url}/_admin/stats").raise_for_status()

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Outcome:
    """One contender's run, as the emulator saw it."""

    name: str
    requests: int  # calls the contender was asked to make
    ok: int  # calls that succeeded
    rate_limited: int  # 429s the emulator sent
    accepted: list[float]  # emulator-clock times of the requests that passed the bucket
    wall: float  # seconds the contender took
    rpm: float  # the configured (key's) rate

    @property
    def achieved_rpm(self) -> float:
        times = sorted(self.accepted)
        if len(times) < 2 or times[-1] == times[0]:
            return float("nan")
        return (len(times) - 1) * 60 / (times[-1] - times[0])

    @property
    def ratio(self) -> float:
        return self.achieved_rpm / self.rpm

    @property
    def min_gap_ms(self) -> float:
        times = sorted(self.accepted)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        return min(gaps) * 1000 if gaps else float("nan")


def print_table(outcomes: list[Outcome]) -> None:
    header = (f"  {'contender':36s} {'ok':>9s} {'429s':>5s} {'accepted/min':>12s} "
              f"{'ratio':>6s} {'min gap':>8s} {'wall':>6s}")
    print(header)
    for o in outcomes:
        print(f"  {o.name:36s} {o.ok:4d}/{o.requests:<4d} {o.rate_limited:5d} "
              f"{o.achieved_rpm:12.1f} {o.ratio:6.3f} {o.min_gap_ms:6.1f}ms {o.wall:5.1f}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A throw-away ``redis-server`` on a free loopback port (no persistence)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self._proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(5)

    def __enter__(self) -> RedisProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
