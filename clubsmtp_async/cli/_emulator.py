"""``clubsmtp emulator``: serve a local ClubSMTP API over HTTP(S) until stopped.

Every problem the user can fix (a bad flag value, a port in use, a damaged
state file) is one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import errno
import logging
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import typer

from ._app import app
from ._usage import OneLineErrors, fail

if TYPE_CHECKING:
    from clubsmtp_async.testing import DeliverySettings, Emulator

__all__ = ["emulator"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class FaultKind(str, Enum):
    """What an injected fault does (see the emulator docs)."""

    error_before = "error-before"
    error_after = "error-after"
    drop = "drop"
    drop_before = "drop-before"
    rate_limit = "rate-limit"


class LogLevel(str, Enum):
    """How much the emulator logs on stderr."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


def _check_host(host: str, allow_remote: bool) -> None:
    from clubsmtp_async.testing import is_loopback

    if allow_remote or host == "localhost" or is_loopback(host):
        return
    raise typer.BadParameter(
        f"{host} is not a loopback address; pass --allow-remote to listen on it anyway",
        param_hint="--host",
    )


def _retry_delays(text: str) -> DeliverySettings:
    from clubsmtp_async.testing import DeliverySettings

    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
        return DeliverySettings(retry_delays=delays)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{exc} (expected seconds separated by commas, e.g. 0.5,1,2)",
            param_hint="--webhook-retry-delays",
        ) from None


