"""Reference frames and geodesy: WGS84 geodetic, ECEF, local ENU, azimuth/elevation/range.

Everything is vectorized over leading axes and in SI units (radians, metres, seconds).
Ellipsoid conversions and geodesics come from PROJ (pyproj), which implements
them exactly (Karney's geodesics); the local-frame rotations are a few lines of
linear algebra written here.
"""

from __future__ import annotations

import numpy as np
from pyproj import Geod, Transformer

# WGS84 defining constants and the Earth model used by the dynamics.
WGS84_A = 6378137.0  # equatorial radius, m
WGS84_F = 1.0 / 298.257223563
WGS84_B = WGS84_A * (1.0 - WGS84_F)  # polar radius, m
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)  # first eccentricity squared
EARTH_GM = 3.986004418e14  # m^3/s^2
EARTH_J2 = 1.08262668e-3
EARTH_ROTATION_RATE = 7.292115e-5  # rad/s
EARTH_MEAN_RADIUS = 6371008.8  # m, for spherical approximations only
G0 = 9.80665  # standard gravity, m/s^2
OMEGA_VECTOR = np.array([0.0, 0.0, EARTH_ROTATION_RATE])

_GEODETIC_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
_ECEF_TO_GEODETIC = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
_GEOD = Geod(ellps="WGS84")


def geodetic_to_ecef(lat, lon, alt) -> np.ndarray:
    """ECEF position (..., 3) of geodetic latitude, longitude (rad) and height (m)."""
    lat, lon, alt = np.broadcast_arrays(
        np.asarray(lat, float), np.asarray(lon, float), np.asarray(alt, float)
    )
    x, y, z = _GEODETIC_TO_ECEF.transform(lon, lat, alt, radians=True)
    return np.stack([np.asarray(x), np.asarray(y), np.asarray(z)], axis=-1)


