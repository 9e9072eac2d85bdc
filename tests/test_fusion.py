"""Fusion: covariance intersection values, association across nations, the same names at every node."""

from __future__ import annotations

import numpy as np
import pytest

from warnlink.fusion import Fusion, ci_pair, covariance_intersection, split_covariance_intersection
from warnlink.fusion.align import BOOSTING
from warnlink.fusion.ci import sci_pair, split_parts
from warnlink.messages import TrackReport, pack_covariance
from warnlink.scenario.flight import design_flight

EPOCH = 1_700_000_000_000_000_000


def test_ci_of_equal_estimates_is_their_average_with_the_same_covariance():
    P = np.diag([4.0, 1.0])
    x, Pf, w = ci_pair(np.array([0.0, 0.0]), P, np.array([2.0, 2.0]), P)
    # Any w gives P itself; the trace is flat, so the fused mean is a convex combination.
    np.testing.assert_allclose(Pf, P, rtol=1e-9)
    assert 0.0 <= w <= 1.0
    np.testing.assert_allclose(x, [2.0 * (1 - w), 2.0 * (1 - w)], atol=1e-9)


def test_ci_takes_the_much_better_estimate():
    x, P, w = ci_pair(np.array([1.0, 1.0]), np.eye(2) * 1e-4, np.array([5.0, 5.0]), np.eye(2) * 100.0)
    assert w > 0.999
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-3)


def test_ci_complementary_axes_hand_computed():
    """P1 = diag(1, 9), P2 = diag(9, 1): by symmetry w = 1/2 and P = diag(1.8, 1.8)."""
    x, P, w = ci_pair(np.array([0.0, 0.0]), np.diag([1.0, 9.0]), np.array([1.0, 1.0]), np.diag([9.0, 1.0]))
    assert w == pytest.approx(0.5, abs=1e-3)
    np.testing.assert_allclose(P, np.diag([1.8, 1.8]), rtol=1e-3)
    # x = P (w P1^-1 x1 + (1 - w) P2^-1 x2) = 1.8 * 0.5 * [1/9, 1] = [0.1, 0.9]
    np.testing.assert_allclose(x, [0.1, 0.9], atol=1e-3)


def test_ci_is_consistent_for_correlated_errors():
    """Two estimates with correlation 0.9: the CI covariance bounds the fused error covariance."""
    rng = np.random.default_rng(0)
    P1, P2 = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    cross = 0.9 * np.sqrt(np.outer(np.diag(P1), np.diag(P2))) * np.eye(2)
    joint = np.block([[P1, cross], [cross.T, P2]])
    errors = rng.multivariate_normal(np.zeros(4), joint, size=4000)
    x, P, w = ci_pair(np.zeros(2), P1, np.zeros(2), P2)
    info = w * np.linalg.inv(P1), (1 - w) * np.linalg.inv(P2)
    fused = np.array([P @ (info[0] @ e[:2] + info[1] @ e[2:]) for e in errors])
    empirical = np.cov(fused.T)
    assert np.all(np.linalg.eigvalsh(P - empirical) > -0.05)
    xs, Ps = covariance_intersection([np.zeros(2)] * 3, [P1, P2, np.eye(2) * 2.0])
    assert np.all(np.linalg.eigvalsh(Ps) > 0)


def test_sci_of_independent_estimates_is_the_kalman_product():
    """With nothing shared, split CI is the optimal fusion of independent estimates."""
    P1, P2 = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    x, P, Pi = split_covariance_intersection([np.zeros(2), np.ones(2)], [P1, P2], [P1, P2])
    np.testing.assert_allclose(P, np.diag([0.8, 0.8]), rtol=1e-9)
    np.testing.assert_allclose(Pi, P, rtol=1e-9)
    np.testing.assert_allclose(x, [0.2, 0.8], atol=1e-9)


def test_kalman_product_values():
    """Independent estimates: P^-1 = P1^-1 + P2^-1, and the independent parts carried by the gains."""
    from warnlink.fusion.ci import kalman_product

    P1, P2 = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    x, P, Pi = kalman_product([np.zeros(2), np.ones(2)], [P1, P2], [P1 / 2, P2 / 2])
    np.testing.assert_allclose(P, np.diag([0.8, 0.8]), rtol=1e-12)
    np.testing.assert_allclose(x, [0.2, 0.8], atol=1e-12)
    np.testing.assert_allclose(Pi, P / 2, rtol=1e-12)
    _, _, Pi = kalman_product([np.zeros(2), np.ones(2)], [P1, P2], [P1, None])  # one independent part unknown
    np.testing.assert_allclose(Pi, np.diag([0.8**2 * 1.0, 0.2**2 * 4.0]), rtol=1e-12)


