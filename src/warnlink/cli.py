"""The `warnlink` command line."""

from __future__ import annotations

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="warnlink: open missile-warning data sharing (detection, tracking, fusion, warning).",
)


def main() -> None:
    app()
