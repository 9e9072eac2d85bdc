"""Sensor models: the reports that radars and infrared satellites make of the truth flights.

Two kinds of sensor, as in CONTRACT.md section 1:

* **Radar** (ground or ship): scans every ``revisit_s``; sees a missile that is in its
  field of regard (azimuth sector about the boresight, elevation band), within its
  maximum range and above its horizon; detects it with probability ``p_detect`` and
  measures range, azimuth and elevation with Gaussian noise plus an uncorrected bias.
  The horizon is *geometric*: the straight line of sight must clear the WGS84
  ellipsoid. There is no atmospheric refraction (no 4/3-Earth radius) and no terrain.
* **Infrared satellite** (geostationary): sees the hot plume only while a motor
  burns, above ``min_altitude_km`` (clouds) and in front of the Earth's limb; measures
  the unit line of sight with isotropic angular noise.

Both add Poisson false plots per scan and report ``latency_s`` after measuring.
Reports carry only what a sensor measures and knows about itself; the truth (which
launch made each plot) is returned next to them, in :class:`SensorRun`, for evaluation.

Everything is vectorized over scan times and missiles; the Python loops run over
sensors, over launches (one spline evaluation each) and over the reports built.

Randomness: ``SeedSequence(seed).spawn(len(sensors))`` gives each sensor, by its
position in the list, its own seed; from it each sensor derives independent streams
for its scan phase, its false plots, the order of plots in a report, and one stream
per launch keyed by the launch id. Adding a launch therefore changes no other
launch's detections or noise and no false plot; only the order of plots in the
reports where the new launch appears.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import numpy as np

from warnlink import frames
from warnlink.messages import IRReport, LosPlot, RadarPlot, RadarReport, SensorReport
from warnlink.scenario.config import SensorConfig
from warnlink.scenario.trajectory import Trajectory

GEO_ALTITUDE_M = 35_786e3  # geostationary altitude above the equator
TWO_PI = 2.0 * math.pi
# A site standing exactly on the ellipsoid would see rounding decide its own horizon;
# the ellipsoid is shrunk by this much for the line-of-sight test.
_LOS_TOLERANCE_M = 0.5

# Sub-stream numbers under each sensor's seed.
_STREAM_PHASE, _STREAM_FALSE, _STREAM_SHUFFLE, _STREAM_LAUNCH = 0, 1, 2, 3


@dataclass(frozen=True)
class SensorRun:
    """Output of :func:`simulate_sensors`.

    ``reports`` are sorted by (report_time_ns, sensor_id). ``labels[i][j]`` is the launch
    id that caused ``reports[i].plots[j]``, or None for a false plot: truth for
    evaluation only, never sent anywhere.
    """

    reports: list[SensorReport]
    labels: list[tuple[str | None, ...]]
    sensor_ids: tuple[str, ...]
    epoch_ns: int

    @property
    def plot_count(self) -> int:
        return sum(len(labels) for labels in self.labels)


def simulate_sensors(
    sensors: Sequence[SensorConfig],
    trajectories: Sequence[Trajectory],
    duration_s: float,
    epoch_ns: int,
    seed: int,
) -> SensorRun:
    """Every report that ``sensors`` make of ``trajectories`` over scenario times [0, duration_s).

    ``epoch_ns`` is the UTC time (ns) of scenario t = 0; a measurement at t is stamped
    ``epoch_ns + round(t * 1e9)``. Same inputs and seed give identical reports.
    """
    if not (math.isfinite(duration_s) and duration_s >= 0):
        raise ValueError(f"duration_s must be finite and >= 0 (got {duration_s})")
    ids = [s.id for s in sensors]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate sensor id(s): {', '.join(duplicates)}")
    launch_ids = [tr.launch_id for tr in trajectories]
    if len(set(launch_ids)) != len(launch_ids):
        raise ValueError("duplicate launch ids among trajectories")
    for cfg in sensors:
        _validate(cfg)

    seeds = np.random.SeedSequence(seed).spawn(len(sensors))
    made: list[tuple[SensorReport, tuple[str | None, ...]]] = []
    for cfg, seed_seq in zip(sensors, seeds):
        simulate = _simulate_radar if cfg.type == "radar" else _simulate_ir
        reports = simulate(cfg, trajectories, duration_s, int(epoch_ns), _Streams(seed_seq))
        if cfg.outages:  # drawn as if the sensor ran, so the rest of its run is the same with or without them
            down = [(epoch_ns + round(a * 1e9), epoch_ns + round(b * 1e9)) for a, b in cfg.outages]
            reports = [item for item in reports if not any(a <= item[0].time_ns < b for a, b in down)]
        made.extend(reports)
    made.sort(key=lambda item: (item[0].report_time_ns, item[0].sensor_id))
    return SensorRun(
        reports=[report for report, _ in made],
        labels=[labels for _, labels in made],
        sensor_ids=tuple(ids),
        epoch_ns=int(epoch_ns),
    )


def detections_by_sensor(run: SensorRun) -> dict[str, dict[str, tuple[float, float, int]]]:
    """For each sensor and each launch it detected: (first t_s, last t_s, number of plots).

    Times are scenario seconds of the measurement. Sensors that detected nothing map to {}.
    """
    out: dict[str, dict[str, tuple[float, float, int]]] = {sid: {} for sid in run.sensor_ids}
    for report, labels in zip(run.reports, run.labels):
        t_s = (report.time_ns - run.epoch_ns) * 1e-9
        per_launch = out.setdefault(report.sensor_id, {})
        for launch_id in labels:
            if launch_id is None:
                continue
            first, last, count = per_launch.get(launch_id, (t_s, t_s, 0))
            per_launch[launch_id] = (min(first, t_s), max(last, t_s), count + 1)
    return out


# --- internals --------------------------------------------------------------------------------


class _Streams:
    """Independent random streams of one sensor, derived from its SeedSequence."""

    def __init__(self, seed_seq: np.random.SeedSequence) -> None:
        self._seq = seed_seq

    def _child(self, *key: int) -> np.random.Generator:
        seq = np.random.SeedSequence(
            entropy=self._seq.entropy, spawn_key=tuple(self._seq.spawn_key) + key
        )
        return np.random.default_rng(seq)

    def stream(self, number: int) -> np.random.Generator:
        return self._child(number)

    def launch(self, launch_id: str) -> np.random.Generator:
        digest = hashlib.blake2b(launch_id.encode("utf-8"), digest_size=8).digest()
        return self._child(_STREAM_LAUNCH, int.from_bytes(digest, "little"))


def _validate(cfg: SensorConfig) -> None:
    """Reject sensor parameters no model can use, naming the sensor and the field."""

    def need(ok: bool, field: str, rule: str) -> None:
        if not ok:
            raise ValueError(f"sensor {cfg.id!r}: {field} must be {rule} (got {getattr(cfg, field)!r})")

    finite = lambda x: math.isfinite(x)  # noqa: E731
    need(finite(cfg.revisit_s) and cfg.revisit_s > 0, "revisit_s", "> 0")
    need(0.0 <= cfg.p_detect <= 1.0, "p_detect", "in [0, 1]")
    need(finite(cfg.false_alarm_rate) and cfg.false_alarm_rate >= 0, "false_alarm_rate", ">= 0")
    need(finite(cfg.latency_s) and cfg.latency_s >= 0, "latency_s", ">= 0")
    need(finite(cfg.lon_deg), "lon_deg", "finite")
    if cfg.type == "radar":
        need(-90.0 <= cfg.lat_deg <= 90.0, "lat_deg", "in [-90, 90]")
        need(finite(cfg.alt_m), "alt_m", "finite")
        need(finite(cfg.boresight_azimuth_deg), "boresight_azimuth_deg", "finite")
        need(0.0 <= cfg.half_width_deg <= 180.0, "half_width_deg", "in [0, 180]")
        need(-90.0 <= cfg.min_elevation_deg <= 90.0, "min_elevation_deg", "in [-90, 90]")
        need(
            cfg.min_elevation_deg <= cfg.max_elevation_deg <= 90.0,
            "max_elevation_deg",
            "in [min_elevation_deg, 90]",
        )
        need(finite(cfg.max_range_km) and cfg.max_range_km > 0, "max_range_km", "> 0")
        for field in ("sigma_range_m", "sigma_azimuth_mrad", "sigma_elevation_mrad"):
            need(finite(getattr(cfg, field)) and getattr(cfg, field) >= 0, field, ">= 0")
        for field in ("bias_range_m", "bias_azimuth_mrad", "bias_elevation_mrad"):
            need(finite(getattr(cfg, field)), field, "finite")
    else:
        need(finite(cfg.sigma_los_urad) and cfg.sigma_los_urad >= 0, "sigma_los_urad", ">= 0")
        need(finite(cfg.min_altitude_km), "min_altitude_km", "finite")


def _scan_times(rng: np.random.Generator, revisit_s: float, duration_s: float) -> np.ndarray:
    """phase + k * revisit_s in [0, duration_s), with the phase uniform in [0, revisit_s)."""
    phase = rng.uniform(0.0, revisit_s)
    n = max(math.ceil((duration_s - phase) / revisit_s), 0)
    times = phase + revisit_s * np.arange(n, dtype=float)
    return times[times < duration_s]


@dataclass
class _Candidates:
    """Every (scan, launch) pair where a missile could be seen, with its random draws."""

    scan: np.ndarray  # (n,) index into the scan times
    launch: np.ndarray  # (n,) index into the trajectories
    r: np.ndarray  # (n, 3) truth ECEF position
    uniform: np.ndarray  # (n,) for the detection draw
    normal: np.ndarray  # (n, k) standard normals for the measurement noise


def _candidates(
    times: np.ndarray,
    trajectories: Sequence[Trajectory],
    streams: _Streams,
    n_normals: int,
    boost_only: bool,
) -> _Candidates:
    parts = []
    for m, traj in enumerate(trajectories):
        k0 = int(np.searchsorted(times, traj.t_launch, "left"))
        k1 = int(np.searchsorted(times, traj.t_impact, "right"))  # in_flight: t <= t_impact
        if boost_only:  # thrusting: t < t_burnout
            k1 = min(k1, int(np.searchsorted(times, traj.t_burnout, "left")))
        if k1 <= k0:
            continue
        rng = streams.launch(traj.launch_id)
        n = k1 - k0
        uniform = rng.random(n)
        normal = rng.standard_normal((n, n_normals))
        r = traj.position(times[k0:k1])
        parts.append((np.arange(k0, k1), np.full(n, m), r, uniform, normal))
    if not parts:
        return _Candidates(
            np.zeros(0, int), np.zeros(0, int), np.zeros((0, 3)), np.zeros(0), np.zeros((0, n_normals))
        )
    return _Candidates(*(np.concatenate(column) for column in zip(*parts)))


def _wrap_pi(angle):
    """Angle wrapped to [-pi, pi)."""
    return np.mod(np.asarray(angle) + math.pi, TWO_PI) - math.pi


def _wrap_two_pi(angle):
    """Angle wrapped to [0, 2pi); np.mod may round a tiny negative angle up to 2pi itself."""
    wrapped = np.mod(angle, TWO_PI)
    return np.where(wrapped >= TWO_PI, 0.0, wrapped)


def _false_counts(rng: np.random.Generator, rate: float, n_scans: int) -> np.ndarray:
    """Number of false plots in each of n_scans scans: Poisson with mean ``rate``."""
    return rng.poisson(rate, n_scans) if rate > 0 else np.zeros(n_scans, int)


def _time_ns(times: np.ndarray, epoch_ns: int) -> np.ndarray:
    return epoch_ns + np.rint(times * 1e9).astype(np.int64)


def _group_by_scan(
    rng: np.random.Generator, scan: np.ndarray
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Shuffle plots within each scan; return the order and (scan, start, stop) of each group."""
    order = np.lexsort((rng.random(scan.size), scan))
    scan_sorted = scan[order]
    if scan_sorted.size == 0:
        return order, []
    starts = np.flatnonzero(np.r_[True, scan_sorted[1:] != scan_sorted[:-1]])
    stops = np.r_[starts[1:], scan_sorted.size]
    return order, list(zip(scan_sorted[starts].tolist(), starts.tolist(), stops.tolist()))


