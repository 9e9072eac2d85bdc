"""The truth of a scenario: its flights, designed from the file's public figures.

``build_world`` turns each ``[[launches]]`` entry into a truth trajectory (see
:mod:`warnlink.scenario.flight`); sensors and nodes then only ever see what the
sensor models make of it.

What public figures do not give is drawn from the seed: each body's ballistic
coefficient after burnout, log-normal about REENTRY_BALLISTIC_COEFFICIENT with a factor
of REENTRY_BALLISTIC_COEFFICIENT_FACTOR (one sigma), the spread that nobody outside
knows better. With one fixed value every seed shared one drag error, and a Monte Carlo
over seeds could not tell whether the filters' uncertainty about drag was honest.

So is each stage's exhaust velocity, uniform over the public range of specific impulse
(PUBLIC_SPECIFIC_IMPULSE_S: from Scud-type kerosene motors to the nitrogen tetroxide and
UDMH engines of the longer-range liquid missiles, solid motors between). It shapes the
thrust over each burn, which the trackers model from a nominal exhaust velocity with the
public spread about it. With every motor at the nominal value the boost model's allowance
for that spread stood for nothing, and a Monte Carlo over seeds could not tell whether it
was honest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warnlink.frames import G0
from warnlink.scenario.flight import (MAX_STAGES, REENTRY_BALLISTIC_COEFFICIENT, FlightDesign, FlightDesignError,
                                     design_flight)

REENTRY_BALLISTIC_COEFFICIENT_FACTOR = 1.5  # one-sigma factor of the log-normal draw
PUBLIC_SPECIFIC_IMPULSE_S = (230.0, 300.0)  # the range of the public estimates for such motors


class WorldError(ValueError):
    """A launch in the scenario file asks for a flight that cannot exist."""


@dataclass(frozen=True)
class World:
    scenario: object  # warnlink.scenario.loader.Scenario
    flights: dict[str, FlightDesign]  # by launch id

    @property
    def trajectories(self):
        return [f.trajectory for f in self.flights.values()]


def reentry_ballistic_coefficients(n_launches: int, seed: int) -> np.ndarray:
    """Each launch's ballistic coefficient after burnout (kg/m^2) for this seed."""
    rng = np.random.default_rng([seed, 0xBE7A])  # a stream apart from the sensors' noise
    log_sigma = np.log(REENTRY_BALLISTIC_COEFFICIENT_FACTOR)
    return REENTRY_BALLISTIC_COEFFICIENT * np.exp(log_sigma * rng.standard_normal(n_launches))


def stage_exhaust_velocities(n_launches: int, seed: int) -> np.ndarray:
    """Each launch's exhaust velocity per stage (m/s), (n_launches, MAX_STAGES), for this seed:
    a specific impulse uniform over the public range, times standard gravity."""
    rng = np.random.default_rng([seed, 0xC0A5])  # a stream apart from the drag's and the sensors'
    return G0 * rng.uniform(*PUBLIC_SPECIFIC_IMPULSE_S, size=(n_launches, MAX_STAGES))


def build_world(scenario, seed: int | None = None) -> World:
    """Design every launch's flight for ``seed`` (default: the scenario's).

    Raises WorldError naming the launch that cannot fly.
    """
    seed = scenario.config.scenario.seed if seed is None else seed
    flights = {launch.id: design_launch(scenario, i, seed) for i, launch in enumerate(scenario.config.launches)}
    return World(scenario, flights)


def design_launch(scenario, index: int, seed: int) -> FlightDesign:
    """The flight of the scenario's ``index``-th launch for ``seed``, with that seed's draws
    of its ballistic coefficient and motors. Raises WorldError naming the launch."""
    launches = scenario.config.launches
    launch = launches[index]
    beta = reentry_ballistic_coefficients(len(launches), seed)[index]
    motors = stage_exhaust_velocities(len(launches), seed)[index]
    try:
        return design_flight(
            launch.site_lat_deg, launch.site_lon_deg, launch.apogee_km,
            azimuth_deg=launch.azimuth_deg, range_km=launch.range_km,
            target_lat_deg=launch.target_lat_deg, target_lon_deg=launch.target_lon_deg,
            launch_id=launch.id, launch_time_s=launch.time_s,
            reentry_ballistic_coefficient=float(beta),
            stage_exhaust_velocity_mps=tuple(float(c) for c in motors),
        )
    except FlightDesignError as exc:
        raise WorldError(f"{scenario.path}: launches[{index}] ({launch.id}): {exc}") from exc
