"""The ``clubsmtp`` command line (extra ``cli``).

Each command lives in its own module and registers on the shared typer app
from `clubsmtp_async.cli._app`; importing the module here is what adds it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer import Typer

__all__ = ["app", "main"]

_MISSING_EXTRA = (
    "the clubsmtp command needs the 'cli' extra (and 'emulator' for the emulator): "
    "pip install 'clubsmtp-async[cli,emulator]'"
)


def _load_app() -> Typer:
    # Importing a command module registers its commands on the app.
    from . import _account, _apply, _emulator, _mailboxes, _onboarding, _webhooks  # noqa: F401
    from ._app import app

    return app


def main() -> None:
    """Run the ``clubsmtp`` command (the console script's entry point)."""
    try:
        app = _load_app()
    except ImportError as exc:  # typer or rich is not installed
        sys.exit(f"{_MISSING_EXTRA} ({exc})")
    try:
        app()
    except ImportError as exc:  # a command needs an extra that is missing (it says which)
        sys.exit(f"clubsmtp: error: {exc}")


def __getattr__(name: str) -> Any:
    # `app` needs typer: import it only when asked for, so `main` can explain.
    if name == "app":
        return _load_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
