"""Alert lifecycle: from per-step threat probabilities to Alert / Update / Cancel events.

One AlertManager per national node warns that nation's own areas. Each (track, area, kind)
is an alert thread with a stable id ``{nation}-{area}-{kind}-{track}``:

* Alert   when P >= area.threshold (at once: warnings are time-critical).
* Update  while active, when P moved by > ``update_probability_delta`` or the expected
          time by > ``update_time_delta_s``, or ``refresh_s`` passed since the last message;
          never sooner than ``min_update_interval_s`` after the previous message.
* Cancel  always explicit, referencing every earlier message of the thread, when
          - P < threshold * ``hysteresis`` for ``cancel_steps`` consecutive steps
            (a track that stops being predicted counts as P = 0), or
          - the missile has come down (track ended), or
          - overflight only: P < threshold * hysteresis after the expected overflight time,
            i.e. the missile has passed the area.
No flapping: after a Cancel for low probability the thread is re-armed, and a new Alert is
issued only when P is again >= threshold at least ``rearm_hold_s`` after the Cancel. After
a Cancel because the missile came down, the thread is closed for good.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from warnlink.warning.areas import Area
from warnlink.warning.geo import Ellipse
from warnlink.warning.probability import truth_impact_in_area

ALERT, UPDATE, CANCEL = "Alert", "Update", "Cancel"
log = logging.getLogger(__name__)


@dataclass
class TrackPrediction:
    """What the warning stage needs from one system track's latest prediction."""

    track_id: str
    impact_probability: dict[str, float] = field(default_factory=dict)  # area id -> P
    overflight_probability: dict[str, float] = field(default_factory=dict)  # area id -> P
    impact_time_s: float | None = None  # expected impact, scenario s
    impact_time_sigma_s: float = 0.0
    overflight_time_s: dict[str, float] = field(default_factory=dict)  # area id -> first entry, s
    ellipse: Ellipse | None = None  # impact ellipse (its centre is the predicted impact point)
    ended: bool = False  # the missile has come down / the flight is over


@dataclass(frozen=True)
class MessageRef:
    """An earlier message, as CAP ``references`` name it: sender, identifier, sent."""

    sender: str
    identifier: str
    sent_utc_ns: int


@dataclass(frozen=True)
class AlertEvent:
    """One warning message: the decision and everything a CAP message or a UI needs."""

    identifier: str  # unique per message
    alert_id: str  # stable per (nation, area, kind, track)
    msg_type: str  # Alert | Update | Cancel
    sender: str
    nation: str
    area_id: str
    area_name: str
    kind: str  # impact | overflight
    track_id: str
    probability: float
    threshold: float
    issued_t_s: float
    issued_utc_ns: int
    expected_time_s: float | None
    expected_time_utc_ns: int | None
    expected_time_sigma_s: float
    ellipse: Ellipse | None
    reason: str
    references: tuple[MessageRef, ...] = ()
    area: Area | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class LifecycleConfig:
    hysteresis: float = 0.5  # cancel below threshold * hysteresis ...
    cancel_steps: int = 3  # ... for this many consecutive steps
    update_probability_delta: float = 0.1
    update_time_delta_s: float = 30.0
    refresh_s: float = 60.0  # an active alert is restated at least this often
    min_update_interval_s: float = 10.0  # and never more often than this
    rearm_hold_s: float = 30.0  # no new Alert sooner than this after a Cancel


@dataclass
class _Thread:
    active: bool = False
    closed: bool = False
    messages: list[MessageRef] = field(default_factory=list)
    last_issue_t_s: float = float("-inf")
    last_probability: float = 0.0
    last_expected_s: float | None = None
    below_steps: int = 0
    cancelled_t_s: float = float("-inf")
    serial: int = 0


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def alert_id_for(nation: str, area_id: str, kind: str, track_id: str) -> str:
    """The stable id of an alert thread; characters other than letters, digits, '.', '_'
    and '-' become '_' so that it is safe in CAP identifiers and file names."""
    return _UNSAFE.sub("_", f"{nation}-{area_id}-{kind}-{track_id}")


