#!/usr/bin/env python3
"""Project tasks that work on a fresh machine with only Python and pip.

    python3 dev.py demo    # onboard examples/tenant.toml into the embedded emulator
    python3 dev.py test    # the whole test suite (over httpx; both httpx and httpx2 installed)
    CLUBSMTP_HTTP_LIBRARY=httpx2 python3 dev.py test   # the suite over httpx2
    python3 dev.py check   # ruff + mypy --strict
    python3 dev.py bench   # the benchmarks in benchmarks/
    python3 dev.py docs    # build the documentation site into site/
    python3 dev.py bulk-demo   # the bulk helpers under injected faults (examples/)

Each task first makes `.venv` (once) and installs the project into it with the
extras it needs, re-installing only when `pyproject.toml` changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_venv(extras: str) -> None:
    """Create `.venv` and install the project with `extras` unless already current."""
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    ).hexdigest()
    stamp = VENV / f".installed-{extras.replace(',', '-')}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    print(f"installing clubsmtp-async[{extras}] into {VENV}", flush=True)
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f".[{extras}]"])
    stamp.write_text(fingerprint)


def run(argv: list[str]) -> None:
    """Run a command in the project root; exit with its code if it fails."""
    code = subprocess.call(argv, cwd=ROOT)
    if code != 0:
        sys.exit(code)


def demo() -> None:
    """Onboard the example tenant into an embedded emulator through ``clubsmtp``, then re-plan.

    The emulator's state is kept in ``.demo/`` between the two commands, so the
    second plan runs against what the first one created and must be empty.
    """
    work = ROOT / ".demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    state, passwords = work / "emulator-state.json", work / "passwords.csv"
    clubsmtp = str(BIN / ("clubsmtp.exe" if os.name == "nt" else "clubsmtp"))
    base = [clubsmtp, "--emulator", "--emulator-state", str(state), "--rpm", "1200"]
    tenant = "examples/tenant.toml"
    print(f"\n$ clubsmtp --emulator apply {tenant} --yes --passwords-file {passwords}", flush=True)
    run([*base, "apply", tenant, "--yes", "--passwords-file", str(passwords)])
    print(f"\n$ clubsmtp --emulator plan {tenant} --detailed-exitcode", flush=True)
    run([*base, "plan", tenant, "--detailed-exitcode"])
    print(f"\nOnboarded, and a second plan is empty. Generated passwords: {passwords} (0600).")


def main(args: list[str]) -> None:
    """Dispatch one task by name."""
    task, rest = (args[0], args[1:]) if args else ("test", [])
    if task == "test":
        ensure_venv("dev")
        run([str(PYTHON), "-m", "pytest", *rest])
    elif task == "check":
        ensure_venv("dev")
        run(
            [
                str(BIN / "ruff"),
                "check",
                "clubsmtp_async",
                "tests",
                "benchmarks",
                "examples",
                "dev.py",
            ]
        )
        run([str(PYTHON), "-m", "mypy", "--strict", "clubsmtp_async"])
    elif task == "demo":
        ensure_venv("emulator,cli")
        demo()
    elif task == "bulk-demo":
        ensure_venv("emulator,cli")
        run([str(PYTHON), "examples/bulk_onboarding.py", *rest])
    elif task == "bench":
        ensure_venv("dev,bench")
        run([str(PYTHON), "-m", "benchmarks", *rest])
    elif task == "docs":
        ensure_venv("docs")
        os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # mkdocs-material's banner
        run([str(BIN / "mkdocs"), "build", "--strict", *rest])
    else:
        sys.exit(f"unknown task {task!r}: use demo, test, check, bench, docs or bulk-demo")


if __name__ == "__main__":
    main(sys.argv[1:])
