"""Physics checks: conserved quantities, the Coriolis drift of a vertical shot, integrator
convergence, the 1976 atmosphere, and agreement between the scalar and vectorized forms."""

import numpy as np
import pytest

from warnlink import frames
from warnlink.frames import EARTH_GM, EARTH_J2, EARTH_ROTATION_RATE, WGS84_A
from warnlink.physics import atmosphere, kepler
from warnlink.physics.dynamics import acceleration, acceleration_scalar, fast_altitude, jacobi_energy
from warnlink.physics.propagator import propagate, propagate_to_ground


def _ballistic_state(lat_deg=39.0, lon_deg=125.7, alt_m=200e3, speed=6000.0, gamma_deg=40.0, az_deg=80.0):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    r = frames.geodetic_to_ecef(lat, lon, alt_m)
    enu = frames.aer_to_enu(np.radians(az_deg), np.radians(gamma_deg), speed)
    v = frames.enu_rotation(lat, lon).T @ enu
    return np.concatenate([r, v])


def test_energy_and_angular_momentum_conserved_in_vacuum_without_j2():
    x0 = _ballistic_state()
    path = [x0]
    x = x0[None, :]
    for _ in range(60):  # 1,200 s in 20 s chunks of 1 s steps
        x = propagate(x, 20.0, max_step_s=1.0, j2=False)
        path.append(x[0])
    path = np.array(path)
    t = np.arange(len(path)) * 20.0
    r_i, v_i = frames.ecef_to_inertial(path[:, :3], path[:, 3:], t)
    energy = 0.5 * np.sum(v_i**2, axis=1) - EARTH_GM / np.linalg.norm(r_i, axis=1)
    h = np.cross(r_i, v_i)
    assert np.ptp(energy) / abs(energy[0]) < 1e-9
    assert np.max(np.linalg.norm(h - h[0], axis=1)) / np.linalg.norm(h[0]) < 1e-9
    # The Jacobi integral is the same statement in the rotating frame.
    jac = jacobi_energy(path[:, :3], path[:, 3:])
    assert np.ptp(jac) / abs(jac[0]) < 1e-9


def test_j2_keeps_polar_angular_momentum_and_energy_with_its_potential():
    x = _ballistic_state()[None, :]
    states = [x[0]]
    for _ in range(40):
        x = propagate(x, 20.0, max_step_s=1.0)
        states.append(x[0])
    states = np.array(states)
    t = np.arange(len(states)) * 20.0
    r_i, v_i = frames.ecef_to_inertial(states[:, :3], states[:, 3:], t)
    rn = np.linalg.norm(r_i, axis=1)
    sin_lat = r_i[:, 2] / rn
    potential = -EARTH_GM / rn * (1.0 - EARTH_J2 * (WGS84_A / rn) ** 2 * 0.5 * (3 * sin_lat**2 - 1))
    energy = 0.5 * np.sum(v_i**2, axis=1) + potential
    hz = np.cross(r_i, v_i)[:, 2]
    assert np.ptp(energy) / abs(energy[0]) < 1e-9
    assert np.ptp(hz) / abs(hz[0]) < 1e-9
    # And J2 does act: the full angular momentum vector turns.
    h = np.cross(r_i, v_i)
    assert np.linalg.norm(h[-1] - h[0]) / np.linalg.norm(h[0]) > 1e-6


