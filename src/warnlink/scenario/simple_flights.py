"""Simple, physically plausible truth flights for tests and benchmarks of downstream stages.

Not the scenario flight generator (no drag, no staging, no design for range and
apogee): a constant-velocity line for geometry checks, and a point mass boosted at
constant acceleration along a fixed direction then coasting in J2 gravity (as the
scenario flights and the trackers' ballistic model do) on the rotating Earth, which has
the right shape and timescales (boost, ballistic arc, impact) for sensor, tracking and
benchmark work.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from warnlink import frames
from warnlink.physics.gravity import gravity_j2
from warnlink.scenario.config import SensorConfig
from warnlink.scenario.trajectory import Trajectory


def constant_velocity_trajectory(
    launch_id: str,
    r0_ecef_m,
    v_ecef_mps,
    t_start_s: float,
    t_end_s: float,
    t_burnout_s: float | None = None,
    n_samples: int = 64,
) -> Trajectory:
    """A straight line in ECEF at constant velocity; "thrusting" until t_burnout_s (default: never)."""
    t = np.linspace(t_start_s, t_end_s, n_samples)
    r0 = np.asarray(r0_ecef_m, float)
    v = np.broadcast_to(np.asarray(v_ecef_mps, float), (n_samples, 3)).copy()
    r = r0 + (t - t_start_s)[:, None] * v
    burnout = t_start_s if t_burnout_s is None else t_burnout_s
    return Trajectory(launch_id, t, r, v, np.zeros_like(r), burnout)


def _ellipsoid_height_approx(r: np.ndarray) -> float:
    """Height above the ellipsoid along the geocentric radius (within metres of geodetic height)."""
    rho = math.hypot(r[0], r[1])
    norm = math.hypot(rho, r[2])
    c, s = rho / norm, r[2] / norm
    a, b = frames.WGS84_A, frames.WGS84_B
    return norm - a * b / math.hypot(b * c, a * s)


def _acceleration(r: np.ndarray, v: np.ndarray, thrust: np.ndarray) -> np.ndarray:
    """J2 gravity, thrust, Coriolis and centrifugal acceleration in ECEF."""
    omega = frames.OMEGA_VECTOR
    gravity = gravity_j2(r)
    return gravity + thrust - 2.0 * np.cross(omega, v) - np.cross(omega, np.cross(omega, r))


def boost_coast_trajectory(
    launch_id: str,
    lat_rad: float,
    lon_rad: float,
    azimuth_rad: float,
    t_launch_s: float,
    burn_time_s: float = 70.0,
    thrust_accel_mps2: float = 30.0,
    pitch_from_vertical_rad: float = math.radians(25.0),
    sample_step_s: float = 2.0,
) -> Trajectory:
    """Boost at constant acceleration along a fixed direction, then coast until it meets the ellipsoid.

    The direction leans ``pitch_from_vertical_rad`` from the launch site's vertical
    toward ``azimuth_rad``. Defaults give a short-range ballistic flight of a few
    hundred kilometres and about six minutes.
    """
    r0 = frames.geodetic_to_ecef(lat_rad, lon_rad, 0.0)
    east, north, up = frames.enu_rotation(lat_rad, lon_rad)
    horizontal = math.sin(azimuth_rad) * east + math.cos(azimuth_rad) * north
    direction = math.cos(pitch_from_vertical_rad) * up + math.sin(pitch_from_vertical_rad) * horizontal
    thrust = thrust_accel_mps2 * direction

    def rhs(thrust_vec):
        def f(_t, y):
            return np.concatenate([y[3:], _acceleration(y[:3], y[3:], thrust_vec)])

        return f

    def ground(_t, y):
        return _ellipsoid_height_approx(y[:3])

    ground.terminal = True
    ground.direction = -1

    tol = dict(rtol=1e-10, atol=1e-6)
    n_burn = max(int(math.ceil(burn_time_s / sample_step_s)), 2) + 1
    t_burn = np.linspace(0.0, burn_time_s, n_burn)
    boost = solve_ivp(rhs(thrust), (0.0, burn_time_s), np.r_[r0, 0, 0, 0], t_eval=t_burn, **tol)
    coast_free = rhs(np.zeros(3))
    coast = solve_ivp(coast_free, (burn_time_s, burn_time_s + 1e5), boost.y[:, -1], events=ground,
                      dense_output=True, **tol)
    if coast.status != 1:
        raise ValueError("flight did not come back to the ground")
    t_impact = float(coast.t_events[0][0])
    n_coast = max(int(math.ceil((t_impact - burn_time_s) / sample_step_s)), 2) + 1
    # A sample just after burnout confines the thrust cut-off (one derivative per spline node)
    # to a millisecond-long interval.
    t_coast = np.r_[burn_time_s + 1e-3, np.linspace(burn_time_s, t_impact, n_coast)[1:]]
    y_coast = coast.sol(t_coast)

    t = np.r_[t_burn, t_coast]
    y = np.concatenate([boost.y, y_coast], axis=1).T
    r, v = y[:, :3], y[:, 3:]
    thrust_now = np.where((t < burn_time_s)[:, None], thrust, 0.0)
    a = _acceleration(r, v, thrust_now)
    # The sample at burnout ends the boost segment: give it the acceleration before burnout,
    # as the Hermite spline on [t_burn[-2], t_burn[-1]] needs.
    a[n_burn - 1] = _acceleration(r[n_burn - 1], v[n_burn - 1], thrust)
    return Trajectory(launch_id, t + t_launch_s, r, v, a, t_launch_s + burn_time_s)


def srbm_raid(n: int, seed: int, launch_window_s: float = 60.0) -> list[Trajectory]:
    """``n`` boost-coast SRBMs from sites across North Korea, launched within ``launch_window_s``.

    Eastward (azimuth 70-110 deg), 60-75 s burns at 28-34 m/s^2: the many-target raid the
    tracker benchmark and the tracker's consistency test both fly.
    """
    rng = np.random.default_rng(seed)
    return [boost_coast_trajectory(
        f"M{i}", math.radians(rng.uniform(38.7, 40.5)), math.radians(rng.uniform(125.2, 127.8)),
        math.radians(rng.uniform(70.0, 110.0)), t_launch_s=float(rng.uniform(0.0, launch_window_s)),
        burn_time_s=float(rng.uniform(60.0, 75.0)), thrust_accel_mps2=float(rng.uniform(28.0, 34.0)),
        pitch_from_vertical_rad=math.radians(rng.uniform(20.0, 35.0))) for i in range(n)]


RAID_EPOCH_NS = 1_710_720_000 * 10**9  # scenario time 0 of the raid (UTC ns)
RAID_RADAR = SensorConfig(  # one ship radar in the Sea of Japan that sees the whole raid, no clutter, Pd 1
    id="SHIP", nation="JPN", type="radar", lat_deg=39.0, lon_deg=131.5, alt_m=30.0, half_width_deg=180.0,
    min_elevation_deg=0.5, max_range_km=2000.0, sigma_range_m=20.0, sigma_azimuth_mrad=1.0,
    sigma_elevation_mrad=1.0, revisit_s=1.0, p_detect=1.0, false_alarm_rate=0.0, latency_s=0.0)
