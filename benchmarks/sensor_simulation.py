"""Benchmark: how fast the sensor models turn truth flights into sensor reports.

    PYTHONPATH=src python benchmarks/sensor_simulation.py --missiles 50 --duration-s 3600 [--json]

Times :func:`warnlink.scenario.sensors.simulate_sensors` (best of ``--repeat`` runs) for
N synthetic boost-coast flights over north-east Asia seen by a theatre of radars and
geostationary infrared satellites built in code, and the MessagePack encoding of the
reports. Prints plots per second and wall time, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink.messages import encode  # noqa: E402
from warnlink.scenario.config import SensorConfig  # noqa: E402
from warnlink.scenario.sensors import simulate_sensors  # noqa: E402
from warnlink.scenario.simple_flights import boost_coast_trajectory  # noqa: E402
from warnlink.scenario.trajectory import Trajectory  # noqa: E402

EPOCH_NS = 1_702_859_040_000_000_000  # 2023-12-18T00:24:00Z


def theatre_sensors() -> list[SensorConfig]:
    """Radars and infrared satellites placed like a north-east Asian theatre (synthetic figures)."""

    def radar(id_, nation, lat, lon, alt, boresight, half_width, range_km, revisit=1.0, fa=0.5, **kw):
        return SensorConfig(
            id=id_, nation=nation, type="radar", lat_deg=lat, lon_deg=lon, alt_m=alt,
            boresight_azimuth_deg=boresight, half_width_deg=half_width, min_elevation_deg=0.5,
            max_range_km=range_km, sigma_range_m=kw.get("sigma_range_m", 30.0),
            sigma_azimuth_mrad=1.0, sigma_elevation_mrad=1.0, bias_azimuth_mrad=0.2,
            revisit_s=revisit, p_detect=0.95, false_alarm_rate=fa, latency_s=0.2,
        )

    return [
        radar("ROK-R1", "ROK", 36.4, 127.4, 150.0, 0.0, 60.0, 900.0),
        radar("ROK-R2", "ROK", 35.9, 128.6, 300.0, 330.0, 60.0, 900.0),
        radar("ROK-S1", "ROK", 37.5, 130.0, 30.0, 0.0, 180.0, 600.0, revisit=2.0, fa=1.0),
        radar("JPN-R1", "JPN", 40.9, 140.3, 50.0, 270.0, 60.0, 1500.0, sigma_range_m=15.0),
        radar("JPN-R2", "JPN", 35.7, 135.2, 50.0, 300.0, 60.0, 1500.0, sigma_range_m=15.0),
        radar("JPN-S1", "JPN", 38.5, 134.0, 30.0, 0.0, 180.0, 600.0, revisit=2.0, fa=1.0),
        radar("USA-S1", "USA", 39.0, 133.0, 30.0, 0.0, 180.0, 700.0, revisit=2.0, fa=1.0),
        radar("USA-R1", "USA", 13.6, 144.9, 100.0, 330.0, 60.0, 3000.0, revisit=5.0),
        SensorConfig(id="USA-IR1", nation="USA", type="ir_satellite", lon_deg=130.0,
                     sigma_los_urad=50.0, revisit_s=2.0, p_detect=0.99, false_alarm_rate=2.0),
        SensorConfig(id="USA-IR2", nation="USA", type="ir_satellite", lon_deg=100.0,
                     sigma_los_urad=50.0, revisit_s=2.0, p_detect=0.99, false_alarm_rate=2.0),
    ]


def synthetic_flights(n: int, duration_s: float, seed: int) -> list[Trajectory]:
    """n boost-coast flights from sites near 39-41N 124-129E, eastbound, launched over the run."""
    rng = np.random.default_rng(seed)
    flights = []
    for i in range(n):
        flights.append(
            boost_coast_trajectory(
                f"M{i + 1}",
                math.radians(rng.uniform(38.5, 41.0)),
                math.radians(rng.uniform(124.5, 129.0)),
                math.radians(rng.uniform(45.0, 135.0)),
                t_launch_s=rng.uniform(0.0, max(duration_s - 900.0, 0.0)),
                burn_time_s=rng.uniform(60.0, 120.0),
                thrust_accel_mps2=rng.uniform(25.0, 35.0),
                pitch_from_vertical_rad=math.radians(rng.uniform(20.0, 40.0)),
            )
        )
    return flights


def load_scenario(path: Path) -> tuple[list[SensorConfig], list[Trajectory], float, int]:
    """Sensors, truth flights, duration and epoch of a scenario file (e.g. scenarios/demo.toml)."""
    from warnlink.scenario.loader import load_scenario as load
    from warnlink.scenario.world import build_world

    scenario = load(path)
    world = build_world(scenario)
    return list(scenario.config.sensors), world.trajectories, scenario.config.scenario.duration_s, scenario.epoch_ns

def run(sensors, flights, duration_s: float, seed: int, repeat: int, epoch_ns: int = EPOCH_NS) -> dict:
    best = math.inf
    result = None
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        result = simulate_sensors(sensors, flights, duration_s, epoch_ns, seed)
        best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    encoded = [encode(report) for report in result.reports]
    encode_s = time.perf_counter() - start
    plots = result.plot_count
    true_plots = sum(lab is not None for labels in result.labels for lab in labels)
    return {
        "missiles": len(flights),
        "sensors": len(sensors),
        "duration_s": duration_s,
        "reports": len(result.reports),
        "plots": plots,
        "true_plots": true_plots,
        "wall_s": best,
        "plots_per_s": plots / best if best > 0 else None,
        "encode_s": encode_s,
        "encoded_bytes": sum(len(b) for b in encoded),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missiles", type=int, default=50, help="number of synthetic flights")
    parser.add_argument("--duration-s", type=float, default=3600.0, help="scenario length, s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs timed; the best is reported")
    parser.add_argument("--scenario", type=Path, help="time a scenario file's sensors and flights instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.missiles < 0 or not args.duration_s > 0:
        parser.error("--missiles must be >= 0 and --duration-s > 0")

    if args.scenario:
        from warnlink.scenario.loader import ScenarioError

        try:
            sensors, flights, duration_s, epoch_ns = load_scenario(args.scenario)
        except ScenarioError as exc:
            parser.exit(2, f"{parser.prog}: {exc}\n")
    else:
        sensors, duration_s, epoch_ns = theatre_sensors(), args.duration_s, EPOCH_NS
        flights = synthetic_flights(args.missiles, duration_s, args.seed)
    figures = run(sensors, flights, duration_s, args.seed, args.repeat, epoch_ns)
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{figures['missiles']} missiles, {figures['sensors']} sensors, {duration_s:g} s: "
            f"{figures['reports']} reports, {figures['plots']} plots ({figures['true_plots']} true) "
            f"in {figures['wall_s']:.3f} s = {figures['plots_per_s']:.0f} plots/s; "
            f"encoding {figures['encoded_bytes'] / 1e6:.1f} MB took {figures['encode_s']:.3f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
