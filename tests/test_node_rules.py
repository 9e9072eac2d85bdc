"""A node's own rules between the picture and the warnings: when a missile has burnt out,
and when an overflight is over. Each found wanting in a Monte Carlo run of a public launch."""

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
