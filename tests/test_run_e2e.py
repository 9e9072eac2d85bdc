"""End to end: every nation's node over a real nats-server on a short scenario, then metrics.json.

One SRBM from the east coast of North Korea comes down in Japan's EEZ: every node must
hold a system track of it, predict its impact closely, and Japan's node (and only it)
must warn its EEZ before the impact; nothing may be lost on the wire. The same run in
memory must give the same picture, and the archive must replay to the same tracks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from capvalidator import Validator
from typer.testing import CliRunner

from warnlink.cli import app
from warnlink.replay import replay_run

SCENARIO = Path(__file__).parent / "scenarios" / "short_srbm.toml"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nats_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run-nats")
    result = CliRunner().invoke(app, ["run", str(SCENARIO), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def test_every_node_tracks_the_launch_and_predicts_its_impact(nats_run):
    m = _metrics(nats_run)
    (launch,) = m["launches"]
    assert launch["first_detection_s"] is not None
    for nation in ("ROK", "JPN", "USA"):
        first = launch["first_system_track_s"][nation]
        assert first is not None and first < 120.0, (nation, first)
        errors = launch["iip_error_km"][nation]
        # Radars with 1-1.5 mrad noise watch the whole midcourse: the last prediction
        # before impact is within a few km (drag and a 1 s step account for the rest).
        assert errors["final"] is not None and errors["final"] < 5.0, (nation, errors)
        assert launch["class_estimate"][nation] == "SRBM"


def test_only_japan_warns_its_eez_before_impact(nats_run):
    alerts = _metrics(nats_run)["alerts"]
    assert alerts["missed"] == 0
    assert alerts["false"] == 0
    items = [(i["area"], i["kind"], i["nation"]) for i in alerts["items"]]
    assert ("JPN-EEZ", "impact", "JPN") in items
    eez = next(i for i in alerts["items"] if i["area"] == "JPN-EEZ")
    assert eez["hit"] and eez["lead_time_s"] > 60.0


def test_nothing_lost_and_latency_measured(nats_run):
    m = _metrics(nats_run)
    assert m["messages"]["lost"] == 0
    assert m["messages"]["rejected"] == 0
    assert m["messages"]["published"] > 0
    # Every release goes to one partner on its own subject: each published copy is delivered once.
    assert m["messages"]["delivered"] == m["messages"]["published"]
    assert m["messages"]["withheld"] == 0  # no release policy: everything goes to every partner
    assert m["tracks"]["diverged"] == {"ROK": 0, "JPN": 0, "USA": 0}  # no filter left what a missile can be
    assert m["latency_ms"]["p99"] is not None and m["latency_ms"]["p99"] > 0.0


def test_cap_files_are_schema_valid_and_every_alert_is_closed(nats_run):
    files = sorted((nats_run / "alerts").glob("*.xml"))
    assert files
    for path in files:
        ok, message = Validator(path.read_bytes()).schema()
        assert ok, (path.name, message)
    texts = [p.read_text() for p in files]
    assert any("<msgType>Alert</msgType>" in t for t in texts)
    assert any("<msgType>Cancel</msgType>" in t for t in texts), "the alert was never cancelled after impact"


def test_no_nats_server_left_running(nats_run):
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended while we looked
            continue
        assert not ("nats-server" in cmd and str(nats_run) in cmd), cmd


def test_memory_transport_gives_the_same_picture(nats_run, memory_run):
    a, b = _metrics(nats_run), _metrics(memory_run)
    for key in ("launches", "alerts"):
        assert a[key] == b[key]
    for key in ("published", "delivered", "lost", "rejected"):
        assert a["messages"][key] == b["messages"][key]


def test_replay_rebuilds_the_same_system_tracks(nats_run):
    replays = replay_run(nats_run)
    assert set(replays) == {"ROK", "JPN", "USA"}
    for nation, r in replays.items():
        assert r.refused == 0
        assert r.ids_match is True, nation
        assert r.max_position_diff_m < 1e-6, (nation, r.max_position_diff_m)
    result = CliRunner().invoke(app, ["replay", str(nats_run)])
    assert result.exit_code == 0, result.output
