"""Designed against reported flight times for every row of the public launch table.

    python benchmarks/public_flights.py [--csv PATH] [--json]

For each row it designs the flight from the reported range, azimuth and apogee
(what an analyst would type into `warnlink fly`) and prints the designed flight time
beside the reported one, with the time the design took.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from warnlink.scenario.flight import design_flight

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "reference" / "public_launches.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    rows = []
    for row in csv.DictReader(args.csv.open()):
        start = time.perf_counter()
        design = design_flight(
            float(row["site_lat_deg"]), float(row["site_lon_deg"]), float(row["apogee_km"]),
            azimuth_deg=float(row["azimuth_deg_approx"]), range_km=float(row["range_km"]),
        )
        reported = float(row["flight_time_s"])
        rows.append({
            "date": row["launch_utc"][:10],
            "missile": row["missile"],
            "range_km": float(row["range_km"]),
            "apogee_km": float(row["apogee_km"]),
            "reported_flight_time_s": reported,
            "designed_flight_time_s": round(design.flight_time_s, 1),
            "difference_pct": round(100.0 * (design.flight_time_s / reported - 1.0), 2),
            "class": design.missile_class,
            "lofted": design.lofted,
            "design_time_s": round(time.perf_counter() - start, 2),
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Designed vs reported flight times (public launch table)")
    for col in ("date", "missile", "range km", "apogee km", "reported s", "designed s", "diff %", "class", "lofted", "design s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["date"], r["missile"], f"{r['range_km']:.0f}", f"{r['apogee_km']:.0f}",
                      f"{r['reported_flight_time_s']:.0f}", f"{r['designed_flight_time_s']:.0f}",
                      f"{r['difference_pct']:+.1f}", r["class"], str(r["lofted"]), f"{r['design_time_s']:.2f}")
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
