"""The producer: validation before anything is enqueued, one job per tenant, results collected."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import pytest_asyncio
from clubsmtp_fleet.config import FleetConfig
from clubsmtp_fleet.producer import (
    ABORTED_GRACE,
    InputError,
    JobWatch,
    collect,
    enqueue,
    estimate,
    job_key,
    load_tenants,
    main,
    result_of,
)
from clubsmtp_fleet.tasks import TASK, make_queue
from saq import Queue
from saq.job import Job, Status

from clubsmtp_async.onboarding import parse_tenant

from .conftest import tenant_toml, write_tenants

GOOD = tenant_toml("acme", 2)


def test_valid_files_become_jobs_of_normalised_json(tmp_path: Path) -> None:
    (tmp_path / "beta.csv").write_text("address,storage_gb\nBob@Beta.Example,5\n")
    paths = [*write_tenants(tmp_path, {"acme": 2}), tmp_path / "beta.csv"]
    jobs = load_tenants(paths)
    assert [job.name for job in jobs] == ["acme", "beta"]
    assert parse_tenant(jobs[0].spec, "json") == parse_tenant(GOOD, "toml")
    beta = json.loads(jobs[1].spec)
    assert beta["domains"][0]["name"] == "beta.example"
    assert beta["domains"][0]["mailboxes"][0]["local_part"] == "bob"


def test_the_example_tenants_are_valid() -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "fleet" / "tenants"
    jobs = load_tenants(sorted(folder.iterdir()))
    assert [job.name for job in jobs] == ["acme", "globex", "initech"]


def test_the_estimate_counts_a_fresh_account_s_requests_at_the_key_s_rate(
    tmp_path: Path,
) -> None:
    write_tenants(tmp_path, {"acme": 3, "beta": 40})
    (tmp_path / "gamma.toml").write_text(
        '[[domains]]\nname = "gamma.example"\n[[domains.mailboxes]]\nlocal_part = "a"\n'
        'enabled = false\nblacklist = ["*@x.example", "*@y.example"]\n')
    jobs = load_tenants([tmp_path / "acme.toml", tmp_path / "beta.toml",
                         tmp_path / "gamma.toml"])
    # 3 reads + domain + mailboxes + u0's whitelist entry + alias; gamma: + suspend + 2 entries
    assert [job.requests for job in jobs] == [3 + 1 + 3 + 1 + 1, 3 + 1 + 40 + 1 + 1,
                                              3 + 1 + 1 + 1 + 2]
    assert estimate(jobs[:1], 60) == ("about 9 requests on a fresh account: at least 9 s at "
                                      "the key's 60 requests/min, however many workers")
    assert estimate(jobs, 60).startswith("about 63 requests on a fresh account: at least 63 s")
    assert "at least 2 min at the key's 30 requests/min" in estimate(jobs, 30)


def test_every_bad_file_is_named_at_once(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "acme.toml").write_text(GOOD)
    (tmp_path / "acme.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text('[[domains]]\nname = "x.example"\nquota = 1\n')
    (tmp_path / "bad name!.toml").write_text(GOOD)
    with pytest.raises(InputError) as raised:
        load_tenants([tmp_path / "one" / "acme.toml", tmp_path / "acme.toml",
                      tmp_path / "broken.toml", tmp_path / "bad name!.toml",
                      tmp_path / "missing.toml"])
    lines = str(raised.value).splitlines()
    assert len(lines) == 4
    assert lines[0] == (f"{tmp_path / 'acme.toml'}: another file, "
                        f"{tmp_path / 'one' / 'acme.toml'}, names tenant acme")
    assert lines[1].startswith(f"{tmp_path / 'broken.toml'}: domains[0]: unknown key 'quota'")
    assert "the tenant's name is the file's stem" in lines[2]
    assert lines[3].startswith(f"{tmp_path / 'missing.toml'}: cannot read it")


def test_bad_input_enqueues_nothing_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 1: had the producer tried to enqueue, it would fail otherwise.
    monkeypatch.setenv("FLEET_REDIS_URL", "redis://127.0.0.1:1/0")
    (tmp_path / "broken.toml").write_text("[[domains]\n")
    assert main([str(tmp_path / "broken.toml")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {tmp_path / 'broken.toml'}: not valid TOML")
    monkeypatch.setenv("FLEET_HEARTBEAT", "soon")
    assert main([str(tmp_path / "broken.toml")]) == 2
    assert "FLEET_HEARTBEAT must be a whole number" in capsys.readouterr().err


def job(status: Status, *, attempts: int = 1, retries: int = 3, **kwargs: Any) -> Job:
    return Job(TASK, key=job_key("acme"), status=status, attempts=attempts, retries=retries,
               **kwargs)


def test_results_of_finished_missing_and_failed_jobs() -> None:
    done = job(Status.COMPLETE, result={"tenant": "acme", "ok": True, "counts": {}})
    assert result_of(job_key("acme"), done) == {"tenant": "acme", "ok": True, "counts": {},
                                                "status": "complete", "attempts": 1}
    failed = job(Status.FAILED, attempts=3,
                 error="Traceback (most recent call last):\n  ...\nServerError: busy\n")
    assert result_of(job_key("acme"), failed) == {
        "tenant": "acme", "ok": False, "status": "failed", "attempts": 3,
        "error": {"type": "JobFailed", "message": "ServerError: busy"}}
    missing = result_of(job_key("acme"), None)
    assert (missing["ok"], missing["status"]) == (False, "missing")


def test_an_aborted_job_that_may_be_retried_is_final_only_after_the_grace() -> None:
    now = [100.0]
    watch = JobWatch(clock=lambda: now[0])
    key = job_key("acme")
    assert not watch.final(key, job(Status.ACTIVE))
    assert not watch.final(key, job(Status.ABORTED))  # a sweep may re-queue it
    now[0] += ABORTED_GRACE - 0.1
    assert not watch.final(key, job(Status.ABORTED))
    now[0] += 0.1
    assert watch.final(key, job(Status.ABORTED))
    assert watch.final(key, job(Status.ABORTED, attempts=3, retries=3))  # no attempt left
    assert watch.final(key, job(Status.COMPLETE))
    assert watch.final(key, job(Status.FAILED))
    assert watch.final(key, None)


@pytest_asyncio.fixture
async def queue(redis_url: str, queue_name: str) -> AsyncIterator[Queue]:
    q = make_queue(FleetConfig(redis_url=redis_url, queue=queue_name))
    await q.connect()
    yield q
    await q.disconnect()


@pytest.mark.redis
@pytest.mark.asyncio
async def test_a_tenant_pending_already_is_not_enqueued_twice(
    queue: Queue, tmp_path: Path
) -> None:
    tenants = load_tenants(write_tenants(tmp_path, {"acme": 2, "beta": 2}))
    config = FleetConfig(heartbeat=7, attempts=4, result_ttl=99)
    said: list[str] = []
    assert await enqueue(queue, tenants, config, echo=said.append) == [
        "tenant:acme", "tenant:beta"]
    assert await enqueue(queue, tenants[:1], config, echo=said.append) == ["tenant:acme"]
    assert said == ["acme: already queued or running, not enqueued again"]
    assert await queue.count("queued") == 2
    stored = await queue.job("tenant:acme")
    assert stored is not None
    assert (stored.function, stored.timeout, stored.heartbeat, stored.retries, stored.ttl) == (
        TASK, 0, 7, 4, 99)
    assert stored.kwargs == {"tenant": "acme", "spec": tenants[0].spec}


@pytest.mark.redis
@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_results_are_collected_as_jobs_finish(queue: Queue, tmp_path: Path) -> None:
    tenants = load_tenants(write_tenants(tmp_path, {"acme": 2, "beta": 2, "gamma": 2}))
    keys = await enqueue(queue, tenants, FleetConfig())
    results: list[dict[str, Any]] = []
    async with anyio.create_task_group() as tg:
        async def run() -> None:
            assert await collect(queue, keys, max_wait=20, on_result=results.append,
                                 poll=1.0) == 0

        tg.start_soon(run)
        for finished in (1, 2):  # each result arrives as soon as its job finishes
            running = await queue.dequeue(timeout=5)
            assert running is not None
            assert running.kwargs is not None
            await running.finish(Status.COMPLETE, result={"tenant": running.kwargs["tenant"],
                                                          "ok": True})
            with anyio.fail_after(10):
                while len(results) < finished:
                    await anyio.sleep(0.01)
        await queue.redis.delete(queue.job_id("tenant:gamma"))  # expired, say
    assert [(r["tenant"], r["status"]) for r in results] == [
        ("acme", "complete"), ("beta", "complete"), ("gamma", "missing")]


@pytest.mark.redis
@pytest.mark.asyncio
async def test_collect_gives_up_after_max_wait(queue: Queue, tmp_path: Path) -> None:
    keys = await enqueue(queue, load_tenants(write_tenants(tmp_path, {"acme": 2})),
                         FleetConfig())
    results: list[dict[str, Any]] = []
    with anyio.fail_after(10):
        assert await collect(queue, keys, max_wait=0.3, on_result=results.append) == 1
    assert results == []
