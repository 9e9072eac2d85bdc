"""Shared fixtures: one short end-to-end run in memory, reused by the tests that read run
directories; and the benchmarks' scripts, run and imported as their tests need them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SHORT_SCENARIO = Path(__file__).parent / "scenarios" / "short_srbm.toml"
ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``benchmarks/<script>`` run as a user runs it, on this checkout's ``src``."""
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True,
                          timeout=timeout, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})


def benchmark_module(script: str):
    """``benchmarks/<script>`` imported as a module, to test its parts."""
    spec = importlib.util.spec_from_file_location(Path(script).stem, ROOT / "benchmarks" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def memory_run(tmp_path_factory):
    """The short SRBM scenario run with the in-memory exchange (about 10 s)."""
    from warnlink.runner import RunOptions, run_scenario
    from warnlink.scenario.loader import load_scenario

    out = tmp_path_factory.mktemp("run-memory")
    run_scenario(load_scenario(SHORT_SCENARIO), out, RunOptions(transport="memory"))
    return out
