"""`Emulator`: one local ClubSMTP — state, keys, clock, faults and the ASGI app."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .._http import ASGITransport, new_client
from ._admin import AdminApi
from ._app import EmulatorApp
from ._clock import Clock, SystemClock
from ._delivery import Webhooks
from ._endpoints import Delivery, DeliverySettings, WebhookEndpoint
from ._errors import ApiError
from ._events import WebhookEvent
from ._faults import FaultInjector
from ._ids import UuidFactory
from ._keys import DEFAULT_ACCOUNT, MAX_EXPIRES_IN, ApiKey, KeyRing, generate_key
from ._persist import encode_state, load_state, write_atomically
from ._rules import DEFAULT_RATE_TOLERANCE, is_loopback
from ._samples import sample_object
from ._seed import apply_seed
from ._state import Alias, DnsRecord, Domain, Mailbox, Store, StoreEvent
from ._stats import Stats
from ._v1 import V1Api

if TYPE_CHECKING:
    from clubsmtp_async import AsyncClient

__all__ = [
    "Emulator",
    "UNSET",
]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Marks a keyword argument as "leave unchanged" (None means JSON null)."""

_logger = logging.getLogger("clubsmtp_async.testing")
_EMITTABLE = ("invite.", "invoice.")

_PLAUSIBLE_DNS = {
    "MX": "10 mail.clubsmtp.com.",
    "SPF": "v=spf1 include:_spf.clubsmtp.com ~all",
    "DKIM": "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
    "DMARC": "v=DMARC1; p=quarantine",
    "autoconfig": "autoconfig.clubsmtp.com.",
    "autodiscover": "autodiscover.clubsmtp.com.",
}


