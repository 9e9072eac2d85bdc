"""Bundled geographic data and its loaders (warnlink.geodata).

Reference points come from public reporting of North Korean ICBM impacts,
placed with pyproj.Geod.fwd from the place named in the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point
from shapely.geometry.polygon import orient

from warnlink.geodata import (
    AREAS_DIR,
    DATA_DIR,
    GeoDataError,
    basemap,
    basemap_outlines,
    contains_lonlat,
    load_area,
    polygon_from_coordinates,
)

GEOD = Geod(ellps="WGS84")
BUNDLED = sorted(AREAS_DIR.glob("*.geojson")) + sorted(DATA_DIR.glob("*.geojson"))


def offset(lat_deg: float, lon_deg: float, azimuth_deg: float, distance_km: float) -> tuple[float, float]:
    """(lon_deg, lat_deg) reached by flying distance_km from a place along azimuth_deg."""
    lon, lat, _ = GEOD.fwd(lon_deg, lat_deg, azimuth_deg, distance_km * 1e3)
    return lon, lat


def area_km2(geom) -> float:
    """Geodesic area on the WGS84 ellipsoid (exteriors counter-clockwise, holes clockwise)."""
    return sum(abs(GEOD.geometry_area_perimeter(orient(p, 1.0))[0]) for p in shapely.get_parts(geom)) / 1e6


@pytest.fixture(scope="module")
def areas():
    return {p.stem: load_area(p) for p in AREAS_DIR.glob("*.geojson")}


# --------------------------------------------------------------------------- bundled files


def test_expected_files_are_bundled():
    names = {p.name for p in BUNDLED}
    assert {"jpn_land.geojson", "kor_land.geojson", "jpn_eez.geojson", "kor_eez.geojson"} <= names
    assert {"basemap_50m.geojson", "world_110m.geojson"} <= names
    assert (AREAS_DIR / "README.md").is_file() and (DATA_DIR / "README.md").is_file()


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_file_loads_and_is_valid(path: Path):
    geom = load_area(path)
    assert geom.geom_type in ("Polygon", "MultiPolygon")
    assert geom.is_valid and not geom.is_empty
    minx, miny, maxx, maxy = geom.bounds
    assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


@pytest.mark.parametrize("name", ["jpn_eez", "kor_eez"])
def test_eez_is_labelled_approximate_and_small(name: str):
    path = AREAS_DIR / f"{name}.geojson"
    assert path.stat().st_size < 1_000_000
    (feature,) = json.loads(path.read_text())["features"]
    assert feature["properties"]["approximate"] is True
    assert "not an official boundary" in feature["properties"]["note"]


# --------------------------------------------------------------------------- land


@pytest.mark.parametrize(
    "place, lat_deg, lon_deg, in_jpn, in_kor",
    [
        ("Tokyo", 35.68, 139.69, True, False),
        ("Sapporo", 43.06, 141.35, True, False),
        ("Naha", 26.21, 127.68, True, False),
        ("Seoul", 37.57, 126.98, False, True),
        ("Busan", 35.18, 129.08, False, True),
        ("Pyongyang", 39.03, 125.75, False, False),
    ],
)
def test_cities_on_the_right_land(areas, place, lat_deg, lon_deg, in_jpn, in_kor):
    assert areas["jpn_land"].contains(Point(lon_deg, lat_deg)) is in_jpn, place
    assert areas["kor_land"].contains(Point(lon_deg, lat_deg)) is in_kor, place


# --------------------------------------------------------------------------- EEZ


@pytest.mark.parametrize(
    "event, lon_lat_deg, in_jpn_eez",
    [
        # 2017-11-28 Hwasong-15: "inside Japan's EEZ, about 250 km west of Aomori".
        ("hs15-2017-11-28", offset(40.82, 140.74, 270, 250), True),
        # 2022-11-18 Hwasong-17: "inside Japan's EEZ, about 200 km west of Oshima-Oshima".
        ("hs17-2022-11-18", offset(41.51, 139.37, 270, 200), True),
        # 2023-12-18 Hwasong-18: "outside Japan's EEZ, about 250 km north-west of Okushiri".
        ("hs18-2023-12-18", offset(42.17, 139.47, 315, 250), False),
        # Pacific 150 km south of Tokyo, among the Izu islands.
        ("150 km south of Tokyo", offset(35.68, 139.69, 180, 150), True),
        # About 20 km off Korea's east coast (Gangneung area).
        ("off Korea east coast", (129.3, 37.5), False),
        ("Vladivostok harbour", (131.89, 43.11), False),
    ],
)
def test_jpn_eez_against_public_reporting(areas, event, lon_lat_deg, in_jpn_eez):
    assert areas["jpn_eez"].contains(Point(*lon_lat_deg)) is in_jpn_eez, (event, lon_lat_deg)


def test_korea_east_coast_point_is_in_kor_eez(areas):
    assert areas["kor_eez"].contains(Point(129.3, 37.5))


def test_jpn_eez_area():
    """Japan's official EEZ (with territorial sea) is about 4.47 million km2.

    This derivation from Natural Earth 1:10m lacks two pieces that the official
    figure includes: Okinotorishima (not in Natural Earth at 1:10m; a 200 nmi disc
    around it is ~0.43 million km2, and its status is disputed by China and the
    ROK) and the waters of the southern Kurils / Takeshima, which Natural Earth
    gives to Russia / the ROK (de facto control).  So we allow 3.5-4.2 million km2
    for the file itself, and check that adding Okinotorishima's disc brings it
    into the 4.0-4.8 million km2 band around the official figure.
    """
    eez_km2 = area_km2(load_area(AREAS_DIR / "jpn_eez.geojson"))
    assert 3.5e6 < eez_km2 < 4.2e6, eez_km2
    lon, lat, _ = GEOD.fwd(np.full(360, 136.08), np.full(360, 20.43), np.arange(360.0), np.full(360, 370.4e3))
    okinotori_km2 = area_km2(shapely.Polygon(np.column_stack([lon, lat])))
    assert 4.0e6 < eez_km2 + okinotori_km2 < 4.8e6, (eez_km2, okinotori_km2)


def test_200_nmi_limit_is_geodesic_far_from_the_projection_centre(areas):
    """Minamitorishima (24.29N 153.98E) is ~2000 km from the build's projection centre:
    its EEZ disc must still reach 200 nmi (370.4 km), give or take the island's ~1 nmi size."""
    (disc,) = [p for p in areas["jpn_eez"].geoms if p.contains(Point(155.0, 24.29))]
    lon, lat = np.asarray(disc.exterior.coords).T
    _, _, dist_m = GEOD.inv(np.full(lon.size, 153.98), np.full(lon.size, 24.29), lon, lat)
    dist_nmi = dist_m / 1852.0
    assert 199.0 < dist_nmi.min() and dist_nmi.max() < 203.0, (dist_nmi.min(), dist_nmi.max())


