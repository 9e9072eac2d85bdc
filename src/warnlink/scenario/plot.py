"""A scenario at a glance: a map of ground tracks, sensor coverage and alert areas, and an
altitude-range profile of every flight (``warnlink plot``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from warnlink import frames, geodata  # noqa: E402

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def radar_footprint(sensor, n: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat (deg) outline of the ground within a radar's field of regard and max range."""
    lat, lon = np.radians(sensor.lat_deg), np.radians(sensor.lon_deg)
    half = min(sensor.half_width_deg, 180.0)
    az = np.radians(np.linspace(sensor.boresight_azimuth_deg - half, sensor.boresight_azimuth_deg + half, n))
    rim_lat, rim_lon = frames.geodesic_direct(
        np.full(n, lat), np.full(n, lon), az, np.full(n, sensor.max_range_km * 1e3)
    )
    lons, lats = np.degrees(rim_lon), np.degrees(rim_lat)
    if half < 180.0:
        lons = np.concatenate([[sensor.lon_deg], lons, [sensor.lon_deg]])
        lats = np.concatenate([[sensor.lat_deg], lats, [sensor.lat_deg]])
    return lons, lats


def plot_scenario(world, out: Path) -> Path:
    """Write a PNG of the scenario's map and flight profiles to ``out``."""
    scenario = world.scenario
    fig, (ax_map, ax_prof) = plt.subplots(1, 2, figsize=(17, 8), gridspec_kw={"width_ratios": [1.35, 1]})
    # Extent: everything that flies, every sensor on the ground, every area.
    lons, lats = [], []
    tracks = {}
    for launch_id, flight in world.flights.items():
        traj = flight.trajectory
        t = np.linspace(traj.t_launch, traj.t_impact, 600)
        lat, lon, alt = traj.geodetic(t)
        tracks[launch_id] = (t, np.degrees(lat), np.degrees(lon), alt)
        lons += [np.degrees(lon).min(), np.degrees(lon).max()]
        lats += [np.degrees(lat).min(), np.degrees(lat).max()]
    ground = [s for s in scenario.config.sensors if s.type == "radar"]
    for s in ground:
        lons.append(s.lon_deg)
        lats.append(s.lat_deg)
    for area in scenario.areas:
        x0, y0, x1, y1 = area.geometry.bounds
        lons += [x0, x1]
        lats += [y0, y1]
    pad = 3.0
    extent = (min(lons) - pad, max(lons) + pad, min(lats) - pad, max(lats) + pad)

    for ring in geodata.basemap_outlines():
        ax_map.plot(ring[:, 0], ring[:, 1], color="0.55", lw=0.5, zorder=1)
    area_colors = {}
    for i, area in enumerate(scenario.areas):
        area_id, geom = area.id, area.geometry
        color = COLORS[(i + 3) % len(COLORS)]
        area_colors[area_id] = color
        for poly in getattr(geom, "geoms", [geom]):
            x, y = poly.exterior.xy
            ax_map.fill(x, y, color=color, alpha=0.18, lw=0, zorder=2)
        ax_map.plot([], [], color=color, lw=6, alpha=0.4, label=f"area {area_id}")
    nation_markers = {}
    for s in ground:
        marker = nation_markers.setdefault(s.nation, "^sDvo"[len(nation_markers) % 5])
        fx, fy = radar_footprint(s)
        ax_map.plot(fx, fy, color="0.3", lw=0.6, ls=":", zorder=3)
        ax_map.plot(s.lon_deg, s.lat_deg, marker, color="k", ms=6, zorder=5)
        ax_map.annotate(s.id, (s.lon_deg, s.lat_deg), fontsize=7, xytext=(3, 3), textcoords="offset points")
    for nation, marker in nation_markers.items():
        ax_map.plot([], [], marker, color="k", label=f"{nation} radar")
    for i, (launch_id, (t, lat, lon, alt)) in enumerate(tracks.items()):
        color = COLORS[i % len(COLORS)]
        flight = world.flights[launch_id]
        boost = t < flight.trajectory.t_burnout
        ax_map.plot(lon, lat, color=color, lw=1.8, zorder=6, label=f"{launch_id} ({flight.missile_class})")
        ax_map.plot(lon[boost], lat[boost], color=color, lw=4, zorder=6)
        ax_map.plot(lon[0], lat[0], "o", color=color, ms=6, zorder=7)
        ax_map.plot(lon[-1], lat[-1], "x", color=color, ms=9, mew=2, zorder=7)
        ground_range = frames.geodesic_inverse(
            np.full(lat.shape, np.radians(lat[0])), np.full(lon.shape, np.radians(lon[0])),
            np.radians(lat), np.radians(lon),
        )[0]
        ax_prof.plot(ground_range / 1e3, alt / 1e3, color=color, lw=1.8, label=launch_id)
        ax_prof.plot(ground_range[boost] / 1e3, alt[boost] / 1e3, color=color, lw=4)
    ax_map.set_xlim(extent[0], extent[1])
    ax_map.set_ylim(extent[2], extent[3])
    ax_map.set_aspect(1.0 / np.cos(np.radians(0.5 * (extent[2] + extent[3]))))
    ax_map.set_xlabel("longitude (deg)")
    ax_map.set_ylabel("latitude (deg)")
    ax_map.set_title(f"{scenario.config.scenario.name}: ground tracks (thick: boost), radar coverage, areas")
    ax_map.legend(fontsize=7, loc="lower right")
    ax_map.grid(alpha=0.3)
    ax_prof.set_xlabel("ground range from launch (km)")
    ax_prof.set_ylabel("altitude (km)")
    ax_prof.set_title("altitude-range profiles")
    ax_prof.grid(alpha=0.3)
    ax_prof.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
