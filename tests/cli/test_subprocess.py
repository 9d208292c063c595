"""The ``clubsmtp`` command as a real subprocess against the emulator over sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import anyio
import pytest
from asgi_hold import HoldCreates

from clubsmtp_async.onboarding import PasswordFile
from clubsmtp_async.testing import Emulator, serve

from .conftest import CLUBSMTP, clean_env, clubsmtp

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

KEY = "sk_test_" + "cl1" * 20


def emulator() -> Emulator:
    return Emulator(api_keys=[KEY], requests_per_minute=60_000, burst=1_000)


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {"CLUBSMTP_API_KEY": KEY, "CLUBSMTP_BASE_URL": url, **extra}


async def test_plan_apply_then_plan_is_empty_with_json_output(tenant_file: Path,
                                                             tmp_path: Path) -> None:
    emu = emulator()
    async with serve(emu) as server:
        env = env_for(server.base_url)
        planned = await clubsmtp("--json", "--rpm", "6000", "plan", str(tenant_file),
                                 "--detailed-exitcode", "--out", str(tmp_path / "p.json"),
                                 env=env)
        assert planned.returncode == 2, planned.stderr
        document = json.loads(planned.stdout)
        assert document["format"] == "clubsmtp-plan"
        assert document["summary"]["create"] == 8
        applied = await clubsmtp("--json", "--rpm", "6000", "apply", str(tmp_path / "p.json"),
                                 "--yes", env=env)
        assert applied.returncode == 0, applied.stderr
        report = json.loads(applied.stdout)
        assert report["ok"] is True
        assert report["counts"]["done"] == 8
        generated = {p["address"]: p["password"] for p in report["passwords"]}
        assert set(generated) == {"alice@acme.example", "bob@acme.example",
                                  "carol@beta.example"}
        again = await clubsmtp("--rpm", "6000", "plan", str(tenant_file), "--detailed-exitcode",
                               env=env)
        assert again.returncode == 0, again.stderr
        assert "No changes" in again.stdout
    uuids = {m["address"]: m["uuid"] for m in emu.snapshot()["mailboxes"]}
    assert all(emu.check_password(uuids[a], p) for a, p in generated.items())


async def test_apply_for_people_writes_passwords_to_a_0600_file_only(
    tenant_file: Path, tmp_path: Path
) -> None:
    emu = emulator()
    passwords = tmp_path / "passwords.csv"
    async with serve(emu) as server:
        env = env_for(server.base_url)
        refused = await clubsmtp("--rpm", "6000", "apply", str(tenant_file), "--yes", env=env)
        assert refused.returncode == 2
        assert "pass --passwords-file PATH" in refused.stderr
        assert emu.snapshot()["domains"] == []  # nothing was sent but the reads
        done = await clubsmtp("--rpm", "6000", "apply", str(tenant_file), "--yes",
                              "--passwords-file", str(passwords), env=env)
    assert done.returncode == 0, done.stderr
    assert oct(passwords.stat().st_mode & 0o777) == "0o600"
    written = PasswordFile.read(passwords)
    assert len(written) == 3
    for password in written.values():
        assert password not in done.stdout + done.stderr
    assert "+ create mailbox alice@acme.example, 20 GB (password: generated)" in done.stderr
    assert "3 generated password(s) written to" in done.stderr


async def test_apply_refuses_to_prompt_without_a_terminal(tenant_file: Path,
                                                          tmp_path: Path) -> None:
    async with serve(emulator()) as server:
        not_a_file = await clubsmtp("--rpm", "6000", "apply", str(tenant_file),
                                    "--passwords-file", "/dev/null", env=env_for(server.base_url))
        assert not_a_file.returncode == 2
        assert "/dev/null is not a regular file" in not_a_file.stderr
        result = await clubsmtp("--rpm", "6000", "apply", str(tenant_file), "--passwords-file",
                                str(tmp_path / "pw.csv"), env=env_for(server.base_url))
    assert result.returncode == 2
    assert "stdin is not a terminal" in result.stderr
    assert "pass --yes" in result.stderr


async def test_expected_failures_are_one_line_with_their_exit_code(tenant_file: Path,
                                                                  tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[domains]]\nname = "acme.example"\n[[domains.mailboxes]]\n'
                   'local_part = "a"\nstorage_gb = 0\n')
    async with serve(emulator()) as server:
        cases = [
            (["ping"], {"CLUBSMTP_API_KEY": "sk_test_wrong"}, 3, "Invalid API key"),
            (["plan", str(bad)], {}, 2, "bad.toml: domains[0].mailboxes[0].storage_gb"),
            (["plan", str(tmp_path / "missing.toml")], {}, 2, "cannot read it"),
            (["--base-url", "http://127.0.0.1:9", "--max-retries", "0", "ping"], {}, 5,
             "could not reach the API"),
            (["--base-url", "http://example.com", "ping"], {}, 2, "plain HTTP"),
            (["mailboxes", "get", "nobody@acme.example"], {}, 1, "no domain acme.example"),
            (["domains", "get", "not a name"], {}, 2, "not a fully-qualified domain name"),
        ]
        for args, extra, code, text in cases:
            result = await clubsmtp(*args, env={**env_for(server.base_url), **extra})
            assert result.returncode == code, (args, result.stderr)
            assert text in result.stderr, (args, result.stderr)
            assert "Traceback" not in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        no_key = await clubsmtp("ping", env={"CLUBSMTP_BASE_URL": server.base_url})
    assert no_key.returncode == 2
    assert "no API key: pass --api-key or set CLUBSMTP_API_KEY" in no_key.stderr


async def test_an_untrusted_certificate_says_how_to_trust_it(tmp_path: Path) -> None:
    async with serve(emulator(), tls=True, cert_dir=tmp_path) as server:
        untrusted = await clubsmtp("ping", env=env_for(server.base_url))
        trusted = await clubsmtp("ping", env=env_for(server.base_url,
                                                     SSL_CERT_FILE=str(tmp_path / "ca.pem")))
    assert untrusted.returncode == 5
    assert "set SSL_CERT_FILE to the CA file" in untrusted.stderr
    assert trusted.returncode == 0, trusted.stderr


async def test_the_key_never_appears_in_any_output(tenant_file: Path) -> None:
    async with serve(emulator()) as server:
        outputs = []
        for args in (["--help"], ["ping"], ["--json", "ping"], ["--json", "domains", "list"],
                     ["--json", "--rpm", "6000", "plan", str(tenant_file)],
                     ["apply", "--help"]):
            result = await clubsmtp(*args, env=env_for(server.base_url))
            outputs.append(result.stdout + result.stderr)
        for key in ("sk_test_" + "0" * 20, KEY):
            wrong = await clubsmtp("--json", "--api-key", key, "domains", "list",
                                   env={"CLUBSMTP_BASE_URL": server.base_url})
            outputs.append(wrong.stdout + wrong.stderr)
    assert "CLUBSMTP_API_KEY" in outputs[0]
    assert not any(KEY in text for text in outputs)
    assert not any("sk_test_" + "0" * 20 in text for text in outputs)


async def test_ctrl_c_mid_apply_prints_a_partial_report_and_a_rerun_converges(
    tmp_path: Path,
) -> None:
    tenant = tmp_path / "t.toml"
    tenant.write_text('[[domains]]\nname = "big.example"\n' + "".join(
        f'[[domains.mailboxes]]\nlocal_part = "u{i}"\nwhitelist = ["*@ok.example"]\n'
        for i in range(30)))
    emu = emulator()
    hold = HoldCreates(emu.app, allowed=10, processed=False)
    emu.app = hold  # type: ignore[assignment]
    passwords = tmp_path / "pw.csv"
    async with serve(emu) as server:
        env = clean_env(env_for(server.base_url))
        argv = [*CLUBSMTP, "--rpm", "60000", "apply", str(tenant), "--yes",
                "--passwords-file", str(passwords)]
        with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as child:
            with anyio.fail_after(60):
                while hold.held < 3:
                    await anyio.sleep(0.01)
            os.kill(child.pid, signal.SIGINT)
            _out, err = await anyio.to_thread.run_sync(child.communicate)
        assert child.returncode == 130, err
        text = err.decode()
        assert "interrupted: run the same apply again" in text
        assert "apply" in text
        assert "did not run" in text
        assert "Traceback" not in text
        hold.release.set()
        rerun = await clubsmtp("--rpm", "60000", "apply", str(tenant), "--yes",
                               "--passwords-file", str(passwords), env=env_for(server.base_url))
        assert rerun.returncode == 0, rerun.stderr
        final = await clubsmtp("--rpm", "60000", "plan", str(tenant), "--detailed-exitcode",
                               env=env_for(server.base_url))
        assert final.returncode == 0, final.stderr
    snapshot = emu.snapshot()
    assert len(snapshot["mailboxes"]) == 30
    assert all(len(m["whitelist"]) == 1 for m in snapshot["mailboxes"])
    written = PasswordFile.read(passwords)
    assert all(emu.check_password(m["uuid"], written[m["address"]])
               for m in snapshot["mailboxes"])


async def test_ctrl_c_with_json_gives_one_document_with_every_possible_password(
    tmp_path: Path,
) -> None:
    tenant = tmp_path / "t.toml"
    tenant.write_text('[[domains]]\nname = "j.example"\n' + "".join(
        f'[[domains.mailboxes]]\nlocal_part = "u{i}"\n' for i in range(20)))
    emu = emulator()
    hold = HoldCreates(emu.app, allowed=5, processed=True)
    emu.app = hold  # type: ignore[assignment]
    async with serve(emu) as server:
        argv = [*CLUBSMTP, "--json", "--rpm", "60000", "apply", str(tenant), "--yes"]
        with subprocess.Popen(argv, env=clean_env(env_for(server.base_url)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL) as child:
            with anyio.fail_after(60):
                while hold.held < 3:
                    await anyio.sleep(0.01)
            os.kill(child.pid, signal.SIGINT)
            out, _err = await anyio.to_thread.run_sync(child.communicate)
        hold.release.set()
    assert child.returncode == 130
    report = json.loads(out)  # exactly one JSON document
    assert report["interrupted"] is True
    statuses = {p["address"]: p["status"] for p in report["passwords"]}
    created = {m["address"]: m["uuid"] for m in emu.snapshot()["mailboxes"]}
    assert set(created) <= set(statuses)  # created but unanswered ones are kept, as pending
    assert "pending" in statuses.values()
    by_address = {p["address"]: p["password"] for p in report["passwords"]}
    assert all(emu.check_password(uuid, by_address[a]) for a, uuid in created.items())
