"""`Emulator`: one local ClubSMTP — state, keys, clock, faults and the ASGI app."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from ._admin import AdminApi
from ._app import EmulatorApp
from ._clock import Clock, SystemClock
from ._errors import ApiError
from ._faults import FaultInjector
from ._ids import UuidFactory
from ._keys import DEFAULT_ACCOUNT, ApiKey, KeyRing, generate_key
from ._rules import DEFAULT_RATE_TOLERANCE, is_loopback
from ._seed import apply_seed
from ._state import DnsRecord, Domain, Store
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
        >>> transport = emulator.transport()  # for httpx.AsyncClient(transport=...)

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
            domains of the same account.

    Attributes:
        app: The ASGI application.
        clock: The time source.
        store: All objects of all accounts.
        keys: The API keys.
        faults: The fault rules.
        stats: The request statistics.

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
        allow_cross_domain_aliases: bool = False,
    ) -> None:
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
        v1 = V1Api(self.store, self.clock.utcnow)
        self.app = EmulatorApp(self, v1.routes(), AdminApi(self).routes())
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
        return self.keys.add(api_key)

    def remove_key(self, key: str) -> bool:
        """Forget a key by token; returns whether it existed."""
        return self.keys.remove(key)

    @property
    def api_key(self) -> str:
        """The token of the first key, creating a ``*:*`` key if there is none."""
        for key in self.keys:
            return key.token
        return self.create_key().token

    # State

    def reset(self, *, keys: bool = False) -> None:
        """Forget all objects, statistics, fault rules and rate-limit state.

        Args:
            keys: Also forget the API keys.

        """
        self.store.clear()
        self.stats.reset()
        self.faults.clear()
        self.keys.reset_buckets()
        if keys:
            for key in list(self.keys):
                self.keys.remove(key.token)

    def seed(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create domains, mailboxes, lists and aliases from a nested description.

        See the admin API docs for the format; ``account`` defaults to the
        default account.

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
            record = self.store.find_dns_record(record_uuid.lower())
        except ApiError as error:
            raise ValueError(error.message) from error
        if status is not UNSET:
            if isinstance(status, bool) or not isinstance(status, int):
                raise ValueError("status must be an integer")
            record.status = status
        for name, value in (("expected_value", expected_value), ("actual_value", actual_value)):
            if value is not UNSET:
                if value is not None and not isinstance(value, str):
                    raise ValueError(f"{name} must be a string or None")
                setattr(record, name, value)
        if last_checked_at is not UNSET:
            record.last_checked_at = last_checked_at
        elif status is not UNSET or actual_value is not UNSET:
            record.last_checked_at = self.clock.utcnow()
        return record

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
        for record in domain.dns_records:
            value = _PLAUSIBLE_DNS.get(record.record_type)
            self.set_dns_record(record.uuid, status=status, expected_value=value,
                                actual_value=value if status == 2 else None)
        return domain

    # Clients

    def transport(self, client_address: str = "127.0.0.1") -> httpx.ASGITransport:
        """An httpx transport that calls the app in process.

        Args:
            client_address: The client IP the app sees (for CIDR/HTTPS checks).

        """
        return httpx.ASGITransport(app=self.app, client=(client_address, 12345))

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
        http_client = httpx.AsyncClient(transport=self.transport(client_address), base_url=url)
        return AsyncClient(
            api_key or self.api_key, base_url=url, http_client=http_client, **client_kwargs
        )