class _StopSignals:
    """SIGINT/SIGTERM handling around uvicorn.

    While uvicorn serves, its own handlers take the signal and shut down
    gracefully (the app's lifespan then stops webhook delivery and saves the
    state file); afterwards it re-raises the signal against the handler it
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


def _print_tls_help(ca: Path) -> None:
    typer.echo(f"CA certificate: {ca}")
    typer.echo(f"  trust it with: SSL_CERT_FILE={ca} (httpx, requests, curl and most clients)")
    typer.echo("  or in Python:  httpx.AsyncClient("
               f"verify=ssl.create_default_context(cafile='{ca}'))")


async def _serve_forever(
    emulator: Emulator, host: str, port: int, tls: bool, cert_dir: Path | None,
    log_level: str, signals: _StopSignals,
) -> None:
    from clubsmtp_async.testing import serve

    async with serve(emulator, host=host, port=port, tls=tls, cert_dir=cert_dir,
                     log_level=log_level) as server:
        typer.echo("ClubSMTP emulator running (Ctrl+C to stop)")
        typer.echo(f"URL: {server.base_url}")
        for key in emulator.keys:
            typer.echo(f"API key: {key.token}")
        if server.ca_cert_path is not None:
            _print_tls_help(server.ca_cert_path)
        if emulator.state_file is not None:
            typer.echo(f"State file: {emulator.state_file}")
        signals.serving = True
        await server.wait_stopped()


def _make_emulator(options: dict[str, Any]) -> Emulator:
    from clubsmtp_async.testing import Emulator, StateFileError, generate_key

    try:
        emulator = Emulator(
            requests_per_minute=options["requests_per_minute"], burst=options["burst"],
            admin_token=options["admin_token"], webhook_settings=options["webhook_settings"],
            allow_cross_domain_aliases=options["allow_cross_domain_aliases"],
            state_file=options["state"], seed=options["fault_seed"],
        )
    except StateFileError as exc:
        fail(f"{exc} (fix or remove the file)", 1)
    keys = options["api_key"] or ([] if len(emulator.keys) else [generate_key()])
    try:
        for token in keys:
            emulator.create_key(token)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--api-key") from None
    return emulator


def _add_webhooks(emulator: Emulator, urls: list[str], secrets: list[str]) -> None:
    if len(secrets) > len(urls):
        raise typer.BadParameter("more secrets than --webhook URLs", param_hint="--webhook-secret")
    for index, url in enumerate(urls):
        secret = secrets[index] if index < len(secrets) else None
        kept = next((e for e in emulator.webhooks.endpoints if e.url.rstrip("/") == url.rstrip("/")
                     and e.account == "default"), None)
        if kept is not None and secret in (None, kept.secret):
            typer.echo(f"Webhook: {kept.url} (secret from the state file)")
            continue
        try:
            if kept is not None:
                emulator.webhooks.remove_endpoint(kept.id)
            endpoint = emulator.webhooks.add_endpoint(url, secret=secret)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--webhook/--webhook-secret") from None
        typer.echo(f"Webhook: {endpoint.url}")
        if secret is None:  # generated: shown this once
            typer.echo(f"Webhook secret: {endpoint.secret}")


def _add_faults(emulator: Emulator, rate: float, kinds: list[FaultKind], latency: float,
                latency_max: float | None) -> None:
    from clubsmtp_async.testing import Drop, ErrorAfter, ErrorBefore, Latency, RateLimit, Reaction

    if latency_max is not None and latency_max < latency:
        raise typer.BadParameter("must be at least --latency", param_hint="--latency-max")
    if latency > 0 or latency_max:
        emulator.faults.add("*", "/v1/*", Latency(latency, latency_max))
    reactions: dict[FaultKind, Reaction] = {
        FaultKind.error_before: ErrorBefore(), FaultKind.error_after: ErrorAfter(),
        FaultKind.drop: Drop(), FaultKind.drop_before: Drop(after_processing=False),
        FaultKind.rate_limit: RateLimit(),
    }
    chosen = list(dict.fromkeys(kinds or [FaultKind.error_before]))
    share = rate / len(chosen)
    for index, kind in enumerate(chosen):
        # Rules are tried in order and the first that fires wins: rule i fires with
        # share / (1 - i * share), so each kind hits `share` of all requests.
        if share > 0:
            probability = min(1.0, share / (1 - index * share))
            emulator.faults.add("*", "/v1/*", reactions[kind], probability=probability)


def _seed(emulator: Emulator, tenant_file: Path) -> None:
    """Apply a tenant file to the emulator before it serves (and before any fault)."""
    from clubsmtp_async.onboarding import TenantFileError, load_tenant
    from clubsmtp_async.testing import seed_tenant

    try:
        spec = load_tenant(tenant_file)
    except TenantFileError as exc:
        fail(str(exc), 2)
    report = anyio.run(seed_tenant, emulator, spec)
    if not report.ok:
        first = report.failed[0] if report.failed else None
        why = "" if first is None else f"; first: {first.action.describe()}: {first.error}"
        fail(f"seeding from {tenant_file} failed for {report.counts['failed']} action(s){why}", 1)
    typer.echo(f"Seeded from {tenant_file}: {report.counts['done']} change(s)")


def _configure_logging(level: LogLevel) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("clubsmtp_async.testing")
    logger.addHandler(handler)
    logger.setLevel(level.value.upper())


def _run(emulator: Emulator, host: str, port: int, tls: bool, cert_dir: Path | None,
         log_level: LogLevel) -> None:
    signals = _StopSignals()
    previous = signals.install()
    try:
        anyio.run(_serve_forever, emulator, host, port, tls, cert_dir, log_level.value, signals)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"cannot listen on {host}:{port}: the address is already in use "
                  "(another emulator? pass --port 0 for any free port)", 1)
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    typer.echo("ClubSMTP emulator stopped")


@app.command(cls=OneLineErrors)
def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).",
                                      min=0, max=65535)] = 8025,
    api_key: Annotated[list[str] | None, typer.Option(
        "--api-key",
        help="A key to accept (scope *:*); repeatable. One is generated if none is given "
             "(and the state file holds none).",
    )] = None,
    requests_per_minute: Annotated[float, typer.Option(
        help="Rate limit of every new key.", min=0.001, max=1e9)] = 60.0,
    burst: Annotated[int, typer.Option(
        help="Bucket capacity of every new key: requests at once after idling.",
        min=1, max=1_000_000)] = 1,
    tls: Annotated[bool, typer.Option(help="Serve HTTPS with a throw-away CA.")] = False,
    cert_dir: Annotated[Path | None, typer.Option(
        help="Where --tls writes ca.pem (default: a temporary directory).")] = None,
    admin_token: Annotated[str | None, typer.Option(
        help="Require this X-ClubSMTP-Admin-Token on /_admin (else: loopback only).")] = None,
    allow_remote: Annotated[bool, typer.Option(
        help="Allow a non-loopback --host (plain HTTP stays loopback-only).")] = False,
    same_domain_aliases: Annotated[bool, typer.Option(
        help="Refuse alias targets on another domain than the alias's (a stricter server).",
    )] = False,
    state: Annotated[Path | None, typer.Option(
        help="Load the state from FILE at start, save it there after changes and on exit.",
        dir_okay=False)] = None,
    webhook: Annotated[list[str] | None, typer.Option(
        "--webhook", help="Deliver the default account's events to URL; repeatable.")] = None,
    webhook_secret: Annotated[list[str] | None, typer.Option(
        "--webhook-secret",
        help="whsec_ secret of the matching --webhook (default: generated and printed once).",
    )] = None,
    webhook_retry_delays: Annotated[str, typer.Option(
        help="Seconds before each retry of a failed delivery, comma-separated.",
    )] = "0.5,1,2,4,8",
    fault_rate: Annotated[float, typer.Option(
        help="Share of /v1 requests that fail (0 to 1).", min=0.0, max=1.0)] = 0.0,
    fault_kind: Annotated[list[FaultKind] | None, typer.Option(
        "--fault-kind", help="How they fail; repeatable, the rate is split evenly "
                             "(default: error-before).")] = None,
    latency: Annotated[float, typer.Option(
        help="Seconds added to every /v1 request.", min=0.0, max=3600.0)] = 0.0,
    latency_max: Annotated[float | None, typer.Option(
        help="With --latency: add a uniform random time up to this many seconds.",
        min=0.0, max=3600.0)] = None,
    fault_seed: Annotated[str | None, typer.Option(
        help="Seed of the fault randomness and identifiers: the same seed and requests "
             "give the same faults.")] = None,
    log_level: Annotated[LogLevel, typer.Option(help="Logging on stderr.")] = LogLevel.warning,
    seed: Annotated[Path | None, typer.Option(
        "--seed", metavar="TENANT_FILE",
        help="Pre-populate from a tenant file (as 'clubsmtp apply' would; onto --state, "
             "only what is missing).", dir_okay=False)] = None,
) -> None:
    """Run a local ClubSMTP API emulator until Ctrl+C or SIGTERM."""
    _check_host(host, allow_remote)
    if state is not None and not state.parent.is_dir():
        raise typer.BadParameter(f"the directory {state.parent} does not exist",
                                 param_hint="--state")
    settings = _retry_delays(webhook_retry_delays)
    _configure_logging(log_level)
    emulator = _make_emulator({
        "requests_per_minute": requests_per_minute, "burst": burst, "admin_token": admin_token,
        "allow_cross_domain_aliases": not same_domain_aliases,
        "webhook_settings": settings, "state": state, "fault_seed": fault_seed,
        "api_key": list(api_key or []),
    })
    _add_webhooks(emulator, list(webhook or []), list(webhook_secret or []))
    if seed is not None:
        _seed(emulator, seed)
    _add_faults(emulator, fault_rate, list(fault_kind or []), latency, latency_max)
    if cert_dir is not None:
        cert_dir.mkdir(parents=True, exist_ok=True)
    _run(emulator, host, port, tls, cert_dir, log_level)
