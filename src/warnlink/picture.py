"""What a node holds, as plain JSON-ready dicts for the dashboard and other viewers.

``static_picture`` describes the scenario (nations, sensors with coverage, areas);
``node_picture`` one node's current picture (system tracks with history, predicted
impact ellipses, launch points, alerts). Degrees and kilometres: these are for people.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

import numpy as np
import shapely.geometry

from warnlink import frames
from warnlink.scenario.plot import radar_footprint
from warnlink.warning.geo import Ellipse

HISTORY_POINTS = 120


def static_picture(scenario, policies: dict | None = None) -> dict:
    """The scenario for viewers; ``policies`` (nation -> ReleasePolicy) say who releases what to whom."""
    from warnlink.exchange.policy import release_everything

    cfg = scenario.config
    sensors = []
    for s in cfg.sensors:
        coverage = None
        if s.type == "radar":
            lons, lats = radar_footprint(s)
            coverage = [[round(float(x), 4), round(float(y), 4)] for x, y in zip(lons, lats)]
        sensors.append({"id": s.id, "nation": s.nation, "type": s.type, "lat_deg": s.lat_deg,
                        "lon_deg": s.lon_deg, "coverage": coverage})
    areas = [{"id": a.id, "nation": a.nation, "name": a.name, "warn": list(a.warn),
              "geometry": shapely.geometry.mapping(a.geometry.simplify(0.02, preserve_topology=True))}
             for a in scenario.areas]
    nations = [n.id for n in cfg.nations]
    releases = {n: (policies or {}).get(n, release_everything(n)).describe([p for p in nations if p != n])
                for n in nations}
    return {"scenario": cfg.scenario.name, "epoch_utc": cfg.scenario.epoch,
            "nations": nations, "sensors": sensors, "areas": areas, "releases": releases}


class PictureBuilder:
    """Keeps each system track's recent history and turns a node into a snapshot dict."""

    def __init__(self) -> None:
        self._history: dict[str, deque] = defaultdict(lambda: deque(maxlen=HISTORY_POINTS))

    def snapshot(self, node, t_s: float, speed: float) -> dict:
        tracks = []
        for trk in node.system_tracks:
            lat, lon, alt = frames.ecef_to_geodetic(np.asarray(trk.x[:3], float))
            lat_deg, lon_deg = float(np.degrees(lat)), float(np.degrees(lon))
            hist = self._history[trk.id]
            hist.append([round(lon_deg, 4), round(lat_deg, 4)])
            state = node.track_state.get(trk.id)
            pred = state.last_prediction if state else None
            cls = state.classification if state else None
            launch = state.launch if state else None
            iip, tti = None, None
            if pred is not None:
                ell = Ellipse.from_covariance(pred.lat_rad, pred.lon_rad, pred.cov_en_m2)
                blat, blon = ell.boundary_lat_lon_deg(36)
                iip = {"lat_deg": float(np.degrees(pred.lat_rad)), "lon_deg": float(np.degrees(pred.lon_rad)),
                       "ellipse": [[round(float(x), 4), round(float(y), 4)] for x, y in zip(blon, blat)],
                       "semi_major_km": round(ell.semi_major_m / 1e3, 2)}
                tti = max(float(pred.impact_t_s) - t_s, 0.0)
            boosting = trk.boost_probability > 0.5
            phase = "boost" if boosting else ("terminal" if alt < 100e3 and trk.x[3:6] @ trk.x[:3] < 0 else "midcourse")
            tracks.append({
                "id": trk.id, "nations": list(trk.nations), "lat_deg": lat_deg, "lon_deg": lon_deg,
                "alt_km": round(float(alt) / 1e3, 2), "speed_mps": round(float(np.linalg.norm(trk.x[3:6])), 1),
                "history": list(hist), "class": cls.missile_class if cls else None,
                "lofted": bool(cls.lofted) if cls else None, "phase": phase,
                "time_to_impact_s": None if tti is None else round(tti, 1), "iip": iip,
                "launch": None if launch is None else {"lat_deg": float(np.degrees(launch.lat_rad)),
                                                       "lon_deg": float(np.degrees(launch.lon_rad))},
            })
        live = {trk.id for trk in node.system_tracks}
        for gone in [k for k in self._history if k not in live]:
            del self._history[gone]
        events = [{"id": e.event_id, "lat_deg": float(np.degrees(e.lat_rad)), "lon_deg": float(np.degrees(e.lon_rad)),
                   "t_s": round((e.time_ns - node.epoch_ns) / 1e9, 1)} for e in node.launch_events]
        active, log = {}, []
        for a in node.record.alerts:
            log.append({"t_s": a.t_s, "msg_type": a.msg_type, "area_id": a.area_id, "kind": a.kind,
                        "probability": round(a.probability, 3), "track": a.system_track_id,
                        "identifier": a.identifier})
            if a.msg_type == "Cancel":
                active.pop(a.alert_id, None)
            else:
                active[a.alert_id] = {"alert_id": a.alert_id, "area_id": a.area_id, "kind": a.kind,
                                      "probability": round(a.probability, 3), "track": a.system_track_id,
                                      "expected_t_s": a.expected_t_s}
        utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((node.epoch_ns + round(t_s * 1e9)) // 10**9))
        c = node.counters
        sharing = [{"partner": p, "sent": c.sent_to.get(p, 0), "withheld": c.withheld_from.get(p, 0),
                    "received": c.received_from.get(p, 0)} for p in node.partners]
        return {"t_s": t_s, "utc": utc, "speed": speed, "tracks": tracks, "launch_events": events,
                "alerts_active": list(active.values()), "alert_log": log[-200:], "sharing": sharing}
