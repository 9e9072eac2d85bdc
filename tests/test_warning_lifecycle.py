"""Alert lifecycle: one Alert per crossing, limited Updates, explicit Cancels, no flapping."""

import numpy as np
import pytest
from shapely.geometry import box

from warnlink.warning import AlertManager, Area, Ellipse, LifecycleConfig, TrackPrediction

EEZ = Area(id="JPN-EEZ", nation="JPN", geometry=box(135.0, 35.0, 140.0, 42.0), threshold=0.01,
           warn=("impact", "overflight"), name="Japan EEZ")
KOREA = Area(id="ROK-LAND", nation="ROK", geometry=box(126.0, 34.0, 129.5, 38.5))
SENDER = "warnlink.jpn@example.org"


def manager(**cfg):
    return AlertManager("JPN", [EEZ, KOREA], SENDER, epoch_utc_ns=1_702_859_040 * 10**9,
                        config=LifecycleConfig(**cfg))


def pred(p_impact=0.0, p_over=0.0, track="T1", impact_time_s=400.0, over_time_s=None,
         ended=False, impact_at=(40.0, 137.0)):
    ellipse = Ellipse.from_covariance(np.radians(impact_at[0]), np.radians(impact_at[1]), np.diag([1e8, 1e8]))
    return TrackPrediction(
        track_id=track, impact_probability={"JPN-EEZ": p_impact, "ROK-LAND": 1.0},
        overflight_probability={"JPN-EEZ": p_over}, impact_time_s=impact_time_s,
        impact_time_sigma_s=5.0, overflight_time_s={} if over_time_s is None else {"JPN-EEZ": over_time_s},
        ellipse=ellipse, ended=ended)


def run(m, series, **kw):
    """Feed (t, p_impact) pairs once a second; return all events."""
    events = []
    for t, p in series:
        events += m.step(t, [pred(p, **kw)])
    return events


def impact_events(events):
    return [e for e in events if e.kind == "impact"]


def test_no_alert_while_probability_stays_below_threshold():
    events = run(manager(), [(t, 0.0099 * (t % 2)) for t in range(100)])
    assert events == []


def test_rising_probability_gives_one_alert_with_stable_id():
    m = manager()
    events = run(m, [(t, min(0.002 * t, 0.3)) for t in range(60)])
    alerts = [e for e in events if e.msg_type == "Alert"]
    assert len(alerts) == 1
    a = alerts[0]
    assert a.issued_t_s == 5.0  # the first step with P >= 0.01
    assert a.alert_id == "JPN-JPN-EEZ-impact-T1"
    assert a.references == ()
    assert all(e.alert_id == a.alert_id for e in events)
    assert m.active_alert_ids() == ["JPN-JPN-EEZ-impact-T1"]
    # other nations' areas are not warned by this node
    assert all(e.area_id == "JPN-EEZ" for e in events)


def test_fluctuations_above_threshold_give_limited_updates():
    m = manager()
    events = run(m, [(t, 0.3 + 0.05 * np.sin(t)) for t in range(0, 300)])
    assert [e.msg_type for e in events][0] == "Alert"
    updates = [e for e in events if e.msg_type == "Update"]
    assert len(updates) <= 300 / 60  # only periodic restatements
    assert all("periodic" in u.reason for u in updates)
    assert not any(e.msg_type == "Cancel" for e in events)


def test_large_swings_update_but_never_faster_than_min_interval():
    m = manager()
    events = run(m, [(t, 0.2 if t % 2 else 0.9) for t in range(0, 100)])
    times = [e.issued_t_s for e in events]
    assert len(events) >= 5
    assert np.all(np.diff(times) >= 10.0)
    assert all("probability changed" in e.reason for e in events[1:])


def test_expected_time_shift_updates():
    m = manager()
    events = m.step(0.0, [pred(0.5, impact_time_s=400.0)])
    assert m.step(12.0, [pred(0.5, impact_time_s=420.0)]) == []  # 20 s: not material
    events = m.step(14.0, [pred(0.5, impact_time_s=440.0)])
    assert [e.msg_type for e in events] == ["Update"] and "expected time" in events[0].reason


def test_falling_probability_cancels_after_hysteresis_steps():
    m = manager()
    series = [(t, 0.3) for t in range(10)] + [(t, 0.006) for t in range(10, 20)]  # in the band
    series += [(t, 0.004) for t in range(20, 30)]  # below threshold * 0.5
    events = impact_events(run(m, series))
    # the drop from 0.3 into the band is material (an Update); the Cancel waits for 3 low steps
    assert [e.msg_type for e in events] == ["Alert", "Update", "Cancel"]
    assert events[1].issued_t_s == 10.0 and "0.30 to 0.01" in events[1].reason
    cancel = events[-1]
    assert cancel.issued_t_s == 22.0  # third consecutive step below 0.005
    assert [r.identifier for r in cancel.references] == [e.identifier for e in events[:2]]
    assert [r.sent_utc_ns for r in cancel.references] == [e.issued_utc_ns for e in events[:2]]
    assert "below" in cancel.reason
    assert m.active_alert_ids() == []


def test_interrupted_low_run_does_not_cancel():
    m = manager()
    series = [(0, 0.3), (1, 0.001), (2, 0.001), (3, 0.02), (4, 0.001), (5, 0.001), (6, 0.02)]
    assert [e.msg_type for e in impact_events(run(m, series))] == ["Alert"]


