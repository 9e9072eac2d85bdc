"""System tracks: every nation's local tracks of one object, associated and fused.

Each step a node aligns every local track it holds (its own and its partners') to the
step time, keeps the associations of the last step that still hold (a loose gate:
an association is held until it clearly breaks), associates the rest (chi-square gate
on the state difference, greedy by increasing distance, never two tracks of the same
origin in one system track) and fuses each group by split covariance intersection
(:mod:`warnlink.fusion.ci`): what each nation's own measurements say is independent of
every other nation's, what the trackers assume of the missile's motion may be shared.
Members that all say their motor has burnt without doubt for a while are fused as
independent instead (:func:`fuse_members`): there the shared part they declare is a hedge
against a staging that has not come.
A member that persistently disagrees with its partners (a biased radar) is widened by
what the disagreement shows (:mod:`warnlink.fusion.bias`).

A new system track is named after its earliest-initiated member, ``ST-<origin>-<track>``,
and keeps that name while any of its members goes on (a warning keyed on it does not
flap when one nation loses the missile). A system track that every nation has lost is
flown on ballistically; when a new local track continues it, it takes the old name, and
the old estimate, flown on, is fused in as a prior until the new tracks know more than
it does: what was measured before the gap is not thrown away. So too when one member
ends while others go on: its last estimate, flown on, stays in the system track while it
still adds (demo, lofted ICBM: when the USA's track ended the system track fell back on
Japan's alone, 150 m RMSE over 50 seeds where the oracle had 40-50 m). When two system tracks merge, the older name
survives and ``renames`` maps the other to it. Every step is computed from the tracks
in sorted order only, so every node that holds the same reports computes the same
system tracks with the same names, whatever the order in which the reports arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warnlink.fusion.align import BOOSTING, align
from warnlink.fusion.bias import DiscrepancyMonitor
from warnlink.fusion.ci import kalman_product, split_covariance_intersection
from warnlink.messages import TrackReport, unpack_accel_rows, unpack_covariance
from warnlink.physics.dynamics import fast_altitude
from warnlink.tracking import motion

GATE_CHI2_6DOF = 22.46  # 99.9 %: a new association
HOLD_CHI2_6DOF = 45.0  # an existing association breaks only beyond this
COAST_S = 30.0  # a local track not reported for this long leaves its system track
# A boosting track is aligned with its last thrust held (fusion.align), which is wrong as soon
# as the motor burns out in the gap: 100 m/s^2 gone is 1 km after 5 s and 50 km after 30 s (an
# SRBM whose track was lost at burnout, coasted with its thrust, made a second system track
# 53 km off). So a boosting track not reported for this long leaves sooner.
BOOST_COAST_S = 5.0
# So too a track in the air (a nominal drag above motion.DRAG_ERROR_MIN_MPS2): its drag error,
# flown on without plots, grows as the drag does, e-fold in a few seconds low down, and the
# linearised covariance does not keep up. Short SRBM: ROK's radar lost the missile 45 km up,
# 30 s before impact, and its last report, flown on as a member down to 4-5 km, pulled the
# system track off and split it from the USA's. Once it has left, the member's estimate is
# still fused as a prior while it adds (see the module docstring), but no longer associates.
AIR_COAST_S = 5.0
LOST_KEEP_S = 7200.0  # a lost system track may be found again for this long (or until it lands)
MODE_MIN_UPDATES = 10  # plots behind a local track before its thrust probability speaks for the system track
_UNKNOWN_ROWS = np.full((3, 9), np.nan)  # a track that did not release its acceleration's covariance
PRIOR_USEFUL = 0.95  # a prior stays while it takes the fused position variance below 95% of the tracks' own
# Members that have all burnt without doubt for this long (TrackReport.steady_burn_since_ns) are
# fused as independent (fuse_members). Late in a burn each track's errors are its own plots':
# the demo's nations' velocity errors there correlate at -0.10-0.32 where they declare 0.41-0.65
# shared, the rest of the declared share being the IMM's hedge against a staging that has not
# come. Within seconds of a staging they correlate at 0.37-0.60, as declared: every tracker lags
# the same change, and split CI is right. (Second-by-second figures from a throwaway script over
# recorded fusion inputs, README; benchmarks/fusion_correlation.py prints the phase averages.)
STEADY_BURN_S = 20.0


def _thrust_probability(informed: list) -> float:
    """The system track's probability that a motor burns, from its members that have a say.

    A member's thrust probability counts once MODE_MIN_UPDATES plots stand behind it: a young
    track's is mostly its prior, and a radar that picks a missile up low just after burnout
    starts it as burning (tracking.imm.initial_mu), which under "any member burning" held
    burnout, and the warnings, back by 10-15 s. The counted members are then weighed by their
    plots: under the largest of them, a member ten plots old outweighed one a hundred old
    (demo seed 80, M3: two partners' tracks made after burnout passed ten plots while still
    undecided, 0.69 and 0.81 against the oldest member's 0.00 and 0.03, and each restarted
    the burnout confirmation; JPN's warning came 20 s after the oracle's).
    """
    weights = np.array([max(t.updates, 1) for t in informed], float)
    return float(weights @ np.array([t.boost_probability for t in informed]) / weights.sum())


def _best_known(log_ratio: np.ndarray, sigma: np.ndarray, members: list[int]) -> tuple[float, float] | None:
    """The members' best-known 1/beta (log ratio to the nominal, sigma), None if none knows it."""
    known = [i for i in members if np.isfinite(sigma[i])]
    if not known:
        return None
    best = min(known, key=lambda i: sigma[i])
    return float(log_ratio[best]), float(sigma[best])


