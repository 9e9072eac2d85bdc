"""One nation's local multi-target tracker over its own radars' plots.

Per scan: every track is mixed and predicted to the scan time (IMM), plots are gated
against each model's prediction of each track (chi-square, 3 dof), a global
nearest-neighbour assignment (scipy's linear_sum_assignment on -2 log of the IMM
mixture's likelihood of the plot) pairs plots with tracks, assigned tracks are
updated, and each unassigned plot starts a tentative track. A tentative track is
confirmed after M hits among its first N scans and deleted after more than N - M
misses, which is what rejects false plots, as does a speed no missile has (MAX_SPEED_MPS);
a confirmed track is dropped when it has not been updated for ``coast_limit_s``, when its
prediction is under the ground or when it is surely faster than a missile.
Tracks live in arrays (struct of arrays), so every step is a handful of numpy calls
whatever the number of tracks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp

from warnlink.messages import (MAX_TRACK_NORMS, MAX_TRACK_SIGMA, TrackReport, pack_accel_covariance, pack_covariance,
                               track_problems)
from warnlink.physics.dynamics import fast_altitude
from warnlink.tracking import imm, motion, radar_model
from warnlink.tracking.cue import PictureCue
from warnlink.tracking.radar_model import RadarSite

log = logging.getLogger(__name__)

GATE_CHI2_3DOF = 16.27  # 99.9 %
INITIAL_SPEED_SIGMA = 3000.0  # m/s per axis: a new plot says nothing of velocity
INITIAL_ACCEL_SIGMA = 40.0  # m/s^2 per axis
# No missile is faster than this over the ground (ECEF): ICBMs burn out and re-enter at 7-7.5
# km/s (the demo's lofted one at 7.3 km/s), a body put on a fractional orbit flies at 7.8 km/s,
# and the Earth's turn adds at most 0.46 km/s to a westward flight. A track surely faster (by
# SPEED_GATE_SIGMAS of its speed's sigma) is made of false plots: with a new track's velocity
# unknown (INITIAL_SPEED_SIGMA), clutter plots kilometres apart could pass its gate, and such
# tracks were confirmed at 9-19 km/s 3,300-6,500 km from any missile (demo seeds 1, 5, 14),
# shared, and only dropped when their filters diverged.
MAX_SPEED_MPS = 8500.0
# A track whose motor-burning probability has stayed above this since some scan burns without
# doubt: the IMM's staging and ballistic models are at rest (a few per cent each, M1's late
# burns in the demo), whereas a staging sends the ballistic model above 0.5 for seconds
# (benchmarks/imm_staging.py). Reported as TrackReport.steady_burn_since_ns.
STEADY_BURN_PROBABILITY = 0.9
SPEED_GATE_SIGMAS = 3.0
# A track is given the drag error's prior at its confirmation (LocalTracker._give_drag_error_prior)
# from a velocity known from three plots, and again at this many plots, when the velocity's size
# and direction, which set the prior's, are known: from the first alone a depressed SRBM picked up
# after its burnout (benchmarks/track_start.py --cued, M2 on the USA's radars, 40 seeds) was held
# too sure of its drag into its re-entry, velocity NEES 3.75-3.84 at 428-438 s against
# 3.35-3.38 started as burning; 3.47-3.51 with the second. Holding it at the prior over all ten
# plots instead gave 3.44-3.48 there but held the pickups of M1 wider than their errors (Japan's
# in band 0.917, against 0.938).
DRAG_PRIOR_AGAIN_AT_UPDATES = 10
TENTATIVE, CONFIRMED = 0, 1


@dataclass
class TrackerConfig:
    confirm_hits: int = 3  # M
    confirm_window: int = 5  # N
    coast_limit_s: float = 60.0
    max_position_sigma_m: float = 30e3  # a coasting track this uncertain is no longer a track
    gate_chi2: float = GATE_CHI2_3DOF


@dataclass
class _TrackMeta:
    """Bookkeeping of one track that is not part of the filter state."""

    serial: int
    status: int
    hits: int = 0
    misses: int = 0
    sensors: set[str] = field(default_factory=set)
    last_update_t: float = 0.0
    track_id: str | None = None
    confirmed_t: float | None = None
    updates: int = 0
    updated_this_step: bool = False
    source_wall_ns: int = 0
    steady_burn_since_t: float | None = None  # scenario time since the motor surely burns, None: not


class LocalTracker:
    """Tracks one nation's radar plots; emits TrackReports for its confirmed tracks."""

    def __init__(self, nation: str, epoch_ns: int, config: TrackerConfig | None = None):
        self.nation = nation
        self.epoch_ns = epoch_ns
        self.config = config or TrackerConfig()
        self.t = None  # time (scenario s) of every track's state
        self.x = np.zeros((0, imm.K, 9))
        self.P = np.zeros((0, imm.K, 9, 9))
        self.Pi = np.zeros((0, imm.K, 9, 9))  # the part of P owed to this nation's own measurements
        self.mu = np.zeros((0, imm.K))
        self.meta: list[_TrackMeta] = []
        self._sites: dict[str, RadarSite] = {}
        self._serial = 0
        self._confirmed_count = 0
        self.dropped: list[_TrackMeta] = []
        # (track id, None if tentative; why), for the record: tracks a filter step took beyond what a
        # missile can be, and confirmed tracks surely faster than one (MAX_SPEED_MPS)
        self.diverged: list[tuple[str | None, str]] = []
        self.picture_cue: PictureCue | None = None  # the node's picture, for the tracks it starts (tracking.cue)

    # ------------------------------------------------------------------ inputs

    def site_for(self, report) -> RadarSite:
        site = self._sites.get(report.sensor_id)
        if site is None:
            site = RadarSite.from_geodetic(
                report.sensor_id, report.site_lat_rad, report.site_lon_rad, report.site_alt_m,
                (report.sigma_range_m, report.sigma_azimuth_rad, report.sigma_elevation_rad),
            )
            self._sites[report.sensor_id] = site
        return site

    def process_radar(self, report, wall_ns: int = 0) -> None:
        """Take one radar scan's plots (a RadarReport)."""
        t = (report.time_ns - self.epoch_ns) / 1e9
        site = self.site_for(report)
        z = np.array([[p.range_m, p.azimuth_rad, p.elevation_rad] for p in report.plots], float).reshape(-1, 3)
        self.predict_to(t)
        assigned_tracks, assigned_plots = self._assign(site, z)
        if len(assigned_tracks):
            self._update(site, assigned_tracks, z[assigned_plots])
            for i in assigned_tracks:
                m = self.meta[i]
                m.hits += 1
                m.updates += 1
                m.sensors.add(site.sensor_id)
                m.last_update_t = t
                m.updated_this_step = True
                m.source_wall_ns = max(m.source_wall_ns, wall_ns)
                if m.status == CONFIRMED and m.updates == DRAG_PRIOR_AGAIN_AT_UPDATES:
                    self._give_drag_error_prior(int(i))
        assigned = set(int(i) for i in assigned_tracks)
        for i, m in enumerate(self.meta):
            if i not in assigned and m.status == TENTATIVE and site.sensor_id in m.sensors:
                m.misses += 1
        unassigned_plots = np.setdiff1d(np.arange(len(z)), assigned_plots)
        if len(unassigned_plots):
            self._start_tracks(site, z[unassigned_plots], t, wall_ns)
        self._manage(t)

    # ------------------------------------------------------------------ filter steps

    def predict_to(self, t: float) -> None:
        """Mix and predict every track to scenario time t (backwards for a late report)."""
        if self.t is None:
            self.t = t
            return
        dt = t - self.t
        if dt != 0.0 and len(self.meta):
            self.x, self.P, self.mu, self.Pi = imm.mix_and_predict(self.x, self.P, self.mu, dt, self.Pi)
            self._drop_diverged()
        self.t = t

    def _assign(self, site: RadarSite, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plots to tracks by GNN on the IMM mixture's likelihood of each plot.

        Each model predicts the plot on its own: a plot inside any model's gate may go to
        the track, and the cost is -2 log of the mixture likelihood sum_j mu_j N(nu_j; S_j).
        Gating on the combined estimate alone would lose a missile at staging: while the
        thrust drops the ballistic model takes over, and the plots of the next stage fall
        outside its prediction though well inside the boost model's.
        """
        n, m = len(self.meta), len(z)
        if n == 0 or m == 0:
            return np.zeros(0, int), np.zeros(0, int)
        r = self.x[:, :, :3].reshape(n * imm.K, 3)
        H = radar_model.jacobian(site, r)
        S = H @ self.P[:, :, :3, :3].reshape(n * imm.K, 3, 3) @ np.swapaxes(H, 1, 2) + site.noise
        S_inv = np.linalg.inv(S)
        nu = radar_model.wrap_innovation(z[None, :, :] - radar_model.measure(site, r)[:, None, :])
        d2 = np.einsum("kmi,kij,kmj->km", nu, S_inv, nu).reshape(n, imm.K, m)
        log_det = np.log(np.linalg.det(S)).reshape(n, imm.K, 1)
        terms = np.log(np.maximum(self.mu, 1e-300))[:, :, None] - 0.5 * (d2 + log_det)  # (n, model, plot)
        cost = -2.0 * logsumexp(terms, axis=1)
        big = 1e12
        cost = np.where(d2.min(axis=1) < self.config.gate_chi2, cost, big)
        # Confirmed tracks take their plots first; tentative tracks only what is left. On one
        # likelihood scale a tentative track (wide, velocity unknown) can out-score a confirmed
        # track whose plot sits well inside its gate, take the missile's next plots from several
        # radars within a second, and be confirmed with an unobserved velocity: a duplicate that
        # is never updated again and coasts away from the missile (demo seed 11, M4: 1.4 km/s).
        confirmed = np.array([m.status == CONFIRMED for m in self.meta])
        out_rows, out_cols = [], []
        free = np.ones(m, bool)
        for group in (np.nonzero(confirmed)[0], np.nonzero(~confirmed)[0]):
            plots = np.nonzero(free)[0]
            if not len(group) or not len(plots):
                continue
            sub = cost[np.ix_(group, plots)]
            rows, cols = linear_sum_assignment(sub)
            keep = sub[rows, cols] < big
            out_rows.append(group[rows[keep]])
            out_cols.append(plots[cols[keep]])
            free[plots[cols[keep]]] = False
        if not out_rows:
            return np.zeros(0, int), np.zeros(0, int)
        return np.concatenate(out_rows), np.concatenate(out_cols)

    def _update(self, site: RadarSite, tracks: np.ndarray, z: np.ndarray) -> None:
        x, P, mu, Pi = imm.update(
            self.x[tracks], self.P[tracks], self.mu[tracks], z,
            lambda r: radar_model.measure(site, r), lambda r: radar_model.jacobian(site, r),
            site.noise, radar_model.wrap_innovation, self.Pi[tracks],
        )
        self.x[tracks], self.P[tracks], self.mu[tracks], self.Pi[tracks] = x, P, mu, Pi

    def _start_tracks(self, site: RadarSite, z: np.ndarray, t: float, wall_ns: int) -> None:
        r, cov = radar_model.plot_to_ecef(site, z)
        k = len(z)
        x = np.zeros((k, imm.K, 9))
        x[:, :, :3] = r[:, None, :]
        P = np.zeros((k, imm.K, 9, 9))
        P[:, :, :3, :3] = cov[:, None]
        P[:, :, 3:6, 3:6] = np.eye(3) * INITIAL_SPEED_SIGMA**2
        P[:, :, 6:9, 6:9] = np.eye(3) * INITIAL_ACCEL_SIGMA**2
        # The ballistic hypothesis is that nothing pushes the object: with a free ``a`` it
        # would explain a burning motor's first seconds as well as the boost model does, and
        # win on having fewer unknowns (a missile in boost was taken to coast 70% of the time
        # over its first ten plots, its velocity lagging the thrust: velocity NEES 8-14).
        P[:, imm.BALLISTIC, 6:9, 6:9] = motion.ballistic_accel_prior(x[:, imm.BALLISTIC])
        Pi = np.zeros((k, imm.K, 9, 9))  # the plot is this nation's own; the velocity guess anyone's
        Pi[:, :, :3, :3] = cov[:, None]
        self.x = np.concatenate([self.x, x])
        self.P = np.concatenate([self.P, P])
        self.Pi = np.concatenate([self.Pi, Pi])
        mu = imm.initial_mu(fast_altitude(r))
        if self.picture_cue is not None:
            mu = self.picture_cue.start_mu(r, cov, t, self.config.gate_chi2, mu)
        self.mu = np.concatenate([self.mu, mu])
        for _ in range(k):
            self._serial += 1
            self.meta.append(_TrackMeta(self._serial, TENTATIVE, hits=1, sensors={site.sensor_id},
                                        last_update_t=t, updates=1, source_wall_ns=wall_ns))

    def _give_drag_error_prior(self, i: int) -> None:
        """Give track i's ballistic model the drag error no plot has measured yet (at confirmation, and at the 10th plot).

        A track starts with its velocity unknown, so the drag error's prior
        (motion.drag_error_prior, along the velocity) is nil at its first plot; a track that
        starts as burning gets it when the boost model hands over at burnout (imm._into), but
        one picked up coasting in the air never did, and its ballistic model held a drag error
        of 0 (a depressed SRBM picked up after burnout, started coasting: velocity NEES 8-13,
        benchmarks/track_start.py). Confirmed, its velocity is known from its plots: where the
        ballistic model is the likelier, its spread along the velocity is raised to the
        prior's (and once more at DRAG_PRIOR_AGAIN_AT_UPDATES plots). Not to Pi: a prior is no
        plot. Where the boost model leads, the handover at burnout gives the prior; raised at
        confirmation as well, a pickup after burnout started as burning was held the wider
        for it (in band 0.826 -> 0.761).
        """
        if self.mu[i, imm.BALLISTIC] < 0.5:
            return
        x_b = self.x[i, imm.BALLISTIC][None]
        prior = motion.drag_error_prior(x_b)[0]
        v_hat = x_b[0, 3:6] / max(float(np.linalg.norm(x_b[0, 3:6])), 1e-9)
        missing = float(v_hat @ prior @ v_hat) - float(v_hat @ self.P[i, imm.BALLISTIC, 6:9, 6:9] @ v_hat)
        if missing > 0.0:
            self.P[i, imm.BALLISTIC, 6:9, 6:9] += missing * np.outer(v_hat, v_hat)

    def _drop_diverged(self) -> None:
        """Drop the tracks a filter step has taken beyond what a missile can be
        (messages.track_problems, on every model's estimate): a diverged filter's numbers,
        fused or flown on, would overflow every node's picture, and its report is invalid."""
        n = len(self.meta)
        if not n or self._all_within_bounds():
            return
        problems = np.array(track_problems(self.x.reshape(n * imm.K, 9), self.P.reshape(n * imm.K, 9, 9)))
        problems = problems.reshape(n, imm.K)
        bad = (problems != "").any(axis=1)
        if not bad.any():
            return
        for i in np.nonzero(bad)[0]:
            m = self.meta[i]
            why = next(p for p in problems[i] if p)
            log.warning("%s: track %s diverged and is dropped: %s", self.nation, m.track_id or f"#{m.serial}", why)
            self.diverged.append((m.track_id, why))
            if m.status == CONFIRMED:
                self.dropped.append(m)
        self._keep(~bad)

    def _keep(self, keep: np.ndarray) -> None:
        """Keep only these tracks (a mask over them)."""
        self.x, self.P, self.mu, self.Pi = self.x[keep], self.P[keep], self.mu[keep], self.Pi[keep]
        self.meta = [m for m, k in zip(self.meta, keep) if k]

    def _all_within_bounds(self) -> bool:
        """Every model of every track finite and inside the bounds, by a few reductions over the
        whole arrays (a component within bound/sqrt(3) keeps the norm within it): the check runs
        at every step, and track_problems' per-track detail is for when this fails."""
        with np.errstate(invalid="ignore", over="ignore"):
            largest = np.abs(self.x).reshape(-1, 3, 3).max(axis=(0, 2))  # NaN if any is
            variance = np.diagonal(self.P, axis1=2, axis2=3).reshape(-1, 3, 3).max(axis=(0, 2))
            return bool(np.isfinite(self.P.sum()) and np.all(largest * np.sqrt(3.0) <= MAX_TRACK_NORMS)
                        and np.all(variance <= np.square(MAX_TRACK_SIGMA)))

    def _manage(self, t: float) -> None:
        self._drop_diverged()
        cfg = self.config
        keep = np.ones(len(self.meta), bool)
        if self.meta:
            xc, Pc = imm.combine(self.x, self.P, self.mu)
            alt = fast_altitude(xc[:, :3])
            sigma = np.sqrt(np.trace(Pc[:, :3, :3], axis1=1, axis2=2))
            speed, speed_sigma = _speed(xc, Pc)
        else:
            alt = sigma = speed = speed_sigma = np.zeros(0)
        too_fast = speed - SPEED_GATE_SIGMAS * speed_sigma > MAX_SPEED_MPS
        steady = imm.boost_probability(self.mu) > STEADY_BURN_PROBABILITY if self.meta else np.zeros(0, bool)
        for i, m in enumerate(self.meta):
            if not steady[i]:
                m.steady_burn_since_t = None
            elif m.steady_burn_since_t is None:
                m.steady_burn_since_t = t
            if too_fast[i]:  # false plots: a tentative track goes as clutter does, a confirmed one is recorded
                keep[i] = False
                if m.status == CONFIRMED:
                    why = f"speed {speed[i]:.4g} m/s beyond a missile's {MAX_SPEED_MPS:.4g}"
                    log.warning("%s: track %s dropped: %s", self.nation, m.track_id, why)
                    self.diverged.append((m.track_id, why))
                    self.dropped.append(m)
            elif m.status == TENTATIVE:
                if m.hits >= cfg.confirm_hits:
                    m.status = CONFIRMED
                    self._confirmed_count += 1
                    m.track_id = f"{self.nation}-T{self._confirmed_count}"
                    m.confirmed_t = t
                    self._give_drag_error_prior(i)
                elif m.misses > cfg.confirm_window - cfg.confirm_hits:
                    keep[i] = False
            elif (t - m.last_update_t > cfg.coast_limit_s or alt[i] < -1000.0
                  or sigma[i] > cfg.max_position_sigma_m):
                keep[i] = False
                self.dropped.append(m)
        if not keep.all():
            self._keep(keep)

    # ------------------------------------------------------------------ outputs

    def confirmed(self) -> list[int]:
        return [i for i, m in enumerate(self.meta) if m.status == CONFIRMED]

    def reports(self, only_updated: bool = True) -> list[TrackReport]:
        """TrackReports of the confirmed tracks (updated since the last call), at the tracker's time.

        Dropped tracks are reported once more with status "dropped".
        """
        out: list[TrackReport] = []
        idx = self.confirmed()
        if idx:
            xc, Pc, Pic = imm.output(self.x[idx], self.P[idx], self.mu[idx], self.Pi[idx])
            time_ns = self.epoch_ns + round(self.t * 1e9)
            for k, i in enumerate(idx):
                m = self.meta[i]
                if only_updated and not m.updated_this_step:
                    continue
                out.append(self._report(m, xc[k], Pc[k], Pic[k], float(imm.boost_probability(self.mu[i])), time_ns))
                m.updated_this_step = False
        for m in self.dropped:
            if m.track_id is not None:
                time_ns = self.epoch_ns + round(self.t * 1e9)
                out.append(TrackReport(
                    origin=self.nation, track_id=m.track_id, time_ns=time_ns, state_ecef=[0.0] * 6,
                    covariance=[0.0] * 21, boost_probability=0.0,
                    initiated_ns=self.epoch_ns + round(m.confirmed_t * 1e9), updates=m.updates,
                    sensors=sorted(m.sensors), status="dropped", source_wall_ns=m.source_wall_ns,
                ))
        self.dropped = []
        return out

    def _report(self, m: _TrackMeta, x: np.ndarray, P: np.ndarray, Pi: np.ndarray, boost_p: float,
                time_ns: int) -> TrackReport:
        return TrackReport(
            origin=self.nation,
            track_id=m.track_id,
            time_ns=time_ns,
            state_ecef=x[:6].tolist(),
            covariance=pack_covariance(P[:6, :6]),
            covariance_independent=pack_covariance(Pi[:6, :6]),
            boost_probability=float(boost_p),
            initiated_ns=self.epoch_ns + round(m.confirmed_t * 1e9),
            updates=m.updates,
            accel_ecef=x[6:9].tolist(),
            accel_covariance=pack_accel_covariance(P),
            sensors=sorted(m.sensors),
            status="active",
            source_wall_ns=m.source_wall_ns,
            steady_burn_since_ns=0 if m.steady_burn_since_t is None else self.epoch_ns + round(m.steady_burn_since_t * 1e9),
        )

    def estimates(self) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
        """(track id, 9-D state, covariance, boost probability) of the confirmed tracks."""
        idx = self.confirmed()
        if not idx:
            return []
        xc, Pc, _ = imm.output(self.x[idx], self.P[idx], self.mu[idx], self.Pi[idx])
        return [(self.meta[i].track_id, xc[k], Pc[k], float(imm.boost_probability(self.mu[i]))) for k, i in enumerate(idx)]


def _speed(x: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Speeds (n,) of states x (n, >= 6) and their sigmas (n,): the velocity's spread along itself."""
    v = x[:, 3:6]
    speed = np.linalg.norm(v, axis=1)
    v_hat = v / np.maximum(speed, 1e-9)[:, None]
    return speed, np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", v_hat, P[:, 3:6, 3:6], v_hat), 0.0))
