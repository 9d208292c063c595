"""``clubsmtp webhooks send`` (a real subprocess) and `send_webhook` against real receivers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from clubsmtp_async.testing import WebhookRecorder, send_webhook
from clubsmtp_async.webhooks import MailboxCreated, verify

from .receivers import serve_app

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


async def clubsmtp(*args: str) -> tuple[int, str, str]:
    command = [sys.executable, "-c", "from clubsmtp_async.cli import main; main()", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with anyio.fail_after(60):
        result = await anyio.run_process(command, env=env, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


@pytest.mark.slow
async def test_sends_a_verified_event(tmp_path: Path) -> None:
    recorder = WebhookRecorder()
    async with serve_app(recorder) as url:
        code, out, err = await clubsmtp("webhooks", "send", "--to", f"{url}/hooks", "--secret",
                                        recorder.secret, "--type", "mailbox.created")
    assert (code, err) == (0, "")
    (event,) = recorder.events
    assert isinstance(event, MailboxCreated)
    assert f"mailbox.created {event.id} -> {url}/hooks: HTTP 204" in out


@pytest.mark.slow
async def test_data_file_and_a_failing_receiver(tmp_path: Path) -> None:
    recorder = WebhookRecorder()
    recorder.fail_next(1, status=503)
    data = tmp_path / "invite.json"
    data.write_text(json.dumps({"uuid": "inv_1", "email": "x@example.com"}))
    async with serve_app(recorder) as url:
        code, out, _ = await clubsmtp("webhooks", "send", "--to", url, "--secret",
                                      recorder.secret, "--type", "invite.created",
                                      "--data", str(data))
        assert code == 1
        assert "HTTP 503" in out
        assert "failing on purpose" in out
        code, _, _ = await clubsmtp("webhooks", "send", "--to", url, "--secret",
                                    recorder.secret, "--type", "invite.created",
                                    "--data", str(data))
    assert code == 0
    assert recorder.events[0].data.object == {"uuid": "inv_1", "email": "x@example.com"}


@pytest.mark.slow
async def test_wrong_secret_is_the_receivers_400() -> None:
    recorder = WebhookRecorder()
    async with serve_app(recorder) as url:
        code, out, _ = await clubsmtp("webhooks", "send", "--to", url, "--secret",
                                      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                      "--type", "domain.created")
    assert code == 1
    assert "HTTP 400" in out
    assert "no webhook-signature entry matches" in out
    assert recorder.rejected == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--type", "mailbox.exploded"], 2, "unknown event type"),
        (["--type", "domain.created", "--data", "/nonexistent.json"], 2, "cannot read"),
        (["--type", "domain.created", "--to", "http://127.0.0.1:9/"], 1, "no answer"),
        (["--type", "domain.created", "--secret", "no pe!"], 2, "whsec_"),
    ],
)
async def test_errors_are_one_line(args: list[str], code: int, message: str) -> None:
    base = {"--to": "http://127.0.0.1:9/", "--secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    given = dict(zip(args[::2], args[1::2], strict=False))
    merged = [part for key, value in {**base, **given}.items() for part in (key, value)]
    returncode, _, err = await clubsmtp("webhooks", "send", *merged)
    assert returncode == code
    assert len(err.strip().splitlines()) == 1
    assert message in err


async def test_send_webhook_in_process() -> None:
    import httpx

    recorder = WebhookRecorder()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=recorder)) as http:
        result = await send_webhook("http://receiver/", recorder.secret, "alias.deleted",
                                    http_client=http)
    assert result.ok
    assert result.status_code == 204
    (item,) = recorder.received
    verify(item.body, item.headers, recorder.secret)
    assert item.headers["webhook-id"] == result.webhook_id == result.event["id"]


@pytest.mark.parametrize(
    ("url", "secret", "event_type", "data", "message"),
    [
        ("http://x/", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "nope", None, "unknown event"),
        ("ftp://x/", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "invite.created", None, "URL"),
        ("http://x/", "!!", "invite.created", None, "whsec_"),
        ("http://x/", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "invite.created", [1], "object"),
    ],
)
async def test_send_webhook_refuses(url: str, secret: str, event_type: str, data: object,
                                    message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await send_webhook(url, secret, event_type, data=data)  # type: ignore[arg-type]
