"""Typed contents of a scenario file (CONTRACT.md section 1), in the units of the file.

These Structs mirror the TOML keys one to one (degrees, kilometres, as written);
:mod:`warnlink.scenario.loader` parses and validates files into them, and the
simulation converts to SI once, where it uses them.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class _Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ScenarioHeader(_Config):
    name: str
    epoch: str  # ISO 8601 UTC, e.g. "2023-12-18T00:24:00Z"; scenario t = 0 here
    duration_s: float
    seed: int = 0


class NationConfig(_Config):
    id: str


class SensorConfig(_Config):
    id: str
    nation: str
    type: Literal["radar", "ir_satellite"]
    lat_deg: float = 0.0
    lon_deg: float = 0.0
    alt_m: float = 0.0
    # radar
    boresight_azimuth_deg: float = 0.0
    half_width_deg: float = 180.0
    min_elevation_deg: float = 0.0
    max_elevation_deg: float = 90.0
    max_range_km: float = 1000.0
    sigma_range_m: float = 50.0
    sigma_azimuth_mrad: float = 1.0
    sigma_elevation_mrad: float = 1.0
    bias_azimuth_mrad: float = 0.0  # uncorrected bias, added to every azimuth measured
    bias_elevation_mrad: float = 0.0
    bias_range_m: float = 0.0
    # infrared satellite
    sigma_los_urad: float = 50.0
    min_altitude_km: float = 10.0  # the plume is seen above the clouds only
    # both
    revisit_s: float = 1.0
    p_detect: float = 0.9
    false_alarm_rate: float = 0.0  # false plots per scan
    latency_s: float = 0.0
    outages: list[list[float]] = []  # [start_s, end_s] pairs (scenario s) when the sensor reports nothing


class LaunchConfig(_Config):
    id: str
    site_lat_deg: float
    site_lon_deg: float
    time_s: float
    apogee_km: float
    azimuth_deg: float | None = None
    range_km: float | None = None
    target_lat_deg: float | None = None
    target_lon_deg: float | None = None


class AreaConfig(_Config):
    id: str
    nation: str
    geojson: str | None = None
    polygon: list[list[float]] | None = None
    threshold: float = 0.01
    warn: list[Literal["impact", "overflight"]] = msgspec.field(default_factory=lambda: ["impact"])
    name: str | None = None  # human-readable, for alerts; defaults to id


class ScenarioConfig(_Config):
    scenario: ScenarioHeader
    nations: list[NationConfig]
    sensors: list[SensorConfig] = msgspec.field(default_factory=list)
    launches: list[LaunchConfig] = msgspec.field(default_factory=list)
    areas: list[AreaConfig] = msgspec.field(default_factory=list)
