"""Time the warning probabilities for 20 tracks x 3 areas of Japan-land size.

    PYTHONPATH=src python benchmarks/warning_probability.py [--area GEOJSON] [--n-samples N]
                                                            [--repeat R] [--json]

Areas: three synthetic archipelagos of ~5,000 vertices each (a long main island along
Japan's arc and 40 small ones), or the GeoJSON given by --area (used for all three).
Tracks: 20 impact predictions (seeded) around the areas with 5-60 km sigmas, so that
most calls sample and some are quick-rejected. Prints time per call for
impact_probability, the batched impact_probabilities (per track), and
overflight_probability with a 300-point ground track.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from shapely.geometry import MultiPolygon, Polygon

from warnlink.warning.areas import Area, load_geojson_geometry
from warnlink.warning.probability import (
    N_SAMPLES_DEFAULT,
    impact_probabilities,
    impact_probability,
    overflight_probability,
)


def _island(lon_c, lat_c, radius_deg, n, stretch=1.0, tilt_rad=0.0):
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius_deg * (1 + 0.15 * np.sin(9 * a) + 0.05 * np.sin(61 * a))
    x, y = stretch * r * np.cos(a), r * np.sin(a)
    c, s = np.cos(tilt_rad), np.sin(tilt_rad)
    return Polygon(np.stack([lon_c + c * x - s * y, lat_c + s * x + c * y], -1))


def japan_sized_archipelago(lon_shift_deg=0.0, lat_shift_deg=0.0, n_vertices=5000):
    """A MultiPolygon of ~n_vertices: a 1,500 km main island on a tilted arc plus islets."""
    main = _island(137.5 + lon_shift_deg, 36.5 + lat_shift_deg, 1.2, n_vertices - 40 * 50,
                   stretch=5.0, tilt_rad=np.radians(40.0))
    rng = np.random.default_rng(7)
    islets = [_island(128.0 + lon_shift_deg + rng.uniform(0, 16), 30.0 + lat_shift_deg + rng.uniform(0, 14),
                      rng.uniform(0.05, 0.3), 50) for _ in range(40)]
    return MultiPolygon([main] + [i for i in islets if not i.intersects(main)])


def _timeit(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", help="GeoJSON file to use for the three areas")
    parser.add_argument("--n-samples", type=int, default=N_SAMPLES_DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()

    if args.area:
        geoms = [load_geojson_geometry(args.area)] * 3
    else:
        geoms = [japan_sized_archipelago(0, 0), japan_sized_archipelago(-8, 0), japan_sized_archipelago(3, -8)]
    areas = [Area(id=f"A{i}", nation="JPN", geometry=g) for i, g in enumerate(geoms)]
    vertices = [int(sum(len(p.exterior.coords) for p in getattr(g, "geoms", [g]))) for g in geoms]

    rng = np.random.default_rng(1)
    n_tracks = 20
    lat = np.radians(rng.uniform(30.0, 43.0, n_tracks))
    lon = np.radians(rng.uniform(126.0, 145.0, n_tracks))
    sig = rng.uniform(5e3, 60e3, (n_tracks, 2))
    rho = rng.uniform(-0.6, 0.6, n_tracks)
    cov = np.stack([np.stack([sig[:, 0] ** 2, rho * sig[:, 0] * sig[:, 1]], -1),
                    np.stack([rho * sig[:, 0] * sig[:, 1], sig[:, 1] ** 2], -1)], -2)
    launch_lat, launch_lon = np.radians(39.0), np.radians(125.7)
    tracks = [(np.linspace(launch_lat, la, 300), np.linspace(launch_lon, lo, 300),
               np.linspace(100.0, max(s), 300)) for la, lo, s in zip(lat, lon, sig)]

    def all_single():
        return [impact_probability(lat[i], lon[i], cov[i], a, n_samples=args.n_samples)
                for i in range(n_tracks) for a in areas]

    def all_batched():
        return [impact_probabilities(lat, lon, cov, a, n_samples=args.n_samples) for a in areas]

    def all_overflight():
        return [overflight_probability(tl, tn, ts, a) for tl, tn, ts in tracks for a in areas]

    probs = np.array(all_single())
    calls = n_tracks * len(areas)
    t_single = _timeit(all_single, args.repeat) / calls
    t_batch = _timeit(all_batched, args.repeat) / calls
    t_over = _timeit(all_overflight, args.repeat) / calls
    result = {
        "tracks": n_tracks, "areas": len(areas), "area_vertices": vertices,
        "n_samples": args.n_samples, "repeat": args.repeat,
        "calls_sampled": int(np.sum(probs > 0)),
        "impact_probability_us_per_call": {"mean": 1e6 * t_single.mean(), "min": 1e6 * t_single.min()},
        "impact_probabilities_batched_us_per_track_area": {"mean": 1e6 * t_batch.mean(), "min": 1e6 * t_batch.min()},
        "overflight_probability_us_per_call": {"mean": 1e6 * t_over.mean(), "min": 1e6 * t_over.min()},
        "step_ms_20x3_impact_plus_overflight": 1e3 * calls * (t_single.mean() + t_over.mean()),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{n_tracks} tracks x {len(areas)} areas ({vertices} vertices), {args.n_samples} samples, "
          f"{result['calls_sampled']} of {calls} calls with P > 0")
    print(f"impact_probability           {1e6 * t_single.mean():8.0f} us/call (best {1e6 * t_single.min():.0f})")
    print(f"impact_probabilities (batch) {1e6 * t_batch.mean():8.0f} us/track-area (best {1e6 * t_batch.min():.0f})")
    print(f"overflight_probability       {1e6 * t_over.mean():8.0f} us/call (best {1e6 * t_over.min():.0f})")
    print(f"one step, 20 x 3, impact + overflight: {result['step_ms_20x3_impact_plus_overflight']:.1f} ms")


if __name__ == "__main__":
    main()
