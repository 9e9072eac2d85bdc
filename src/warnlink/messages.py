"""Wire types: every message warnlink puts on a network or in an archive, in one place.

Messages are msgspec Structs, encoded as MessagePack. They are frozen, keyword-only,
and decoding rejects unknown fields, wrong types and out-of-range values with an error
that names the field. Each message carries ``schema_version``; a receiver refuses a
version it does not speak instead of guessing.

Sensor reports carry only what a sensor measures and knows about itself (where it is,
how noisy it is), never the truth it measured. Plots are encoded as short arrays
(``array_like``) because they are the bulk of the traffic.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, TypeVar

import msgspec
import numpy as np
from msgspec import Meta

SCHEMA_VERSION = 1

NonEmptyStr = Annotated[str, Meta(min_length=1, max_length=64)]
TimeNs = Annotated[int, Meta(ge=0)]  # UTC, integer nanoseconds since 1970-01-01
NonNegative = Annotated[float, Meta(ge=0.0)]
Azimuth = Annotated[float, Meta(ge=0.0, lt=2.0 * math.pi)]
Elevation = Annotated[float, Meta(ge=-math.pi / 2, le=math.pi / 2)]
Latitude = Annotated[float, Meta(ge=-math.pi / 2, le=math.pi / 2)]
Longitude = Annotated[float, Meta(ge=-math.pi, le=math.pi)]
Vec3 = tuple[float, float, float]


class MessageError(ValueError):
    """A message could not be decoded or failed validation; the text says why."""


class _Wire(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Base of all wire types."""


class _Plot(_Wire, array_like=True):
    """Base of plot types: encoded as a positional array."""


def _check_finite(name: str, values) -> None:
    # NaN and infinities survive a sum (inf - inf is NaN); finite coordinates cannot overflow it.
    if not math.isfinite(sum(values)):
        raise ValueError(f"{name} must be finite")


# What a track may say and still be a missile's: beyond these a state is a diverged filter or
# a corrupt message. Finite values far beyond them, unchecked, broke a fusion's matrix
# inverse (a partner's variance of 1e300 m^2: LinAlgError, the node down) or its prediction
# (a diverged filter's thrust of 1e14 m/s^2: NaN in every node's picture).
MAX_TRACK_NORMS = (1e8, 1e5, 1e4)  # |position| from the Earth's centre m, speed m/s, |acceleration| m/s^2
MAX_TRACK_SIGMA = (1e7, 1e5, 1e4)  # per axis, the same three
_PARTS = ("position", "velocity", "acceleration")
_CORRELATION_TOLERANCE = 1e-6  # a filter's rounding, not a covariance that is not one


def track_problems(x: np.ndarray, P: np.ndarray) -> list[str]:
    """Why each track estimate (states x (n, 6) or (n, 9) with ``a``, covariances P (n, m, m))
    is no missile's, "" where it may be: not finite, or a position, speed, acceleration or
    sigma beyond MAX_TRACK_NORMS / MAX_TRACK_SIGMA. Vectorized: a tracker checks every model
    of every track at every step."""
    x, P = np.asarray(x, float), np.asarray(P, float)
    parts = x.shape[1] // 3
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(x).all(axis=1) & np.isfinite(P).all(axis=(1, 2))
        norms = np.stack([np.linalg.norm(x[:, 3 * k:3 * k + 3], axis=1) for k in range(parts)], axis=1)
        sigmas = np.sqrt(np.abs(np.diagonal(P, axis1=1, axis2=2))).reshape(len(x), parts, 3).max(axis=2)
    over_norm = norms > np.array(MAX_TRACK_NORMS[:parts])
    over_sigma = sigmas > np.array(MAX_TRACK_SIGMA[:parts])
    out = [""] * len(x)
    for i in np.nonzero(~finite | over_norm.any(axis=1) | over_sigma.any(axis=1))[0]:
        out[i] = "state or covariance not finite" if not finite[i] else _beyond(norms[i], sigmas[i])
    return out


