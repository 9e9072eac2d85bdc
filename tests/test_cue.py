"""A new track started from the shared picture's cue, and the drag error a track picked up in the air is given."""

from types import SimpleNamespace as NS

import numpy as np
import pytest
from scipy.stats import chi2

from warnlink import frames
from warnlink.scenario.flight import design_flight
from warnlink.tracking import imm, motion
from warnlink.tracking.cue import CUE_FLOOR, PictureCue
from warnlink.tracking.tracker import DRAG_PRIOR_AGAIN_AT_UPDATES, GATE_CHI2_3DOF, LocalTracker

SITE_LAT, SITE_LON, SITE_ALT = np.radians(36.9), np.radians(127.5), 150.0
SIGMA = np.array([30.0, 1e-3, 1e-3])
DEFAULT = np.array([imm.INITIAL_MU_LOW])
EPOCH_NS = 1_700_000_000 * 10**9


def _cue(positions, boost, t=0.0, velocities=None, sigma_m=100.0):
    positions = np.atleast_2d(np.asarray(positions, float))
    n = len(positions)
    velocities = np.zeros((n, 3)) if velocities is None else np.atleast_2d(np.asarray(velocities, float))
    return PictureCue(t, positions, velocities, np.tile(np.eye(3) * sigma_m**2, (n, 1, 1)), np.asarray(boost, float))


def test_a_plot_inside_a_picture_tracks_gate_starts_with_its_motor_state():
    r0 = np.array([[-3.0e6, 4.0e6, 3.8e6]])
    cov = np.eye(3)[None] * 200.0**2
    cue = _cue([r0[0], r0[0] + [50e3, 0, 0], r0[0] + [0, 0, 50e3]], [0.001, 0.98, 0.7])
    mu = cue.start_mu(r0 + [100.0, 0, 0], cov, 0.0, GATE_CHI2_3DOF, DEFAULT)
    assert mu[0] == pytest.approx([1 - CUE_FLOOR, CUE_FLOOR, 0.0])  # the nearer, coasting, kept off certainty
    mu = cue.start_mu(r0 + [50e3 + 100.0, 0, 0], cov, 0.0, GATE_CHI2_3DOF, DEFAULT)
    assert mu[0] == pytest.approx([CUE_FLOOR, 1 - CUE_FLOOR, 0.0])  # burning, off certainty too
    mu = cue.start_mu(r0 + [0, 0, 50e3 - 100.0], cov, 0.0, GATE_CHI2_3DOF, DEFAULT)
    assert mu[0] == pytest.approx([0.3, 0.7, 0.0])  # the picture's own odds in between
    far = cue.start_mu(r0 + [0, 20e3, 0], cov, 0.0, GATE_CHI2_3DOF, DEFAULT)
    assert far[0] == pytest.approx(DEFAULT[0])  # no picture track there: the default start
    assert _cue(np.zeros((0, 3)), []).start_mu(r0, cov, 0.0, GATE_CHI2_3DOF, DEFAULT)[0] == pytest.approx(DEFAULT[0])


def test_the_picture_is_flown_on_to_the_plots_time():
    r0 = np.array([-3.0e6, 4.0e6, 3.8e6])
    v = np.array([2000.0, -1000.0, 500.0])
    cov = np.eye(3)[None] * 200.0**2
    cue = _cue(r0, [0.0], t=10.0, velocities=v)
    moved = cue.start_mu((r0 + 0.8 * v)[None], cov, 10.8, GATE_CHI2_3DOF, DEFAULT)
    assert moved[0, imm.BALLISTIC] == pytest.approx(1 - CUE_FLOOR)
    stayed = cue.start_mu(r0[None], cov, 10.8, GATE_CHI2_3DOF, DEFAULT)  # 1.8 km behind
    assert stayed[0] == pytest.approx(DEFAULT[0])


# A depressed SRBM whose body drags 1.7 times the filters' nominal (beta 6,000 against 10,000 kg/m^2),
# first seen by the radar 15 s after its burnout, below 100 km.
@pytest.fixture(scope="module")
def depressed():
    return design_flight(39.0, 125.7, 50.0, azimuth_deg=100.0, range_km=420.0, reentry_ballistic_coefficient=6000.0)


