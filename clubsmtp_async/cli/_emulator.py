"""``clubsmtp emulator``: serve a local ClubSMTP API over HTTP(S) until stopped."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import typer

from ._app import app

if TYPE_CHECKING:
    from clubsmtp_async.testing import Emulator

__all__ = ["emulator"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _check_host(host: str, allow_remote: bool) -> None:
    from clubsmtp_async.testing import is_loopback

    if allow_remote or host == "localhost" or is_loopback(host):
        return
    raise typer.BadParameter(
        f"{host} is not a loopback address; pass --allow-remote to listen on it anyway",
        param_hint="--host",
    )


class _StopSignals:
    """SIGINT/SIGTERM handling around uvicorn.

    While uvicorn serves, its own handlers take the signal and shut down
    gracefully; afterwards it re-raises the signal against the handler it
    found, which is this one: by then the server is stopping anyway, so it is
    ignored and the command ends normally. Before the server runs, a signal
    interrupts like Ctrl+C.
    """

    def __init__(self) -> None:
        self.serving = False

    def install(self) -> dict[int, Any]:
        """Install the handler; return the previous handlers to restore."""
        return {signum: signal.signal(signum, self.handle) for signum in _SIGNALS}

    def handle(self, signum: int, frame: object) -> None:
        """Interrupt unless uvicorn is (or was) serving."""
        if not self.serving:
            raise KeyboardInterrupt


async def _serve_forever(
    emulator: Emulator, host: str, port: int, tls: bool, cert_dir: Path | None,
    signals: _StopSignals,
) -> None:
    from clubsmtp_async.testing import serve

    async with serve(emulator, host=host, port=port, tls=tls, cert_dir=cert_dir) as server:
        typer.echo("ClubSMTP emulator running (Ctrl+C to stop)")
        typer.echo(f"URL: {server.base_url}")
        for key in emulator.keys:
            typer.echo(f"API key: {key.token}")
        if server.ca_cert_path is not None:
            typer.echo(f"CA certificate: {server.ca_cert_path}")
        signals.serving = True
        await server.wait_stopped()


def _make_emulator(keys: list[str], rpm: float, admin_token: str | None) -> Emulator:
    from clubsmtp_async.testing import Emulator

    emulator = Emulator(requests_per_minute=rpm, admin_token=admin_token)
    try:
        for token in keys:
            emulator.create_key(token)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--api-key") from exc
    return emulator


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8025,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            help="A key to accept (scope *:*); repeatable. One is generated if none is given.",
        ),
    ] = None,
    requests_per_minute: Annotated[
        float, typer.Option(help="Rate limit of every key.", min=0.001)
    ] = 60.0,
    tls: Annotated[bool, typer.Option(help="Serve HTTPS with a throw-away CA.")] = False,
    cert_dir: Annotated[
        Path | None,
        typer.Option(help="Where --tls writes ca.pem (default: a temporary directory)."),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(help="Require this X-ClubSMTP-Admin-Token on /_admin (else: loopback only)."),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option(help="Allow a non-loopback --host (plain HTTP stays loopback-only).")
    ] = False,
) -> None:
    """Run a local ClubSMTP API emulator until Ctrl+C or SIGTERM."""
    _check_host(host, allow_remote)
    from clubsmtp_async.testing import generate_key

    emulator = _make_emulator(list(api_key or [generate_key()]), requests_per_minute, admin_token)
    if cert_dir is not None:
        cert_dir.mkdir(parents=True, exist_ok=True)
    signals = _StopSignals()
    previous = signals.install()
    try:
        anyio.run(_serve_forever, emulator, host, port, tls, cert_dir, signals)
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    typer.echo("ClubSMTP emulator stopped")
