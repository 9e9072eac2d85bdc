"""Releasability: rules applied per partner before a message leaves its node, checked on what arrived."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import numpy as np
import pytest
from typer.testing import CliRunner

from warnlink.archive import read_archive
from warnlink.cli import app
from warnlink.exchange.envelope import Envelope
from warnlink.exchange.policy import PartnerRelease, PolicyError, apply_release, load_policy
from warnlink.messages import LaunchEvent, TrackReport, decode_wire, pack_covariance, unpack_covariance

from conftest import SHORT_SCENARIO

POLICIES = Path(__file__).parent / "policies"
NOW = 1_700_000_000 * 10**9


def _track(sensors=("USA-SHIP1",)):
    return TrackReport(origin="USA", track_id="USA-T1", time_ns=NOW, state_ecef=[-3123456.0, 4012345.0, 3987654.0, 1, 2, 3],
                       covariance=pack_covariance(np.eye(6) * 100.0), boost_probability=0.0, initiated_ns=NOW,
                       updates=9, accel_ecef=[0.1, 0.2, 0.3], accel_covariance=[0.0] * 18 + [1.0, 0, 0, 1.0, 0, 1.0],
                       sensors=list(sensors))


def test_rules():
    t = _track()
    assert apply_release(PartnerRelease(), t, False) == t
    assert apply_release(PartnerRelease(release=False), t, True) is None
    assert apply_release(PartnerRelease(only_threatening=True), t, False) is None
    assert apply_release(PartnerRelease(only_threatening=True), t, True) == t
    assert apply_release(PartnerRelease(sensors=["OTHER"]), t, False) is None
    coarse = apply_release(PartnerRelease(withhold=["sensors", "accel_ecef"], position_precision_m=10000), t, False)
    assert coarse.sensors == [] and coarse.accel_ecef == [] and coarse.accel_covariance == []
    assert coarse.state_ecef[:3] == [-3120000.0, 4010000.0, 3990000.0] and coarse.state_ecef[3:] == [1, 2, 3]
    P = unpack_covariance(coarse.covariance)
    assert P[0, 0] == pytest.approx(100.0 + 1e8 / 12)
    event = LaunchEvent(origin="USA", event_id="USA-L1", time_ns=NOW, lat_rad=0.6812, lon_rad=2.2201,
                        sigma_position_m=5000.0, sigma_time_s=3.0, detected_ns=NOW, sensors=["USA-IR1"])
    assert apply_release(PartnerRelease(only_threatening=True), event, False) is None
    rounded = apply_release(PartnerRelease(position_precision_m=10000, withhold=["sensors"]), event, False)
    assert rounded.sensors == [] and rounded.sigma_position_m > 5000.0 and rounded.lat_rad != event.lat_rad


def test_bad_policy_files(tmp_path):
    def write(text):
        path = tmp_path / "USA.toml"
        path.write_text(text)
        return path

    with pytest.raises(PolicyError, match="unknown field `colour`"):
        load_policy(write('nation = "USA"\ncolour = 1\n'))
    with pytest.raises(PolicyError, match="position_precision_m"):
        load_policy(write('nation = "USA"\n[default]\nposition_precision_m = -5\n'))
    with pytest.raises(PolicyError, match="partners.PRK"):
        load_policy(write('nation = "USA"\n[partners.PRK]\nrelease = false\n'), ["ROK", "JPN", "USA"])
    with pytest.raises(PolicyError, match="'fields'"):
        load_policy(write('nation = "USA"\n[default]\nwithhold = ["fields"]\n'))


def _received(run_dir: Path, nation: str, origin: str) -> list:
    out = []
    for entry in read_archive(run_dir / "archive" / f"{nation}.msgs"):
        if entry.direction == "received" and entry.subject.split(".")[2] == origin:
            out.append(decode_wire(msgspec.msgpack.decode(entry.data, type=Envelope).body))
    return out


@pytest.mark.slow
def test_a_partner_receives_only_what_it_is_entitled_to(tmp_path):
    result = CliRunner().invoke(app, ["run", str(SHORT_SCENARIO), "--out", str(tmp_path), "--policies", str(POLICIES),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["messages"]["withheld"] > 0 and metrics["messages"]["lost"] == 0
    # ROK: the SRBM comes down in Japan's EEZ and threatens nothing of ROK's: no USA track arrived.
    assert not [b for b in _received(tmp_path, "ROK", "USA") if isinstance(b, TrackReport)]
    # JPN: USA's tracks arrived, without sensor identities or accelerations, on a 10 km grid.
    tracks = [b for b in _received(tmp_path, "JPN", "USA") if isinstance(b, TrackReport) and b.status == "active"]
    assert tracks
    for b in tracks:
        assert b.sensors == [] and b.accel_ecef == []
        assert all(abs(v / 10000.0 - round(v / 10000.0)) < 1e-9 for v in b.state_ecef[:3])
    # The warning still goes out: ROK's and JPN's own radars carry the picture.
    assert metrics["alerts"]["true"] == 1 and metrics["alerts"]["false"] == 0 and metrics["alerts"]["missed"] == 0
    # The bad policy directory is refused with a clear error.
    bad = CliRunner().invoke(app, ["run", str(SHORT_SCENARIO), "--out", str(tmp_path / "x"), "--policies",
                                   str(tmp_path / "none")])
    assert bad.exit_code == 2