def _scan(t, z):
    return NS(sensor_id="R1", time_ns=int(round(t * 1e9)), site_lat_rad=SITE_LAT, site_lon_rad=SITE_LON,
              site_alt_m=SITE_ALT, sigma_range_m=SIGMA[0], sigma_azimuth_rad=SIGMA[1], sigma_elevation_rad=SIGMA[2],
              plots=[NS(range_m=z[0], azimuth_rad=z[1], elevation_rad=z[2])])


def _pickup(flight, seed, prior=True, monkeypatch=None):
    """Velocity NEES (3 dof) at each of the first 25 s after a radar's pickup of the missile
    15 s after burnout, cued by partners that hold it, and the track's first probability of a
    burning motor."""
    tr = flight.trajectory
    rng = np.random.default_rng(seed)
    rot = frames.enu_rotation(SITE_LAT, SITE_LON)
    site = frames.geodetic_to_ecef(SITE_LAT, SITE_LON, SITE_ALT)
    tracker = LocalTracker("JPN", 0)
    if not prior:
        monkeypatch.setattr(tracker, "_give_drag_error_prior", lambda i: None)
    start = tr.t_burnout + 15.0
    r_start, _ = tr.state(start)
    assert frames.ecef_to_geodetic(r_start)[2] < imm.LOW_ALTITUDE_M
    first_boost, nees = None, []
    for t in np.arange(start, start + 28.0, 1.0):
        r, v = tr.state(t)
        r_prev, v_prev = tr.state(t - 1.0)  # the partners' picture a second earlier: coasting, known to 200 m
        tracker.picture_cue = _cue(r_prev + rng.normal(size=3) * 200.0, [0.002], t - 1.0, v_prev, 200.0)
        az, el, rg = frames.enu_to_aer(rot @ (r - site))
        tracker.process_radar(_scan(t, np.array([rg, az, el]) + rng.normal(size=3) * SIGMA))
        if first_boost is None:
            first_boost = float(imm.boost_probability(tracker.mu[0]))
        estimates = tracker.estimates()
        if estimates:
            _, x, P, _ = estimates[0]
            e = x[3:6] - v
            nees.append(float(e @ np.linalg.solve(P[3:6, 3:6], e)))
    return np.array(nees[:25]), first_boost


def test_a_coasting_missile_picked_up_after_burnout_and_cued_is_consistent_from_its_first_seconds(depressed):
    runs = [_pickup(depressed, seed) for seed in range(12)]
    assert all(boost == pytest.approx(CUE_FLOOR) for _, boost in runs)
    mean = np.mean([nees for nees, _ in runs], axis=0)
    upper = chi2.ppf(0.995, 3 * len(runs)) / len(runs)
    assert mean.max() < upper, mean.round(2)
    assert 1.5 < np.mean(mean) < 4.5, mean.round(2)  # nor held wider than its errors


def test_without_the_drag_error_prior_a_coasting_start_is_overconfident(depressed, monkeypatch):
    """What the drag error's prior (at confirmation and at the tenth plot) is for: without it
    the same start's velocity NEES leaves its band (the test above would fail)."""
    runs = [_pickup(depressed, seed, prior=False, monkeypatch=monkeypatch) for seed in range(12)]
    mean = np.mean([nees for nees, _ in runs], axis=0)
    assert mean.max() > chi2.ppf(0.995, 3 * len(runs)) / len(runs), mean.round(2)


def _drag_spread_and_prior(tracker):
    """Track 0's ballistic drag-error variance along its velocity, and the prior's."""
    x_b = tracker.x[0, imm.BALLISTIC]
    v_hat = x_b[3:6] / np.linalg.norm(x_b[3:6])
    return v_hat @ tracker.P[0, imm.BALLISTIC, 6:9, 6:9] @ v_hat, v_hat @ motion.drag_error_prior(x_b[None])[0] @ v_hat


