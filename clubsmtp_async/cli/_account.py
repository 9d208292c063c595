"""``clubsmtp ping``, ``clubsmtp domains …`` and ``clubsmtp aliases …``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._models import Alias, Domain, Ping
from ._app import app, run_command, show
from ._common import confirm
from ._lookup import find_alias, find_domain, find_mailbox, is_uuid, split_address
from ._render import render_aliases, render_domain, render_domains
from ._session import Settings, open_client

if TYPE_CHECKING:
    from rich.console import Console

    from .._client import AsyncClient

__all__ = ["aliases", "domains", "ping"]

domains = typer.Typer(name="domains", help="The account's domains.", no_args_is_help=True)
aliases = typer.Typer(name="aliases", help="Forwarding aliases.", no_args_is_help=True)
app.add_typer(domains)
app.add_typer(aliases)

_DOMAIN = Annotated[str, typer.Argument(metavar="DOMAIN", help="A domain name or UUID.")]
_ALIAS = Annotated[str, typer.Argument(metavar="ALIAS", help="An alias address or UUID.")]
_YES = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
_ONLY_DOMAIN = Annotated[str | None, typer.Option(help="Only this domain's (name or UUID).")]


def _deleted(console: Console, result: dict[str, Any]) -> None:
    console.print(f"deleted {result.get('name') or result.get('address')}")


def _render_alias(console: Console, alias: Alias) -> None:
    render_aliases(console, [alias])


@app.command()
def ping(ctx: typer.Context) -> None:
    """Check that the API answers and that the key is valid."""

    def render(console: Console, result: Ping) -> None:
        console.print(f"[green]ok[/]: the API answered; server time {result.timestamp}")

    show(ctx, lambda client: client.ping(), render)


@domains.command("list")
def list_domains(ctx: typer.Context) -> None:
    """List the domains, with the state of their DNS records."""
    show(ctx, lambda client: client.domains.list(), render_domains)


@domains.command("create")
def create_domain(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The fully-qualified domain name.")],
) -> None:
    """Add a domain, and show the DNS records to set at its registrar."""
    show(ctx, lambda client: client.domains.create(name=name), render_domain)


@domains.command("get")
def get_domain(ctx: typer.Context, domain: _DOMAIN) -> None:
    """Show a domain and its DNS records."""
    show(ctx, lambda client: find_domain(client, domain), render_domain)


@domains.command("delete")
def delete_domain(ctx: typer.Context, domain: _DOMAIN, yes: _YES = False) -> None:
    """Delete a domain with its mailboxes (and their mail) and aliases. Cannot be undone."""

    async def command(settings: Settings) -> None:
        async with open_client(settings) as client:
            found = await find_domain(client, domain)
            count = len(await client.mailboxes.list(found.uuid))
            await confirm(settings, f"Delete {found.name} with its {count} mailbox(es) and all "
                    "their mail?", yes=yes)
            await client.domains.delete(found.uuid)
        result = {"deleted": found.uuid, "name": found.name}
        settings.output.data(result, lambda console: _deleted(console, result))

    run_command(ctx, command)


@aliases.command("list")
def list_aliases(ctx: typer.Context, domain: _ONLY_DOMAIN = None) -> None:
    """List the aliases and where they forward."""

    async def fetch(client: AsyncClient) -> list[Alias]:
        found = await client.aliases.list()
        if domain is None:
            return found
        wanted: Domain = await find_domain(client, domain)
        return [a for a in found if a.domain_uuid.lower() == wanted.uuid.lower()]

    show(ctx, fetch, render_aliases)


@aliases.command("create")
def create_alias(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The alias address, e.g. info@acme.example.")],
    to: Annotated[list[str], typer.Option(
        "--to", help="A mailbox to forward to (address or UUID); repeat for several.",
    )],
) -> None:
    """Create an alias forwarding to one or more mailboxes."""
    local, domain_ref = split_address(address)

    async def fetch(client: AsyncClient) -> Alias:
        found = await find_domain(client, domain_ref)
        targets = [ref if is_uuid(ref) else (await find_mailbox(client, ref)).uuid for ref in to]
        return await client.aliases.create(domain_uuid=found.uuid, local_part=local,
                                           mailbox_uuids=targets)

    show(ctx, fetch, _render_alias)


@aliases.command("get")
def get_alias(ctx: typer.Context, alias: _ALIAS) -> None:
    """Show an alias and where it forwards."""
    show(ctx, lambda client: find_alias(client, alias), _render_alias)


@aliases.command("delete")
def delete_alias(ctx: typer.Context, alias: _ALIAS) -> None:
    """Delete an alias (the mailboxes it forwards to are not affected)."""

    async def fetch(client: AsyncClient) -> dict[str, Any]:
        found = await find_alias(client, alias)
        await client.aliases.delete(found.uuid)
        return {"deleted": found.uuid, "address": found.address}

    show(ctx, fetch, _deleted)