def test_sci_of_wholly_shared_estimates_is_covariance_intersection():
    """With everything possibly shared (no independent part given), split CI is plain CI."""
    P1, P2 = np.diag([1.0, 9.0]), np.diag([9.0, 1.0])
    x, P, Pi = split_covariance_intersection([np.zeros(2), np.ones(2)], [P1, P2], [None, None])
    _, P_ci, _ = ci_pair(np.zeros(2), P1, np.ones(2), P2)
    np.testing.assert_allclose(P, P_ci, rtol=1e-3)
    np.testing.assert_allclose(Pi, np.zeros((2, 2)), atol=1e-12)


def test_sci_is_consistent_when_the_shared_parts_are_correlated():
    """Errors e_k = d_k + i_k: independent parts i_k, shared parts d_k correlated 0.95.
    The fused covariance bounds the fused error's, and is tighter than plain CI."""
    rng = np.random.default_rng(0)
    Pi1, Pi2 = np.diag([1.0, 3.0]), np.diag([3.0, 1.0])
    Pd1, Pd2 = np.diag([0.5, 0.5]), np.diag([0.8, 0.2])
    cross = 0.95 * np.sqrt(np.outer(np.diag(Pd1), np.diag(Pd2))) * np.eye(2)
    shared = rng.multivariate_normal(np.zeros(4), np.block([[Pd1, cross], [cross.T, Pd2]]), size=20000)
    e1 = shared[:, :2] + rng.multivariate_normal(np.zeros(2), Pi1, size=20000)
    e2 = shared[:, 2:] + rng.multivariate_normal(np.zeros(2), Pi2, size=20000)
    _, Pi, Pd, w = sci_pair(np.zeros(2), Pi1, Pd1, np.zeros(2), Pi2, Pd2)
    A1 = np.linalg.inv(Pd1 / w + Pi1)
    A2 = np.linalg.inv(Pd2 / (1 - w) + Pi2)
    P = Pi + Pd
    fused = (P @ A1 @ e1.T + P @ A2 @ e2.T).T
    assert np.all(np.linalg.eigvalsh(P - np.cov(fused.T)) > -0.02)
    _, P_ci, _ = ci_pair(np.zeros(2), Pi1 + Pd1, np.zeros(2), Pi2 + Pd2)
    assert np.trace(P) < np.trace(P_ci)


def test_split_parts_repairs_an_impossible_independent_part():
    """A partner claiming more independent error than its whole covariance cannot make fusion overconfident."""
    P = np.diag([1.0, 1.0])
    P_ok, Pi, Pd = split_parts(P, np.diag([4.0, -1.0]))
    assert np.all(np.linalg.eigvalsh(Pi) >= -1e-12) and np.all(np.linalg.eigvalsh(Pd) >= -1e-12)
    assert np.all(np.linalg.eigvalsh(P_ok - P) >= -1e-12)  # only ever wider


@pytest.fixture(scope="module")
def flights():
    return [design_flight(39.0, 127.5, 150.0, azimuth_deg=95.0, range_km=700.0),
            design_flight(40.0, 125.0, 900.0, azimuth_deg=80.0, range_km=3000.0)]


def _report(origin, n, flight, t, rng, sigma=150.0, initiated_t=10.0, status="active"):
    r, v = flight.trajectory.state(np.array([t]))
    x = np.concatenate([r[0], v[0]]) + rng.normal(0, [sigma] * 3 + [sigma / 20] * 3)
    P = np.diag([sigma**2] * 3 + [(sigma / 20) ** 2] * 3)
    return TrackReport(origin=origin, track_id=f"{origin}-T{n}", time_ns=EPOCH + round(t * 1e9),
                       state_ecef=x.tolist(), covariance=pack_covariance(P), boost_probability=0.0,
                       initiated_ns=EPOCH + round(initiated_t * 1e9), updates=10, status=status)


