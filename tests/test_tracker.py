"""The local tracker on synthetic radar plots with clutter, and infrared launch detection."""

import re
from types import SimpleNamespace as NS

import numpy as np
import pytest

from warnlink import frames
from warnlink.fusion.align import BOOSTING
from warnlink.scenario.flight import design_flight
from warnlink.tracking.launch_detect import LaunchDetector
from warnlink.tracking.tracker import MAX_SPEED_MPS, LocalTracker

SITE_LAT, SITE_LON, SITE_ALT = np.radians(36.9), np.radians(127.5), 150.0
SIGMA = np.array([30.0, 1e-3, 1e-3])


@pytest.fixture(scope="module")
def flights():
    return [
        design_flight(39.0, 125.7, 300.0, azimuth_deg=100.0, range_km=900.0, launch_id="A"),
        design_flight(39.3, 125.9, 150.0, azimuth_deg=110.0, range_km=600.0, launch_id="B", launch_time_s=20.0),
    ]


def _scans(flights, clutter_per_scan=0.5, p_detect=0.95, seed=1, duration=None):
    rng = np.random.default_rng(seed)
    rot = frames.enu_rotation(SITE_LAT, SITE_LON)
    site = frames.geodetic_to_ecef(SITE_LAT, SITE_LON, SITE_ALT)
    end = duration or max(f.trajectory.t_impact for f in flights)
    for t in np.arange(0.0, end, 1.0):
        plots, truth = [], []
        for f in flights:
            tr = f.trajectory
            if not tr.in_flight(t):
                continue
            r, _ = tr.state(t)
            az, el, rg = frames.enu_to_aer(rot @ (r - site))
            if el > np.radians(0.5) and rg < 1200e3 and rng.random() < p_detect:
                z = np.array([rg, az, el]) + rng.normal(size=3) * SIGMA
                plots.append(NS(range_m=z[0], azimuth_rad=z[1], elevation_rad=z[2]))
                truth.append(f.trajectory.launch_id)
        for _ in range(rng.poisson(clutter_per_scan)):
            plots.append(NS(range_m=rng.uniform(0, 1200e3), azimuth_rad=rng.uniform(0, 2 * np.pi),
                            elevation_rad=rng.uniform(0, 1.4)))
            truth.append(None)
        yield t, _report(t, plots)


def _report(t, plots):
    """The radar R1's report of one scan at time t (s)."""
    return NS(sensor_id="R1", time_ns=int(round(t * 1e9)), site_lat_rad=SITE_LAT, site_lon_rad=SITE_LON,
              site_alt_m=SITE_ALT, sigma_range_m=SIGMA[0], sigma_azimuth_rad=SIGMA[1],
              sigma_elevation_rad=SIGMA[2], plots=plots)


def _nearest(flights, t, x):
    """The missile nearest to a track (one that came down in the last minute counts, at its impact)."""
    best = None
    for f in flights:
        tr = f.trajectory
        if tr.t_launch <= t <= tr.t_impact + 60.0:
            r, v = tr.state(min(t, tr.t_impact))
            d = np.linalg.norm(x[:3] - r)
            if best is None or d < best[0]:
                best = (d, f, r, v)
    return best


def test_one_track_per_missile_clutter_rejected_and_consistent(flights):
    tracker = LocalTracker("ROK", 0)
    ids_by_launch: dict[str, set[str]] = {"A": set(), "B": set()}
    nees, mid_errors = [], []
    for t, report in _scans(flights):
        tracker.process_radar(report)
        for track_id, x, P, boost_p in tracker.estimates():
            d, f, r, v = _nearest(flights, t, x)
            assert d < 5e3, f"track {track_id} is {d:.0f} m from any missile at t={t}: a false track"
            ids_by_launch[f.trajectory.launch_id].add(track_id)
            tr = f.trajectory
            if t > tr.t_impact:
                continue
            e = x[:6] - np.concatenate([r, v])
            if tr.t_burnout + 30 < t < tr.t_impact - 60:
                nees.append(e @ np.linalg.solve(P[:6, :6], e))
                mid_errors.append(np.linalg.norm(e[:3]))
    # Each missile is held by one track from start to end: it survives burnout.
    assert [len(v) for v in ids_by_launch.values()] == [1, 1]
    # Midcourse: position error well under the cross-range measurement error (1 mrad x 500-900 km).
    assert np.sqrt(np.mean(np.square(mid_errors))) < 250.0
    # Covariances honest, on the safe side: mean NEES (6 dof) between 1.5 and 12. The filter
    # is conservative today (about 2-4); bringing it into the chi-square band is measured by
    # the evaluation harness, not here.
    assert 1.5 < np.mean(nees) < 12.0