@pytest.mark.parametrize("lat_deg", [0.0, 45.0])
def test_vertical_shot_comes_down_west_as_coriolis_predicts(lat_deg):
    """Upward at v0 with no air: lands (4/3) w cos(lat) v0^3 / g^2 to the west (flat-Earth theory)."""
    v0 = 500.0
    lat, lon = np.radians(lat_deg), np.radians(30.0)
    r0 = frames.geodetic_to_ecef(lat, lon, 0.0)
    up = frames.enu_rotation(lat, lon)[2]
    x0 = np.concatenate([r0 + up * 1e-3, v0 * up])[None, :]
    crossing, _ = propagate_to_ground(x0)
    enu = frames.ecef_to_enu(crossing.r[0], lat, lon)
    # Effective gravity (gravity + centrifugal) along the vertical at the launch point.
    g = -np.dot(acceleration(r0, np.zeros(3)), up)
    expected_west = 4.0 / 3.0 * EARTH_ROTATION_RATE * np.cos(lat) * v0**3 / g**2
    assert -enu[0] == pytest.approx(expected_west, rel=0.03)
    assert abs(enu[1]) < 0.05 * expected_west + 1.0
    assert crossing.time_s[0] == pytest.approx(2 * v0 / g, rel=0.01)


def test_rk4_converges_at_fourth_order_and_meets_its_bound():
    """Halving the step divides the error by about 16; 1 s steps are within 1 mm over 600 s."""
    x0 = _ballistic_state()[None, :]
    ends = {h: propagate(x0, 600.0, max_step_s=h)[0, :3] for h in (4.0, 2.0, 1.0, 0.5)}
    e4 = np.linalg.norm(ends[4.0] - ends[0.5])
    e2 = np.linalg.norm(ends[2.0] - ends[0.5])
    e1 = np.linalg.norm(ends[1.0] - ends[0.5])
    assert 10.0 < e4 / e2 < 20.0
    assert e1 < 1e-3


@pytest.mark.parametrize("apogee_km, range_km", [(90.0, 600.0), (300.0, 900.0), (970.0, 4600.0),
                                                (6518.0, 1002.0), (4000.0, 13000.0)])