def _beyond(norms, sigmas) -> str:
    """The first of a track's norms and per-axis sigmas (position, velocity, acceleration, as
    many as given) over its bound, "" if none is."""
    for k, value in enumerate(norms):
        if value > MAX_TRACK_NORMS[k]:
            return f"{_PARTS[k]} {value:.3g} beyond {MAX_TRACK_NORMS[k]:.0e} (SI)"
    for k, value in enumerate(sigmas):
        if value > MAX_TRACK_SIGMA[k]:
            return f"{_PARTS[k]} sigma {value:.3g} beyond {MAX_TRACK_SIGMA[k]:.0e} (SI)"
    return ""


def _bounds_problem(x: list[float], P: list[list[float]]) -> str:
    """:func:`_beyond` of a state (6 or 9 values, or none) and a covariance as lists."""
    norms = [math.hypot(*x[k:k + 3]) for k in range(0, len(x), 3)]
    sigmas = [math.sqrt(max(abs(P[i][i]) for i in range(k, k + 3))) for k in range(0, len(P), 3)]
    return _beyond(norms, sigmas)


def _covariance_problem(P: list[list[float]]) -> str:
    """Why P (m x m lists) cannot be a covariance as far as its pairs tell (a negative variance,
    a correlation above 1), "" if it can. Plain Python: a 6x6 or 9x9 per message, where
    numpy's per-call cost would be most of decoding it (eigvalsh: 80x msgspec's own)."""
    m = len(P)
    for i in range(m):
        if P[i][i] < 0.0:
            return f"negative variance {P[i][i]:.3g} at {i}"
    for i in range(m):
        for j in range(i + 1, m):
            if P[i][j] * P[i][j] > P[i][i] * P[j][j] * (1.0 + _CORRELATION_TOLERANCE) + 1e-300:
                return f"not a covariance: correlation above 1 between {i} and {j}"
    return ""


class _Message(_Wire, kw_only=True, tag_field="kind"):
    """Base of top-level messages: tagged, versioned."""

    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"unsupported schema_version {self.schema_version} (this node speaks {SCHEMA_VERSION})"
            )


# --- Sensor reports ---------------------------------------------------------------------------


class RadarPlot(_Plot, kw_only=True):
    """One radar detection: range, azimuth (clockwise from north) and elevation in the site's ENU."""

    range_m: NonNegative
    azimuth_rad: Azimuth
    elevation_rad: Elevation


class RadarReport(_Message, kw_only=True, tag="radar_report"):
    """The plots of one radar scan, stamped with the measurement time and the radar's own data."""

    sensor_id: NonEmptyStr
    nation: NonEmptyStr
    time_ns: TimeNs  # when the scan measured
    report_time_ns: TimeNs  # when the report left the radar (time_ns + latency)
    site_ecef_m: Vec3
    site_lat_rad: Latitude
    site_lon_rad: Longitude
    site_alt_m: float
    sigma_range_m: NonNegative
    sigma_azimuth_rad: NonNegative
    sigma_elevation_rad: NonNegative
    plots: list[RadarPlot]

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.report_time_ns < self.time_ns:
            raise ValueError("report_time_ns is earlier than time_ns")
        _check_finite("site_ecef_m", self.site_ecef_m)
        _check_finite("site_alt_m", (self.site_alt_m,))


class LosPlot(_Plot, kw_only=True):
    """One infrared detection: unit line of sight (ECEF) from the satellite toward the source."""

    los_ecef: Vec3

    def __post_init__(self) -> None:
        norm = math.sqrt(sum(x * x for x in self.los_ecef))
        if not abs(norm - 1.0) <= 1e-6:
            raise ValueError(f"los_ecef must be a unit vector (norm {norm})")


class IRReport(_Message, kw_only=True, tag="ir_report"):
    """The detections of one infrared frame of a satellite, with its position and noise."""

    sensor_id: NonEmptyStr
    nation: NonEmptyStr
    time_ns: TimeNs
    report_time_ns: TimeNs
    satellite_ecef_m: Vec3
    sigma_los_rad: NonNegative
    plots: list[LosPlot]

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.report_time_ns < self.time_ns:
            raise ValueError("report_time_ns is earlier than time_ns")
        _check_finite("satellite_ecef_m", self.satellite_ecef_m)


SensorReport = RadarReport | IRReport


# --- Shared between nations -------------------------------------------------------------------