def _tracking_both_missiles_at_60_s(flights):
    """A tracker fed the fixture's clutter-free scans up to t = 60 s, and the rest of the scans."""
    tracker = LocalTracker("ROK", 0)
    scans = _scans(flights, clutter_per_scan=0.0)
    for t, report in scans:
        tracker.process_radar(report)
        if t >= 60.0:
            break
    return tracker, scans


def test_a_diverged_track_is_dropped_and_recorded_while_the_others_go_on(flights):
    """A filter step that takes a track beyond anything a missile can be (here its thrust set
    to 1e14 m/s^2, as a diverged filter's was in a trial of the code) drops that track,
    records why and reports it dropped; the reports stay valid, the other missile's track
    goes on and the lost one is found again under a new number. Flown on, that thrust put
    NaN into every node's picture."""
    from warnlink.tracking import imm

    tracker, scans = _tracking_both_missiles_at_60_s(flights)
    before = [track_id for track_id, *_ in tracker.estimates()]
    assert len(before) == 2
    tracker.reports()
    tracker.x[0, imm.BOOST, 6:9] = [1e14, 0.0, 0.0]
    victim = tracker.meta[0].track_id
    with np.errstate(over="ignore", invalid="ignore"):  # the step may overflow: that is the point
        tracker.predict_to(61.0)
    assert [track_id for track_id, _ in tracker.diverged] == [victim]
    assert re.fullmatch(r"(position|velocity|acceleration)( sigma)? \S+ beyond \S+ \(SI\)|state or covariance not finite",
                        tracker.diverged[0][1]), tracker.diverged[0][1]
    reports = tracker.reports(only_updated=False)
    other = next(i for i in before if i != victim)
    assert {(r.track_id, r.status) for r in reports} == {(victim, "dropped"), (other, "active")}
    for t, report in scans:
        tracker.process_radar(report)
        if t >= 70.0:
            break
    after = [track_id for track_id, *_ in tracker.estimates()]
    assert victim not in after and (set(before) - {victim}) < set(after) and len(after) == 2  # found again


def _straight_line_scans(speed_mps, scans=8, seed=3):
    """Plots of an object flying level and straight (no gravity) at ``speed_mps``, 200 km up and
    400 km east of the radar: what clutter plots kilometres apart can look like to a new track."""
    rng = np.random.default_rng(seed)
    rot = frames.enu_rotation(SITE_LAT, SITE_LON)
    site = frames.geodetic_to_ecef(SITE_LAT, SITE_LON, SITE_ALT)
    start = site + rot.T @ np.array([400e3, 0.0, 200e3])
    heading = rot.T @ np.array([0.0, 1.0, 0.0])
    for t in np.arange(0.0, scans, 1.0):
        az, el, rg = frames.enu_to_aer(rot @ (start + heading * speed_mps * t - site))
        z = np.array([rg, az, el]) + rng.normal(size=3) * SIGMA
        yield _report(t, [NS(range_m=z[0], azimuth_rad=z[1], elevation_rad=z[2])])


@pytest.mark.parametrize("speed_mps, confirmed", [(7000.0, True), (12000.0, False)])
def test_a_track_faster_than_any_missile_is_never_confirmed(speed_mps, confirmed):
    """Plots that line up at a speed no missile has (MAX_SPEED_MPS) make no track: false tracks
    on clutter were confirmed at 9-19 km/s before. At a missile's speed the same line is tracked."""
    tracker = LocalTracker("ROK", 0)
    seen = False
    for report in _straight_line_scans(speed_mps):
        tracker.process_radar(report)
        seen |= bool(tracker.estimates())
    assert seen == confirmed
    assert tracker.diverged == []  # a tentative track goes as clutter does, unrecorded


def test_a_confirmed_track_surely_faster_than_a_missile_is_dropped_and_recorded(flights):
    """A confirmed track whose speed is surely beyond a missile's is dropped at the next scan,
    reported dropped and recorded with its speed, while the other missile's track goes on."""
    from warnlink.tracking import imm

    tracker, scans = _tracking_both_missiles_at_60_s(flights)
    tracker.reports()
    victim = tracker.meta[0].track_id
    v = tracker.x[0, :, 3:6]
    tracker.x[0, :, 3:6] = v / np.linalg.norm(v, axis=1)[:, None] * 2.0 * MAX_SPEED_MPS
    assert np.sqrt(tracker.P[0, imm.BALLISTIC, 3, 3]) < 100.0  # surely: the speed is known to far better than that
    tracker.process_radar(next(scans)[1])
    assert [(track_id, why.split()[0]) for track_id, why in tracker.diverged] == [(victim, "speed")]
    assert victim not in [track_id for track_id, *_ in tracker.estimates()]
    assert (victim, "dropped") in {(r.track_id, r.status) for r in tracker.reports(only_updated=False)}
    assert len(tracker.estimates()) >= 1


