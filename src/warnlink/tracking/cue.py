"""What the shared picture tells a nation's tracker about a track it is about to start.

A nation whose radars first see a missile after its burnout starts a new track on it, and
from one plot it cannot tell a burning motor from a coasting body: below
``imm.LOW_ALTITUDE_M`` the new track starts as most likely burning (``imm.INITIAL_MU_LOW``,
right for a missile rising over the horizon). Its partners may have tracked the missile
through its burnout, and the node's picture (its system tracks, fused from every nation's
tracks) then says the motor has stopped. A ``PictureCue`` holds that picture's positions and
motor-burning probabilities; a new plot inside the gate of one of its tracks starts with that
track's probability of a burning motor, kept off certainty by ``CUE_FLOOR`` so that the
IMM can still change its mind.

Only the model probabilities are taken, not the state: a new track's position and velocity
stay the nation's own plots' (``LocalTracker`` keeps the part of its covariance owed to
them, ``Pi``, for the partners' fusion), so the shared picture does not come back to the
partners as if it were an independent measurement. Depressed SRBMs picked up after burnout
by a nation started as burning were held wider than their errors for 15-20 s
(benchmarks/track_start.py): this is that pickup's remedy, the cued start that a
data-sharing alliance has and a lone radar has not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warnlink.tracking import imm

CUE_FLOOR = 0.05  # a cued start's least probability of either motor state (burning, not)
# The cue's position is flown on to the plot's time on its velocity alone: a burning motor's
# thrust, up to this, moves it off by half of it times the time squared (50 m over 1 s).
CUE_ACCEL_MARGIN_MPS2 = 100.0


@dataclass(frozen=True)
class PictureCue:
    """Positions (n, 3), velocities (n, 3), position covariances (n, 3, 3) and motor-burning
    probabilities (n,) of the picture's tracks at scenario time ``t`` (s)."""

    t: float
    position: np.ndarray
    velocity: np.ndarray
    position_cov: np.ndarray
    boost_probability: np.ndarray

    @classmethod
    def of(cls, system_tracks, t: float) -> PictureCue:
        """The cue of a node's system tracks (``fusion.SystemTrack``) fused at ``t``."""
        tracks = list(system_tracks)
        if not tracks:
            return cls(t, np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros(0))
        return cls(t, np.array([trk.x[:3] for trk in tracks], float), np.array([trk.x[3:6] for trk in tracks], float),
                   np.array([trk.P[:3, :3] for trk in tracks], float),
                   np.array([trk.boost_probability for trk in tracks], float))

    def start_mu(self, r: np.ndarray, r_cov: np.ndarray, t: float, gate_chi2: float,
                 default_mu: np.ndarray) -> np.ndarray:
        """Model probabilities (k, K) of new tracks on plots at ECEF ``r`` (k, 3) with
        covariances ``r_cov`` (k, 3, 3) at scenario time ``t``: the nearest picture track's
        (chi-square ``gate_chi2``, 3 dof) where one is inside the gate, ``default_mu``
        (k, K) where none is."""
        mu = np.array(default_mu, float, copy=True)
        if not len(self.boost_probability) or not len(r):
            return mu
        dt = t - self.t
        flown = self.position + self.velocity * dt  # (n, 3)
        margin = (0.5 * CUE_ACCEL_MARGIN_MPS2 * dt * dt) ** 2 * np.eye(3)
        diff = r[:, None, :] - flown[None, :, :]  # (k, n, 3)
        S = r_cov[:, None] + self.position_cov[None] + margin  # (k, n, 3, 3)
        d2 = np.einsum("kni,knij,knj->kn", diff, np.linalg.inv(S), diff)
        nearest = np.argmin(d2, axis=1)
        cued = d2[np.arange(len(r)), nearest] < gate_chi2
        if cued.any():
            burning = np.clip(self.boost_probability[nearest[cued]], CUE_FLOOR, 1.0 - CUE_FLOOR)
            mu[cued] = 0.0
            mu[cued, imm.BALLISTIC] = 1.0 - burning
            mu[cued, imm.BOOST] = burning
        return mu
