"""Tests of `FileLimiter`: the state file, its checks, and real processes sharing it.

The multi-process tests assert from the *booked* times each process reports
(the slots the shared GCRA handed out), never from how long anything took, so
they do not depend on the machine's speed.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from clubsmtp_async import ClubSMTPError, FileLimiter, Limiter, RateLimitWaitError, ValidationError
from clubsmtp_async._file_limiter import RECORD_SIZE, _parse, _State

WORKER = Path(__file__).with_name("file_limiter_worker.py")
EPS = 1e-6  # float rounding of wall-clock seconds (~1e-7 at today's epoch)


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def state_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())  # type: ignore[no-any-return]


# --- construction and the file ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"requests_per_minute": 0}, "requests_per_minute must be a positive finite number"),
        ({"requests_per_minute": float("nan")}, "requests_per_minute must be a positive"),
        ({"requests_per_minute": "60"}, "requests_per_minute must be a positive"),
        ({"burst": 0}, "burst must be an integer from 1"),
        ({"burst": True}, "burst must be an integer from 1"),
    ],
)
def test_arguments_are_validated(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FileLimiter(tmp_path / "state", **kwargs)


def test_path_must_be_a_path(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"path must be a str or os\.PathLike"):
        FileLimiter(3)  # type: ignore[arg-type]


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        FileLimiter(tmp_path / "nope" / "state")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is a directory"):
        FileLimiter(tmp_path)


def test_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValidationError, match="not a regular file"):
        FileLimiter(fifo)


def test_the_file_is_created_0600_with_a_fixed_size_record(tmp_path: Path) -> None:
    path = tmp_path / "state"
    limiter = FileLimiter(path, 60)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == 0  # nothing booked yet
    limiter._book_now()
    assert path.stat().st_size == RECORD_SIZE
    assert state_of(path)["format"] == "clubsmtp-file-limiter"
    assert isinstance(limiter, Limiter)
    assert repr(limiter) == f"FileLimiter(path={str(path)!r}, requests_per_minute=60, burst=1)"


@pytest.mark.parametrize(
    "content",
    [
        b"hello, I am someone's notes\n",
        b'{"format": "clubsmtp-file-limiter", "version": 99}',
        b'{"format": "clubsmtp-file-limiter", "version": 1, "tat": "x"}',
        b'{"format":"clubsmtp-file-limiter","version":1,"tat":1,"pause_until":1,"epoch":0,',
        b'{"format":"clubsmtp-file-limiter","version":1,"tat":NaN,"pause_until":1,'
        b'"epoch":0,"written":1}',
        b"\xff\xfe",
        b"[]",
    ],
)
def test_a_foreign_or_damaged_file_is_a_clear_error_and_kept(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "state"
    path.write_bytes(content)
    with pytest.raises(ClubSMTPError, match="is not a FileLimiter state file"):
        FileLimiter(path)
    assert path.read_bytes() == content  # never overwritten


def test_windows_is_refused_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(ValidationError, match="POSIX file locks"):
        FileLimiter(tmp_path / "state")


def test_an_unreadable_file_is_a_clubsmtp_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = tmp_path / "state"
    path.write_bytes(b"")
    path.chmod(0)
    with pytest.raises(ClubSMTPError, match="cannot open"):
        FileLimiter(path)


# --- the schedule, on a fake clock ------------------------------------------------------


def test_bookings_are_spaced_by_t(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = FileLimiter(tmp_path / "state", 60, clock=clock)
    waits = [limiter._book_now().wait for _ in range(4)]
    assert waits == [0.0, 1.0, 2.0, 3.0]
    clock.now += 10  # idle: the bucket empties, the next one goes at once
    assert limiter._book_now().wait == 0.0


def test_burst_lets_the_first_requests_go_at_once(tmp_path: Path) -> None:
    limiter = FileLimiter(tmp_path / "state", 60, burst=3, clock=FakeClock())
    assert [limiter._book_now().wait for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_two_instances_on_one_file_share_the_budget(tmp_path: Path) -> None:
    clock = FakeClock()
    first = FileLimiter(tmp_path / "state", 60, clock=clock)
    second = FileLimiter(tmp_path / "state", 60, clock=clock)
    assert [first._book_now().wait, second._book_now().wait, first._book_now().wait] == [
        0.0, 1.0, 2.0,
    ]


@pytest.mark.anyio
async def test_a_429_pushes_every_booking_past_the_pause(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = FileLimiter(tmp_path / "state", 60, burst=2, clock=clock)
    limiter._book_now()
    await limiter.on_rate_limited(5.0)
    # No burst at the pause's end: the server's bucket is full.
    assert [limiter._book_now().wait for _ in range(2)] == [5.0, 6.0]
    await limiter.on_rate_limited(None)  # the default pause, 1 s: the longer one stands
    assert state_of(tmp_path / "state")["pause_until"] == clock.now + 5.0


@pytest.mark.anyio
async def test_a_slot_booked_before_a_pause_is_voided(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = FileLimiter(tmp_path / "state", 60, clock=clock)
    limiter._book_now()
    waiting = limiter._book_now()  # due in 1 s
    await limiter.on_rate_limited(3.0)
    assert limiter._is_voided(waiting)


def test_a_backward_clock_step_keeps_the_schedule(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = FileLimiter(tmp_path / "state", 60, clock=clock)
    for _ in range(3):
        limiter._book_now()  # TAT = now + 3
    clock.now -= 3600  # the wall clock steps back an hour
    assert limiter._book_now().wait == 3.0  # not an hour and 3 s


def test_a_forward_clock_step_looks_idle(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = FileLimiter(tmp_path / "state", 60, clock=clock)
    for _ in range(3):
        limiter._book_now()
    clock.now += 3600
    assert limiter._book_now().wait == 0.0


# --- acquire, cancellation, aclose -------------------------------------------------------


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.anyio
async def test_acquire_paces_on_both_backends(tmp_path: Path) -> None:
    limiter = FileLimiter(tmp_path / "state", 60_000)  # T = 1 ms
    started = time.time()
    for _ in range(20):
        await limiter.acquire()
    tat = state_of(tmp_path / "state")["tat"]
    assert tat >= started + 20 * 0.001 - EPS  # 20 slots were booked, 1 ms apart
    await limiter.aclose()
    await limiter.aclose()  # idempotent
    await limiter.acquire()  # opens the file again


@pytest.mark.anyio
async def test_a_cancelled_waiter_gives_its_slot_back(tmp_path: Path) -> None:
    path = tmp_path / "state"
    limiter = FileLimiter(path, 6)  # T = 10 s
    await limiter.acquire()
    tat = state_of(path)["tat"]
    with anyio.move_on_after(0.05):
        await limiter.acquire()  # would wait 10 s
    assert state_of(path)["tat"] == tat  # rewound: nobody booked after it


@pytest.mark.anyio
async def test_a_cancelled_waiter_followed_by_another_leaves_its_slot(tmp_path: Path) -> None:
    path = tmp_path / "state"
    limiter = FileLimiter(path, 6)
    await limiter.acquire()

    tat_before = state_of(path)["tat"]

    async def later_booking() -> None:
        while state_of(path)["tat"] == tat_before:  # until the waiter has booked
            await anyio.sleep(0.005)
        limiter._book_now()  # another process, say, books after the waiter

    with anyio.move_on_after(0.1):
        async with anyio.create_task_group() as tg:
            tg.start_soon(later_booking)
            await limiter.acquire()
    assert state_of(path)["tat"] == tat_before + 20  # both slots stay booked: never early


@pytest.mark.anyio
async def test_an_already_cancelled_caller_books_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state"
    limiter = FileLimiter(path, 60)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await limiter.acquire()
    assert path.stat().st_size == 0


# --- real processes ----------------------------------------------------------------------


def start(path: Path, rpm: float, count: int, *, burst: int = 1, mode: str = "acquire") -> Any:
    argv = [sys.executable, str(WORKER), str(path), str(rpm), str(burst), str(count), mode]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_together(procs: list[Any], *, timeout: float = 30) -> list[list[list[Any]]]:
    """Release the workers once all are ready; return each one's bookings."""
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=timeout)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                proc.wait()
    assert [proc.returncode for proc in procs] == [0] * len(procs)
    return [json.loads(out.strip().splitlines()[-1]) for out in outputs]