def test_missile_down_elsewhere_cancels_at_once_with_reason():
    m = manager()
    first = m.step(0.0, [pred(0.4, p_over=0.5, over_time_s=300.0)])
    upd = m.step(30.0, [pred(0.8)])
    events = m.step(400.0, [pred(0.8, ended=True, impact_at=(44.0, 131.0))])
    assert sorted(e.msg_type for e in events) == ["Cancel", "Cancel"]
    cancel = next(e for e in events if e.kind == "impact")
    assert "come down" in cancel.reason and "outside" in cancel.reason and "44.00N 131.00E" in cancel.reason
    impact_msgs = [e for e in first + upd if e.kind == "impact"]
    assert [r.identifier for r in cancel.references] == [e.identifier for e in impact_msgs]
    # the track is over: nothing more for it, even if it keeps being reported
    assert m.step(401.0, [pred(0.9)]) == []
    assert m.step(500.0, [pred(0.9)]) == []


def test_missile_down_inside_area_says_inside():
    m = manager()
    m.step(0.0, [pred(0.9)])
    (cancel,) = impact_events(m.step(300.0, [pred(1.0, ended=True, impact_at=(40.0, 137.0))]))
    assert "inside" in cancel.reason


def test_overflight_cancelled_when_missile_has_passed():
    m = manager()
    events = []
    for t in range(0, 200):
        p_over = 0.9 if t < 150 else 0.0
        events += [e for e in m.step(float(t), [pred(0.0, p_over=p_over, over_time_s=140.0)])
                   if e.kind == "overflight"]
    assert events[0].msg_type == "Alert"
    cancel = events[-1]
    assert cancel.msg_type == "Cancel" and cancel.issued_t_s == 150.0 and "passed" in cancel.reason


def test_lost_track_is_cancelled_not_dropped_silently():
    m = manager()
    m.step(0.0, [pred(0.5)])
    events = []
    for t in range(1, 6):
        events += m.step(float(t), [])
    assert [e.msg_type for e in events] == ["Cancel"]
    assert "no longer reported" in events[0].reason


def test_no_flapping_realert_only_after_hold_and_new_crossing():
    m = manager(rearm_hold_s=30.0)
    series = [(t, 0.3) for t in range(5)] + [(t, 0.0) for t in range(5, 10)]  # cancel at t=7
    series += [(t, 0.3) for t in range(10, 60)]  # back up during the hold
    events = impact_events(run(m, series))
    assert [e.msg_type for e in events] == ["Alert", "Cancel", "Alert"]
    assert events[1].issued_t_s == 7.0
    assert events[2].issued_t_s == 37.0  # 30 s after the Cancel
    assert events[2].references == ()  # a new thread
    assert events[2].alert_id == events[0].alert_id
    assert len({e.identifier for e in events}) == 3


def test_identifiers_unique_and_tracks_separate():
    m = manager()
    events = []
    for t in range(0, 200):
        p = 0.2 + 0.7 * (t % 40 < 20)
        events += m.step(float(t), [pred(p, track="T1"), pred(0.05, track="T2")])
    ids = [e.identifier for e in events]
    assert len(ids) == len(set(ids))
    assert {e.alert_id for e in events} == {"JPN-JPN-EEZ-impact-T1", "JPN-JPN-EEZ-impact-T2"}


def test_expected_time_in_utc():
    m = manager()
    (alert,) = m.step(10.0, [pred(0.5, impact_time_s=400.0)])
    assert alert.issued_utc_ns == 1_702_859_040 * 10**9 + 10 * 10**9
    assert alert.expected_time_utc_ns == 1_702_859_040 * 10**9 + 400 * 10**9


def test_sender_must_be_cap_safe():
    with pytest.raises(ValueError):
        AlertManager("JPN", [EEZ], "bad sender,id")


def test_assess_track_feeds_the_manager_end_to_end():
    from warnlink.warning import assess_track, lateral_sigma_profile_m

    # a missile from the Korean peninsula eastward over northern Japan, impact in the Pacific
    t = np.linspace(300.0, 1300.0, 201)
    g_lat = np.radians(np.linspace(40.0, 40.5, 201))
    g_lon = np.radians(np.linspace(128.0, 150.0, 201))
    land = Area(id="JPN-N", nation="JPN", geometry=box(139.5, 38.5, 142.0, 41.6),
                warn=("impact", "overflight"), name="northern Japan")
    sea = Area(id="JPN-PAC", nation="JPN", geometry=box(148.0, 38.0, 153.0, 43.0), name="Pacific EEZ")
    cov = np.diag([20e3**2, 10e3**2])
    sigma = lateral_sigma_profile_m(g_lat, g_lon, cov)
    assert sigma[0] == 0.0 and sigma[-1] == pytest.approx(10e3, rel=0.05)  # heading ~east: cross = north
    pred = assess_track("T9", [land, sea], g_lat[-1], g_lon[-1], cov, 1300.0, 6.0, g_lat, g_lon, t)
    assert pred.impact_probability["JPN-PAC"] > 0.99
    assert pred.impact_probability["JPN-N"] == 0.0
    assert pred.overflight_probability["JPN-N"] == 1.0
    entry_s = 300.0 + 1000.0 * (139.5 - 128.0) / 22.0  # the mean track enters at 139.5E
    assert pred.overflight_time_s["JPN-N"] == pytest.approx(entry_s, abs=10.0)
    m = AlertManager("JPN", [land, sea], SENDER)
    events = m.step(300.0, [pred])
    assert sorted((e.area_id, e.kind, e.msg_type) for e in events) == [
        ("JPN-N", "overflight", "Alert"), ("JPN-PAC", "impact", "Alert")]


def test_bad_probabilities_are_sanitised_not_fatal():
    m = manager()
    assert m.step(0.0, [pred(float("nan"))]) == []
    (alert,) = impact_events(m.step(1.0, [pred(1.7)]))
    assert alert.probability == 1.0
