"""The state file: a full round trip, atomic 0600 writes, and damaged files refused whole."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from clubsmtp_async.testing import Emulator, StateFileError, WebhookRecorder

pytestmark = pytest.mark.anyio


def populated(tmp_path: Path) -> Emulator:
    emulator = Emulator(state_file=tmp_path / "state.json", seed=3)
    emulator.create_key("sk_test_" + "c3" * 36, scopes=["GET:/v1/*"], cidrs=["127.0.0.0/8"],
                        requests_per_minute=120, burst=5)
    emulator.webhooks.add_endpoint("http://127.0.0.1:9/hooks", event_types=["mailbox.created"])
    emulator.webhooks.add_endpoint(app=WebhookRecorder())  # in process: not saved
    emulator.seed({"domains": [{"name": "acme.example", "mailboxes": [
        {"local_part": "alice", "password": "s3cret-pw", "whitelist": ["*@ok.example"]},
        {"local_part": "bob", "enabled": False}],
        "aliases": [{"local_part": "info", "forward_to": ["alice", "bob"]}]}]})
    domain = next(iter(emulator.store.domains.values()))
    emulator.set_dns_record(domain.dns_records[2].uuid, status=3, actual_value="v=DKIM1")
    return emulator


def test_round_trip(tmp_path: Path) -> None:
    original = populated(tmp_path)
    path = original.save_state()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "s3cret-pw" not in text  # hashes only
    loaded = Emulator(state_file=path)
    assert loaded.snapshot() == original.snapshot()
    assert [k.to_json() for k in loaded.keys] == [k.to_json() for k in original.keys]
    alice = next(m for m in loaded.store.mailboxes.values() if m.local_part == "alice")
    assert loaded.check_password(alice.uuid, "s3cret-pw")
    (endpoint,) = loaded.webhooks.endpoints
    saved = original.webhooks.endpoints[0]
    assert (endpoint.id, endpoint.url, endpoint.secret, endpoint.event_types) == (
        saved.id, saved.url, saved.secret, saved.event_types)
    # the mailbox.created event for that endpoint waits in its queue
    assert [d.event.type for d in loaded.webhooks.pending_deliveries()] == ["mailbox.created"] * 2
    assert loaded.webhooks.events == []  # loading emits nothing
    # uniqueness and references work on loaded objects
    with pytest.raises(ValueError, match="already exists"):
        loaded.seed({"domains": [{"name": "ACME.example"}]})


def test_saving_leaves_no_temporary_file_and_keeps_the_old_one_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = populated(tmp_path)
    path = emulator.save_state()
    before = path.read_bytes()
    emulator.seed({"domains": [{"name": "new.example"}]})

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        emulator.save_state()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def damaged(tmp_path: Path, edit: Any) -> Path:
    path = populated(tmp_path).save_state()
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.update(version=2), "version 2"),
        (lambda s: s.update(format="other"), "not an emulator state file"),
        (lambda s: s["mailboxes"][0].update(storage_gb="big"), "at `$.mailboxes[0].storage_gb`"),
        (lambda s: s["mailboxes"][0].update(storage_gb=0), "storage_gb"),
        (lambda s: s["mailboxes"][1].update(domain_uuid=s["aliases"][0]["uuid"]), "no domain"),
        (lambda s: s["aliases"][0]["mailbox_uuids"].append(s["domains"][0]["uuid"]),
         "no mailbox"),
        (lambda s: s["mailboxes"][1].update(local_part="alice"), "used twice"),
        (lambda s: s["domains"][0].update(name="not a domain"), "$.domains[0].name"),
        (lambda s: s["domains"][0]["dns_records"].pop(), "six DNS records"),
        (lambda s: s["keys"][0].update(token="secret"), "$.keys[0]"),
        (lambda s: s["keys"][0].update(burst=True), "$.keys[0].burst"),
        (lambda s: s["webhook_endpoints"][0].update(url="ftp://x"), "$.webhook_endpoints[0]"),
        (lambda s: s["pending_deliveries"][0].update(endpoint_id="we_x"), "unknown endpoint"),
        (lambda s: s.update(extra=1), "unknown field"),
        (lambda s: s["mailboxes"][0].update(uuid=s["domains"][0]["uuid"]), "duplicate UUID"),
        (lambda s: s["mailboxes"][0].update(created_at="yesterday"), "created_at"),
    ],
)
def test_a_damaged_file_is_refused_whole(tmp_path: Path, edit: Any, message: str) -> None:
    path = damaged(tmp_path, edit)
    emulator = Emulator()
    emulator.seed({"domains": [{"name": "kept.example"}]})
    before = emulator.snapshot()
    with pytest.raises(StateFileError) as caught:
        emulator.load_state(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)
    assert emulator.snapshot() == before  # nothing half-loaded


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"\xff\xfe", b"null"])
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(StateFileError, match="state"):
        Emulator(state_file=path)


def test_an_unreadable_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="cannot read"):
        Emulator().load_state(tmp_path)  # a directory


def test_a_missing_file_starts_empty_and_running_saves_on_exit(tmp_path: Path) -> None:
    import anyio

    path = tmp_path / "state.json"
    emulator = Emulator(state_file=path)
    assert not path.exists()

    async def main() -> None:
        async with emulator.running():
            emulator.seed({"domains": [{"name": "acme.example"}]})

    anyio.run(main)
    assert Emulator(state_file=path).snapshot() == emulator.snapshot()


async def test_running_saves_after_changes(tmp_path: Path) -> None:
    import anyio

    path = tmp_path / "state.json"
    emulator = Emulator(state_file=path, autosave_interval=0.01)
    async with emulator.running():
        emulator.seed({"domains": [{"name": "acme.example"}]})
        with anyio.fail_after(10):
            while not path.exists():  # bounded wait for the debounced save
                await anyio.sleep(0.01)
        assert Emulator(state_file=path).snapshot() == emulator.snapshot()


def test_save_without_a_path_is_explained() -> None:
    with pytest.raises(ValueError, match="no state file"):
        Emulator().save_state()


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_the_save_on_exit_is_never_overtaken_by_an_autosave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    import threading

    import anyio

    import clubsmtp_async.testing._emulator as module

    started = threading.Event()
    real_write = module.write_atomically

    def slow_first_write(path: Path, data: bytes) -> None:
        if not started.is_set():
            started.set()
            time.sleep(0.3)  # still writing the older snapshot when the block ends
        real_write(path, data)

    monkeypatch.setattr(module, "write_atomically", slow_first_write)
    path = tmp_path / "state.json"
    emulator = Emulator(state_file=path)
    async with emulator.running():
        with anyio.fail_after(10):
            while not started.is_set():  # the autosave's first write is in its thread
                await anyio.sleep(0.005)
        emulator.seed({"domains": [{"name": "acme.example"}]})
    assert Emulator(state_file=path).snapshot() == emulator.snapshot()
