"""The after-action report of a run: an HTML page with PNG plots (matplotlib), from the run directory.

Per launch: the truth ground track against each node's system track on a map; the
impact-point error and the 95% ellipse's semi-major axis over time; the warning
timeline against the moments that mattered (launch, first detection, first system
track, entry over an area, impact). For the run: the latency histogram and the
message counts.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from warnlink import frames, geodata  # noqa: E402
from warnlink.evaluation.metrics import associate_tracks, launch_predictions, nearest_tracks  # noqa: E402
from warnlink.warning import area_hit_by_truth  # noqa: E402
from warnlink.warning.geo import Ellipse  # noqa: E402

NODE_COLORS = {0: "tab:blue", 1: "tab:red", 2: "tab:green", 3: "tab:purple", 4: "tab:brown"}


def write_report(run, out_dir: Path) -> Path:
    """Write ``report.html`` and its PNGs into ``out_dir``; return the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    world = run.world
    associations = {n: associate_tracks(world.flights, r)[0] for n, r in run.records.items()}
    nearest = {n: nearest_tracks(world.flights, r, associations[n]) for n, r in run.records.items()}
    sections = []
    for i, (launch_id, flight) in enumerate(world.flights.items()):
        mine = {n: {tid for tid, lid in associations[n].items() if lid == launch_id} for n in run.records}
        files = [
            _map(run, launch_id, flight, mine, nearest, out_dir / f"{launch_id}-map.png"),
            _errors(run, launch_id, flight, nearest, out_dir / f"{launch_id}-iip.png"),
            _timeline(run, launch_id, flight, mine, out_dir / f"{launch_id}-timeline.png"),
        ]
        item = next((m for m in run.metrics.get("launches", []) if m["id"] == launch_id), {})
        sections.append(_launch_html(launch_id, item, files))
    latency = _latency(run, out_dir / "latency.png")
    page = _page(run, sections, latency)
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _map(run, launch_id, flight, mine, nearest, path: Path) -> str:
    traj = flight.trajectory
    t = np.linspace(traj.t_launch, traj.t_impact, 400)
    lat, lon, _ = traj.geodetic(t)
    fig, ax = plt.subplots(figsize=(8, 6))
    for ring in geodata.basemap_outlines():
        ax.plot(ring[:, 0], ring[:, 1], color="0.6", lw=0.5)
    ax.plot(np.degrees(lon), np.degrees(lat), "k-", lw=2.5, label="truth")
    for j, (node, record) in enumerate(run.records.items()):
        pts = np.array([s.r_ecef_m for s in record.tracks if s.system_track_id in mine[node]])
        if len(pts):
            tl, tn, _ = frames.ecef_to_geodetic(pts)
            ax.plot(np.degrees(tn), np.degrees(tl), ".", ms=2, color=NODE_COLORS[j % 5], label=f"{node} system track")
        preds = launch_predictions(record, launch_id, nearest[node])
        if preds:
            p = preds[-1]
            ell = Ellipse.from_covariance(p.iip_lat_rad, p.iip_lon_rad, np.array(p.iip_cov_en_m2).reshape(2, 2))
            blat, blon = ell.boundary_lat_lon_deg(48)
            ax.fill(blon, blat, color=NODE_COLORS[j % 5], alpha=0.3)
    ilat, ilon = np.degrees(traj.impact_point)
    ax.plot(ilon, ilat, "kx", ms=10, mew=2, label="truth impact")
    span = max(np.ptp(np.degrees(lon)), np.ptp(np.degrees(lat)), 2.0)
    cx, cy = np.mean(np.degrees(lon)), np.mean(np.degrees(lat))
    ax.set_xlim(cx - 0.7 * span - 1, cx + 0.7 * span + 1)
    ax.set_ylim(cy - 0.5 * span - 1, cy + 0.5 * span + 1)
    ax.set_aspect(1 / np.cos(np.radians(cy)))
    ax.set_title(f"{launch_id}: truth and every node's system track (last 95% impact ellipse filled)")
    ax.legend(fontsize=7)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _errors(run, launch_id, flight, nearest, path: Path) -> str:
    traj = flight.trajectory
    ilat, ilon = traj.impact_point
    fig, ax = plt.subplots(figsize=(8, 4))
    for j, (node, record) in enumerate(run.records.items()):
        preds = launch_predictions(record, launch_id, nearest[node])
        if not preds:
            continue
        t = np.array([p.t_s - traj.t_launch for p in preds])
        err = np.array([frames.geodesic_inverse(p.iip_lat_rad, p.iip_lon_rad, ilat, ilon)[0] / 1e3 for p in preds])
        semi = np.array([Ellipse.from_covariance(p.iip_lat_rad, p.iip_lon_rad,
                                                 np.array(p.iip_cov_en_m2).reshape(2, 2)).semi_major_m / 1e3 for p in preds])
        ax.semilogy(t, np.maximum(err, 1e-3), "o-", ms=2, color=NODE_COLORS[j % 5], label=f"{node} impact-point error")
        ax.semilogy(t, semi, "--", color=NODE_COLORS[j % 5], label=f"{node} 95% semi-major axis")
    ax.set_xlabel("time after launch (s)")
    ax.set_ylabel("km")
    ax.set_title(f"{launch_id}: predicted impact point against the truth")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _timeline(run, launch_id, flight, mine, path: Path) -> str:
    traj = flight.trajectory
    item = next((m for m in run.metrics.get("launches", []) if m["id"] == launch_id), {})
    marks = [("launch", 0.0), ("impact", traj.flight_time_s)]
    if item.get("first_detection_s") is not None:
        marks.append(("first detection", item["first_detection_s"]))
    firsts = [v for v in (item.get("first_system_track_s") or {}).values() if v is not None]
    if firsts:
        marks.append(("first shared system track", min(firsts)))
    t = np.arange(traj.t_launch, traj.t_impact, 1.0)
    lat, lon, _ = traj.geodetic(t)
    ilat, ilon = traj.impact_point
    for area in run.scenario.areas:
        if "overflight" in area.warn:
            hit, when = area_hit_by_truth(area, "overflight", ilat, ilon, traj.t_impact, lat, lon, t)
            if hit and when is not None:
                marks.append((f"over {area.id}", when - traj.t_launch))
    fig, ax = plt.subplots(figsize=(8, 3.2))
    rows = list(run.records)
    for j, node in enumerate(rows):
        for a in run.records[node].alerts:
            if a.system_track_id in mine[node]:
                x = a.t_s - traj.t_launch
                color = {"Alert": "red", "Update": "orange", "Cancel": "green"}.get(a.msg_type, "k")
                ax.plot(x, j, "|", ms=14, mew=2, color=color)
                if a.msg_type != "Update":
                    ax.annotate(f"{a.msg_type} {a.area_id} {a.kind}", (x, j), fontsize=6, rotation=20,
                                xytext=(2, 6), textcoords="offset points")
    for name, x in marks:
        ax.axvline(x, color="0.4", lw=0.8, ls=":")
        ax.annotate(name, (x, len(rows) - 0.4), fontsize=7, rotation=90, va="top")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(-0.6, len(rows) - 0.2)
    ax.set_xlabel("time after launch (s)")
    ax.set_title(f"{launch_id}: warnings (red issued, orange updated, green cancelled) and the moments that mattered")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _latency(run, path: Path) -> str:
    values = np.concatenate([np.asarray(r.latency_ms, float) for r in run.records.values()] or [np.zeros(0)])
    fig, ax = plt.subplots(figsize=(8, 3.2))
    if values.size:
        ax.hist(values, bins=np.logspace(np.log10(max(values.min(), 0.01)), np.log10(values.max() + 1e-3), 60))
        ax.set_xscale("log")
        for q, style in ((50, "--"), (99, ":")):
            ax.axvline(np.percentile(values, q), color="k", ls=style, label=f"p{q} {np.percentile(values, q):.1f} ms")
        ax.legend(fontsize=8)
    ax.set_xlabel("sensor report at its node to system-track update at a partner (ms)")
    ax.set_ylabel("messages")
    ax.set_title("Latency")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _fmt(v) -> str:
    return "-" if v is None else html.escape(str(v))