class Emulator:
    """A stateful, in-memory ClubSMTP API.

    Example:
        >>> emulator = Emulator(api_keys=["sk_test_abc"])
        >>> transport = emulator.transport()  # for httpx.AsyncClient or httpx2.AsyncClient

    Args:
        clock: Time source (default: the real clock); pass a `FakeClock` to
            test rate limits and expiry without sleeping.
        seed: Makes identifiers and fault randomness reproducible.
        api_keys: Tokens to register at once, each with scope ``*:*`` on the
            default account.
        requests_per_minute: Default rate of new keys.
        burst: Default burst of new keys (1 = strict smooth pacing).
        rate_limit_tolerance: Seconds of early arrival forgiven by every
            bucket (default 50 ms), so a client pacing at the rate is not refused
            because of scheduler or network jitter; 0 makes the bucket strict.
        admin_token: If set, ``/_admin`` needs this token in the
            ``X-ClubSMTP-Admin-Token`` header; if not, only loopback clients
            may use it.
        allow_cross_domain_aliases: Let aliases forward to mailboxes of other
            domains of the same account (default); False emulates a server that
            allows only the alias's own domain.
        webhook_settings: Retry delays and timeout of webhook deliveries.
        state_file: Load the state from this file if it exists (raises
            `StateFileError` if it is damaged), and inside `running()` save it
            there after changes (at most every `autosave_interval` seconds)
            and on exit.
        autosave_interval: Seconds between two saves of the state file.

    Attributes:
        app: The ASGI application.
        clock: The time source.
        store: All objects of all accounts.
        keys: The API keys.
        faults: The fault rules.
        stats: The request statistics.
        webhooks: Webhook endpoints, emitted events and the delivery log.
        state_file: The state file, if any.

    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | str | None = None,
        api_keys: Iterable[str] = (),
        requests_per_minute: float = 60.0,
        burst: int = 1,
        rate_limit_tolerance: float = DEFAULT_RATE_TOLERANCE,
        admin_token: str | None = None,
        allow_cross_domain_aliases: bool = True,
        webhook_settings: DeliverySettings | None = None,
        state_file: str | Path | None = None,
        autosave_interval: float = 1.0,
    ) -> None:
        if not (math.isfinite(autosave_interval) and autosave_interval > 0):
            raise ValueError("autosave_interval must be a positive number of seconds")
        self.clock: Clock = clock or SystemClock()
        self.requests_per_minute = requests_per_minute
        self.burst = burst
        self.admin_token = admin_token
        self.store = Store(
            self.clock.utcnow,
            UuidFactory(seed),
            allow_cross_domain_aliases=allow_cross_domain_aliases,
        )
        self.keys = KeyRing(tolerance=rate_limit_tolerance)
        self.faults = FaultInjector(seed)
        self.stats = Stats()
        self.webhooks = Webhooks(webhook_settings)
        self._event_ids = UuidFactory(None if seed is None else f"events:{seed}")
        self.store.listener = self._publish
        self._key_revision = 0
        self.state_file = None if state_file is None else Path(state_file)
        self.autosave_interval = autosave_interval
        # One save at a time, so the save made on exit is never overtaken by an
        # autosave still writing an older snapshot in its worker thread.
        self._save_lock = anyio.Lock()
        v1 = V1Api(self.store, self.clock.utcnow)
        self.app = EmulatorApp(self, v1.routes(), AdminApi(self).routes())
        if self.state_file is not None and self.state_file.exists():
            self.load_state(self.state_file)
        for token in api_keys:
            self.create_key(token)

    def __repr__(self) -> str:
        return f"<Emulator keys={len(self.keys)} domains={len(self.store.domains)}>"

    # Keys

    def create_key(
        self,
        key: str | None = None,
        *,
        account: str = DEFAULT_ACCOUNT,
        scopes: Iterable[str] = ("*:*",),
        cidrs: Iterable[str] = (),
        expires_at: datetime | None = None,
        expires_in: float | None = None,
        requests_per_minute: float | None = None,
        burst: int | None = None,
        live: bool = False,
    ) -> ApiKey:
        """Register an API key.

        Args:
            key: The token (``sk_test_...``/``sk_live_...``); generated if None.
            account: The account the key works on.
            scopes: ``METHOD:/path`` entries with ``*`` wildcards.
            cidrs: Allowed client networks (empty: any).
            expires_at: Expiry time (timezone-aware).
            expires_in: Expiry in seconds from the clock's now (instead of `expires_at`).
            requests_per_minute: The key's rate (default: the emulator's).
            burst: The key's burst (default: the emulator's).
            live: Generate an ``sk_live_`` token instead of ``sk_test_``.

        Returns:
            The key; its `token` attribute is the bearer secret.

        Raises:
            ValueError: on a malformed token, scope, CIDR, rate or burst.

        """
        if expires_in is not None:
            if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or not (
                abs(expires_in) <= MAX_EXPIRES_IN
            ):
                raise ValueError(f"expires_in must be within ±{MAX_EXPIRES_IN:g} seconds")
            expires_at = self.clock.utcnow() + timedelta(seconds=expires_in)
        api_key = ApiKey(
            token=key or generate_key(live=live),
            account=account,
            scopes=tuple(scopes),
            cidrs=tuple(cidrs),
            expires_at=expires_at,
            requests_per_minute=(
                self.requests_per_minute if requests_per_minute is None else requests_per_minute
            ),
            burst=self.burst if burst is None else burst,
        )
        self._key_revision += 1
        return self.keys.add(api_key)

    def remove_key(self, key: str) -> bool:
        """Forget a key by token; returns whether it existed."""
        self._key_revision += 1
        return self.keys.remove(key)

    @property
    def api_key(self) -> str:
        """The token of the first key, creating a ``*:*`` key if there is none."""
        for key in self.keys:
            return key.token
        return self.create_key().token

    # State

    def reset(self, *, keys: bool = False, webhooks: bool = False) -> None:
        """Forget all objects, statistics, fault rules, rate-limit state and webhook events.

        A test control: it emits no events. Pending deliveries are cancelled;
        the webhook endpoints stay unless `webhooks` is set.

        Args:
            keys: Also forget the API keys.
            webhooks: Also forget the webhook endpoints.

        """
        self.store.clear()
        self.stats.reset()
        self.faults.clear()
        self.keys.reset_buckets()
        self.webhooks.clear(endpoints=webhooks)
        if keys:
            for key in list(self.keys):
                self.keys.remove(key.token)
            self._key_revision += 1

    def seed(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create domains, mailboxes, lists and aliases from a nested description.

        See the admin API docs for the format; ``account`` defaults to the
        default account. Like the matching API calls, it emits the
        ``*.created`` events (and ``mailbox.disabled`` for a disabled mailbox).

        Returns:
            The created objects as the API renders them.

        Raises:
            ValueError: on an invalid or conflicting value.

        """
        try:
            return apply_seed(self.store, spec, DEFAULT_ACCOUNT)
        except ApiError as error:
            raise ValueError(error.message) from error

    def snapshot(self) -> dict[str, Any]:
        """Every object of every account, as the API renders them, with its account."""
        store = self.store
        return {
            "domains": [{"account": d.account, **d.to_json()} for d in store.domains.values()],
            "mailboxes": [
                {"account": m.account, **m.to_json(),
                 "whitelist": [e.to_json() for e in m.whitelist.values()],
                 "blacklist": [e.to_json() for e in m.blacklist.values()]}
                for m in store.mailboxes.values()
            ],
            "aliases": [{"account": a.account, **store.alias_json(a)}
                        for a in store.aliases.values()],
        }

    def check_password(self, mailbox_uuid: str, password: str) -> bool:
        """Whether `password` is the stored password of the mailbox."""
        return self.store.check_password(mailbox_uuid.lower(), password)

    def set_dns_record(
        self,
        record_uuid: str,
        *,
        status: int | Any = UNSET,
        expected_value: str | Any | None = UNSET,
        actual_value: str | Any | None = UNSET,
        last_checked_at: datetime | Any | None = UNSET,
    ) -> DnsRecord:
        """Change a DNS record (of any account), as the vendor's checker would.

        Arguments left `UNSET` keep their value, except `last_checked_at`,
        which becomes the clock's now whenever `status` or `actual_value` changes.
        Any integer status is accepted (1 Pending, 2 OK, 3 Fail; others test
        forward compatibility).

        Raises:
            ValueError: if there is no such record or a value has the wrong type.

        """
        try:
            domain, record = self.store.find_dns_domain(record_uuid.lower())
        except ApiError as error:
            raise ValueError(error.message) from error
        changed = self._change_dns_record(record, status, expected_value, actual_value,
                                          last_checked_at)
        self.store.dns_records_changed(domain, status_changed=changed)
        return record

    def _change_dns_record(
        self, record: DnsRecord, status: Any, expected_value: Any, actual_value: Any,
        last_checked_at: Any,
    ) -> bool:
        """Apply the changes (all checked first); return whether the status changed."""
        if status is not UNSET and (isinstance(status, bool) or not isinstance(status, int)):
            raise ValueError("status must be an integer")
        for name, value in (("expected_value", expected_value), ("actual_value", actual_value)):
            if value is not UNSET and value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or None")
        if last_checked_at not in (UNSET, None) and not (
            isinstance(last_checked_at, datetime) and last_checked_at.tzinfo is not None
        ):
            raise ValueError("last_checked_at must be a timezone-aware datetime or None")
        old_status = record.status
        if status is not UNSET:
            record.status = status
        for name, value in (("expected_value", expected_value), ("actual_value", actual_value)):
            if value is not UNSET:
                setattr(record, name, value)
        if last_checked_at is not UNSET:
            record.last_checked_at = last_checked_at
        elif status is not UNSET or actual_value is not UNSET:
            record.last_checked_at = self.clock.utcnow()
        return record.status != old_status

    def verify_domain(self, domain_uuid: str, *, status: int = 2) -> Domain:
        """Mark all six DNS records of a domain checked, with plausible values.

        Args:
            domain_uuid: The domain (any account).
            status: The status to give every record (default 2 = OK).

        Raises:
            ValueError: if there is no such domain.

        """
        domain = self.store.domains.get(domain_uuid.lower())
        if domain is None:
            raise ValueError("Domain not found.")
        changed = False
        for record in domain.dns_records:
            value = _PLAUSIBLE_DNS.get(record.record_type)
            changed |= self._change_dns_record(record, status, value,
                                               value if status == 2 else None, UNSET)
        self.store.dns_records_changed(domain, status_changed=changed)
        return domain

    # Webhooks

    def _publish(self, change: StoreEvent) -> None:
        now = self.clock.utcnow()
        event = WebhookEvent(self._event_ids.new(now), change.type, int(now.timestamp()),
                             change.account, change.object)
        self.webhooks.publish(event)

    def emit_event(
        self, event_type: str, obj: Mapping[str, Any] | None = None, *,
        account: str = DEFAULT_ACCOUNT,
    ) -> WebhookEvent:
        """Emit an ``invite.*`` or ``invoice.*`` event (the emulator has no such objects).

        The other event types come from the changes themselves (creating a
        domain emits ``domain.created``, and so on).

        Args:
            event_type: ``invite.created``, ``invite.accepted``,
                ``invite.expired``, ``invoice.created`` or ``invoice.paid``.
            obj: Its ``data.object`` (default: a realistic sample).
            account: Whose endpoints receive it.

        Returns:
            The event, queued for delivery.

        Raises:
            ValueError: for another event type, or an object that is not a
                JSON-compatible mapping.

        """
        if not isinstance(event_type, str) or not event_type.startswith(_EMITTABLE) or (
            event_type not in _emittable_types()
        ):
            raise ValueError(
                f"only {', '.join(_emittable_types())} can be emitted directly; "
                "domain, mailbox and alias events come from the changes themselves"
            )
        if not isinstance(account, str) or not account:
            raise ValueError("account must be a non-empty string")
        payload = sample_object(event_type) if obj is None else _json_mapping(obj)
        self._publish(StoreEvent(event_type, account, payload))
        return self.webhooks.events[-1]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Emulator]:
        """Run the emulator's background work for the duration of the block.

        That is webhook delivery and, with a `state_file`, saving the state
        after changes and on exit. The served app runs it from its lifespan
        (`serve`, ``clubsmtp emulator``) and the pytest fixtures run it too; in
        process (``emulator.client()``, ``emulator.transport()``) nothing is
        delivered or saved outside this block. Works on asyncio and trio;
        nested uses share the outer one.

        Example:
            >>> async def demo(emulator: Emulator) -> None:
            ...     async with emulator.running(), emulator.client() as client:
            ...         await client.domains.create(name="example.com")
            ...         await emulator.webhooks.wait_delivered(1)

        Yields:
            The emulator.

        """
        nested = self.webhooks.is_running
        async with self.webhooks.running():
            if nested or self.state_file is None:
                yield self
                return
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(self._autosave, self.state_file)
                try:
                    yield self
                finally:
                    task_group.cancel_scope.cancel()
                    with anyio.CancelScope(shield=True):
                        await self._save(self.state_file)

    # State file

    @property
    def revision(self) -> int:
        """A number that grows with every change worth saving."""
        return self.store.revision + self._key_revision + self.webhooks.revision

    def save_state(self, path: str | Path | None = None) -> Path:
        """Write the state file now (atomically; created 0600).

        Args:
            path: Where (default: `state_file`).

        Returns:
            The path written.

        Raises:
            ValueError: if no path is given and there is no `state_file`.
            OSError: if it cannot be written (the old file stays as it was).

        """
        target = _state_path(path, self.state_file)
        write_atomically(target, encode_state(self))
        return target

    def load_state(self, path: str | Path | None = None) -> None:
        """Replace objects, keys and webhook endpoints with a state file's, all or nothing.

        Raises:
            StateFileError: if the file cannot be read or is damaged (the
                message names the file and the problem); nothing is changed.

        """
        load_state(self, _state_path(path, self.state_file))

    def restore(
        self, *, domains: list[Domain], mailboxes: list[Mailbox], aliases: list[Alias],
        keys: list[ApiKey], endpoints: list[WebhookEndpoint], pending: list[Delivery],
    ) -> None:
        """Replace the state with checked objects (what `load_state` calls; no events)."""
        self.store.restore(domains, mailboxes, aliases)
        for key in list(self.keys):
            self.keys.remove(key.token)
        for key in keys:
            self.keys.add(key)
        self._key_revision += 1
        self.webhooks.restore(endpoints, pending)

    async def _save(self, path: Path) -> None:
        async with self._save_lock:
            data = encode_state(self)  # on the loop, once it is our turn: the newest snapshot
            try:
                await anyio.to_thread.run_sync(write_atomically, path, data)
            except OSError as exc:
                _logger.error("could not save the state file %s: %s", path, exc)

    async def _autosave(self, path: Path) -> None:
        saved = None  # save once at the start, then after each change
        while True:
            if self.revision != saved:
                saved = self.revision
                await self._save(path)
            await anyio.sleep(self.autosave_interval)

    # Clients

    def transport(self, client_address: str = "127.0.0.1") -> ASGITransport:
        """A transport that calls the app in process, for an httpx or an httpx2 client.

        Example:
            >>> emulator = Emulator()
            >>> http = httpx2.AsyncClient(transport=emulator.transport())  # doctest: +SKIP

        Args:
            client_address: The client IP the app sees (for CIDR/HTTPS checks).

        """
        return ASGITransport(self.app, client=(client_address, 12345))

    def base_url(self, client_address: str = "127.0.0.1") -> str:
        """``http://127.0.0.1`` for a loopback client, else ``https://127.0.0.1``.

        The host is ignored by the in-process transport; the scheme is what the
        HTTPS check sees.
        """
        return "http://127.0.0.1" if is_loopback(client_address) else "https://127.0.0.1"

    def client(
        self,
        api_key: str | None = None,
        *,
        client_address: str = "127.0.0.1",
        base_url: str | None = None,
        **client_kwargs: Any,
    ) -> AsyncClient:
        """An SDK client wired to this emulator in process (no sockets).

        Its in-process pool is of the library the SDK's own pools use (httpx2 when
        installed, else httpx; ``$CLUBSMTP_HTTP_LIBRARY`` chooses).

        Args:
            api_key: The bearer token (default: `api_key`, the first key).
            client_address: The client IP the app sees.
            base_url: Override the URL (default from `base_url()`).
            **client_kwargs: More `clubsmtp_async.AsyncClient` arguments
                (``requests_per_minute``, ``max_retries``, ...).

        Returns:
            An `AsyncClient`; use it as ``async with``.

        """
        from clubsmtp_async import AsyncClient

        url = base_url or self.base_url(client_address)
        http_client = new_client(transport=self.transport(client_address), base_url=url)
        return AsyncClient(
            api_key or self.api_key, base_url=url, http_client=http_client, **client_kwargs
        )


def _emittable_types() -> list[str]:
    from clubsmtp_async.webhooks import EVENT_TYPES

    return [name for name in EVENT_TYPES if name.startswith(_EMITTABLE)]


def _json_mapping(obj: Mapping[str, Any]) -> dict[str, Any]:
    import json

    if not isinstance(obj, Mapping):
        raise ValueError("the event's object must be a mapping")
    try:
        decoded: dict[str, Any] = json.loads(json.dumps(dict(obj), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the event's object is not JSON-compatible: {exc}") from None
    return decoded


def _state_path(path: str | Path | None, default: Path | None) -> Path:
    if path is not None:
        return Path(path)
    if default is None:
        raise ValueError("no state file: pass a path or create the Emulator with state_file=")
    return default
