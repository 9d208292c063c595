"""Shared helpers of the onboarding tests: tenant files and an emulator to apply them to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clubsmtp_async.testing import Emulator

TENANT_TOML = """\
[[domains]]
name = "Acme.Example"

  [[domains.mailboxes]]
  local_part = "alice"
  storage_gb = 20
  whitelist = ["*@trusted.example"]
  blacklist = ["*@spam.example"]

  [[domains.mailboxes]]
  local_part = "bob"
  enabled = false
  password = { env = "BOB_PASSWORD" }

  [[domains.mailboxes]]
  local_part = "carol"
  password = { file = "secrets/carol.txt" }
  whitelist = []

  [[domains.aliases]]
  local_part = "info"
  forward_to = ["alice", "bob"]

[[domains]]
name = "beta.example"

  [[domains.mailboxes]]
  local_part = "dave"
  storage_gb = 5

  [[domains.aliases]]
  local_part = "team"
  forward_to = ["dave"]
"""

ENV = {"BOB_PASSWORD": "B0b-the-Passw0rd"}
CAROL_PASSWORD = "Car0l-file-Passw0rd"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tenant_dir(tmp_path: Path) -> Path:
    """A folder holding tenant.toml and the password file it names."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "carol.txt").write_text(CAROL_PASSWORD + "\n")
    (tmp_path / "tenant.toml").write_text(TENANT_TOML)
    return tmp_path


def fast_emulator(**kwargs: Any) -> Emulator:
    """An emulator whose rate limit never gets in the way (unless overridden)."""
    kwargs.setdefault("requests_per_minute", 600_000)
    kwargs.setdefault("burst", 10_000)
    kwargs.setdefault("seed", 1)
    return Emulator(**kwargs)


def account_state(emulator: Emulator) -> dict[str, Any]:
    """The emulator's objects as comparable values (no UUIDs or timestamps)."""
    snapshot = emulator.snapshot()
    return {
        "domains": sorted(d["name"] for d in snapshot["domains"]),
        "mailboxes": {
            m["address"]: (m["storage_gb"], m["enabled"],
                           sorted(e["pattern"] for e in m["whitelist"]),
                           sorted(e["pattern"] for e in m["blacklist"]))
            for m in snapshot["mailboxes"]
        },
        "aliases": {
            a["address"]: sorted(t["address"] for t in a["forwarding_to"])
            for a in snapshot["aliases"]
        },
    }


EXPECTED_STATE = {
    "domains": ["acme.example", "beta.example"],
    "mailboxes": {
        "alice@acme.example": (20, True, ["*@trusted.example"], ["*@spam.example"]),
        "bob@acme.example": (10, False, [], []),
        "carol@acme.example": (10, True, [], []),
        "dave@beta.example": (5, True, [], []),
    },
    "aliases": {
        "info@acme.example": ["alice@acme.example", "bob@acme.example"],
        "team@beta.example": ["dave@beta.example"],
    },
}
"""`account_state` after applying TENANT_TOML to an empty account."""
