"""Cursor on Target: events for tracks, impact ellipses and warnings, streamed over TCP and UDP and
parsed by takproto (the TAK protocol library), which no one here wrote."""

from __future__ import annotations

import asyncio
import socket
from xml.etree import ElementTree as ET

import pytest
import takproto

from warnlink.interop.cot import ALARM_TYPE, ELLIPSE_TYPE, MISSILE_TYPE, CotError, CotSender, snapshot_to_cot

SNAPSHOT = {
    "t_s": 100.0, "tracks": [{
        "id": "ST-ROK-T1", "nations": ["ROK", "USA"], "lat_deg": 39.1, "lon_deg": 128.5, "alt_km": 150.0,
        "speed_mps": 2400.0, "history": [[128.4, 39.09], [128.5, 39.1]], "class": "SRBM", "lofted": False,
        "phase": "midcourse", "time_to_impact_s": 210.0,
        "iip": {"lat_deg": 38.5, "lon_deg": 135.0, "semi_major_km": 12.0,
                "ellipse": [[135.1, 38.5], [135.0, 38.55], [134.9, 38.5], [135.0, 38.45], [135.1, 38.5]]},
        "launch": None}],
    "alerts_active": [{"alert_id": "JPN-JPN-EEZ-impact-ST-ROK-T1", "area_id": "JPN-EEZ", "kind": "impact",
                       "probability": 0.97, "track": "ST-ROK-T1", "expected_t_s": 310.0}],
}


def _split(data: bytes) -> list[str]:
    return ["<?xml" + part for part in data.decode().split("<?xml") if part.strip()]


def test_events_parse_as_tak_and_say_what_they_are():
    events = snapshot_to_cot(SNAPSHOT, "JPN", now_utc_s=1_710_720_100.0)
    assert len(events) == 3
    types = []
    for raw in events:
        takproto.xml2proto(raw.decode())  # raises on anything TAK cannot read
        root = ET.fromstring(raw)
        types.append(root.get("type"))
        assert root.get("time").endswith("Z") and root.get("stale") > root.get("time")
    assert types == [MISSILE_TYPE, ELLIPSE_TYPE, ALARM_TYPE]
    track = ET.fromstring(events[0])
    assert track.get("uid") == "warnlink.JPN.ST-ROK-T1"
    point = track.find("point")
    assert float(point.get("lat")) == pytest.approx(39.1) and float(point.get("hae")) == pytest.approx(150e3)
    assert float(track.find("detail/track").get("course")) == pytest.approx(81, abs=5)  # heading east-north-east
    ellipse = ET.fromstring(events[1]).find("detail/shape/ellipse")
    assert float(ellipse.get("major")) == pytest.approx(8700, rel=0.1)  # 0.1 deg of longitude at 38.5 N


def test_stream_over_tcp_and_udp():
    async def main():
        received_tcp = bytearray()

        async def handle(reader, writer):
            while data := await reader.read(65536):
                received_tcp.extend(data)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(2.0)
        events = snapshot_to_cot(SNAPSHOT, "JPN")
        for url in (f"tcp://127.0.0.1:{port}", f"udp://127.0.0.1:{udp.getsockname()[1]}"):
            sender = CotSender(url)
            await sender.open()
            await sender.send(events)
            await sender.close()
            assert sender.sent == 3 and not sender.errors
        await asyncio.sleep(0.2)
        server.close()
        datagrams = [udp.recvfrom(65536)[0] for _ in range(3)]
        udp.close()
        return bytes(received_tcp), datagrams

    tcp, datagrams = asyncio.run(main())
    for raw in _split(tcp) + [d.decode() for d in datagrams]:
        takproto.xml2proto(raw)
    assert len(_split(tcp)) == 3


@pytest.mark.parametrize("url", ["http://host:1", "tcp://host", "udp://:99", "garbage"])
def test_bad_destinations_are_named(url):
    with pytest.raises(CotError):
        CotSender(url)
