"""The HTTP library this run of the suite uses, and helpers to run a test on each library.

``CLUBSMTP_HTTP_LIBRARY`` (set to ``httpx`` by ``conftest`` when absent) chooses
`LIBRARY`: the SDK's own pools, the emulator's in-process clients and the
fixtures use it. `LIBRARIES` parametrizes a test over every installed library.
"""

from __future__ import annotations

from typing import Any

import pytest

from clubsmtp_async._http import default_library, installed_libraries

__all__ = ["HTTPX_ONLY", "HTTPX_ONLY_REASON", "LIBRARIES", "LIBRARY", "lib"]

LIBRARY = default_library()
"""The library of this run."""

lib: Any = LIBRARY.module
"""Its module (``httpx`` or ``httpx2``), for tests that build clients, responses or errors."""

HTTPX_ONLY_REASON = "httpx only (respx, httpx-aiohttp): covered by the run under httpx"
HTTPX_ONLY = pytest.mark.skipif(LIBRARY.name != "httpx", reason=HTTPX_ONLY_REASON)
"""Marks a test of what only httpx has, skipped when the run uses httpx2."""

LIBRARIES = pytest.mark.parametrize(
    "library", [pytest.param(x.module, id=x.name) for x in installed_libraries()]
)
"""Runs a test once per installed library, its module as argument ``library``."""
