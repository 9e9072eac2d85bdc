"""Shared fixtures: one short end-to-end run in memory, reused by the tests that read run directories."""

from __future__ import annotations

from pathlib import Path

import pytest

SHORT_SCENARIO = Path(__file__).parent / "scenarios" / "short_srbm.toml"


@pytest.fixture(scope="session")
def memory_run(tmp_path_factory):
    """The short SRBM scenario run with the in-memory exchange (about 10 s)."""
    from warnlink.runner import RunOptions, run_scenario
    from warnlink.scenario.loader import load_scenario

    out = tmp_path_factory.mktemp("run-memory")
    run_scenario(load_scenario(SHORT_SCENARIO), out, RunOptions(transport="memory"))
    return out
