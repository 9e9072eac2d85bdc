#!/usr/bin/env python3
"""Build warnlink's bundled geographic data from Natural Earth (public domain).

What it writes (all GeoJSON, lon/lat degrees, WGS84, coordinates rounded to
4 decimals, about 10 m):

    src/warnlink/scenarios/areas/jpn_land.geojson   Japan's land (1:10m)
    src/warnlink/scenarios/areas/kor_land.geojson   Republic of Korea's land (1:10m)
    src/warnlink/scenarios/areas/jpn_eez.geojson    APPROXIMATE Japanese EEZ
    src/warnlink/scenarios/areas/kor_eez.geojson    APPROXIMATE Korean EEZ
    src/warnlink/data/basemap_50m.geojson           countries 1:50m, lon 95..180, lat -5..70
    src/warnlink/data/world_110m.geojson            all countries 1:110m

Source: the npm package ``world-atlas`` version 2.0.2 (Natural Earth 4.1.0
admin-0 countries, converted to TopoJSON by Mike Bostock; public domain).
Nothing is downloaded at run time; this script is run by hand when the data
should change, and its outputs are committed.

How to run (from the repository root)::

    mkdir -p /tmp/wa && (cd /tmp/wa && npm install world-atlas@2.0.2)
    pip install pycountry        # build-time only: numeric -> alpha-3 codes
    PYTHONPATH=src python tools/build_geodata.py --world-atlas /tmp/wa/node_modules/world-atlas

The approximate EEZ (no official EEZ data set is available to this project):
sea within 200 nautical miles of the nation's land AND closer to that land
than to any other country's land (an equidistance / median line), minus land.
The 200 nmi buffer is made per island group in an azimuthal equidistant
projection centred on that group (radius error well under 1 %); the
equidistance line comes from a Voronoi diagram of coastline points spaced
``--spacing-km`` apart, in one azimuthal equidistant projection centred on the
nation (distances between two coasts ~1500 km from its centre are ~1 % off,
about 1 km on a 100 km strait); changing the spacing from 1 to 4 km moves the
area by < 0.001 %.

Islands and their attribution are those of Natural Earth (de facto control):
the southern Kuril Islands are Russia's, Takeshima/Dokdo is South Korea's, the
Senkaku Islands are Japan's, and Okinotorishima is absent at 1:10m, so the EEZ
around it (about 0.43 million km2, claimed by Japan, disputed) is missing.

TopoJSON is decoded here in a few lines of Python rather than with npm
``topojson-client``: the format is small (quantized, delta-encoded arcs plus a
transform), and keeping the whole build in one Python process avoids a second
toolchain step and a Node/Python hand-off file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pycountry
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.polygon import orient

WORLD_ATLAS_VERSION = "2.0.2"
NMI_M = 1852.0
EEZ_RADIUS_M = 200 * NMI_M
ROOT = Path(__file__).resolve().parent.parent
AREAS_DIR = ROOT / "src" / "warnlink" / "scenarios" / "areas"
DATA_DIR = ROOT / "src" / "warnlink" / "data"
DECIMALS = 4


# --------------------------------------------------------------------------- TopoJSON


def _decode_arcs(topo: dict) -> list[np.ndarray]:
    """Absolute lon/lat (deg) of every arc: undo delta encoding, apply the transform."""
    scale = np.asarray(topo["transform"]["scale"], dtype=float)
    translate = np.asarray(topo["transform"]["translate"], dtype=float)
    return [np.cumsum(np.asarray(a, dtype=float), axis=0) * scale + translate for a in topo["arcs"]]


def _ring(arc_ids: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    """Stitch arcs into one ring; a negative index ~i means arc i reversed."""
    parts = []
    for k, i in enumerate(arc_ids):
        pts = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(pts if k == 0 else pts[1:])  # consecutive arcs share an end point
    return np.concatenate(parts)


def _geometry(obj: dict, arcs: list[np.ndarray]):
    """Shapely geometry of one TopoJSON Polygon / MultiPolygon object (None if empty)."""
    if obj["type"] == "Polygon":
        polys = [obj["arcs"]]
    elif obj["type"] == "MultiPolygon":
        polys = obj["arcs"]
    else:
        return None
    out = []
    for rings in polys:
        coords = [_ring(r, arcs) for r in rings]
        # Quantization collapses the tiniest islets to < 4 points: zero area, drop them.
        coords = [c for c in coords if len(c) >= 4]
        if coords:
            out.append(Polygon(coords[0], coords[1:]))
    return _polygonal(MultiPolygon(out)) if out else None


def read_countries(path: Path) -> list[dict]:
    """Countries of a world-atlas file as dicts: name, iso_n3, iso_a3, geometry."""
    topo = json.loads(path.read_text())
    arcs = _decode_arcs(topo)
    out = []
    for obj in topo["objects"]["countries"]["geometries"]:
        geom = _geometry(obj, arcs)
        if geom is None or geom.is_empty:
            continue
        iso_n3 = obj.get("id")
        country = pycountry.countries.get(numeric=iso_n3) if iso_n3 else None
        out.append(
            {
                "name": obj["properties"]["name"],
                "iso_n3": iso_n3,
                "iso_a3": country.alpha_3 if country else None,
                "geometry": geom,
            }
        )
    return out


def by_name(countries: list[dict], name: str):
    (c,) = [c for c in countries if c["name"] == name]
    return c["geometry"]


# --------------------------------------------------------------------------- output


def _polygonal(geom):
    """Keep only the polygon parts of a geometry (make_valid may add lines/points)."""
    geom = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    parts = [p for g in parts for p in shapely.get_parts(g)]
    if not parts:
        return MultiPolygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def rounded(geom):
    """Round to DECIMALS, then repair: rounding can make thin slivers self-touch."""
    geom = shapely.set_precision(geom, 10.0**-DECIMALS)
    return _polygonal(geom)


def write_collection(path: Path, features: list[tuple[dict, object]]) -> None:
    """Write a FeatureCollection compactly, coordinates rounded to DECIMALS."""

    def fix(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(float(v), DECIMALS) for v in c]
        return [fix(x) for x in c]

    feats = []
    for props, geom in features:
        g = mapping(geom)
        feats.append({"type": "Feature", "properties": props, "geometry": {"type": g["type"], "coordinates": fix(g["coordinates"])}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, separators=(",", ":")) + "\n")
    print(f"wrote {path.relative_to(ROOT)}  {path.stat().st_size / 1e3:.0f} kB")


# --------------------------------------------------------------------------- EEZ


def _aeqd(lat0_deg: float, lon0_deg: float):
    """(forward, inverse) shapely transforms between lon/lat degrees and an aeqd in metres."""
    crs = f"+proj=aeqd +lat_0={lat0_deg} +lon_0={lon0_deg} +datum=WGS84 +units=m"
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform

    def to_m(g):
        return shapely.transform(g, lambda xy: np.column_stack(fwd(xy[:, 0], xy[:, 1])))

    def to_deg(g):
        return shapely.transform(g, lambda xy: np.column_stack(inv(xy[:, 0], xy[:, 1])))

    return to_m, to_deg


def _buffer_deg(land, radius_m: float):
    """Land buffered by radius_m, in lon/lat degrees.

    Each island group is buffered in its own aeqd projection centred on it, so
    the radius is right to well under 1 % even 2000 km from the nation's centre
    (one shared projection would be ~1.5 % = 3 nmi off at Minamitorishima).
    """
    parts = list(shapely.get_parts(land))
    # Group parts whose centres are within 300 km (~3 deg) so big islands stay whole.
    centres = shapely.get_coordinates(shapely.centroid(parts))
    groups: dict[tuple[int, int], list] = {}
    for part, (lon, lat) in zip(parts, centres):
        groups.setdefault((round(lon / 3.0), round(lat / 3.0)), []).append(part)
    out = []
    for members in groups.values():
        group = shapely.union_all(members)
        lon0, lat0 = shapely.get_coordinates(group.centroid)[0]
        to_m, to_deg = _aeqd(lat0, lon0)
        out.append(to_deg(to_m(group).buffer(radius_m, quad_segs=32)))
    return shapely.union_all(out)


def geodesic_area_km2(geom) -> float:
    """Area on the WGS84 ellipsoid (aeqd is not equal-area: ~1.5 % off at 2000 km)."""
    geod = Geod(ellps="WGS84")
    return sum(abs(geod.geometry_area_perimeter(orient(p, 1.0))[0]) for p in shapely.get_parts(geom)) / 1e6


def _coast_points(geom, spacing_m: float) -> np.ndarray:
    """Points every spacing_m along all ring boundaries of a projected geometry."""
    dense = shapely.segmentize(geom.boundary, spacing_m)
    return shapely.get_coordinates(dense)


def approximate_eez(own, others: list, lat0_deg: float, lon0_deg: float, spacing_km: float, simplify_km: float):
    """Sea within 200 nmi of `own` land and nearer to it than to any land in `others`.

    All geometries in lon/lat degrees; the median line is worked out in an
    azimuthal equidistant projection centred at (lat0_deg, lon0_deg).
    Returns (eez in lon/lat, its geodesic area in km2).
    """
    to_m, to_deg = _aeqd(lat0_deg, lon0_deg)
    own_m = to_m(own)
    zone_m = to_m(_buffer_deg(own, EEZ_RADIUS_M))
    # Only foreign land that could be nearer than 200 nmi matters: within 400 nmi.
    reach_deg = to_deg(own_m.buffer(2 * EEZ_RADIUS_M, quad_segs=8))
    near = [g.intersection(reach_deg) for g in others if g.intersects(reach_deg)]
    other_m = to_m(shapely.union_all([g for g in near if not g.is_empty]))

    spacing_m = spacing_km * 1e3
    own_pts = _coast_points(own_m, spacing_m)
    other_pts = _coast_points(other_m, spacing_m)
    pts = np.vstack([own_pts, other_pts])
    # Voronoi of coastline points: the union of the cells of our own points is
    # the region nearer to our coast than to theirs (up to the point spacing).
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=zone_m.buffer(1e5))
    cells = np.asarray(shapely.get_parts(cells))
    # voronoi_polygons does not keep input order: match cells to points by containment.
    tree = shapely.STRtree(cells)
    _, cell_idx = tree.query(shapely.points(own_pts), predicate="intersects")
    own_cells = cells[np.unique(cell_idx)]
    nearer_m = shapely.union_all(shapely.make_valid(own_cells), grid_size=1.0)  # 1 m grid: robust

    # Simplify the sea limits first, then cut out the land at full resolution, so
    # that simplification never moves the EEZ onto land.
    sea_m = zone_m.intersection(nearer_m).simplify(simplify_km * 1e3, preserve_topology=True)
    eez = _polygonal(_polygonal(to_deg(sea_m)).difference(own).difference(shapely.union_all(near)))
    return eez, geodesic_area_km2(eez)


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world-atlas", type=Path, required=True, help="path to node_modules/world-atlas")
    ap.add_argument("--spacing-km", type=float, default=2.0, help="coastline point spacing for the median line")
    ap.add_argument("--simplify-km", type=float, default=1.0, help="EEZ simplification tolerance")
    args = ap.parse_args()

    pkg = json.loads((args.world_atlas / "package.json").read_text())
    if pkg["version"] != WORLD_ATLAS_VERSION:
        print(f"warning: world-atlas {pkg['version']} != expected {WORLD_ATLAS_VERSION}")
    source = f"Natural Earth (public domain) via npm world-atlas {pkg['version']}"

    c10 = read_countries(args.world_atlas / "countries-10m.json")
    t0 = time.time()

    nations = {
        "jpn": ("Japan", "JPN", 36.0, 138.0),
        "kor": ("South Korea", "KOR", 36.0, 128.0),
    }
    for key, (name, iso_a3, lat0, lon0) in nations.items():
        land = rounded(by_name(c10, name))
        write_collection(
            AREAS_DIR / f"{key}_land.geojson",
            [({"name": f"{name} land", "iso_a3": iso_a3, "source": f"{source}, countries-10m"}, land)],
        )
        others = [c["geometry"] for c in c10 if c["name"] != name]
        eez, area_km2 = approximate_eez(land, others, lat0, lon0, args.spacing_km, args.simplify_km)
        eez = rounded(eez)
        print(f"{iso_a3} approximate EEZ {area_km2 / 1e6:.3f} million km2 ({time.time() - t0:.0f} s)")
        write_collection(
            AREAS_DIR / f"{key}_eez.geojson",
            [
                (
                    {
                        "name": f"{name} exclusive economic zone (approximate)",
                        "iso_a3": iso_a3,
                        "approximate": True,
                        "note": "approximate: 200 nmi / equidistance from Natural Earth 1:10m land; "
                        "not an official boundary. Land excluded; disputed islands follow Natural Earth.",
                        "area_km2": round(area_km2, -3),
                        "method": f"200 nmi buffers in aeqd per island group; median line from Voronoi of "
                        f"coastline points every {args.spacing_km} km in aeqd centred {lat0}N {lon0}E; "
                        f"simplified {args.simplify_km} km",
                        "source": f"{source}, countries-10m",
                    },
                    eez,
                )
            ],
        )

    c50 = read_countries(args.world_atlas / "countries-50m.json")
    region = box(95.0, -5.0, 180.0, 70.0)
    feats = []
    for c in c50:
        if c["geometry"].intersects(region):
            g = rounded(c["geometry"].intersection(region))
            if not g.is_empty:
                feats.append(({"name": c["name"], "iso_a3": c["iso_a3"], "iso_n3": c["iso_n3"]}, g))
    write_collection(DATA_DIR / "basemap_50m.geojson", feats)

    c110 = read_countries(args.world_atlas / "countries-110m.json")
    write_collection(
        DATA_DIR / "world_110m.geojson",
        [({"name": c["name"], "iso_a3": c["iso_a3"], "iso_n3": c["iso_n3"]}, rounded(c["geometry"])) for c in c110],
    )


if __name__ == "__main__":
    main()
