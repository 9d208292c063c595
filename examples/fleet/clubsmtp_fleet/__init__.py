"""Onboarding fleets: many tenants, many worker processes on many hosts, one API key.

A producer enqueues one job per tenant file on a saq queue in Redis; worker
processes (``saq clubsmtp_fleet.tasks.settings``, as many as you like, on any host)
apply the tenants with `clubsmtp_async.onboarding`, all paced by one
`RedisLimiter` budget; the producer collects each tenant's result. A worker
killed mid-job is detected by its missing heartbeat, its job is retried by
another worker, and the retry finishes the tenant exactly. See
``docs/fleets.md``.

Modules: `config` (the environment variables), `lease` (one attempt per tenant
at a time, numbered), `passwords` (generated passwords, one 0600 file per
attempt), `tasks` (the queue and the task, for the workers), `producer` (the
command that enqueues and collects).
"""

from __future__ import annotations

__all__: list[str] = []
