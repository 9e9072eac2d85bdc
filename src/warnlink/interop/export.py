"""A run's picture as GeoJSON, KML or CZML: what each node tracked, predicted and warned.

The same features in each format: per node, every system track's path (time-tagged),
its last impact prediction (point and 95% ellipse) and launch point; the scenario's
warning areas with the alerts issued for them. Written by hand with the standard
library because each format is a small, fully specified document (RFC 7946, OGC KML
2.2, Cesium's CZML); the tests read every output back with a library made for it.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import numpy as np
import shapely.geometry

from warnlink import frames
from warnlink.warning.geo import Ellipse

FORMATS = ("geojson", "kml", "czml")
AREA_SIMPLIFY_DEG = 0.02
MAX_PATH_POINTS = 400


@dataclass
class TrackPath:
    node: str
    id: str
    t_s: np.ndarray
    lon_deg: np.ndarray
    lat_deg: np.ndarray
    alt_m: np.ndarray
    nations: list[str]
    missile_class: str | None = None
    iip: tuple[float, float] | None = None  # lon, lat
    ellipse: list[list[float]] | None = None  # [[lon, lat], ...] closed
    ellipse_semi_major_km: float | None = None
    impact_t_s: float | None = None
    launch: tuple[float, float] | None = None


@dataclass
class Picture:
    scenario: str
    epoch_ns: int
    end_s: float
    tracks: list[TrackPath] = field(default_factory=list)
    areas: list[dict] = field(default_factory=list)  # id, nation, name, geometry (shapely), alerts


def picture_of(run, nation: str | None = None) -> Picture:
    """Collect what to export from a loaded run (``warnlink.interop.run_dir.Run``)."""
    nodes = [nation] if nation else list(run.records)
    pic = Picture(run.info.get("scenario", ""), run.epoch_ns, float(run.info.get("scenario_s", 0.0)))
    for node in nodes:
        record = run.records[node]
        by_track = defaultdict(list)
        for s in record.tracks:
            by_track[s.system_track_id].append(s)
        last_pred = {}
        for p in record.predictions:
            last_pred[p.system_track_id] = p
        for tid, samples in sorted(by_track.items()):
            step = max(1, len(samples) // MAX_PATH_POINTS)
            samples = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
            r = np.array([s.r_ecef_m for s in samples])
            lat, lon, alt = frames.ecef_to_geodetic(r)
            path = TrackPath(node, tid, np.array([s.t_s for s in samples]), np.degrees(lon), np.degrees(lat),
                             np.asarray(alt), sorted({n for s in samples for n in s.nations}))
            p = last_pred.get(tid)
            if p is not None:
                ell = Ellipse.from_covariance(p.iip_lat_rad, p.iip_lon_rad, np.array(p.iip_cov_en_m2).reshape(2, 2))
                blat, blon = ell.boundary_lat_lon_deg(36)
                ring = [[float(x), float(y)] for x, y in zip(blon, blat)]
                path.ellipse = ring + [ring[0]]
                path.ellipse_semi_major_km = ell.semi_major_m / 1e3
                path.iip = (float(np.degrees(p.iip_lon_rad)), float(np.degrees(p.iip_lat_rad)))
                path.missile_class = p.missile_class
                path.impact_t_s = p.impact_t_s
                if p.launch_lat_rad is not None:
                    path.launch = (float(np.degrees(p.launch_lon_rad)), float(np.degrees(p.launch_lat_rad)))
            pic.tracks.append(path)
    alerts = defaultdict(list)
    for node in nodes:
        for a in run.records[node].alerts:
            alerts[a.area_id].append({"t_s": a.t_s, "msg_type": a.msg_type, "kind": a.kind,
                                      "track": a.system_track_id, "probability": round(a.probability, 3),
                                      "identifier": a.identifier})
    for area in run.scenario.areas:
        if nation and area.nation != nation:
            continue
        pic.areas.append({"id": area.id, "nation": area.nation, "name": area.name,
                          "geometry": area.geometry.simplify(AREA_SIMPLIFY_DEG, preserve_topology=True),
                          "alerts": alerts.get(area.id, [])})
    return pic


def _iso(epoch_ns: int, t_s: float) -> str:
    ns = epoch_ns + round(t_s * 1e9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{(ns % 10**9) // 10**6:03d}Z"


def _r(x, nd=5):
    return round(float(x), nd)


# ------------------------------------------------------------------------------- GeoJSON


def to_geojson(pic: Picture) -> str:
    feats = []
    for t in pic.tracks:
        coords = [[_r(x), _r(y), _r(z, 1)] for x, y, z in zip(t.lon_deg, t.lat_deg, t.alt_m)]
        if len(coords) == 1:
            coords.append(coords[0])
        props = {"kind": "track", "node": t.node, "id": t.id, "nations": t.nations, "class": t.missile_class,
                 "start": _iso(pic.epoch_ns, t.t_s[0]), "end": _iso(pic.epoch_ns, t.t_s[-1]),
                 "times": [_iso(pic.epoch_ns, s) for s in t.t_s]}
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords}, "properties": props})
        if t.ellipse:
            base = {"node": t.node, "track": t.id, "impact_time": _iso(pic.epoch_ns, t.impact_t_s)}
            ring = [[_r(x), _r(y)] for x, y in _ccw(t.ellipse)]
            feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                          "properties": {"kind": "impact_ellipse_95", "semi_major_km": _r(t.ellipse_semi_major_km, 2), **base}})
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [_r(t.iip[0]), _r(t.iip[1])]},
                          "properties": {"kind": "impact_point", **base}})
        if t.launch:
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [_r(t.launch[0]), _r(t.launch[1])]},
                          "properties": {"kind": "launch_point", "node": t.node, "track": t.id}})
    for a in pic.areas:
        geom = shapely.geometry.mapping(shapely.geometry.polygon.orient(a["geometry"]) if a["geometry"].geom_type == "Polygon"
                                        else shapely.MultiPolygon([shapely.geometry.polygon.orient(p) for p in a["geometry"].geoms]))
        feats.append({"type": "Feature", "geometry": json.loads(json.dumps(geom)),
                      "properties": {"kind": "area", "id": a["id"], "nation": a["nation"], "name": a["name"],
                                     "alerts": a["alerts"]}})
    return json.dumps({"type": "FeatureCollection", "name": pic.scenario, "features": feats})


def _ccw(ring):
    """RFC 7946: exterior rings counter-clockwise."""
    pts = np.array(ring)
    area2 = np.sum(pts[:-1, 0] * pts[1:, 1] - pts[1:, 0] * pts[:-1, 1])
    return ring if area2 > 0 else ring[::-1]


# ------------------------------------------------------------------------------- KML

KML_NS = "http://www.opengis.net/kml/2.2"


def _coords(points, with_alt=False) -> str:
    if with_alt:
        return " ".join(f"{_r(x)},{_r(y)},{_r(z, 1)}" for x, y, z in points)
    return " ".join(f"{_r(x)},{_r(y)},0" for x, y in points)


def _kml_polygon(parent, polygon):
    poly = ET.SubElement(parent, f"{{{KML_NS}}}Polygon")
    outer = ET.SubElement(ET.SubElement(poly, f"{{{KML_NS}}}outerBoundaryIs"), f"{{{KML_NS}}}LinearRing")
    ET.SubElement(outer, f"{{{KML_NS}}}coordinates").text = _coords(list(polygon.exterior.coords))
    for hole in polygon.interiors:
        inner = ET.SubElement(ET.SubElement(poly, f"{{{KML_NS}}}innerBoundaryIs"), f"{{{KML_NS}}}LinearRing")
        ET.SubElement(inner, f"{{{KML_NS}}}coordinates").text = _coords(list(hole.coords))


def to_kml(pic: Picture) -> str:
    ET.register_namespace("", KML_NS)
    k = lambda tag: f"{{{KML_NS}}}{tag}"  # noqa: E731
    root = ET.Element(k("kml"))
    doc = ET.SubElement(root, k("Document"))
    ET.SubElement(doc, k("name")).text = pic.scenario
    for name, color in (("track", "ff00a5ff"), ("ellipse", "7f0000ff"), ("area", "3f00d7ff")):
        style = ET.SubElement(doc, k("Style"), id=name)
        ET.SubElement(ET.SubElement(style, k("LineStyle")), k("color")).text = color
        ET.SubElement(ET.SubElement(style, k("PolyStyle")), k("color")).text = color
    tracks = ET.SubElement(doc, k("Folder"))
    ET.SubElement(tracks, k("name")).text = "System tracks"
    for t in pic.tracks:
        pm = ET.SubElement(tracks, k("Placemark"))
        ET.SubElement(pm, k("name")).text = f"{t.node} {t.id}"
        ET.SubElement(pm, k("description")).text = f"class {t.missile_class or '-'}; nations {', '.join(t.nations)}"
        span = ET.SubElement(pm, k("TimeSpan"))
        ET.SubElement(span, k("begin")).text = _iso(pic.epoch_ns, t.t_s[0])
        ET.SubElement(span, k("end")).text = _iso(pic.epoch_ns, t.t_s[-1])
        ET.SubElement(pm, k("styleUrl")).text = "#track"
        line = ET.SubElement(pm, k("LineString"))
        ET.SubElement(line, k("altitudeMode")).text = "absolute"
        pts = list(zip(t.lon_deg, t.lat_deg, t.alt_m))
        ET.SubElement(line, k("coordinates")).text = _coords(pts if len(pts) > 1 else pts * 2, with_alt=True)
        if t.ellipse:
            pe = ET.SubElement(tracks, k("Placemark"))
            ET.SubElement(pe, k("name")).text = f"{t.node} {t.id} impact 95%"
            stamp = ET.SubElement(pe, k("TimeStamp"))
            ET.SubElement(stamp, k("when")).text = _iso(pic.epoch_ns, t.t_s[-1])
            ET.SubElement(pe, k("styleUrl")).text = "#ellipse"
            _kml_polygon(pe, shapely.Polygon(t.ellipse))
    areas = ET.SubElement(doc, k("Folder"))
    ET.SubElement(areas, k("name")).text = "Warning areas"
    for a in pic.areas:
        pm = ET.SubElement(areas, k("Placemark"))
        ET.SubElement(pm, k("name")).text = f"{a['id']} ({a['nation']})"
        ET.SubElement(pm, k("description")).text = "; ".join(
            f"t={x['t_s']:.0f} s {x['msg_type']} {x['kind']} {x['track']} p={x['probability']}" for x in a["alerts"]) or "no alerts"
        ET.SubElement(pm, k("styleUrl")).text = "#area"
        parts = list(getattr(a["geometry"], "geoms", [a["geometry"]]))
        parent = ET.SubElement(pm, k("MultiGeometry")) if len(parts) > 1 else pm
        for poly in parts:
            _kml_polygon(parent, poly)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# ------------------------------------------------------------------------------- CZML


def to_czml(pic: Picture) -> str:
    start = _iso(pic.epoch_ns, 0.0)
    end = _iso(pic.epoch_ns, max(pic.end_s, 1.0))
    packets = [{"id": "document", "name": pic.scenario, "version": "1.0",
                "clock": {"interval": f"{start}/{end}", "currentTime": start, "multiplier": 10,
                          "range": "LOOP_STOP", "step": "SYSTEM_CLOCK_MULTIPLIER"}}]
    for t in pic.tracks:
        cart = []
        for s, x, y, z in zip(t.t_s, t.lon_deg, t.lat_deg, t.alt_m):
            cart += [_r(s - t.t_s[0], 3), _r(x), _r(y), _r(z, 1)]
        packets.append({
            "id": f"{t.node}/{t.id}", "name": f"{t.node} {t.id}",
            "description": f"class {t.missile_class or '-'}; nations {', '.join(t.nations)}",
            "availability": f"{_iso(pic.epoch_ns, t.t_s[0])}/{_iso(pic.epoch_ns, t.t_s[-1])}",
            "position": {"epoch": _iso(pic.epoch_ns, t.t_s[0]), "cartographicDegrees": cart},
            "point": {"pixelSize": 8, "color": {"rgba": [255, 165, 0, 255]}},
            "path": {"width": 2, "leadTime": 0, "trailTime": 600, "material": {"solidColor": {"color": {"rgba": [255, 255, 255, 200]}}}},
        })
        if t.ellipse:
            flat = []
            for x, y in t.ellipse[:-1]:
                flat += [_r(x), _r(y), 0.0]
            packets.append({"id": f"{t.node}/{t.id}/impact95", "name": f"{t.node} {t.id} impact 95%",
                            "polygon": {"positions": {"cartographicDegrees": flat},
                                        "material": {"solidColor": {"color": {"rgba": [255, 0, 0, 90]}}}}})
    for a in pic.areas:
        for i, poly in enumerate(getattr(a["geometry"], "geoms", [a["geometry"]])):
            flat = []
            for x, y in list(poly.exterior.coords)[:-1]:
                flat += [_r(x), _r(y), 0.0]
            packets.append({"id": f"area/{a['id']}/{i}", "name": a["name"],
                            "polygon": {"positions": {"cartographicDegrees": flat},
                                        "material": {"solidColor": {"color": {"rgba": [255, 215, 0, 50]}}}}})
    return json.dumps(packets)


WRITERS = {"geojson": to_geojson, "kml": to_kml, "czml": to_czml}
SUFFIX = {"geojson": ".geojson", "kml": ".kml", "czml": ".czml"}
