"""Wire types: round trips and validation at decode."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from warnlink.messages import (
    SCHEMA_VERSION,
    IRReport,
    LosPlot,
    MessageError,
    RadarPlot,
    RadarReport,
    decode_sensor_report,
    encode,
)


def radar_report(**overrides) -> RadarReport:
    fields = dict(
        sensor_id="ROK-R1",
        nation="ROK",
        time_ns=1_702_859_040_000_000_000,
        report_time_ns=1_702_859_040_200_000_000,
        site_ecef_m=(-3.0e6, 4.0e6, 3.7e6),
        site_lat_rad=math.radians(36.4),
        site_lon_rad=math.radians(127.4),
        site_alt_m=150.0,
        sigma_range_m=30.0,
        sigma_azimuth_rad=1e-3,
        sigma_elevation_rad=1e-3,
        plots=[
            RadarPlot(range_m=412_345.5, azimuth_rad=0.3, elevation_rad=0.12),
            RadarPlot(range_m=12_000.0, azimuth_rad=6.2, elevation_rad=-0.01),
        ],
    )
    fields.update(overrides)
    return RadarReport(**fields)


def ir_report(**overrides) -> IRReport:
    los = (0.6, -0.8, 0.0)
    fields = dict(
        sensor_id="USA-IR1",
        nation="USA",
        time_ns=1_702_859_041_000_000_000,
        report_time_ns=1_702_859_041_000_000_000,
        satellite_ecef_m=(-27.1e6, 32.3e6, 0.0),
        sigma_los_rad=50e-6,
        plots=[LosPlot(los_ecef=los)],
    )
    fields.update(overrides)
    return IRReport(**fields)


def test_round_trip_radar_and_ir():
    for report in (radar_report(), ir_report()):
        data = encode(report)
        back = decode_sensor_report(data)
        assert type(back) is type(report)
        assert back == report
        assert back.schema_version == SCHEMA_VERSION
        assert encode(back) == data


def test_unknown_field_rejected_with_clear_error():
    raw = msgspec.msgpack.decode(encode(radar_report()))
    raw["true_launch_id"] = "M1"
    with pytest.raises(MessageError, match="SensorReport.*unknown field `true_launch_id`"):
        decode_sensor_report(msgspec.msgpack.encode(raw))


def test_extra_element_in_plot_rejected():
    raw = msgspec.msgpack.decode(encode(radar_report()))
    raw["plots"][0].append(1.0)
    with pytest.raises(MessageError, match=r"plots\[0\]"):
        decode_sensor_report(msgspec.msgpack.encode(raw))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kind": "track_report"}, "Invalid value 'track_report'"),
        ({"schema_version": 2}, "unsupported schema_version 2"),
        ({"time_ns": "yesterday"}, "Expected `int`, got `str` - at `\\$.time_ns`"),
        ({"report_time_ns": 1}, "report_time_ns is earlier than time_ns"),
        ({"sigma_range_m": -1.0}, "sigma_range_m"),
        ({"site_ecef_m": [1.0, 2.0]}, "site_ecef_m"),
        ({"plots": [[1.0, 7.0, 0.0]]}, r"plots\[0\]"),  # azimuth outside [0, 2pi)
    ],
)
def test_invalid_radar_report_named(change, message):
    raw = msgspec.msgpack.decode(encode(radar_report()))
    raw.update(change)
    with pytest.raises(MessageError, match=message):
        decode_sensor_report(msgspec.msgpack.encode(raw))


def test_los_must_be_unit_vector():
    raw = msgspec.msgpack.decode(encode(ir_report()))
    raw["plots"] = [[[0.6, -0.8, 0.1]]]
    with pytest.raises(MessageError, match="unit vector"):
        decode_sensor_report(msgspec.msgpack.encode(raw))


def test_not_msgpack_rejected():
    with pytest.raises(MessageError, match="invalid SensorReport"):
        decode_sensor_report(b"\xc1garbage")


def test_non_finite_position_rejected():
    raw = msgspec.msgpack.decode(encode(radar_report()))
    raw["site_ecef_m"] = [1.0, float("nan"), 2.0]
    with pytest.raises(MessageError, match="site_ecef_m must be finite"):
        decode_sensor_report(msgspec.msgpack.encode(raw))
    raw = msgspec.msgpack.decode(encode(ir_report()))
    raw["satellite_ecef_m"] = [float("inf"), float("-inf"), 0.0]
    with pytest.raises(MessageError, match="satellite_ecef_m must be finite"):
        decode_sensor_report(msgspec.msgpack.encode(raw))


def _track_report(**overrides):
    from warnlink.messages import TrackReport, pack_covariance

    fields = dict(origin="JPN", track_id="JPN-T1", time_ns=1_702_859_041_000_000_000,
                  state_ecef=[-3.1e6, 4.0e6, 3.9e6, 1.0, 2.0, 3.0], covariance=pack_covariance(np.eye(6)),
                  boost_probability=0.1, initiated_ns=1_702_859_040_000_000_000, updates=12)
    fields.update(overrides)
    return TrackReport(**fields)


def test_track_report_carries_the_acceleration_rows_of_its_covariance():
    from warnlink.messages import decode_wire, pack_accel_covariance, pack_covariance, unpack_accel_rows

    rng = np.random.default_rng(3)
    A = rng.normal(size=(9, 9))
    P9 = A @ A.T
    sent = _track_report(accel_ecef=[0.5, -0.2, 9.0], covariance=pack_covariance(P9[:6, :6]),
                         accel_covariance=pack_accel_covariance(P9))
    got = decode_wire(encode(sent))
    assert got == sent
    np.testing.assert_allclose(unpack_accel_rows(got.accel_covariance), P9[6:9])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"accel_ecef": [0.0, 0.0, 1.0], "accel_covariance": [1.0] * 21}, "accel_covariance needs 24 values"),
        ({"accel_covariance": [1.0] * 24}, "accel_covariance needs 24 values and accel_ecef"),
        ({"accel_ecef": [0.0, 0.0, 1.0], "accel_covariance": [1.0] * 23 + [float("nan")]},
         "accel_covariance must be finite"),
    ],
)
def test_invalid_acceleration_covariance_named(change, message):
    from warnlink.messages import decode_wire

    raw = msgspec.msgpack.decode(encode(_track_report()))
    raw.update(change)
    with pytest.raises(MessageError, match=message):
        decode_wire(msgspec.msgpack.encode(raw))


def test_a_steady_burn_since_after_the_state_is_named():
    """A track cannot have burnt steadily since after its own state time; the field's absence
    (a partner that does not say) decodes as 0, not burning steadily."""
    from warnlink.messages import decode_wire

    raw = msgspec.msgpack.decode(encode(_track_report()))
    assert decode_wire(msgspec.msgpack.encode(raw)).steady_burn_since_ns == 0
    raw.pop("steady_burn_since_ns", None)
    assert decode_wire(msgspec.msgpack.encode(raw)).steady_burn_since_ns == 0
    raw["steady_burn_since_ns"] = raw["time_ns"] + 1
    with pytest.raises(MessageError, match="steady_burn_since_ns is later than time_ns"):
        decode_wire(msgspec.msgpack.encode(raw))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"state_ecef": [1e150, 0.0, 0.0, 1.0, 2.0, 3.0]}, "estimate: position 1e\\+150 beyond"),
        ({"state_ecef": [-3.1e6, 4.0e6, 3.9e6, 1e12, 0.0, 0.0]}, "estimate: velocity 1e\\+12 beyond"),
        ({"accel_ecef": [1e14, 0.0, 0.0]}, "estimate: acceleration 1e\\+14 beyond"),
        ({"covariance": [1e300 if i in (0, 6, 11) else 0.0 for i in range(21)]}, "estimate: position sigma 1e\\+150"),
        ({"covariance": [-1.0 if i in (0, 6, 11, 15, 18, 20) else 0.0 for i in range(21)]},
         "estimate: negative variance -1 at 0"),
        ({"covariance": [1.0 if i in (0, 6, 11, 15, 18, 20) else (5.0 if i == 1 else 0.0) for i in range(21)]},
         "estimate: not a covariance: correlation above 1 between 0 and 1"),
        ({"covariance_independent": [1e300 if i in (0, 6, 11) else 0.0 for i in range(21)]},
         "covariance_independent: position sigma"),
    ],
)
def test_a_track_that_is_no_missiles_is_refused_naming_why(change, message):
    """Finite values far beyond any missile (a diverged filter's, a corrupt partner's), let
    through, reach a fusion: a variance of 1e300 m^2 made its matrix inverse fail (the node
    down), a thrust of 1e14 m/s^2 flown on put NaN in every node's picture. A dropped
    track's report, which carries no estimate, is not checked."""
    from warnlink.messages import decode_wire

    raw = msgspec.msgpack.decode(encode(_track_report()))
    raw.update(change)
    with pytest.raises(MessageError, match=message):
        decode_wire(msgspec.msgpack.encode(raw))
    raw.update(status="dropped")
    assert decode_wire(msgspec.msgpack.encode(raw)).status == "dropped"
