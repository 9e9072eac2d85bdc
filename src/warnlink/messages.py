"""Wire types: everything a node sends or receives, in one place, versioned.

msgspec Structs encoded as MessagePack. Absolute times are UTC integer nanoseconds
(``*_ns``); other quantities are SI, with the unit in the name where it is not
obvious. Decoding rejects unknown fields, so a malformed or foreign message fails
loudly at the edge instead of deep inside a node.
"""

from __future__ import annotations

import msgspec
import numpy as np

SCHEMA_VERSION = 1


class _Wire(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


# --------------------------------------------------------------------------- shared between nations


class TrackReport(_Wire, tag="track"):
    """One nation's local track of one object, as released to its partners."""

    origin: str  # nation that made the track
    track_id: str  # unique within the origin, e.g. "ROK-T3"
    time_ns: int  # UTC time of the state
    state_ecef: list[float]  # 6: x, y, z (m), vx, vy, vz (m/s) in ECEF
    covariance: list[float]  # 21: upper triangle of the 6x6 covariance, row by row (SI)
    boost_probability: float  # probability that a motor is burning (0..1)
    initiated_ns: int  # when the track was confirmed: orders tracks for system track numbers
    updates: int  # measurements behind the track so far
    accel_ecef: list[float] = []  # 3: estimated thrust or unmodelled acceleration (m/s^2), if released
    sensors: list[str] = []  # contributing sensor ids; empty where the release policy withholds them
    status: str = "active"  # "active" | "coasting" | "dropped"
    source_wall_ns: int = 0  # wall clock when the newest sensor report behind this state entered the origin node


class LaunchEvent(_Wire, tag="launch"):
    """A launch seen by infrared before any radar track: approximate time and place."""

    origin: str
    event_id: str
    time_ns: int  # estimated launch time
    lat_rad: float
    lon_rad: float
    sigma_position_m: float
    sigma_time_s: float
    detected_ns: int  # first detection
    sensors: list[str] = []
    source_wall_ns: int = 0


class AlertNotice(_Wire, tag="alert"):
    """A warning issued, updated or cancelled by the nation that owns the area (CAP inside)."""

    origin: str
    alert_id: str
    msg_type: str  # "Alert" | "Update" | "Cancel"
    area_id: str
    kind: str  # "impact" | "overflight"
    system_track_id: str
    probability: float
    expected_ns: int  # expected impact or overflight time
    sent_ns: int
    cap_xml: str


WireBody = TrackReport | LaunchEvent | AlertNotice
KIND_OF = {TrackReport: "tracks", LaunchEvent: "launch", AlertNotice: "alert"}

_encoder = msgspec.msgpack.Encoder()
_wire_decoder = msgspec.msgpack.Decoder(WireBody)


def encode(obj: msgspec.Struct) -> bytes:
    return _encoder.encode(obj)


def decode_wire(data: bytes) -> WireBody:
    """Decode a body shared between nations; raises msgspec.ValidationError/DecodeError."""
    return _wire_decoder.decode(data)


def pack_covariance(P) -> list[float]:
    """Upper triangle (21 floats) of a symmetric 6x6 covariance."""
    P = np.asarray(P, float)
    iu = np.triu_indices(6)
    return P[iu].tolist()


def unpack_covariance(values) -> np.ndarray:
    """Symmetric 6x6 covariance from its upper triangle."""
    P = np.zeros((6, 6))
    iu = np.triu_indices(6)
    P[iu] = values
    return P + np.triu(P, 1).T
