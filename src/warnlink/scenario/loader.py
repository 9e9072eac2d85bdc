"""Scenario files (CONTRACT.md section 1): TOML in, a typed, checked :class:`Scenario` out.

Every fault gets one message naming the file, the key and the value, e.g.
``demo.toml: sensors[2] (ROK-R1).p_detect: 1.5 is not in [0, 1]``. Types and unknown
keys are checked by msgspec against :mod:`warnlink.scenario.config`; ranges, cross
references (a sensor's nation must be declared) and areas are checked here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import msgspec
import shapely
from shapely.geometry import Polygon

from warnlink.scenario.config import ScenarioConfig
from warnlink.warning.areas import Area, AreaError, load_geojson_geometry

PACKAGED = Path(__file__).resolve().parent.parent / "scenarios"
NATION_RE = re.compile(r"^[A-Z]{2,8}$")
HALF_CIRCUMFERENCE_KM = 20_000.0


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

    def sensors_of(self, nation: str) -> list:
        return [s for s in self.config.sensors if s.nation == nation]

    def areas_of(self, nation: str) -> list[Area]:
        return [a for a in self.areas if a.nation == nation]


def load_scenario(path) -> Scenario:
    """Read, type-check and validate a scenario file; ScenarioError names the first fault."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = msgspec.convert(raw, ScenarioConfig)
    except msgspec.ValidationError as exc:
        raise ScenarioError(f"{path}: {_explain(exc, raw)}") from None
    check = _Checker(path)
    check.config(config)
    epoch_ns = _epoch_ns(config.scenario.epoch, check)
    areas = [_area(c, i, path, check) for i, c in enumerate(config.areas)]
    return Scenario(path, config, epoch_ns, areas)


def _explain(exc: msgspec.ValidationError, raw: dict) -> str:
    """msgspec's message as 'key: problem (got value)'."""
    text = str(exc)
    match = re.match(r"(.*) - at `\$(.*)`$", text)
    if not match:
        return text
    problem, where = match.group(1), match.group(2)
    key = where.lstrip(".")
    unknown = re.match(r"Object contains unknown field `(.+)`", problem)
    if unknown:
        return f"{key + '.' if key else ''}{unknown.group(1)}: unknown key"
    value = _lookup(raw, where)
    shown = "" if value is _MISSING else f" (got {value!r})"
    return f"{key}: {problem[0].lower() + problem[1:]}{shown}"


_MISSING = object()


def _lookup(raw, where: str):
    node = raw
    for name, index in re.findall(r"\.([A-Za-z_0-9]+)|\[(\d+)\]", where):
        try:
            node = node[name] if name else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


