"""clubsmtp-async: the async Python SDK for the ClubSMTP email-hosting API.

```python
from clubsmtp_async import AsyncClient

async with AsyncClient() as client:          # $CLUBSMTP_API_KEY
    domain = await client.domains.create(name="example.com")
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._aiohttp import aiohttp_http_client
from ._bulk import Bulk
from ._bulk_engine import BulkStream
from ._bulk_types import (
    BulkAborted,
    BulkError,
    BulkFailure,
    BulkOutcome,
    BulkProgress,
    BulkResult,
    MailboxChange,
    SenderPattern,
)
from ._client import AsyncClient
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthError,
    ClientClosedError,
    ClubSMTPError,
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RateLimitWaitError,
    SecurityError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)
from ._file_limiter import FileLimiter
from ._limiter import LeakyBucketLimiter, Limiter, NoLimiter
from ._models import (
    Alias,
    AliasTarget,
    DnsRecord,
    DnsRecordStatus,
    DnsRecordType,
    Domain,
    ListEntry,
    Mailbox,
    NewAlias,
    NewMailbox,
    Ping,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._redis_limiter import RedisLimiter, RedisLimiterFallbackWarning

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Alias",
    "AliasTarget",
    "AsyncClient",
    "AuthError",
    "Bulk",
    "BulkAborted",
    "BulkError",
    "BulkFailure",
    "BulkOutcome",
    "BulkProgress",
    "BulkResult",
    "BulkStream",
    "ClientClosedError",
    "ClubSMTPError",
    "DnsRecord",
    "DnsRecordStatus",
    "DnsRecordType",
    "Domain",
    "ErrorDetail",
    "FileLimiter",
    "InvalidRequestError",
    "LeakyBucketLimiter",
    "Limiter",
    "ListEntry",
    "Mailbox",
    "MailboxChange",
    "NewAlias",
    "NewMailbox",
    "NoLimiter",
    "NotFoundError",
    "Ping",
    "RateLimitError",
    "RateLimitWaitError",
    "RedisLimiter",
    "RedisLimiterFallbackWarning",
    "SecurityError",
    "SenderPattern",
    "ServerError",
    "UnexpectedResponseError",
    "ValidationError",
    "__version__",
    "aiohttp_http_client",
]


_LAZY = frozenset({"RedisLimiter", "RedisLimiterFallbackWarning"})


def __getattr__(name: str) -> Any:
    # The Redis names need the `redis` extra: imported only when asked for.
    if name in _LAZY:
        try:
            from . import _redis_limiter
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] != "redis":
                raise
            raise ImportError(
                f"{name} needs the 'redis' extra: pip install 'clubsmtp-async[redis]'"
            ) from exc
        return getattr(_redis_limiter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
