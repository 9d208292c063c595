"""One process of the `FileLimiter` tests: books slots through a shared state file.

    python file_limiter_worker.py PATH RPM BURST COUNT (acquire | hold)

``acquire``: prints ``ready``, waits for a line on stdin (so that every worker
starts at once), then two tasks call ``acquire()`` COUNT times in all, and it
prints one JSON line: every booking as ``[send_at, epoch, task, final]``
(``final``: the booking the call went with; the others were voided by a pause).
``hold``: takes the limiter's file lock, prints ``locked`` and never lets go
(the test kills it).
"""

from __future__ import annotations

import contextvars
import json
import sys
import time

import anyio

from clubsmtp_async import FileLimiter
from clubsmtp_async._file_limiter import _Booking

TASK: contextvars.ContextVar[int] = contextvars.ContextVar("TASK", default=-1)


class RecordingLimiter(FileLimiter):
    """Keeps every booking with the task that made it (worker threads copy the context)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.booked: list[tuple[_Booking, int]] = []

    def _book_now(self, max_wait: float | None = None) -> _Booking:
        booking = super()._book_now(max_wait)
        self.booked.append((booking, TASK.get()))
        return booking


async def acquire(limiter: RecordingLimiter, count: int) -> None:
    finals: set[int] = set()

    async def task(number: int, calls: int) -> None:
        TASK.set(number)
        for _ in range(calls):
            await limiter.acquire()
            mine = [i for i, (_, who) in enumerate(limiter.booked) if who == number]
            finals.add(mine[-1])

    print("ready", flush=True)
    await anyio.to_thread.run_sync(sys.stdin.readline)
    async with anyio.create_task_group() as tg:
        tg.start_soon(task, 0, count // 2)
        tg.start_soon(task, 1, count - count // 2)
    await limiter.aclose()
    rows = [
        [b.send_at, b.epoch, who, i in finals] for i, (b, who) in enumerate(limiter.booked)
    ]
    print(json.dumps(rows), flush=True)


def hold(limiter: FileLimiter) -> None:
    def step(state: object, now: float) -> tuple[None, None]:
        print("locked", flush=True)
        while True:
            time.sleep(60)

    limiter._locked(step)


def main(argv: list[str]) -> None:
    path, rpm, burst, count, mode = argv[:5]
    limiter = RecordingLimiter(path, float(rpm), burst=int(burst))
    if mode == "hold":
        hold(limiter)
    else:
        anyio.run(acquire, limiter, int(count))


if __name__ == "__main__":
    main(sys.argv[1:])
