"""``clubsmtp plan``, ``apply`` and ``export``: views over `clubsmtp_async.onboarding`."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import anyio
import msgspec
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from ..onboarding import (
    DUMP_FORMATS,
    ActionOutcome,
    ApplyProgress,
    ApplyReport,
    CreateMailbox,
    GeneratedPasswords,
    PasswordFile,
    Plan,
    TenantSpec,
    apply,
    dump_tenant,
    eta_text,
    export,
    load_tenant,
    plan,
)
from ..onboarding._plan import PLAN_FORMAT
from ._app import app, run_command
from ._common import confirm, password_sink
from ._exit import CliError, ExitCode
from ._render import render_plan, render_report
from ._session import Output, Settings, open_client

__all__ = ["apply_command", "export_command", "plan_command"]

_FILE = Annotated[Path, typer.Argument(
    metavar="FILE", help="A tenant file (.toml, .yaml, .json) or a mailboxes .csv.")]
_ALIASES = Annotated[Path | None, typer.Option(
    "--aliases", metavar="ALIASES.csv", help="With a mailboxes CSV: the aliases CSV.")]
_PRUNE = Annotated[bool, typer.Option(
    help="Delete the mailboxes and aliases of the file's domains that it does not declare.")]
_PRUNE_DOMAINS = Annotated[bool, typer.Option(
    help="Delete the account's domains the file does not declare, with all they hold.")]


def _is_saved_plan(path: Path) -> bool:
    if path.suffix.lower() != ".json":
        return False
    try:
        head = msgspec.json.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError):
        return False
    return isinstance(head, dict) and head.get("format") == PLAN_FORMAT


def _load(path: Path, aliases: Path | None) -> TenantSpec:
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
        spec = _load(file, aliases)
        async with open_client(settings) as client:
            p = await plan(client, spec, prune=prune, prune_domains=prune_domains)
        if out is not None:
            p.save(out)
        settings.output.data(p, lambda c: render_plan(c, p))
        if out is not None and not settings.output.json:
            settings.output.say(f"saved to {out}: apply it with 'clubsmtp apply {out}'")
        return 2 if detailed_exitcode and p.has_changes else 0

    run_command(ctx, command, collapse_errors=detailed_exitcode)


class _Collector:
    """What an apply has done so far: outcomes and passwords, kept for a partial report."""

    def __init__(self, output: Output, the_plan: Plan, sink: PasswordFile | None) -> None:
        self.output = output
        self.plan = the_plan
        self.sink = sink
        self.outcomes: list[ActionOutcome] = []
        self.passwords: dict[str, str] = {}
        self.progress = Progress(
            TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=output.err, disable=not output.interactive,
        )
        self.tasks: dict[str, TaskID] = {
            layer: self.progress.add_task(layer, total=total)
            for layer, total in the_plan.layer_totals().items() if total
        }

    def on_password(self, address: str, password: str) -> None:
        if self.sink is not None:
            self.sink(address, password)  # on disk before the create is sent
        self.passwords[address] = password

    def on_progress(self, event: ApplyProgress) -> None:
        self.outcomes.append(event.outcome)
        self.progress.update(self.tasks[event.layer], completed=event.layer_done)
        if not self.output.interactive and not self.output.json and \
                event.layer_done == event.layer_total:
            self.output.say(f"{event.layer}: {event.layer_total} done")

    def report(self) -> ApplyReport:
        created = {o.action.subject for o in self.outcomes
                   if isinstance(o.action, CreateMailbox) and o.status == "done"}
        return ApplyReport(plan=self.plan, outcomes=sorted(self.outcomes, key=lambda o: o.index),
                           passwords=GeneratedPasswords(self.passwords).only(created))


async def _stop_on_signal(scope: anyio.CancelScope, interrupted: list[bool]) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            interrupted.append(True)
            scope.cancel()
            return


async def _run_apply(client: Any, the_plan: Plan, collector: _Collector,
                     concurrency: int) -> bool:
    """Apply; True if it was interrupted by SIGINT or SIGTERM (in-flight requests cancelled)."""
    interrupted: list[bool] = []
    with collector.progress:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_stop_on_signal, tg.cancel_scope, interrupted)
            await apply(client, the_plan, concurrency=concurrency,
                        on_progress=collector.on_progress, on_password=collector.on_password)
            tg.cancel_scope.cancel()
    return bool(interrupted)


def _finish(settings: Settings, report: ApplyReport, interrupted: bool,
            sink: PasswordFile | None) -> int:
    output = settings.output
    if output.json:
        document = report.to_json(include_passwords=sink is None)
        document["interrupted"] = interrupted
        output.write_json(document)
    else:
        render_report(output.err, report)
        if sink is not None and len(report.passwords):
            output.say(f"{len(report.passwords)} generated password(s) written to {sink.path}")
    if interrupted:
        output.fail("interrupted: run the same apply again to finish it", ExitCode.INTERRUPTED)
        return ExitCode.INTERRUPTED
    if not report.ok:
        output.say("[yellow]some actions did not succeed:[/] fix the cause and run apply again")
        return ExitCode.PARTIAL
    return ExitCode.OK


@app.command("apply")
def apply_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(
        metavar="FILE|PLAN.json", help="A tenant file, or a plan saved by 'clubsmtp plan --out'.")],
    aliases: _ALIASES = None,
    prune: _PRUNE = False,
    prune_domains: _PRUNE_DOMAINS = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    passwords_file: Annotated[Path | None, typer.Option(
        help="Append generated passwords to this CSV file (created 0600).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Actions in flight at once.")] = 32,
) -> None:
    """Make the account match a tenant file (or execute a saved plan), with progress."""

    async def command(settings: Settings) -> int:
        saved = _is_saved_plan(file)
        if saved and (aliases is not None or prune or prune_domains):
            raise CliError("--aliases, --prune and --prune-domains belong to the saved plan: "
                           "plan again with them", ExitCode.USAGE)
        spec = None if saved else _load(file, aliases)
        async with open_client(settings) as client:
            if spec is None:
                the_plan = Plan.load(file)
                the_plan.check(str(file), base_url=client.base_url)
            else:
                the_plan = await plan(client, spec, prune=prune, prune_domains=prune_domains)
            if not settings.output.json:
                render_plan(settings.output.err, the_plan)
            if not the_plan.has_changes:
                if settings.output.json:
                    settings.output.write_json(ApplyReport(plan=the_plan).to_json())
                return ExitCode.OK
            generated = sum(1 for a in the_plan.actions
                            if isinstance(a, CreateMailbox) and a.password is None)
            sink = password_sink(settings, passwords_file, generated)
            eta = eta_text(the_plan.estimated_seconds)
            confirm(settings, f"Apply these {len(the_plan.actions)} change(s), "
                    f"{the_plan.requests} request(s), about {eta}?", yes=yes)
            collector = _Collector(settings.output, the_plan, sink)
            try:
                interrupted = await _run_apply(client, the_plan, collector, concurrency)
            finally:
                if sink is not None:
                    sink.close()
        return _finish(settings, collector.report(), interrupted, sink)

    run_command(ctx, command)


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
