"""Bundled geographic data: alert areas and basemap outlines, validated at the edge.

All geometry here is in lon/lat degrees (WGS84), the order GeoJSON uses, as
shapely objects. The bundled files are built from Natural Earth (public domain)
by ``tools/build_geodata.py``; nothing is downloaded at run time.

- :func:`load_area` reads an alert area from a GeoJSON file (scenario ``geojson = ...``).
- :func:`polygon_from_coordinates` checks an inline ``polygon = [[lon, lat], ...]``.
- :func:`contains_lonlat` tests many points against an area at once (vectorized).
- :func:`basemap` / :func:`basemap_outlines` give country shapes for maps and plots.

Every problem with an input raises :class:`GeoDataError` (a ``ValueError``)
whose message names the file (if any) and what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity

__all__ = [
    "AREAS_DIR",
    "DATA_DIR",
    "GeoDataError",
    "basemap",
    "basemap_outlines",
    "contains_lonlat",
    "load_area",
    "polygon_from_coordinates",
]

_PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = _PACKAGE_DIR / "data"
"""Basemaps: ``basemap_50m.geojson`` (region 95..180E, 5S..70N), ``world_110m.geojson``."""
AREAS_DIR = _PACKAGE_DIR / "scenarios" / "areas"
"""Bundled alert areas: ``jpn_land``, ``kor_land``, ``jpn_eez``, ``kor_eez`` (``.geojson``)."""

_BASEMAP_FILES = {"50m": "basemap_50m.geojson", "110m": "world_110m.geojson"}
_POLYGONAL = ("Polygon", "MultiPolygon")


class GeoDataError(ValueError):
    """A geographic input (file or inline polygon) is unreadable or invalid."""


# --------------------------------------------------------------------------- checks


def _check_range(coords: np.ndarray, where: str) -> None:
    """Raise unless every [lon, lat] is finite and within [-180, 180] x [-90, 90]."""
    if coords.size == 0:
        return
    if not np.all(np.isfinite(coords)):
        raise GeoDataError(f"{where}: coordinates must be finite numbers")
    lon_deg, lat_deg = coords[:, 0], coords[:, 1]
    bad = (np.abs(lon_deg) > 180.0) | (np.abs(lat_deg) > 90.0)
    if bad.any():
        lon, lat = coords[np.argmax(bad)]
        raise GeoDataError(
            f"{where}: coordinate [{lon:g}, {lat:g}] out of range "
            "(need lon in [-180, 180], lat in [-90, 90]; GeoJSON order is [lon, lat])"
        )


def _check_valid(geom, where: str) -> None:
    """Raise with shapely's reason (and the place, in [lon, lat]) if geom is not valid."""
    if geom.is_valid:
        return
    reason = explain_validity(geom)
    m = re.match(r"\s*(.*?)\s*\[\s*(\S+)\s+(\S+)\s*\]", reason)
    if m and "self-intersection" in m.group(1).lower():
        raise GeoDataError(
            f"{where}: polygon self-intersects near [{float(m.group(2)):.4f}, {float(m.group(3)):.4f}] ({reason})"
        )
    raise GeoDataError(f"{where}: invalid geometry: {reason}")


# --------------------------------------------------------------------------- inline polygon