class _Checker:
    """Range and cross-reference checks; the first failure raises ScenarioError."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str):
        raise ScenarioError(f"{self.path}: {key}: {message}")

    def range(self, key: str, value, lo=None, hi=None, lo_open=False, hi_open=False) -> None:
        if value is None:
            return
        if not math.isfinite(value):
            self.fail(key, f"{value} is not a finite number")
        bad = ((lo is not None and (value <= lo if lo_open else value < lo))
               or (hi is not None and (value >= hi if hi_open else value > hi)))
        if bad:
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            self.fail(key, f"{value} is not in {left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}")

    def config(self, c: ScenarioConfig) -> None:
        s = c.scenario
        if not s.name.strip():
            self.fail("scenario.name", "must not be empty")
        self.range("scenario.duration_s", s.duration_s, 0.0, None, lo_open=True)
        self.range("scenario.seed", s.seed, 0)
        if not c.nations:
            self.fail("nations", "declare at least one [[nations]]")
        nations = set()
        for i, n in enumerate(c.nations):
            if not NATION_RE.match(n.id):
                self.fail(f"nations[{i}].id", f"{n.id!r} is not 2-8 upper-case letters")
            if n.id in nations:
                self.fail(f"nations[{i}].id", f"{n.id!r} is declared twice")
            nations.add(n.id)
        self._unique("sensors", [x.id for x in c.sensors])
        for i, x in enumerate(c.sensors):
            k = f"sensors[{i}] ({x.id})"
            if x.nation not in nations:
                self.fail(f"{k}.nation", f"{x.nation!r} is not a declared nation ({', '.join(sorted(nations))})")
            self.range(f"{k}.lat_deg", x.lat_deg, -90.0, 90.0)
            self.range(f"{k}.lon_deg", x.lon_deg, -180.0, 360.0)
            self.range(f"{k}.alt_m", x.alt_m, -500.0, 100e3)
            self.range(f"{k}.half_width_deg", x.half_width_deg, 0.0, 180.0, lo_open=True)
            self.range(f"{k}.min_elevation_deg", x.min_elevation_deg, -10.0, 90.0)
            self.range(f"{k}.max_elevation_deg", x.max_elevation_deg, x.min_elevation_deg, 90.0, lo_open=True)
            self.range(f"{k}.max_range_km", x.max_range_km, 0.0, None, lo_open=True)
            for name in ("sigma_range_m", "sigma_azimuth_mrad", "sigma_elevation_mrad", "sigma_los_urad", "revisit_s"):
                self.range(f"{k}.{name}", getattr(x, name), 0.0, None, lo_open=True)
            self.range(f"{k}.p_detect", x.p_detect, 0.0, 1.0)
            self.range(f"{k}.false_alarm_rate", x.false_alarm_rate, 0.0, None)
            self.range(f"{k}.latency_s", x.latency_s, 0.0, None)
            self.range(f"{k}.min_altitude_km", x.min_altitude_km, 0.0, None)
            for name in ("bias_azimuth_mrad", "bias_elevation_mrad", "bias_range_m"):
                self.range(f"{k}.{name}", getattr(x, name), None, None)
            for j, outage in enumerate(x.outages):
                if len(outage) != 2:
                    self.fail(f"{k}.outages[{j}]", f"{outage!r} is not a [start_s, end_s] pair")
                self.range(f"{k}.outages[{j}][0]", outage[0], 0.0, None)
                self.range(f"{k}.outages[{j}][1]", outage[1], outage[0], None, lo_open=True)
        self._unique("launches", [x.id for x in c.launches])
        for i, x in enumerate(c.launches):
            k = f"launches[{i}] ({x.id})"
            self.range(f"{k}.site_lat_deg", x.site_lat_deg, -90.0, 90.0)
            self.range(f"{k}.site_lon_deg", x.site_lon_deg, -180.0, 360.0)
            self.range(f"{k}.time_s", x.time_s, 0.0, s.duration_s, hi_open=True)
            self.range(f"{k}.apogee_km", x.apogee_km, 0.0, None, lo_open=True)
            by_bearing = x.azimuth_deg is not None or x.range_km is not None
            by_target = x.target_lat_deg is not None or x.target_lon_deg is not None
            if by_bearing == by_target:
                self.fail(k, "give either azimuth_deg and range_km, or target_lat_deg and target_lon_deg")
            if by_bearing and (x.azimuth_deg is None or x.range_km is None):
                self.fail(k, "azimuth_deg and range_km go together")
            if by_target and (x.target_lat_deg is None or x.target_lon_deg is None):
                self.fail(k, "target_lat_deg and target_lon_deg go together")
            self.range(f"{k}.azimuth_deg", x.azimuth_deg, -360.0, 360.0)
            self.range(f"{k}.range_km", x.range_km, 0.0, HALF_CIRCUMFERENCE_KM, lo_open=True)
            self.range(f"{k}.target_lat_deg", x.target_lat_deg, -90.0, 90.0)
            self.range(f"{k}.target_lon_deg", x.target_lon_deg, -180.0, 360.0)
        self._unique("areas", [x.id for x in c.areas])
        for i, x in enumerate(c.areas):
            k = f"areas[{i}] ({x.id})"
            if x.nation not in nations:
                self.fail(f"{k}.nation", f"{x.nation!r} is not a declared nation ({', '.join(sorted(nations))})")
            self.range(f"{k}.threshold", x.threshold, 0.0, 1.0, lo_open=True)
            if not x.warn or len(set(x.warn)) != len(x.warn):
                self.fail(f"{k}.warn", f"{x.warn!r}: list each kind once, at least one")
            if (x.geojson is None) == (x.polygon is None):
                self.fail(k, "give exactly one of geojson or polygon")

    def _unique(self, table: str, ids: list[str]) -> None:
        seen = set()
        for i, ident in enumerate(ids):
            if not ident.strip():
                self.fail(f"{table}[{i}].id", "must not be empty")
            if ident in seen:
                self.fail(f"{table}[{i}].id", f"{ident!r} is used twice")
            seen.add(ident)


def _epoch_ns(text: str, check: _Checker) -> int:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        check.fail("scenario.epoch", f"{text!r} is not an ISO 8601 time such as 2023-12-18T00:24:00Z")
    if when.tzinfo is None:
        check.fail("scenario.epoch", f"{text!r} has no time zone (end it with Z for UTC)")
    when = when.astimezone(dt.timezone.utc)
    return int(when.replace(microsecond=0).timestamp()) * 1_000_000_000 + when.microsecond * 1000


def _area(c, i: int, path: Path, check: _Checker) -> Area:
    key = f"areas[{i}] ({c.id})"
    if c.geojson is not None:
        candidates = [path.parent / c.geojson, PACKAGED / c.geojson]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            check.fail(f"{key}.geojson", f"{c.geojson!r}: no such file next to the scenario "
                                         f"({candidates[0]}) or among the packaged areas")
        try:
            geometry = load_geojson_geometry(found, c.id)
        except AreaError as exc:
            check.fail(f"{key}.geojson", str(exc))
    else:
        points = c.polygon
        if len(points) < 4:
            check.fail(f"{key}.polygon", f"{len(points)} points: a closed ring needs at least 4")
        for j, p in enumerate(points):
            if len(p) != 2:
                check.fail(f"{key}.polygon[{j}]", f"{p!r} is not [lon_deg, lat_deg]")
            check.range(f"{key}.polygon[{j}] latitude", p[1], -90.0, 90.0)
            check.range(f"{key}.polygon[{j}] longitude", p[0], -180.0, 360.0)
        if list(points[0]) != list(points[-1]):
            check.fail(f"{key}.polygon", f"not closed: first point {points[0]} differs from last {points[-1]}")
        geometry = Polygon(points)
        if not geometry.is_valid:
            check.fail(f"{key}.polygon", f"not a simple polygon: {shapely.is_valid_reason(geometry)}")
    try:
        return Area(id=c.id, nation=c.nation, geometry=geometry, name=c.name or c.id, threshold=c.threshold,
                    warn=tuple(c.warn))
    except AreaError as exc:
        check.fail(key, str(exc))
