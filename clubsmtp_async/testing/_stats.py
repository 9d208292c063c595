"""Request statistics, for assertions in tests and benchmarks."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

__all__ = ["Stats"]


class Stats:
    """Counters of the ``/v1`` traffic an emulator saw.

    Attributes:
        requests: Requests received per ``"METHOD /path/template"`` (e.g.
            ``"GET /v1/mailboxes/{uuid}"``), whatever their outcome; unknown
            paths are counted under their literal path.
        statuses: Responses sent per HTTP status (dropped connections are not
            responses and count under `dropped`).
        rate_limited: 429 responses sent (the bucket's and injected ones).
        dropped: Connections dropped by a fault.
        accepted: Per key id, the clock's `now()` of every request that passed
            the rate limit, in order.

    """

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.rate_limited = 0
        self.dropped = 0
        self.accepted: defaultdict[str, list[float]] = defaultdict(list)

    def reset(self) -> None:
        """Zero every counter."""
        self.requests.clear()
        self.statuses.clear()
        self.rate_limited = 0
        self.dropped = 0
        self.accepted.clear()

    @property
    def total(self) -> int:
        """All requests received."""
        return sum(self.requests.values())

    def record_request(self, method: str, template: str) -> None:
        """Count one received request."""
        self.requests[f"{method} {template}"] += 1

    def record_status(self, status: int) -> None:
        """Count one response sent."""
        self.statuses[status] += 1
        if status == 429:
            self.rate_limited += 1

    def record_accepted(self, key_id: str, now: float) -> None:
        """Note that a request of key `key_id` passed the rate limit at `now`."""
        self.accepted[key_id].append(now)

    def to_json(self) -> dict[str, Any]:
        """The statistics as the admin API returns them."""
        return {
            "total": self.total,
            "requests": dict(self.requests),
            "statuses": {str(status): count for status, count in self.statuses.items()},
            "rate_limited": self.rate_limited,
            "dropped": self.dropped,
            "accepted": {key: list(times) for key, times in self.accepted.items()},
        }
