"""The truth of a scenario: its flights, designed from the file's public figures.

``build_world`` turns each ``[[launches]]`` entry into a truth trajectory (see
:mod:`warnlink.scenario.flight`); sensors and nodes then only ever see what the
sensor models make of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from warnlink.scenario.flight import FlightDesign, FlightDesignError, design_flight


class WorldError(ValueError):
    """A launch in the scenario file asks for a flight that cannot exist."""


@dataclass(frozen=True)
class World:
    scenario: object  # warnlink.scenario.loader.Scenario
    flights: dict[str, FlightDesign]  # by launch id

    @property
    def trajectories(self):
        return [f.trajectory for f in self.flights.values()]


def build_world(scenario) -> World:
    """Design every launch's flight; raises WorldError naming the launch that cannot fly."""
    flights: dict[str, FlightDesign] = {}
    for i, launch in enumerate(scenario.config.launches):
        try:
            flights[launch.id] = design_flight(
                launch.site_lat_deg, launch.site_lon_deg, launch.apogee_km,
                azimuth_deg=launch.azimuth_deg, range_km=launch.range_km,
                target_lat_deg=launch.target_lat_deg, target_lon_deg=launch.target_lon_deg,
                launch_id=launch.id, launch_time_s=launch.time_s,
            )
        except FlightDesignError as exc:
            raise WorldError(f"{scenario.path}: launches[{i}] ({launch.id}): {exc}") from exc
    return World(scenario, flights)
