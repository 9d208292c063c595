"""``clubsmtp plan``, ``apply`` and ``export``: views over `clubsmtp_async.onboarding`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from ..onboarding import (
    DUMP_FORMATS,
    TenantSpec,
    dump_tenant,
    export,
    load_tenant,
    plan,
)
from ..onboarding._plan import PLAN_FORMAT
from ._app import app, run_command
from ._render import render_plan
from ._session import Settings, open_client

__all__ = ["export_command", "is_saved_plan", "load_spec", "plan_command"]

_FILE = Annotated[Path, typer.Argument(
    metavar="FILE", help="A tenant file (.toml, .yaml, .json) or a mailboxes .csv.")]
_ALIASES = Annotated[Path | None, typer.Option(
    "--aliases", metavar="ALIASES.csv", help="With a mailboxes CSV: the aliases CSV.")]
_PRUNE = Annotated[bool, typer.Option(
    help="Delete the mailboxes and aliases of the file's domains that it does not declare.")]
_PRUNE_DOMAINS = Annotated[bool, typer.Option(
    help="Delete the account's domains the file does not declare, with all they hold.")]


_TENANT_SUFFIXES = frozenset({".toml", ".yaml", ".yml", ".csv"})


def is_saved_plan(path: Path) -> bool:
    """Whether `path` holds a plan saved by ``plan --out`` (whatever its name)."""
    if path.suffix.lower() in _TENANT_SUFFIXES:
        return False
    try:
        head = msgspec.json.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError):
        return False
    return isinstance(head, dict) and head.get("format") == PLAN_FORMAT


def load_spec(path: Path, aliases: Path | None) -> TenantSpec:
    """The tenant file at `path` (with an aliases CSV for a mailboxes CSV)."""
    return load_tenant(path, aliases=aliases)


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    file: _FILE,
    aliases: _ALIASES = None,
    prune: _PRUNE = False,
    prune_domains: _PRUNE_DOMAINS = False,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="PLAN.json", help="Save the plan, for 'clubsmtp apply PLAN.json'."
    )] = None,
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", help="Exit 0 for no changes, 2 for changes, 1 for an error."
    )] = False,
) -> None:
    """Show what apply would change: a diff by domain, the counts, requests and time."""

    async def command(settings: Settings) -> int:
        spec = load_spec(file, aliases)
        async with open_client(settings) as client:
            p = await plan(client, spec, prune=prune, prune_domains=prune_domains)
        if out is not None:
            p.save(out)
        settings.output.data(p, lambda c: render_plan(c, p))
        if out is not None and not settings.output.json:
            settings.output.say(f"saved to {out}: apply it with 'clubsmtp apply {out}'")
        return 2 if detailed_exitcode and p.has_changes else 0

    run_command(ctx, command, collapse_errors=detailed_exitcode)


@app.command("export")
def export_command(
    ctx: typer.Context,
    domain: Annotated[list[str] | None, typer.Option(
        "--domain", help="Only this domain (repeatable); default: all of them.")] = None,
    format: Annotated[str, typer.Option(
        "--format", help="toml, yaml or json (--json gives json).")] = "toml",
) -> None:
    """Write the live account as a tenant file on stdout (planning it then changes nothing)."""
    if format not in DUMP_FORMATS:
        raise typer.BadParameter(f"{format!r}: use toml, yaml or json", param_hint="--format")

    async def command(settings: Settings) -> None:
        async with open_client(settings) as client:
            spec = await export(client, domains=domain or None)
        if settings.output.json:
            settings.output.write_json(spec)
            return
        header = f"exported from {client.base_url}"
        sys.stdout.write(dump_tenant(spec, format, comment=None if format == "json" else header))
        sys.stdout.flush()

    run_command(ctx, command)
