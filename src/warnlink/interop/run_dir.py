"""A run directory written by ``warnlink run``, read back for exports and reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import msgspec

from warnlink.evaluation.records import NodeRecord


class RunDirError(ValueError):
    """A directory that is not a (complete) warnlink run; the message names the missing piece."""


@dataclass
class Run:
    path: Path
    info: dict  # run.json
    metrics: dict
    records: dict[str, NodeRecord]

    @cached_property
    def scenario(self):
        from warnlink.scenario.loader import ScenarioError, load_scenario

        try:
            return load_scenario(self.info["scenario_path"])
        except ScenarioError as exc:
            raise RunDirError(f"{self.path}: the run's scenario cannot be loaded: {exc}") from exc

    @cached_property
    def world(self):
        from warnlink.scenario.world import build_world

        return build_world(self.scenario, self.seed)

    @property
    def seed(self) -> int | None:
        """The seed the run was made with (it draws the truth as well as the noise)."""
        return self.metrics.get("run", {}).get("seed")

    @property
    def epoch_ns(self) -> int:
        return int(self.info["epoch_ns"])


def load_run(run_dir) -> Run:
    path = Path(run_dir)
    if not path.is_dir():
        raise RunDirError(f"{path}: no such directory")
    try:
        info = json.loads((path / "run.json").read_text())
        metrics = json.loads((path / "metrics.json").read_text())
    except FileNotFoundError as exc:
        raise RunDirError(f"{path}: {Path(exc.filename).name} is missing (is this a warnlink run directory?)") from None
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: unreadable run files ({exc})") from None
    records = {}
    for nation in info.get("nations", []):
        file = path / "records" / f"{nation}.json"
        try:
            records[nation] = msgspec.json.decode(file.read_bytes(), type=NodeRecord)
        except FileNotFoundError:
            raise RunDirError(f"{file}: missing") from None
        except msgspec.DecodeError as exc:
            raise RunDirError(f"{file}: {exc}") from None
    return Run(path, info, metrics, records)
