"""Tenant files: every format loads the same spec; every bad file gets one clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clubsmtp_async import ValidationError
from clubsmtp_async.onboarding import (
    AliasSpec,
    DomainSpec,
    MailboxSpec,
    PasswordSource,
    TenantFileError,
    TenantSpec,
    check_tenant,
    dump_tenant,
    load_tenant,
    parse_tenant,
)

from .conftest import ENV, TENANT_TOML

YAML = """\
domains:
  - name: Acme.Example
    mailboxes:
      - local_part: alice
        storage_gb: 20
        whitelist: ["*@trusted.example"]
        blacklist: ["*@spam.example"]
      - local_part: bob
        enabled: false
        password: {env: BOB_PASSWORD}
      - local_part: carol
        password: {file: secrets/carol.txt}
        whitelist: []
    aliases:
      - local_part: info
        forward_to: [alice, bob]
  - name: beta.example
    mailboxes:
      - {local_part: dave, storage_gb: 5}
    aliases:
      - {local_part: team, forward_to: [dave]}
"""

MAILBOXES_CSV = """\
address,storage_gb,enabled,password,whitelist,blacklist
alice@Acme.Example,20,,,*@trusted.example,*@spam.example
bob@acme.example,,false,env:BOB_PASSWORD,,
carol@acme.example,,,file:secrets/carol.txt,[],
dave@beta.example,5,,,,
"""

ALIASES_CSV = """\
address,forward_to
info@acme.example,alice;bob
team@beta.example,dave
"""


def _expected(folder: Path) -> TenantSpec:
    carol_file = str((folder / "secrets" / "carol.txt").resolve())
    return TenantSpec(domains=(
        DomainSpec(
            name="acme.example",
            mailboxes=(
                MailboxSpec(local_part="alice", storage_gb=20, whitelist=("*@trusted.example",),
                            blacklist=("*@spam.example",)),
                MailboxSpec(local_part="bob", enabled=False,
                            password=PasswordSource(env="BOB_PASSWORD")),
                MailboxSpec(local_part="carol", password=PasswordSource(file=carol_file),
                            whitelist=()),
            ),
            aliases=(AliasSpec(local_part="info", forward_to=("alice", "bob")),),
        ),
        DomainSpec(
            name="beta.example",
            mailboxes=(MailboxSpec(local_part="dave", storage_gb=5),),
            aliases=(AliasSpec(local_part="team", forward_to=("dave",)),),
        ),
    ))


def test_toml_yaml_json_and_csv_load_the_same_spec(tenant_dir: Path) -> None:
    (tenant_dir / "tenant.yaml").write_text(YAML)
    toml_spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    (tenant_dir / "tenant.json").write_text(dump_tenant(toml_spec, "json"))
    (tenant_dir / "mailboxes.csv").write_text(MAILBOXES_CSV)
    (tenant_dir / "aliases.csv").write_text(ALIASES_CSV)

    expected = _expected(tenant_dir)
    assert toml_spec == expected
    assert load_tenant(tenant_dir / "tenant.yaml", environ=ENV) == expected
    assert load_tenant(tenant_dir / "tenant.json", environ=ENV) == expected
    csv_spec = load_tenant(tenant_dir / "mailboxes.csv", aliases=tenant_dir / "aliases.csv",
                           environ=ENV)
    assert csv_spec == expected


def test_dumped_toml_and_yaml_load_back(tenant_dir: Path) -> None:
    spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    for fmt in ("toml", "yaml", "json"):
        text = dump_tenant(spec, fmt, comment="exported\nby a test")
        assert parse_tenant(text, fmt, environ=ENV) == spec


def test_schema_key_is_accepted_and_a_bom_is_ignored(tmp_path: Path) -> None:
    body = {"$schema": "./tenant.schema.json", "domains": [{"name": "a.example"}]}
    path = tmp_path / "t.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(body).encode())
    assert load_tenant(path).domains == (DomainSpec(name="a.example"),)


def test_idna_names_are_normalised() -> None:
    spec = parse_tenant('[[domains]]\nname = "Bücher.Example."\n', "toml")
    assert spec.domains[0].name == "xn--bcher-kva.example"


def _error(text: str, fmt: str = "toml", **kwargs: object) -> TenantFileError:
    with pytest.raises(TenantFileError) as caught:
        parse_tenant(text, fmt, source="t." + fmt, environ=kwargs.pop("environ", {}), **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValidationError)
    return caught.value


MAILBOX = '[[domains]]\nname = "acme.example"\n[[domains.mailboxes]]\nlocal_part = "alice"\n'


@pytest.mark.parametrize(
    ("text", "location", "problem"),
    [
        ("[[domains]]\nname = 3\n", "domains[0].name", "expected `str`, got `int` (3)"),
        (MAILBOX + "storage_gb = 0\n", "domains[0].mailboxes[0].storage_gb",
         "expected `int` >= 1, got 0"),
        (MAILBOX + 'storage_gb = "20"\n', "domains[0].mailboxes[0].storage_gb",
         "expected `int`, got `str` ('20')"),
        (MAILBOX + "enabled = 1\n", "domains[0].mailboxes[0].enabled", "got `int` (1)"),
        (MAILBOX + "quota = 3\n", "domains[0].mailboxes[0]",
         "unknown key 'quota' (expected one of: local_part, storage_gb, enabled, password"),
        ('[[domain]]\nname = "a.example"\n', "(top level)", "unknown key 'domain'"),
        (MAILBOX + 'whitelist = "*@a.example"\n', "domains[0].mailboxes[0].whitelist",
         "expected `array`, got `str`"),
        (MAILBOX + 'whitelist = ["*@a.example", "*@A.example"]\n',
         "domains[0].mailboxes[0].whitelist[1]", "listed twice"),
        (MAILBOX + 'whitelist = ["two words"]\n', "domains[0].mailboxes[0].whitelist[0]",
         "without spaces"),
        (MAILBOX + '[[domains.mailboxes]]\nlocal_part = "ALICE"\n',
         "domains[0].mailboxes[1].local_part", "alice@acme.example is declared twice"),
        (MAILBOX + '[[domains.aliases]]\nlocal_part = "alice"\nforward_to = ["alice"]\n',
         "domains[0].aliases[0].local_part", "declared twice"),
        (MAILBOX + '[[domains.aliases]]\nlocal_part = "info"\nforward_to = ["bob"]\n',
         "domains[0].aliases[0].forward_to[0]", "bob is not a mailbox declared on acme.example"),
        (MAILBOX + '[[domains.aliases]]\nlocal_part = "info"\nforward_to = []\n',
         "domains[0].aliases[0].forward_to", "length >= 1"),
        (MAILBOX + '[[domains.aliases]]\nlocal_part = "a"\nforward_to = ["alice"]\n'
         '[[domains.aliases]]\nlocal_part = "b"\nforward_to = ["a"]\n',
         "domains[0].aliases[1].forward_to[0]", "is an alias"),
        (MAILBOX + '[[domains.aliases]]\nlocal_part = "info"\nforward_to = ["alice", "Alice"]\n',
         "domains[0].aliases[0].forward_to[1]", "alice is listed twice"),
        (MAILBOX + '[[domains.aliases]]\nlocal_part = "info"\nforward_to = ["x@not a domain"]\n',
         "domains[0].aliases[0].forward_to[0]", "is not a fully-qualified domain name"),
        ('[[domains]]\nname = "localhost"\n', "domains[0].name", "not a fully-qualified"),
        ('[[domains]]\nname = "a.example"\n[[domains]]\nname = "A.example"\n',
         "domains[1].name", "declared twice (also domains[0])"),
        ('[[domains]]\nname = "a.example"\n[[domains.mailboxes]]\nlocal_part = "a b"\n',
         "domains[0].mailboxes[0].local_part", "not a valid local part"),
        (MAILBOX + 'password = { env = "NOPE" }\n', "domains[0].mailboxes[0].password.env",
         "environment variable NOPE is not set"),
        (MAILBOX + 'password = { file = "missing.txt" }\n',
         "domains[0].mailboxes[0].password.file", "no password file at"),
        (MAILBOX + 'password = { env = "A", file = "b" }\n', "domains[0].mailboxes[0].password",
         "exactly one of"),
        (MAILBOX + "password = {}\n", "domains[0].mailboxes[0].password", "exactly one of"),
    ],
)
def test_bad_files_name_the_place_and_the_problem(text: str, location: str, problem: str) -> None:
    error = _error(text)
    assert error.location == location
    assert problem in error.problem
    assert str(error).startswith(f"t.toml: {location}: ")


def test_a_plaintext_password_is_refused_and_never_quoted() -> None:
    error = _error(MAILBOX + 'password = "hunter2-secret"\n')
    assert error.location == "domains[0].mailboxes[0].password"
    assert "hunter2" not in str(error)
    assert "env" in error.problem


def test_syntax_errors_give_the_line() -> None:
    assert "line 2" in str(_error('[[domains]]\nname = "a\n'))
    assert "line 3" in str(_error("domains:\n  - name: a\n bad: [\n", "yaml"))
    assert "line 2, column" in str(_error('{"domains":\n  [}', "json"))
    assert "expected a table of domains" in str(_error("[1, 2]", "json"))
    assert "empty" in str(_error("", "yaml"))


def test_unreadable_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(TenantFileError, match="cannot read it"):
        load_tenant(tmp_path / "absent.toml")
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(TenantFileError, match="unknown format"):
        load_tenant(tmp_path / "t.txt")
    (tmp_path / "t.toml").write_bytes(b'name = "\xff"\n')
    with pytest.raises(TenantFileError, match="not UTF-8"):
        load_tenant(tmp_path / "t.toml")
    (tmp_path / "t2.toml").write_text(TENANT_TOML)
    with pytest.raises(TenantFileError, match="aliases CSV goes with a mailboxes CSV"):
        load_tenant(tmp_path / "t2.toml", aliases=tmp_path / "a.csv")


def test_password_files_are_relative_to_the_tenant_file(tenant_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path.parent)
    spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    source = spec.domains[0].mailboxes[2].password
    assert source is not None
    assert source.file is not None
    assert Path(source.file) == (tenant_dir / "secrets" / "carol.txt").resolve()


@pytest.mark.parametrize(
    ("mailboxes", "location", "problem"),
    [
        ("address\nalice@acme.example\nnot-an-address\n", "line 3, address", "not an address"),
        ("address,storage_gb\nalice@acme.example,ten\n", "line 2, storage_gb",
         "whole number of GB from 1 to 2147483647, got 'ten'"),
        ("address,enabled\nalice@acme.example,maybe\n", "line 2, enabled", "true or false"),
        ("address,password\nalice@acme.example,S3cret-plain\n", "line 2, password",
         "plaintext passwords are not accepted"),
        ("address,password\nalice@acme.example,env:UNSET_VAR\n", "line 2, password",
         "UNSET_VAR is not set"),
        ("address,colour\nalice@acme.example,red\n", "line 1", "unknown column 'colour'"),
        ("storage_gb\n3\n", "line 1", "no 'address' column"),
        ("address,address\na@b.example,a@b.example\n", "line 1", "named twice"),
        ("address\nalice@acme.example,extra\n", "line 2", "2 cells"),
        ("address\nalice@acme.example\n\nALICE@acme.example\n", "line 4, address",
         "declared twice"),
        ("address,whitelist\nalice@acme.example,a b\n", "line 2, whitelist", "without spaces"),
    ],
)
def test_bad_csv_names_the_line(tmp_path: Path, mailboxes: str, location: str,
                                problem: str) -> None:
    path = tmp_path / "mailboxes.csv"
    path.write_text(mailboxes)
    with pytest.raises(TenantFileError) as caught:
        load_tenant(path, environ={})
    assert caught.value.source == str(path)
    assert caught.value.location == location
    assert problem in caught.value.problem
    assert "S3cret-plain" not in str(caught.value)


def test_bad_aliases_csv_names_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("address\nalice@acme.example\n")
    (tmp_path / "a.csv").write_text("address,forward_to\ninfo@acme.example,alice\n"
                                    "team@acme.example,bob\n")
    with pytest.raises(TenantFileError) as caught:
        load_tenant(tmp_path / "m.csv", aliases=tmp_path / "a.csv")
    assert caught.value.source == str(tmp_path / "a.csv")
    assert caught.value.location == "line 3, forward_to"
    (tmp_path / "a.csv").write_text("address,forward_to\ninfo@acme.example,\n")
    with pytest.raises(TenantFileError, match="line 2, forward_to"):
        load_tenant(tmp_path / "m.csv", aliases=tmp_path / "a.csv")


def test_check_tenant_validates_specs_built_in_code() -> None:
    spec = TenantSpec(domains=(DomainSpec(name="Acme.Example", mailboxes=(
        MailboxSpec(local_part="Alice", whitelist=("*@X.example",)),)),))
    checked = check_tenant(spec)
    assert checked.domains[0].name == "acme.example"
    assert checked.domains[0].mailboxes[0].local_part == "alice"
    assert checked.domains[0].mailboxes[0].whitelist == ("*@x.example",)
    with pytest.raises(TenantFileError, match=r"<spec>: domains\[0\]\.name"):
        check_tenant(TenantSpec(domains=(DomainSpec(name="nope"),)))
    with pytest.raises(TenantFileError, match="expected a TenantSpec"):
        check_tenant({"domains": []})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "fmt", "problem"),
    [
        ("domains:\n  - name: a.example\n    name: b.example\n", "yaml",
         "line 3, column 5: the key 'name' appears twice"),
        ('{"domains": [{"name": "a.example", "name": "b.example"}]}', "json",
         "the key 'name' appears twice"),
        ("domains: &d\n  - name: a.example\nmore: *d\n", "yaml", "aliases (*name) are not"),
        ("[[domains]]\nname = \"a.example\"\nname = \"b.example\"\n", "toml", "not valid TOML"),
        ("", "toml", "declares no domain"),
        ("domains: []\n", "yaml", "declares no domain"),
        ('{"domains": []}', "json", "declares no domain"),
    ],
)
def test_repeated_keys_aliases_and_empty_files_are_refused(text: str, fmt: str,
                                                           problem: str) -> None:
    assert problem in str(_error(text, fmt))


def test_a_yaml_alias_bomb_is_refused_at_once() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20))
    assert "aliases (*name) are not supported" in str(_error(bomb, "yaml"))


def test_values_are_quoted_short() -> None:
    error = _error(MAILBOX + f'storage_gb = "{"9" * 5000}"\n')
    assert len(str(error)) < 200


@pytest.mark.parametrize(
    "spec",
    [
        TenantSpec(domains=(DomainSpec(name="a.example", mailboxes=(
            MailboxSpec(local_part="x", storage_gb=0),)),)),
        TenantSpec(domains=(DomainSpec(name="a.example", mailboxes=(
            MailboxSpec(local_part="x", storage_gb="20"),)),)),  # type: ignore[arg-type]
        TenantSpec(domains=(DomainSpec(name="a.example", mailboxes=(
            MailboxSpec(local_part="x", storage_gb=True),)),)),
        TenantSpec(domains=(DomainSpec(name="a.example", mailboxes=(
            MailboxSpec(local_part="x", enabled="false"),)),)),  # type: ignore[arg-type]
        TenantSpec(domains=(DomainSpec(name="a.example", mailboxes=(
            MailboxSpec(local_part="x", whitelist="*@x.example"),)),)),  # type: ignore[arg-type]
        TenantSpec(domains=(DomainSpec(name="a.example", mailboxes=(
            MailboxSpec(local_part="x", storage_gb=2**40),)),)),
    ],
)
def test_specs_built_in_code_get_the_file_checks(spec: TenantSpec) -> None:
    with pytest.raises(TenantFileError, match=r"<spec>: domains\[0\]\.mailboxes\[0\]\."):
        check_tenant(spec)


@pytest.mark.parametrize(
    ("mailboxes", "location", "problem"),
    [
        ("address,storage_gb\nalice@acme.example,²\n", "line 2, storage_gb", "got '²'"),
        ("address,storage_gb\nalice@acme.example,٣\n", "line 2, storage_gb", "got '٣'"),
        ("address,whitelist\nalice@acme.example,;\n", "line 2, whitelist", "no pattern in"),
        ("address\nalice@acme.example\nALICE@acme.example\n", "line 3, address",
         "declared twice (also line 2)"),
        ("address,storage_gb\n", "", "declares no mailbox"),
    ],
)
def test_more_bad_csv(tmp_path: Path, mailboxes: str, location: str, problem: str) -> None:
    path = tmp_path / "mailboxes.csv"
    path.write_text(mailboxes)
    with pytest.raises(TenantFileError) as caught:
        load_tenant(path, environ={})
    assert caught.value.location == location
    assert problem in caught.value.problem


DEEP = "[" * 5_000 + "]" * 5_000


@pytest.mark.parametrize(("text", "fmt"), [
    ('{"domains": ' + DEEP + "}", "json"),
    ("domains: " + DEEP + "\n", "yaml"),
    ("domains = " + DEEP + "\n", "toml"),
])
def test_a_file_nested_too_deeply_is_a_tenant_file_error(text: str, fmt: str) -> None:
    with pytest.raises(TenantFileError):
        parse_tenant(text, fmt, source="deep")