def assert_conforms(times: list[float], interval: float, burst: int) -> None:
    """GCRA's bound: any k + burst sorted sends span at least k intervals."""
    times = sorted(times)
    for i in range(len(times)):
        for j in range(i + burst, min(len(times), i + burst + 5)):
            assert times[j] - times[i] >= (j - i - burst + 1) * interval - EPS, (i, j)


@pytest.mark.slow
@pytest.mark.parametrize("burst", [1, 3])
def test_processes_never_exceed_the_rate_together(tmp_path: Path, burst: int) -> None:
    rpm, per_process = 6000, 30  # T = 10 ms: 4 x 30 slots, about 1.2 s
    path = tmp_path / "state"
    results = run_together([start(path, rpm, per_process, burst=burst) for _ in range(4)])
    finals = [row[0] for rows in results for row in rows if row[3]]
    assert [sum(row[3] for row in rows) for rows in results] == [per_process] * 4
    assert_conforms(finals, 60 / rpm, burst)
    # The schedule is one: 120 slots over about 119 intervals, no gap left unused.
    assert max(finals) - min(finals) <= (len(finals) - burst) * 60 / rpm + 0.5


@pytest.mark.slow
def test_a_pause_in_one_process_holds_the_others(tmp_path: Path) -> None:
    rpm, per_process, pause = 1200, 20, 1.0  # T = 50 ms: about 3 s of slots
    path = tmp_path / "state"
    procs = [start(path, rpm, per_process) for _ in range(3)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    time.sleep(0.5)  # only to let some slots go first; nothing below depends on it
    anyio.run(FileLimiter(path, rpm).on_rate_limited, pause)
    pause_until = state_of(path)["pause_until"]
    paused_at = pause_until - pause
    outputs = [proc.communicate(timeout=30)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 3
    rows = [row for out in outputs for row in json.loads(out.strip().splitlines()[-1])]
    finals = [row[0] for row in rows if row[3]]
    assert len(finals) == 3 * per_process
    during = [round(t - paused_at, 3) for t in finals if paused_at + EPS < t < pause_until - EPS]
    assert during == [], f"sent during the pause (s after it began): {during}"
    assert any(t < paused_at for t in finals)
    assert any(t >= pause_until for t in finals)
    assert any(not row[3] for row in rows)  # slots booked before the pause were voided


@pytest.mark.slow
def test_a_process_killed_holding_the_lock_does_not_wedge_the_others(tmp_path: Path) -> None:
    path = tmp_path / "state"
    holder = start(path, 60, 0, mode="hold")
    booked: list[float] = []
    try:
        assert holder.stdout.readline().strip() == "locked"
        # Construction takes the lock too: all of it waits in a thread.
        other = threading.Thread(
            target=lambda: booked.append(FileLimiter(path, 60)._book_now().wait), daemon=True
        )
        other.start()
        other.join(0.3)
        assert other.is_alive()  # held by the worker
        assert booked == []
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        other.join(10)
        assert booked == [0.0]  # the kernel dropped the dead process's lock
    finally:
        holder.kill()
        holder.communicate()


@pytest.mark.slow
def test_limiters_on_different_paths_are_independent(tmp_path: Path) -> None:
    rpm, per_process = 600, 5  # T = 100 ms
    a, b = tmp_path / "a", tmp_path / "b"
    results = run_together([start(a, rpm, per_process), start(a, rpm, per_process),
                            start(b, rpm, per_process), start(b, rpm, per_process)])
    on_a = sorted(row[0] for rows in results[:2] for row in rows if row[3])
    on_b = sorted(row[0] for rows in results[2:] for row in rows if row[3])
    assert_conforms(on_a, 0.1, 1)
    assert_conforms(on_b, 0.1, 1)
    # Each file is its own budget: 10 slots span 9 intervals on each (not 19), side by side.
    assert on_a[-1] - on_a[0] <= 9 * 0.1 + 0.3
    assert on_b[-1] - on_b[0] <= 9 * 0.1 + 0.3
    assert on_a[0] < on_b[-1]
    assert on_b[0] < on_a[-1]


def test_parse_accepts_only_its_own_format(tmp_path: Path) -> None:
    assert _parse(b"", tmp_path) == _State()


# --- max_wait ----------------------------------------------------------------------------


def test_max_wait_refuses_without_booking(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = FileLimiter(tmp_path / "state", 60, clock=clock)
    for _ in range(3):
        limiter._book_now(max_wait=2)  # waits 0, 1, 2: within the cap
    before = (tmp_path / "state").read_bytes()
    with pytest.raises(RateLimitWaitError) as refused:
        limiter._book_now(max_wait=2)
    assert refused.value.retry_after == pytest.approx(3.0)
    assert (tmp_path / "state").read_bytes() == before  # nothing booked
    assert limiter._book_now().wait == 3.0  # the next caller's turn is not pushed back


@pytest.mark.anyio
async def test_max_wait_counts_a_pause_from_another_process(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = FileLimiter(tmp_path / "state", 60, clock=clock)
    await FileLimiter(tmp_path / "state", 60, clock=clock).on_rate_limited(10)
    with pytest.raises(RateLimitWaitError) as refused:
        await limiter.acquire(max_wait=9.5)
    assert refused.value.retry_after == pytest.approx(10.0)


@pytest.mark.anyio
async def test_acquire_with_max_wait_goes_when_free(tmp_path: Path) -> None:
    limiter = FileLimiter(tmp_path / "state", 6)  # T = 10 s
    await limiter.acquire(max_wait=0)
    with pytest.raises(RateLimitWaitError):
        await limiter.acquire(max_wait=0)
    with pytest.raises(ValidationError, match="max_wait"):
        await limiter.acquire(max_wait=-1)


def test_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "someone-elses"
    target.write_bytes(b"")
    link = tmp_path / "state"
    link.symlink_to(target)
    with pytest.raises(ClubSMTPError, match="is a symbolic link"):
        FileLimiter(link)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "created-through-the-link")
    with pytest.raises(ClubSMTPError, match="is a symbolic link"):
        FileLimiter(dangling)
    assert target.read_bytes() == b""
    assert not (tmp_path / "created-through-the-link").exists()


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_file_others_may_write_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "state"
    path.write_bytes(b"")
    path.chmod(mode)
    with pytest.raises(ClubSMTPError, match="writable by other users"):
        FileLimiter(path)


def test_a_file_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file away")
    path = tmp_path / "state"
    path.write_bytes(b"")
    os.chown(path, 65534, 65534)  # nobody
    with pytest.raises(ClubSMTPError, match="belongs to another user"):
        FileLimiter(path)


def test_a_nul_in_the_path_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        FileLimiter(f"{tmp_path}/a\0b")


@pytest.mark.parametrize("field", ['"tat":"1"', '"tat":true', '"epoch":"7"', '"epoch":1.5'])
def test_values_of_the_wrong_type_are_a_damaged_file(tmp_path: Path, field: str) -> None:
    fields = {"tat": "1", "pause_until": "1", "epoch": "0", "written": "1"}
    name, value = field.split(":")
    fields[name.strip('"')] = value
    body = ",".join(f'"{key}":{val}' for key, val in fields.items())
    path = tmp_path / "state"
    path.write_bytes(b'{"format":"clubsmtp-file-limiter","version":1,' + body.encode() + b"}")
    with pytest.raises(ClubSMTPError, match="is not a FileLimiter state file"):
        FileLimiter(path)
