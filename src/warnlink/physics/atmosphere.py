"""Air density: the U.S. Standard Atmosphere 1976, vectorized, from the ground to 1,000 km.

Below 86 km the 1976 model is hydrostatic with seven layers of constant lapse rate in
geopotential altitude, evaluated in closed form here. Above 86 km the model has no
closed form; densities are interpolated log-linearly between the model's tabulated
values. Written by hand because the libraries that implement the model (e.g.
``ambiance``) stop at 81 km, while an ICBM re-entry starts to feel drag near 100 km,
and because this function sits in the equations of motion, evaluated for arrays of
sigma points at every integration step.
"""

from __future__ import annotations

import math

import numpy as np

_R_EARTH_GEOPOTENTIAL = 6356766.0  # m, the 1976 model's Earth radius for geopotential height
_G0 = 9.80665
_R_AIR = 287.0528  # J/(kg K), 1976 model R* / M0
# Base geopotential heights (m), base temperatures (K), lapse rates (K/m) of the 7 layers.
_H_BASE = np.array([0.0, 11000.0, 20000.0, 32000.0, 47000.0, 51000.0, 71000.0])
_LAPSE = np.array([-0.0065, 0.0, 0.001, 0.0028, 0.0, -0.0028, -0.002])
_T_BASE = np.empty(7)
_P_BASE = np.empty(7)
_T_BASE[0], _P_BASE[0] = 288.15, 101325.0
for _i in range(1, 7):
    _dh = _H_BASE[_i] - _H_BASE[_i - 1]
    _T_BASE[_i] = _T_BASE[_i - 1] + _LAPSE[_i - 1] * _dh
    if _LAPSE[_i - 1] == 0.0:
        _P_BASE[_i] = _P_BASE[_i - 1] * np.exp(-_G0 * _dh / (_R_AIR * _T_BASE[_i - 1]))
    else:
        _P_BASE[_i] = _P_BASE[_i - 1] * (_T_BASE[_i] / _T_BASE[_i - 1]) ** (
            -_G0 / (_R_AIR * _LAPSE[_i - 1])
        )

# 1976 model densities (kg/m^3) above 86 km geometric altitude, tabulated.
_UPPER_ALT = np.array(
    [86e3, 90e3, 100e3, 110e3, 120e3, 130e3, 150e3, 200e3, 250e3, 300e3, 400e3, 500e3, 600e3,
     700e3, 800e3, 900e3, 1000e3]
)
_UPPER_LOG_RHO = np.log(
    np.array(
        [6.958e-6, 3.416e-6, 5.604e-7, 9.708e-8, 2.222e-8, 8.152e-9, 2.076e-9, 2.541e-10,
         6.073e-11, 1.916e-11, 2.803e-12, 5.215e-13, 1.137e-13, 3.070e-14, 1.136e-14, 5.759e-15,
         3.561e-15]
    )
)
_GEOPOTENTIAL_86KM = 86e3 * _R_EARTH_GEOPOTENTIAL / (_R_EARTH_GEOPOTENTIAL + 86e3)


def density(altitude_m) -> np.ndarray:
    """Air density (kg/m^3) at geometric altitudes (m); 0 above 1,000 km, sea level below 0."""
    z = np.clip(np.asarray(altitude_m, float), 0.0, None)
    h_all = z * _R_EARTH_GEOPOTENTIAL / (_R_EARTH_GEOPOTENTIAL + z)  # geopotential altitude
    h = np.minimum(h_all, _GEOPOTENTIAL_86KM)
    layer = np.clip(np.searchsorted(_H_BASE, h, side="right") - 1, 0, 6)
    lapse = _LAPSE[layer]
    t_base = _T_BASE[layer]
    dh = h - _H_BASE[layer]
    temperature = t_base + lapse * dh
    isothermal = lapse == 0.0
    safe_lapse = np.where(isothermal, 1.0, lapse)
    ratio_gradient = (temperature / t_base) ** (-_G0 / (_R_AIR * safe_lapse))
    ratio_isothermal = np.exp(-_G0 * dh / (_R_AIR * t_base))
    pressure = _P_BASE[layer] * np.where(isothermal, ratio_isothermal, ratio_gradient)
    rho_lower = pressure / (_R_AIR * temperature)
    rho_upper = np.exp(np.interp(z, _UPPER_ALT, _UPPER_LOG_RHO))
    rho = np.where(h_all < _GEOPOTENTIAL_86KM, rho_lower, rho_upper)
    return np.where(z > _UPPER_ALT[-1], 0.0, rho)


# A fine table of log-density for scalar look-ups in single-trajectory integrators, where a
# numpy call per evaluation would cost more than the physics. Log-linear interpolation over
# 250 m steps of an exponential atmosphere is exact to about 1e-4.
_TABLE_STEP_M = 250.0
_TABLE_LOG_RHO = np.log(density(np.arange(0.0, 1000e3 + _TABLE_STEP_M, _TABLE_STEP_M))).tolist()


def density_scalar(altitude_m: float) -> float:
    """Air density (kg/m^3) at one altitude, from the 250 m table; 0 above 1,000 km."""
    if altitude_m >= 1000e3:
        return 0.0
    x = max(altitude_m, 0.0) / _TABLE_STEP_M
    i = int(x)
    f = x - i
    return math.exp(_TABLE_LOG_RHO[i] * (1.0 - f) + _TABLE_LOG_RHO[i + 1] * f)


_TABLE_ALT = np.arange(0.0, 1000e3 + _TABLE_STEP_M, _TABLE_STEP_M)
_TABLE_LOG_RHO_ARRAY = np.array(_TABLE_LOG_RHO)


def density_fast(altitude_m) -> np.ndarray:
    """:func:`density` from the 250 m log-density table (relative error below 1e-3), for hot loops.

    About ten times faster than the closed form: one interpolation instead of layer searches
    and powers. Sea level below 0, 0 above 1,000 km.
    """
    z = np.asarray(altitude_m, float)
    rho = np.exp(np.interp(z, _TABLE_ALT, _TABLE_LOG_RHO_ARRAY))
    return np.where(z > _TABLE_ALT[-1], 0.0, rho)


def log_density_slope(altitude_m) -> np.ndarray:
    """d ln(density) / d altitude (1/m) of :func:`density_fast` at these altitudes: its table
    cell's slope, the one the truth's integrator flies (:func:`density_scalar` interpolates
    the same table); 0 below the ground and above 1,000 km, where the density is held.

    A central difference over one cell's width (as the filters took it before) blends the
    two cells about the altitude: at a layer's edge (11 km, 20 km, 32 km...) their slopes
    differ, by 20% at the tropopause.
    """
    z = np.asarray(altitude_m, float)
    cell = np.clip(np.floor(z / _TABLE_STEP_M).astype(int), 0, len(_TABLE_ALT) - 2)
    slope = (_TABLE_LOG_RHO_ARRAY[cell + 1] - _TABLE_LOG_RHO_ARRAY[cell]) / _TABLE_STEP_M
    return np.where((z >= 0.0) & (z < _TABLE_ALT[-1]), slope, 0.0)

