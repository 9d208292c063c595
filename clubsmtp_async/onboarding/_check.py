"""Validation and normalisation of a decoded `TenantSpec`, with the place of each problem.

The rules are the SDK's own (`clubsmtp_async._validation`): names are
converted to their ASCII (IDNA) form and lower-cased, local parts and sender
patterns lower-cased, as the API compares them. Beyond single values, a spec
must be consistent: no domain twice, no address twice on a domain (mailbox or
alias), no pattern twice in a list, aliases forwarding only to mailboxes, and
every password source usable (the variable is set, the file exists).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from .._errors import ValidationError
from .._models import NewListEntry
from .._validation import checked_list_entry, domain_name, local_part
from ._errors import TenantFileError
from ._locate import convert_spec, short
from ._spec import AliasSpec, DomainSpec, MailboxSpec, PasswordSource, TenantSpec

__all__ = ["check_tenant", "split_address"]


def split_address(address: str, where: str) -> tuple[str, str]:
    """``(local_part, domain)`` of a full address, normalised.

    Raises:
        ValidationError: if it is not ``local@domain`` with a valid local part and domain.

    """
    local, at, domain = address.rpartition("@")
    if not at:
        raise ValidationError(f"{where} {short(address)} is not an address (local@domain)")
    return local_part(local, where).lower(), domain_name(domain, where)


class _Checker:
    """Walks a spec once, collecting the normalised copy."""

    def __init__(self, source: str, base_dir: Path | None,
                 environ: Mapping[str, str] | None) -> None:
        self.source = source
        self.base_dir = base_dir
        self.environ = environ  # None: password sources are not checked

    def fail(self, location: str, problem: str) -> TenantFileError:
        return TenantFileError(self.source, location, problem)

    def tenant(self, spec: TenantSpec) -> TenantSpec:
        seen: dict[str, int] = {}
        domains = []
        for index, domain in enumerate(spec.domains):
            where = f"domains[{index}]"
            checked = self.domain(domain, where)
            if checked.name in seen:
                raise self.fail(
                    f"{where}.name", f"domain {checked.name} is declared twice "
                    f"(also domains[{seen[checked.name]}])"
                )
            seen[checked.name] = index
            domains.append(checked)
        return TenantSpec(domains=tuple(domains))

    def domain(self, domain: DomainSpec, where: str) -> DomainSpec:
        try:
            name = domain_name(domain.name, "name")
        except ValidationError as exc:
            raise self.fail(f"{where}.name", str(exc)) from None
        addresses: dict[str, str] = {}
        mailboxes = tuple(
            self.mailbox(m, f"{where}.mailboxes[{i}]", name, addresses)
            for i, m in enumerate(domain.mailboxes)
        )
        mailbox_locals = {m.local_part for m in mailboxes}
        alias_locals = set()
        aliases = []
        for i, alias in enumerate(domain.aliases):
            checked = self.alias(alias, f"{where}.aliases[{i}]", name, addresses)
            alias_locals.add(checked.local_part)
            aliases.append(checked)
        for i, alias in enumerate(aliases):
            self.targets(alias, f"{where}.aliases[{i}].forward_to", name, mailbox_locals,
                         alias_locals)
        return DomainSpec(name=name, mailboxes=mailboxes, aliases=tuple(aliases))

    def local(self, value: str, location: str, domain: str, addresses: dict[str, str]) -> str:
        try:
            local = local_part(value).lower()
        except ValidationError as exc:
            raise self.fail(location, str(exc)) from None
        if local in addresses:
            raise self.fail(
                location, f"{local}@{domain} is declared twice (also {addresses[local]})"
            )
        addresses[local] = location.rpartition(".")[0]
        return local

    def mailbox(
        self, mailbox: MailboxSpec, where: str, domain: str, addresses: dict[str, str]
    ) -> MailboxSpec:
        return msgspec.structs.replace(
            mailbox,
            local_part=self.local(mailbox.local_part, f"{where}.local_part", domain, addresses),
            password=self.password(mailbox.password, f"{where}.password"),
            whitelist=self.patterns(mailbox.whitelist, f"{where}.whitelist"),
            blacklist=self.patterns(mailbox.blacklist, f"{where}.blacklist"),
        )

    def patterns(self, patterns: tuple[str, ...] | None, where: str) -> tuple[str, ...] | None:
        if patterns is None:
            return None
        seen: dict[str, int] = {}
        for index, pattern in enumerate(patterns):
            try:
                checked = checked_list_entry(NewListEntry(pattern=pattern)).pattern.lower()
            except ValidationError as exc:
                raise self.fail(f"{where}[{index}]", str(exc)) from None
            if checked in seen:
                also = seen[checked]
                raise self.fail(f"{where}[{index}]", f"pattern {checked} is listed twice "
                                f"(also [{also}])")
            seen[checked] = index
        return tuple(seen)

    def password(self, source: PasswordSource | None, where: str) -> PasswordSource | None:
        if source is None:
            return None
        environ = self.environ
        checking = environ is not None
        if source.env is not None:
            if environ is not None and not environ.get(source.env):
                raise self.fail(f"{where}.env", f"environment variable {source.env} is not set")
            return source
        assert source.file is not None  # PasswordSource holds exactly one
        path = Path(source.file).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        if checking and not path.is_file():
            raise self.fail(f"{where}.file", f"no password file at {path}")
        return PasswordSource(file=str(path.resolve()))

    def alias(
        self, alias: AliasSpec, where: str, domain: str, addresses: dict[str, str]
    ) -> AliasSpec:
        local = self.local(alias.local_part, f"{where}.local_part", domain, addresses)
        targets: list[str] = []
        for index, target in enumerate(alias.forward_to):
            location = f"{where}.forward_to[{index}]"
            normal = self.target(target, location)
            if normal in targets:
                raise self.fail(location, f"{normal} is listed twice")
            targets.append(normal)
        return AliasSpec(local_part=local, forward_to=tuple(targets))

    def target(self, target: str, location: str) -> str:
        try:
            if "@" not in target:
                return local_part(target, "forward_to").lower()
            local, domain = split_address(target, "forward_to")
        except ValidationError as exc:
            raise self.fail(location, str(exc)) from None
        return f"{local}@{domain}"

    def targets(
        self, alias: AliasSpec, where: str, domain: str, mailboxes: set[str], aliases: set[str]
    ) -> None:
        for index, target in enumerate(alias.forward_to):
            local, at, target_domain = target.partition("@")
            if target_domain not in ("", domain):
                continue  # another domain: checked against the account when planning
            if local in aliases:
                raise self.fail(
                    f"{where}[{index}]",
                    f"{local}@{domain} is an alias; aliases forward to mailboxes only",
                )
            # A full address may name a mailbox that exists without being declared:
            # that is checked against the account when planning.
            if not at and local not in mailboxes:
                raise self.fail(
                    f"{where}[{index}]", f"{local} is not a mailbox declared on {domain}"
                )


def check_tenant(
    spec: TenantSpec,
    *,
    source: str = "<spec>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    check_sources: bool = True,
) -> TenantSpec:
    """Validate a spec and return its normalised copy.

    Args:
        spec: As decoded (or built in code).
        source: The file it came from, for messages.
        base_dir: Relative password files are resolved against this folder
            (default: the current directory).
        environ: Where ``{ env = ... }`` sources are looked up (default: `os.environ`).
        check_sources: Check that each password variable is set and each file
            exists (apply checks again, before sending anything).

    Returns:
        The spec with names in ASCII lower case and password files as absolute paths.

    Raises:
        TenantFileError: naming the first problem and where it is.

    """
    if not isinstance(spec, TenantSpec):
        raise TenantFileError(source, "", f"expected a TenantSpec, got {type(spec).__name__}")
    # A spec built in code skipped the type and range checks of decoding: run them now.
    spec = convert_spec(msgspec.to_builtins(spec), source)
    env = (os.environ if environ is None else environ) if check_sources else None
    checker = _Checker(source, base_dir, env)
    return checker.tenant(spec)