def ecef_to_geodetic(r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geodetic latitude, longitude (rad) and height above the ellipsoid (m) of ECEF positions."""
    r = np.asarray(r, float)
    lon, lat, alt = _ECEF_TO_GEODETIC.transform(r[..., 0], r[..., 1], r[..., 2], radians=True)
    return np.asarray(lat), np.asarray(lon), np.asarray(alt)


def altitude(r) -> np.ndarray:
    """Height above the WGS84 ellipsoid (m) of ECEF positions."""
    return ecef_to_geodetic(r)[2]


def enu_rotation(lat, lon) -> np.ndarray:
    """Rotation (..., 3, 3) whose rows are the east, north, up unit vectors in ECEF."""
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl)
    east = np.stack([-so, co, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return np.stack([east, north, up], axis=-2)


def ecef_to_enu(r, origin_lat, origin_lon, origin_alt=0.0) -> np.ndarray:
    """ENU coordinates (..., 3) of ECEF positions about a geodetic origin."""
    rot = enu_rotation(origin_lat, origin_lon)
    origin = geodetic_to_ecef(origin_lat, origin_lon, origin_alt)
    d = np.asarray(r, float) - origin
    return np.einsum("...ij,...j->...i", rot, d)


def enu_to_ecef(enu, origin_lat, origin_lon, origin_alt=0.0) -> np.ndarray:
    """ECEF positions of ENU coordinates about a geodetic origin."""
    rot = enu_rotation(origin_lat, origin_lon)
    origin = geodetic_to_ecef(origin_lat, origin_lon, origin_alt)
    return origin + np.einsum("...ji,...j->...i", rot, np.asarray(enu, float))


def enu_to_aer(enu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth (rad, clockwise from north, in [0, 2pi)), elevation (rad) and range (m)."""
    enu = np.asarray(enu, float)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    horizontal = np.hypot(e, n)
    azimuth = np.mod(np.arctan2(e, n), 2.0 * np.pi)
    elevation = np.arctan2(u, horizontal)
    return azimuth, elevation, np.hypot(horizontal, u)


def aer_to_enu(azimuth, elevation, rng) -> np.ndarray:
    """ENU coordinates (..., 3) of azimuth, elevation (rad) and range (m)."""
    azimuth, elevation, rng = np.broadcast_arrays(
        np.asarray(azimuth, float), np.asarray(elevation, float), np.asarray(rng, float)
    )
    ce = np.cos(elevation)
    return np.stack(
        [rng * ce * np.sin(azimuth), rng * ce * np.cos(azimuth), rng * np.sin(elevation)], axis=-1
    )


def geodesic_direct(lat, lon, azimuth, distance) -> tuple[np.ndarray, np.ndarray]:
    """Point reached from (lat, lon) along the WGS84 geodesic of initial azimuth and length (m)."""
    lon2, lat2, _ = _GEOD.fwd(
        np.degrees(lon), np.degrees(lat), np.degrees(azimuth), distance, radians=False
    )
    return np.radians(lat2), np.radians(lon2)


def geodesic_inverse(lat1, lon1, lat2, lon2) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 geodesic distance (m) and initial azimuth (rad, [0, 2pi)) between two points."""
    az12, _, dist = _GEOD.inv(
        np.degrees(lon1), np.degrees(lat1), np.degrees(lon2), np.degrees(lat2)
    )
    return np.asarray(dist, float), np.mod(np.radians(az12), 2.0 * np.pi)


def geodesic_path(lat1, lon1, lat2, lon2, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """n_points latitudes and longitudes (rad) evenly spaced along the geodesic, ends included."""
    inner = _GEOD.npts(
        np.degrees(lon1), np.degrees(lat1), np.degrees(lon2), np.degrees(lat2), max(n_points - 2, 0)
    )
    lons = [np.degrees(lon1)] + [p[0] for p in inner] + [np.degrees(lon2)]
    lats = [np.degrees(lat1)] + [p[1] for p in inner] + [np.degrees(lat2)]
    return np.radians(lats), np.radians(lons)


def ecef_to_inertial(r, v, t) -> tuple[np.ndarray, np.ndarray]:
    """Position and velocity in the inertial frame that coincides with ECEF at t = 0.

    The frame turns with the Earth's sidereal rate about its polar axis; precession and
    nutation are irrelevant over a missile's flight.
    """
    r = np.asarray(r, float)
    v = np.asarray(v, float)
    rot = _z_rotation(EARTH_ROTATION_RATE * np.asarray(t, float))
    v_inertial_in_ecef_axes = v + np.cross(OMEGA_VECTOR, r)
    return (
        np.einsum("...ij,...j->...i", rot, r),
        np.einsum("...ij,...j->...i", rot, v_inertial_in_ecef_axes),
    )


def inertial_to_ecef(r, v, t) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`ecef_to_inertial`."""
    rot = _z_rotation(-EARTH_ROTATION_RATE * np.asarray(t, float))
    r_ecef = np.einsum("...ij,...j->...i", rot, np.asarray(r, float))
    v_axes = np.einsum("...ij,...j->...i", rot, np.asarray(v, float))
    return r_ecef, v_axes - np.cross(OMEGA_VECTOR, r_ecef)


def _z_rotation(angle) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)],
        axis=-2,
    )


def segment_clears_ellipsoid(p1, p2, margin_m: float = 0.0) -> np.ndarray:
    """True where the straight segment between ECEF points p1 and p2 stays above the ellipsoid.

    The ellipsoid (inflated by ``margin_m``) is scaled to the unit sphere, where the closest
    point of the segment to the centre decides. Used for radar horizons and satellite limbs.
    """
    scale = np.array([WGS84_A + margin_m, WGS84_A + margin_m, WGS84_B + margin_m])
    a = np.asarray(p1, float) / scale
    b = np.asarray(p2, float) / scale
    d = b - a
    dd = np.einsum("...i,...i->...", d, d)
    s = np.clip(-np.einsum("...i,...i->...", a, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    closest = a + s[..., None] * d
    return np.einsum("...i,...i->...", closest, closest) >= 1.0
