"""The short summary printed at the end of a run: what each node saw and warned, from metrics.json."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def _fmt(value, unit: str = "", nd: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{nd}f}{unit}"
    return f"{value}{unit}"


def print_summary(metrics: dict, console: Console) -> None:
    """Per launch: truth, first system track per nation, impact errors; then alerts and messages."""
    launches = Table(title=f"{metrics.get('scenario', '')}: launches")
    for col in ("launch", "truth", "first detection", "first system track (s)", "IIP error 25% / 50% / final (km)",
                "class"):
        launches.add_column(col)
    for item in metrics.get("launches", []):
        truth = item["truth"]
        nations = sorted(item["first_system_track_s"])
        first = ", ".join(f"{n} {_fmt(item['first_system_track_s'][n])}" for n in nations)
        errors = "\n".join(
            f"{n} {_fmt(e.get('25%'))} / {_fmt(e.get('50%'))} / {_fmt(e.get('final'), nd=2)}"
            for n, e in sorted(item["iip_error_km"].items()))
        classes = ", ".join(f"{n} {c or '-'}" for n, c in sorted(item["class_estimate"].items()))
        launches.add_row(
            item["id"],
            f"{truth['class']}{' lofted' if truth.get('lofted') else ''}, {_fmt(truth['range_km'], ' km', 0)}, "
            f"{_fmt(truth['flight_time_s'], ' s', 0)}",
            _fmt(item["first_detection_s"], " s"), first, errors, classes)
    console.print(launches)

    alerts = metrics.get("alerts", {})
    table = Table(title=f"alerts: {alerts.get('true', 0)} true, {alerts.get('false', 0)} false, "
                        f"{alerts.get('missed', 0)} missed")
    for col in ("launch", "area", "nation", "kind", "issued (s after launch)", "lead time (s)", "hit"):
        table.add_column(col)
    for a in alerts.get("items", []):
        table.add_row(str(a["launch"]), a["area"], a["nation"], a["kind"], _fmt(a["issued_s"]),
                      _fmt(a["lead_time_s"]), "yes" if a["hit"] else "[red]no[/]")
    console.print(table)
    lat, msgs = metrics.get("latency_ms", {}), metrics.get("messages", {})
    console.print(f"latency p50 {_fmt(lat.get('p50'), ' ms', 2)}, p99 {_fmt(lat.get('p99'), ' ms', 2)}, "
                  f"max {_fmt(lat.get('max'), ' ms', 2)}; messages published {msgs.get('published')}, "
                  f"delivered {msgs.get('delivered')}, rejected {msgs.get('rejected')}, lost {msgs.get('lost')}")
