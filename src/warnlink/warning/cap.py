"""CAP 1.2 (OASIS Common Alerting Protocol) messages for warning events.

Choices, each where CAP leaves room:

* category ``Security`` ("law enforcement, military, homeland and local/private security"):
  a missile is a military threat; ``CBRNE`` would claim a payload nobody knows, and
  ``Safety`` is the catch-all for general public safety.
* certainty: ``Likely`` when P >= 0.5 and ``Possible`` below, which is CAP's own wording
  ("Likely: p > ~50%", "Possible: p <= ~50%"). Never ``Observed``: a predicted impact is
  not yet an observation however high P is; it becomes one only when the missile has come
  down, and then the message is a Cancel. A Cancel says ``Unlikely`` (the threat no longer
  is), with urgency ``Past`` ("responsive action is no longer required") and responseType
  ``AllClear``; Alerts and Updates say ``Immediate`` and ``Shelter``.
* area: the warned area's outer rings (CAP polygons have no holes), largest ``MAX_PARTS``
  parts, each simplified to at most ``MAX_POLYGON_POINTS`` points; the impact ellipse goes
  in a second ``area`` block of its own, so that a receiver sees where the missile may fall.
* times: CAP's dateTime pattern has no fractional seconds, so every time is truncated to
  the second and written with an explicit ``+00:00``. ``references`` use the same text.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import shapely
from lxml import etree

from warnlink.warning.lifecycle import CANCEL, AlertEvent

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MAX_POLYGON_POINTS = 500
MAX_PARTS = 20
EXPIRES_AFTER_S = 600.0  # an alert stays valid this long past the expected time
EVENT_NAMES = {"impact": "Ballistic missile impact", "overflight": "Ballistic missile overflight"}


def cap_datetime(utc_ns: int) -> str:
    """CAP dateTime of UTC nanoseconds: whole seconds, '+00:00' offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(int(utc_ns) // 1_000_000_000))


def _clock(utc_ns: int) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(int(utc_ns) // 1_000_000_000))


def lat_lon_text(lat_deg: float, lon_deg: float) -> str:
    """'40.12N 138.30E' style position text."""
    lon_deg = (lon_deg + 180.0) % 360.0 - 180.0
    return (f"{abs(lat_deg):.2f}{'N' if lat_deg >= 0 else 'S'} "
            f"{abs(lon_deg):.2f}{'E' if lon_deg >= 0 else 'W'}")


def certainty_for(event: AlertEvent) -> str:
    if event.msg_type == CANCEL:
        return "Unlikely"
    return "Likely" if event.probability >= 0.5 else "Possible"


def _ring_text(lon_deg: np.ndarray, lat_deg: np.ndarray) -> str:
    """CAP polygon text "lat,lon lat,lon ...", closed, longitudes in [-180, 180]."""
    lon_deg = np.mod(np.asarray(lon_deg) + 180.0, 360.0) - 180.0
    pairs = [f"{la:.4f},{lo:.4f}" for la, lo in zip(lat_deg, lon_deg)]
    if pairs[0] != pairs[-1]:
        pairs.append(pairs[0])
    return " ".join(pairs)


def _simplified_ring(polygon) -> np.ndarray:
    """Exterior coordinates (k, 2) of a polygon, simplified to <= MAX_POLYGON_POINTS, k >= 4."""
    ring = polygon.exterior
    tolerance_deg = 1e-4
    while len(ring.coords) > MAX_POLYGON_POINTS:
        shell = shapely.Polygon(polygon.exterior)
        ring = shell.simplify(tolerance_deg, preserve_topology=True).exterior
        tolerance_deg *= 2.0
    if len(ring.coords) < 4:
        ring = polygon.envelope.exterior
    return np.asarray(ring.coords)


def area_polygons(geometry) -> list[str]:
    """CAP polygon texts of a (Multi)Polygon: one per part, the largest MAX_PARTS parts."""
    parts = sorted(shapely.get_parts(geometry), key=lambda g: g.area, reverse=True)[:MAX_PARTS]
    texts = []
    for part in parts:
        coords = _simplified_ring(part)
        texts.append(_ring_text(coords[:, 0], coords[:, 1]))
    return texts


def _texts(event: AlertEvent) -> tuple[str, str, str]:
    """Headline, description and instruction in plain language."""
    place = event.area_name
    when = "" if event.expected_time_utc_ns is None else f" around {_clock(event.expected_time_utc_ns)}"
    if event.msg_type == CANCEL:
        return (
            f"All clear: missile warning for {place} cancelled",
            f"The ballistic missile warning for {place} (missile track {event.track_id}) is "
            f"cancelled: {event.reason}.",
            "The missile threat to this area has ended. You may leave shelter. Do not touch "
            "any fallen debris; report it to the police or fire service.",
        )
    pct = f"{100.0 * event.probability:.0f}%" if event.probability >= 0.01 else "<1%"
    if event.kind == "impact":
        headline = f"Missile warning: a ballistic missile may fall in {place}{when}"
        description = (f"A ballistic missile (track {event.track_id}) may fall in {place}{when}. "
                       f"Estimated chance of impact in the area: {pct}.")
        if event.ellipse is not None:
            e = event.ellipse
            description += (f" The predicted impact point is "
                            f"{lat_lon_text(e.centre_lat_deg, e.centre_lon_deg)}; it lies with "
                            f"{100 * e.confidence:.0f}% confidence within an ellipse of {e.semi_major_m / 1e3:.0f} by "
                            f"{e.semi_minor_m / 1e3:.0f} km (semi-axes).")
        instruction = ("Take shelter now in a sturdy building or underground. If there is no "
                       "building nearby, take cover or lie flat and protect your head. Stay "
                       "away from windows. Do not approach any fallen object.")
    else:
        headline = f"Missile warning: a ballistic missile may fly over {place}{when}"
        description = (f"A ballistic missile (track {event.track_id}) may pass over {place}"
                       f"{when}. Estimated chance that it flies over the area: {pct}. Parts "
                       "of the missile could fall.")
        instruction = ("Take shelter in a sturdy building or underground until the all clear. "
                       "Stay away from windows. Do not approach any fallen object.")
    if event.msg_type != "Alert":
        description += f" Update: {event.reason}."
    return headline, description, instruction


def to_cap_xml(event: AlertEvent, status: str = "Exercise", sender_name: str | None = None) -> bytes:
    """The CAP 1.2 XML document (UTF-8 bytes with XML declaration) of one event."""
    if status not in STATUSES:
        raise ValueError(f"CAP status {status!r} is not one of {STATUSES}")
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})

    def sub(parent, tag: str, text: str | None = None):
        el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            el.text = text
        return el

    sent = cap_datetime(event.issued_utc_ns)
    sub(root, "identifier", event.identifier)
    sub(root, "sender", event.sender)
    sub(root, "sent", sent)
    sub(root, "status", status)
    sub(root, "msgType", event.msg_type)
    sub(root, "scope", "Public")
    if status == "Exercise":
        sub(root, "note", "Exercise: synthetic scenario, not a real missile.")
    if event.references:
        sub(root, "references", " ".join(
            f"{r.sender},{r.identifier},{cap_datetime(r.sent_utc_ns)}" for r in event.references))
    sub(root, "incidents", event.alert_id)

    info = sub(root, "info")
    cancel = event.msg_type == CANCEL
    sub(info, "language", "en-US")
    sub(info, "category", "Security")
    sub(info, "event", EVENT_NAMES[event.kind])
    sub(info, "responseType", "AllClear" if cancel else "Shelter")
    sub(info, "urgency", "Past" if cancel else "Immediate")
    sub(info, "severity", "Extreme")
    sub(info, "certainty", certainty_for(event))
    sub(info, "effective", sent)
    expected_ns = event.expected_time_utc_ns
    if expected_ns is not None and not cancel:
        sub(info, "onset", cap_datetime(expected_ns))
    end_ns = max(event.issued_utc_ns, expected_ns or event.issued_utc_ns)
    sub(info, "expires", cap_datetime(end_ns + int(EXPIRES_AFTER_S * 1e9)))
    sub(info, "senderName", sender_name or f"warnlink {event.nation} missile warning")
    headline, description, instruction = _texts(event)
    sub(info, "headline", headline if len(headline) <= 160 else headline[:157] + "...")  # CAP: < 160
    sub(info, "description", description)
    sub(info, "instruction", instruction)
    params = [
        ("warningKind", event.kind), ("probability", f"{event.probability:.4f}"),
        ("threshold", f"{event.threshold:.4f}"), ("trackId", event.track_id),
        ("alertId", event.alert_id), ("reason", event.reason),
    ]
    if expected_ns is not None:
        params += [("expectedTimeUTC", cap_datetime(expected_ns)),
                   ("expectedTimeSigmaS", f"{event.expected_time_sigma_s:.1f}")]
    if event.ellipse is not None:
        e = event.ellipse
        params += [("impactLatDeg", f"{e.centre_lat_deg:.4f}"),
                   ("impactLonDeg", f"{e.centre_lon_deg:.4f}"),
                   ("ellipseSemiMajorM", f"{e.semi_major_m:.0f}"),
                   ("ellipseSemiMinorM", f"{e.semi_minor_m:.0f}"),
                   ("ellipseMajorAzimuthDeg", f"{e.major_azimuth_deg:.1f}"),
                   ("ellipseConfidence", f"{e.confidence:.2f}")]
    for name, value in params:
        p = sub(info, "parameter")
        sub(p, "valueName", name)
        sub(p, "value", value)
    if event.area is not None:
        area = sub(info, "area")
        sub(area, "areaDesc", event.area_name)
        for text in area_polygons(event.area.geometry):
            sub(area, "polygon", text)
    if event.ellipse is not None and event.ellipse.semi_major_m > 0:
        area = sub(info, "area")
        e = event.ellipse
        sub(area, "areaDesc", f"Predicted impact area of missile track {event.track_id} "
                              f"({100 * e.confidence:.0f}% ellipse)")
        lat_deg, lon_deg = e.boundary_lat_lon_deg(36)
        sub(area, "polygon", _ring_text(lon_deg, lat_deg))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_cap(event: AlertEvent, directory: str | Path, status: str = "Exercise",
              sender_name: str | None = None) -> Path:
    """Write ``<identifier>.xml`` (UTF-8 CAP 1.2) under ``directory``; return its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_FILE_UNSAFE.sub('_', event.identifier)}.xml"
    path.write_bytes(to_cap_xml(event, status=status, sender_name=sender_name))
    return path
