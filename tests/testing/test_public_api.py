"""Every module of the emulator declares a sorted, complete ``__all__``."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import clubsmtp_async.cli
import clubsmtp_async.testing

MODULES = [
    "clubsmtp_async.cli",
    "clubsmtp_async.testing",
    *sorted(
        f"{package.__name__}.{info.name}"
        for package in (clubsmtp_async.testing, clubsmtp_async.cli)
        for info in pkgutil.iter_modules(package.__path__)
    ),
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported)
    for attribute in exported:
        assert hasattr(module, attribute), attribute


def test_package_exports_every_public_class_of_its_modules() -> None:
    package = clubsmtp_async.testing
    expected = {
        "ApiError",
        "ApiKey",
        "Clock",
        "ConnectionDropped",
        "Delivery",
        "DeliveryAttempt",
        "DeliverySettings",
        "Drop",
        "Emulator",
        "EmulatorServer",
        "ErrorAfter",
        "ErrorBefore",
        "FakeClock",
        "FaultInjector",
        "FaultRule",
        "Latency",
        "RateDecision",
        "RateLimit",
        "ReceivedWebhook",
        "SendResult",
        "StateFileError",
        "Stats",
        "SystemClock",
        "WebhookEndpoint",
        "WebhookEvent",
        "WebhookRecorder",
        "Webhooks",
    }
    classes = {name for name in package.__all__ if inspect.isclass(getattr(package, name))}
    assert classes == expected


def test_public_names_have_docstrings() -> None:
    package = clubsmtp_async.testing
    for name in package.__all__:
        value = getattr(package, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name


def test_the_pytest_plugin_loads_without_the_emulator_extra() -> None:
    """pytest loads the plugin wherever clubsmtp-async is installed, extra or not."""
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("starlette", "uvicorn", "trustme"):
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
import clubsmtp_async.testing.pytest_plugin
import clubsmtp_async.testing as testing
testing.FakeClock().advance(1)
try:
    testing.Emulator
except ImportError:
    print("lazy")
"""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lazy"


def test_dir_lists_the_lazy_names() -> None:
    assert "Emulator" in dir(clubsmtp_async.testing)
