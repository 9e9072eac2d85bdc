"""Cursor on Target: system tracks, impact ellipses and warnings as CoT events for TAK clients.

* a system track: type ``a-h-A-W-M-S`` (hostile, air, weapon, missile in flight,
  surface-launched: MIL-STD-2525 ``WMS``), ``how="m-f"`` (machine, fused), with
  ``<track course speed>`` and its class in the callsign;
* its predicted impact: a ``u-d-c-e`` ellipse drawing (``<shape><ellipse major minor
  angle>``, metres and degrees) at the predicted impact point;
* a warning in force: an ``b-a-o-tbl`` alarm at the area's predicted impact or entry
  point, the area and probability in the remarks.

Times are UTC with a ``Z`` (TAK rejects offsets); each event is stale a little after the
next update is due. :class:`CotSender` streams events over TCP or UDP.
"""

from __future__ import annotations

import asyncio
import math
import socket
import time
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

MISSILE_TYPE = "a-h-A-W-M-S"
ELLIPSE_TYPE = "u-d-c-e"
ALARM_TYPE = "b-a-o-tbl"
STALE_S = 10.0


class CotError(ValueError):
    """A CoT destination that cannot be used; the message says why."""


def _time(utc_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(utc_s)) + f".{int((utc_s % 1) * 1000):03d}Z"


def _event(uid: str, type_: str, lat: float, lon: float, hae: float, now_s: float, ce: float = 9999999.0,
           how: str = "m-f") -> tuple[ET.Element, ET.Element]:
    event = ET.Element("event", version="2.0", uid=uid, type=type_, how=how, time=_time(now_s),
                       start=_time(now_s), stale=_time(now_s + STALE_S))
    ET.SubElement(event, "point", lat=f"{lat:.6f}", lon=f"{lon:.6f}", hae=f"{hae:.1f}", ce=f"{ce:.1f}",
                  le="9999999.0")
    return event, ET.SubElement(event, "detail")


def _bytes(event: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(event, encoding="utf-8")


def snapshot_to_cot(snapshot: dict, node: str, now_utc_s: float | None = None) -> list[bytes]:
    """CoT events (XML bytes) for one node's dashboard snapshot (see :mod:`warnlink.picture`)."""
    now = time.time() if now_utc_s is None else now_utc_s
    out = []
    by_id = {t["id"]: t for t in snapshot.get("tracks", [])}
    for t in snapshot.get("tracks", []):
        uid = f"warnlink.{node}.{t['id']}"
        event, detail = _event(uid, MISSILE_TYPE, t["lat_deg"], t["lon_deg"], t["alt_km"] * 1e3, now, ce=500.0)
        hist = t.get("history") or []
        course = 0.0
        if len(hist) >= 2:
            (x0, y0), (x1, y1) = hist[-2], hist[-1]
            course = math.degrees(math.atan2((x1 - x0) * math.cos(math.radians(y1)), y1 - y0)) % 360.0
        ET.SubElement(detail, "track", course=f"{course:.1f}", speed=f"{t.get('speed_mps', 0.0):.1f}")
        ET.SubElement(detail, "contact", callsign=f"{t['id']} {t.get('class') or 'missile'}")
        tti = t.get("time_to_impact_s")
        ET.SubElement(detail, "remarks").text = (
            f"{t.get('class') or 'unclassified'}{' lofted' if t.get('lofted') else ''}, {t.get('phase')}, "
            f"nations {' '.join(t.get('nations', []))}"
            + (f", impact in {tti:.0f} s" if tti is not None else ""))
        out.append(_bytes(event))
        iip = t.get("iip")
        if iip and iip.get("ellipse"):
            major, minor, angle = _axes(iip)
            event, detail = _event(uid + ".impact", ELLIPSE_TYPE, iip["lat_deg"], iip["lon_deg"], 0.0, now, ce=major,
                                   how="h-e")
            shape = ET.SubElement(detail, "shape")
            ET.SubElement(shape, "ellipse", major=f"{major:.1f}", minor=f"{minor:.1f}", angle=f"{angle:.1f}")
            ET.SubElement(detail, "contact", callsign=f"{t['id']} impact 95%")
            ET.SubElement(detail, "link", uid=uid, relation="p-p", type=MISSILE_TYPE)
            out.append(_bytes(event))
    for a in snapshot.get("alerts_active", []):
        trk = by_id.get(a.get("track"))
        where = (trk.get("iip") or trk) if trk else None
        if where is None:
            continue
        event, detail = _event(f"warnlink.{node}.alert.{a['alert_id']}", ALARM_TYPE, where["lat_deg"], where["lon_deg"],
                               0.0, now, how="m-f")
        ET.SubElement(detail, "contact", callsign=f"WARNING {a['area_id']} {a['kind']}")
        ET.SubElement(detail, "remarks").text = (f"{a['kind']} warning for {a['area_id']} issued by {node}: "
                                                 f"probability {a['probability']}, track {a['track']}")
        out.append(_bytes(event))
    return out


def _axes(iip: dict) -> tuple[float, float, float]:
    """Semi-axes (m) and orientation (deg from north) of an ellipse given as a closed lon/lat ring."""
    lat0, lon0 = iip["lat_deg"], iip["lon_deg"]
    pts = [((x - lon0) * 111_320.0 * math.cos(math.radians(lat0)), (y - lat0) * 110_574.0) for x, y in iip["ellipse"]]
    dists = [math.hypot(e, n) for e, n in pts]
    i = max(range(len(pts)), key=dists.__getitem__)
    major = dists[i]
    minor = min(dists) if dists else 0.0
    angle = math.degrees(math.atan2(pts[i][0], pts[i][1])) % 180.0
    return major, minor, angle


class CotSender:
    """Streams CoT events to ``tcp://HOST:PORT`` or ``udp://HOST:PORT``."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("tcp", "udp"):
            raise CotError(f"{url!r}: use tcp://HOST:PORT or udp://HOST:PORT")
        if not parsed.hostname or parsed.port is None:
            raise CotError(f"{url!r}: needs a host and a port")
        self.scheme, self.host, self.port = parsed.scheme, parsed.hostname, parsed.port
        self._writer = None
        self._udp = None
        self.sent = 0
        self.errors: list[str] = []

    async def open(self) -> None:
        if self.scheme == "tcp":
            try:
                _, self._writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5.0)
            except (OSError, asyncio.TimeoutError) as exc:
                raise CotError(f"cannot connect to tcp://{self.host}:{self.port}: {exc}") from exc
        else:
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._udp.setblocking(False)

    async def send(self, events: list[bytes]) -> None:
        """Send events; a failure is recorded (the node goes on), never raised."""
        try:
            if self._writer is not None:
                self._writer.write(b"".join(events))
                await self._writer.drain()
            elif self._udp is not None:
                for e in events:
                    self._udp.sendto(e, (self.host, self.port))
            self.sent += len(events)
        except OSError as exc:
            self.errors.append(str(exc))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        if self._udp is not None:
            self._udp.close()
