"""``POST /tenants``: onboard a tenant with the onboarding engine (plan, then apply).

The body is a tenant spec in the tenant file's JSON form (see `tenant_body`).
``?dry_run=true`` answers the plan only; otherwise the plan is applied at
once and the answer is the apply report, with the generated passwords:

- **Passwords** are in the answer once (``passwords``: address, password,
  status), with ``Cache-Control: no-store``; they are never logged. If
  ``SERVICE_PASSWORDS_FILE`` is set, each is also appended to that 0600 file
  *before* its mailbox's create is sent, so a caller that hangs up mid-apply
  loses none (passwords are write-only: the API can neither return nor
  change one).
- **A finished apply answers 200** even when some actions failed
  (``ok: false``, ``failed`` lists them): the passwords of what *was* created
  must reach the caller, and a retry of the same request finishes the rest.
  Errors before anything was applied (a bad spec, the API refusing the key,
  the rate limit) are mapped by `errors`.
- **A wait cap** (``SERVICE_MAX_WAIT``): when the key's budget is so busy
  that planning would wait longer for its slots, the request is refused at
  once (`RateLimitWaitError`: 503 with ``Retry-After``), before anything is
  applied or any password generated.
- **Concurrency**: in one worker, onboardings sharing a domain run one after
  the other (`TenantLocks`); across workers they converge (see `locks`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from clubsmtp_async.onboarding import Plan, apply, plan, tenant_schema

from .body import read_body
from .resources import ClientDep, LocksDep, PasswordsDep, SettingsDep
from .tenant_body import parse_tenant_body

__all__ = ["COMPONENTS", "MAX_BODY", "router"]

log = logging.getLogger("clubsmtp_service.tenants")

MAX_BODY = 4 * 1024 * 1024
"""The largest spec accepted (413 beyond): about 20,000 mailboxes."""

router = APIRouter()


def _openapi_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The body's schema for OpenAPI: the tenant file's JSON Schema, its ``$defs`` as components.

    The shipped schema refers to ``#/$defs/…``, which would resolve against the
    OpenAPI document's root; so the definitions become components instead.
    """
    defs = json.dumps(tenant_schema()["$defs"]).replace('"#/$defs/', '"#/components/schemas/')
    components: dict[str, Any] = json.loads(defs)
    return {"$ref": "#/components/schemas/TenantSpec"}, components


_BODY_SCHEMA, COMPONENTS = _openapi_schemas()
"""`COMPONENTS`: the schemas the app adds to its OpenAPI document's components."""

_NO_STORE = {"Cache-Control": "no-store"}


def plan_json(the_plan: Plan) -> dict[str, Any]:
    """A plan as JSON values (never a password: only where each comes from)."""
    value: dict[str, Any] = json.loads(the_plan.to_json())
    return value


@router.post(
    "/tenants",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": _BODY_SCHEMA}}}},
    responses={409: {"description": "the spec conflicts with the account"},
               422: {"description": "the spec is not valid"},
               502: {"description": "the ClubSMTP API failed or refused the key"},
               503: {"description": "the API's rate limit (see Retry-After)"}},
)
async def onboard_tenant(
    request: Request, client: ClientDep, locks: LocksDep, passwords: PasswordsDep,
    settings: SettingsDep, dry_run: bool = False, prune: bool = False,
) -> JSONResponse:
    """Plan a tenant and, unless `dry_run`, apply the plan; answer the plan or the report."""
    spec = parse_tenant_body(await read_body(request, MAX_BODY))
    names = [domain.name for domain in spec.domains]
    # The plan's reads wait for rate slots at most max_wait (else RateLimitWaitError:
    # 503 at once, nothing applied); an apply, once started, runs to its end.
    planner = client if settings.max_wait is None else client.with_options(
        max_wait=settings.max_wait)
    if dry_run:
        the_plan = await plan(planner, spec, prune=prune)
        return JSONResponse({"dry_run": True, "changes": the_plan.has_changes,
                             "plan": plan_json(the_plan)})
    async with locks.hold(names):
        the_plan = await plan(planner, spec, prune=prune)
        report = await apply(client, the_plan, on_password=passwords)
    log.info("tenant %s: %s", ",".join(names), report.counts)
    body = {"dry_run": False, **report.to_json(include_passwords=True),
            "summary": msgspec.to_builtins(the_plan.summary)}
    return JSONResponse(body, headers=_NO_STORE)
