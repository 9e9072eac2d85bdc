"""The `warnlink` command line."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="warnlink: open missile-warning data sharing (detection, tracking, fusion, warning).",
)
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """warnlink: open missile-warning data sharing (detection, tracking, fusion, warning)."""


def fail(message: str) -> None:
    """Print one clear line to stderr and exit with status 2 (bad input), no traceback."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def fly(
    site_lat_deg: float = typer.Option(..., help="Launch site latitude (deg)."),
    site_lon_deg: float = typer.Option(..., help="Launch site longitude (deg)."),
    apogee_km: float = typer.Option(..., help="Apogee above the ellipsoid (km)."),
    azimuth_deg: Optional[float] = typer.Option(None, help="Initial bearing from the site to the impact point (deg)."),
    range_km: Optional[float] = typer.Option(None, help="Geodesic distance from the site to the impact point (km)."),
    target_lat_deg: Optional[float] = typer.Option(None, help="Impact point latitude (deg), instead of azimuth and range."),
    target_lon_deg: Optional[float] = typer.Option(None, help="Impact point longitude (deg)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Design the truth flight that lands at the requested point with the requested apogee."""
    from warnlink.scenario.flight import FlightDesignError, design_flight

    try:
        design = design_flight(
            site_lat_deg, site_lon_deg, apogee_km, azimuth_deg=azimuth_deg, range_km=range_km,
            target_lat_deg=target_lat_deg, target_lon_deg=target_lon_deg,
        )
    except FlightDesignError as exc:
        fail(str(exc))
    summary = design.summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    from rich.table import Table

    table = Table(title="Designed flight", show_header=False)
    for key, value in summary.items():
        table.add_row(key, str(value))
    Console().print(table)


def main() -> None:
    app()