def _launch_html(launch_id, item, files) -> str:
    truth = item.get("truth", {})
    rows = "".join(
        f"<tr><td>{_fmt(n)}</td><td>{_fmt(item['first_system_track_s'].get(n))}</td>"
        f"<td>{_fmt(e.get('25%'))} / {_fmt(e.get('50%'))} / {_fmt(e.get('final'))}</td>"
        f"<td>{_fmt(item['iip_ellipse95_coverage'].get(n))}</td><td>{_fmt(item['class_estimate'].get(n))}</td>"
        f"<td>{_fmt(item['launch_point_error_km'].get(n))}</td></tr>"
        for n, e in item.get("iip_error_km", {}).items())
    images = "".join(f'<img src="{html.escape(f)}" alt="{html.escape(f)}">' for f in files)
    return (f"<section><h2>{html.escape(launch_id)}: {_fmt(truth.get('class'))}"
            f"{' lofted' if truth.get('lofted') else ''}, {_fmt(truth.get('range_km'))} km, "
            f"{_fmt(truth.get('flight_time_s'))} s</h2>"
            f"<p>First detection {_fmt(item.get('first_detection_s'))} s after launch.</p>"
            "<table><tr><th>node</th><th>first system track (s)</th><th>IIP error 25% / 50% / final (km)</th>"
            "<th>95% ellipse coverage</th><th>class</th><th>launch point error (km)</th></tr>"
            f"{rows}</table>{images}</section>")