@dataclass
class _Lost:
    """An estimate no track reports any more (a lost system track, a member that ended),
    flown on ballistically: to find the track again, or as a prior."""

    lost_t_s: float
    x: np.ndarray
    P: np.ndarray
    Pi: np.ndarray
    members: tuple = ()  # the local tracks it was made of
    accel: np.ndarray | None = None  # its drag error, if known
    accel_rows: np.ndarray | None = None  # (3, 9): the drag error's covariance rows, if known
    burning: bool = False  # its motor burnt when it was lost: flown on ballistically it is no prior
    t_s: float = -1.0
    landed: bool = False

    def __post_init__(self) -> None:
        self.t_s = self.lost_t_s
        # Flown in 9-D, so that a drag error (a, in the air) persists between steps.
        self._x9, self._P9 = motion.ballistic_state9(self.x[None], self.P[None],
                                                     None if self.accel is None else self.accel[None],
                                                     None if self.accel_rows is None else self.accel_rows[None])
        self._Pi9 = motion.covariance9(self.Pi[None])

    def advance_to(self, t_s: float) -> bool:
        """Fly the state on to ``t_s`` (forward only); False once it has come down."""
        if t_s > self.t_s and not self.landed:
            self._x9, self._P9, self._Pi9 = motion.predict_split(self._x9, self._P9, self._Pi9, t_s - self.t_s,
                                                                 motion.BALLISTIC)
            self.x, self.P, self.Pi, self.t_s = self._x9[0, :6], self._P9[0, :6, :6], self._Pi9[0, :6, :6], t_s
            self.landed = bool(fast_altitude(self.x[None, :3])[0] < 0.0)
        return not self.landed


@dataclass
class LocalTrack:
    origin: str
    track_id: str
    state_t_s: float
    x: np.ndarray  # (6,)
    P: np.ndarray  # (6, 6)
    accel: np.ndarray  # (3,)
    boost_probability: float
    initiated_ns: int
    received_t_s: float
    updates: int = 0
    Pi: np.ndarray | None = None  # (6, 6): the part of P owed to the origin's own measurements
    accel_rows: np.ndarray | None = None  # (3, 9): accel's rows of the origin's 9x9 covariance, if released
    steady_burn_since_t_s: float | None = None  # since when its motor has burnt without doubt, None: not

    @property
    def key(self) -> tuple[str, str]:
        return (self.origin, self.track_id)


@dataclass
class SystemTrack:
    id: str
    t_s: float
    x: np.ndarray
    P: np.ndarray
    accel: np.ndarray | None
    boost_probability: float
    nations: tuple[str, ...]
    members: tuple[tuple[str, str], ...]
    initiated_ns: int
    updates: int = 0  # most measurements behind any member
    Pi: np.ndarray | None = None  # the part of P owed to independent measurements
    prior: bool = False  # an estimate from before the track was lost is fused in
    # In the air: log of 1/beta over the nominal, and its sigma, from the best-known drag
    # error of a ballistic member (tracking.motion.inv_beta_log_ratio); None: not known.
    inv_beta_log_ratio: tuple[float, float] | None = None


