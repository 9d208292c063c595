"""``clubsmtp apply``: show the plan, ask, apply with progress per layer, report.

SIGINT and SIGTERM, at any point of the command, cancel what is in flight; the
partial report is printed and the exit code is 130. Generated passwords go to
``--passwords-file`` (each line on disk before its create is sent) or, with
``--json``, into the report on stdout — never to the terminal or stderr.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio
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
    ActionOutcome,
    ApplyProgress,
    ApplyReport,
    CreateMailbox,
    PasswordFile,
    PasswordStatus,
    Plan,
    apply,
    eta_text,
    plan,
)
from ..onboarding._apply import kept_passwords
from ._app import app, run_command
from ._common import confirm, password_sink
from ._exit import CliError, ExitCode
from ._onboarding import _ALIASES, _PRUNE, _PRUNE_DOMAINS, is_saved_plan, load_spec
from ._render import render_plan, render_report
from ._session import Output, Settings, open_client

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["apply_command"]


class _Run:
    """One apply: the plan, the outcomes so far and the generated passwords, for the report."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.plan: Plan | None = None
        self.sink: PasswordFile | None = None
        self.outcomes: list[ActionOutcome] = []
        self.passwords: dict[str, str] = {}
        self.statuses: dict[str, PasswordStatus] = {}
        self.progress = Progress(
            TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=output.err, disable=not output.interactive,
        )
        self.tasks: dict[str, TaskID] = {}

    def start(self, the_plan: Plan) -> None:
        self.plan = the_plan
        self.tasks = {layer: self.progress.add_task(layer, total=total)
                      for layer, total in the_plan.layer_totals().items() if total}

    async def on_password(self, address: str, password: str, status: PasswordStatus) -> None:
        if self.sink is not None:
            await self.sink(address, password, status)  # on disk before the create is sent
        self.passwords[address] = password
        self.statuses[address] = status

    def on_progress(self, event: ApplyProgress) -> None:
        self.outcomes.append(event.outcome)
        self.progress.update(self.tasks[event.layer], completed=event.layer_done)
        if not self.output.interactive and not self.output.json and \
                event.layer_done == event.layer_total:
            self.output.say(f"{event.layer}: {event.layer_total} done")

    def report(self) -> ApplyReport:
        assert self.plan is not None
        return ApplyReport(plan=self.plan, outcomes=sorted(self.outcomes, key=lambda o: o.index),
                           passwords=kept_passwords(self.passwords, self.statuses))


async def _cancel_on_signal(scope: anyio.CancelScope, interrupted: list[bool]) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            interrupted.append(True)
            scope.cancel()
            return


async def _plan_of(client: AsyncClient, file: Path, saved: bool, aliases: Path | None,
                   prune: bool, prune_domains: bool) -> Plan:
    if saved:
        the_plan = Plan.load(file)
        the_plan.check(str(file), base_url=client.base_url)
        return the_plan
    spec = load_spec(file, aliases)
    return await plan(client, spec, prune=prune, prune_domains=prune_domains)


def _finish(settings: Settings, run: _Run, interrupted: bool) -> int:
    output = settings.output
    if run.plan is None:  # interrupted before anything was planned
        output.fail("interrupted before anything was changed", ExitCode.INTERRUPTED,
                    json_document=True)
        return ExitCode.INTERRUPTED
    report = run.report()
    if output.json:
        document = report.to_json(include_passwords=run.sink is None)
        document["interrupted"] = interrupted
        output.write_json(document)
    else:
        render_report(output.err, report)
        if run.sink is not None and len(report.passwords):
            output.say(f"{len(report.passwords)} generated password(s) written to "
                       f"{run.sink.path}")
    if interrupted:
        output.fail("interrupted: run the same apply again to finish it", ExitCode.INTERRUPTED,
                    json_document=False)
        return ExitCode.INTERRUPTED
    if not report.ok:
        output.say("some actions did not succeed: fix the cause and run apply again")
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

    async def steps(settings: Settings, run: _Run) -> None:
        saved = is_saved_plan(file)
        if saved and (aliases is not None or prune or prune_domains):
            raise CliError("--aliases, --prune and --prune-domains belong to the saved plan: "
                           "plan again with them", ExitCode.USAGE)
        if not saved:
            load_spec(file, aliases)  # a bad file is reported before connecting
        async with open_client(settings) as client:
            the_plan = await _plan_of(client, file, saved, aliases, prune, prune_domains)
            if not settings.output.json:
                render_plan(settings.output.err, the_plan)
            if not the_plan.has_changes:
                run.start(the_plan)
                return
            generated = sum(1 for a in the_plan.actions
                            if isinstance(a, CreateMailbox) and a.password is None)
            run.sink = password_sink(settings, passwords_file, generated)
            eta = eta_text(the_plan.estimated_seconds)
            await confirm(settings, f"Apply these {len(the_plan.actions)} change(s), "
                          f"{the_plan.requests} request(s), about {eta}?", yes=yes)
            run.start(the_plan)
            with run.progress:
                await apply(client, the_plan, concurrency=concurrency,
                            on_progress=run.on_progress, on_password=run.on_password)

    async def command(settings: Settings) -> int:
        run = _Run(settings.output)
        interrupted: list[bool] = []
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_cancel_on_signal, tg.cancel_scope, interrupted)
                await steps(settings, run)
                tg.cancel_scope.cancel()
        finally:
            if run.sink is not None:
                run.sink.close()
        return _finish(settings, run, bool(interrupted))

    run_command(ctx, command)