def test_boost_probability_follows_the_motor(flights):
    tracker = LocalTracker("ROK", 0)
    boost, coast = [], []
    for t, report in _scans(flights[:1], clutter_per_scan=0.0):
        tracker.process_radar(report)
        est = tracker.estimates()
        if not est:
            continue
        tr = flights[0].trajectory
        if t < tr.t_burnout - 5:
            boost.append(est[0][3])
        elif t > tr.t_burnout + 30:
            coast.append(est[0][3])
    assert boost and np.mean(boost) > 0.6
    assert np.max(coast) < 0.2


def test_reports_say_since_when_the_motor_burns_without_doubt(flights):
    """steady_burn_since_ns: set once the burning probability passes STEADY_BURN_PROBABILITY and
    held while it stays there (one time for the whole steady stretch), 0 after burnout."""
    from warnlink.tracking.tracker import STEADY_BURN_PROBABILITY

    tracker = LocalTracker("ROK", 0)
    tr = flights[0].trajectory
    since, after = [], []
    for t, report in _scans(flights[:1], clutter_per_scan=0.0, duration=tr.t_burnout + 40.0):
        tracker.process_radar(report)
        for rep in tracker.reports():
            if rep.steady_burn_since_ns:
                assert rep.boost_probability > STEADY_BURN_PROBABILITY
                assert rep.steady_burn_since_ns <= rep.time_ns
            if t < tr.t_burnout - 5.0:
                since.append(rep.steady_burn_since_ns)
            elif t > tr.t_burnout + 30.0:
                after.append(rep.steady_burn_since_ns)
    steady = [s for s in since if s]
    assert len(steady) > 0.5 * len(since)  # burning without doubt most of the burn
    assert len(set(steady)) < len(steady) / 5  # a time held through each steady stretch, not each scan's
    assert after and not any(after)


def test_track_reports_carry_state_and_identity(flights):
    tracker = LocalTracker("JPN", 1_000_000_000)
    reports = []
    for t, report in _scans(flights[:1], duration=120.0):
        report.time_ns += 1_000_000_000
        tracker.process_radar(report)
        reports += tracker.reports()
    assert reports
    assert {r.track_id for r in reports} == {"JPN-T1"}
    assert all(len(r.state_ecef) == 6 and len(r.covariance) == 21 for r in reports)
    times = [r.time_ns for r in reports]
    assert times == sorted(times)


def test_a_tentative_track_does_not_take_a_confirmed_tracks_plots(flights):
    """An outlier plot of a held missile (6 sigma short in range) starts a tentative track beside
    it. A second radar's next plots, 0.3 s apart and 3.6 sigma short too, sit inside both gates; on
    one likelihood scale the wide tentative track scored them better than the sharp confirmed one,
    took three and was confirmed with an unobserved velocity: a duplicate that coasted off at
    1.4 km/s (demo seed 11). Confirmed tracks choose first; the outlier's track stays tentative."""
    tracker = LocalTracker("ROK", 0)
    f = flights[0]
    scans = list(_scans([f], clutter_per_scan=0.0, p_detect=1.0, seed=3, duration=150.0))
    for _, report in scans:
        tracker.process_radar(report)
    rot = frames.enu_rotation(SITE_LAT, SITE_LON)
    site = frames.geodetic_to_ecef(SITE_LAT, SITE_LON, SITE_ALT)
    for k in range(4):
        t = 150.0 + 0.3 * k
        az, el, rg = frames.enu_to_aer(rot @ (f.trajectory.state(t)[0] - site))
        short = (6.0 if k == 0 else 3.6) * SIGMA[0]
        tracker.process_radar(NS(**{**vars(scans[-1][1]), "sensor_id": "R1" if k == 0 else "R2",
                                    "time_ns": int(round(t * 1e9)),
                                    "plots": [NS(range_m=rg - short, azimuth_rad=az, elevation_rad=el)]}))
    assert [m.status for m in tracker.meta].count(1) == 1, [(m.status, m.hits) for m in tracker.meta]


