"""An Atom feed (RFC 4287) of the CAP 1.2 warnings in force, as public alerting hubs consume them.

Each entry is one warning's latest CAP message: id ``urn:warnlink:cap:<identifier>``,
a link to the message itself (``/cap/<identifier>.xml``) and the message inline as
``application/cap+xml`` content.
"""

from __future__ import annotations

import time
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(utc_ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(utc_ns // 1_000_000_000))


def cap_atom_feed(messages: list, base_url: str, title: str, now_utc_ns: int) -> bytes:
    """The feed document; ``messages`` are node.CapMessage items, newest first in the feed."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base_url}/cap.atom"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    updated = max([m.sent_utc_ns for m in messages], default=now_utc_ns)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _stamp(updated)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "warnlink"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base_url}/cap.atom")
    for m in sorted(messages, key=lambda m: -m.sent_utc_ns):
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:warnlink:cap:{m.identifier}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"{m.msg_type}: {m.kind} warning for {m.area_name}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _stamp(m.sent_utc_ns)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="application/cap+xml",
                      href=f"{base_url}/cap/{m.identifier}.xml")
        content = ET.SubElement(entry, f"{{{ATOM}}}content", type="application/cap+xml")
        cap = ET.fromstring(m.xml)
        content.append(cap)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(feed, encoding="utf-8")