def test_eez_excludes_land_and_eezs_do_not_overlap(areas):
    # Land is cut out at full resolution; only rounding to 1e-4 deg (~10 m) leaves slivers.
    assert area_km2(areas["jpn_eez"].intersection(areas["jpn_land"])) < 1.0
    assert area_km2(areas["kor_eez"].intersection(areas["kor_land"])) < 1.0
    # Both follow the same median line (~1500 km long), each simplified on its own at
    # 1 km tolerance: slivers of a few hundred km2 in all are expected, not more.
    overlap_km2 = area_km2(areas["jpn_eez"].intersection(areas["kor_eez"]))
    assert overlap_km2 < 1000.0, overlap_km2


def test_contains_lonlat_is_vectorized(areas):
    lon = np.array([139.69, 126.98, 137.78])
    lat = np.array([35.68, 37.57, 40.78])
    np.testing.assert_array_equal(contains_lonlat(areas["jpn_land"], lon, lat), [True, False, False])
    np.testing.assert_array_equal(contains_lonlat(areas["jpn_eez"], lon, lat), [False, False, True])


# --------------------------------------------------------------------------- basemap


def test_basemap_50m_covers_the_region():
    countries = dict(basemap("50m"))
    assert {"Japan", "South Korea", "North Korea", "China", "Russia", "Taiwan", "Philippines"} <= set(countries)
    assert countries["Japan"].contains(Point(139.69, 35.68))
    for ring in basemap_outlines("50m"):
        assert ring.ndim == 2 and ring.shape[1] == 2
        assert ring[:, 0].min() >= 95 - 1e-9 and ring[:, 0].max() <= 180 + 1e-9
        assert ring[:, 1].min() >= -5 - 1e-9 and ring[:, 1].max() <= 70 + 1e-9


def test_basemap_110m_is_the_world():
    countries = dict(basemap("110m"))
    assert len(countries) > 150 and "Brazil" in countries
    props = json.loads((DATA_DIR / "world_110m.geojson").read_text())["features"]
    assert any(f["properties"]["iso_a3"] == "JPN" and f["properties"]["name"] == "Japan" for f in props)


