"""Truth flights designed from public figures."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from warnlink import frames
from warnlink.cli import app
from warnlink.scenario.flight import FlightDesignError, classify, design_flight

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "public_launches.csv"
ROWS = list(csv.DictReader(REFERENCE.open())) if REFERENCE.exists() else []


@pytest.mark.skipif(not ROWS, reason=f"{REFERENCE} not present")
@pytest.mark.parametrize("row", ROWS, ids=[f"{r['launch_utc'][:10]}-{r['missile']}" for r in ROWS])
def test_public_launch_flight_time_within_5_percent(row):
    design = design_flight(
        float(row["site_lat_deg"]), float(row["site_lon_deg"]), float(row["apogee_km"]),
        azimuth_deg=float(row["azimuth_deg_approx"]), range_km=float(row["range_km"]),
    )
    reported = float(row["flight_time_s"])
    assert design.flight_time_s == pytest.approx(reported, rel=0.05)
    assert design.range_m / 1e3 == pytest.approx(float(row["range_km"]), abs=1.0)
    assert design.apogee_m / 1e3 == pytest.approx(float(row["apogee_km"]), abs=1.0)


@pytest.mark.parametrize(
    "range_km, apogee_km, azimuth_deg, lofted, cls",
    [
        (400.0, 50.0, 90.0, False, "SRBM"),  # depressed, drag-dominated
        (1000.0, 250.0, 100.0, False, None),  # near minimum energy
        (1000.0, 7700.0, 60.0, True, "ICBM"),  # lofted to the top of the public range
        (4600.0, 1000.0, 85.0, False, "IRBM"),  # Hwasong-12 over Japan
    ],
)
def test_depressed_minimum_energy_and_lofted_flights_land_on_the_requested_point(range_km, apogee_km, azimuth_deg, lofted, cls):
    site_lat, site_lon = 39.2, 125.67
    design = design_flight(site_lat, site_lon, apogee_km, azimuth_deg=azimuth_deg, range_km=range_km)
    lat, lon = design.trajectory.impact_point
    dist, bearing = frames.geodesic_inverse(np.radians(site_lat), np.radians(site_lon), lat, lon)
    # Within 1 km of the requested point: range and cross-range.
    assert abs(dist / 1e3 - range_km) < 1.0
    cross_km = dist / 1e3 * np.sin(bearing - np.radians(azimuth_deg))
    assert abs(cross_km) < 1.0
    assert abs(design.apogee_m / 1e3 - apogee_km) < 1.0
    assert design.lofted is lofted
    if cls:
        assert design.missile_class == cls
    # Burnout is well before apogee and the flight is continuous and above ground in between.
    t = np.linspace(design.trajectory.t_launch + 1, design.trajectory.t_impact - 1, 500)
    assert np.all(design.trajectory.geodetic(t)[2] > 0)


def test_the_truth_flies_the_gravity_beyond_j2_that_the_trackers_leave_out():
    """A coasting truth's acceleration is the trackers' model (J2, rotation, drag) plus J3, J4,
    C22 and S22: a truth that followed the trackers' model exactly gave their process noise
    nothing to stand for."""
    from warnlink.physics.dynamics import acceleration
    from warnlink.physics.gravity import gravity_beyond_j2
    from warnlink.scenario.flight import REENTRY_BALLISTIC_COEFFICIENT

    traj = design_flight(39.0, 125.7, 970.0, azimuth_deg=90.0, range_km=4600.0).trajectory
    coast = np.nonzero((traj.t > traj.t_burnout + 10.0) & (traj.t < traj.t_impact - 10.0))[0][::50]
    for i in coast:
        model = acceleration(traj.r[i], traj.v[i], 1.0 / REENTRY_BALLISTIC_COEFFICIENT)
        beyond = np.array(gravity_beyond_j2(*traj.r[i]))
        assert np.linalg.norm(beyond) > 1e-6
        assert np.allclose(traj.a[i] - model, beyond, rtol=1e-6, atol=1e-12)


def test_target_point_and_azimuth_range_give_the_same_flight():
    by_range = design_flight(40.0, 127.0, 500.0, azimuth_deg=95.0, range_km=1500.0)
    lat, lon = by_range.target_lat, by_range.target_lon
    by_target = design_flight(40.0, 127.0, 500.0, target_lat_deg=np.degrees(lat), target_lon_deg=np.degrees(lon))
    assert by_target.flight_time_s == pytest.approx(by_range.flight_time_s, abs=1.0)
    assert by_target.range_m == pytest.approx(by_range.range_m, abs=1000.0)


def test_design_is_deterministic():
    a = design_flight(39.0, 125.7, 90.0, azimuth_deg=90.0, range_km=380.0)
    b = design_flight(39.0, 125.7, 90.0, azimuth_deg=90.0, range_km=380.0)
    assert np.array_equal(a.trajectory.r, b.trajectory.r)


def test_classes_follow_minimum_energy_range():
    assert classify(999e3) == "SRBM"
    assert classify(1000e3) == "MRBM"
    assert classify(2999e3) == "MRBM"
    assert classify(3000e3) == "IRBM"
    assert classify(5499e3) == "IRBM"
    assert classify(5500e3) == "ICBM"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(apogee_km=500, azimuth_deg=90, range_km=25000), "half the Earth"),
        (dict(apogee_km=-5, azimuth_deg=90, range_km=1000), "apogee"),
        (dict(apogee_km=500, azimuth_deg=90, range_km=-3), "range"),
        (dict(apogee_km=500, azimuth_deg=90), "range"),
        (dict(apogee_km=500), "either an azimuth"),
        (dict(apogee_km=5, azimuth_deg=90, range_km=1000), "no flight"),
        (dict(apogee_km=float("nan"), azimuth_deg=90, range_km=1000), "finite"),
    ],
)
def test_impossible_flights_are_refused_clearly(kwargs, message):
    with pytest.raises(FlightDesignError, match=message):
        design_flight(39.0, 125.7, **kwargs)


def test_fly_command_prints_the_contract_json():
    result = CliRunner().invoke(
        app, ["fly", "--site-lat-deg", "39.03", "--site-lon-deg", "125.75", "--azimuth-deg", "95",
              "--range-km", "1002", "--apogee-km", "6518", "--json"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in ("range_km", "apogee_km", "flight_time_s", "burnout_speed_mps", "min_energy_range_km",
                "class", "impact_lat_deg", "impact_lon_deg"):
        assert key in out
    assert out["class"] == "ICBM"
    assert abs(out["range_km"] - 1002) < 1 and abs(out["apogee_km"] - 6518) < 1


def test_fly_command_exits_2_with_a_message_for_an_impossible_flight():
    result = CliRunner().invoke(
        app, ["fly", "--site-lat-deg", "39", "--site-lon-deg", "125", "--azimuth-deg", "90",
              "--range-km", "30000", "--apogee-km", "500", "--json"],
    )
    assert result.exit_code == 2
    assert "half the Earth" in result.output
    assert "Traceback" not in result.output


def test_a_motor_of_lower_exhaust_velocity_burns_more_of_its_stage_and_still_lands_on_the_point():
    """The design solves for the same impact point and apogee whatever the motors; a lower
    exhaust velocity burns a larger mass fraction for the same velocity change, so the thrust
    grows more over the burn (the rocket equation: the end-to-start ratio is exp(dv / c))."""
    flights = {c: design_flight(39.0, 125.7, 150.0, azimuth_deg=90.0, range_km=600.0,
                                stage_exhaust_velocity_mps=(c, c, c)) for c in (2250.0, 2950.0)}
    for c, f in flights.items():
        assert f.stage_exhaust_velocity_mps == (c,)
        assert f.miss_distance_m < 1000.0 and abs(f.apogee_m - 150e3) < 1000.0
        boost = f.boost
        start, end = boost.thrust_acceleration(0.0), boost.thrust_acceleration(boost.burn_time_s - 1e-9)
        assert end / start == pytest.approx(np.exp(boost.delta_v_mps / c), rel=1e-6)
    ratio = {c: f.boost.thrust_acceleration(f.boost.burn_time_s - 1e-9) / f.boost.thrust_acceleration(0.0)
             for c, f in flights.items()}
    assert ratio[2250.0] > 1.1 * ratio[2950.0]


def test_each_stage_burns_with_its_own_motor():
    f = design_flight(40.6, 126.4, 1000.0, azimuth_deg=85.0, range_km=4600.0,  # the IRBM over Japan, 2022
                      stage_exhaust_velocity_mps=(2300.0, 2900.0, 2600.0))
    boost = f.boost
    assert len(boost.stage_burn_s) == 2 and f.stage_exhaust_velocity_mps == (2300.0, 2900.0)
    assert f.summary()["stage_exhaust_velocity_mps"] == [2300.0, 2900.0]
    dv = boost.delta_v_mps / 2
    first, second = boost.stage_burn_s
    for start, burn, c in ((0.0, first, 2300.0), (first, second, 2900.0)):
        ratio = boost.thrust_acceleration(start + burn - 1e-9) / boost.thrust_acceleration(start)
        assert ratio == pytest.approx(np.exp(dv / c), rel=1e-6)


@pytest.mark.parametrize(
    "motors, message",
    [
        ((float("nan"),) * 3, "stage 1 exhaust velocity must be a finite number"),
        ((2600.0, 300.0, 2600.0), "stage 2 exhaust velocity 300.0 m/s is outside"),
        ((2600.0,), "needs 3 stages but 1 exhaust velocities"),
    ],
)
def test_impossible_motors_are_refused_clearly(motors, message):
    with pytest.raises(FlightDesignError, match=message):
        design_flight(39.03, 125.75, 6518.0, azimuth_deg=95.0, range_km=1002.0, stage_exhaust_velocity_mps=motors)


def test_each_seed_draws_its_motors_from_the_public_range_of_specific_impulse():
    from warnlink.frames import G0
    from warnlink.scenario.world import (PUBLIC_SPECIFIC_IMPULSE_S, reentry_ballistic_coefficients,
                                         stage_exhaust_velocities)

    draws = np.concatenate([stage_exhaust_velocities(4, seed) for seed in range(1, 201)])
    isp = draws / G0
    assert draws.shape == (800, 3)
    assert PUBLIC_SPECIFIC_IMPULSE_S[0] <= isp.min() and isp.max() <= PUBLIC_SPECIFIC_IMPULSE_S[1]
    assert np.mean(isp) == pytest.approx(np.mean(PUBLIC_SPECIFIC_IMPULSE_S), abs=2.0)  # 0.8 s one sigma
    assert np.array_equal(stage_exhaust_velocities(3, 5), stage_exhaust_velocities(3, 5))
    # Stages, launches and the drag's stream are drawn apart: no two of them move together.
    assert abs(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1]) < 0.15
    betas = np.concatenate([reentry_ballistic_coefficients(4, seed) for seed in range(1, 201)])
    assert abs(np.corrcoef(np.log(betas), draws[:, 0])[0, 1]) < 0.15


def test_fly_command_takes_the_motors_exhaust_velocity():
    args = ["fly", "--site-lat-deg", "39", "--site-lon-deg", "125.7", "--azimuth-deg", "90",
            "--range-km", "600", "--apogee-km", "150", "--json"]
    result = CliRunner().invoke(app, args + ["--exhaust-velocity-mps", "2300"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stage_exhaust_velocity_mps"] == [2300.0]
    default = json.loads(CliRunner().invoke(app, args).stdout)
    assert default["stage_exhaust_velocity_mps"] == [2600.0]
    result = CliRunner().invoke(app, args + ["--exhaust-velocity-mps", "9000"])
    assert result.exit_code == 2 and "stage 1 exhaust velocity 9000.0 m/s is outside" in result.output