def _labels(launch_index: np.ndarray, trajectories: Sequence[Trajectory]) -> list[str | None]:
    names = np.array([tr.launch_id for tr in trajectories] + [None], dtype=object)
    return names[launch_index].tolist()  # index -1 (false plot) picks None


def _simulate_radar(
    cfg: SensorConfig,
    trajectories: Sequence[Trajectory],
    duration_s: float,
    epoch_ns: int,
    streams: _Streams,
) -> list[tuple[RadarReport, tuple[str | None, ...]]]:
    lat = math.radians(cfg.lat_deg)
    lon = float(_wrap_pi(math.radians(cfg.lon_deg)))
    site = frames.geodetic_to_ecef(lat, lon, cfg.alt_m)
    rot = frames.enu_rotation(lat, lon)
    boresight = math.radians(cfg.boresight_azimuth_deg)
    half_width = math.radians(cfg.half_width_deg)
    min_el, max_el = math.radians(cfg.min_elevation_deg), math.radians(cfg.max_elevation_deg)
    max_range = cfg.max_range_km * 1e3
    sigma = np.array([cfg.sigma_range_m, cfg.sigma_azimuth_mrad * 1e-3, cfg.sigma_elevation_mrad * 1e-3])
    bias = np.array([cfg.bias_range_m, cfg.bias_azimuth_mrad * 1e-3, cfg.bias_elevation_mrad * 1e-3])

    times = _scan_times(streams.stream(_STREAM_PHASE), cfg.revisit_s, duration_s)
    cand = _candidates(times, trajectories, streams, 3, boost_only=False)

    # Truth geometry from the site, and what the radar can see.
    azimuth, elevation, rng_m = frames.enu_to_aer((cand.r - site) @ rot.T)
    in_sector = (half_width >= math.pi) | (np.abs(_wrap_pi(azimuth - boresight)) <= half_width)
    visible = (
        in_sector
        & (elevation >= min_el)
        & (elevation <= max_el)
        & (rng_m <= max_range)
        & frames.segment_clears_ellipsoid(site, cand.r, margin_m=-_LOS_TOLERANCE_M)
    )
    hit = visible & (cand.uniform < cfg.p_detect)
    truth = np.stack([rng_m[hit], azimuth[hit], elevation[hit]], axis=-1)
    measured = truth + bias + sigma * cand.normal[hit]

    # False plots: uniform in range, in the azimuth sector and in the elevation band.
    fa = streams.stream(_STREAM_FALSE)
    counts = _false_counts(fa, cfg.false_alarm_rate, times.size)
    n_false = int(counts.sum())
    sector = min(half_width, math.pi)
    false = np.stack(
        [
            fa.uniform(0.0, max_range, n_false),
            boresight + fa.uniform(-sector, sector, n_false),
            fa.uniform(min_el, max_el, n_false),
        ],
        axis=-1,
    )

    plots = np.concatenate([measured, false])
    scan = np.concatenate([cand.scan[hit], np.repeat(np.arange(times.size), counts)])
    launch = np.concatenate([cand.launch[hit], np.full(n_false, -1)])
    plots = _radar_to_wire_domain(plots)

    order, groups = _group_by_scan(streams.stream(_STREAM_SHUFFLE), scan)
    wire_plots = msgspec.convert(plots[order].tolist(), list[RadarPlot])
    labels = _labels(launch[order], trajectories)
    time_ns = _time_ns(times, epoch_ns).tolist()
    latency_ns = round(cfg.latency_s * 1e9)
    site_tuple = tuple(float(x) for x in site)
    sigma_r, sigma_az, sigma_el = (float(x) for x in sigma)
    out = []
    for k, start, stop in groups:
        report = RadarReport(
            sensor_id=cfg.id,
            nation=cfg.nation,
            time_ns=time_ns[k],
            report_time_ns=time_ns[k] + latency_ns,
            site_ecef_m=site_tuple,
            site_lat_rad=lat,
            site_lon_rad=lon,
            site_alt_m=float(cfg.alt_m),
            sigma_range_m=sigma_r,
            sigma_azimuth_rad=sigma_az,
            sigma_elevation_rad=sigma_el,
            plots=wire_plots[start:stop],
        )
        out.append((report, tuple(labels[start:stop])))
    return out


