"""Declarative tenant onboarding: make an account match a tenant file, exactly and resumably.

```python
from clubsmtp_async.onboarding import apply, export, load_tenant, plan

spec = load_tenant("tenant.toml")        # TOML, YAML, JSON, or a mailboxes CSV
p = await plan(client, spec)             # typed actions, counts, requests, time at the rate
p.save("plan.json")                      # review it; apply exactly that later
report = await apply(client, p)          # one outcome per action, generated passwords once
current = await export(client)           # the live account as a TenantSpec
```

Only what the spec declares is managed; a second apply plans nothing; an
interrupted or partly failed apply converges when run again. See
``docs/onboarding.md`` for the file format, prune, passwords and the figures.
"""

from __future__ import annotations

from ._actions import (
    LAYERS,
    Action,
    AddListEntry,
    AliasTarget,
    CreateAlias,
    CreateDomain,
    CreateMailbox,
    DeleteAlias,
    DeleteDomain,
    DeleteMailbox,
    RemoveListEntry,
    ReplaceAlias,
    UpdateMailbox,
)
from ._apply import PasswordCallback, apply
from ._check import check_tenant
from ._csv import ALIAS_COLUMNS, MAILBOX_COLUMNS
from ._diff import diff
from ._errors import OnboardingError, PlanError, PlanFileError, TenantFileError
from ._export import DUMP_FORMATS, dump_tenant, export
from ._live import LiveAccount, read_account
from ._load import FORMATS, load_tenant, parse_tenant
from ._password_file import PasswordFile
from ._passwords import GeneratedPasswords, PasswordStatus, generate_password
from ._plan import Plan, PlanSummary, eta_text, plan
from ._report import ActionOutcome, ApplyProgress, ApplyReport, ProgressCallback, error_json
from ._schema import SCHEMA_PATH, tenant_schema
from ._spec import AliasSpec, DomainSpec, MailboxSpec, PasswordSource, TenantSpec

__all__ = [
    "ALIAS_COLUMNS",
    "Action",
    "ActionOutcome",
    "AddListEntry",
    "AliasSpec",
    "AliasTarget",
    "ApplyProgress",
    "ApplyReport",
    "CreateAlias",
    "CreateDomain",
    "CreateMailbox",
    "DUMP_FORMATS",
    "DeleteAlias",
    "DeleteDomain",
    "DeleteMailbox",
    "DomainSpec",
    "FORMATS",
    "GeneratedPasswords",
    "LAYERS",
    "LiveAccount",
    "MAILBOX_COLUMNS",
    "MailboxSpec",
    "OnboardingError",
    "PasswordCallback",
    "PasswordFile",
    "PasswordSource",
    "PasswordStatus",
    "Plan",
    "PlanError",
    "PlanFileError",
    "PlanSummary",
    "ProgressCallback",
    "RemoveListEntry",
    "ReplaceAlias",
    "SCHEMA_PATH",
    "TenantFileError",
    "TenantSpec",
    "UpdateMailbox",
    "apply",
    "check_tenant",
    "diff",
    "dump_tenant",
    "error_json",
    "eta_text",
    "export",
    "generate_password",
    "load_tenant",
    "parse_tenant",
    "plan",
    "read_account",
    "tenant_schema",
]
