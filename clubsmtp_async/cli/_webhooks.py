"""``clubsmtp webhooks send``: POST one realistic, signed event to a receiver under test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import typer

from ._app import app
from ._usage import OneLineErrors, fail

if TYPE_CHECKING:
    from clubsmtp_async.testing import SendResult

__all__ = ["send", "webhooks_app"]

webhooks_app = typer.Typer(name="webhooks", help="Test webhook receivers.", no_args_is_help=True)
app.add_typer(webhooks_app)


def _load_data(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror or exc}",
                                 param_hint="--data") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{path} is not JSON: {exc}", param_hint="--data") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} must hold a JSON object (the event's data.object)",
                                 param_hint="--data")
    return data


def _render(result: SendResult, event_type: str) -> None:
    where = f"{event_type} {result.webhook_id} -> {result.url}"
    if result.status_code is None:
        fail(f"{where}: no answer ({result.error})", 1)
    typer.echo(f"{where}: HTTP {result.status_code} in {result.elapsed * 1000:.0f} ms")
    if result.body_excerpt.strip():
        typer.echo(result.body_excerpt.rstrip())
    if not result.ok:
        raise typer.Exit(1)


@webhooks_app.command(cls=OneLineErrors)
def send(
    to: Annotated[str, typer.Option("--to", help="The receiver's URL.")],
    secret: Annotated[str, typer.Option(
        "--secret", help="The whsec_ secret the receiver verifies with.",
        envvar="CLUBSMTP_WEBHOOK_SECRET")],
    event_type: Annotated[str, typer.Option(
        "--type", help="The event type, e.g. mailbox.created.")],
    data: Annotated[Path | None, typer.Option(
        "--data", help="A JSON file with the data.object to send (default: a sample).",
        dir_okay=False)] = None,
    timeout: Annotated[float, typer.Option(
        help="Seconds to wait for the answer.", min=0.1, max=600)] = 10.0,
) -> None:
    """Send one signed event to a webhook receiver; exit 1 unless it answers 2xx."""
    from clubsmtp_async.testing import send_webhook

    payload = _load_data(data)
    try:
        result = anyio.run(lambda: send_webhook(to, secret, event_type, data=payload,
                                                timeout=timeout))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _render(result, event_type)
