"""What a node records of its own picture over a run, for metrics, reports and replays.

Plain dataclasses in scenario seconds and SI units; a node appends to them as it goes
and the evaluation reads them against the truth afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SystemTrackSample:
    t_s: float
    system_track_id: str
    r_ecef_m: tuple[float, float, float]
    boost_probability: float
    nations: tuple[str, ...]
    cov_pos_m2: tuple[float, ...] = ()  # upper triangle (6) of the position covariance, for NEES
    v_ecef_mps: tuple[float, ...] = ()  # velocity (3), for velocity errors
    cov_vel_m2ps2: tuple[float, ...] = ()  # upper triangle (6) of the velocity covariance


@dataclass(frozen=True)
class PredictionSample:
    t_s: float  # when the prediction was made
    system_track_id: str
    iip_lat_rad: float
    iip_lon_rad: float
    iip_cov_en_m2: tuple[float, float, float, float]  # 2x2 east/north covariance, row by row
    impact_t_s: float  # predicted impact time (scenario s)
    impact_sigma_s: float
    missile_class: str
    class_probability: float
    lofted: bool
    apogee_m: float
    launch_lat_rad: float | None = None
    launch_lon_rad: float | None = None
    launch_t_s: float | None = None


@dataclass(frozen=True)
class AlertSample:
    t_s: float
    alert_id: str
    identifier: str
    msg_type: str  # Alert | Update | Cancel
    area_id: str
    kind: str
    system_track_id: str
    probability: float
    expected_t_s: float | None
    reason: str = ""


@dataclass
class NodeRecord:
    """Everything one nation's node recorded during a run."""

    nation: str
    tracks: list[SystemTrackSample] = field(default_factory=list)
    predictions: list[PredictionSample] = field(default_factory=list)
    alerts: list[AlertSample] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    renames: dict[str, str] = field(default_factory=dict)  # old system track id -> new