def test_basemap_unknown_resolution():
    with pytest.raises(GeoDataError, match="unknown basemap resolution"):
        basemap("10m")


# --------------------------------------------------------------------------- load_area errors


def _write(tmp_path: Path, name: str, content) -> Path:
    p = tmp_path / name
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    return p


def _feature(ring):
    return {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


SQUARE = [[130.0, 30.0], [131.0, 30.0], [131.0, 31.0], [130.0, 31.0], [130.0, 30.0]]
BOWTIE = [[130.0, 30.0], [131.0, 31.0], [131.0, 30.0], [130.0, 31.0], [130.0, 30.0]]


def test_load_area_accepts_collection_feature_and_bare_geometry(tmp_path):
    other = [[132.0, 30.0], [133.0, 30.0], [133.0, 31.0], [132.0, 30.0]]
    fc = {"type": "FeatureCollection", "features": [_feature(SQUARE), _feature(other)]}
    assert load_area(_write(tmp_path, "fc.geojson", fc)).geom_type == "MultiPolygon"
    assert load_area(_write(tmp_path, "f.geojson", _feature(SQUARE))).area == pytest.approx(1.0)
    bare = {"type": "Polygon", "coordinates": [SQUARE]}
    assert load_area(_write(tmp_path, "g.json", bare)).area == pytest.approx(1.0)


def test_load_area_missing_file(tmp_path):
    with pytest.raises(GeoDataError, match=r"nope\.geojson.*cannot read"):
        load_area(tmp_path / "nope.geojson")


def test_load_area_not_json(tmp_path):
    with pytest.raises(GeoDataError, match=r"bad\.geojson: not JSON"):
        load_area(_write(tmp_path, "bad.geojson", "{type: FeatureCollection"))


def test_load_area_no_polygon(tmp_path):
    doc = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [130, 30]}, "properties": {}}
    with pytest.raises(GeoDataError, match=r"pt\.geojson: contains no Polygon"):
        load_area(_write(tmp_path, "pt.geojson", doc))


def test_load_area_self_intersecting(tmp_path):
    with pytest.raises(GeoDataError, match=r"bow\.geojson: polygon self-intersects near \[130\.5000, 30\.5000\]"):
        load_area(_write(tmp_path, "bow.geojson", _feature(BOWTIE)))


def test_load_area_out_of_range(tmp_path):
    ring = [[130.0, 30.0], [131.0, 30.0], [131.0, 95.0], [130.0, 30.0]]
    with pytest.raises(GeoDataError, match=r"lat\.geojson: coordinate \[131, 95\] out of range"):
        load_area(_write(tmp_path, "lat.geojson", _feature(ring)))


def test_load_area_malformed_coordinates(tmp_path):
    doc = {"type": "Polygon", "coordinates": [[130.0, 30.0], [131.0, 30.0]]}
    with pytest.raises(GeoDataError, match=r"mal\.geojson: malformed Polygon"):
        load_area(_write(tmp_path, "mal.geojson", doc))


def test_load_area_not_geojson(tmp_path):
    with pytest.raises(GeoDataError, match="not a GeoJSON object"):
        load_area(_write(tmp_path, "list.geojson", [1, 2, 3]))


# --------------------------------------------------------------------------- inline polygons


def test_polygon_from_coordinates_ok():
    poly = polygon_from_coordinates(SQUARE)
    assert poly.is_valid and poly.area == pytest.approx(1.0)


@pytest.mark.parametrize(
    "coords, message",
    [
        (SQUARE[:-1], r"polygon is not closed: first point \[130\.0, 30\.0\] != last point \[130\.0, 31\.0\]"),
        (BOWTIE, r"polygon self-intersects near \[130\.5000, 30\.5000\]"),
        ([[130, 30], [131, 30], [131, 95], [130, 30]], r"coordinate \[131, 95\] out of range"),
        ([[130, 30], [131, 30], [130, 30]], r"at least 4 points.*got 3"),
        ([[130, 30, 0], [131, 30, 0], [131, 31, 0], [130, 30, 0]], r"list of \[lon, lat\] pairs"),
        ([[130, "x"], [131, 30], [131, 31], [130, 30]], r"list of \[lon, lat\] number pairs"),
        ([[130, 30], [131, 30], [132, 30], [130, 30]], r"zero area|invalid geometry|self-intersects"),
    ],
    ids=["open", "bowtie", "lat95", "too-few", "3d", "not-number", "degenerate"],
)
def test_polygon_from_coordinates_errors(coords, message):
    with pytest.raises(GeoDataError, match=message):
        polygon_from_coordinates(coords, where="scen.toml: areas[0].polygon")
