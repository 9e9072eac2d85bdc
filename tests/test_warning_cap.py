"""CAP 1.2 messages: schema-valid (checked by capvalidator), closed polygons, references."""

import re

import numpy as np
import pytest
from capvalidator import Validator
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon, box

from warnlink.warning import AlertManager, Area, Ellipse, TrackPrediction, to_cap_xml, write_cap
from warnlink.warning.cap import CAP_NS, MAX_PARTS, MAX_POLYGON_POINTS, cap_datetime

NS = {"cap": CAP_NS}
SENDER = "warnlink.jpn@example.org"


def wobbly_island(lon_c, lat_c, radius_deg, n):
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius_deg * (1 + 0.2 * np.sin(7 * a) + 0.05 * np.sin(53 * a))
    return Polygon(np.stack([lon_c + r * np.cos(a), lat_c + r * np.sin(a)], -1))


def archipelago():
    """~5,000 vertices: one 3,000-vertex main island and 30 small ones."""
    parts = [wobbly_island(138.0, 37.0, 2.0, 3000)]
    parts += [wobbly_island(130.0 + 0.5 * (i % 10), 30.0 + 0.5 * (i // 10), 0.1 + 0.005 * i, 66) for i in range(30)]
    return MultiPolygon(parts)


LAND = Area(id="JPN LAND", nation="JPN", geometry=archipelago(), name="Japan & islands",
            warn=("impact", "overflight"))


def lifecycle_events():
    m = AlertManager("JPN", [LAND], SENDER, epoch_utc_ns=1_664_838_000 * 10**9)
    ellipse = Ellipse.from_covariance(np.radians(37.0), np.radians(138.0), np.array([[4e8, 1e8], [1e8, 1e8]]))
    events = []
    for t, p in [(0, 0.2), (15, 0.7), (30, 0.9), (45, 0.9), (200, 0.0), (201, 0.0), (202, 0.0)]:
        events += m.step(float(t), [TrackPrediction(
            "T 7", {"JPN LAND": p}, {"JPN LAND": p}, impact_time_s=600.0, impact_time_sigma_s=8.0,
            overflight_time_s={"JPN LAND": 150.0}, ellipse=ellipse)])
    return events


EVENTS = lifecycle_events()


def parse(xml):
    return etree.fromstring(xml)


def test_lifecycle_produces_every_message_type():
    assert {e.msg_type for e in EVENTS} == {"Alert", "Update", "Cancel"}
    assert {e.kind for e in EVENTS} == {"impact", "overflight"}


@pytest.mark.parametrize("status", ["Exercise", "Actual"])
def test_every_message_validates_against_cap_schema(status):
    for event in EVENTS:
        ok, message = Validator(to_cap_xml(event, status=status)).schema()
        assert ok, f"{event.identifier}: {message}"


def test_broken_messages_fail_validation():
    xml = to_cap_xml(EVENTS[0])
    assert Validator(xml).schema()[0]
    sent = re.search(rb"<sent>([^<]+)</sent>", xml).group(1)
    broken = [
        xml.replace(b"<msgType>Alert</msgType>", b"<msgType>Warning</msgType>"),
        xml.replace(sent, sent.replace(b"+00:00", b".5+00:00")),  # fractional seconds
        xml.replace(sent, sent.replace(b"+00:00", b"Z")),  # CAP wants an explicit offset
        re.sub(rb"\s*<scope>Public</scope>", b"", xml),  # a required element missing
    ]
    for bad in broken:
        assert bad != xml
        assert not Validator(bad).schema()[0]


def test_header_fields():
    alert = parse(to_cap_xml(EVENTS[0]))
    assert alert.findtext("cap:sender", namespaces=NS) == SENDER
    assert alert.findtext("cap:status", namespaces=NS) == "Exercise"
    assert alert.findtext("cap:scope", namespaces=NS) == "Public"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", alert.findtext("cap:sent", namespaces=NS))
    assert alert.findtext("cap:sent", namespaces=NS) == "2022-10-03T23:00:00+00:00"
    info = alert.find("cap:info", NS)
    assert info.findtext("cap:category", namespaces=NS) == "Security"
    assert info.findtext("cap:responseType", namespaces=NS) == "Shelter"
    assert info.findtext("cap:urgency", namespaces=NS) == "Immediate"
    assert info.findtext("cap:severity", namespaces=NS) == "Extreme"
    assert info.findtext("cap:certainty", namespaces=NS) == "Possible"  # P = 0.2
    assert info.findtext("cap:event", namespaces=NS).startswith("Ballistic missile")
    params = {p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
              for p in info.findall("cap:parameter", NS)}
    assert params["trackId"] == "T 7" and float(params["probability"]) == pytest.approx(0.2)
    assert "around 23:10:00 UTC" in info.findtext("cap:headline", namespaces=NS)
    with pytest.raises(ValueError):
        to_cap_xml(EVENTS[0], status="Real")


def test_identifiers_unique_and_cap_safe():
    ids = [e.identifier for e in EVENTS]
    assert len(set(ids)) == len(ids)
    assert all(not re.search(r"[\s,<&]", i) for i in ids)


def test_polygons_closed_bounded_and_limited():
    info = parse(to_cap_xml(EVENTS[0])).find("cap:info", NS)
    areas = info.findall("cap:area", NS)
    assert areas[0].findtext("cap:areaDesc", namespaces=NS) == "Japan & islands"
    polygons = areas[0].findall("cap:polygon", NS)
    assert len(polygons) == MAX_PARTS
    for poly in polygons + areas[1].findall("cap:polygon", NS):
        pairs = poly.text.split(" ")
        assert pairs[0] == pairs[-1] and 4 <= len(pairs) <= MAX_POLYGON_POINTS
        lat_lon = np.array([[float(v) for v in p.split(",")] for p in pairs])
        assert np.all(np.abs(lat_lon[:, 0]) <= 90) and np.all(np.abs(lat_lon[:, 1]) <= 180)
    main = np.array([[float(v) for v in p.split(",")] for p in polygons[0].text.split(" ")])
    assert main[:, 0].mean() == pytest.approx(37.0, abs=0.3)  # "lat,lon": latitude first
    assert main[:, 1].mean() == pytest.approx(138.0, abs=0.3)
    assert "ellipse" in areas[1].findtext("cap:areaDesc", namespaces=NS)


def test_references_point_at_earlier_messages():
    by_id = {e.identifier: e for e in EVENTS}
    for event in EVENTS:
        refs = parse(to_cap_xml(event)).findtext("cap:references", namespaces=NS)
        if event.msg_type == "Alert":
            assert refs is None
            continue
        assert refs
        for ref in refs.split(" "):
            sender, identifier, sent = ref.split(",")
            earlier = by_id[identifier]
            assert sender == SENDER and earlier.alert_id == event.alert_id
            assert sent == cap_datetime(earlier.issued_utc_ns)
            assert earlier.issued_utc_ns <= event.issued_utc_ns
    cancels = [e for e in EVENTS if e.msg_type == "Cancel"]
    assert cancels and all(c.references[0].identifier.startswith(c.alert_id) for c in cancels)
    for c in cancels:
        info = parse(to_cap_xml(c)).find("cap:info", NS)
        assert info.findtext("cap:responseType", namespaces=NS) == "AllClear"
        assert info.findtext("cap:headline", namespaces=NS).startswith("All clear")


def test_write_cap(tmp_path):
    path = write_cap(EVENTS[-1], tmp_path / "alerts")
    assert path.name == f"{EVENTS[-1].identifier}.xml"
    data = path.read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert Validator(data).schema()[0]


def test_small_polygon_area():
    area = Area(id="TINY", nation="JPN", geometry=box(139.0, 35.0, 139.001, 35.001))
    m = AlertManager("JPN", [area], SENDER)
    (event,) = m.step(0.0, [TrackPrediction("T1", {"TINY": 0.5})])
    xml = to_cap_xml(event)
    assert Validator(xml).schema()[0]
    (poly,) = parse(xml).find("cap:info", NS).find("cap:area", NS).findall("cap:polygon", NS)
    assert len(poly.text.split(" ")) == 5
