"""Releasability: what a nation releases to which partner, enforced before a message leaves its node.

A policy file per nation (TOML)::

    nation = "USA"

    [default]                          # every partner, unless named below
    withhold = ["sensors"]             # fields blanked: sensors, accel_ecef (and its covariance)
    position_precision_m = 10000       # positions rounded to a 10 km grid (covariance widened to match)

    [partners.ROK]
    only_threatening = true            # only tracks whose predicted impact or path touches ROK's areas

    [partners.JPN]
    sensors = ["USA-TPY2-SHARIKI"]     # only tracks that this sensor contributed to
    release = true                     # false: nothing at all

Missing keys take the defaults shown by :class:`PartnerRelease` (release everything).
Unknown keys, wrong types and negative precisions are errors naming file and key.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np

from warnlink.messages import AlertNotice, LaunchEvent, TrackReport, pack_covariance, unpack_covariance

WITHHOLDABLE = ("sensors", "accel_ecef")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


class PartnerRelease(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    release: bool = True
    sensors: list[str] = []  # only tracks with at least one of these sensors (empty: any)
    withhold: list[Literal["sensors", "accel_ecef"]] = []
    position_precision_m: float = 0.0
    only_threatening: bool = False

    def describe(self, partner: str) -> str:
        """The rule in words, for people (the dashboard's sharing panel)."""
        if not self.release:
            return "nothing"
        parts = [f"only tracks threatening {partner}" if self.only_threatening else "every track"]
        if self.sensors:
            parts.append("seen by " + ", ".join(self.sensors))
        if self.withhold:
            parts.append("without " + " and ".join({"sensors": "sensor identities",
                                                    "accel_ecef": "accelerations"}[w] for w in self.withhold))
        if self.position_precision_m > 0:
            parts.append(f"positions to {self.position_precision_m / 1e3:g} km")
        return "; ".join(parts)


class ReleasePolicy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    nation: str
    default: PartnerRelease = msgspec.field(default_factory=PartnerRelease)
    partners: dict[str, PartnerRelease] = {}

    def for_partner(self, partner: str) -> PartnerRelease:
        return self.partners.get(partner, self.default)

    def describe(self, partners: list[str]) -> dict[str, str]:
        """Partner -> what this nation releases to it, in words."""
        return {p: self.for_partner(p).describe(p) for p in partners}


def release_everything(nation: str) -> ReleasePolicy:
    return ReleasePolicy(nation=nation)


def load_policy(path, nations: list[str] | None = None) -> ReleasePolicy:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such file") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: {exc}") from None
    try:
        policy = msgspec.convert(raw, ReleasePolicy)
    except msgspec.ValidationError as exc:
        raise PolicyError(f"{path}: {exc}") from None
    for name, rule in [("default", policy.default)] + [(f"partners.{p}", r) for p, r in policy.partners.items()]:
        if not (math.isfinite(rule.position_precision_m) and rule.position_precision_m >= 0):
            raise PolicyError(f"{path}: {name}.position_precision_m: {rule.position_precision_m} must be >= 0")
    if nations is not None:
        if policy.nation not in nations:
            raise PolicyError(f"{path}: nation: {policy.nation!r} is not in the scenario ({', '.join(nations)})")
        for partner in policy.partners:
            if partner not in nations or partner == policy.nation:
                raise PolicyError(f"{path}: partners.{partner}: not a partner of {policy.nation} in the scenario")
    return policy


def apply_release(rule: PartnerRelease, body, threatens: bool):
    """The body as released under ``rule`` (a new object), or None when it is withheld."""
    if not rule.release:
        return None
    if isinstance(body, AlertNotice):
        return body
    if isinstance(body, LaunchEvent):
        if rule.only_threatening:
            return None  # a launch seen by infrared says nothing yet of where it goes
        if rule.position_precision_m > 0:
            step = rule.position_precision_m / 6_371_000.0
            lat = round(body.lat_rad / step) * step
            lon = round(body.lon_rad / step) * step
            sigma = math.hypot(body.sigma_position_m, rule.position_precision_m / math.sqrt(12.0))
            body = msgspec.structs.replace(body, lat_rad=max(min(lat, math.pi / 2), -math.pi / 2),
                                           lon_rad=max(min(lon, math.pi), -math.pi), sigma_position_m=sigma)
        if "sensors" in rule.withhold:
            body = msgspec.structs.replace(body, sensors=[])
        return body
    if not isinstance(body, TrackReport):
        return None
    if body.status == "dropped":
        return body if not rule.sensors or set(body.sensors) & set(rule.sensors) else None
    if rule.only_threatening and not threatens:
        return None
    if rule.sensors and not set(body.sensors) & set(rule.sensors):
        return None
    changes = {}
    if "sensors" in rule.withhold:
        changes["sensors"] = []
    if "accel_ecef" in rule.withhold:
        changes["accel_ecef"] = []
        changes["accel_covariance"] = []
    if rule.position_precision_m > 0:
        step = rule.position_precision_m
        state = list(body.state_ecef)
        state[:3] = [round(v / step) * step for v in state[:3]]
        P = unpack_covariance(body.covariance)
        P[:3, :3] += np.eye(3) * step * step / 12.0  # a uniform rounding error
        changes["state_ecef"] = state
        changes["covariance"] = pack_covariance(P)
        if body.covariance_independent:  # the rounding error is this release's own
            Pi = unpack_covariance(body.covariance_independent)
            Pi[:3, :3] += np.eye(3) * step * step / 12.0
            changes["covariance_independent"] = pack_covariance(Pi)
    return msgspec.structs.replace(body, **changes) if changes else body