def polygon_from_coordinates(coords: Sequence[Sequence[float]], *, where: str = "polygon") -> Polygon:
    """Build a Polygon from ``[[lon_deg, lat_deg], ...]`` as written in a scenario file.

    The ring must have at least 4 points, be closed (first point == last point),
    stay within lon [-180, 180] / lat [-90, 90], and not self-intersect.
    ``where`` prefixes error messages (e.g. ``"scen.toml: areas[2].polygon"``).
    """
    try:
        arr = np.asarray(coords, dtype=float)
    except (TypeError, ValueError) as exc:
        raise GeoDataError(f"{where}: expected a list of [lon, lat] number pairs ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise GeoDataError(f"{where}: expected a list of [lon, lat] pairs, got an array of shape {arr.shape}")
    if len(arr) < 4:
        raise GeoDataError(
            f"{where}: polygon needs at least 4 points (a closed triangle), got {len(arr)}"
        )
    _check_range(arr, where)
    if not np.array_equal(arr[0], arr[-1]):
        raise GeoDataError(
            f"{where}: polygon is not closed: first point {arr[0].tolist()} != last point {arr[-1].tolist()}"
        )
    poly = Polygon(arr)
    _check_valid(poly, where)
    if poly.area == 0.0:
        raise GeoDataError(f"{where}: polygon has zero area")
    return poly


# --------------------------------------------------------------------------- GeoJSON files


def _geometries(doc, where: str) -> list[dict]:
    """The geometry objects of a FeatureCollection, Feature or bare geometry."""
    if not isinstance(doc, dict) or "type" not in doc:
        raise GeoDataError(f"{where}: not a GeoJSON object (no 'type')")
    kind = doc["type"]
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise GeoDataError(f"{where}: FeatureCollection has no 'features' list")
        return [g for f in feats for g in _geometries(f, where)]
    if kind == "Feature":
        geom = doc.get("geometry")
        return [] if geom is None else _geometries(geom, where)
    if kind == "GeometryCollection":
        return [g for sub in doc.get("geometries", []) for g in _geometries(sub, where)]
    return [doc]


def load_area(path: str | Path) -> Polygon | MultiPolygon:
    """Read an alert area from a GeoJSON file; returns one (Multi)Polygon in lon/lat degrees.

    Accepts a FeatureCollection, a Feature or a bare geometry; all Polygon and
    MultiPolygon parts are united (other geometry types are ignored).  Raises
    :class:`GeoDataError` naming the file if it cannot be read, is not JSON,
    holds no polygon, has coordinates out of range or invalid geometry.
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GeoDataError(f"{where}: cannot read alert area file ({exc.__class__.__name__}: {exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GeoDataError(f"{where}: not JSON ({exc})") from None

    polys = []
    for i, g in enumerate(_geometries(doc, where)):
        if g.get("type") not in _POLYGONAL:
            continue
        try:
            geom = shape(g)
        except Exception as exc:  # shapely raises several types on malformed coordinates
            raise GeoDataError(f"{where}: malformed {g.get('type')} #{i} ({exc})") from None
        _check_range(shapely.get_coordinates(geom), where)
        _check_valid(geom, where)
        if not geom.is_empty:
            polys.append(geom)
    if not polys:
        raise GeoDataError(f"{where}: contains no Polygon or MultiPolygon geometry")
    area = polys[0] if len(polys) == 1 else shapely.union_all(polys)
    if area.geom_type not in _POLYGONAL:  # e.g. union of polygons meeting only at edges
        area = MultiPolygon([p for p in shapely.get_parts(area) if p.geom_type == "Polygon"])
    return area


def contains_lonlat(area, lon_deg, lat_deg) -> np.ndarray:
    """Boolean array: which points (lon_deg, lat_deg arrays, broadcast) are inside ``area``.

    Vectorized through shapely's prepared geometry; points on the boundary count as inside.
    """
    shapely.prepare(area)
    lon = np.asarray(lon_deg, dtype=float)
    lat = np.asarray(lat_deg, dtype=float)
    return shapely.intersects_xy(area, lon, lat)


# --------------------------------------------------------------------------- basemap


@lru_cache(maxsize=4)
def _basemap(resolution: str) -> tuple[tuple[str, object], ...]:
    try:
        name = _BASEMAP_FILES[resolution]
    except KeyError:
        raise GeoDataError(f"unknown basemap resolution {resolution!r}; use one of {sorted(_BASEMAP_FILES)}") from None
    doc = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    return tuple((f["properties"].get("name", ""), shape(f["geometry"])) for f in doc["features"])


def basemap(resolution: str = "50m") -> list[tuple[str, Polygon | MultiPolygon]]:
    """Country shapes as ``(name, geometry)``, lon/lat degrees.

    ``"50m"``: Natural Earth 1:50m clipped to lon 95..180, lat -5..70 (the
    north-west Pacific theatre); ``"110m"``: the whole world at 1:110m.
    """
    return list(_basemap(resolution))


def basemap_outlines(resolution: str = "50m") -> list[np.ndarray]:
    """Every ring (exteriors and holes) of the basemap as an ``(N, 2)`` array of [lon, lat] degrees.

    Ready for plotting: ``for r in basemap_outlines(): ax.plot(r[:, 0], r[:, 1])``.
    """
    rings = []
    for _, geom in _basemap(resolution):
        for poly in shapely.get_parts(geom):
            rings.append(shapely.get_coordinates(poly.exterior))
            rings.extend(shapely.get_coordinates(r) for r in poly.interiors)
    return rings
