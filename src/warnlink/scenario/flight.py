"""Truth flights designed from public figures: range, azimuth (or a target) and apogee.

A flight is a 3-DOF point mass in ECEF (rotating Earth, gravity with J2 and the next
terms beyond it, J3, J4, C22 and S22, which the trackers do not model; the 1976
atmosphere with drag) driven through a staged boost, then unpowered to the ground.
The boost follows the rocket equation per stage and a pitch program that rises
vertically, then turns the thrust linearly down to a final pitch in a plane fixed to
the Earth. Three numbers shape it: the ideal velocity change of the motors, the
final pitch and the azimuth of the thrust plane. ``design_flight`` solves for the
three that land the missile at the requested impact point (the point at the
requested geodesic distance and initial bearing from the site) with the requested
apogee, to within a kilometre.

The stage count and burn time follow the class the figures call for (one stage of
about a minute for an SRBM, three stages and about four minutes for an ICBM); they
are fixed before the solve from the vacuum estimate so that the solve stays smooth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import least_squares

from warnlink import frames
from warnlink.frames import EARTH_MEAN_RADIUS
from warnlink.physics import kepler
from warnlink.physics.dynamics import acceleration, acceleration_scalar, fast_altitude
from warnlink.physics.gravity import gravity_beyond_j2
from warnlink.scenario.trajectory import Trajectory

EXHAUST_VELOCITY_MPS = 2600.0  # Isp about 265 s, the middle of the public estimates
MIN_EXHAUST_VELOCITY_MPS, MAX_EXHAUST_VELOCITY_MPS = 1500.0, 4500.0  # black powder to hydrogen-oxygen
MAX_STAGES = 3  # stages_for gives one to three
VERTICAL_RISE_S = 4.0
PITCH_EXPONENT = 2.0  # pitch falls fast after the vertical rise, then levels off (gravity-turn-like)
BOOST_BALLISTIC_COEFFICIENT = 20000.0  # kg/m^2: a full missile body, heavy for its section
REENTRY_BALLISTIC_COEFFICIENT = 10000.0  # kg/m^2: a slender re-entry vehicle or spent SRBM body (median)
MAX_RANGE_M = np.pi * EARTH_MEAN_RADIUS  # half the Earth's circumference
SAMPLE_STEP_S = 0.5
TOLERANCE_M = 200.0  # the solve aims well inside the 1 km promise

CLASS_LIMITS_KM = ((1000.0, "SRBM"), (3000.0, "MRBM"), (5500.0, "IRBM"))


class FlightDesignError(ValueError):
    """The requested flight cannot exist, or the solver could not find it."""


@dataclass(frozen=True)
class Boost:
    """Staged motors and pitch program of one missile."""

    stage_burn_s: tuple[float, ...]
    delta_v_mps: float  # ideal velocity change of all stages, split equally
    final_pitch_rad: float  # thrust elevation above the local horizontal at burnout
    plane_azimuth_rad: float  # azimuth, at the site, of the Earth-fixed plane of thrust
    # Exhaust velocity of the first, second and third stage (m/s); a missile uses as many as
    # it has stages. The shape of the thrust over a burn follows from it (see thrust_acceleration).
    stage_exhaust_velocity_mps: tuple[float, ...] = (EXHAUST_VELOCITY_MPS,) * MAX_STAGES

    @property
    def burn_time_s(self) -> float:
        return float(sum(self.stage_burn_s))

    def thrust_acceleration(self, t: float) -> float:
        """Specific thrust (m/s^2) at time t after launch (rocket equation, constant mass flow).

        Each stage gives an equal share of the ideal velocity change; a stage of exhaust
        velocity c burns the mass fraction 1 - exp(-dv / c), so a lower c burns more of the
        stage and its thrust grows faster towards burnout.
        """
        dv_stage = self.delta_v_mps / len(self.stage_burn_s)
        start = 0.0
        for burn, c in zip(self.stage_burn_s, self.stage_exhaust_velocity_mps):
            if t < start + burn:
                burned_fraction = 1.0 - math.exp(-dv_stage / c)  # (m0 - mf) / m0
                tau = (t - start) / burn
                return c * burned_fraction / burn / (1.0 - burned_fraction * tau)
            start += burn
        return 0.0

    def with_motors(self, delta_v_mps: float, final_pitch_rad: float, plane_azimuth_rad: float) -> Boost:
        """The same stages and motors with new values of the three numbers the design solves for."""
        return Boost(self.stage_burn_s, float(delta_v_mps), float(final_pitch_rad), float(plane_azimuth_rad),
                     self.stage_exhaust_velocity_mps)

    def pitch(self, t: float) -> float:
        """Thrust elevation (rad) above the local horizontal at time t after launch."""
        if t <= VERTICAL_RISE_S:
            return np.pi / 2.0
        tau = min((t - VERTICAL_RISE_S) / (self.burn_time_s - VERTICAL_RISE_S), 1.0)
        return self.final_pitch_rad + (np.pi / 2.0 - self.final_pitch_rad) * (1.0 - tau) ** PITCH_EXPONENT


def stages_for(delta_v_mps: float) -> tuple[float, ...]:
    """Burn time (s) of each stage for a missile of this ideal velocity change.

    15 s per km/s in all (an average of about 7 g), at least 30 s; one stage below
    6 km/s, two below 7.5 km/s, three above: single-stage SRBMs and IRBMs, two- and
    three-stage ICBMs. Shorter burns than this cannot fly the public figures in the
    reported times (the check is ``benchmarks/public_flights.py``).
    """
    total = max(30.0, 15.0 * delta_v_mps / 1000.0)
    n = 1 if delta_v_mps < 6000.0 else 2 if delta_v_mps < 7500.0 else MAX_STAGES
    return tuple([total / n] * n)


@dataclass(frozen=True)
class FlightDesign:
    """A solved flight with the figures a user asks for."""

    trajectory: Trajectory
    boost: Boost
    site_lat: float
    site_lon: float
    target_lat: float
    target_lon: float
    range_m: float
    apogee_m: float
    burnout_speed_mps: float  # Earth-relative, at the end of the last burn
    burnout_altitude_m: float
    min_energy_range_m: float
    missile_class: str
    lofted: bool
    miss_distance_m: float  # solved impact point to the requested one
    reentry_ballistic_coefficient: float = REENTRY_BALLISTIC_COEFFICIENT  # kg/m^2, after burnout

    @property
    def flight_time_s(self) -> float:
        return self.trajectory.flight_time_s

    def summary(self) -> dict:
        """The JSON object of ``warnlink fly`` (CONTRACT.md section 2), degrees and kilometres."""
        lat, lon = self.trajectory.impact_point
        return {
            "range_km": round(self.range_m / 1e3, 3),
            "apogee_km": round(self.apogee_m / 1e3, 3),
            "flight_time_s": round(self.flight_time_s, 2),
            "burnout_speed_mps": round(self.burnout_speed_mps, 1),
            "burnout_altitude_km": round(self.burnout_altitude_m / 1e3, 3),
            "burn_time_s": round(self.boost.burn_time_s, 2),
            "stages": len(self.boost.stage_burn_s),
            "min_energy_range_km": round(self.min_energy_range_m / 1e3, 1),
            "class": self.missile_class,
            "lofted": self.lofted,
            "impact_lat_deg": round(float(np.degrees(lat)), 5),
            "impact_lon_deg": round(float(np.degrees(lon)), 5),
            "impact_miss_km": round(self.miss_distance_m / 1e3, 4),
            "reentry_ballistic_coefficient_kg_m2": round(self.reentry_ballistic_coefficient, 1),
            "stage_exhaust_velocity_mps": [round(c, 1) for c in self.stage_exhaust_velocity_mps],
        }

    @property
    def stage_exhaust_velocity_mps(self) -> tuple[float, ...]:
        """Exhaust velocity (m/s) of each stage this flight burns."""
        return self.boost.stage_exhaust_velocity_mps[: len(self.boost.stage_burn_s)]


def classify(min_energy_range_m: float) -> str:
    """SRBM < 1,000 km <= MRBM < 3,000 km <= IRBM < 5,500 km <= ICBM, by minimum-energy range."""
    for limit_km, name in CLASS_LIMITS_KM:
        if min_energy_range_m < limit_km * 1e3:
            return name
    return "ICBM"


def is_lofted(range_m: float, apogee_m: float) -> bool:
    """Lofted: apogee at least 1.5 times that of the minimum-energy arc of the same range."""
    range_angle = max(range_m, 1.0) / EARTH_MEAN_RADIUS
    me_apogee = kepler.min_energy_apogee_radius(range_angle) - EARTH_MEAN_RADIUS
    return bool(apogee_m >= 1.5 * me_apogee)


def min_energy_range(launch_ecef: np.ndarray, burnout_ecef: np.ndarray, burnout_velocity_ecef: np.ndarray) -> float:
    """How far the same missile would reach on a minimum-energy trajectory (m).

    The ground covered during the boost plus the minimum-energy arc of the burnout
    energy: the vacuum arc for the inertial burnout speed (Earth rotation included, so
    the figure belongs to the direction flown) from the burnout radius. Needs only a
    launch point and a burnout state, so trackers estimate it the same way.
    """
    r = np.asarray(burnout_ecef, float)
    v_inertial = np.asarray(burnout_velocity_ecef, float) + np.cross(frames.OMEGA_VECTOR, r)
    psi = kepler.min_energy_range_angle(np.linalg.norm(v_inertial), np.linalg.norm(r))
    boost_angle = np.arctan2(np.linalg.norm(np.cross(launch_ecef, r)), np.dot(launch_ecef, r))
    return float((psi + boost_angle) * EARTH_MEAN_RADIUS)


# --------------------------------------------------------------------------- simulation


def _truth_acceleration(x, inv_beta: float) -> tuple[float, float, float]:
    """Unpowered acceleration of the truth: the trackers' model (J2, the rotating frame, drag)
    plus the gravity beyond J2 that they leave to their process noise."""
    ax, ay, az = acceleration_scalar(x, inv_beta)
    bx, by, bz = gravity_beyond_j2(float(x[0]), float(x[1]), float(x[2]))
    return ax + bx, ay + by, az + bz


def _boost_rhs(boost: Boost, plane_normal: np.ndarray):
    """Right-hand side while the motors burn: unpowered forces plus thrust along the pitch program."""
    inv_beta = 1.0 / BOOST_BALLISTIC_COEFFICIENT
    n0, n1, n2 = (float(c) for c in plane_normal)

    def rhs(t, x):
        ax, ay, az = _truth_acceleration(x, inv_beta)
        thrust = boost.thrust_acceleration(t)
        if thrust:
            rn = math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
            u0, u1, u2 = x[0] / rn, x[1] / rn, x[2] / rn
            d0, d1, d2 = n1 * u2 - n2 * u1, n2 * u0 - n0 * u2, n0 * u1 - n1 * u0  # downrange
            dn = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
            theta = boost.pitch(t)
            c, s = math.cos(theta) / dn, math.sin(theta)
            ax += thrust * (c * d0 + s * u0)
            ay += thrust * (c * d1 + s * u1)
            az += thrust * (c * d2 + s * u2)
        return [x[3], x[4], x[5], ax, ay, az]

    return rhs


def _ballistic_rhs(reentry_ballistic_coefficient: float):
    """Right-hand side after burnout: gravity, the Earth's rotation and the body's drag."""
    inv_beta = 1.0 / reentry_ballistic_coefficient

    def rhs(t, x):
        ax, ay, az = _truth_acceleration(x, inv_beta)
        return [x[3], x[4], x[5], ax, ay, az]

    return rhs


def _ground(t, x):
    return fast_altitude(x[:3])


_ground.terminal = True
_ground.direction = -1


def _apex(t, x):
    """Radial velocity; its fall through zero marks the apogee."""
    return x[0] * x[3] + x[1] * x[4] + x[2] * x[5]


_apex.direction = -1


@dataclass(frozen=True)
class _Flown:
    t: np.ndarray
    x: np.ndarray
    t_burnout: float
    burnout: np.ndarray  # state at burnout
    apogee_m: float  # altitude where the radial velocity vanishes (smooth in the inputs)
    apex_radius_m: float  # geocentric radius there


def fly(site_lat: float, site_lon: float, boost: Boost, max_time_s: float = 8000.0,
        reentry_ballistic_coefficient: float = REENTRY_BALLISTIC_COEFFICIENT) -> _Flown:
    """Integrate one flight from the site (altitude 0, at rest on the Earth) to the ground.

    Returns states sampled every SAMPLE_STEP_S from launch, plus the exact impact state.
    """
    x = np.concatenate([frames.geodetic_to_ecef(site_lat, site_lon, 0.0), np.zeros(3)])
    rhs = _boost_rhs(boost, _plane_normal(site_lat, site_lon, boost.plane_azimuth_rad))
    times, states = [], []
    # Integrate piece by piece so that no step straddles the pitch-over, an ignition or burnout.
    edges = sorted({0.0, VERTICAL_RISE_S, *np.cumsum(boost.stage_burn_s)})
    for a, b in zip(edges[:-1], edges[1:]):
        sol = solve_ivp(rhs, (a, b), x, method="DOP853", rtol=1e-10, atol=1e-6, dense_output=True)
        if not sol.success:
            raise FlightDesignError(f"boost integration failed: {sol.message}")
        ts = np.arange(a, b, SAMPLE_STEP_S)
        times.append(ts)
        states.append(sol.sol(ts).T)
        x = sol.y[:, -1]
    t_burnout = edges[-1]
    if fast_altitude(x[:3]) <= 0.0:
        raise FlightDesignError("the missile does not climb: the flight path is too shallow")
    sol = solve_ivp(
        _ballistic_rhs(reentry_ballistic_coefficient), (t_burnout, max_time_s), x, method="DOP853", rtol=1e-10, atol=1e-6,
        events=(_ground, _apex), dense_output=True,
    )
    if sol.status != 1:
        raise FlightDesignError("the missile does not come down within the time limit")
    t_impact = float(sol.t_events[0][0])
    apex = sol.y_events[1][:1, :3] if len(sol.t_events[1]) else x[None, :3]
    ts = np.arange(t_burnout, t_impact, SAMPLE_STEP_S)
    times += [ts, np.array([t_impact])]
    states += [sol.sol(ts).T, sol.y_events[0]]
    apogee = float(frames.altitude(apex)[0])
    return _Flown(
        np.concatenate(times), np.concatenate(states), t_burnout, x, apogee, float(np.linalg.norm(apex))
    )


# --------------------------------------------------------------------------- design


def design_flight(
    site_lat_deg: float,
    site_lon_deg: float,
    apogee_km: float,
    azimuth_deg: float | None = None,
    range_km: float | None = None,
    target_lat_deg: float | None = None,
    target_lon_deg: float | None = None,
    launch_id: str = "M1",
    launch_time_s: float = 0.0,
    reentry_ballistic_coefficient: float = REENTRY_BALLISTIC_COEFFICIENT,
    stage_exhaust_velocity_mps: tuple[float, ...] = (EXHAUST_VELOCITY_MPS,) * MAX_STAGES,
) -> FlightDesign:
    """Solve for the flight with this apogee that lands at the requested point.

    The impact point is either ``range_km`` along the geodesic of initial bearing
    ``azimuth_deg`` from the site, or ``(target_lat_deg, target_lon_deg)``. The motors
    burn with ``stage_exhaust_velocity_mps`` (first stage first; one per stage the flight
    needs); after burnout the body flies with ``reentry_ballistic_coefficient`` (kg/m^2).
    Raises FlightDesignError with a plain message when no such flight exists.
    """
    site_lat, site_lon = np.radians(site_lat_deg), np.radians(site_lon_deg)
    _check_finite(site_lat_deg=site_lat_deg, site_lon_deg=site_lon_deg, apogee_km=apogee_km)
    if not -90.0 <= site_lat_deg <= 90.0:
        raise FlightDesignError(f"site latitude {site_lat_deg} deg is outside [-90, 90]")
    if not -180.0 <= site_lon_deg <= 360.0:
        raise FlightDesignError(f"site longitude {site_lon_deg} deg is outside [-180, 360]")
    if apogee_km <= 0.0:
        raise FlightDesignError(f"apogee {apogee_km} km must be positive")
    if (azimuth_deg is None) == (target_lat_deg is None):
        raise FlightDesignError("give either an azimuth and a range, or a target point")
    if azimuth_deg is not None:
        if range_km is None:
            raise FlightDesignError("an azimuth needs a range")
        _check_finite(azimuth_deg=azimuth_deg, range_km=range_km)
        if range_km <= 0.0:
            raise FlightDesignError(f"range {range_km} km must be positive")
        if range_km * 1e3 >= MAX_RANGE_M:
            raise FlightDesignError(
                f"range {range_km} km is beyond half the Earth's circumference "
                f"({MAX_RANGE_M / 1e3:.0f} km): a ballistic missile cannot fly it"
            )
        target_lat, target_lon = frames.geodesic_direct(
            site_lat, site_lon, np.radians(azimuth_deg), range_km * 1e3
        )
        target_lat, target_lon = float(target_lat), float(target_lon)
    else:
        if target_lon_deg is None:
            raise FlightDesignError("a target latitude needs a target longitude")
        _check_finite(target_lat_deg=target_lat_deg, target_lon_deg=target_lon_deg)
        if not -90.0 <= target_lat_deg <= 90.0:
            raise FlightDesignError(f"target latitude {target_lat_deg} deg is outside [-90, 90]")
        target_lat, target_lon = np.radians(target_lat_deg), np.radians(target_lon_deg)
    range_m, bearing = (float(v) for v in frames.geodesic_inverse(site_lat, site_lon, target_lat, target_lon))
    if range_m < 20e3:
        raise FlightDesignError(f"range {range_m / 1e3:.1f} km is too short for a ballistic missile")
    _check_finite(reentry_ballistic_coefficient=reentry_ballistic_coefficient)
    if reentry_ballistic_coefficient <= 0.0:
        raise FlightDesignError(f"ballistic coefficient {reentry_ballistic_coefficient} kg/m^2 must be positive")
    stage_exhaust_velocity_mps = tuple(float(c) for c in stage_exhaust_velocity_mps)
    for i, c in enumerate(stage_exhaust_velocity_mps):
        _check_finite(**{f"stage {i + 1} exhaust velocity": c})
        if not MIN_EXHAUST_VELOCITY_MPS <= c <= MAX_EXHAUST_VELOCITY_MPS:
            raise FlightDesignError(
                f"stage {i + 1} exhaust velocity {c} m/s is outside the "
                f"{MIN_EXHAUST_VELOCITY_MPS:.0f}-{MAX_EXHAUST_VELOCITY_MPS:.0f} m/s of rocket motors"
            )
    apogee_m = apogee_km * 1e3
    if apogee_m > 20000e3:
        raise FlightDesignError(f"apogee {apogee_km} km is beyond any ballistic missile (20,000 km)")

    boost = _first_guess(range_m, apogee_m, bearing, stage_exhaust_velocity_mps)
    beta = reentry_ballistic_coefficient
    boost, err = _shoot(site_lat, site_lon, target_lat, target_lon, apogee_m, boost, beta)
    if np.max(np.abs(err)) > TOLERANCE_M / 1e3:
        boost, err = _polish(site_lat, site_lon, target_lat, target_lon, apogee_m, boost, beta)
    if not np.all(np.isfinite(err)) or np.max(np.abs(err)) > 1.0:
        raise FlightDesignError(
            f"no flight reaches {range_m / 1e3:.0f} km with an apogee of {apogee_km} km "
            f"(best miss {np.hypot(err[0], err[1]):.1f} km, apogee off by {err[2]:.1f} km)"
        )
    return _finish(launch_id, launch_time_s, site_lat, site_lon, target_lat, target_lon, boost, err, beta)


def _errors(flown: _Flown, target_ecef, target_rot, apogee_m) -> np.ndarray:
    """East and north miss at the target and apogee error, in km."""
    miss = target_rot @ (flown.x[-1, :3] - target_ecef)
    return np.array([miss[0] / 1e3, miss[1] / 1e3, (flown.apogee_m - apogee_m) / 1e3])


def _angle(a, b) -> float:
    return float(np.arctan2(np.linalg.norm(np.cross(a, b)), np.dot(a, b)))


def _shoot(site_lat, site_lon, target_lat, target_lon, apogee_m, boost: Boost, beta: float, iterations: int = 16):
    """Newton-like shooting on the motors, pitch and azimuth, with Kepler arcs as the model.

    Each pass flies the missile, then asks the vacuum ellipse from the actual burnout point
    how much speed and pitch the requested arc needs compared with the arc actually flown;
    the difference corrects the boost (rotation, J2 and drag cancel out of the difference).
    The azimuth is turned by the cross-range miss.
    """
    site = frames.geodetic_to_ecef(site_lat, site_lon, 0.0)
    target = frames.geodetic_to_ecef(target_lat, target_lon, 0.0)
    rot = frames.enu_rotation(target_lat, target_lon)
    psi_target = _angle(site, target)
    err = np.full(3, np.inf)
    last = None
    for _ in range(iterations):
        try:
            flown = fly(site_lat, site_lon, boost, reentry_ballistic_coefficient=beta)
        except FlightDesignError:
            break
        err = _errors(flown, target, rot, apogee_m)
        if np.max(np.abs(err)) < TOLERANCE_M / 1e3:
            break
        r_b, v_b = flown.burnout[:3], flown.burnout[3:]
        impact = flown.x[-1, :3]
        psi_b = _angle(site, r_b)
        psi_flown = _angle(site, impact)
        ra_flown = flown.apex_radius_m
        try:
            want = kepler.burnout_for_arc(
                np.linalg.norm(r_b), psi_target - psi_b, ra_flown - err[2] * 1e3, np.linalg.norm(target)
            )
            have = kepler.burnout_for_arc(np.linalg.norm(r_b), psi_flown - psi_b, ra_flown, np.linalg.norm(impact))
        except ValueError:
            break
        heading = np.array([np.sin(boost.plane_azimuth_rad), np.cos(boost.plane_azimuth_rad)])
        cross = err[0] * heading[1] - err[1] * heading[0]  # km to the right of the path
        # Cross-range per radian of azimuth: geometric guess first, then the secant of the
        # last two passes (lofted flights feel the Earth turn under them for an hour).
        slope = EARTH_MEAN_RADIUS / 1e3 * max(np.sin(psi_target), 0.05)
        if last is not None and abs(boost.plane_azimuth_rad - last[0]) > 1e-9:
            secant = (cross - last[1]) / (boost.plane_azimuth_rad - last[0])
            if secant > 0.2 * slope:
                slope = secant
        last = (boost.plane_azimuth_rad, cross)
        boost = boost.with_motors(
            boost.delta_v_mps + (want[0] - have[0]),
            np.clip(boost.final_pitch_rad + (want[1] - have[1]), np.radians(1.0), np.radians(89.9)),
            boost.plane_azimuth_rad - cross / slope,
        )
    return boost, err


def _polish(site_lat, site_lon, target_lat, target_lon, apogee_m, boost: Boost, beta: float):
    """Least-squares refinement of the three boost numbers from a nearby start."""
    target = frames.geodetic_to_ecef(target_lat, target_lon, 0.0)
    rot = frames.enu_rotation(target_lat, target_lon)

    def residual(p):
        try:
            flown = fly(site_lat, site_lon, boost.with_motors(*p), reentry_ballistic_coefficient=beta)
            return _errors(flown, target, rot, apogee_m)
        except FlightDesignError:
            return np.array([1e4, 1e4, 1e4])

    p0 = np.array([boost.delta_v_mps, boost.final_pitch_rad, boost.plane_azimuth_rad])
    fit = least_squares(
        residual, p0, bounds=([300.0, np.radians(1.0), p0[2] - 0.5], [11000.0, np.radians(89.9), p0[2] + 0.5]),
        x_scale=np.array([10.0, 0.002, 0.001]), diff_step=np.array([1e-6, 1e-5, 1e-7]), max_nfev=40,
    )
    return boost.with_motors(*fit.x), residual(fit.x)


def _check_finite(**values: float) -> None:
    for name, value in values.items():
        if value is None or not np.isfinite(value):
            raise FlightDesignError(f"{name} must be a finite number, got {value}")


def _first_guess(range_m: float, apogee_m: float, bearing: float, stage_exhaust_velocity_mps: tuple[float, ...]) -> Boost:
    """Motors and pitch from the vacuum ellipse through the requested apogee."""
    arc = kepler.arc_through_apogee(range_m / EARTH_MEAN_RADIUS, EARTH_MEAN_RADIUS + apogee_m)
    stages = stages_for(arc.speed)
    # Gravity takes g sin(pitch) over the burn; drag little. Burnout comes at a steeper
    # pitch than the arc's start, since the turn continues after burnout.
    burn = sum(stages)
    delta_v = arc.speed + 9.81 * burn * 0.5 * (1.0 + np.sin(arc.flight_path_angle))
    stages = stages_for(delta_v)
    if len(stage_exhaust_velocity_mps) < len(stages):
        raise FlightDesignError(
            f"the flight needs {len(stages)} stages but {len(stage_exhaust_velocity_mps)} exhaust velocities were given"
        )
    return Boost(stages, float(delta_v), float(max(arc.flight_path_angle, np.radians(5.0))), bearing,
                 stage_exhaust_velocity_mps)


def _finish(launch_id, launch_time_s, site_lat, site_lon, target_lat, target_lon, boost, err, beta) -> FlightDesign:
    flown = fly(site_lat, site_lon, boost, reentry_ballistic_coefficient=beta)
    t = flown.t + launch_time_s
    r, v = flown.x[:, :3], flown.x[:, 3:]
    a = np.empty_like(r)
    boosting = flown.t < flown.t_burnout
    rhs = _boost_rhs(boost, _plane_normal(site_lat, site_lon, boost.plane_azimuth_rad))
    for i in np.nonzero(boosting)[0]:  # boost samples: thrust is part of the acceleration
        a[i] = rhs(flown.t[i], flown.x[i])[3:]
    r_coast, v_coast = r[~boosting], v[~boosting]
    a[~boosting] = acceleration(r_coast, v_coast, 1.0 / beta) + np.stack(gravity_beyond_j2(*r_coast.T), axis=-1)
    trajectory = Trajectory(launch_id, t, r, v, a, flown.t_burnout + launch_time_s)
    burnout_state = trajectory.state(trajectory.t_burnout)
    burnout_speed = float(np.linalg.norm(burnout_state[1]))
    lat, lon = trajectory.impact_point
    range_m = float(frames.geodesic_inverse(site_lat, site_lon, lat, lon)[0])
    me_range = min_energy_range(trajectory.r[0], *burnout_state)
    apogee = trajectory.apogee_m
    return FlightDesign(
        trajectory=trajectory,
        boost=boost,
        site_lat=site_lat,
        site_lon=site_lon,
        target_lat=target_lat,
        target_lon=target_lon,
        range_m=range_m,
        apogee_m=apogee,
        burnout_speed_mps=burnout_speed,
        burnout_altitude_m=float(frames.altitude(burnout_state[0])),
        min_energy_range_m=me_range,
        missile_class=classify(me_range),
        lofted=is_lofted(range_m, apogee),
        miss_distance_m=float(np.hypot(err[0], err[1]) * 1e3),
        reentry_ballistic_coefficient=float(beta),
    )


def _plane_normal(site_lat, site_lon, azimuth):
    rot = frames.enu_rotation(site_lat, site_lon)
    heading = np.sin(azimuth) * rot[0] + np.cos(azimuth) * rot[1]
    return np.cross(rot[2], heading)
