"""A FastAPI service on clubsmtp-async: provisioning tenants and receiving webhooks.

One `AsyncClient` per worker process, opened and closed by the lifespan and
handed to routes by a dependency; a provisioning route that onboards a
tenant with `clubsmtp_async.onboarding`; a webhook route that verifies and
dispatches events by type; a health route; a rate limiter shared by every
worker of the host. See ``docs/fastapi.md`` and ``docs/deploying.md``.

Modules: `settings` (the environment variables), `limiters` (which limiter),
`resources` (the lifespan and the dependencies), `locks` (per-domain
onboarding locks), `tenant_body` and `tenants` (the provisioning route),
`events` and `webhooks` (the webhook route and its handlers), `errors` (SDK
errors as HTTP answers), `body` (size-capped bodies), `health`, `app`.
"""

from __future__ import annotations

__all__: list[str] = []