@dataclass
class Fusion:
    """One node's fusion stage (see the module docstring)."""

    nation: str
    epoch_ns: int = 0
    gate_chi2: float = GATE_CHI2_6DOF
    hold_chi2: float = HOLD_CHI2_6DOF
    coast_s: float = COAST_S
    boost_coast_s: float = BOOST_COAST_S
    air_coast_s: float = AIR_COAST_S
    renames: dict[str, str] = field(default_factory=dict)
    _local: dict[tuple[str, str], LocalTrack] = field(default_factory=dict)
    _groups: list[tuple[tuple[str, str], ...]] = field(default_factory=list)
    _tracks: dict[str, SystemTrack] = field(default_factory=dict)
    _names: dict[tuple[str, str], str] = field(default_factory=dict)  # member -> its system track's name
    _founders: dict[str, tuple[int, tuple[str, str]]] = field(default_factory=dict)  # name -> (rank, member)
    _lost: dict[str, _Lost] = field(default_factory=dict)
    _priors: dict[str, list[_Lost]] = field(default_factory=dict)  # name -> estimates of what has left it
    discrepancy: DiscrepancyMonitor = field(default_factory=DiscrepancyMonitor)  # members that disagree (a bias)

    def ingest(self, report: TrackReport, t_s: float) -> None:
        """Take one local track report (own or partner) processed at scenario time ``t_s``."""
        key = (report.origin, report.track_id)
        if report.status == "dropped":
            self._depart(key)
            return
        state_t = (report.time_ns - self.epoch_ns) / 1e9 if self.epoch_ns else t_s
        old = self._local.get(key)
        if old is not None and old.state_t_s > state_t:
            return  # an older state than the one held: keep the newer
        accel = np.asarray(report.accel_ecef, float) if report.accel_ecef else np.zeros(3)
        Pi = unpack_covariance(report.covariance_independent) if report.covariance_independent else None
        rows = unpack_accel_rows(report.accel_covariance) if report.accel_covariance else None
        steady = state_t - (report.time_ns - report.steady_burn_since_ns) / 1e9 if report.steady_burn_since_ns else None
        self._local[key] = LocalTrack(
            report.origin, report.track_id, state_t, np.asarray(report.state_ecef, float),
            unpack_covariance(report.covariance), accel, float(report.boost_probability),
            int(report.initiated_ns), t_s, int(report.updates), Pi, rows, steady)

    def name_of(self, member: tuple[str, str]) -> str | None:
        """The system track a local track (origin, track id) belonged to at the last fusion."""
        return self._names.get(member)

    def system_track(self, track_id: str) -> SystemTrack | None:
        return self._tracks.get(track_id)

    def fuse(self, t_s: float) -> list[SystemTrack]:
        """System tracks at scenario time ``t_s``, sorted by id."""
        for key in [k for k, trk in self._local.items() if self._unreported_too_long(trk, t_s)]:
            self._depart(key)
        keys = sorted(self._local)
        if not keys:
            self._remember_lost({}, {}, t_s)
            self._priors.clear()  # the lost tracks keep what their departed members knew
            self._groups, self._tracks, self._names = [], {}, {}
            return []
        tracks = [self._local[k] for k in keys]
        x, P, Pi = align_tracks(tracks, t_s)
        log_ratio, log_ratio_sigma = motion.inv_beta_log_ratio(
            np.stack([t.x for t in tracks]), np.stack([t.accel for t in tracks]), _accel_rows(tracks))
        burning = np.array([t.boost_probability for t in tracks]) > BOOSTING
        log_ratio_sigma[burning] = np.nan  # a burning track's a is thrust
        index = {k: i for i, k in enumerate(keys)}
        P_own = P
        P = P.copy()  # members found to disagree with their partners (a bias) are widened
        for k, i in index.items():
            widen = self.discrepancy.widening(k)
            if widen is not None:
                P[i, :3, :3] += widen
        d2 = _pairwise_d2(x, P)
        groups = self._associate(keys, index, tracks, d2)
        self.discrepancy.update(groups, index, x, P_own, t_s)
        previous = self._names
        names = self._names_for(groups, previous)
        fused = []
        for group in groups:
            members = [index[k] for k in group]
            fused.append(fuse_members(x[members], P[members], Pi[members],
                                      [steady_burn_s(tracks[i], t_s) for i in members]))
        names = self._found_again(groups, names, fused, previous, t_s)
        out: dict[str, SystemTrack] = {}
        renames: dict[str, str] = {}
        for group, name, (xf, Pf, Pif) in zip(groups, names, fused):
            local = [tracks[index[k]] for k in group]
            seasoned = [t for t in local if t.updates >= MODE_MIN_UPDATES]
            informed = seasoned or local
            boost = _thrust_probability(informed)
            # A prior is let go only when a seasoned member says a motor burns: a young track's
            # thrust probability is its initial guess (demo, lofted ICBM found again after an
            # hour: its new track's 0.5 dropped the prior; midcourse RMSE 2.0x the bound, 0.88x
            # with the prior kept, 50 seeds).
            burning = any(t.boost_probability > BOOSTING for t in seasoned)
            xf, Pf, Pif, with_prior = self._with_prior(name, xf, Pf, Pif, burning, t_s)
            accel = np.mean([t.accel for t in informed if t.boost_probability > 0.5], axis=0) if boost > 0.5 else None
            out[name] = SystemTrack(name, t_s, xf, Pf, accel, boost, tuple(sorted({t.origin for t in local})),
                                    tuple(group), min(t.initiated_ns for t in local),
                                    max(t.updates for t in local), Pif, with_prior,
                                    _best_known(log_ratio, log_ratio_sigma, [index[k] for k in group]))
            for member in group:
                old = previous.get(member)
                if old is not None and old != name and old not in renames:
                    renames[old] = name
        for old, new in renames.items():
            if old not in out:
                self.renames[old] = new
        self._remember_lost(out, renames, t_s)
        for name in [n for n in self._priors if n not in out]:
            del self._priors[name]
        self._groups = groups
        self._tracks = out
        self._names = {member: trk.id for trk in out.values() for member in trk.members}
        return [out[k] for k in sorted(out)]

    def _unreported_too_long(self, trk: LocalTrack, t_s: float) -> bool:
        """Whether a local track has gone unreported too long to stay a member: COAST_S, or
        sooner while its motor burns (BOOST_COAST_S) or it is in the air (AIR_COAST_S)."""
        age = t_s - trk.state_t_s
        if age > self.coast_s:
            return True
        if age > self.boost_coast_s and trk.boost_probability > BOOSTING:
            return True
        return age > self.air_coast_s and bool(motion.nominal_drag(trk.x[None])[0] > motion.DRAG_ERROR_MIN_MPS2)

    def _remember_lost(self, out, renames, t_s: float) -> None:
        """System tracks that ended this step without merging into another are kept as lost:
        a missile that flies out of every radar's cover (a lofted ICBM at apogee) is still
        in the air, and its track, found again, should keep its name."""
        for name, trk in self._tracks.items():
            if name not in out and name not in renames:
                Pi = trk.Pi if trk.Pi is not None else np.zeros((6, 6))
                self._lost[name] = _Lost(trk.t_s, trk.x.copy(), trk.P.copy(), Pi.copy(), tuple(trk.members),
                                         burning=trk.boost_probability > BOOSTING)
        for name in [n for n, lost in self._lost.items() if t_s - lost.lost_t_s > LOST_KEEP_S]:
            del self._lost[name]

    def _found_again(self, groups, names, fused, previous, t_s: float) -> list[str]:
        """Give a new group the name of a lost system track it continues (chi-square gate, 6 dof)."""
        names = list(names)
        taken = set(names)
        for gi, group in enumerate(groups):
            if any(m in previous for m in group) or not self._lost:
                continue
            xf, Pf = fused[gi][:2]
            best, best_d2 = None, self.gate_chi2
            for name in sorted(self._lost):
                if name in taken:
                    continue
                lost = self._lost[name]
                if not lost.advance_to(t_s):
                    continue
                dx = xf - lost.x
                d2 = float(dx @ np.linalg.solve(Pf + lost.P, dx))
                if d2 < best_d2:
                    best, best_d2 = name, d2
            if best is not None:
                names[gi] = best
                taken.add(best)
                lost = self._lost.pop(best)
                # A member that went on carries the old information itself; a burning track's
                # estimate, flown on ballistically, is wrong as soon as the motor burnt on.
                if not set(group) & set(lost.members) and not lost.burning:
                    self._priors[best] = [lost]
        for name in [n for n, lost in self._lost.items() if lost.landed]:
            del self._lost[name]
        return names

    def _depart(self, key: tuple[str, str]) -> None:
        """Take a local track out; if a system track goes on without it, its last estimate
        is kept there as a prior (:meth:`_with_prior`). A burning track's is not: flown on
        ballistically it would be wrong as soon as the motor burnt on."""
        trk = self._local.pop(key, None)
        name = self._names.get(key)
        if trk is None or name is None or trk.boost_probability > BOOSTING:
            return
        P = trk.P.copy()
        widen = self.discrepancy.widening(key)
        if widen is not None:
            P[:3, :3] += widen
        Pi = trk.Pi if trk.Pi is not None else np.zeros((6, 6))
        self._priors.setdefault(name, []).append(_Lost(trk.state_t_s, trk.x.copy(), P, Pi.copy(), (key,), trk.accel.copy(),
                                                        trk.accel_rows))

    def _with_prior(self, name: str, x, P, Pi, burning: bool, t_s: float):
        """The group's estimate with what has left it fused in (a pre-gap estimate, a member
        that ended), each while it still helps.

        Returns (x, P, Pi, whether a prior was used). A prior that no longer agrees with the
        tracks (a manoeuvre), or adds little, or any when a member is known to burn
        (``burning``: a motor lit again), is let go for good. Each
        prior's own measurements are independent of the tracks' (they were made before, or
        by a tracker that is no more), so split covariance intersection applies.
        """
        priors = self._priors.get(name)
        if not priors:
            return x, P, Pi, False
        kept, fused = [], None
        for prior in priors:
            if burning or not prior.advance_to(t_s):
                continue
            dx = x - prior.x
            if float(dx @ np.linalg.solve(P + prior.P, dx)) > self.hold_chi2:
                continue
            pair = split_covariance_intersection(np.stack([x, prior.x]), np.stack([P, prior.P]),
                                                 np.stack([Pi, prior.Pi]))
            if np.trace(pair[1][:3, :3]) <= PRIOR_USEFUL * np.trace(P[:3, :3]):
                kept.append(prior)
                fused = pair
        if not kept:
            del self._priors[name]
            return x, P, Pi, False
        self._priors[name] = kept
        if len(kept) > 1:  # one prior: its pair is the answer already
            fused = split_covariance_intersection(np.stack([x] + [p.x for p in kept]),
                                                  np.stack([P] + [p.P for p in kept]),
                                                  np.stack([Pi] + [p.Pi for p in kept]))
        return (*fused, True)

    def local_track(self, key: tuple[str, str]) -> LocalTrack | None:
        """The local track (origin, track id) as last reported, at its own state time."""
        return self._local.get(key)

    def _names_for(self, groups, previous) -> list[str]:
        """A system track keeps its name while any of its members goes on; merged tracks keep the
        earliest-founded name; a part split off, or a new group, is named after its earliest member."""
        claims: dict[str, list[int]] = {}
        for gi, group in enumerate(groups):
            for name in sorted({previous[m] for m in group if m in previous}):
                claims.setdefault(name, []).append(gi)
        chosen: dict[int, str] = {}
        for name in sorted(claims, key=lambda nm: self._founders.get(nm, (2**63, nm))):
            founder = self._founders.get(name, (0, None))[1]
            candidates = [gi for gi in claims[name] if gi not in chosen]
            if not candidates:
                continue
            with_founder = [gi for gi in candidates if founder in groups[gi]]
            gi = with_founder[0] if with_founder else min(candidates, key=lambda g: self._rank_of(groups[g]))
            chosen[gi] = name
        names = []
        for gi, group in enumerate(groups):
            name = chosen.get(gi)
            if name is None:
                name = _name(group, self.local_track)
                if name in chosen.values():  # a split-off part whose earliest member named the original
                    name = name + "-" + str(sum(1 for n in self._founders if n.startswith(name)))
                key = min(group, key=lambda k: self._rank_of((k,)))
                self._founders.setdefault(name, (self._rank_of((key,))[0], key))
            names.append(name)
        return names

    def _rank_of(self, group):
        return min(((trk.initiated_ns if (trk := self._local.get(k)) is not None else 2**63), k) for k in group)

    def _associate(self, keys, index, tracks, d2) -> list[tuple[tuple[str, str], ...]]:
        """Groups of local track keys: held associations first, then new ones by increasing distance."""
        group_of: dict[tuple[str, str], int] = {}
        groups: list[list[tuple[str, str]]] = []
        for old in self._groups:  # hold what still holds: each member against those kept so far
            alive = [k for k in old if k in index]
            if not alive:
                continue
            kept = [alive[0]]
            for k in alive[1:]:
                if all(d2[index[k], index[m]] < self.hold_chi2 for m in kept):
                    kept.append(k)
            gid = len(groups)
            groups.append(kept)
            for k in kept:
                group_of[k] = gid
        for k in keys:
            if k not in group_of:
                group_of[k] = len(groups)
                groups.append([k])
        # New associations: candidate pairs of different origins by increasing distance.
        n = len(keys)
        iu, ju = np.triu_indices(n, 1)
        order = np.lexsort((ju, iu, d2[iu, ju]))
        for o in order:
            i, j = int(iu[o]), int(ju[o])
            if d2[i, j] >= self.gate_chi2:
                break
            gi, gj = group_of[keys[i]], group_of[keys[j]]
            if gi == gj:
                continue
            a, b = groups[gi], groups[gj]
            if {k[0] for k in a} & {k[0] for k in b}:
                continue  # one origin never holds two tracks of one object
            if not all(d2[index[p], index[q]] < self.gate_chi2 for p in a for q in b):
                continue
            a.extend(b)
            for k in b:
                group_of[k] = gi
            groups[gj] = []
        return [tuple(sorted(g)) for g in groups if g]


