"""`warnlink report`: the after-action report of a real (short) run."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from warnlink.cli import app


def test_report_writes_html_and_every_plot_it_links(memory_run, tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", str(memory_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert {"M1-map.png", "M1-iip.png", "M1-timeline.png", "latency.png"} <= set(images)
    for name in images:
        data = (out / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 10_000, name
    assert "JPN-EEZ" in page and "1 true, 0 false, 0 missed" in page


def test_report_of_a_directory_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "run.json is missing" in " ".join(result.output.split())
