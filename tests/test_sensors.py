"""Sensor models: geometry limits, noise, detection, false plots, timing, determinism, no truth."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from scipy import stats

from warnlink import frames
from warnlink.messages import IRReport, LosPlot, RadarPlot, RadarReport, encode
from warnlink.scenario.config import SensorConfig
from warnlink.scenario.sensors import GEO_ALTITUDE_M, detections_by_sensor, simulate_sensors
from warnlink.scenario.simple_flights import boost_coast_trajectory, constant_velocity_trajectory

EPOCH_NS = 1_702_859_040_000_000_000  # 2023-12-18T00:24:00Z
SITE_LAT, SITE_LON, SITE_ALT = 36.4, 127.4, 150.0


def radar(**overrides) -> SensorConfig:
    """An all-round radar that sees everything it can, perfectly, unless told otherwise."""
    fields = dict(
        id="R1", nation="ROK", type="radar", lat_deg=SITE_LAT, lon_deg=SITE_LON, alt_m=SITE_ALT,
        boresight_azimuth_deg=0.0, half_width_deg=180.0, min_elevation_deg=0.0,
        max_elevation_deg=90.0, max_range_km=1000.0, sigma_range_m=0.0, sigma_azimuth_mrad=0.0,
        sigma_elevation_mrad=0.0, revisit_s=1.0, p_detect=1.0, false_alarm_rate=0.0, latency_s=0.0,
    )
    fields.update(overrides)
    return SensorConfig(**fields)


def ir(**overrides) -> SensorConfig:
    fields = dict(
        id="IR1", nation="USA", type="ir_satellite", lon_deg=130.0, sigma_los_urad=0.0,
        min_altitude_km=10.0, revisit_s=1.0, p_detect=1.0, false_alarm_rate=0.0,
    )
    fields.update(overrides)
    return SensorConfig(**fields)


def fixed_target(launch_id: str, r_ecef, t0=0.0, t1=1e4, thrusting=False):
    """A target standing still in ECEF over [t0, t1] (optionally 'burning' throughout)."""
    return constant_velocity_trajectory(
        launch_id, r_ecef, np.zeros(3), t0, t1, t_burnout_s=t1 + 1.0 if thrusting else None
    )


def at_aer(az_deg, el_deg, range_m, cfg: SensorConfig | None = None) -> np.ndarray:
    """ECEF point at azimuth, elevation and range from a radar site."""
    cfg = cfg or radar()
    enu = frames.aer_to_enu(math.radians(az_deg), math.radians(el_deg), range_m)
    return frames.enu_to_ecef(enu, math.radians(cfg.lat_deg), math.radians(cfg.lon_deg), cfg.alt_m)


def seen(cfg: SensorConfig, r_ecef, duration_s=5.0) -> bool:
    run = simulate_sensors([cfg], [fixed_target("T", r_ecef)], duration_s, EPOCH_NS, seed=3)
    return any("T" in labels for labels in run.labels)


def radar_plots(run, launch_id="T"):
    """(time_s, range, az, el) arrays of the plots labelled launch_id."""
    rows = [
        ((rep.time_ns - EPOCH_NS) * 1e-9, p.range_m, p.azimuth_rad, p.elevation_rad)
        for rep, labels in zip(run.reports, run.labels)
        for p, lab in zip(rep.plots, labels)
        if lab == launch_id
    ]
    return np.array(rows).reshape(-1, 4)


# --- radar geometry --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "boresight, half_width, az, expected",
    [
        (10.0, 30.0, 39.9, True),
        (10.0, 30.0, 40.1, False),
        (10.0, 30.0, 340.1, True),  # -19.9 about the boresight, across north
        (10.0, 30.0, 339.9, False),
        (350.0, 20.0, 9.9, True),  # sector straddling north
        (350.0, 20.0, 10.1, False),
        (350.0, 20.0, 330.1, True),
        (350.0, 20.0, 329.9, False),
        (0.0, 180.0, 179.99, True),  # all round
        (0.0, 180.0, 180.01, True),
        (180.0, 0.5, 180.4, True),
        (180.0, 0.5, 0.0, False),
    ],
)
def test_field_of_regard_edges(boresight, half_width, az, expected):
    cfg = radar(boresight_azimuth_deg=boresight, half_width_deg=half_width)
    assert seen(cfg, at_aer(az, 10.0, 100e3)) is expected


@pytest.mark.parametrize("el, expected", [(2.05, True), (1.95, False), (59.9, True), (60.1, False)])
def test_elevation_band_edges(el, expected):
    cfg = radar(min_elevation_deg=2.0, max_elevation_deg=60.0)
    assert seen(cfg, at_aer(45.0, el, 200e3)) is expected


@pytest.mark.parametrize("range_km, expected", [(499.0, True), (501.0, False)])
def test_max_range_edge(range_km, expected):
    cfg = radar(max_range_km=500.0)
    assert seen(cfg, at_aer(120.0, 10.0, range_km * 1e3)) is expected


def test_earth_hides_low_target_beyond_geometric_horizon():
    cfg = radar(alt_m=10.0, min_elevation_deg=-5.0, max_range_km=1e5)
    lat, lon = math.radians(cfg.lat_deg), math.radians(cfg.lon_deg)
    # Horizon ranges: ~11 km for the site at 10 m, ~357 km for a target at 10 km.
    near_lat, near_lon = frames.geodesic_direct(lat, lon, math.radians(80.0), 300e3)
    far_lat, far_lon = frames.geodesic_direct(lat, lon, math.radians(80.0), 600e3)
    near = frames.geodetic_to_ecef(near_lat, near_lon, 10e3)
    far = frames.geodetic_to_ecef(far_lat, far_lon, 10e3)
    # Precondition: only the Earth can hide the far target (not elevation, not range).
    _, el_far, rng_far = frames.enu_to_aer(frames.ecef_to_enu(far, lat, lon, cfg.alt_m))
    assert math.radians(-5.0) < el_far < 0.0 and rng_far < cfg.max_range_km * 1e3
    assert seen(cfg, near)
    assert not seen(cfg, far)
    # The same far point high enough clears the horizon.
    assert seen(cfg, frames.geodetic_to_ecef(far_lat, far_lon, 60e3))


def test_exact_measurement_without_noise():
    cfg = radar()
    run = simulate_sensors([cfg], [fixed_target("T", at_aer(33.0, 21.0, 345e3))], 3.0, EPOCH_NS, 1)
    p = radar_plots(run)
    assert len(p) == 3
    np.testing.assert_allclose(p[:, 1], 345e3, atol=1e-6)
    np.testing.assert_allclose(p[:, 2], math.radians(33.0), atol=1e-12)
    np.testing.assert_allclose(p[:, 3], math.radians(21.0), atol=1e-12)


def test_radar_moving_target_truth_geometry():
    """A moving target: each plot matches the site-to-target geometry at its own scan time."""
    cfg = radar()
    r0 = at_aer(200.0, 5.0, 300e3)
    v = frames.enu_rotation(math.radians(SITE_LAT), math.radians(SITE_LON)).T @ [800.0, -1200.0, 500.0]
    traj = constant_velocity_trajectory("T", r0, v, 0.0, 100.0)
    run = simulate_sensors([cfg], [traj], 100.0, EPOCH_NS, 5)
    p = radar_plots(run)
    assert len(p) == 100
    enu = frames.ecef_to_enu(traj.position(p[:, 0]), math.radians(SITE_LAT), math.radians(SITE_LON), SITE_ALT)
    az, el, rng = frames.enu_to_aer(enu)
    np.testing.assert_allclose(p[:, 1], rng, atol=1e-6)
    np.testing.assert_allclose(p[:, 2], az, atol=1e-12)
    np.testing.assert_allclose(p[:, 3], el, atol=1e-12)


# --- radar noise, bias, detection, false plots -----------------------------------------------

N_SCANS = 4000


def normalized_errors(cfg: SensorConfig, az=70.0, el=25.0, rng=400e3):
    run = simulate_sensors([cfg], [fixed_target("T", at_aer(az, el, rng))], N_SCANS, EPOCH_NS, 11)
    p = radar_plots(run)
    err = np.stack([p[:, 1] - rng, p[:, 2] - math.radians(az), p[:, 3] - math.radians(el)], -1)
    sigma = np.array([cfg.sigma_range_m, cfg.sigma_azimuth_mrad * 1e-3, cfg.sigma_elevation_mrad * 1e-3])
    return err, sigma


def test_radar_noise_is_gaussian_with_configured_sigmas():
    cfg = radar(sigma_range_m=30.0, sigma_azimuth_mrad=1.0, sigma_elevation_mrad=2.0)
    err, sigma = normalized_errors(cfg)
    z = err / sigma
    n = len(z)
    assert n == N_SCANS
    assert np.all(np.abs(z.mean(axis=0)) < 4.0 / math.sqrt(n))
    assert np.all(np.abs(z.std(axis=0) - 1.0) < 4.0 / math.sqrt(2 * n))
    chi2 = float((z**2).sum())
    dof = z.size
    assert 1e-3 < stats.chi2.sf(chi2, dof) < 1 - 1e-3
    for k in range(3):  # shape, not just moments
        assert stats.kstest(z[:, k], "norm").pvalue > 1e-3
    # Independent components.
    assert np.all(np.abs(np.corrcoef(z.T)[np.triu_indices(3, 1)]) < 4.0 / math.sqrt(n))


def test_radar_bias_is_added():
    cfg = radar(
        sigma_range_m=30.0, sigma_azimuth_mrad=1.0, sigma_elevation_mrad=1.0,
        bias_range_m=100.0, bias_azimuth_mrad=2.0, bias_elevation_mrad=-1.5,
    )
    err, sigma = normalized_errors(cfg)
    bias = np.array([100.0, 2e-3, -1.5e-3])
    assert np.all(np.abs(err.mean(axis=0) - bias) < 4.0 * sigma / math.sqrt(len(err)))
    assert np.all(np.abs(err.std(axis=0) / sigma - 1.0) < 0.05)


def test_p_detect_fraction_within_binomial_tolerance():
    p = 0.7
    run = simulate_sensors([radar(p_detect=p)], [fixed_target("T", at_aer(10.0, 10.0, 1e5))], N_SCANS, EPOCH_NS, 2)
    hits = len(radar_plots(run))
    assert abs(hits - p * N_SCANS) < 4.0 * math.sqrt(N_SCANS * p * (1 - p))


def test_false_plots_poisson_per_scan_and_inside_coverage():
    rate = 2.5
    cfg = radar(false_alarm_rate=rate, boresight_azimuth_deg=350.0, half_width_deg=30.0,
                min_elevation_deg=1.0, max_elevation_deg=40.0, max_range_km=800.0)
    run = simulate_sensors([cfg], [], N_SCANS, EPOCH_NS, 4)
    counts = np.zeros(N_SCANS, int)  # revisit 1 s over 4000 s: exactly 4000 scans
    counts[: len(run.reports)] = [len(r.plots) for r in run.reports]
    assert abs(counts.mean() - rate) < 4.0 * math.sqrt(rate / N_SCANS)
    assert abs(counts.var() / rate - 1.0) < 0.1
    assert abs(np.mean(counts == 0) - math.exp(-rate)) < 4.0 * math.sqrt(math.exp(-rate) / N_SCANS)
    assert all(lab is None for labels in run.labels for lab in labels)
    plots = np.array([(p.range_m, p.azimuth_rad, p.elevation_rad) for r in run.reports for p in r.plots])
    assert plots[:, 0].min() >= 0 and plots[:, 0].max() <= 800e3
    off = np.degrees(np.mod(plots[:, 1] - math.radians(350.0) + math.pi, 2 * math.pi) - math.pi)
    assert np.abs(off).max() <= 30.0 and np.abs(off).max() > 29.0
    assert plots[:, 2].min() >= math.radians(1.0) and plots[:, 2].max() <= math.radians(40.0)
    # Uniform in range (a CFAR detector's false alarms fall in any range cell alike).
    assert stats.kstest(plots[:, 0] / 800e3, "uniform").pvalue > 1e-3


def test_plots_shuffled_within_reports():
    cfg = radar()
    targets = [fixed_target("A", at_aer(10.0, 10.0, 1e5)), fixed_target("B", at_aer(20.0, 10.0, 1e5))]
    run = simulate_sensors([cfg], targets, 200.0, EPOCH_NS, 6)
    orders = {labels for labels in run.labels}
    assert orders == {("A", "B"), ("B", "A")}


# --- timing ----------------------------------------------------------------------------------


def test_latency_and_revisit_spacing():
    cfg = radar(revisit_s=2.5, latency_s=0.35)
    run = simulate_sensors([cfg], [fixed_target("T", at_aer(10.0, 10.0, 1e5))], 1000.0, EPOCH_NS, 8)
    t_ns = np.array([r.time_ns for r in run.reports])
    assert len(t_ns) == 400
    assert all(r.report_time_ns - r.time_ns == 350_000_000 for r in run.reports)
    assert np.all(np.abs(np.diff(t_ns) - 2_500_000_000) <= 1)
    first_s = (t_ns[0] - EPOCH_NS) * 1e-9
    assert 0.0 <= first_s < 2.5
    assert (t_ns[-1] - EPOCH_NS) * 1e-9 < 1000.0


def test_outages_silence_a_sensor_and_leave_the_rest_of_its_run_alone():
    target = [fixed_target("T", at_aer(10.0, 10.0, 1e5))]
    whole = simulate_sensors([radar()], target, 300.0, EPOCH_NS, 8)
    broken = simulate_sensors([radar(outages=[[100.0, 160.0], [250.0, 251.0]])], target, 300.0, EPOCH_NS, 8)
    t_s = np.array([(r.time_ns - EPOCH_NS) * 1e-9 for r in broken.reports])
    assert not np.any((t_s >= 100.0) & (t_s < 160.0)) and not np.any((t_s >= 250.0) & (t_s < 251.0))
    kept = [r for r in whole.reports if not (100.0 <= (r.time_ns - EPOCH_NS) * 1e-9 < 160.0
                                              or 250.0 <= (r.time_ns - EPOCH_NS) * 1e-9 < 251.0)]
    assert [msgspec_bytes(r) for r in kept] == [msgspec_bytes(r) for r in broken.reports]
    assert len(whole.reports) - len(broken.reports) == 61


def msgspec_bytes(report) -> bytes:
    from warnlink.messages import encode

    return encode(report)


def test_scan_phases_differ_between_sensors():
    cfgs = [radar(id=f"R{i}") for i in range(4)]
    run = simulate_sensors(cfgs, [fixed_target("T", at_aer(10.0, 10.0, 1e5))], 3.0, EPOCH_NS, 8)
    first = {r.sensor_id: r.time_ns for r in reversed(run.reports)}
    assert len(set(first.values())) == 4


def test_reports_sorted_by_report_time_then_sensor():
    cfgs = [radar(id="B", revisit_s=1.0, latency_s=0.5, false_alarm_rate=1.0),
            radar(id="A", revisit_s=0.7, latency_s=0.0, false_alarm_rate=1.0),
            ir(id="C", revisit_s=2.0, false_alarm_rate=1.0)]
    run = simulate_sensors(cfgs, [], 300.0, EPOCH_NS, 9)
    keys = [(r.report_time_ns, r.sensor_id) for r in run.reports]
    assert keys == sorted(keys)
    assert {r.sensor_id for r in run.reports} == {"A", "B", "C"}


# --- infrared satellite ----------------------------------------------------------------------


def ir_times(run, launch_id):
    return np.array(
        [(r.time_ns - EPOCH_NS) * 1e-9 for r, labels in zip(run.reports, run.labels) if launch_id in labels]
    )


def test_ir_sees_only_boost_above_min_altitude():
    traj = boost_coast_trajectory("M1", math.radians(39.0), math.radians(125.7), math.radians(90.0), 50.0)
    cfg = ir(min_altitude_km=10.0, revisit_s=0.5)
    run = simulate_sensors([cfg], [traj], 1000.0, EPOCH_NS, 1)
    t = ir_times(run, "M1")
    assert len(t) > 0
    assert np.all(traj.thrusting(t))
    assert np.all(frames.altitude(traj.position(t)) >= 10e3)
    # It did miss scans in the boost below 10 km, and every scan above 10 km in the boost was seen.
    scans = np.arange((t[0] % 0.5), 1000.0, 0.5)
    boost = scans[traj.thrusting(scans)]
    high = frames.altitude(traj.position(boost)) >= 10e3
    assert (~high).sum() > 0 and high.sum() == len(t)
    assert t.max() < traj.t_burnout <= t.max() + 0.5


def test_ir_blind_behind_the_limb():
    cfg = ir(lon_deg=130.0)
    # Far side of the Earth from the satellite.
    far = boost_coast_trajectory("FAR", math.radians(20.0), math.radians(-50.0), 0.0, 0.0)
    near = boost_coast_trajectory("NEAR", math.radians(20.0), math.radians(130.0), 0.0, 0.0)
    run = simulate_sensors([cfg], [far, near], 500.0, EPOCH_NS, 1)
    assert len(ir_times(run, "NEAR")) > 0
    assert len(ir_times(run, "FAR")) == 0


def test_ir_limb_edge():
    """Just in front of the limb is seen, just behind it is not, at the same altitude."""
    cfg = ir(lon_deg=0.0, min_altitude_km=10.0)
    sat = frames.geodetic_to_ecef(0.0, 0.0, GEO_ALTITUDE_M)
    h = 100e3

    def visible(lon_deg):
        return frames.segment_clears_ellipsoid(sat, frames.geodetic_to_ecef(0.0, math.radians(lon_deg), h))

    lo, hi = 60.0, 120.0  # bisect the limb longitude on the equator for a target at 100 km
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if visible(mid) else (lo, mid)
    # On the equator the ellipsoid is a circle of radius a: the limb is where the tangent
    # from the satellite meets the target's altitude.
    r_sat = frames.WGS84_A + GEO_ALTITUDE_M
    limb = math.degrees(math.acos(frames.WGS84_A / r_sat) + math.acos(frames.WGS84_A / (frames.WGS84_A + h)))
    assert lo == pytest.approx(limb, abs=1e-6)
    inside = fixed_target("IN", frames.geodetic_to_ecef(0.0, math.radians(lo - 0.05), h), thrusting=True)
    outside = fixed_target("OUT", frames.geodetic_to_ecef(0.0, math.radians(lo + 0.05), h), thrusting=True)
    run = simulate_sensors([cfg], [inside, outside], 5.0, EPOCH_NS, 2)
    assert len(ir_times(run, "IN")) == 5
    assert len(ir_times(run, "OUT")) == 0


def test_ir_los_noise_statistics():
    sigma = 50e-6
    cfg = ir(sigma_los_urad=50.0, lon_deg=130.0)
    target = frames.geodetic_to_ecef(math.radians(39.0), math.radians(126.0), 50e3)
    run = simulate_sensors([cfg], [fixed_target("T", target, thrusting=True)], N_SCANS, EPOCH_NS, 3)
    sat = np.array(run.reports[0].satellite_ecef_m)
    np.testing.assert_allclose(sat, frames.geodetic_to_ecef(0.0, math.radians(130.0), GEO_ALTITUDE_M))
    assert run.reports[0].sigma_los_rad == pytest.approx(sigma)
    los = np.array([p.los_ecef for r in run.reports for p in r.plots])
    assert len(los) == N_SCANS
    np.testing.assert_allclose(np.linalg.norm(los, axis=1), 1.0, atol=1e-12)
    truth = (target - sat) / np.linalg.norm(target - sat)
    e1 = np.cross(truth, [0.0, 0.0, 1.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(truth, e1)
    z = np.stack([los @ e1, los @ e2], -1) / sigma
    n = len(z)
    assert np.all(np.abs(z.mean(axis=0)) < 4.0 / math.sqrt(n))
    assert np.all(np.abs(z.std(axis=0) - 1.0) < 4.0 / math.sqrt(2 * n))
    assert 1e-3 < stats.chi2.sf(float((z**2).sum()), z.size) < 1 - 1e-3
    angle = np.arccos(np.clip(los @ truth, -1, 1)) / sigma
    assert stats.kstest(angle, stats.rayleigh.cdf).pvalue > 1e-3


def test_ir_false_plots_point_at_the_earth_disk():
    cfg = ir(false_alarm_rate=3.0, lon_deg=130.0)
    run = simulate_sensors([cfg], [], 1000.0, EPOCH_NS, 5)
    los = np.array([p.los_ecef for r in run.reports for p in r.plots])
    assert abs(len(los) / 1000.0 - 3.0) < 4.0 * math.sqrt(3.0 / 1000.0)
    sat = np.array(run.reports[0].satellite_ecef_m)
    # Each ray meets the ellipsoid: scale to the unit sphere, solve |a + s d| = 1.
    scale = np.array([frames.WGS84_A, frames.WGS84_A, frames.WGS84_B])
    a, d = sat / scale, los / scale
    b = d @ a
    disc = b**2 - np.einsum("ij,ij->i", d, d) * (a @ a - 1.0)
    assert np.all(disc >= 0) and np.all(b < 0)
    # And they cover the disk out to the limb.
    off = np.degrees(np.arccos(los @ (-sat / np.linalg.norm(sat))))
    assert off.max() > 8.5


# --- determinism, truth kept apart, summaries ------------------------------------------------


def theatre():
    sensors = [
        radar(id="ROK-R1", boresight_azimuth_deg=0.0, half_width_deg=60.0, min_elevation_deg=0.5,
              max_range_km=900.0, sigma_range_m=30.0, sigma_azimuth_mrad=1.0, sigma_elevation_mrad=1.0,
              p_detect=0.9, false_alarm_rate=0.5, latency_s=0.2),
        radar(id="JPN-R1", nation="JPN", lat_deg=37.0, lon_deg=138.5, alt_m=20.0, boresight_azimuth_deg=270.0,
              half_width_deg=60.0, min_elevation_deg=0.5, max_range_km=1500.0, sigma_range_m=50.0,
              sigma_azimuth_mrad=1.5, sigma_elevation_mrad=1.5, p_detect=0.9, false_alarm_rate=0.2),
        ir(id="USA-IR1", sigma_los_urad=50.0, revisit_s=2.0, p_detect=0.99, false_alarm_rate=0.3),
    ]
    flights = [
        boost_coast_trajectory("M1", math.radians(39.0), math.radians(125.7), math.radians(95.0), 60.0),
        boost_coast_trajectory("M2", math.radians(40.0), math.radians(127.0), math.radians(80.0), 90.0,
                               burn_time_s=110.0, pitch_from_vertical_rad=math.radians(35.0)),
    ]
    return sensors, flights


def test_same_seed_same_bytes_other_seed_differs():
    sensors, flights = theatre()
    a = [encode(r) for r in simulate_sensors(sensors, flights, 900.0, EPOCH_NS, 7).reports]
    b = [encode(r) for r in simulate_sensors(sensors, flights, 900.0, EPOCH_NS, 7).reports]
    c = [encode(r) for r in simulate_sensors(sensors, flights, 900.0, EPOCH_NS, 8).reports]
    assert len(a) > 100
    assert a == b
    assert a != c


def test_adding_a_launch_leaves_other_launches_plots_alone():
    sensors, flights = theatre()
    extra = boost_coast_trajectory("M3", math.radians(38.5), math.radians(125.0), math.radians(120.0), 70.0)

    def plots(run, launch_id):
        return sorted(
            (r.sensor_id, r.time_ns, encode(p))
            for r, labels in zip(run.reports, run.labels)
            for p, lab in zip(r.plots, labels)
            if lab == launch_id
        )

    base = simulate_sensors(sensors, flights, 900.0, EPOCH_NS, 7)
    more = simulate_sensors(sensors, flights + [extra], 900.0, EPOCH_NS, 7)
    assert plots(more, "M3")
    for launch_id in ("M1", "M2", None):
        assert plots(base, launch_id) == plots(more, launch_id)


def test_reports_carry_no_truth():
    sensors, flights = theatre()
    run = simulate_sensors(sensors, flights, 900.0, EPOCH_NS, 7)
    common = {"schema_version", "sensor_id", "nation", "time_ns", "report_time_ns", "plots"}
    assert set(RadarReport.__struct_fields__) == common | {
        "site_ecef_m", "site_lat_rad", "site_lon_rad", "site_alt_m",
        "sigma_range_m", "sigma_azimuth_rad", "sigma_elevation_rad",
    }
    assert set(IRReport.__struct_fields__) == common | {"satellite_ecef_m", "sigma_los_rad"}
    assert RadarPlot.__struct_fields__ == ("range_m", "azimuth_rad", "elevation_rad")
    assert LosPlot.__struct_fields__ == ("los_ecef",)
    kinds = set()
    for report in run.reports:
        kinds.add(type(report))
        raw = msgspec.to_builtins(report)
        text = repr(raw)
        assert "M1" not in text and "M2" not in text
        for plot in report.plots:
            assert type(plot) in (RadarPlot, LosPlot)
    assert kinds == {RadarReport, IRReport}
    # The labels sit beside the reports, one per plot.
    assert [len(r.plots) for r in run.reports] == [len(lab) for lab in run.labels]


def test_detections_by_sensor_summary():
    sensors, flights = theatre()
    run = simulate_sensors(sensors, flights, 900.0, EPOCH_NS, 7)
    summary = detections_by_sensor(run)
    assert set(summary) == {"ROK-R1", "JPN-R1", "USA-IR1"}
    for sensor_id, per_launch in summary.items():
        for launch_id, (first, last, count) in per_launch.items():
            times = [
                (r.time_ns - EPOCH_NS) * 1e-9
                for r, labels in zip(run.reports, run.labels)
                if r.sensor_id == sensor_id
                for lab in labels
                if lab == launch_id
            ]
            assert (first, last, count) == (min(times), max(times), len(times))
    ir_first, ir_last, _ = summary["USA-IR1"]["M1"]
    assert ir_last < flights[0].t_burnout
    assert set(summary["ROK-R1"]) == {"M1", "M2"}


def test_invalid_sensor_named():
    with pytest.raises(ValueError, match="sensor 'R1': revisit_s must be > 0"):
        simulate_sensors([radar(revisit_s=0.0)], [], 10.0, EPOCH_NS, 1)
    with pytest.raises(ValueError, match="p_detect"):
        simulate_sensors([radar(p_detect=1.5)], [], 10.0, EPOCH_NS, 1)
    with pytest.raises(ValueError, match="duplicate sensor id"):
        simulate_sensors([radar(), radar()], [], 10.0, EPOCH_NS, 1)


def test_noise_and_detection_independent_between_launches():
    cfg = radar(sigma_range_m=30.0, sigma_azimuth_mrad=1.0, sigma_elevation_mrad=1.0, p_detect=0.5)
    targets = [fixed_target("A", at_aer(70.0, 25.0, 400e3)), fixed_target("B", at_aer(71.0, 25.0, 400e3))]
    run = simulate_sensors([cfg], targets, N_SCANS, EPOCH_NS, 12)
    a, b = radar_plots(run, "A"), radar_plots(run, "B")
    both = np.intersect1d(a[:, 0], b[:, 0])
    # Detections independent: P(both) = p^2.
    assert abs(len(both) - 0.25 * N_SCANS) < 4.0 * math.sqrt(N_SCANS * 0.25 * 0.75)
    ea = a[np.isin(a[:, 0], both), 1] - 400e3
    eb = b[np.isin(b[:, 0], both), 1] - 400e3
    assert abs(np.corrcoef(ea, eb)[0, 1]) < 4.0 / math.sqrt(len(both))


def test_noise_across_the_zenith_stays_a_valid_direction():
    """Elevation noise past 90 degrees reads as the opposite azimuth, not as an invalid angle."""
    cfg = radar(sigma_elevation_mrad=2.0, sigma_azimuth_mrad=0.0, sigma_range_m=0.0)
    target = at_aer(45.0, 89.95, 200e3)
    run = simulate_sensors([cfg], [fixed_target("T", target)], 400.0, EPOCH_NS, 13)
    p = radar_plots(run)
    assert len(p) == 400
    assert np.all((p[:, 2] >= 0) & (p[:, 2] < 2 * math.pi)) and np.all(p[:, 3] <= math.pi / 2)
    flipped = np.abs(p[:, 2] - math.radians(225.0)) < 1e-9
    assert 0 < flipped.sum() < 400  # some went over the top
    # Every plot names a point within a few sigma of the target (in the vertical plane).
    enu = frames.aer_to_enu(p[:, 2], p[:, 3], p[:, 1])
    truth = frames.aer_to_enu(math.radians(45.0), math.radians(89.95), 200e3)
    assert np.linalg.norm(enu - truth, axis=1).max() < 200e3 * 5 * 2e-3
