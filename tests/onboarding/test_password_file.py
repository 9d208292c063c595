"""Generated passwords on disk: written before the create, never hidden by an unused one."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from clubsmtp_async import ValidationError
from clubsmtp_async.onboarding import (
    OnboardingError,
    PasswordFile,
    Plan,
    apply,
    parse_tenant,
    plan,
)
from clubsmtp_async.testing import ErrorAfter

from .conftest import fast_emulator

pytestmark = pytest.mark.anyio

TENANT = "".join(['[[domains]]\nname = "pw.example"\n'] + [
    f'[[domains.mailboxes]]\nlocal_part = "u{i}"\n' for i in range(6)])


def uuids(emulator: Any) -> dict[str, str]:
    return {m["address"]: m["uuid"] for m in emulator.snapshot()["mailboxes"]}


def all_real(emulator: Any, path: Path) -> bool:
    ids = uuids(emulator)
    written = PasswordFile.read(path)
    return set(written) == set(ids) and all(
        emulator.check_password(ids[a], p) for a, p in written.items())


def test_the_file_is_created_0600_only_when_a_password_comes(tmp_path: Path) -> None:
    path = tmp_path / "pw.csv"
    sink = PasswordFile(path)
    assert not path.exists()
    sink.write("a@x.example", "p1", "pending")
    sink.write("a@x.example", "p1", "created")
    sink.write("b@x.example", "p2", "pending")
    sink.write("b@x.example", "p2", "not-created")
    sink.close()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert path.read_text().splitlines()[0] == "address,password,status"
    assert PasswordFile.read(path) == {"a@x.example": "p1"}
    with pytest.raises(ValidationError, match=r"folder .* does not exist"):
        PasswordFile(tmp_path / "missing" / "pw.csv")
    (tmp_path / "link.csv").symlink_to(path)
    with pytest.raises(ValidationError, match="is a symbolic link"):
        PasswordFile(tmp_path / "link.csv")
    path.chmod(0o644)
    with pytest.raises(ValidationError, match="can be read by others"):
        PasswordFile(path)


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def one_byte_at_a_time(fd: int, data: bytes) -> int:
        return real_write(fd, data[:1])

    monkeypatch.setattr(os, "write", one_byte_at_a_time)
    with PasswordFile(tmp_path / "pw.csv") as sink:
        sink.write("a@x.example", "a-long-generated-password", "pending")
    monkeypatch.undo()
    assert PasswordFile.read(tmp_path / "pw.csv") == {"a@x.example": "a-long-generated-password"}


async def test_a_password_that_cannot_be_written_is_never_sent(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    emulator = fast_emulator()
    real_write = os.write
    calls = [0]

    def disk_full_after_three_lines(fd: int, data: bytes) -> int:
        calls[0] += 1
        if calls[0] > 3:  # the header, then two passwords
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", disk_full_after_three_lines)
    async with emulator.client(requests_per_minute=None) as client:
        with PasswordFile(tmp_path / "pw.csv") as sink:
            report = await apply(client, parse_tenant(TENANT, "toml"), on_password=sink,
                                 concurrency=1)
    monkeypatch.undo()
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert failed
    assert all(isinstance(o.error, OnboardingError) for o in failed)
    assert "No space left on device" in str(failed[0].error)
    # Every mailbox that exists has its password on disk; none was created without one.
    assert all_real(emulator, tmp_path / "pw.csv") or set(uuids(emulator)) <= set(
        PasswordFile.read(tmp_path / "pw.csv"))
    for address, password in PasswordFile.read(tmp_path / "pw.csv").items():
        if address in uuids(emulator):
            assert emulator.check_password(uuids(emulator)[address], password)


async def test_a_saved_plan_applied_twice_keeps_the_real_passwords(tmp_path: Path) -> None:
    emulator = fast_emulator()
    path = tmp_path / "pw.csv"
    async with emulator.client(requests_per_minute=None) as client:
        saved = Plan.from_json((await plan(client, parse_tenant(TENANT, "toml"))).to_json())
        for _ in range(2):  # the second time, every create finds its mailbox
            with PasswordFile(path) as sink:
                await apply(client, saved, on_password=sink)
    assert all_real(emulator, path)


async def test_concurrent_applies_of_one_tenant_keep_the_real_passwords(tmp_path: Path) -> None:
    import anyio

    emulator = fast_emulator()
    spec = parse_tenant(TENANT, "toml")
    async with emulator.client(requests_per_minute=None) as client, \
            anyio.create_task_group() as tg:
        for name in ("a.csv", "b.csv"):
            tg.start_soon(lambda n=name: _apply_into(client, spec, tmp_path / n))
    ids = uuids(emulator)
    merged = {**PasswordFile.read(tmp_path / "a.csv"), **PasswordFile.read(tmp_path / "b.csv")}
    assert set(merged) == set(ids)
    assert all(emulator.check_password(ids[a], p) for a, p in merged.items())
    a, b = PasswordFile.read(tmp_path / "a.csv"), PasswordFile.read(tmp_path / "b.csv")
    assert not set(a) & set(b)  # each mailbox was created by exactly one of them


async def _apply_into(client: Any, spec: Any, path: Path) -> None:
    with PasswordFile(path) as sink:
        await apply(client, spec, on_password=sink)


async def test_an_unanswered_create_keeps_its_password_as_pending(tmp_path: Path) -> None:
    emulator = fast_emulator()
    tenant = '[[domains]]\nname = "pw.example"\n[[domains.mailboxes]]\nlocal_part = "solo"\n'

    def then_fail(address: str, password: str, status: Any) -> None:
        sink.write(address, password, status)
        if status == "pending":  # planned already: the create succeeds on the server,
            # its answer is a 500, and so is every look-up after it.
            emulator.faults.add("POST", "/v1/mailboxes", ErrorAfter(), times=1)
            emulator.faults.add("GET", "/v1/mailboxes", ErrorAfter())

    async with emulator.client(requests_per_minute=None, max_retries=0) as client:
        with PasswordFile(tmp_path / "pw.csv") as sink:
            report = await apply(client, parse_tenant(tenant, "toml"), on_password=then_fail)
    emulator.faults.clear()
    assert report.counts["failed"] == 1
    (address,) = report.passwords
    assert report.passwords.status(address) == "pending"
    assert report.to_json(include_passwords=True)["passwords"][0]["status"] == "pending"
    assert emulator.check_password(uuids(emulator)[address], report.passwords.get(address) or "")
    assert all_real(emulator, tmp_path / "pw.csv")


def test_several_files_read_as_one(tmp_path: Path) -> None:
    with PasswordFile(tmp_path / "1.csv") as first:
        first.write("a@x.example", "old", "pending")  # killed: outcome unknown
    with PasswordFile(tmp_path / "2.csv") as second:
        second.write("a@x.example", "new", "pending")
        second.write("a@x.example", "new", "not-created")  # the old one had worked
        second.write("b@x.example", "b1", "pending")
        second.write("b@x.example", "b1", "created")
    assert PasswordFile.read(tmp_path / "1.csv", tmp_path / "2.csv") == {
        "a@x.example": "old", "b@x.example": "b1"}
