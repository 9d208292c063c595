"""``clubsmtp mailboxes …``, ``clubsmtp whitelist …`` and ``clubsmtp blacklist …``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._errors import ClubSMTPError
from .._models import ListEntry, Mailbox, NewMailbox
from .._retry import is_ambiguous
from ..onboarding import generate_password
from ._app import app, run_command, show
from ._common import confirm, password_sink, read_password
from ._lookup import find_domain, find_entry, find_mailbox, split_address
from ._render import render_entries, render_mailboxes
from ._session import Settings, open_client

if TYPE_CHECKING:
    from rich.console import Console

    from .._client import AsyncClient

__all__ = ["blacklist", "mailboxes", "whitelist"]

mailboxes = typer.Typer(name="mailboxes", help="Mailboxes (IMAP/SMTP accounts).",
                        no_args_is_help=True)
app.add_typer(mailboxes)

_MAILBOX = Annotated[str, typer.Argument(metavar="MAILBOX", help="A mailbox address or UUID.")]


def _render_mailbox(console: Console, mailbox: Mailbox) -> None:
    render_mailboxes(console, [mailbox])


@mailboxes.command("list")
def list_mailboxes(
    ctx: typer.Context,
    domain: Annotated[str | None, typer.Option(help="Only this domain's (name or UUID).")] = None,
) -> None:
    """List the mailboxes."""

    async def fetch(client: AsyncClient) -> list[Mailbox]:
        uuid = None if domain is None else (await find_domain(client, domain)).uuid
        return await client.mailboxes.list(uuid)

    show(ctx, fetch, render_mailboxes)


@mailboxes.command("create")
def create_mailbox(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The new address, e.g. alice@acme.example.")],
    storage_gb: Annotated[int | None, typer.Option(
        min=1, help="The quota in GB (default: the server's, 10).")] = None,
    password_file: Annotated[Path | None, typer.Option(
        help="Read the password from this file ('-': stdin); else one is generated.",
    )] = None,
    passwords_file: Annotated[Path | None, typer.Option(
        help="Append a generated password to this CSV file (created 0600).",
    )] = None,
) -> None:
    """Create a mailbox; a generated password goes to --passwords-file or the JSON output."""
    local, domain_ref = split_address(address)

    async def command(settings: Settings) -> None:
        password = None if password_file is None else read_password(password_file)
        sink = password_sink(settings, passwords_file, generated=int(password is None))
        async with open_client(settings) as client:
            domain = await find_domain(client, domain_ref)
            full = f"{local.lower()}@{domain.name}"
            if password is None:
                password = generate_password()
                if sink is not None:
                    sink.write(full, password, "pending")  # on disk before the create is sent
            try:
                mailbox = await client.mailboxes.create_from(NewMailbox(
                    domain_uuid=domain.uuid, local_part=local, password=password,
                    storage_gb=storage_gb,
                ))
            except ClubSMTPError as exc:
                if sink is not None and not is_ambiguous(exc):
                    sink.write(full, password, "not-created")
                raise
            else:
                if sink is not None:
                    sink.write(full, password, "created")
            finally:
                if sink is not None:
                    sink.close()
        result: Any = mailbox
        if password_file is None and sink is None:  # --json: the one place it is shown
            result = {"mailbox": mailbox, "password": password}
        settings.output.data(result, lambda console: _render_mailbox(console, mailbox))

    run_command(ctx, command)


@mailboxes.command("get")
def get_mailbox(ctx: typer.Context, mailbox: _MAILBOX) -> None:
    """Show a mailbox."""
    show(ctx, lambda client: find_mailbox(client, mailbox), _render_mailbox)


@mailboxes.command("update")
def update_mailbox(
    ctx: typer.Context,
    mailbox: _MAILBOX,
    storage_gb: Annotated[int | None, typer.Option(min=1, help="The new quota in GB.")] = None,
    enabled: Annotated[bool | None, typer.Option(
        "--enable/--disable", help="Re-enable or suspend the mailbox.", show_default=False,
    )] = None,
) -> None:
    """Change a mailbox's quota, or suspend or re-enable it."""
    if storage_gb is None and enabled is None:
        raise typer.BadParameter("give --storage-gb, --enable or --disable")

    async def fetch(client: AsyncClient) -> Mailbox:
        found = await find_mailbox(client, mailbox)
        return await client.mailboxes.update(found.uuid, enabled=enabled, storage_gb=storage_gb)

    show(ctx, fetch, _render_mailbox)


@mailboxes.command("delete")
def delete_mailbox(
    ctx: typer.Context, mailbox: _MAILBOX,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a mailbox and all its mail. Cannot be undone."""

    async def command(settings: Settings) -> None:
        async with open_client(settings) as client:
            found = await find_mailbox(client, mailbox)
            await confirm(settings, f"Delete {found.address} and all its mail?", yes=yes)
            await client.mailboxes.delete(found.uuid)
        settings.output.data({"deleted": found.uuid, "address": found.address},
                             lambda console: console.print(f"deleted {found.address}"))

    run_command(ctx, command)


def _sender_list(kind: str, meaning: str) -> typer.Typer:
    group = typer.Typer(name=kind, help=f"A mailbox's {kind}: senders whose mail it {meaning}.",
                        no_args_is_help=True)

    def render(console: Console, entries: list[ListEntry]) -> None:
        render_entries(console, kind, entries)

    @group.command("list")
    def list_entries(ctx: typer.Context, mailbox: _MAILBOX) -> None:
        """List the entries, oldest first."""

        async def fetch(client: AsyncClient) -> list[ListEntry]:
            found = await find_mailbox(client, mailbox)
            entries: list[ListEntry] = await getattr(client.mailboxes, kind).list(found.uuid)
            return entries

        show(ctx, fetch, render)

    @group.command("add")
    def add_entries(
        ctx: typer.Context, mailbox: _MAILBOX,
        patterns: Annotated[list[str], typer.Argument(help="Sender patterns, e.g. '*@a.example'.")],
    ) -> None:
        """Add one or more sender patterns."""

        async def fetch(client: AsyncClient) -> list[ListEntry]:
            found = await find_mailbox(client, mailbox)
            sender_list = getattr(client.mailboxes, kind)
            return [await sender_list.add(found.uuid, pattern=p) for p in patterns]

        show(ctx, fetch, render)

    @group.command("remove")
    def remove_entries(
        ctx: typer.Context, mailbox: _MAILBOX,
        entries: Annotated[list[str], typer.Argument(help="Patterns or entry UUIDs.")],
    ) -> None:
        """Remove one or more entries, by pattern or UUID."""

        async def fetch(client: AsyncClient) -> dict[str, Any]:
            found = await find_mailbox(client, mailbox)
            removed = []
            for ref in entries:
                entry = await find_entry(client, kind, found, ref)
                await getattr(client.mailboxes, kind).remove(found.uuid, entry.uuid)
                removed.append(entry)
            return {"mailbox": found.address, "removed": removed}

        def said(console: Console, result: dict[str, Any]) -> None:
            console.print(f"removed {len(result['removed'])} entr(ies) from the {kind} of "
                          f"{result['mailbox']}")

        show(ctx, fetch, said)

    return group


whitelist = _sender_list("whitelist", "accepts")
blacklist = _sender_list("blacklist", "rejects")
app.add_typer(whitelist)
app.add_typer(blacklist)