def _reports(flights, t, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for k, f in enumerate(flights):
        for j, origin in enumerate(("ROK", "JPN", "USA")):
            out.append(_report(origin, k + 1, f, t + f.trajectory.t_launch, rng, initiated_t=5.0 * j + k))
    return out


def test_same_object_associates_and_two_objects_stay_apart(flights):
    fusion = Fusion("ROK", epoch_ns=EPOCH)
    t = 200.0
    reports = _reports(flights, t)
    for rep in reports:
        fusion.ingest(rep, t)
    # Both flights launched at t = 0 of their trajectories; fuse each at its own time.
    tracks = fusion.fuse(t)
    assert len(tracks) == 2
    for trk in tracks:
        assert trk.nations == ("JPN", "ROK", "USA")
    assert {trk.id for trk in tracks} == {"ST-ROK-T1", "ST-ROK-T2"}


def test_every_node_computes_the_same_system_tracks_whatever_the_order(flights):
    t = 200.0
    reports = _reports(flights, t)
    results = []
    for nation, order in (("ROK", reports), ("JPN", reports[::-1]), ("USA", reports[3:] + reports[:3])):
        fusion = Fusion(nation, epoch_ns=EPOCH)
        for rep in order:
            fusion.ingest(rep, t)
        results.append(fusion.fuse(t))
    for other in results[1:]:
        assert [trk.id for trk in other] == [trk.id for trk in results[0]]
        for a, b in zip(other, results[0]):
            np.testing.assert_array_equal(a.x, b.x)


def test_association_is_held_through_noise_and_breaks_when_states_diverge(flights):
    f = flights[0]
    fusion = Fusion("JPN", epoch_ns=EPOCH)
    rng = np.random.default_rng(1)
    t = 150.0
    for origin in ("ROK", "JPN"):
        fusion.ingest(_report(origin, 1, f, t, rng), t)
    assert len(fusion.fuse(t)) == 1
    # A 5-sigma excursion of one partner: outside the new-association gate, inside the hold gate.
    t += 1.0
    good = _report("ROK", 1, f, t, rng, sigma=1e-6)
    bad = _report("JPN", 1, f, t, rng, sigma=1e-6)
    bad_x = np.array(bad.state_ecef)
    bad_x[0] += 5.0 * np.sqrt(2) * 150.0
    P = np.diag([150.0**2] * 3 + [7.5**2] * 3)
    for rep, x in ((good, good.state_ecef), (bad, bad_x.tolist())):
        fusion.ingest(TrackReport(origin=rep.origin, track_id=rep.track_id, time_ns=rep.time_ns, state_ecef=list(x),
                                  covariance=pack_covariance(P), boost_probability=0.0,
                                  initiated_ns=rep.initiated_ns, updates=11), t)
    assert len(fusion.fuse(t)) == 1
    # Now 30 km apart: clearly two objects.
    t += 1.0
    bad_x[0] += 30e3
    fusion.ingest(TrackReport(origin="JPN", track_id="JPN-T1", time_ns=EPOCH + round(t * 1e9), state_ecef=bad_x.tolist(),
                              covariance=pack_covariance(P), boost_probability=0.0, initiated_ns=bad.initiated_ns,
                              updates=12), t)
    fusion.ingest(_report("ROK", 1, f, t, rng), t)
    tracks = fusion.fuse(t)
    assert len(tracks) == 2


def test_dropped_and_stale_members_leave(flights):
    f = flights[0]
    fusion = Fusion("USA", epoch_ns=EPOCH)
    rng = np.random.default_rng(2)
    t = 120.0
    for origin in ("ROK", "JPN"):
        fusion.ingest(_report(origin, 1, f, t, rng, initiated_t=1.0 if origin == "ROK" else 2.0), t)
    (trk,) = fusion.fuse(t)
    assert trk.id == "ST-ROK-T1" and trk.nations == ("JPN", "ROK")
    fusion.ingest(_report("ROK", 1, f, t, rng, status="dropped"), t + 1)
    fusion.ingest(_report("JPN", 1, f, t + 1, rng, initiated_t=2.0), t + 1)
    (trk,) = fusion.fuse(t + 1)
    # The system track goes on under its name when the nation that founded it drops out.
    assert trk.id == "ST-ROK-T1" and trk.nations == ("JPN",)
    assert fusion.renames == {}
    assert fusion.fuse(t + 1 + 31.0) == []  # nothing reported for longer than the coast time


def test_a_boosting_member_leaves_within_seconds(flights):
    """Held thrust is a guess that burnout breaks: a boosting track not reported for more than
    BOOST_COAST_S leaves its system track while its partner goes on (how long a ballistic
    member stays: the next test)."""
    import msgspec

    from warnlink.fusion.system_tracks import BOOST_COAST_S

    f = flights[0]
    fusion = Fusion("USA", epoch_ns=EPOCH)
    rng = np.random.default_rng(4)
    t = 40.0  # still burning
    assert f.trajectory.thrusting(np.array([t]))[0]
    thrust = np.diff(f.trajectory.state(np.array([t - 0.5, t + 0.5]))[1], axis=0)[0]  # m/s^2, gravity and all
    boosting = msgspec.structs.replace(_report("ROK", 1, f, t, rng), boost_probability=0.9, accel_ecef=thrust.tolist())
    fusion.ingest(boosting, t)
    fusion.ingest(_report("JPN", 1, f, t, rng, initiated_t=2.0), t)
    assert len(fusion.fuse(t)) >= 1
    for step in np.arange(1.0, BOOST_COAST_S + 1.5):  # JPN goes on reporting
        fusion.ingest(_report("JPN", 1, f, t + step, rng, initiated_t=2.0), t + step)
        nations = {n for trk in fusion.fuse(t + step) for n in trk.nations}
        assert nations == ({"JPN", "ROK"} if step <= BOOST_COAST_S else {"JPN"}), step


def test_a_member_in_the_air_leaves_within_seconds(flights):
    """A track in re-entry flown on without plots carries a drag error that grows as fast as the
    drag: a member in the air not reported for more than AIR_COAST_S leaves its system track
    (above the air it stays for COAST_S); the name holds."""
    from warnlink.fusion.system_tracks import AIR_COAST_S, COAST_S

    f = flights[0]
    rng = np.random.default_rng(6)
    # Whole seconds, so that a report's nanosecond time stamp gives back its time exactly.
    low = np.floor(f.trajectory.t_impact - 40.0)  # ~52 km, falling
    for t, coast_s in ((low, AIR_COAST_S), (200.0, COAST_S)):  # and 150 km up
        fusion = Fusion("USA", epoch_ns=EPOCH)
        fusion.ingest(_report("ROK", 1, f, t, rng, sigma=20.0, initiated_t=1.0), t)
        fusion.ingest(_report("JPN", 1, f, t, rng, sigma=20.0, initiated_t=2.0), t)
        assert fusion.fuse(t)[0].nations == ("JPN", "ROK")
        for step in np.arange(1.0, coast_s + 1.5):  # JPN goes on reporting, ROK has lost it
            fusion.ingest(_report("JPN", 1, f, t + step, rng, sigma=20.0, initiated_t=2.0), t + step)
            (trk,) = fusion.fuse(t + step)
            assert trk.id == "ST-ROK-T1"  # the name holds
            assert trk.nations == (("JPN", "ROK") if step <= coast_s else ("JPN",)), (coast_s, step)


def test_a_young_members_thrust_probability_does_not_speak_for_the_system_track(flights):
    """A radar that picks the missile up just after burnout starts its track as burning (its
    prior low down); until MODE_MIN_UPDATES plots stand behind it, the system track takes the
    established members' word, so burnout, and the warnings waiting for it, are not held back.
    Past that, members count by the plots behind them: one undecided partner track ten plots
    old does not outweigh a member forty old that has seen the motor stop."""
    import msgspec

    from warnlink.fusion.system_tracks import MODE_MIN_UPDATES

    f = flights[0]
    t = f.trajectory.t_burnout + 3.0
    rng = np.random.default_rng(5)
    old = msgspec.structs.replace(_report("ROK", 1, f, t, rng), boost_probability=0.1, updates=40)
    young = msgspec.structs.replace(_report("JPN", 1, f, t, rng, initiated_t=t - 2.0), boost_probability=0.9,
                                    updates=3)
    fusion = Fusion("USA", epoch_ns=EPOCH)
    for rep in (old, young):
        fusion.ingest(rep, t)
    (trk,) = fusion.fuse(t)
    assert set(trk.nations) == {"ROK", "JPN"}
    assert trk.boost_probability == pytest.approx(0.1)
    # Once it has enough plots behind it, it counts, by its plots; a track alone counts whatever its age.
    grown = msgspec.structs.replace(young, updates=MODE_MIN_UPDATES)
    fusion.ingest(grown, t)
    (trk,) = fusion.fuse(t)
    assert trk.boost_probability == pytest.approx((40 * 0.1 + MODE_MIN_UPDATES * 0.9) / (40 + MODE_MIN_UPDATES))
    assert trk.boost_probability < BOOSTING
    fusion.ingest(msgspec.structs.replace(young, updates=120), t)
    (trk,) = fusion.fuse(t)
    assert trk.boost_probability == pytest.approx((40 * 0.1 + 120 * 0.9) / 160) and trk.boost_probability > BOOSTING
    alone = Fusion("USA", epoch_ns=EPOCH)
    alone.ingest(young, t)
    assert alone.fuse(t)[0].boost_probability == pytest.approx(0.9)


def test_members_burning_without_doubt_are_fused_as_independent(flights):
    """Two nations' tracks of a burning missile, each declaring half its covariance shared:
    fused by split CI (3P/4 for two equal tracks) unless every member has burnt without
    doubt for STEADY_BURN_S, then by the product (P/2)."""
    import msgspec

    from warnlink.fusion.system_tracks import STEADY_BURN_S

    f = flights[0]
    t = 40.0
    assert f.trajectory.thrusting(np.array([t]))[0]
    P = np.diag([150.0**2] * 3 + [7.5**2] * 3)

    def burning(origin, since_s):
        rep = _report(origin, 1, f, t, np.random.default_rng(1))
        rep = msgspec.structs.replace(rep, state_ecef=_report("ROK", 1, f, t, np.random.default_rng(1)).state_ecef,
                                      boost_probability=0.97, covariance_independent=pack_covariance(P / 2))
        if since_s is not None:
            rep = msgspec.structs.replace(rep, steady_burn_since_ns=rep.time_ns - round(since_s * 1e9))
        return rep

    for rok_s, jpn_s, fused in ((STEADY_BURN_S + 5, STEADY_BURN_S, P / 2), (STEADY_BURN_S + 5, STEADY_BURN_S - 1, 0.75 * P),
                                (STEADY_BURN_S + 5, None, 0.75 * P)):
        fusion = Fusion("USA", epoch_ns=EPOCH)
        fusion.ingest(burning("ROK", rok_s), t)
        fusion.ingest(burning("JPN", jpn_s), t)
        (trk,) = fusion.fuse(t)
        assert trk.nations == ("JPN", "ROK")
        np.testing.assert_allclose(trk.P, fused, rtol=1e-3, err_msg=str((rok_s, jpn_s)))


def test_merging_system_tracks_keeps_the_older_name(flights):
    f = flights[0]
    fusion = Fusion("ROK", epoch_ns=EPOCH)
    rng = np.random.default_rng(4)
    t = 150.0
    # JPN's track arrives first and far off (a bad early state), so it starts its own system track.
    jpn = _report("JPN", 1, f, t, rng, initiated_t=1.0)
    far = np.array(jpn.state_ecef)
    far[1] += 50e3
    fusion.ingest(TrackReport(origin="JPN", track_id="JPN-T1", time_ns=jpn.time_ns, state_ecef=far.tolist(),
                              covariance=jpn.covariance, boost_probability=0.0, initiated_ns=jpn.initiated_ns,
                              updates=3), t)
    fusion.ingest(_report("ROK", 1, f, t, rng, initiated_t=2.0), t)
    assert [trk.id for trk in fusion.fuse(t)] == ["ST-JPN-T1", "ST-ROK-T1"]
    t += 1.0
    for origin, init in (("JPN", 1.0), ("ROK", 2.0)):
        fusion.ingest(_report(origin, 1, f, t, rng, initiated_t=init), t)
    (trk,) = fusion.fuse(t)
    assert trk.id == "ST-JPN-T1"
    assert fusion.renames == {"ST-ROK-T1": "ST-JPN-T1"}


def _split_report(origin, n, flight, t, rng, sigma, initiated_t):
    """A report whose error is all the origin's own (independent part = covariance)."""
    rep = _report(origin, n, flight, t, rng, sigma=sigma, initiated_t=initiated_t)
    return TrackReport(**{f: getattr(rep, f) for f in rep.__struct_fields__ if f != "covariance_independent"},
                       covariance_independent=rep.covariance)


def test_a_lost_track_found_again_keeps_its_name_and_what_was_known(flights):
    """Lost for 90 s, found by a new local track: same name, and the old estimate, flown on,
    fused in while it still helps; a member that went on through the gap brings no prior."""
    f = flights[1]
    fusion = Fusion("JPN", epoch_ns=EPOCH)
    rng = np.random.default_rng(5)
    t = 300.0
    fusion.ingest(_split_report("ROK", 1, f, t, rng, 30.0, 1.0), t)
    (before,) = fusion.fuse(t)
    assert fusion.fuse(t + 40.0) == []  # the local track coasts out: lost
    t += 90.0
    fusion.ingest(_split_report("JPN", 7, f, t, rng, 3000.0, 50.0), t)
    (found,) = fusion.fuse(t)
    assert found.id == before.id and found.prior
    assert np.trace(found.P[:3, :3]) < 0.5 * 3 * 3000.0**2
    r_true = f.trajectory.state(np.array([t]))[0][0]
    assert np.linalg.norm(found.x[:3] - r_true) < 3.0 * np.sqrt(np.trace(found.P[:3, :3]))
    # Once the new track knows far more than the prior, the prior is let go.
    for k in range(1, 4):
        fusion.ingest(_split_report("JPN", 7, f, t + k, rng, 1.0, 50.0), t + k)
        (trk,) = fusion.fuse(t + k)
    assert trk.id == before.id and not trk.prior
    # A member that went on through the gap carries the old information itself: no prior.
    fusion2 = Fusion("JPN", epoch_ns=EPOCH)
    fusion2.ingest(_split_report("ROK", 1, f, 300.0, rng, 30.0, 1.0), 300.0)
    fusion2.fuse(300.0)
    assert fusion2.fuse(340.0) == []
    fusion2.ingest(_split_report("ROK", 1, f, 390.0, rng, 300.0, 1.0), 390.0)
    (again,) = fusion2.fuse(390.0)
    assert again.id == before.id and not again.prior


def test_a_young_track_finding_a_lost_one_keeps_the_prior_but_a_burning_one_brings_none(flights):
    """A new track's thrust probability is its initial guess (0.5 above the air): it must not
    throw away what was known before the gap. A track lost while its motor burnt gives its
    name back, but not its estimate: flown on ballistically it is wrong."""
    import msgspec

    from warnlink.fusion.system_tracks import MODE_MIN_UPDATES

    f = flights[1]
    rng = np.random.default_rng(7)
    for burning_when_lost in (False, True):
        fusion = Fusion("JPN", epoch_ns=EPOCH)
        t = 300.0
        old = msgspec.structs.replace(_split_report("ROK", 1, f, t, rng, 30.0, 1.0),
                                      boost_probability=0.9 if burning_when_lost else 0.0)
        fusion.ingest(old, t)
        (before,) = fusion.fuse(t)
        assert fusion.fuse(t + 40.0) == []
        t += 90.0
        young = msgspec.structs.replace(_split_report("JPN", 7, f, t, rng, 3000.0, 50.0), boost_probability=0.505,
                                        updates=MODE_MIN_UPDATES - 8)
        fusion.ingest(young, t)
        (found,) = fusion.fuse(t)
        assert found.id == before.id
        assert found.prior is not burning_when_lost
    # Once the young track is established and says the motor burns, the prior goes for good.
    fusion = Fusion("JPN", epoch_ns=EPOCH)
    fusion.ingest(_split_report("ROK", 1, f, 300.0, rng, 30.0, 1.0), 300.0)
    fusion.fuse(300.0)
    assert fusion.fuse(340.0) == []
    fusion.ingest(msgspec.structs.replace(_split_report("JPN", 7, f, 390.0, rng, 3000.0, 50.0),
                                          boost_probability=0.9, updates=MODE_MIN_UPDATES), 390.0)
    (found,) = fusion.fuse(390.0)
    assert found.id == before.id and not found.prior


def test_a_member_that_ends_leaves_what_it_knew_in_the_system_track(flights):
    """Japan's precise track ends, Korea's coarse one goes on: the system track keeps Japan's
    estimate, flown on, while it still helps, and lets it go once Korea's knows more. A
    burning member that ends leaves nothing (flown on ballistically it would be wrong)."""
    f = flights[1]
    rng = np.random.default_rng(11)
    t = 300.0
    fusion = Fusion("JPN", epoch_ns=EPOCH)
    fusion.ingest(_split_report("JPN", 1, f, t, rng, 30.0, 1.0), t)
    fusion.ingest(_split_report("ROK", 1, f, t, rng, 3000.0, 2.0), t)
    (both,) = fusion.fuse(t)
    assert both.nations == ("JPN", "ROK")
    dropped = _split_report("JPN", 1, f, t, rng, 30.0, 1.0)
    fusion.ingest(TrackReport(**{fl: getattr(dropped, fl) for fl in dropped.__struct_fields__ if fl != "status"},
                              status="dropped"), t + 1.0)
    fusion.ingest(_split_report("ROK", 1, f, t + 5.0, rng, 3000.0, 2.0), t + 5.0)
    (after,) = fusion.fuse(t + 5.0)
    assert after.id == both.id and after.nations == ("ROK",) and after.prior
    assert np.trace(after.P[:3, :3]) < 0.01 * 3 * 3000.0**2  # Japan's 30 m, flown on 5 s, not Korea's 3 km
    r_true = f.trajectory.state(np.array([t + 5.0]))[0][0]
    assert np.linalg.norm(after.x[:3] - r_true) < 3.0 * np.sqrt(np.trace(after.P[:3, :3]))
    for k in range(1, 4):  # Korea's track now knows far more than Japan's old estimate
        fusion.ingest(_split_report("ROK", 1, f, t + 5.0 + k, rng, 1.0, 2.0), t + 5.0 + k)
        (trk,) = fusion.fuse(t + 5.0 + k)
    assert trk.id == both.id and not trk.prior
    # A burning member that ends leaves nothing behind.
    fusion = Fusion("JPN", epoch_ns=EPOCH)
    burning = _split_report("JPN", 1, f, t, rng, 30.0, 1.0)
    fields = {fl: getattr(burning, fl) for fl in burning.__struct_fields__ if fl not in ("boost_probability", "status")}
    fusion.ingest(TrackReport(**fields, boost_probability=0.9), t)
    fusion.ingest(_split_report("ROK", 1, f, t, rng, 3000.0, 2.0), t)
    assert fusion.fuse(t)[0].nations == ("JPN", "ROK")
    fusion.ingest(TrackReport(**fields, boost_probability=0.9, status="dropped"), t + 1.0)
    fusion.ingest(_split_report("ROK", 1, f, t + 5.0, rng, 3000.0, 2.0), t + 5.0)
    (after,) = fusion.fuse(t + 5.0)
    assert not after.prior and np.trace(after.P[:3, :3]) > 0.5 * 3 * 3000.0**2


def test_a_biased_partner_is_found_out_and_widened_so_the_fusion_stays_consistent(flights):
    """Three nations track one missile; one radar's tracks sit 1 km off (a bias its covariance does not
    know). After a minute the biased member is widened, the others are not, and the fused estimate is
    consistent with its covariance."""
    f = flights[1]
    rng = np.random.default_rng(11)
    fusion = Fusion("JPN", epoch_ns=EPOCH)
    offset = np.array([600.0, -800.0, 0.0])
    nees = []
    for k in range(120):
        t = 200.0 + k
        for origin, n in (("ROK", 1), ("JPN", 2), ("USA", 3)):
            sigma = max(100.0, 2000.0 * 0.9**k)  # young tracks are uncertain: they associate first
            rep = _split_report(origin, n, f, t, rng, sigma, 1.0 + n)
            if origin == "ROK":
                x = np.array(rep.state_ecef)
                x[:3] += offset
                rep = TrackReport(**{**{k_: getattr(rep, k_) for k_ in rep.__struct_fields__}, "state_ecef": x.tolist()})
            fusion.ingest(rep, t)
        (trk,) = fusion.fuse(t)
        assert trk.nations == ("JPN", "ROK", "USA")
        if k >= 60:
            e = trk.x[:3] - f.trajectory.state(np.array([t]))[0][0]
            nees.append(e @ np.linalg.solve(trk.P[:3, :3], e))
    assert fusion.discrepancy.widening(("ROK", "ROK-T1")) is not None
    assert fusion.discrepancy.widening(("JPN", "JPN-T2")) is None
    assert fusion.discrepancy.widening(("USA", "USA-T3")) is None
    assert np.mean(nees) < 3.0 * 2.0  # left alone the 1 km offset gives a NEES in the tens


def test_a_partner_track_in_reentry_is_aligned_with_its_drag_error():
    """A re-entry vehicle with a third of the nominal ballistic coefficient at 6 km, 2 s between its
    report and the fusion: aligned with the drag error it released (40 m/s^2), the state lands within
    a centimetre of the truth; with that error withheld, 74 m off, and the prior spread of a drag error
    covers the miss (NEES 6.0; 11.4 with a spread of half the drag, motion.INV_BETA_RELATIVE_SIGMA).
    With ``a`` taken as 0 and known, as before, the NEES was 73. Released with
    its covariance, the sender's own uncertainty of the drag error replaces the prior spread."""
    from warnlink.fusion.align import align
    from warnlink.physics.dynamics import state_derivative
    from warnlink.tracking.motion import NOMINAL_INV_BETA

    flight = design_flight(39.0, 125.7, 120.0, target_lat_deg=37.3, target_lon_deg=128.3, launch_id="H",
                           reentry_ballistic_coefficient=3500.0)
    tr = flight.trajectory
    t, gap = tr.t_impact - 12.0, 2.0
    r, v = tr.state(t)
    x6 = np.concatenate([r, v])
    h = 0.01
    dv_true = (tr.state(t + h)[1] - tr.state(t - h)[1]) / (2 * h)
    drag_error = dv_true - state_derivative(x6[None], NOMINAL_INV_BETA)[0, 3:6]
    v_hat = v / np.linalg.norm(v)
    assert np.dot(drag_error, v_hat) < -20.0  # tens of m/s^2 more drag than the nominal coefficient says
    P6 = np.diag([25.0] * 3 + [1.0] * 3)
    truth = np.concatenate(tr.state(t + gap))
    rows = np.zeros((3, 9))
    rows[:, 6:9] = np.eye(3) * 2.0**2  # the sender knows its drag error to 2 m/s^2
    nees, spread = {}, {}
    for name, accel, accel_rows in (("released", drag_error, None), ("withheld", np.zeros(3), None),
                                    ("with its covariance", drag_error, rows)):
        x, P = align(x6[None], P6[None], accel[None], np.array([0.0]), np.array([gap]),
                     accel_rows=None if accel_rows is None else accel_rows[None])
        e = x[0, :3] - truth[:3]
        nees[name] = float(e @ np.linalg.solve(P[0, :3, :3], e))
        spread[name] = float(np.sqrt(v_hat @ P[0, :3, :3] @ v_hat))
        if name != "withheld":
            assert np.linalg.norm(e) < 5.0, e
    assert nees["withheld"] < 11.3, nees  # chi-square 3 dof, 99%
    # The sender's own covariance of its drag error, not the prior spread: 2 m/s^2 over 2 s adds
    # 4 m along the path (6 m in all), where the prior spread (0.7 of the ~20 m/s^2 nominal drag)
    # adds 26 m (27 m in all).
    assert spread["with its covariance"] < 10.0 < 20.0 < spread["released"], spread
    assert nees["with its covariance"] < 11.3, nees


def test_a_system_track_in_the_air_knows_its_ballistic_coefficient_from_its_best_member():
    """Two nations' ballistic tracks of a 3,500 kg/m^2 re-entry vehicle at 15 km release their drag
    error with its covariance; the system track takes 1/beta from the better-known one (log of
    10,000 / 3,500 = 1.05), and has none above the air or from a member that still burns."""
    from warnlink.messages import pack_accel_covariance
    from warnlink.physics.dynamics import state_derivative
    from warnlink.tracking.motion import NOMINAL_INV_BETA

    flight = design_flight(39.0, 125.7, 120.0, target_lat_deg=37.3, target_lon_deg=128.3, launch_id="H",
                           reentry_ballistic_coefficient=3500.0)
    tr = flight.trajectory

    def report(origin, t, sigma_a, boost=0.0):
        r, v = tr.state(t)
        x6 = np.concatenate([r, v])
        h = 0.01
        a = (tr.state(t + h)[1] - tr.state(t - h)[1]) / (2 * h) - state_derivative(x6[None], NOMINAL_INV_BETA)[0, 3:6]
        P9 = np.diag([30.0**2] * 3 + [3.0**2] * 3 + [sigma_a**2] * 3)
        return TrackReport(origin=origin, track_id=f"{origin}-T1", time_ns=EPOCH + round(t * 1e9), state_ecef=x6.tolist(),
                           covariance=pack_covariance(P9[:6, :6]), boost_probability=boost, initiated_ns=EPOCH,
                           updates=40, accel_ecef=a.tolist(), accel_covariance=pack_accel_covariance(P9))

    ts = np.arange(tr.t_impact - 60.0, tr.t_impact, 0.5)
    altitude = np.array([np.linalg.norm(tr.state(t)[0]) for t in ts]) - 6_371_000.0
    t = float(ts[np.argmin(np.abs(altitude - 15e3))])
    fusion = Fusion("JPN", epoch_ns=EPOCH)
    for rep in (report("ROK", t, 5.0), report("JPN", t, 2.0)):
        fusion.ingest(rep, t)
    (trk,) = fusion.fuse(t)
    log_ratio, sigma = trk.inv_beta_log_ratio
    assert log_ratio == pytest.approx(np.log(10000.0 / 3500.0), abs=0.03)
    alone = Fusion("JPN", epoch_ns=EPOCH)
    alone.ingest(report("ROK", t, 5.0), t)
    assert sigma < alone.fuse(t)[0].inv_beta_log_ratio[1]  # JPN's 2 m/s^2, not ROK's 5
    burning = Fusion("JPN", epoch_ns=EPOCH)
    burning.ingest(report("ROK", t, 2.0, boost=0.9), t)
    assert burning.fuse(t)[0].inv_beta_log_ratio is None
    high_t = tr.t_launch + flight.boost.burn_time_s + 60.0
    high = Fusion("JPN", epoch_ns=EPOCH)
    high.ingest(report("ROK", high_t, 2.0), high_t)
    assert high.fuse(high_t)[0].inv_beta_log_ratio is None
