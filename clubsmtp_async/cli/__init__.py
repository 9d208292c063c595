"""The ``clubsmtp`` command line (extra ``cli``).

Each command lives in its own module and registers on the shared typer app
from `clubsmtp_async.cli._app`; importing the module here is what adds it.
"""

from __future__ import annotations

from . import _emulator  # noqa: F401 - registers the "emulator" command
from ._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the ``clubsmtp`` command (the console script's entry point)."""
    app()