def test_adaptive_flight_to_the_ground_agrees_with_a_tight_integration_of_its_dynamics(apogee_km, range_km):
    """The RK4 impact of a post-burnout state matches DOP853 (rtol 1e-10) on the same
    equations (J2, rotation, drag) within 5 m and 20 ms.

    From a low SRBM (all in the air) to a lofted and a long-range ICBM (mostly in vacuum,
    where the step is longest), in at most 150 steps. The truth itself flies the gravity
    beyond J2 as well, which the trackers leave out: that is a model error, not the
    integrator's, and is tested apart.
    """
    from scipy.integrate import solve_ivp

    from warnlink.physics import propagator
    from warnlink.scenario.flight import REENTRY_BALLISTIC_COEFFICIENT, _ground, design_flight

    design = design_flight(39.0, 125.7, apogee_km, azimuth_deg=90.0, range_km=range_km)
    traj = design.trajectory
    t0 = traj.t_burnout + 5.0
    r, v = traj.state(t0)
    inv_beta = 1.0 / REENTRY_BALLISTIC_COEFFICIENT

    tight = solve_ivp(lambda t, x: [x[3], x[4], x[5], *acceleration_scalar(x, inv_beta)], (0.0, 8000.0),
                      np.concatenate([r, v]), method="DOP853", rtol=1e-10, atol=1e-6, events=_ground)
    steps = []
    real_step = propagator.rk4_step

    def counted(*args, **kwargs):
        steps.append(1)
        return real_step(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(propagator, "rk4_step", counted)
        crossing, _ = propagate_to_ground(np.concatenate([r, v])[None, :], inv_beta=inv_beta)
    assert np.linalg.norm(crossing.r[0] - tight.y_events[0][0, :3]) < 5.0
    assert crossing.time_s[0] == pytest.approx(tight.t_events[0][0], abs=0.02)
    assert len(steps) <= 150


@pytest.mark.parametrize(
    "alt_m, rho_table",  # U.S. Standard Atmosphere 1976, tabulated densities
    [(0, 1.2250), (5000, 0.73643), (11000, 0.36480), (20000, 0.088910), (32000, 0.013552),
     (50000, 1.0269e-3), (70000, 8.2829e-5), (86000, 6.958e-6), (100000, 5.604e-7), (300000, 1.916e-11)],
)
def test_atmosphere_matches_the_1976_tables(alt_m, rho_table):
    assert atmosphere.density(alt_m) == pytest.approx(rho_table, rel=0.01)
    assert atmosphere.density_scalar(alt_m) == pytest.approx(rho_table, rel=0.01)


def test_scalar_and_vectorized_accelerations_agree():
    rng = np.random.default_rng(7)
    for alt in (500.0, 15e3, 45e3, 90e3, 400e3):
        r = frames.geodetic_to_ecef(rng.uniform(-1.2, 1.2), rng.uniform(-3, 3), alt)
        v = rng.normal(size=3) * 2000.0
        a_vec = acceleration(r, v, 1 / 5000.0)
        a_sca = np.array(acceleration_scalar(np.concatenate([r, v]), 1 / 5000.0))
        assert np.allclose(a_vec, a_sca, rtol=1e-6, atol=1e-6)


def test_fast_altitude_is_close_to_geodetic_height():
    rng = np.random.default_rng(3)
    lat = rng.uniform(-1.5, 1.5, 200)
    lon = rng.uniform(-3, 3, 200)
    alt = rng.uniform(0, 1000e3, 200)
    r = frames.geodetic_to_ecef(lat, lon, alt)
    assert np.max(np.abs(fast_altitude(r) - alt)) < 30.0
    assert np.max(np.abs(fast_altitude(frames.geodetic_to_ecef(lat, lon, 0.0)))) < 1e-6


def test_fast_altitude_gradient_is_its_derivative_and_not_the_radius():
    """The direction in which the air thins: the gradient of :func:`fast_altitude` (central
    differences over 1 m agree to 1e-8), which at mid-latitudes leans 0.19 degrees off the
    geocentric radius, so that a missile flying level north or south crosses heights."""
    from warnlink.physics.dynamics import fast_altitude_gradient

    rng = np.random.default_rng(5)
    r = frames.geodetic_to_ecef(rng.uniform(-1.5, 1.5, 50), rng.uniform(-3, 3, 50), rng.uniform(0, 200e3, 50))
    grad = fast_altitude_gradient(r)
    numeric = np.stack([(fast_altitude(r + e) - fast_altitude(r - e)) / 2.0 for e in np.eye(3)], axis=-1)
    assert np.max(np.abs(grad - numeric)) < 1e-8
    r39 = frames.geodetic_to_ecef(np.radians(39.0), np.radians(127.0), 30e3)
    lean = np.degrees(np.arccos(fast_altitude_gradient(r39) @ r39 / np.linalg.norm(r39)
                                / np.linalg.norm(fast_altitude_gradient(r39))))
    assert 0.15 < lean < 0.25


def test_log_density_slope_is_the_tables_own():
    """d ln(rho)/dh of :func:`density_fast` is its table cell's slope, to 1e-9 within a cell,
    with the lapse rate's break at the tropopause (11 km) kept, not averaged across it."""
    h = np.array([620.0, 10_900.0, 11_100.0, 30_100.0, 80_130.0, 400_110.0])  # inside cells
    slope = atmosphere.log_density_slope(h)
    numeric = (np.log(atmosphere.density_fast(h + 1.0)) - np.log(atmosphere.density_fast(h - 1.0))) / 2.0
    np.testing.assert_allclose(slope, numeric, rtol=1e-6)
    # Above the tropopause (isothermal) the air thins some 20% faster than just below it.
    assert 1.1 < slope[2] / slope[1] < 1.3
    assert atmosphere.log_density_slope(np.array([-10.0, 1001e3])).tolist() == [0.0, 0.0]


def test_kepler_arc_round_trip_and_minimum_energy():
    R = frames.EARTH_MEAN_RADIUS
    arc = kepler.arc_through_apogee(1000e3 / R, R + 500e3, R)
    speed, gamma = kepler.burnout_for_arc(R, 1000e3 / R, R + 500e3, R)
    assert speed == pytest.approx(arc.speed, rel=1e-6)
    assert gamma == pytest.approx(arc.flight_path_angle, rel=1e-5)
    # The minimum-energy arc of a range needs no more speed than any other arc of that range.
    psi = 3000e3 / R
    me_apogee = kepler.min_energy_apogee_radius(psi, R)
    me_speed = kepler.arc_through_apogee(psi, me_apogee, R).speed
    for apogee in (me_apogee * 0.98, me_apogee * 1.02):
        assert kepler.arc_through_apogee(psi, apogee, R).speed > me_speed
    assert kepler.min_energy_range_angle(me_speed, R) == pytest.approx(psi, rel=1e-6)


def test_state_derivative_is_velocity_and_acceleration():
    """The column-wise derivative equals [v, acceleration(r, v)] for any leading shape and drag."""
    from warnlink.physics.dynamics import state_derivative

    rng = np.random.default_rng(3)
    r = np.stack([frames.geodetic_to_ecef(rng.uniform(-1.2, 1.2), rng.uniform(-3, 3), alt)
                  for alt in rng.uniform(0.0, 1200e3, 24)])
    x = np.concatenate([r, rng.normal(size=(24, 3)) * 3000.0], axis=1)
    for inv_beta in (0.0, 1 / 5000.0, rng.uniform(0, 1e-3, 24)):
        want = np.concatenate([x[:, 3:], acceleration(x[:, :3], x[:, 3:], inv_beta)], axis=1)
        np.testing.assert_allclose(state_derivative(x, inv_beta), want, rtol=1e-12, atol=1e-12)
    grid = x.reshape(4, 6, 6)
    np.testing.assert_allclose(state_derivative(grid, 1e-4), state_derivative(x, 1e-4).reshape(4, 6, 6))


def test_gravity_beyond_j2_is_the_gradient_of_its_potential_in_j2s_sign_convention():
    """Central differences of the potential give the acceleration to 1e-6 of itself; and the
    same convention written for J2 (C20 = -J2) gives the J2 model's own acceleration, so the
    four terms have their published signs relative to it."""
    from warnlink.physics.gravity import gravity_beyond_j2, gravity_j2, gravity_point_mass, potential_beyond_j2

    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.normal(size=3)
        p *= WGS84_A * rng.uniform(1.0, 3.0) / np.linalg.norm(p)
        numeric = [(potential_beyond_j2(*(p + e)) - potential_beyond_j2(*(p - e))) / 2.0 for e in np.eye(3)]
        assert np.allclose(gravity_beyond_j2(*p), numeric, rtol=1e-6, atol=1e-12)

    def potential_j2(x, y, z):
        r2 = x * x + y * y + z * z
        return EARTH_GM * WGS84_A**2 * -EARTH_J2 * (3.0 * z * z - r2) / (2.0 * r2**2.5)

    p = np.array([3.1e6, -4.2e6, 3.9e6])
    numeric = [(potential_j2(*(p + e)) - potential_j2(*(p - e))) / 2.0 for e in np.eye(3)]
    assert np.allclose(gravity_j2(p) - gravity_point_mass(p), numeric, rtol=1e-6)


def test_gravity_beyond_j2_is_some_1e_4_at_the_surface_and_falls_with_height():
    """Over the sphere of the Earth's radius the four terms reach 1-3e-4 m/s^2 (a millionth
    of the central term each, 1.2e-4 RMS together); at twice the radius at most a sixteenth
    of that (the slowest, degree 2, falls as r^-4)."""
    from warnlink.physics.gravity import gravity_beyond_j2

    lat, lon = np.meshgrid(np.radians(np.arange(-89.0, 90.0, 2.0)), np.radians(np.arange(-180.0, 180.0, 2.0)))
    u = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1).reshape(-1, 3)
    surface = max(np.linalg.norm(gravity_beyond_j2(*(WGS84_A * d))) for d in u)
    high = max(np.linalg.norm(gravity_beyond_j2(*(2.0 * WGS84_A * d))) for d in u)
    assert 1e-4 < surface < 3e-4
    assert high < surface / 16.0