def test_confirmation_and_the_tenth_plot_give_the_ballistic_model_the_drag_error_prior(depressed):
    tr = depressed.trajectory
    rot = frames.enu_rotation(SITE_LAT, SITE_LON)
    site = frames.geodetic_to_ecef(SITE_LAT, SITE_LON, SITE_ALT)
    tracker = LocalTracker("JPN", 0)
    start = tr.t_burnout + 15.0
    spreads = {}
    for k, t in enumerate(np.arange(start, start + DRAG_PRIOR_AGAIN_AT_UPDATES, 1.0), start=1):
        r, v = tr.state(t)
        tracker.picture_cue = _cue(r, [0.0], t, v)
        az, el, rg = frames.enu_to_aer(rot @ (r - site))
        tracker.process_radar(_scan(t, np.array([rg, az, el])))
        if k < 3:
            continue
        spreads[k] = _drag_spread_and_prior(tracker)
        if k == 3:
            assert tracker.confirmed() == [0]
            assert np.allclose(tracker.Pi[0, imm.BALLISTIC, 6:9, 6:9], 0.0)  # a prior is no plot of the nation's
    for k in (3, DRAG_PRIOR_AGAIN_AT_UPDATES):
        along, prior = spreads[k]
        assert prior > 0.0 and along >= 0.99 * prior, k
    along, prior = spreads[DRAG_PRIOR_AGAIN_AT_UPDATES - 1]
    assert along < prior  # in between, the plots measure the drag error


def _node(tmp_path):
    from warnlink.exchange.envelope import Sealer, Verifier
    from warnlink.exchange.signing import KeyRing, NodeKey
    from warnlink.node import Node

    key = NodeKey.generate("JPN")
    ring = KeyRing()
    ring.add("JPN", key.public_bytes())
    return Node("JPN", partners=["ROK"], areas=[], epoch_ns=EPOCH_NS, sealer=Sealer(key),
                verifier=Verifier(ring, me="JPN"), out_dir=tmp_path)


@pytest.mark.parametrize("partner_has_it", [True, False])
def test_a_node_starts_its_pickup_of_a_missile_its_partner_holds_coasting_as_coasting(depressed, tmp_path,
                                                                                      partner_has_it):
    """The node's picture (here one partner's track of the missile, burnt out) cues its tracker's
    next new track; with nothing in the picture the same plot starts as a burning motor."""
    from warnlink.messages import RadarPlot, RadarReport, TrackReport, pack_covariance

    tr = depressed.trajectory
    t = float(round(tr.t_burnout + 15.0))
    node = _node(tmp_path / str(partner_has_it))
    if partner_has_it:
        r, v = tr.state(t - 1.0)
        node.fusion.ingest(TrackReport(
            origin="ROK", track_id="ROK-T1", time_ns=EPOCH_NS + round((t - 1.0) * 1e9), state_ecef=[*r, *v],
            covariance=pack_covariance(np.diag([200.0**2] * 3 + [20.0**2] * 3)), boost_probability=0.002,
            initiated_ns=EPOCH_NS, updates=60), t - 1.0)
    node.fuse(t - 1.0)
    r, _ = tr.state(t)
    site = frames.geodetic_to_ecef(SITE_LAT, SITE_LON, SITE_ALT)
    az, el, rg = frames.enu_to_aer(frames.enu_rotation(SITE_LAT, SITE_LON) @ (r - site))
    time_ns = EPOCH_NS + round(t * 1e9)
    node.sense(RadarReport(sensor_id="JPN-R1", nation="JPN", time_ns=time_ns, report_time_ns=time_ns,
                           site_ecef_m=list(site), site_lat_rad=SITE_LAT, site_lon_rad=SITE_LON, site_alt_m=SITE_ALT,
                           sigma_range_m=SIGMA[0], sigma_azimuth_rad=SIGMA[1], sigma_elevation_rad=SIGMA[2],
                           plots=[RadarPlot(range_m=rg, azimuth_rad=az, elevation_rad=el)]))
    node.close()
    assert len(node.tracker.meta) == 1
    expected = CUE_FLOOR if partner_has_it else imm.INITIAL_MU_LOW[imm.BOOST]
    assert imm.boost_probability(node.tracker.mu[0]) == pytest.approx(expected)