class TrackReport(_Message, kw_only=True, tag="track_report"):
    """One nation's local track of one object, as released to its partners."""

    origin: NonEmptyStr  # nation that made the track
    track_id: NonEmptyStr  # unique within the origin, e.g. "ROK-T3"
    time_ns: TimeNs  # UTC time of the state
    state_ecef: list[float]  # 6: x, y, z (m), vx, vy, vz (m/s) in ECEF
    covariance: list[float]  # 21: upper triangle of the 6x6 covariance, row by row (SI)
    # 21, optional: the part of ``covariance`` owed to the origin's own measurement noise
    # alone, independent of any other nation's errors (for split covariance intersection);
    # empty: unknown, every error may be shared.
    covariance_independent: list[float] = []
    boost_probability: Annotated[float, Meta(ge=0.0, le=1.0)]  # a motor is burning
    initiated_ns: TimeNs  # when the track was confirmed: orders tracks for system track numbers
    updates: Annotated[int, Meta(ge=0)]  # measurements behind the track so far
    accel_ecef: list[float] = []  # 3: thrust or unmodelled acceleration (m/s^2), if released
    # 24, optional: accel_ecef's rows of the 9x9 covariance (SI): its covariance with state_ecef
    # (3x6, row by row), then its own 3x3 (upper triangle); empty: not released.
    accel_covariance: list[float] = []
    sensors: list[str] = []  # contributing sensor ids; empty where the release policy withholds them
    status: str = "active"  # "active" | "dropped"
    source_wall_ns: int = 0  # wall clock when the newest sensor report behind it entered the origin node
    # UTC since when the tracker has held its motor burning without doubt (boost_probability
    # above tracking.tracker.STEADY_BURN_PROBABILITY at every scan: no staging or burnout in
    # question); 0: not burning steadily, or not said. Tells the fusion whose errors are the
    # track's own plots' (fusion.system_tracks.STEADY_BURN_S).
    steady_burn_since_ns: TimeNs = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.state_ecef) != 6 or len(self.covariance) != 21:
            raise ValueError("state_ecef needs 6 values and covariance 21")
        if self.accel_ecef and len(self.accel_ecef) != 3:
            raise ValueError("accel_ecef needs 3 values")
        if self.accel_covariance:
            if not self.accel_ecef or len(self.accel_covariance) != 24:
                raise ValueError("accel_covariance needs 24 values and accel_ecef (or neither)")
            _check_finite("accel_covariance", self.accel_covariance)
        _check_finite("state_ecef", self.state_ecef)
        _check_finite("covariance", self.covariance)
        if self.covariance_independent:
            if len(self.covariance_independent) != 21:
                raise ValueError("covariance_independent needs 21 values (or none)")
            _check_finite("covariance_independent", self.covariance_independent)
        if self.status not in ("active", "dropped"):
            raise ValueError(f"status {self.status!r} is not active or dropped")
        if self.steady_burn_since_ns > self.time_ns:
            raise ValueError("steady_burn_since_ns is later than time_ns")
        if self.status == "active":  # a dropped track's report carries no estimate
            self._check_estimate()

    def _check_estimate(self) -> None:
        """The estimate is a missile's (the bounds of :func:`track_problems`) and its
        covariances are covariances (with the thrust's rows, where released)."""
        P = _unpack_lists(self.covariance, self.accel_covariance or None)
        problem = _bounds_problem(list(self.state_ecef) + list(self.accel_ecef), P) or _covariance_problem(P)
        if problem:
            raise ValueError(f"estimate: {problem}")
        if self.covariance_independent:
            Pi = _unpack_lists(self.covariance_independent, None)
            problem = _bounds_problem([], Pi) or _covariance_problem(Pi)
            if problem:
                raise ValueError(f"covariance_independent: {problem}")


class LaunchEvent(_Message, kw_only=True, tag="launch_event"):
    """A launch seen by infrared before any radar track: approximate time and place."""

    origin: NonEmptyStr
    event_id: NonEmptyStr
    time_ns: TimeNs  # estimated launch time
    lat_rad: Latitude
    lon_rad: Longitude
    sigma_position_m: NonNegative
    sigma_time_s: NonNegative
    detected_ns: TimeNs  # first detection
    sensors: list[str] = []
    source_wall_ns: int = 0


