"""The root typer application; command modules register themselves on it."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    name="clubsmtp",
    help="ClubSMTP from the command line.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """ClubSMTP from the command line."""