def test_clutter_alone_makes_no_confirmed_track():
    tracker = LocalTracker("ROK", 0)
    for t, report in _scans([], clutter_per_scan=3.0, duration=300.0):
        tracker.process_radar(report)
        assert not tracker.estimates()


def test_infrared_launch_event_before_radar(flights):
    f = flights[0]
    tr = f.trajectory
    sat = frames.geodetic_to_ecef(0.0, np.radians(130.0), 35786e3)
    rng = np.random.default_rng(3)
    detector = LaunchDetector("USA", 0)
    events = []
    for t in np.arange(0.0, tr.t_burnout, 2.0):
        r, _ = tr.state(t)
        if not tr.in_flight(t) or frames.altitude(r) < 10e3:
            continue
        los = (r - sat) / np.linalg.norm(r - sat)
        los = los + rng.normal(size=3) * 50e-6
        detector.process_ir(NS(sensor_id="IR1", time_ns=int(t * 1e9), satellite_ecef_m=sat.tolist(),
                               sigma_los_rad=50e-6, plots=[NS(los_ecef=los.tolist())]))
        events += detector.events()
    assert len(events) == 1
    ev = events[0]
    site_lat, site_lon = tr.launch_point
    miss = frames.geodesic_inverse(site_lat, site_lon, ev.lat_rad, ev.lon_rad)[0]
    assert miss < 3 * ev.sigma_position_m
    assert abs(ev.time_ns / 1e9 - tr.t_launch) < 3 * ev.sigma_time_s


@pytest.mark.slow
def test_a_staged_missile_is_one_track_through_every_staging():
    """demo.toml's M2, an IRBM of three stages, seen by every radar of the scenario at once (as the
    oracle sees it): where the thrust drops at a staging the ballistic model takes over for a
    moment, and the next stage's plots must still go to the same track (they sit inside the boost
    model's prediction). Over many noise draws, one track, never a second."""
    from warnlink.scenario.loader import PACKAGED, load_scenario
    from warnlink.scenario.sensors import simulate_sensors
    from warnlink.scenario.world import build_world

    scenario = load_scenario(PACKAGED / "demo.toml")
    tr = build_world(scenario).flights["M2"].trajectory
    radars = [s for s in scenario.config.sensors if s.type == "radar"]
    for seed in range(1, 7):  # seed 5 lost it at the second staging when gating used the mixture alone
        run = simulate_sensors(radars, [tr], tr.t_burnout + 40.0, scenario.epoch_ns, seed)
        tracker = LocalTracker("ALL", scenario.epoch_ns)
        ids = set()
        for report, labels in zip(run.reports, run.labels):
            tracker.process_radar(report)
            t = (report.time_ns - scenario.epoch_ns) / 1e9
            for track_id, x, *_ in tracker.estimates():
                if np.linalg.norm(x[:3] - tr.position(np.array([t]))[0]) < 50e3:
                    ids.add(track_id)
        assert len(ids) == 1, (seed, ids)


def test_midcourse_tracks_are_consistent_when_started_in_midcourse():
    """The filter itself is honest: tracks picked up after burnout have mean NEES near 3.

    Twenty coasting SRBMs, one radar, no clutter; position and velocity NEES (3 dof) over the 150 s after
    each track has had 20 s to settle. A wrong measurement model moves it out of [2.4, 3.6]
    (R taken 1.5x too large gives 2.3), and so does a wrong motion model: with the truth in
    central gravity against the filter's J2 (0.015 m/s^2 of model error) it is 7.1.
    """
    from warnlink.scenario.simple_flights import srbm_raid

    flights = [NS(trajectory=tr) for tr in srbm_raid(20, seed=3, launch_window_s=30.0)]
    start = 120.0  # every motor has burnt out
    tracker = LocalTracker("ROK", 0)
    first_seen, nees, nees_v = {}, [], []
    for t, report in _scans(flights, clutter_per_scan=0.0, p_detect=1.0, duration=start + 170.0):
        if t < start:
            continue
        tracker.process_radar(report)
        for track_id, x, P, _ in tracker.estimates():
            t0 = first_seen.setdefault(track_id, t)
            d, f, r, v = _nearest(flights, t, x)
            if t - t0 < 20.0 or t > f.trajectory.t_impact - 30.0:
                continue
            e, ev = x[:3] - r, x[3:6] - v
            nees.append(e @ np.linalg.solve(P[:3, :3], e))
            nees_v.append(ev @ np.linalg.solve(P[3:6, 3:6], ev))
    assert len(first_seen) == 20 and len(nees) > 1000
    assert 2.4 < np.mean(nees) < 3.6, np.mean(nees)
    # Velocity too, as reported: the IMM's all-but-ruled-out boost model, reported with the
    # rest, made the velocity covariance twice too large (mean velocity NEES 1.4); mixed into
    # the ballistic model at every step it still made it 15% too large (2.6; now 3.0).
    assert 2.4 < np.mean(nees_v) < 3.6, np.mean(nees_v)