class AlertNotice(_Message, kw_only=True, tag="alert_notice"):
    """A warning issued, updated or cancelled by the nation that owns the area (CAP inside)."""

    origin: NonEmptyStr
    alert_id: NonEmptyStr
    msg_type: str  # "Alert" | "Update" | "Cancel"
    area_id: NonEmptyStr
    alert_kind: str  # "impact" | "overflight"
    system_track_id: NonEmptyStr
    probability: Annotated[float, Meta(ge=0.0, le=1.0)]
    expected_ns: int  # expected impact or overflight time
    sent_ns: TimeNs
    cap_xml: str


WireBody = TrackReport | LaunchEvent | AlertNotice
KIND_OF = {TrackReport: "tracks", LaunchEvent: "launch", AlertNotice: "alert"}

# --- Encoding ---------------------------------------------------------------------------------

_ENCODER = msgspec.msgpack.Encoder()
_DECODERS: dict[Any, msgspec.msgpack.Decoder] = {}
T = TypeVar("T")


def encode(obj: msgspec.Struct) -> bytes:
    """MessagePack bytes of a wire object (deterministic for equal objects)."""
    return _ENCODER.encode(obj)


def decode(data: bytes, type_: type[T], name: str | None = None) -> T:
    """Decode and validate bytes as ``type_``; raise :class:`MessageError` naming the problem."""
    decoder = _DECODERS.get(type_)
    if decoder is None:
        decoder = _DECODERS[type_] = msgspec.msgpack.Decoder(type_)
    try:
        return decoder.decode(data)
    except msgspec.DecodeError as exc:  # ValidationError is a subclass
        name = name or getattr(type_, "__name__", None) or str(type_)
        raise MessageError(f"invalid {name}: {exc}") from exc


def decode_sensor_report(data: bytes) -> RadarReport | IRReport:
    """Decode one :data:`SensorReport` (radar or infrared) from MessagePack bytes."""
    return decode(data, SensorReport, "SensorReport")


def decode_wire(data: bytes) -> TrackReport | LaunchEvent | AlertNotice:
    """Decode a message shared between nations; raise :class:`MessageError` naming the problem."""
    return decode(data, WireBody, "wire message")


def pack_covariance(P) -> list[float]:
    """Upper triangle (21 floats) of a symmetric 6x6 covariance."""
    return np.asarray(P, float)[np.triu_indices(6)].tolist()


def unpack_covariance(values) -> np.ndarray:
    """Symmetric 6x6 covariance from its upper triangle."""
    P = np.zeros((6, 6))
    P[np.triu_indices(6)] = values
    return P + np.triu(P, 1).T


def _unpack_lists(upper6, accel_rows24) -> list[list[float]]:
    """:func:`unpack_covariance` (9x9 with :func:`unpack_accel_rows`' values where given) as
    lists of lists, by hand: through those two and ``tolist`` a report's check took 69 us, by
    hand 20 us (timeit of decode_wire)."""
    m = 6 if accel_rows24 is None else 9
    P = [[0.0] * m for _ in range(m)]
    k = 0
    for i in range(6):
        for j in range(i, 6):
            P[i][j] = P[j][i] = upper6[k]
            k += 1
    if accel_rows24 is not None:
        for a in range(3):
            for j in range(6):
                P[6 + a][j] = P[j][6 + a] = accel_rows24[6 * a + j]
        k = 18
        for a in range(3):
            for b in range(a, 3):
                P[6 + a][6 + b] = P[6 + b][6 + a] = accel_rows24[k]
                k += 1
    return P


def pack_accel_covariance(P9) -> list[float]:
    """The acceleration's rows (24 floats) of a 9x9 covariance: by the state (3x6), then its own upper triangle."""
    P9 = np.asarray(P9, float)
    return P9[6:9, :6].ravel().tolist() + P9[6:9, 6:9][np.triu_indices(3)].tolist()


def unpack_accel_rows(values) -> np.ndarray:
    """The acceleration's rows (3, 9) of a 9x9 covariance from :func:`pack_accel_covariance`."""
    values = np.asarray(values, float)
    rows = np.zeros((3, 9))
    rows[:, :6] = values[:18].reshape(3, 6)
    aa = np.zeros((3, 3))
    aa[np.triu_indices(3)] = values[18:]
    rows[:, 6:9] = aa + np.triu(aa, 1).T
    return rows