def steady_burn_s(track: LocalTrack, t_s: float) -> float:
    """How long the track's motor has burnt without doubt at ``t_s``; -inf if it does not."""
    return -np.inf if track.steady_burn_since_t_s is None else t_s - track.steady_burn_since_t_s


def fuse_members(x, P, Pi, steady_s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, P, Pi) of one system track from its aligned members (k, 6), (k, 6, 6), (k, 6, 6).

    By split covariance intersection, but as independent estimates (the Kalman product) while
    every member has burnt without doubt for STEADY_BURN_S (``steady_s``, (k,) seconds).
    """
    if len(x) == 1:
        return x[0], P[0], Pi[0]
    if min(steady_s) >= STEADY_BURN_S:
        return kalman_product(x, P, Pi)
    return split_covariance_intersection(x, P, Pi)


def align_tracks(tracks: list[LocalTrack], t_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local tracks' states (n, 6), covariances and independent parts (n, 6, 6) brought to
    ``t_s`` with what each released (:func:`warnlink.fusion.align.align`): what the fusion fuses."""
    return align(np.stack([t.x for t in tracks]), np.stack([t.P for t in tracks]), np.stack([t.accel for t in tracks]),
                 np.array([t.boost_probability for t in tracks]), np.array([t_s - t.state_t_s for t in tracks]),
                 np.stack([t.Pi if t.Pi is not None else np.zeros((6, 6)) for t in tracks]), _accel_rows(tracks))


