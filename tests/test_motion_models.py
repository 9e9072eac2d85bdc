"""The trackers' motion models and IMM: thrust growth, staging, a new track's prior."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from warnlink import frames
from warnlink.physics.dynamics import fast_altitude
from warnlink.tracking import imm, motion


def _boosting_state(thrust_mps2: float) -> np.ndarray:
    """A missile 40 km up over Korea climbing at 2 km/s, its thrust along its velocity."""
    r = frames.geodetic_to_ecef(np.radians(39.0), np.radians(126.0), 40e3)
    up = r / np.linalg.norm(r)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    v_dir = (up + east) / np.sqrt(2.0)
    return np.concatenate([r, 2000.0 * v_dir, thrust_mps2 * v_dir])[None]


def test_boost_thrust_grows_by_the_rocket_equation_and_stays_bounded():
    """da/dt = |a| a / c, capped: a burning motor's thrust acceleration grows as its mass goes,
    along itself, as the rocket law says to within 2% at the 40-150 m/s^2 of real burns (the
    logistic cap, 1 - |a| / limit, fell 28% short of it at a stage's 110 m/s^2 burnout); held
    for ten minutes (every radar blind) it stays below the limit."""
    c = motion.BOOST_EXHAUST_VELOCITY_MPS
    decay, growth = motion.rates(motion.BOOST, 1)
    for thrust in (40.0, 80.0, 110.0, 150.0):
        x = _boosting_state(thrust)
        da = motion._derivative(x, decay, growth)[0, 6:9]
        a = x[0, 6:9]
        rocket = thrust / c * a
        assert np.allclose(np.cross(da, a), 0.0, atol=1e-9 * thrust**2)  # along itself
        assert np.linalg.norm(da) / np.linalg.norm(rocket) == pytest.approx(1.0, abs=0.02)
        assert np.linalg.norm(da) < np.linalg.norm(rocket)
    # Over 10 s the thrust of an 80 m/s^2 motor grows by about 30%, as the scalar law says.
    x = _boosting_state(80.0)
    x10 = x
    for _ in range(10):
        x10 = motion.propagate_mean(x10, 1.0, decay, growth)
    law = solve_ivp(lambda t, a: a * a / c, (0.0, 10.0), [80.0], rtol=1e-10).y[0, -1]
    assert law / 80.0 > 1.25
    assert np.linalg.norm(x10[0, 6:9]) == pytest.approx(law, rel=2e-3)
    P = np.eye(9)[None] * 100.0
    x_long, P_long = motion.predict(x, P, 600.0, motion.BOOST)
    assert np.all(np.isfinite(x_long)) and np.all(np.isfinite(P_long))
    assert np.linalg.norm(x_long[0, 6:9]) <= motion.THRUST_ACCEL_LIMIT * (1.0 + 1e-6)
    # The ballistic model has no thrust growth.
    assert motion.rates(motion.BALLISTIC, 1)[1][0] == 0.0


@pytest.mark.parametrize("altitude_m", [100e3, 600e3])
def test_the_ballistic_a_holds_the_gravity_residual_for_minutes_and_a_thin_air_drag_error_for_seconds(altitude_m):
    """Far above the air the ballistic model's ``a`` is the gravity beyond J2, nearly constant
    over minutes; where the drag error is felt (100 km at 3 km/s, above the air's edge) it is
    that error's, gone within seconds."""
    r = frames.geodetic_to_ecef(np.radians(39.0), np.radians(125.0), altitude_m)
    north = np.cross(r / np.linalg.norm(r), np.cross([0.0, 0.0, 1.0], r))
    x = np.zeros((1, 9))
    x[0, :3] = r
    x[0, 3:6] = 3000.0 * north / np.linalg.norm(north)
    x[0, 6:9] = 1e-4 * np.cross(x[0, 3:6] / 3000.0, r / np.linalg.norm(r))  # across the path
    assert motion.nominal_drag(x)[0] < motion.DRAG_ERROR_MIN_MPS2
    x10, _ = motion.predict(x, np.eye(9)[None], 10.0, motion.BALLISTIC)
    left = np.linalg.norm(x10[0, 6:9]) / 1e-4
    if altitude_m > 200e3:  # forgotten as it crosses the Earth: 3 km/s level, 0.43 mrad/s
        crossing = 3000.0 / np.linalg.norm(r) / motion.GRAVITY_RESIDUAL_CORRELATION_RAD
        assert left == pytest.approx(np.exp(-10.0 * crossing), rel=1e-3)
    else:
        assert left < 0.2


def test_the_gravity_beyond_j2_is_correlated_over_the_angle_the_model_forgets_it_in():
    """The truth's gravity beyond J2 (warnlink.physics.gravity) at pairs of points at one
    radius, 2,000 random pairs per angle: correlated to 1/e at about the ballistic model's
    correlation angle, well over 1/2 at half of it, and the per-axis spread the model gives it
    at the Earth's radius, 1,000 km up and at a lofted ICBM's apogee within 10% of the field's."""
    from warnlink.physics.gravity import gravity_beyond_j2

    rng = np.random.default_rng(3)
    p = rng.normal(size=(2000, 3))
    p /= np.linalg.norm(p, axis=1)[:, None]
    side = np.cross(p, rng.normal(size=(2000, 3)))
    side /= np.linalg.norm(side, axis=1)[:, None]

    def correlation(angle, radius):
        q = np.cos(angle) * p + np.sin(angle) * side
        b1 = np.stack(gravity_beyond_j2(*(radius * p).T), axis=-1)
        b2 = np.stack(gravity_beyond_j2(*(radius * q).T), axis=-1)
        return np.mean(np.sum(b1 * b2, axis=1)) / np.sqrt(np.mean(np.sum(b1 * b1, axis=1)) * np.mean(np.sum(b2 * b2, axis=1)))

    radius = frames.WGS84_A + 1000e3
    theta = motion.GRAVITY_RESIDUAL_CORRELATION_RAD
    assert 0.3 < correlation(theta, radius) < 0.45  # e^-1 = 0.37
    assert correlation(theta / 2.0, radius) > 0.75
    for height in (0.0, 1000e3, 6500e3):
        b = np.stack(gravity_beyond_j2(*((frames.WGS84_A + height) * p).T), axis=-1)
        x = np.zeros((1, 9))
        x[0, 0] = frames.WGS84_A + height
        spread = np.sqrt(motion.residual_variance(x, motion.BALLISTIC)[0])
        assert np.sqrt(np.mean(b * b)) == pytest.approx(spread, rel=0.1)


def test_the_gravity_residual_keeps_its_spread_as_the_missile_climbs_and_falls():
    """The ballistic model's ``a`` has the field's spread at the state's height
    (residual_variance) all along a path: from 1,000 km up to 4,800 km and back down to
    2,000 km, the spread of an ``a`` known at the start falls and rises with the field's (to a
    fifth, and back up by 3.5), to 1%. Its rates: none forgotten on a vertical climb,
    shrinking at falloff / 2 x dr/dt / r, growing as it falls."""
    r0 = frames.geodetic_to_ecef(np.radians(39.0), np.radians(126.0), 1000e3)
    up = r0 / np.linalg.norm(r0)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    x = np.concatenate([r0, 5000.0 * up, np.zeros(3)])[None]
    forget, shrink = motion.residual_rates(x, motion.BALLISTIC)
    assert forget[0] == pytest.approx(0.0, abs=1e-12)
    assert shrink[0] == pytest.approx(4.0 * 5000.0 / np.linalg.norm(r0), rel=1e-9)
    assert motion.residual_rates(x * np.array([1.0] * 3 + [-1.0] * 3 + [1.0] * 3), motion.BALLISTIC)[1][0] == -shrink[0]
    x[0, 3:6] = 6200.0 * (0.9 * up + np.sqrt(1.0 - 0.81) * east)
    P = np.zeros((1, 9, 9))
    P[0, 6:9, 6:9] = motion.ballistic_accel_prior(x)[0]
    spreads, heights = [], []
    while True:
        x, P = motion.predict(x, P, 60.0, motion.BALLISTIC)
        heights.append(float(fast_altitude(x[:, :3])[0]))
        spreads.append(np.sqrt(np.trace(P[0, 6:9, 6:9]) / 3.0) / np.sqrt(motion.residual_variance(x, motion.BALLISTIC)[0]))
        if x[0, 3:6] @ x[0, :3] < 0.0 and heights[-1] < 2000e3:
            break
    assert max(heights) > 4500e3
    np.testing.assert_allclose(spreads, 1.0, atol=0.01)


def _reentry_state(altitude_m: float, extra_drag: float, sideways_mps2: float, speed_mps: float = 3000.0,
                   dive_deg: float = 45.0) -> np.ndarray:
    """A re-entry vehicle falling at 3 km/s, 45 degrees down (or as given); a = extra_drag x the
    nominal drag along the drag, plus a sideways part."""
    r = frames.geodetic_to_ecef(np.radians(38.0), np.radians(133.0), altitude_m)
    up = r / np.linalg.norm(r)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    dive = np.radians(dive_deg)
    v_hat = np.cos(dive) * east - np.sin(dive) * up
    x = np.concatenate([r, speed_mps * v_hat, np.zeros(3)])[None]
    side = np.cross(up, v_hat)
    x[0, 6:9] = -extra_drag * motion.nominal_drag(x)[0] * v_hat + sideways_mps2 * side
    return x


@pytest.mark.parametrize("speed_mps, dive_deg", [(7300.0, 65.0), (3000.0, 45.0), (2000.0, 20.0)])
@pytest.mark.parametrize("step_s", [0.2, 2.0])
def test_an_unmeasured_drag_error_keeps_its_prior_spread_all_the_way_down(speed_mps, dive_deg, step_s):
    """Predicted with no plot from 120 km (thin air, where ``a`` starts known to be nil) to 10 km,
    the ballistic model's drag error has the prior's spread along the velocity,
    INV_BETA_RELATIVE_SIGMA of the nominal drag, to within 10% below 90 km: on a lofted ICBM's
    steep, fast descent (7.3 km/s, 65 degrees down; the drag grows at 1.1-1.3/s) as on an SRBM's
    shallow one, in the tracker's short steps or in long ones. With the growth bounded at 1/s and
    a thin-air noise that lagged the growing drag, the ICBM's spread was 0.35 of the prior's at 90
    km and 0.26 at 20 km, and the tracks of the demo's lofted ICBM lost their last seconds."""
    x = _reentry_state(120e3, 0.0, 0.0, speed_mps, dive_deg)
    P = np.diag([100.0] * 3 + [1.0] * 3 + [1e-12] * 3)[None]
    shares = []
    while fast_altitude(x[:, :3])[0] > 10e3:
        x, P = motion.predict(x, P, step_s, motion.BALLISTIC)
        if fast_altitude(x[:, :3])[0] < 90e3:
            v_hat = x[0, 3:6] / np.linalg.norm(x[0, 3:6])
            prior = motion.INV_BETA_RELATIVE_SIGMA * motion.nominal_drag(x)[0]
            shares.append(np.sqrt(v_hat @ P[0, 6:9, 6:9] @ v_hat) / prior)
    assert len(shares) >= 3
    np.testing.assert_allclose(shares, 1.0, atol=0.1)


def test_each_state_is_stepped_by_its_own_drag_not_by_its_batch():
    """A state takes the same steps whether it is predicted alone or in a batch (a tracker's
    tracks and models) beside one whose drag grows fast. The batch was once stepped as its
    lowest state, which took every track of a many-target tracker to quarter-second steps
    once one was low down: twice the time per scan at ten targets
    (benchmarks/tracker_vs_stonesoup.py)."""
    high = _reentry_state(200e3, 0.0, 1.0)
    steep = _reentry_state(40e3, 0.3, 0.0, speed_mps=7000.0, dive_deg=65.0)
    P = np.diag([100.0] * 3 + [1.0] * 3 + [0.01] * 3)[None]
    # The steep state's drag grows too fast for one 2 s step, the high state's not at all.
    assert motion._drag_growth(steep)[0] * motion.VACUUM_STEP_S > motion.DRAG_GROWTH_PER_STEP
    assert motion.nominal_drag(high)[0] < motion.DRAG_ERROR_MIN_MPS2
    both_x, both_P = motion.predict(np.concatenate([high, steep]), np.concatenate([P, P]), 2.0,
                                    [motion.BALLISTIC, motion.BOOST])
    for i, (x, model) in enumerate([(high, motion.BALLISTIC), (steep, motion.BOOST)]):
        alone_x, alone_P = motion.predict(x, P, 2.0, model)
        np.testing.assert_array_equal(both_x[i], alone_x[0])
        np.testing.assert_array_equal(both_P[i], alone_P[0])
    # The steps matter: the high state in eight quarter-second steps is not the same.
    x, quarter = high, P
    for _ in range(8):
        x, quarter = motion.predict(x, quarter, 0.25, motion.BALLISTIC)
    assert np.abs(both_P[0] - quarter[0]).max() > 1e-9 * np.abs(quarter[0]).max()


def test_ballistic_drag_error_grows_with_the_drag_along_the_velocity_only():
    """In the air the ballistic model's a is the error of the nominal drag: a wrong 1/beta is a force
    along the drag that lasts the re-entry. Over 4 s of falling from 50 km its share of the
    nominal drag stays while the drag itself grows several-fold; a sideways part decays as in
    vacuum; no noise drives it there, while in thin air the noise that drives it to the drag
    error's spread lies along the velocity."""
    x = _reentry_state(50e3, 0.8, 1.0)
    decay, growth = motion.rates(motion.BALLISTIC, 1)
    drag = motion.drag_flags(motion.BALLISTIC, 1)
    x4 = x
    for _ in range(8):
        x4 = motion.propagate_mean(x4, 0.5, decay, growth, drag)
    assert motion.nominal_drag(x4)[0] > 2.5 * motion.nominal_drag(x)[0]
    v_hat = x4[0, 3:6] / np.linalg.norm(x4[0, 3:6])
    along = -x4[0, 6:9] @ v_hat
    share = along / motion.nominal_drag(x4)[0]
    assert share == pytest.approx(0.8, rel=0.02)
    sideways = np.linalg.norm(x4[0, 6:9] + along * v_hat)
    assert sideways < 1.0 * np.exp(-4.0 * decay[0]) * 1.5
    # In the air only the jerk floor drives a; in thin air (about 95 km) a is driven, along the
    # velocity, to the drag error's spread there, and enters the air with it.
    assert np.abs(motion.process_noise(x, 1.0, motion.BALLISTIC)[0, 6:9, 6:9]).max() < 1e-10
    thin = _reentry_state(95e3, 0.0, 0.0)
    assert 0.0 < motion.nominal_drag(thin)[0] < motion.DRAG_ERROR_MIN_MPS2
    Q = motion.process_noise(thin, 1.0, motion.BALLISTIC)[0, 6:9, 6:9]
    v_hat0 = thin[0, 3:6] / 3000.0
    across = np.eye(3) - np.outer(v_hat0, v_hat0)
    assert v_hat0 @ Q @ v_hat0 > 1e3 * np.trace(across @ Q @ across)
    # Above the air nothing of this: a decays, and the drag flags change nothing.
    high = _reentry_state(200e3, 0.0, 1.0)
    np.testing.assert_array_equal(motion.propagate_mean(high, 1.0, decay, growth, drag),
                                  motion.propagate_mean(high, 1.0, decay, growth))


def test_the_drag_error_turns_with_the_velocity():
    """A drag error is along the drag, whichever way the path bends. Falling from 20 km, where
    gravity turns the velocity by about 0.2 degrees a second, the ballistic model's a stays
    along the velocity to 0.01 degrees over 8 s. When its part across the velocity was left to
    decay (2 s) it lagged the turn by 0.35 degrees here: a force across the path that the truth
    does not have (the test below shows what it did to a filter)."""
    x = _reentry_state(20e3, 0.5, 0.0)
    decay, growth = motion.rates(motion.BALLISTIC, 1)
    drag = motion.drag_flags(motion.BALLISTIC, 1)
    v0 = x[0, 3:6] / np.linalg.norm(x[0, 3:6])
    for _ in range(16):
        x = motion.propagate_mean(x, 0.5, decay, growth, drag)
    v_hat = x[0, 3:6] / np.linalg.norm(x[0, 3:6])
    assert np.degrees(np.arccos(v0 @ v_hat)) > 1.0  # the path did bend
    a = x[0, 6:9]
    off = np.degrees(np.arccos(np.clip(-(a @ v_hat) / np.linalg.norm(a), -1.0, 1.0)))
    assert off < 0.01, off


def _position_update(x, P, z, R):
    """Kalman update (Joseph form) of 9-D states (n, 9) and covariances (n, 9, 9) with position plots z (n, 3)."""
    H = np.hstack([np.eye(3), np.zeros((3, 6))])
    K = P @ H.T @ np.linalg.inv(H @ P @ H.T + R)
    x = x + np.einsum("nij,nj->ni", K, z - x[:, :3])
    IKH = np.eye(9) - K @ H
    return x, IKH @ P @ np.swapaxes(IKH, 1, 2) + K @ R @ np.swapaxes(K, 1, 2)


def _depressed_flight(seed: int):
    from warnlink.scenario.loader import PACKAGED, load_scenario
    from warnlink.scenario.world import build_world

    return build_world(load_scenario(PACKAGED / "hard-depressed.toml"), seed).flights["M2"]


def test_the_drag_error_keeps_its_share_of_the_drag_down_to_the_ground():
    """The ballistic model's mean, started from a depressed SRBM's true state and drag error a
    minute before impact (55 km up, 2.2 km/s, down through 6 g of drag), flies with the truth
    to 0.5 m and 0.01 m/s. Its drag error grows as the drag does, and the drag grows as the air
    thickens along the height the air is measured in, not along the geocentric radius: with
    the radius the error fell 0.8% short of its share of the drag over the minute and the
    mean ended 6-21 m and 0.25-0.7 m/s off (seeds 1-3). Nor does one RK4 step across the
    tropopause, where the drag's growth jumps, lose 0.2% of the drag error: the step ends with
    the error at its share of the drag (motion._hold_drag_share)."""
    from warnlink.physics.dynamics import state_derivative

    for seed in (2, 3):
        flight = _depressed_flight(seed)
        truth = flight.trajectory
        t = truth.t_impact - 60.0 + np.arange(59.0)
        r, v = truth.state(t)
        x6 = np.concatenate([r[:1], v[:1]], axis=1)
        drag_error = (state_derivative(x6, 1.0 / flight.reentry_ballistic_coefficient)
                      - state_derivative(x6, motion.NOMINAL_INV_BETA))[:, 3:6]
        x = np.concatenate([x6, drag_error], axis=1)
        P = np.eye(9)[None] * 1e-6
        for _ in t[1:]:
            x, P = motion.predict(x, P, 1.0, motion.BALLISTIC)
        assert np.linalg.norm(x[0, :3] - r[-1]) < 0.5
        assert np.linalg.norm(x[0, 3:6] - v[-1]) < 0.01


def test_a_filter_on_the_ballistic_model_is_consistent_through_a_depressed_re_entry():
    """An EKF on the ballistic model (position plots of 30 m a second, 20 seeds, each its own
    ballistic coefficient) over a depressed SRBM from 5 s after burnout: from 40 s to 15 s
    before impact, through the tropopause at 6 g, its velocity NEES is near 3: 3.5 over the
    window here (20 seeds, one noise draw for the whole initial state), 2.5-2.7 in 5 s bins of a
    30-seed screen; 5.7 here and 4.1-6.0 in that screen while the drag's growth took the
    height as the geocentric radius. In the last 10 s, below 4 km as the body slows from 1,000
    to 800 m/s, it is still 4.2-5.7 (10-14 before)."""
    nees = []
    for seed in range(1, 21):
        truth = _depressed_flight(seed).trajectory
        t = np.arange(truth.t_burnout + 5.0, truth.t_impact - 15.0, 1.0)
        r, v = truth.state(t)
        rng = np.random.default_rng(seed)
        x = np.concatenate([r[:1], v[:1], np.zeros((1, 3))], axis=1)
        P = motion.covariance9(np.diag([30.0**2] * 3 + [5.0**2] * 3)[None], motion.ballistic_accel_prior(x))
        x = x + rng.multivariate_normal(np.zeros(9), P[0] + 1e-12 * np.eye(9))[None]
        for i in range(1, len(t)):
            x, P = motion.predict(x, P, 1.0, motion.BALLISTIC)
            x, P = _position_update(x, P, r[i] + rng.normal(0.0, 30.0, 3), np.eye(3) * 30.0**2)
            if t[i] > truth.t_impact - 40.0:
                err = x[0, 3:6] - v[i]
                nees.append(err @ np.linalg.solve(P[0, 3:6, 3:6], err))
    assert len(nees) > 400
    assert 2.4 < np.mean(nees) < 3.6, np.mean(nees)


def test_a_filter_on_the_ballistic_model_is_consistent_in_every_direction_low_down():
    """An EKF on the ballistic model (its drag error, no white noise on the velocity) over the
    short SRBM's re-entry from 100 km to 6 km in 20 seeds (each its own ballistic coefficient;
    position plots of 30 m a second): below 10 km its velocity error in the plane of the path,
    across the velocity, is as large as its covariance says (NEES 1.13 over 70 plots, 1 for
    one dof). With the drag error lagging the turn it was 46; with a white share
    of the drag error on the velocity to cover that, 0.25 (0.17 out of the plane, now 0.85).
    Along the path it is 1.15 (0.65, on the safe side, while the drag error was forgotten over
    30 s; across the path 0.78 then)."""
    from warnlink.scenario.loader import load_scenario
    from warnlink.scenario.world import build_world

    from conftest import SHORT_SCENARIO

    scenario = load_scenario(SHORT_SCENARIO)
    R = np.eye(3) * 30.0**2
    nees = {"across": [], "out": [], "along": []}  # velocity NEES per direction below 10 km
    for seed in range(1, 21):
        truth = build_world(scenario, seed).flights["M1"].trajectory
        t = np.arange(np.ceil(truth.t_launch) + 1.0, truth.t_impact, 1.0)
        r, v = truth.state(t)
        alt = fast_altitude(r)
        i0 = next(i for i in range(1, len(t)) if alt[i] < 100e3 and alt[i] < alt[i - 1])
        rng = np.random.default_rng(seed)
        x = np.concatenate([r[i0] + rng.normal(0.0, 30.0, 3), v[i0] + rng.normal(0.0, 3.0, 3), np.zeros(3)])[None]
        P = np.diag([30.0**2] * 3 + [3.0**2] * 3 + [1e-6] * 3)[None]
        for i in range(i0 + 1, len(t)):
            if alt[i] < 6e3:
                break
            x, P = motion.predict(x, P, 1.0, motion.BALLISTIC)
            x, P = _position_update(x, P, r[i] + rng.normal(0.0, 30.0, 3), R)
            if alt[i] < 10e3:
                v_hat = v[i] / np.linalg.norm(v[i])
                across = np.cross(np.cross(r[i], v[i]), v_hat)
                across /= np.linalg.norm(across)
                for name, d in (("across", across), ("out", np.cross(v_hat, across)), ("along", v_hat)):
                    nees[name].append(((x[0, 3:6] - v[i]) @ d) ** 2 / (d @ P[0, 3:6, 3:6] @ d))
    assert len(nees["across"]) >= 40
    for name, values in nees.items():
        assert 0.5 < np.mean(values) < 2.0, (name, np.mean(values))


def test_a_track_flown_over_an_hour_near_apogee_is_as_sure_as_the_gravity_it_leaves_out():
    """The demo's lofted ICBM flies out of every radar's cover for an hour near its 6,500 km
    apogee. An EKF on the ballistic model tracks it for 100 s after burnout (position plots of
    50 m a second, 20 seeds), then flies on to where the radars find it again, 4,160 s: its
    position and velocity NEES there are inside the chi-square band of 20 runs (3 dof,
    2.0-4.2), and after 150 s of plots again inside it as far as the gravity along this path
    allows. With the surface's process noise held all the way up (the gravity beyond J2, and a
    vacuum drag error of 1e-3 m/s^2 where there is no air) they were 2.0 and 1.7 at 4,160 s:
    the track was less sure of itself than the missile's own motion warrants."""
    from scipy.stats import chi2

    from warnlink.physics.gravity import gravity_beyond_j2
    from warnlink.scenario.loader import PACKAGED, load_scenario
    from warnlink.scenario.world import build_world

    truth = build_world(load_scenario(PACKAGED / "demo.toml"), 1).flights["M1"].trajectory
    assert truth.apogee_m > 6000e3
    t = np.arange(np.ceil(truth.t_burnout) + 10.0, np.ceil(truth.t_burnout) + 110.0)
    r, v = truth.state(t)
    t_found = 4160.0
    r_found, v_found = (s[0] for s in truth.state(np.array([t_found])))
    seeds = 20
    rng = np.random.default_rng(7)
    R = np.eye(3) * 50.0**2
    x = np.concatenate([r[0] + rng.normal(0.0, 50.0, (seeds, 3)), v[0] + rng.normal(0.0, 20.0, (seeds, 3)),
                        np.zeros((seeds, 3))], axis=1)
    P = np.repeat(np.diag([50.0**2] * 3 + [20.0**2] * 3 + [0.0] * 3)[None], seeds, axis=0)
    P[:, 6:9, 6:9] = motion.ballistic_accel_prior(x)
    for i in range(1, len(t)):
        x, P = motion.predict(x, P, 1.0, motion.BALLISTIC)
        x, P = _position_update(x, P, r[i] + rng.normal(0.0, 50.0, (seeds, 3)), R)
    x, P = motion.predict(x, P, t_found - t[-1], motion.BALLISTIC)
    lo, hi = chi2.ppf(0.025, 3 * seeds) / seeds, chi2.ppf(0.975, 3 * seeds) / seeds

    def assert_consistent(x, P, r_true, v_true, low, high):
        for sl, truth_value in ((slice(0, 3), r_true), (slice(3, 6), v_true)):
            err = x[:, sl] - truth_value
            nees = np.mean(np.einsum("ni,ni->n", err, np.linalg.solve(P[:, sl, sl], err[:, :, None])[:, :, 0]))
            assert low < nees < high, (sl, nees, low, high)

    assert_consistent(x, P, r_found, v_found, lo, hi)
    # Found again, its plots pin where the missile is, and with the hour behind it the track's
    # velocity to some 0.03 m/s: now the gravity it left out shows. Along this path that
    # gravity is weaker than the Earth-wide spread the model gives it, a fraction f^2 = 0.4 of
    # its variance: the NEES a calibrated model gives is then f^2 of the band. With that
    # gravity forgotten every 300 s instead (a random walk of a force that was in truth
    # nearly constant) the velocity NEES rose to 50-90 over these 150 s.
    for t_plot in np.arange(t_found + 1.0, t_found + 151.0):
        x, P = motion.predict(x, P, 1.0, motion.BALLISTIC)
        r_plot, v_plot = (s[0] for s in truth.state(np.array([t_plot])))
        x, P = _position_update(x, P, r_plot + rng.normal(0.0, 50.0, (seeds, 3)), R)
    r_path, v_path = truth.state(np.arange(t[-1], t_plot, 10.0))
    field = np.stack(gravity_beyond_j2(*r_path.T), axis=-1)
    f2 = np.mean(field**2) / np.mean(motion.residual_variance(np.concatenate([r_path, v_path], axis=1), motion.BALLISTIC))
    assert 0.3 < f2 < 0.5
    assert_consistent(x, P, r_plot, v_plot, f2 * lo, hi)


@pytest.mark.parametrize("launch, first_s, last_s", [("M3", 5.0, 41.0), ("M1", 47.0, 91.0)])
def test_a_filter_on_the_boost_model_is_as_sure_as_the_burn_warrants(launch, first_s, last_s):
    """An EKF on the boost model over a burn of the demo's missiles (position plots of 100 m a
    second, 20 seeds, from 10 s after the start): its mean position and velocity NEES are
    inside the chi-square band of 20 runs (3 dof, 2.0-4.2). The SRBM's burn starts just after
    its vertical rise, where the pitch programme turns the thrust fastest (3.4 m/s^3 across
    the velocity); the lofted ICBM's second stage turns it by under 0.2 m/s^3. One white jerk
    for both, sized for the SRBM, left the ICBM's velocity NEES at 1.7; sized from the path's
    turn alone, without the pitch-over's floor, the SRBM's was 14. The 20 runs are 10 flights
    (seeds 1-10, each with its own motors) of two noise draws each: over one flight the
    motor's exhaust velocity is one draw shared by every run, and seed 1's, its stages near
    the low end of the public range, took the ICBM's velocity NEES to 4.7 over 20 noise
    draws. Now 4.01 (3.81 with every motor at the nominal 2,600 m/s) and, for the SRBM, 3.23."""
    from scipy.stats import chi2

    from warnlink.physics.dynamics import state_derivative
    from warnlink.scenario.loader import PACKAGED, load_scenario
    from warnlink.scenario.world import design_launch

    scenario = load_scenario(PACKAGED / "demo.toml")
    index = [launch_.id for launch_ in scenario.config.launches].index(launch)
    flights, draws, sigma = 10, 2, 100.0
    nees = {"position": [], "velocity": []}  # (steps, draws) per flight
    for seed in range(1, flights + 1):
        truth = design_launch(scenario, index, seed).trajectory
        t = truth.t_launch + np.arange(first_s, last_s)
        assert t[-1] < truth.t_burnout
        r, v = truth.state(t)
        thrust = truth.acceleration(t[:1])[0] - state_derivative(np.concatenate([r[0], v[0]])[None],
                                                                 motion.NOMINAL_INV_BETA)[0, 3:6]
        rng = np.random.default_rng([7, seed])
        P0 = np.diag([sigma**2] * 3 + [30.0**2] * 3 + [5.0**2] * 3)
        x = np.concatenate([r[0], v[0], thrust]) + rng.multivariate_normal(np.zeros(9), P0, draws)
        P = np.repeat(P0[None], draws, axis=0)
        per_flight = {name: [] for name in nees}
        for i in range(1, len(t)):
            x, P = motion.predict(x, P, 1.0, motion.BOOST)
            x, P = _position_update(x, P, r[i] + rng.normal(0.0, sigma, (draws, 3)), np.eye(3) * sigma**2)
            if i < 10:
                continue
            for name, sl, truth_value in (("position", slice(0, 3), r[i]), ("velocity", slice(3, 6), v[i])):
                err = x[:, sl] - truth_value
                per_flight[name].append(np.einsum("ni,ni->n", err, np.linalg.solve(P[:, sl, sl], err[:, :, None])[:, :, 0]))
        for name in nees:
            nees[name].append(np.array(per_flight[name]))
    runs = flights * draws
    lo, hi = chi2.ppf(0.025, 3 * runs) / runs, chi2.ppf(0.975, 3 * runs) / runs
    for name, values in nees.items():
        mean = np.mean(np.concatenate(values, axis=1))
        assert lo < mean < hi, (name, mean, lo, hi)


def test_a_thrust_above_the_cap_is_held_not_blown_up():
    """Only an update can put ``a`` above THRUST_ACCEL_LIMIT (a track with a wide thrust
    covariance taking one plot). There a capped law's decay is stiff: predicted in
    1 s steps, a thrust of 2,600 m/s^2 went to 1e14 m/s^2 within seconds, and the track to NaN.
    It is held instead, and the state stays finite."""
    x = _boosting_state(2600.0)
    P = np.eye(9)[None] * 100.0
    for _ in range(10):
        x, P = motion.predict(x, P, 1.0, motion.BOOST)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(P))
    assert np.linalg.norm(x[0, 6:9]) == pytest.approx(2600.0, rel=1e-9)


def test_a_staging_model_at_rest_does_not_mix_into_the_boost_model():
    """While no staging is seen the staging model sits at its resting probability, below the
    interaction floor, and the boost model predicts as if alone: the staging hypothesis's
    lower thrust is not moment-matched into it at every step as a process noise."""
    for dt in (0.25, 1.0):
        pi = imm.transition(dt)
        p_stage = pi[imm.BOOST, imm.STAGING]
        p_settle = pi[imm.STAGING, imm.BOOST]
        assert p_stage / (p_stage + p_settle) < imm.INTERACTION_FLOOR
    x = np.repeat(_boosting_state(80.0)[:, None, :], imm.K, axis=1)
    x[:, imm.STAGING, 6:9] *= imm.STAGE_THRUST_RATIO
    P = np.tile(np.eye(9), (1, imm.K, 1, 1)) * 4.0
    mu = np.array([[0.01, 0.96, 0.03]])
    xp, Pp, _, _ = imm.mix_and_predict(x, P, mu, 0.5, P.copy())
    alone, P_alone = motion.predict(x[:, imm.BOOST], P[:, imm.BOOST], 0.5, motion.BOOST)
    np.testing.assert_allclose(xp[:, imm.BOOST], alone)
    np.testing.assert_allclose(Pp[:, imm.BOOST], P_alone)


def test_boost_jacobian_matches_finite_differences():
    x = _boosting_state(60.0)
    x[0, 6:9] += [5.0, -3.0, 8.0]  # thrust not along the velocity
    decay, growth = motion.rates(motion.BOOST, 1)
    A = motion.jacobian(x, decay, growth)[0]
    numeric = np.zeros((3, 3))
    for j in range(3):
        e = np.zeros((1, 9))
        e[0, 6 + j] = 1e-4
        numeric[:, j] = (motion._derivative(x + e, decay, growth) - motion._derivative(x - e, decay, growth))[0, 6:9] / 2e-4
    np.testing.assert_allclose(A[6:9, 6:9], numeric, rtol=1e-6, atol=1e-12)


def test_transition_rows_are_probabilities_and_staging_is_only_reached_from_boost():
    for dt in (0.2, 1.0, 30.0, -1.0):
        pi = imm.transition(dt)
        np.testing.assert_allclose(pi.sum(axis=1), 1.0)
        assert np.all(pi >= 0.0)
        assert pi[imm.BALLISTIC, imm.STAGING] == 0.0


@pytest.mark.parametrize("gap_s", [90.0, 3600.0])
def test_a_coasting_track_predicted_over_a_long_gap_stays_finite(gap_s):
    """All radars blind for 90 s (scenarios/hard-gap.toml) and no plot in between: a coasting
    track, its thrusting models below the interaction floor, is predicted over the whole gap in
    one step. The staging model's chance of staying, e^(-dt / 2 s), rounds to nothing then, and
    nothing admissible mixed into it: it was mixed to the zero state (the Earth's centre) and
    the track's numbers went non-finite, so the tracker dropped a healthy track as diverged.
    Each model now keeps its own estimate, and all three are where the missile coasts to."""
    r = frames.geodetic_to_ecef(np.radians(38.5), np.radians(133.0), 190e3)
    up = r / np.linalg.norm(r)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    x = np.tile(np.concatenate([r, 2000.0 * east + 800.0 * up, np.zeros(3)]), (1, imm.K, 1))
    x[0, imm.BOOST, 6:9] = x[0, imm.STAGING, 6:9] = 0.1 * east
    P = np.tile(np.diag([100.0] * 3 + [1.0] * 3 + [0.01] * 3), (1, imm.K, 1, 1))
    mu = np.array([[0.9997, 2e-4, 1e-4]])
    xp, Pp, mup, Pip = imm.mix_and_predict(x, P, mu, gap_s, P.copy())
    assert np.isfinite(xp).all() and np.isfinite(Pp).all() and np.isfinite(Pip).all()
    np.testing.assert_allclose(mup.sum(), 1.0)
    coast, _ = motion.predict(x[:, imm.BALLISTIC], P[:, imm.BALLISTIC], gap_s, motion.BALLISTIC)
    np.testing.assert_allclose(xp[0, imm.BALLISTIC, :3], coast[0, :3], atol=1e-6)
    # The thrusting models coast with a thrust of 0.1 m/s^2: within a few kilometres after
    # 90 s, nowhere near the zero state.
    if gap_s < 100.0:
        assert np.linalg.norm(xp[0, imm.STAGING, :3] - coast[0, :3]) < 5e3


def test_mixing_into_staging_drops_the_thrust_and_into_ballistic_removes_it():
    """A track that burns at 100 m/s^2: the staging model sees the next stage light at
    STAGE_THRUST_RATIO of it with the ratio's spread; the ballistic model sees no thrust."""
    n = 1
    x = np.zeros((n, imm.K, 9))
    x[:, :, :6] = _boosting_state(100.0)[0, :6]
    x[:, imm.BOOST, 6:9] = _boosting_state(100.0)[0, 6:9]
    P = np.tile(np.eye(9), (n, imm.K, 1, 1)) * 4.0
    mu = np.array([[0.0001, 0.9999 - 1e-4, 1e-4]])
    xs, Ps, Pis = imm._into(x[:, imm.BOOST], P[:, imm.BOOST], P[:, imm.BOOST], imm.STAGING)
    assert np.linalg.norm(xs[0, 6:9]) == pytest.approx(100.0 * imm.STAGE_THRUST_RATIO)
    along = xs[0, 6:9] / np.linalg.norm(xs[0, 6:9])
    var_along = along @ Ps[0, 6:9, 6:9] @ along
    expected = (imm.STAGE_THRUST_RATIO**2 * 4.0 + (imm.STAGE_THRUST_RATIO_SIGMA * 100.0) ** 2
                + imm.STAGE_DIRECTION_SIGMA_MPS2**2)
    assert var_along == pytest.approx(expected)
    # The independent part takes the linear map alone: the ratio's spread is anybody's guess.
    assert along @ Pis[0, 6:9, 6:9] @ along == pytest.approx(imm.STAGE_THRUST_RATIO**2 * 4.0)
    # Into the ballistic model, 40 km up, the thrust is gone and the drag error of a body not yet
    # measured is the prior's: INV_BETA_RELATIVE_SIGMA of the nominal drag, along the velocity.
    xb, Pb, Pib = imm._into(x[:, imm.BOOST], P[:, imm.BOOST], P[:, imm.BOOST], imm.BALLISTIC)
    assert np.all(xb[0, 6:9] == 0.0)
    v_hat = x[0, imm.BOOST, 3:6] / np.linalg.norm(x[0, imm.BOOST, 3:6])
    spread = motion.INV_BETA_RELATIVE_SIGMA * motion.nominal_drag(x[:, imm.BOOST])[0]
    assert spread > 0.1
    # On every axis, the gravity beyond J2: its surface spread falling as (R / r)^4.
    def gravity_residual_var(r):
        return (motion.GRAVITY_RESIDUAL_MPS2 * (frames.WGS84_A / np.linalg.norm(r)) ** 4) ** 2

    np.testing.assert_allclose(Pb[0, 6:9, 6:9], np.eye(3) * gravity_residual_var(x[0, imm.BOOST, :3])
                               + spread**2 * np.outer(v_hat, v_hat), atol=1e-12)
    np.testing.assert_allclose(Pib[0, 6:9, 6:9], 0.0, atol=1e-12)
    # The motor's tail, 0.1 m/s^2 over 2 s, is a velocity error of 0.2 m/s per axis and a
    # position error of -0.4 m with it (fully anticorrelated), added at once.
    tail = Pb[0, :6, :6] - P[0, imm.BOOST, :6, :6]
    np.testing.assert_allclose(np.diag(tail), [0.4**2] * 3 + [0.2**2] * 3, rtol=1e-9)
    np.testing.assert_allclose(tail[:3, 3:], -np.eye(3) * 0.4 * 0.2, rtol=1e-9)
    np.testing.assert_allclose(Pib[0, :6, :6], P[0, imm.BOOST, :6, :6], atol=1e-9)
    # Above the air there is no drag to be wrong about: the gravity residual is all, smaller up there.
    high = x[:, imm.BOOST].copy()
    high[:, :3] *= (np.linalg.norm(high[0, :3]) + 500e3) / np.linalg.norm(high[0, :3])
    _, Ph, _ = imm._into(high, P[:, imm.BOOST], P[:, imm.BOOST], imm.BALLISTIC)
    np.testing.assert_allclose(Ph[0, 6:9, 6:9], np.eye(3) * gravity_residual_var(high[0, :3]), rtol=1e-9)
    assert gravity_residual_var(high[0, :3]) < 0.6 * gravity_residual_var(x[0, imm.BOOST, :3])
    # After one mixing step each model still has a finite, symmetric covariance.
    xp, Pp, c, _ = imm.mix_and_predict(x, P, mu, 1.0, P.copy())
    assert np.all(np.isfinite(xp)) and np.allclose(Pp, np.swapaxes(Pp, 2, 3))
    np.testing.assert_allclose(c.sum(axis=1), 1.0)


def test_a_new_track_low_down_starts_as_a_burning_motor():
    mu = imm.initial_mu(np.array([20e3, 99e3, 101e3, 800e3]))
    np.testing.assert_allclose(mu.sum(axis=1), 1.0)
    assert imm.boost_probability(mu[0]) == pytest.approx(0.9)
    assert imm.boost_probability(mu[1]) == pytest.approx(0.9)
    assert imm.boost_probability(mu[2]) == pytest.approx(0.5)
    assert imm.boost_probability(mu[3]) == pytest.approx(0.5)