@pytest.mark.slow
def test_stagings_keep_the_velocity_covariance_honest():
    """demo.toml's M1, a three-stage ICBM, seen by every radar: at each staging the thrust drops
    to about a third (the next stage pushes a heavy stack). A random-walk thrust follows that
    jump only over many seconds, with the velocity off by several of its sigmas meanwhile; the
    staging model expects the drop. Mean over four noise draws of the reported estimate's
    velocity NEES (3 dof) in the 10 s after each staging: 5.7 (up to 120 at one plot) with the
    ballistic and boost models alone, 2.7 with the staging model. 4.2 since a model below
    imm.INTERACTION_FLOOR of 0.05 (0.01 before) no longer mixes into another: in the first
    plots after a staging the staging model is still below it and does not pass its lower
    thrust to the boost model (3.1 with the floor at 0.01 and the boost jerk as it is now; a
    regression of the transient, kept because the floor took the staging model's resting
    probability out of every step of the burn: see imm.INTERACTION_FLOOR). Since the truth
    draws each stage's exhaust velocity, which sets how far the thrust drops, the four runs
    are four flights (seeds 1-4), not four noise draws over one: seed 1's flight alone, its
    three motors near the low end of the public range, gave 5.1 over four noise draws."""
    from warnlink.scenario.loader import PACKAGED, load_scenario
    from warnlink.scenario.sensors import simulate_sensors
    from warnlink.scenario.world import build_world

    scenario = load_scenario(PACKAGED / "demo.toml")
    radars = [s for s in scenario.config.sensors if s.type == "radar"]
    nees_v = []
    for seed in range(1, 5):
        flight = build_world(scenario, seed).flights["M1"]
        tr = flight.trajectory
        stagings = tr.t_launch + np.cumsum(flight.boost.stage_burn_s)[:-1]
        assert len(stagings) == 2
        run = simulate_sensors(radars, [tr], stagings[-1] + 12.0, scenario.epoch_ns, seed)
        tracker = LocalTracker("ALL", scenario.epoch_ns)
        for report in run.reports:
            tracker.process_radar(report)
            t = tracker.t
            if not any(0.0 < t - ts <= 10.0 for ts in stagings):
                continue
            r, v = tr.state(np.array([t]))
            for _, x, P, _ in tracker.estimates():
                if np.linalg.norm(x[:3] - r[0]) < 20e3:
                    ev = x[3:6] - v[0]
                    nees_v.append(ev @ np.linalg.solve(P[3:6, 3:6], ev))
    assert len(nees_v) > 100
    assert np.mean(nees_v) < 4.5, np.mean(nees_v)


def test_heavy_drag_in_reentry_is_not_read_as_thrust():
    """A re-entry vehicle with a third of the nominal ballistic coefficient slows down far more than
    the filters expect. The ballistic model carries that drag error in ``a`` (it lasts the whole
    re-entry and grows with the drag), so the track stays ballistic and nearly honest (boost probability
    at most 0.003, position NEES over the last 40 s 2.9: the coefficient is 2.6 sigma below the
    filters' prior). When the drag error was white noise on the velocity, the boost model explained
    it better: boost probability 0.99 while falling, NEES 11. With the drag error held constant in
    the air while its covariance lagged the growing drag (motion.DRAG_GROWTH_LIMIT), 0.54 and 9.3."""
    flight = design_flight(39.0, 125.7, 120.0, target_lat_deg=37.3, target_lon_deg=128.3, launch_id="H",
                           reentry_ballistic_coefficient=3500.0)
    tr = flight.trajectory
    boost, nees = [], []
    for seed in (1, 2, 3):
        tracker = LocalTracker("ROK", 0)
        for t, report in _scans([flight], clutter_per_scan=0.0, p_detect=1.0, seed=seed):
            tracker.process_radar(report)
            if t < tr.t_impact - 40.0:
                continue
            for _, x, P, bp in tracker.estimates():
                r, _ = tr.state(t)
                e = x[:3] - r
                boost.append(bp)
                nees.append(e @ np.linalg.solve(P[:3, :3], e))
    assert len(nees) > 60
    assert max(boost) < BOOSTING, max(boost)  # never taken to burn
    assert np.mean(nees) < 6.5, np.mean(nees)
