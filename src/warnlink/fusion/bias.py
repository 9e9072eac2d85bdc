"""Members that persistently disagree with the rest of their system track, and how much to widen them.

A radar with an uncorrected bias (2 mrad of azimuth is a kilometre at 500 km) makes a
local track whose covariance knows nothing of the offset: fused as it is, it pulls the
system track off and makes it overconfident. Each step, every pair of members of a
system track is compared: the difference nu = x_i - x_j should have covariance
S = P_i + P_j. Exponentially weighted averages (time constant ``TIME_CONSTANT_S``) of
nu nu^T, S and the chi-square distance nu^T S^-1 nu are kept per pair. A member that
disagrees with every partner (averaged distance well above the 3 that noise gives for
the 3 position axes) is widened by the part of E[nu nu^T] that S does not explain,
averaged over its partners, as a shared (not independent) error: the "consider"
covariance of its bias, estimated from the data. A member that disagrees only with the
biased one is left alone; with only two members both are widened, which stays
consistent. Position only: a constant offset leaves velocities alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TIME_CONSTANT_S = 10.0
FLAG_D2 = 9.0  # three times the 3-dof mean: noise alone stays below it (averaged over ~10 samples)


@dataclass
class _Stats:
    t_s: float
    nu_nu: np.ndarray
    S: np.ndarray
    d2: float


@dataclass
class DiscrepancyMonitor:
    """Per pair of members (origin, track id) of one system track: their running disagreement."""

    time_constant_s: float = TIME_CONSTANT_S
    flag_d2: float = FLAG_D2
    _stats: dict[tuple, _Stats] = field(default_factory=dict)  # (key_a, key_b), key_a < key_b

    def widening(self, key: tuple[str, str]) -> np.ndarray | None:
        """Position covariance (3, 3) to add to this member, or None while it agrees with a partner."""
        pairs = [s for pair, s in self._stats.items() if key in pair]
        if not pairs or min(s.d2 for s in pairs) <= self.flag_d2:
            return None
        excess = np.mean([s.nu_nu - s.S for s in pairs], axis=0)
        values, vectors = np.linalg.eigh(0.5 * (excess + excess.T))
        return (vectors * np.maximum(values, 0.0)) @ vectors.T

    def update(self, groups, index: dict, x: np.ndarray, P: np.ndarray, t_s: float) -> None:
        """Take this step's groups of members and their aligned (unwidened) estimates."""
        alive = set()
        for group in groups:
            for a_pos, a in enumerate(group):
                for b in group[a_pos + 1:]:
                    i, j = index[a], index[b]
                    nu = x[i, :3] - x[j, :3]
                    S = P[i, :3, :3] + P[j, :3, :3]
                    try:
                        d2 = float(nu @ np.linalg.solve(S, nu))
                    except np.linalg.LinAlgError:
                        continue
                    pair = (a, b) if a < b else (b, a)
                    alive.add(pair)
                    self._add(pair, np.outer(nu, nu), S, d2, t_s)
        for pair in [p for p in self._stats if p not in alive]:
            del self._stats[pair]

    def _add(self, pair, nu_nu, S, d2, t_s) -> None:
        s = self._stats.get(pair)
        if s is None:  # a new pair starts out agreeing: one unlucky sample must not flag it
            s = self._stats[pair] = _Stats(t_s - 1.0, S.copy(), S.copy(), 3.0)
        a = 1.0 - np.exp(-max(t_s - s.t_s, 0.0) / self.time_constant_s)
        s.nu_nu = (1 - a) * s.nu_nu + a * nu_nu
        s.S = (1 - a) * s.S + a * S
        s.d2 = (1 - a) * s.d2 + a * d2
        s.t_s = t_s