def _page(run, sections, latency) -> str:
    m = run.metrics
    alerts = m.get("alerts", {})
    items = "".join(
        f"<tr><td>{_fmt(a['launch'])}</td><td>{_fmt(a['area'])}</td><td>{_fmt(a['nation'])}</td><td>{_fmt(a['kind'])}</td>"
        f"<td>{_fmt(a['issued_s'])}</td><td>{_fmt(a['lead_time_s'])}</td><td>{'yes' if a['hit'] else 'NO'}</td></tr>"
        for a in alerts.get("items", []))
    lat, msgs = m.get("latency_ms", {}), m.get("messages", {})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>warnlink report: {_fmt(m.get('scenario'))}</title>
<style>body{{font:14px system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:3px 8px}}
img{{max-width:100%;display:block;margin:.8em 0}}</style></head><body>
<h1>After-action report: {_fmt(m.get('scenario'))}</h1>
<p>Run directory {_fmt(run.path)}; transport {_fmt(run.info.get('transport'))}; nodes {_fmt(', '.join(run.records))}.</p>
<h2>Warnings: {_fmt(alerts.get('true'))} true, {_fmt(alerts.get('false'))} false, {_fmt(alerts.get('missed'))} missed</h2>
<table><tr><th>launch</th><th>area</th><th>nation</th><th>kind</th><th>issued (s after launch)</th><th>lead time (s)</th><th>hit</th></tr>{items}</table>
{''.join(sections)}
<section><h2>Exchange</h2><p>Latency p50 {_fmt(lat.get('p50'))} ms, p99 {_fmt(lat.get('p99'))} ms, max {_fmt(lat.get('max'))} ms.
Messages published {_fmt(msgs.get('published'))}, delivered {_fmt(msgs.get('delivered'))}, rejected {_fmt(msgs.get('rejected'))},
lost {_fmt(msgs.get('lost'))}.</p><img src="{html.escape(latency)}" alt="latency histogram"></section>
</body></html>
"""