class AlertManager:
    """Decides, step by step, the warnings one nation issues for its own areas."""

    def __init__(self, nation: str, areas: Iterable[Area], sender_id: str,
                 epoch_utc_ns: int = 0, config: LifecycleConfig | None = None) -> None:
        if not sender_id or re.search(r"[\s,<&]", sender_id):
            raise ValueError(f"sender_id {sender_id!r}: CAP wants it non-empty, "
                             "without spaces, ',', '<' or '&'")
        self.nation = nation
        self.sender_id = sender_id
        self.epoch_utc_ns = int(epoch_utc_ns)
        self.config = config or LifecycleConfig()
        self.areas = [a for a in areas if a.nation == nation]
        self._threads: dict[tuple[str, str, str], _Thread] = {}
        self._ended_tracks: set[str] = set()

    def step(self, t_s: float, predictions: Iterable[TrackPrediction],
             utc_ns: int | None = None) -> list[AlertEvent]:
        """Feed the latest prediction of every system track at scenario time ``t_s``."""
        now_ns = self.epoch_utc_ns + round(t_s * 1e9) if utc_ns is None else int(utc_ns)
        events: list[AlertEvent] = []
        seen: set[tuple[str, str, str]] = set()
        for pred in predictions:
            if pred.track_id in self._ended_tracks:
                continue
            for area in self.areas:
                for kind in area.warn:
                    key = (pred.track_id, area.id, kind)
                    seen.add(key)
                    event = self._decide(key, area, kind, pred, t_s, now_ns)
                    if event is not None:
                        events.append(event)
            if pred.ended:
                self._ended_tracks.add(pred.track_id)
        for key, thread in self._threads.items():  # tracks no longer predicted: P = 0
            if key not in seen and thread.active:
                area = next(a for a in self.areas if a.id == key[1])
                event = self._decide(key, area, key[2], TrackPrediction(track_id=key[0]), t_s,
                                     now_ns, missing=True)
                if event is not None:
                    events.append(event)
        return events

    def active_alert_ids(self) -> list[str]:
        """Ids of the alert threads that are active now."""
        return sorted(alert_id_for(self.nation, k[1], k[2], k[0])
                      for k, th in self._threads.items() if th.active)

    # -- decisions -------------------------------------------------------------------------

    def _decide(self, key, area: Area, kind: str, pred: TrackPrediction, t_s: float,
                now_ns: int, missing: bool = False) -> AlertEvent | None:
        cfg = self.config
        thread = self._threads.setdefault(key, _Thread())
        if thread.closed:
            return None
        probs = pred.impact_probability if kind == "impact" else pred.overflight_probability
        p = float(probs.get(area.id, 0.0))
        if not math.isfinite(p) or not 0.0 <= p <= 1.0:
            fixed = min(max(p, 0.0), 1.0) if math.isfinite(p) else 0.0
            log.warning("track %s area %s %s: probability %r is not in [0, 1]; taken as %s",
                        key[0], area.id, kind, p, fixed)
            p = fixed
        expected_s = pred.impact_time_s if kind == "impact" else pred.overflight_time_s.get(area.id)
        emit = lambda msg_type, reason: self._emit(  # noqa: E731
            thread, key, area, kind, pred, msg_type, p, expected_s, reason, t_s, now_ns)

        if pred.ended:
            thread.closed = True
            if thread.active:
                return emit(CANCEL, self._ended_reason(area, kind, pred))
            return None
        if not thread.active:
            if p >= area.threshold and t_s - thread.cancelled_t_s >= cfg.rearm_hold_s:
                return emit(ALERT, f"probability {p:.2f} reached the alert threshold "
                                   f"{area.threshold:.2f}")
            return None

        low = area.threshold * cfg.hysteresis
        if p < low:
            passed = (kind == "overflight" and not missing and thread.last_expected_s is not None
                      and t_s > thread.last_expected_s)
            if passed:
                return emit(CANCEL, "the missile has passed the area; the overflight threat has ended")
            thread.below_steps += 1
            if thread.below_steps >= cfg.cancel_steps:
                why = ("the track is no longer reported" if missing else
                       f"probability {p:.3f} stayed below {low:.3f} for {thread.below_steps} steps")
                return emit(CANCEL, f"threat no longer likely: {why}")
            return None
        thread.below_steps = 0
        since_s = t_s - thread.last_issue_t_s
        if since_s < cfg.min_update_interval_s:
            return None
        changes = []
        if abs(p - thread.last_probability) > cfg.update_probability_delta:
            changes.append(f"probability changed from {thread.last_probability:.2f} to {p:.2f}")
        if (expected_s is not None and thread.last_expected_s is not None
                and abs(expected_s - thread.last_expected_s) > cfg.update_time_delta_s):
            changes.append(f"expected time moved by {expected_s - thread.last_expected_s:+.0f} s")
        if not changes and since_s >= cfg.refresh_s:
            changes.append("periodic restatement of an active alert")
        return emit(UPDATE, "; ".join(changes)) if changes else None

    def _ended_reason(self, area: Area, kind: str, pred: TrackPrediction) -> str:
        if pred.ellipse is None:
            return "the missile has come down; the threat has ended"
        lat, lon = pred.ellipse.centre_lat_deg, pred.ellipse.centre_lon_deg
        lon_w = (lon + 180.0) % 360.0 - 180.0
        where = f"{abs(lat):.2f}{'N' if lat >= 0 else 'S'} {abs(lon_w):.2f}{'E' if lon_w >= 0 else 'W'}"
        if kind == "overflight":
            return f"the missile has come down at {where}; the overflight threat has ended"
        inside = truth_impact_in_area(np.radians(lat), np.radians(lon), area)
        return f"the missile has come down at {where}, {'inside' if inside else 'outside'} the area"

    def _emit(self, thread: _Thread, key, area: Area, kind: str, pred: TrackPrediction,
              msg_type: str, p: float, expected_s: float | None, reason: str, t_s: float,
              now_ns: int) -> AlertEvent:
        track_id = key[0]
        alert_id = alert_id_for(self.nation, area.id, kind, track_id)
        thread.serial += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now_ns // 1_000_000_000))
        identifier = f"{alert_id}-{stamp}-{thread.serial}"
        references = tuple(thread.messages) if msg_type != ALERT else ()
        event = AlertEvent(
            identifier=identifier, alert_id=alert_id, msg_type=msg_type, sender=self.sender_id,
            nation=self.nation, area_id=area.id, area_name=area.name, kind=kind,
            track_id=track_id, probability=p, threshold=area.threshold, issued_t_s=float(t_s),
            issued_utc_ns=now_ns, expected_time_s=expected_s,
            expected_time_utc_ns=(None if expected_s is None
                                  else now_ns + round((expected_s - t_s) * 1e9)),
            expected_time_sigma_s=float(pred.impact_time_sigma_s), ellipse=pred.ellipse,
            reason=reason, references=references, area=area,
        )
        if msg_type == CANCEL:
            thread.active = False
            thread.messages = []
            thread.cancelled_t_s = t_s
        else:
            if msg_type == ALERT:
                thread.messages = []
            thread.active = True
            thread.messages.append(MessageRef(self.sender_id, identifier, now_ns))
            thread.last_issue_t_s = t_s
            thread.last_probability = p
            thread.last_expected_s = expected_s
        thread.below_steps = 0
        return event