def _radar_to_wire_domain(plots: np.ndarray) -> np.ndarray:
    """Measured (range, az, el) into the wire's domain without moving the point they name.

    Noise can push an elevation past the zenith (it then reads as the opposite azimuth)
    or a range below zero (impossible for real targets kilometres away; clipped).
    """
    rng_m, az, el = plots[:, 0], plots[:, 1], plots[:, 2]
    over = el > math.pi / 2
    under = el < -math.pi / 2
    el = np.where(over, math.pi - el, np.where(under, -math.pi - el, el))
    az = _wrap_two_pi(az + np.where(over | under, math.pi, 0.0))
    return np.stack([np.maximum(rng_m, 0.0), az, el], axis=-1)


def _perpendicular_basis(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (n, 3) perpendicular to the unit vectors u and to each other."""
    helper = np.zeros_like(u)
    helper[np.arange(len(u)), np.argmin(np.abs(u), axis=-1)] = 1.0
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    return e1, np.cross(u, e1)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _earth_disk_directions(rng: np.random.Generator, observer: np.ndarray, n: int) -> np.ndarray:
    """n unit vectors from ``observer`` uniform in solid angle over the Earth's visible disk.

    Drawn in the cone that holds the equatorial radius, keeping those that meet the
    ellipsoid (the disk is flattened at the poles).
    """
    centre = _unit(-observer)
    distance = float(np.linalg.norm(observer))
    cos_max = math.cos(math.asin(frames.WGS84_A / distance))
    p1, p2 = (e[0] for e in _perpendicular_basis(centre[None, :]))
    scale = np.array([frames.WGS84_A, frames.WGS84_A, frames.WGS84_B])
    a = observer / scale
    chosen: list[np.ndarray] = []
    have = 0
    while have < n:
        m = n - have + 8
        cos_t = 1.0 - rng.random(m) * (1.0 - cos_max)
        sin_t = np.sqrt(1.0 - cos_t**2)
        phi = rng.uniform(0.0, TWO_PI, m)
        across = np.cos(phi)[:, None] * p1 + np.sin(phi)[:, None] * p2
        d = cos_t[:, None] * centre + sin_t[:, None] * across
        ds = d / scale
        b = ds @ a
        meets = (b < 0) & (b * b - np.einsum("ij,ij->i", ds, ds) * (a @ a - 1.0) >= 0)
        chosen.append(d[meets][: n - have])
        have += len(chosen[-1])
    return np.concatenate(chosen) if chosen else np.zeros((0, 3))


def _simulate_ir(
    cfg: SensorConfig,
    trajectories: Sequence[Trajectory],
    duration_s: float,
    epoch_ns: int,
    streams: _Streams,
) -> list[tuple[IRReport, tuple[str | None, ...]]]:
    lon = float(_wrap_pi(math.radians(cfg.lon_deg)))
    satellite = frames.geodetic_to_ecef(0.0, lon, GEO_ALTITUDE_M)
    sigma = cfg.sigma_los_urad * 1e-6

    times = _scan_times(streams.stream(_STREAM_PHASE), cfg.revisit_s, duration_s)
    cand = _candidates(times, trajectories, streams, 2, boost_only=True)

    high = frames.altitude(cand.r) >= cfg.min_altitude_km * 1e3
    visible = high & frames.segment_clears_ellipsoid(satellite, cand.r)
    hit = visible & (cand.uniform < cfg.p_detect)
    los = _unit(cand.r[hit] - satellite)
    # Isotropic angular noise: sigma along each of two axes perpendicular to the line of
    # sight, then back onto the unit sphere (angle = atan(sigma*|n|), exact to O(sigma^3)).
    e1, e2 = _perpendicular_basis(los)
    normal = cand.normal[hit]
    measured = _unit(los + sigma * (normal[:, :1] * e1 + normal[:, 1:2] * e2))

    fa = streams.stream(_STREAM_FALSE)
    counts = _false_counts(fa, cfg.false_alarm_rate, times.size)
    false = _earth_disk_directions(fa, satellite, int(counts.sum()))

    plots = np.concatenate([measured, false])
    scan = np.concatenate([cand.scan[hit], np.repeat(np.arange(times.size), counts)])
    launch = np.concatenate([cand.launch[hit], np.full(len(false), -1)])

    order, groups = _group_by_scan(streams.stream(_STREAM_SHUFFLE), scan)
    wire_plots = msgspec.convert([[row] for row in plots[order].tolist()], list[LosPlot])
    labels = _labels(launch[order], trajectories)
    time_ns = _time_ns(times, epoch_ns).tolist()
    latency_ns = round(cfg.latency_s * 1e9)
    sat_tuple = tuple(float(x) for x in satellite)
    out = []
    for k, start, stop in groups:
        report = IRReport(
            sensor_id=cfg.id,
            nation=cfg.nation,
            time_ns=time_ns[k],
            report_time_ns=time_ns[k] + latency_ns,
            satellite_ecef_m=sat_tuple,
            sigma_los_rad=sigma,
            plots=wire_plots[start:stop],
        )
        out.append((report, tuple(labels[start:stop])))
    return out
