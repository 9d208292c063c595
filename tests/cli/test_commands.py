"""Every ``clubsmtp`` command through typer's runner, against the embedded emulator.

Commands share one emulator through ``--emulator-state``, as a user chains them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clubsmtp_async import __version__
from clubsmtp_async.cli import app
from clubsmtp_async.cli._exit import ExitCode

from .conftest import TENANT

runner = CliRunner()


class Cli:
    """``clubsmtp --emulator --emulator-state STATE …`` in process."""

    def __init__(self, state: Path) -> None:
        self.state = state

    def __call__(self, *args: str, code: int = 0, stdin: str | None = None) -> Any:
        argv = ["--emulator", "--emulator-state", str(self.state), "--rpm", "60000", *args]
        result = runner.invoke(app, argv, input=stdin, env={"NO_COLOR": "1", "COLUMNS": "200"})
        assert result.exit_code == code, (args, result.output, result.stderr)
        return result

    def json(self, *args: str, code: int = 0, stdin: str | None = None) -> Any:
        return json.loads(self("--json", *args, code=code, stdin=stdin).stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "state.json")


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"clubsmtp {__version__}"
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in ("ping", "domains", "mailboxes", "whitelist", "blacklist", "aliases", "plan",
                    "apply", "export", "emulator"):
        assert command in result.stdout
    assert "Exit codes: 0 ok" in result.stdout


def test_domains(cli: Cli) -> None:
    created = cli.json("domains", "create", "Acme.Example")
    assert created["name"] == "acme.example"
    assert len(created["dns_records"]) == 6
    assert [d["uuid"] for d in cli.json("domains", "list")] == [created["uuid"]]
    assert cli.json("domains", "get", "acme.example")["uuid"] == created["uuid"]
    assert cli.json("domains", "get", created["uuid"])["name"] == "acme.example"
    shown = cli("domains", "get", "acme.example").stdout
    assert "autodiscover" in shown
    assert "pending" in shown
    cli("domains", "delete", "acme.example", code=ExitCode.USAGE)  # no terminal to ask
    refused = cli("--no-input", "domains", "delete", "acme.example", code=ExitCode.USAGE)
    assert "pass --yes" in refused.stderr
    assert cli.json("domains", "delete", "acme.example", "--yes")["name"] == "acme.example"
    assert cli.json("domains", "list") == []
    missing = cli("domains", "get", "acme.example", code=ExitCode.ERROR)
    assert "no domain acme.example on the account" in missing.stderr


def test_mailboxes_and_sender_lists(cli: Cli, tmp_path: Path) -> None:
    cli("domains", "create", "acme.example")
    secret = tmp_path / "alice.txt"
    secret.write_text("Al1ce-from-a-file\n")
    alice = cli.json("mailboxes", "create", "alice@acme.example", "--storage-gb", "20",
                     "--password-file", str(secret))
    assert (alice["address"], alice["storage_gb"]) == ("alice@acme.example", 20)
    refused = cli("mailboxes", "create", "bob@acme.example", code=ExitCode.USAGE)
    assert "--passwords-file" in refused.stderr
    bob = cli.json("mailboxes", "create", "bob@acme.example")  # --json: the password in it
    assert len(bob["password"]) >= 20
    passwords = tmp_path / "pw.csv"
    cli("mailboxes", "create", "carol@acme.example", "--passwords-file", str(passwords))
    lines = passwords.read_text().splitlines()
    assert lines[0] == "address,password,status"
    assert [line.rpartition(",")[2] for line in lines[1:]] == ["pending", "created"]
    from_stdin = cli.json("mailboxes", "create", "dan@acme.example", "--password-file", "-",
                          stdin="D4n-on-stdin\n")
    assert from_stdin["address"] == "dan@acme.example"

    listed = cli.json("mailboxes", "list", "--domain", "acme.example")
    assert [m["address"] for m in listed] == ["alice@acme.example", "bob@acme.example",
                                             "carol@acme.example", "dan@acme.example"]
    assert cli.json("mailboxes", "get", alice["uuid"])["address"] == "alice@acme.example"
    updated = cli.json("mailboxes", "update", "alice@acme.example", "--disable",
                       "--storage-gb", "30")
    assert (updated["enabled"], updated["storage_gb"]) == (False, 30)
    assert cli.json("mailboxes", "update", "alice@acme.example", "--enable")["enabled"] is True
    cli("mailboxes", "update", "alice@acme.example", code=ExitCode.USAGE)

    for kind in ("whitelist", "blacklist"):
        added = cli.json(kind, "add", "alice@acme.example", "*@a.example", "*@b.example")
        assert [e["pattern"] for e in added] == ["*@a.example", "*@b.example"]
        cli(kind, "remove", "alice@acme.example", "*@A.example", added[1]["uuid"])
        assert cli.json(kind, "list", "alice@acme.example") == []
        cli(kind, "remove", "alice@acme.example", "*@nope.example", code=ExitCode.ERROR)

    cli("mailboxes", "delete", "dan@acme.example", "--yes")
    assert len(cli.json("mailboxes", "list")) == 3


def test_aliases(cli: Cli, tmp_path: Path) -> None:
    cli("domains", "create", "acme.example")
    passwords = str(tmp_path / "pw.csv")
    for name in ("alice", "bob"):
        cli("mailboxes", "create", f"{name}@acme.example", "--passwords-file", passwords)
    bob = cli.json("mailboxes", "get", "bob@acme.example")
    alias = cli.json("aliases", "create", "info@acme.example", "--to", "alice@acme.example",
                     "--to", bob["uuid"])
    assert [t["address"] for t in alias["forwarding_to"]] == ["alice@acme.example",
                                                             "bob@acme.example"]
    assert cli.json("aliases", "get", "info@acme.example")["uuid"] == alias["uuid"]
    assert len(cli.json("aliases", "list", "--domain", "acme.example")) == 1
    assert "alice@acme.example, bob@acme.example" in cli("aliases", "list").stdout
    cli("aliases", "delete", alias["uuid"])
    assert cli.json("aliases", "list") == []
    cli("aliases", "create", "x@acme.example", "--to", "nobody@acme.example",
        code=ExitCode.ERROR)


def test_ping(cli: Cli) -> None:
    assert "timestamp" in cli.json("ping")
    assert cli("ping").stdout.startswith("ok: ")


def test_plan_apply_export_round_trip(cli: Cli, tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.toml"
    tenant.write_text(TENANT)
    plan_file = tmp_path / "plan.json"
    shown = cli("plan", str(tenant), "--out", str(plan_file), "--detailed-exitcode", code=2)
    assert "acme.example\n" in shown.stdout
    assert "+ create mailbox alice@acme.example, 20 GB (password: generated)" in shown.stdout
    assert "Plan: 8 to create, 0 to update, 0 to replace, 0 to delete. 8 request(s)" in \
        shown.stdout
    passwords = tmp_path / "pw.csv"
    applied = cli("apply", str(plan_file), "--yes", "--passwords-file", str(passwords))
    assert "lists and aliases" in applied.stderr
    assert cli("plan", str(tenant), "--detailed-exitcode").stdout.startswith("No changes")
    exported = cli("export").stdout
    assert exported.startswith("# exported from http://127.0.0.1\n")
    (tmp_path / "exported.toml").write_text(exported)
    cli("plan", str(tmp_path / "exported.toml"), "--prune", "--prune-domains",
        "--detailed-exitcode")
    as_yaml = cli("export", "--domain", "beta.example", "--format", "yaml").stdout
    assert "name: beta.example" in as_yaml
    assert "acme" not in as_yaml
    assert cli.json("export")["domains"][0]["name"] == "acme.example"
    cli("export", "--format", "xml", code=ExitCode.USAGE)


def test_prune_shows_what_a_domain_delete_destroys(cli: Cli, tmp_path: Path) -> None:
    cli("domains", "create", "old.example")
    cli("mailboxes", "create", "zed@old.example", "--passwords-file", str(tmp_path / "p.csv"))
    tenant = tmp_path / "t.toml"
    tenant.write_text('[[domains]]\nname = "new.example"\n')
    plain = cli("plan", str(tenant)).stdout
    assert "old.example" not in plain
    pruned = cli("plan", str(tenant), "--prune-domains").stdout
    assert "- delete domain old.example with its 1 mailbox(es)" in pruned
    assert "destroys zed@old.example" in pruned


def test_apply_json_report_and_partial_failure(cli: Cli, tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.toml"
    tenant.write_text(TENANT)
    report = cli.json("apply", str(tenant), "--yes")
    assert report["ok"] is True
    assert report["complete"] is True
    assert {p["address"] for p in report["passwords"]} == {
        "alice@acme.example", "bob@acme.example", "carol@beta.example"}
    again = cli.json("apply", str(tenant), "--yes")
    assert again["outcomes"] == []
    assert again["ok"] is True
    # A saved plan applied twice: the second time every action is stale.
    cli("domains", "create", "gamma.example")
    (tmp_path / "g.toml").write_text(TENANT + '\n[[domains]]\nname = "gamma.example"\n'
                                     '[[domains.mailboxes]]\nlocal_part = "x"\n')
    plan_file = tmp_path / "plan.json"
    cli("plan", str(tmp_path / "g.toml"), "--out", str(plan_file))
    cli("apply", str(plan_file), "--yes", "--passwords-file", str(tmp_path / "p.csv"))
    stale = cli.json("apply", str(plan_file), "--yes")
    assert stale["counts"] == {"done": 0, "failed": 0, "skipped": 1}
    assert stale["outcomes"][0]["reason"].startswith("already exists")


def test_bad_input_is_a_usage_error_with_one_line(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[domains]]\nname = "acme.example"\n[[domains.mailboxes]]\n'
                   'local_part = "x"\npassword = "plaintext-secret-1"\n')
    result = cli("plan", str(bad), code=ExitCode.USAGE)
    assert "password must be { env" in result.stderr
    assert "plaintext-secret-1" not in result.output + result.stderr
    as_json = cli("--json", "plan", str(bad), code=ExitCode.USAGE)
    assert json.loads(as_json.stdout)["error"]["exit_code"] == 2
    cli("plan", str(bad), "--detailed-exitcode", code=1)
    tenant = tmp_path / "t.toml"
    tenant.write_text(TENANT)
    plan_file = tmp_path / "p.json"
    cli("plan", str(tenant), "--out", str(plan_file))
    refused = cli("apply", str(plan_file), "--prune", code=ExitCode.USAGE)
    assert "belong to the saved plan" in refused.stderr
    damaged = tmp_path / "damaged.json"
    damaged.write_text('{"format": "clubsmtp-plan", "version": 7}')
    assert "version 7 is not supported" in cli("apply", str(damaged), "--yes",
                                               code=ExitCode.USAGE).stderr


def test_emulator_state_requires_emulator(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--emulator-state", str(tmp_path / "s.json"), "ping"])
    assert result.exit_code == 2
    assert "--emulator-state goes with --emulator" in result.output + result.stderr


def test_idna_addresses_are_found_in_any_form(cli: Cli, tmp_path: Path) -> None:
    cli("domains", "create", "bücher.example")
    created = cli.json("mailboxes", "create", "alice@bücher.example",
                       "--passwords-file", str(tmp_path / "p.csv"))
    assert created["address"] == "alice@xn--bcher-kva.example"
    for ref in ("alice@bücher.example", "ALICE@Bücher.Example", "alice@xn--bcher-kva.example"):
        assert cli.json("mailboxes", "get", ref)["uuid"] == created["uuid"]
    cli("whitelist", "add", "alice@bücher.example", "*@a.example")
    alias = cli.json("aliases", "create", "info@bücher.example", "--to", "alice@bücher.example")
    assert cli.json("aliases", "get", "info@BÜCHER.example")["uuid"] == alias["uuid"]


def test_usage_errors_are_one_line_json_aware_and_terraform_aware(cli: Cli) -> None:
    result = runner.invoke(app, ["--json", "plan"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"error": {"message": "Missing argument 'FILE'.",
                                                   "exit_code": 2}}
    assert result.stderr.strip() == ("clubsmtp plan: error: Missing argument 'FILE'. "
                                     "(clubsmtp plan --help)")
    detailed = runner.invoke(app, ["plan", "t.toml", "--prune-domain", "--detailed-exitcode"])
    assert detailed.exit_code == 1  # 2 means "changes" in that mode
    assert "No such option: --prune-domain" in detailed.stderr
    unknown = runner.invoke(app, ["bogus"])
    assert (unknown.exit_code, unknown.stderr.count("\n")) == (2, 1)


def test_a_saved_plan_is_recognised_by_its_content(cli: Cli, tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.toml"
    tenant.write_text(TENANT)
    saved = tmp_path / "changes.tfplan"
    cli("plan", str(tenant), "--out", str(saved))
    cli("apply", str(saved), "--yes", "--passwords-file", str(tmp_path / "p.csv"))
    cli("plan", str(tenant), "--detailed-exitcode")


def test_messages_keep_their_brackets() -> None:
    from clubsmtp_async.cli._session import Output

    output = Output()
    with output.err.capture() as captured:
        output.fail("pip install 'clubsmtp-async[emulator]'", 1)
        output.say("a [bold]literal[/] text")
    assert "clubsmtp-async[emulator]" in captured.get()
    assert "[bold]literal[/]" in captured.get()
    help_text = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    assert "(default: https://api.clubsmtp.com)" in help_text


def test_a_state_that_cannot_be_saved_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = runner.invoke(app, ["--emulator", "--emulator-state", str(blocker / "s.json"),
                                 "domains", "list"])
    assert result.exit_code == 1
    assert "could not save the emulator state" in result.stderr


def test_json_never_prompts(cli: Cli, tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.toml"
    tenant.write_text(TENANT)
    refused = cli("--json", "apply", str(tenant), code=ExitCode.USAGE)
    assert json.loads(refused.stdout)["error"]["exit_code"] == 2
    assert "pass --yes" in refused.stderr


@pytest.mark.parametrize("rpm", ["inf", "1e400", "2e9", "nan", "0"])
def test_a_rate_no_key_can_have_is_a_usage_error(rpm: str, tmp_path: Path) -> None:
    state = str(tmp_path / "s.json")
    result = runner.invoke(app, ["--emulator", "--emulator-state", state, "--rpm", rpm, "ping"],
                           env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "--requests-per-minute" in result.stderr
    assert "bug" not in result.stderr
