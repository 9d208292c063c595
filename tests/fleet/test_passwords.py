"""Generated passwords in a fleet: per-attempt 0600 files, fenced by the lease, read back right."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from clubsmtp_fleet.lease import LeaseLost, TenantLease, lease_key
from clubsmtp_fleet.passwords import (
    AttemptPasswords,
    attempt_files,
    password_file_path,
    read_passwords,
)
from redis.asyncio import Redis

from clubsmtp_async.onboarding import PasswordFile, PasswordStatus


def write(directory: Path, tenant: str, attempt: int,
          lines: list[tuple[str, str, PasswordStatus]]) -> None:
    directory.mkdir(exist_ok=True)
    with PasswordFile(password_file_path(directory, tenant, attempt)) as passwords:
        for address, password, status in lines:
            passwords.write(address, password, status)


def test_the_latest_attempt_wins_and_an_unused_password_lets_the_earlier_line_stand(
    tmp_path: Path,
) -> None:
    write(tmp_path, "acme", 1, [("a@acme.example", "first-a", "pending"),
                                ("b@acme.example", "first-b", "pending")])
    write(tmp_path, "acme", 2, [("b@acme.example", "second-b", "pending"),
                                ("b@acme.example", "second-b", "created"),
                                ("c@acme.example", "second-c", "pending"),
                                ("a@acme.example", "second-a", "pending"),
                                ("a@acme.example", "second-a", "not-created")])
    write(tmp_path, "acme", 10, [("c@acme.example", "tenth-c", "created")])  # numeric order
    write(tmp_path, "acme.eu", 3, [("a@acme.example", "other-tenant", "created")])
    (tmp_path / "acme.notes.csv").write_text("address,password\na@acme.example,nope\n")
    assert [p.name for p in attempt_files(tmp_path, "acme")] == [
        "acme.000001.csv", "acme.000002.csv", "acme.000010.csv"]
    assert read_passwords(tmp_path, "acme") == {
        "a@acme.example": "first-a",  # attempt 2's was never used
        "b@acme.example": "second-b",
        "c@acme.example": "tenth-c",
    }
    assert read_passwords(tmp_path, "acme.eu") == {"a@acme.example": "other-tenant"}
    assert read_passwords(tmp_path / "absent", "acme") == {}


def test_attempt_numbers_past_six_digits_still_sort(tmp_path: Path) -> None:
    write(tmp_path, "acme", 999_999, [("a@acme.example", "old", "created")])
    write(tmp_path, "acme", 1_000_000, [("a@acme.example", "new", "created")])
    assert read_passwords(tmp_path, "acme") == {"a@acme.example": "new"}


@pytest_asyncio.fixture
async def lease(redis_url: str, queue_name: str) -> AsyncIterator[TenantLease]:
    client = Redis.from_url(redis_url)
    taken = TenantLease(client, queue_name, "acme", ttl=30)
    await taken.acquire()
    yield taken
    await taken.release()
    await client.aclose()


@pytest.mark.redis
@pytest.mark.asyncio
async def test_an_attempt_writes_a_0600_file_only_once_it_has_a_password(
    tmp_path: Path, lease: TenantLease
) -> None:
    directory = tmp_path / "secrets"
    with AttemptPasswords(directory, "acme", lease) as passwords:
        assert passwords.path == directory / "acme.000001.csv"
        assert not directory.exists()  # nothing generated, nothing written
        await passwords("a@acme.example", "pw-a", "pending")
        await passwords("a@acme.example", "pw-a", "created")
        await passwords("b@acme.example", "pw-b", "pending")
        await passwords("b@acme.example", "pw-b", "not-created")
        assert passwords.written == ["a@acme.example", "b@acme.example"]
    assert os.stat(directory).st_mode & 0o777 == 0o700
    assert os.stat(passwords.path).st_mode & 0o777 == 0o600
    assert read_passwords(directory, "acme") == {"a@acme.example": "pw-a"}


@pytest.mark.redis
@pytest.mark.asyncio
async def test_no_password_is_written_once_the_lease_is_lost(
    tmp_path: Path, lease: TenantLease, redis_url: str, queue_name: str
) -> None:
    with AttemptPasswords(tmp_path, "acme", lease) as passwords:
        await passwords("a@acme.example", "pw-a", "pending")
        client = Redis.from_url(redis_url)
        await client.set(lease_key(queue_name, "acme"), "elsewhere:1:token")  # taken over
        await client.aclose()
        with pytest.raises(LeaseLost):
            await passwords("b@acme.example", "pw-b", "pending")
    assert PasswordFile.read(passwords.path) == {"a@acme.example": "pw-a"}


@pytest.mark.redis
@pytest.mark.asyncio
async def test_the_lease_must_be_taken_first(tmp_path: Path, redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    with pytest.raises(ValueError, match="acquire the lease"):
        AttemptPasswords(tmp_path, "acme", TenantLease(client, "q", "acme", ttl=5))
    await client.aclose()
