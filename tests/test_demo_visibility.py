"""demo.toml's sensors alone: each launch is seen by the sensors that should see it and by no others.

"Should" is decided here by an independent geometric check of the truth trajectory (range,
elevation band, azimuth sector, line of sight clear of the ellipsoid; for the infrared
satellite, a burning motor above the clouds in view of geostationary orbit), sampled every
second, not by the sensor model's own code. A sensor that should see a launch for at least
5 s must have reported it; one that never should must not have.
"""

from __future__ import annotations

import numpy as np
import pytest

from warnlink import frames
from warnlink.scenario.loader import PACKAGED, load_scenario
from warnlink.scenario.sensors import detections_by_sensor, simulate_sensors
from warnlink.scenario.world import build_world

GEO_RADIUS_M = 42_164e3


@pytest.fixture(scope="module")
def demo():
    scenario = load_scenario(PACKAGED / "demo.toml")
    world = build_world(scenario)
    run = simulate_sensors(scenario.config.sensors, world.trajectories, scenario.config.scenario.duration_s,
                           scenario.epoch_ns, scenario.config.scenario.seed)
    return scenario, world, run


def _visible_seconds(sensor, traj) -> float:
    t = np.arange(np.ceil(traj.t_launch), traj.t_impact, 1.0)
    r = traj.position(t)
    lat, lon, alt = frames.ecef_to_geodetic(r)
    if sensor.type == "ir_satellite":
        lon_s = np.radians(sensor.lon_deg)
        sat = np.array([GEO_RADIUS_M * np.cos(lon_s), GEO_RADIUS_M * np.sin(lon_s), 0.0])
        ok = traj.thrusting(t) & (alt > sensor.min_altitude_km * 1e3)
        ok &= frames.segment_clears_ellipsoid(np.broadcast_to(sat, r.shape), r, margin_m=-1.0)
        return float(ok.sum())
    site_lat, site_lon = np.radians(sensor.lat_deg), np.radians(sensor.lon_deg)
    site = frames.geodetic_to_ecef(site_lat, site_lon, sensor.alt_m)
    enu = frames.ecef_to_enu(r, site_lat, site_lon, sensor.alt_m)
    az, el, rng = frames.enu_to_aer(enu)
    off = np.abs((np.degrees(az) - sensor.boresight_azimuth_deg + 180.0) % 360.0 - 180.0)
    ok = (rng <= sensor.max_range_km * 1e3) & (off <= sensor.half_width_deg)
    ok &= (np.degrees(el) >= sensor.min_elevation_deg) & (np.degrees(el) <= sensor.max_elevation_deg)
    ok &= frames.segment_clears_ellipsoid(np.broadcast_to(site, r.shape), r, margin_m=-1.0)
    return float(ok.sum())


def test_each_launch_is_seen_by_exactly_the_sensors_that_can_see_it(demo):
    scenario, world, run = demo
    seen = detections_by_sensor(run)
    for sensor in scenario.config.sensors:
        for launch_id, flight in world.flights.items():
            seconds = _visible_seconds(sensor, flight.trajectory)
            detected = launch_id in seen[sensor.id]
            if seconds >= 5.0:
                assert detected, f"{sensor.id} should see {launch_id} for {seconds:.0f} s but reported nothing"
            elif seconds == 0.0:
                assert not detected, f"{sensor.id} cannot see {launch_id} yet reported {seen[sensor.id][launch_id]}"


def test_the_picture_is_what_the_geography_says(demo):
    """Facts a reader can check on the map (warnlink plot scenarios/demo.toml)."""
    scenario, world, run = demo
    seen = detections_by_sensor(run)
    # The geostationary infrared satellite sees every boost.
    assert set(seen["USA-IR-GEO"]) == set(world.flights)
    # Shariki looks west over the Sea of Japan: it sees the Hwasong-12 that overflies Aomori.
    assert "M2" in seen["USA-TPY2-SHARIKI"]
    # The short, low SRBM that falls off North Korea's east coast (M4: 350 km, apogee 100 km)
    # stays below Shariki's horizon, some 1,200 km away.
    assert "M4" not in seen["USA-TPY2-SHARIKI"]
    # Every launch is seen by radars of at least two nations: sharing matters.
    for launch_id in world.flights:
        nations = {s.nation for s in scenario.config.sensors if s.type == "radar" and launch_id in seen[s.id]}
        assert len(nations) >= 2, (launch_id, nations)
