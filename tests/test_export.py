"""`warnlink export`: a run's picture in GeoJSON, KML and CZML, each read back by a library made for it."""

from __future__ import annotations

import json

import czml3
import geojson
import shapely.geometry
from fastkml import kml
from typer.testing import CliRunner

from warnlink.cli import app


def _export(run_dir, fmt, tmp_path, *extra):
    out = tmp_path / f"x.{fmt}"
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", fmt, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out.read_text()


def test_geojson(memory_run, tmp_path):
    text = _export(memory_run, "geojson", tmp_path)
    doc = geojson.loads(text)
    assert doc.is_valid, doc.errors()
    kinds = {f["properties"]["kind"] for f in doc["features"]}
    assert {"track", "impact_ellipse_95", "impact_point", "launch_point", "area"} <= kinds
    tracks = [f for f in doc["features"] if f["properties"]["kind"] == "track"]
    assert {f["properties"]["node"] for f in tracks} == {"ROK", "JPN", "USA"}
    # The SRBM comes down in Japan's EEZ: the exported ellipse overlaps the exported area.
    eez = next(f for f in doc["features"] if f["properties"].get("id") == "JPN-EEZ")
    assert any(a["msg_type"] == "Alert" for a in eez["properties"]["alerts"])
    ellipse = next(f for f in doc["features"] if f["properties"]["kind"] == "impact_ellipse_95")
    assert shapely.geometry.shape(eez["geometry"]).intersects(shapely.geometry.shape(ellipse["geometry"]))


def test_kml(memory_run, tmp_path):
    text = _export(memory_run, "kml", tmp_path, "--nation", "JPN")
    doc = kml.KML.from_string(text.encode())
    document = doc.features[0]
    folders = {f.name: f for f in document.features}
    assert set(folders) == {"System tracks", "Warning areas"}
    placemarks = list(folders["System tracks"].features)
    assert any(p.name.startswith("JPN ST-") for p in placemarks)
    assert all(p.name.startswith("JPN") for p in placemarks)
    areas = [p.name for p in folders["Warning areas"].features]
    assert "JPN-EEZ (JPN)" in areas and not any("KOR" in a for a in areas)


def test_czml(memory_run, tmp_path):
    packets = json.loads(_export(memory_run, "czml", tmp_path))
    document = czml3.Document(packets=[czml3.Packet(**p) for p in packets])
    assert document.packets[0].id == "document"
    tracks = [p for p in document.packets if p.position is not None]
    assert len(tracks) >= 3
    assert any(p.polygon is not None and p.id.endswith("impact95") for p in document.packets)


def test_bad_export_requests(memory_run, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["export", str(memory_run), "--format", "shp"]).exit_code == 2
    assert runner.invoke(app, ["export", str(tmp_path), "--format", "kml"]).exit_code == 2
    assert runner.invoke(app, ["export", str(memory_run), "--format", "kml", "--nation", "PRK"]).exit_code == 2
