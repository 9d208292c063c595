"""UUIDv7-style identifiers: random by default, reproducible from a seed."""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import datetime

__all__ = ["UuidFactory"]


class UuidFactory:
    """Makes UUIDv7 strings: a 48-bit millisecond timestamp, then random bits.

    Args:
        seed: With a seed the random bits come from ``random.Random(seed)``, so
            the same sequence of calls (at the same timestamps, e.g. under a
            `FakeClock`) yields the same identifiers. Without one they come
            from `secrets`.

    """

    def __init__(self, seed: int | str | None = None) -> None:
        self._rng = None if seed is None else random.Random(f"uuid:{seed}")  # noqa: S311

    def _bits(self, count: int) -> int:
        if self._rng is None:
            return secrets.randbits(count)
        return self._rng.getrandbits(count)

    def new(self, at: datetime) -> str:
        """A new identifier whose time prefix is `at`.

        Args:
            at: A timezone-aware time for the 48-bit millisecond prefix.

        """
        millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
        value = (millis << 80) | (0x7 << 76) | (self._bits(12) << 64)
        value |= (0b10 << 62) | self._bits(62)
        return str(uuid.UUID(int=value))
