"""A node's own rules between the picture and the warnings: when a missile has burnt out,
and when an overflight is over. Each found wanting in a Monte Carlo run of a public launch."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from shapely.geometry import box

from warnlink import frames
from warnlink.node import Node, NodeConfig, _TrackState
from warnlink.warning import Area

CONFIG = NodeConfig()


def _node():
    return SimpleNamespace(config=CONFIG, areas=[Area(id="ISLAND", nation="JPN", geometry=box(139.0, 38.0, 141.0, 41.0),
                                                      warn=("impact", "overflight"))])


def _track(boost_probability, speed_mps):
    r = frames.geodetic_to_ecef(np.radians(40.0), np.radians(128.0), 80e3)
    v = np.array([0.0, 0.0, 1.0]) * speed_mps
    return SimpleNamespace(boost_probability=boost_probability, x=np.concatenate([r, v]))


def _follow(boost_by_second, first_t_s=100.0):
    state = _TrackState(first_t_s=first_t_s)
    confirmed = []
    for k, p in enumerate(boost_by_second):
        t = first_t_s + k
        Node._follow_burnout(_node(), _track(p, 2000.0), state, t)
        if state.just_burnt_out:
            confirmed.append(t)
            state.just_burnt_out = False
    return confirmed


def test_a_new_track_that_looks_unpowered_at_first_is_not_burnt_out():
    """A track's IMM starts at even odds; below them for its first six seconds is not a burnout."""
    assert _follow([0.49, 0.49, 0.44, 0.29, 0.22, 0.18, 0.23, 0.99, 0.99, 0.98]) == []


def test_a_held_track_that_stays_unpowered_is_burnt_out_after_the_confirmation_time():
    boost = [0.99] * 10 + [0.1] * 10
    assert _follow(boost) == [100.0 + 10 + CONFIG.burnout_confirm_s]
    # ... and a track first seen coasting (picked up in midcourse) once it is held that long.
    assert _follow([0.4] + [0.05] * 20) == [100.0 + 2 * CONFIG.burnout_confirm_s]


def test_a_burnout_confirmed_mid_boost_is_taken_back_when_the_track_gains_energy_again():
    """A weak stage's thrust can look like a coast to the filter for six seconds (demo seed 18: the
    oracle warned Japan's EEZ 17 s before M1's real burnout, on an instantaneous impact point
    190 km short). Seen burning again and gaining energy, the burnout is revoked with what was
    predicted from it; a coasting track's energy wobble revokes nothing."""
    state = _TrackState(first_t_s=100.0)
    node = _node()
    for k in range(20):
        Node._follow_burnout(node, _track(0.99 if k < 2 else 0.1, 2000.0), state, 100.0 + k)
    assert state.burnout_ecef is not None
    state.last_prediction = object()
    speed = 2000.0
    for k in range(20, 40):  # the motor burns again: 60 m/s^2 more speed every second
        speed += 60.0
        Node._follow_burnout(node, _track(0.95, speed), state, 100.0 + k)
    assert state.burnout_ecef is None and state.last_prediction is None
    # A coasting track (burnout confirmed, boost probability flickering, no energy gained) keeps it.
    steady = _TrackState(first_t_s=100.0)
    for k in range(40):
        Node._follow_burnout(node, _track(0.99 if k < 2 or k in (25, 26) else 0.1, 2000.0), steady, 100.0 + k)
    assert steady.burnout_ecef is not None


def test_an_overflight_ends_when_the_ground_track_leaves_the_area_even_between_samples():
    """At 3 km/s an IRBM crosses a 170 km wide island in under a minute: no 60 s sample need fall on it."""
    lon = np.radians(np.array([136.0, 138.5, 141.5, 144.0]))  # samples at 60 s either side of the island
    lat = np.radians(np.full(4, 40.0))
    pred = SimpleNamespace(ground_track_lon_rad=lon, ground_track_lat_rad=lat, ground_track_t_s=np.array([100.0, 160.0, 220.0, 280.0]))
    assert Node._overflight_exits(_node(), pred) == {"ISLAND": 220.0 + CONFIG.overflight_exit_margin_s}
    pred.ground_track_lat_rad = np.radians(np.full(4, 45.0))  # passes north of it
    assert Node._overflight_exits(_node(), pred) == {}


def test_a_node_counts_audits_and_reports_its_own_diverged_track(tmp_path):
    """When its tracker drops a diverged track (see tests/test_tracker.py), the node counts it,
    writes a ``diverged`` audit record with the reason and tells its partners the track is
    dropped; a partner opens that report like any other. A run's metrics.json carries the
    count per node (tests/test_run_e2e.py)."""
    import json
    import time

    from warnlink.exchange.envelope import Sealer, Verifier
    from warnlink.exchange.signing import KeyRing, NodeKey
    from warnlink.messages import TrackReport
    from warnlink.scenario.loader import load_scenario
    from warnlink.scenario.sensors import simulate_sensors
    from warnlink.scenario.world import build_world
    from warnlink.tracking import imm

    scenario = load_scenario(Path(__file__).parent / "scenarios" / "short_srbm.toml")
    world = build_world(scenario, 1)
    radars = [s for s in scenario.config.sensors if s.nation == "ROK" and s.type == "radar"]
    run = simulate_sensors(radars, world.trajectories, 80.0, scenario.epoch_ns, 1)
    keys = {n: NodeKey.generate(n) for n in ("ROK", "JPN")}
    ring = KeyRing()
    for n, key in keys.items():
        ring.add(n, key.public_bytes())
    node = Node("ROK", partners=["JPN"], areas=scenario.areas, epoch_ns=scenario.epoch_ns,
                sealer=Sealer(keys["ROK"]), verifier=Verifier(ring, me="ROK"), out_dir=tmp_path)
    partner = Verifier(ring, me="JPN")
    reports = iter(run.reports)
    pending = next(reports)
    t = 0.0
    while not node.tracker.estimates() and t < 80.0:
        t += 1.0
        while pending is not None and pending.report_time_ns <= scenario.epoch_ns + t * 1e9:
            node.sense(pending)
            pending = next(reports, None)
        node.outgoing(t)
    (victim, *_), = node.tracker.estimates()
    (held,) = node.tracker.confirmed()  # its row: tentative tracks on false plots may sit before it
    node.tracker.x[held, imm.BOOST, 6:9] = [1e14, 0.0, 0.0]
    with np.errstate(over="ignore", invalid="ignore"):
        sent = node.outgoing(t + 1.0)
    node.close()
    assert node.counters.diverged_tracks == 1
    records = [json.loads(line) for line in (tmp_path / "audit" / "ROK.audit.jsonl").read_text().splitlines()]
    diverged = [r for r in records if r["event"] == "diverged"]
    assert [r["track"] for r in diverged] == [victim]
    assert "beyond" in diverged[0]["reason"] or "not finite" in diverged[0]["reason"]
    opened = [partner.open(o.subject, o.data, time.time_ns()).body for o in sent]
    dropped = [b for b in opened if isinstance(b, TrackReport) and b.track_id == victim]
    assert [b.status for b in dropped] == ["dropped"]
