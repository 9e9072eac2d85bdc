"""Scenario files: every packaged scenario loads and flies; every kind of bad input gets one clear
message naming the file, the key and the value, exit status 2 and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from warnlink.cli import app
from warnlink.scenario.loader import PACKAGED, load_scenario

GOOD = """
[scenario]
name = "t"
epoch = "2024-01-01T00:00:00Z"
duration_s = 600

[[nations]]
id = "ROK"

[[nations]]
id = "JPN"

[[sensors]]
id = "R1"
nation = "ROK"
type = "radar"
lat_deg = 36.5
lon_deg = 127.3
p_detect = 0.9

[[launches]]
id = "M1"
site_lat_deg = 39.0
site_lon_deg = 127.5
time_s = 10
azimuth_deg = 90
range_km = 500
apogee_km = 120

[[areas]]
id = "A1"
nation = "JPN"
polygon = [[135.0, 37.0], [136.0, 37.0], [136.0, 38.0], [135.0, 38.0], [135.0, 37.0]]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def _check(path: Path):
    return CliRunner().invoke(app, ["check", str(path)])


def test_every_packaged_scenario_loads_and_flies():
    files = sorted(PACKAGED.glob("*.toml"))
    assert any(f.name == "demo.toml" for f in files) and len(files) >= 6
    for f in files:
        result = _check(f)
        assert result.exit_code == 0, (f.name, result.output)


def test_a_good_file_gets_its_defaults(tmp_path):
    s = load_scenario(_write(tmp_path, GOOD))
    assert s.config.scenario.seed == 0
    assert s.config.sensors[0].false_alarm_rate == 0.0 and s.config.sensors[0].latency_s == 0.0
    assert s.areas[0].warn == ("impact",) and s.areas[0].threshold == 0.01
    assert s.epoch_ns == 1704067200 * 10**9


BAD = [
    # (what to change, text fragments the message must contain)
    (("[scenario]\n", "[scenario]\ncolour = \"red\"\n"), ["scenario.colour", "unknown key"]),
    (('p_detect = 0.9', 'p_detect = 0.9\nfrequency_ghz = 3'), ["sensors[0].frequency_ghz", "unknown key"]),
    (("duration_s = 600", 'duration_s = "long"'), ["scenario.duration_s", "expected `float`", "'long'"]),
    (("lat_deg = 36.5", "lat_deg = 95"), ["sensors[0] (R1).lat_deg", "95", "[-90.0, 90.0]"]),
    (("range_km = 500", "range_km = -500"), ["launches[0] (M1).range_km", "-500"]),
    (("apogee_km = 120", "apogee_km = -5"), ["launches[0] (M1).apogee_km", "-5"]),
    (("p_detect = 0.9", "p_detect = 1.5"), ["sensors[0] (R1).p_detect", "1.5", "[0.0, 1.0]"]),
    (('nation = "ROK"\ntype', 'nation = "PRK"\ntype'), ["sensors[0] (R1).nation", "'PRK'", "not a declared nation"]),
    (('[135.0, 38.0], [135.0, 37.0]]', '[135.0, 38.0], [135.0, 37.5]]'), ["areas[0] (A1).polygon", "not closed"]),
    (('polygon = [[135.0, 37.0], [136.0, 37.0], [136.0, 38.0], [135.0, 38.0], [135.0, 37.0]]',
      'polygon = [[135.0, 37.0], [136.0, 38.0], [136.0, 37.0], [135.0, 38.0], [135.0, 37.0]]'),
     ["areas[0] (A1).polygon", "Self-intersection"]),
    (('polygon = [[135.0, 37.0], [136.0, 37.0], [136.0, 38.0], [135.0, 38.0], [135.0, 37.0]]',
      'geojson = "areas/nowhere.geojson"'), ["areas[0] (A1).geojson", "nowhere.geojson", "no such file"]),
    (('epoch = "2024-01-01T00:00:00Z"', 'epoch = "yesterday"'), ["scenario.epoch", "'yesterday'"]),
    (('id = "JPN"', 'id = "jpn"'), ["nations[1].id", "'jpn'"]),
    (('range_km = 500\n', 'range_km = 500\ntarget_lat_deg = 38.0\ntarget_lon_deg = 134.0\n'),
     ["launches[0] (M1)", "either azimuth_deg and range_km, or target"]),
    (('time_s = 10', 'time_s = 900'), ["launches[0] (M1).time_s", "900"]),
    (("type = \"radar\"", "type = \"laser\""), ["sensors[0].type", "'laser'"]),
    (("[[launches]]", "[[launches]\n"), ["not valid TOML", "line"]),
    (("p_detect = 0.9", "p_detect = 0.9\noutages = [[300.0, 200.0]]"), ["sensors[0] (R1).outages[0][1]", "200.0"]),
    (("p_detect = 0.9", "p_detect = 0.9\noutages = [[100.0]]"), ["sensors[0] (R1).outages[0]", "[start_s, end_s]"]),
    (("p_detect = 0.9", "p_detect = 0.9\noutages = [[-5.0, 10.0]]"), ["sensors[0] (R1).outages[0][0]", "-5.0"]),
]


@pytest.mark.parametrize("change, expected", BAD, ids=[b[1][0] for b in BAD])
def test_bad_input_is_named(tmp_path, change, expected):
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    result = _check(path)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert str(path.name) in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_missing_file_and_impossible_flight(tmp_path):
    result = _check(tmp_path / "absent.toml")
    assert result.exit_code == 2 and "no such file" in result.output
    path = _write(tmp_path, GOOD.replace("range_km = 500", "range_km = 19000").replace("apogee_km = 120", "apogee_km = 10"))
    result = _check(path)
    assert result.exit_code == 2 and "M1" in result.output


def test_plot_writes_a_png_and_refuses_bad_output(tmp_path):
    path = _write(tmp_path, GOOD)
    out = tmp_path / "s.png"
    result = CliRunner().invoke(app, ["plot", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    assert CliRunner().invoke(app, ["plot", str(path), "--out", str(tmp_path / "s.jpg")]).exit_code == 2
    assert CliRunner().invoke(app, ["plot", str(path), "--out", str(tmp_path / "no" / "s.png")]).exit_code == 2
