"""Rendering for people: rich tables of the API's objects, plans and apply reports.

Each function draws on a `rich.console.Console`; none decides anything. The
``--json`` forms are the objects themselves, encoded by msgspec.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._models import Alias, DnsRecordStatus, Domain, ListEntry, Mailbox

if TYPE_CHECKING:
    from ..onboarding import Action, ApplyReport, Plan

__all__ = [
    "SYMBOL_STYLE",
    "render_aliases",
    "render_domain",
    "render_domains",
    "render_entries",
    "render_mailboxes",
    "render_plan",
    "render_report",
]

SYMBOL_STYLE = {"+": "green", "~": "yellow", "-/+": "magenta", "-": "red"}
"""The colour of each action symbol."""

_STATUS_STYLE = {DnsRecordStatus.OK: "green", DnsRecordStatus.FAIL: "red"}


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _uuid_column(table: Table) -> None:
    table.add_column("uuid", no_wrap=True, min_width=36)


def _table(title: str, *names: str) -> Table:
    """A table whose first columns (names, addresses) wrap rather than lose characters."""
    table = Table(title=title)
    for name in names:
        table.add_column(name, overflow="fold")
    return table


def _dns_summary(domain: Domain) -> str:
    ok = sum(1 for r in domain.dns_records if r.status == DnsRecordStatus.OK)
    return f"{ok}/{len(domain.dns_records)} OK"


def render_domains(console: Console, domains: Sequence[Domain]) -> None:
    """A table of domains."""
    table = _table(f"{len(domains)} domain(s)", "name")
    _uuid_column(table)
    table.add_column("dns")
    table.add_column("created")
    for domain in domains:
        table.add_row(escape(domain.name), domain.uuid, _dns_summary(domain),
                      _when(domain.created_at))
    console.print(table)


def render_domain(console: Console, domain: Domain) -> None:
    """One domain and the DNS records to set at its registrar."""
    console.print(f"[bold]{escape(domain.name)}[/]  {domain.uuid}  created "
                  f"{_when(domain.created_at)}")
    table = Table("record", "expected value", "actual value", "status", "last checked")
    for record in domain.dns_records:
        style = _STATUS_STYLE.get(record.status, "yellow")
        table.add_row(str(record.record_type.value), escape(record.expected_value or ""),
                      escape(record.actual_value or ""),
                      f"[{style}]{record.status.name.lower()}[/]", _when(record.last_checked_at))
    console.print(table)


def render_mailboxes(console: Console, mailboxes: Sequence[Mailbox]) -> None:
    """A table of mailboxes."""
    table = _table(f"{len(mailboxes)} mailbox(es)", "address", "storage", "enabled")
    _uuid_column(table)
    for m in mailboxes:
        enabled = "[green]yes[/]" if m.enabled else "[red]suspended[/]"
        table.add_row(escape(m.address), f"{m.storage_gb} GB", enabled, m.uuid)
    console.print(table)


def render_entries(console: Console, kind: str, entries: Sequence[ListEntry]) -> None:
    """A table of whitelist or blacklist entries."""
    table = _table(f"{len(entries)} {kind} entr(ies)", "pattern")
    _uuid_column(table)
    table.add_column("created")
    for entry in entries:
        table.add_row(escape(entry.pattern), entry.uuid, _when(entry.created_at))
    console.print(table)


def render_aliases(console: Console, aliases: Sequence[Alias]) -> None:
    """A table of aliases and where they forward."""
    table = _table(f"{len(aliases)} alias(es)", "address", "forwards to")
    _uuid_column(table)
    for alias in aliases:
        targets = ", ".join(t.address for t in alias.forwarding_to) or "[red](nobody)[/]"
        table.add_row(escape(alias.address), targets, alias.uuid)
    console.print(table)


def _by_domain(actions: Iterable[Action]) -> dict[str, list[Action]]:
    grouped: dict[str, list[Action]] = defaultdict(list)
    for action in actions:
        grouped[action.domain].append(action)
    return dict(sorted(grouped.items()))


def _action_line(action: Action) -> str:
    symbol = action.symbol
    style = SYMBOL_STYLE[symbol]
    return f"  [{style}]{escape(symbol):>3}[/] {escape(action.describe())}"


def render_plan(console: Console, plan: Plan) -> None:
    """The plan as a diff grouped by domain, then its counts, requests and time."""
    from ..onboarding import DeleteDomain, eta_text

    if not plan.has_changes:
        console.print("[green]No changes.[/] The account matches the tenant file.")
        return
    for domain, actions in _by_domain(plan.actions).items():
        console.print(f"[bold]{escape(domain)}[/]")
        for action in actions:
            console.print(_action_line(action), soft_wrap=True)
            if isinstance(action, DeleteDomain) and (action.mailboxes or action.aliases):
                destroyed = ", ".join((*action.mailboxes, *action.aliases))
                console.print(f"        [red]destroys[/] {escape(destroyed)}", soft_wrap=True)
    s = plan.summary
    rate = "unpaced" if plan.requests_per_minute is None else f"{plan.requests_per_minute:g}/min"
    console.print(
        f"\nPlan: [green]{s.create} to create[/], [yellow]{s.update} to update[/], "
        f"[magenta]{s.replace} to replace[/], [red]{s.delete} to delete[/]. "
        f"{plan.requests} request(s), about {eta_text(plan.estimated_seconds)} at {rate}."
    )


def render_report(console: Console, report: ApplyReport, *, limit: int = 20) -> None:
    """The apply's summary per layer, then what failed or was skipped (the first `limit`)."""
    table = Table("layer", "done", "failed", "skipped", title="apply")
    for layer, counts in report.layer_counts().items():
        if any(counts.values()):
            table.add_row(layer, str(counts["done"]), f"[red]{counts['failed']}[/]"
                          if counts["failed"] else "0", str(counts["skipped"]))
    console.print(table)
    notable = [o for o in report.outcomes if o.status != "done"]
    for outcome in notable[:limit]:
        why = outcome.reason if outcome.error is None else (
            f"{type(outcome.error).__name__}: {outcome.error}")
        style = "red" if outcome.status == "failed" else "yellow"
        console.print(f"  [{style}]{outcome.status}[/] {escape(outcome.action.describe())}: "
                      f"{escape(str(why))}", soft_wrap=True)
    if len(notable) > limit:
        console.print(f"  … and {len(notable) - limit} more (see --json for all)")
    missing = len(report.plan.actions) - len(report.outcomes)
    if missing:
        console.print(f"  [yellow]{missing} action(s) did not run[/]")
