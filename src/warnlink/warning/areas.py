"""Warning areas: a nation's polygon in lon/lat degrees with its alert threshold and kinds.

Geometry is validated and prepared once here (shapely.prepare), so the probability code,
called for every track and area every second, never pays for preparation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

WARN_KINDS = ("impact", "overflight")


class AreaError(ValueError):
    """An area definition that cannot be used; the message names the area and the fault."""


@dataclass(eq=False)
class Area:
    """One warning area. ``geometry`` is a shapely (Multi)Polygon in lon/lat degrees."""

    id: str
    nation: str
    geometry: Polygon | MultiPolygon
    name: str = ""
    threshold: float = 0.01
    warn: tuple[str, ...] = ("impact",)
    bounds_deg: tuple[float, float, float, float] = field(init=False)  # lon0, lat0, lon1, lat1

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.id
        if not 0.0 < self.threshold <= 1.0:
            raise AreaError(f"area {self.id!r}: threshold {self.threshold} is not in (0, 1]")
        bad = [k for k in self.warn if k not in WARN_KINDS]
        if bad:
            raise AreaError(f"area {self.id!r}: unknown warn kind(s) {bad}; use {WARN_KINDS}")
        self.warn = tuple(self.warn)
        self.geometry = _clean_geometry(self.geometry, self.id)
        shapely.prepare(self.geometry)
        self.bounds_deg = tuple(float(v) for v in self.geometry.bounds)

    @property
    def centre_lon_deg(self) -> float:
        return 0.5 * (self.bounds_deg[0] + self.bounds_deg[2])


def as_area(area_or_geometry) -> Area:
    """An Area for an Area or a bare shapely geometry (wrapped once and cached on it)."""
    if isinstance(area_or_geometry, Area):
        return area_or_geometry
    cached = _WRAPPED.get(id(area_or_geometry))
    if cached is not None and cached[0] is area_or_geometry:
        return cached[1]
    area = Area(id="area", nation="", geometry=area_or_geometry)
    _WRAPPED[id(area_or_geometry)] = (area_or_geometry, area)
    return area


_WRAPPED: dict[int, tuple[object, Area]] = {}


def _clean_geometry(geometry, area_id: str):
    if not isinstance(geometry, (Polygon, MultiPolygon)):
        raise AreaError(f"area {area_id!r}: geometry is {geometry.geom_type}, not a (Multi)Polygon")
    if geometry.is_empty:
        raise AreaError(f"area {area_id!r}: geometry is empty")
    if not geometry.is_valid:
        fixed = shapely.make_valid(geometry)
        parts = [p for g in shapely.get_parts(fixed) for p in shapely.get_parts(g)]
        polys = [p for p in parts if p.geom_type == "Polygon" and not p.is_empty]
        if not polys:
            raise AreaError(f"area {area_id!r}: geometry is invalid and cannot be repaired")
        geometry = polys[0] if len(polys) == 1 else MultiPolygon(polys)
    return geometry


def load_geojson_geometry(path: str | Path, area_id: str = "area"):
    """The union of the polygons of a GeoJSON file (FeatureCollection, Feature or geometry)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AreaError(f"area {area_id!r}: cannot read GeoJSON {path}: {exc}") from exc
    if doc.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in doc.get("features", [])]
    elif doc.get("type") == "Feature":
        geoms = [doc.get("geometry")]
    else:
        geoms = [doc]
    try:
        shapes = [shape(g) for g in geoms if g]
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise AreaError(f"area {area_id!r}: bad GeoJSON geometry in {path}: {exc}") from exc
    polys = [s for s in shapes if s.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        raise AreaError(f"area {area_id!r}: no Polygon or MultiPolygon in {path}")
    return polys[0] if len(polys) == 1 else shapely.union_all(polys)


def areas_from_config(configs: Iterable, base_dir: str | Path = ".") -> list[Area]:
    """Areas from scenario ``[[areas]]`` entries (warnlink.scenario.config.AreaConfig)."""
    areas = []
    for c in configs:
        if (c.geojson is None) == (c.polygon is None):
            raise AreaError(f"area {c.id!r}: give exactly one of 'geojson' or 'polygon'")
        if c.geojson is not None:
            geometry = load_geojson_geometry(Path(base_dir) / c.geojson, c.id)
        else:
            if len(c.polygon) < 3 or any(len(p) != 2 for p in c.polygon):
                raise AreaError(f"area {c.id!r}: 'polygon' needs >= 3 [lon_deg, lat_deg] pairs")
            geometry = Polygon(c.polygon)
        areas.append(Area(id=c.id, nation=c.nation, geometry=geometry, name=c.name or c.id,
                          threshold=c.threshold, warn=tuple(c.warn)))
    return areas