def _accel_rows(tracks: list[LocalTrack]) -> np.ndarray:
    """(n, 3, 9): each track's released acceleration rows of its covariance, NaN where it released none."""
    return np.stack([t.accel_rows if t.accel_rows is not None else _UNKNOWN_ROWS for t in tracks])


def _name(group, lookup) -> str:
    """``ST-<origin>-<track>`` of the earliest-initiated member (ties: origin, then track id)."""
    best, best_key = None, None
    for key in group:
        trk = lookup(key)
        rank = (trk.initiated_ns if trk is not None else 2**63, key)
        if best_key is None or rank < best_key:
            best, best_key = key, rank
    return f"ST-{best[0]}-{best[1].removeprefix(best[0] + '-')}"


def _pairwise_d2(x: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Chi-square distance of every pair of states (n, n), inf on the diagonal."""
    dx = x[:, None, :] - x[None, :, :]
    S = P[:, None] + P[None, :]
    n = x.shape[0]
    eye = np.eye(6)
    S = S + eye * 1e-9
    S[np.arange(n), np.arange(n)] = eye
    d2 = np.einsum("ijk,ijk->ij", dx, np.linalg.solve(S, dx[..., None])[..., 0])
    d2[np.arange(n), np.arange(n)] = np.inf
    return d2
