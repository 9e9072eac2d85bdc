"""Scenario files (CONTRACT.md section 1): TOML in, a typed, checked :class:`Scenario` out."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

import msgspec

from warnlink.scenario.config import ScenarioConfig
from warnlink.warning.areas import Area, AreaError, areas_from_config

PACKAGED_AREAS = Path(__file__).resolve().parent.parent / "scenarios"


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file, the key and the value."""


@dataclass(frozen=True)
class Scenario:
    path: Path
    config: ScenarioConfig
    epoch_ns: int
    areas: list[Area]

    @property
    def nations(self) -> list[str]:
        return [n.id for n in self.config.nations]


def _epoch_ns(text: str, path: Path) -> int:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ScenarioError(f"{path}: scenario.epoch: {text!r} is not an ISO 8601 UTC time") from None
    if when.tzinfo is None:
        raise ScenarioError(f"{path}: scenario.epoch: {text!r} has no time zone (end it with Z)")
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def load_scenario(path) -> Scenario:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    try:
        config = msgspec.convert(raw, ScenarioConfig)
    except msgspec.ValidationError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    base = path.parent
    try:
        areas = areas_from_config(
            [c if c.geojson is None or (base / c.geojson).exists()
             else msgspec.structs.replace(c, geojson=str(PACKAGED_AREAS / c.geojson)) for c in config.areas],
            base)
    except AreaError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    return Scenario(path, config, _epoch_ns(config.scenario.epoch, path), areas)
