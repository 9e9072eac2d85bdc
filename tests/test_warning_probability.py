"""Impact and overflight probabilities against analytic values; truth helpers."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import ncx2, norm
from shapely.geometry import MultiPolygon, Polygon, box

from warnlink import frames
from warnlink.warning import geo
from warnlink.warning.areas import Area
from warnlink.warning.probability import (
    area_hit_by_truth,
    impact_probabilities,
    impact_probability,
    overflight_probability,
    truth_impact_in_area,
    truth_overflight_entry_s,
)

LAT0, LON0 = np.radians(38.0), np.radians(135.0)


def geodesic_circle(lat_rad, lon_rad, radius_m, n=720):
    az = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    lat, lon = frames.geodesic_direct(np.full(n, lat_rad), np.full(n, lon_rad), az, np.full(n, radius_m))
    return Polygon(np.stack([np.degrees(lon), np.degrees(lat)], -1))


def test_small_gaussian_in_big_square_is_near_one():
    area = box(130.0, 33.0, 140.0, 43.0)
    assert impact_probability(LAT0, LON0, np.diag([2e7, 5e7]), area) > 0.999


def test_far_away_is_zero():
    area = box(130.0, 33.0, 140.0, 43.0)
    assert impact_probability(np.radians(10.0), np.radians(100.0), np.diag([1e8, 1e8]), area) == 0.0
    # just beyond the sampled tail but inside the 6-sigma quick-reject distance: still 0
    far = box(135.6, 37.0, 136.0, 39.0)  # ~53 km east of the mean; sigma 5 km
    assert impact_probability(LAT0, LON0, np.diag([2.5e7, 2.5e7]), far) == 0.0


@pytest.mark.parametrize("cov", [np.diag([1e8, 1e8]), np.array([[4e8, 1.5e8], [1.5e8, 1e8]])])
def test_centred_on_meridian_edge_is_half(cov):
    east_half = box(135.0, 30.0, 145.0, 46.0)  # straight western edge through the mean
    assert impact_probability(LAT0, LON0, cov, east_half) == pytest.approx(0.5, abs=0.01)
    north_half = box(125.0, 38.0, 145.0, 46.0)  # the parallel is tangent to east at the mean
    assert impact_probability(LAT0, LON0, cov, north_half) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("radius_sigmas", [0.5, 1.0, 2.0, 3.0])
def test_centred_circle_matches_chi_square(radius_sigmas):
    sigma_m = 20e3
    area = geodesic_circle(LAT0, LON0, radius_sigmas * sigma_m)
    expected = 1.0 - np.exp(-0.5 * radius_sigmas**2)  # chi-square(2) CDF at r^2 / sigma^2
    got = impact_probability(LAT0, LON0, np.diag([sigma_m**2] * 2), area)
    assert got == pytest.approx(expected, abs=0.01)


def test_offset_circle_matches_noncentral_chi_square():
    sigma_m, radius_m, offset_m = 30e3, 45e3, 40e3
    lat_c, lon_c = frames.geodesic_direct(LAT0, LON0, np.radians(60.0), offset_m)
    area = geodesic_circle(float(lat_c), float(lon_c), radius_m)
    expected = ncx2.cdf((radius_m / sigma_m) ** 2, df=2, nc=(offset_m / sigma_m) ** 2)
    got = impact_probability(LAT0, LON0, np.diag([sigma_m**2] * 2), area)
    assert got == pytest.approx(expected, abs=0.01)


def test_ellipse_polygon_holds_its_confidence():
    cov = np.array([[9e8, 3e8], [3e8, 2e8]])
    ellipse = geo.Ellipse.from_covariance(LAT0, LON0, cov, confidence=0.6)
    lat_deg, lon_deg = ellipse.boundary_lat_lon_deg(720)
    assert impact_probability(LAT0, LON0, cov, Polygon(np.stack([lon_deg, lat_deg], -1))) == pytest.approx(0.6, abs=0.01)


def test_deterministic_in_process_and_across_processes():
    area = geodesic_circle(LAT0, LON0, 25e3)
    cov = np.array([[4e8, 1e8], [1e8, 3e8]])
    first = impact_probability(LAT0, LON0, cov, area)
    assert all(impact_probability(LAT0, LON0, cov, area) == first for _ in range(3))
    code = ("import numpy as np; from shapely.geometry import box; "
            "from warnlink.warning.probability import impact_probability as p; "
            "print(repr(p(np.radians(38.0), np.radians(135.0), np.diag([4e8, 9e8]), box(135.1, 37.0, 136.0, 39.0))))")
    src = str(Path(__file__).resolve().parents[1] / "src")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONPATH": src}).stdout for _ in range(2)}
    assert len(runs) == 1
    assert float(runs.pop()) == impact_probability(LAT0, LON0, np.diag([4e8, 9e8]), box(135.1, 37.0, 136.0, 39.0))


def test_batch_equals_single_calls():
    area = box(134.8, 37.5, 135.5, 38.6)
    lats = np.radians([38.0, 38.2, 30.0])
    lons = np.radians([135.0, 135.3, 120.0])
    covs = np.array([np.diag([1e8, 2e8]), [[3e8, -1e8], [-1e8, 1e8]], np.diag([1e8, 1e8])])
    batch = impact_probabilities(lats, lons, covs, area)
    singles = [impact_probability(a, b, c, area) for a, b, c in zip(lats, lons, covs)]
    assert list(batch) == singles
    assert batch[2] == 0.0 and 0.0 < batch[0] < 1.0


def test_singular_covariance_is_accepted_and_bad_rejected():
    area = box(135.0, 30.0, 145.0, 46.0)
    assert impact_probability(LAT0, LON0, np.diag([1e8, 0.0]), area) == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ValueError):
        impact_probability(LAT0, LON0, np.array([[np.nan, 0], [0, 1.0]]), area)


def test_antimeridian_area():
    area = Area(id="A", nation="USA", geometry=box(179.0, 50.0, 181.0, 53.0))
    assert impact_probability(np.radians(51.5), np.radians(-179.8), np.diag([1e6, 1e6]), area) > 0.999
    assert impact_probability(np.radians(51.5), np.radians(179.8), np.diag([1e6, 1e6]), area) > 0.999


def test_tangent_plane_to_lat_lon_is_exact_to_a_metre_at_3000_km():
    rng = np.random.default_rng(3)
    east, north = rng.uniform(-3e6, 3e6, (2, 500))
    lat, lon = geo.enu_offsets_to_lat_lon_rad(east, north, LAT0, LON0)
    ref_lat, ref_lon, _ = frames.ecef_to_geodetic(frames.enu_to_ecef(np.stack([east, north, 0 * east], -1), LAT0, LON0))
    assert np.abs(lat - ref_lat).max() * 6.4e6 < 1.0
    assert np.abs(lon - ref_lon).max() * 6.4e6 < 1.0


def test_displaced_tracks_follow_the_geodesic():
    rng = np.random.default_rng(4)
    lat, lon = np.radians(rng.uniform(-60, 60, 200)), np.radians(rng.uniform(-180, 180, 200))
    az = rng.uniform(0.0, 2.0 * np.pi, 200)
    for dist_m, tol_m in [(50e3, 10.0), (100e3, 40.0), (200e3, 300.0)]:
        d_lat, d_lon = geo.displaced_tracks_rad(lat, lon, az, np.full(200, dist_m), np.array([1.0, -1.0]))
        for row, sign in [(0, 1.0), (1, -1.0)]:
            ref_lat, ref_lon = frames.geodesic_direct(lat, lon, az + (sign < 0) * np.pi, np.full(200, dist_m))
            d_lon_rad = np.angle(np.exp(1j * (d_lon[row] - ref_lon)))
            err_m = np.hypot(d_lat[row] - ref_lat, d_lon_rad * np.cos(lat)) * 6.371e6
            assert err_m.max() < tol_m


# -- overflight -------------------------------------------------------------------------------

def equator_track(n=201):
    lon = np.radians(np.linspace(130.0, 140.0, n))
    return np.zeros(n), lon, np.linspace(0.0, 500.0, n)


def test_track_through_area_is_certain_and_indexed():
    lat, lon, times = equator_track()
    area = box(134.0, -1.0, 136.0, 1.0)
    p, first = overflight_probability(lat, lon, np.full(lat.size, 5e3), area)
    assert p == 1.0
    assert np.degrees(lon[first]) <= 134.0 <= np.degrees(lon[first + 1])


def test_track_beside_area_matches_normal_tail():
    lat, lon, _ = equator_track()
    sigma_m = 55e3
    area = box(134.0, 0.5, 136.0, 10.0)  # 0.5 deg north of the track
    offset_m = np.radians(0.5) * np.sqrt(np.prod(geo.radii_of_curvature_m(0.0)))
    p, first = overflight_probability(lat, lon, sigma_m, area)
    assert p == pytest.approx(norm.sf(offset_m / sigma_m), abs=0.01)
    assert first is not None
    far, none = overflight_probability(lat, lon, 1e3, area)
    assert (far, none) == (0.0, None)


def test_growing_sigma_matters_only_where_it_grows():
    lat, lon, _ = equator_track()
    area = box(130.5, 0.5, 131.0, 10.0)  # near the start of the track, where sigma is small
    sigma = np.linspace(100.0, 200e3, lat.size)
    p_start, _ = overflight_probability(lat, lon, sigma, area)
    p_end, _ = overflight_probability(lat, lon, sigma, box(139.0, 0.5, 140.0, 10.0))
    assert p_start < 0.01 and 0.3 < p_end


def test_truth_helpers():
    lat, lon, times = equator_track()
    area = Area(id="B", nation="JPN", geometry=box(135.0, -1.0, 136.0, 1.0), warn=("impact", "overflight"))
    assert truth_overflight_entry_s(lat, lon, times, area) == pytest.approx(250.0, abs=1e-6)
    assert truth_overflight_entry_s(lat + np.radians(3.0), lon, times, area) is None
    assert truth_impact_in_area(0.0, np.radians(135.5), area)
    assert not truth_impact_in_area(0.0, np.radians(137.0), area)
    assert area_hit_by_truth(area, "impact", 0.0, np.radians(135.5), 480.0) == (True, 480.0)
    assert area_hit_by_truth(area, "overflight", 0.0, lon[-1], 500.0, lat, lon, times)[0]


def test_multipolygon_is_the_sum_of_its_disjoint_parts():
    parts = [geodesic_circle(LAT0, LON0 + np.radians(dx), 18e3, n=180) for dx in (-0.5, 0.0, 0.6)]
    multi = Area(id="M", nation="JPN", geometry=MultiPolygon(parts))
    cov = np.array([[6e8, 2e8], [2e8, 3e8]])
    p_parts = [impact_probability(LAT0, LON0, cov, part) for part in parts]
    assert impact_probability(LAT0, LON0, cov, multi) == pytest.approx(sum(p_parts), abs=1e-12)
    assert all(p > 0.01 for p in p_parts)


def test_areas_from_scenario_config(tmp_path):
    import json

    from warnlink.scenario.config import AreaConfig
    from warnlink.warning.areas import AreaError, areas_from_config

    (tmp_path / "a.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {
            "type": "Polygon", "coordinates": [[[130, 30], [131, 30], [131, 31], [130, 31], [130, 30]]]}}]}))
    configs = [AreaConfig(id="G", nation="JPN", geojson="a.geojson", warn=["impact", "overflight"]),
               AreaConfig(id="P", nation="ROK", polygon=[[126, 34], [129, 34], [129, 38]], threshold=0.05)]
    g, p = areas_from_config(configs, tmp_path)
    assert g.bounds_deg == (130.0, 30.0, 131.0, 31.0) and g.warn == ("impact", "overflight")
    assert p.threshold == 0.05 and p.name == "P"
    with pytest.raises(AreaError, match="'X'"):
        areas_from_config([AreaConfig(id="X", nation="JPN", geojson="missing.geojson")], tmp_path)
    with pytest.raises(AreaError, match="threshold"):
        Area(id="T", nation="JPN", geometry=box(0, 0, 1, 1), threshold=0.0)
    bowtie = Area(id="B", nation="JPN", geometry=Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]))
    assert bowtie.geometry.is_valid and bowtie.geometry.area == pytest.approx(0.5)
