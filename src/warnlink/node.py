"""One nation's node: its sensors in, its tracks out, everyone's tracks fused, warnings issued.

Data flows one way through a node, one scenario step at a time, driven by the runner:

1. :meth:`Node.sense` takes the nation's own sensor reports (radar plots to the local
   tracker, infrared frames to the launch detector);
2. :meth:`Node.outgoing` collects what the node releases this step (its TrackReports,
   LaunchEvents and the AlertNotices of the previous step), seals each (Ed25519,
   per-origin sequence number), archives and audits it, and hands the bytes to the
   runner to publish; its own tracks go straight into its fusion;
3. :meth:`Node.receive` verifies each partner message (signature, subject, sequence,
   time window) and feeds the valid ones to fusion; rejections are counted and
   audited, never raised;
4. :meth:`Node.think` fuses every track into system tracks, predicts impact and launch
   points and the class, decides warnings for the nation's own areas, writes each
   warning as CAP 1.2 XML under ``OUT/alerts/`` and queues it as an AlertNotice.

One thing goes back: the system tracks' motor-burning probabilities are the cue
(:mod:`warnlink.tracking.cue`) with which the local tracker starts its next step's new
tracks: a missile this nation picks up after its burnout starts as coasting. Only that
probability goes back, never a state: the tracks the node shares stay its own radars'.

Everything the node holds is recorded in a :class:`NodeRecord` for metrics and reports.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from warnlink import frames
from warnlink.archive import ArchiveEntry, ArchiveWriter
from warnlink.evaluation.records import AlertSample, NodeRecord, PredictionSample, SystemTrackSample
from warnlink.exchange.audit import AuditLog
from warnlink.exchange.envelope import Rejected, Sealer, Verifier
from warnlink.exchange.policy import ReleasePolicy, apply_release, release_everything
from warnlink.exchange.transport import subject_for
from warnlink.fusion import Fusion
from warnlink.messages import AlertNotice, IRReport, LaunchEvent, RadarReport, TrackReport, encode
from warnlink.prediction import classify_track, estimate_launch_point, predict_impacts
from warnlink.tracking.cue import PictureCue
from warnlink.tracking.launch_detect import LaunchDetector
from warnlink.tracking.tracker import LocalTracker
from warnlink.warning import AlertManager, assess_track, to_cap_xml
from warnlink.warning.geo import Ellipse
from warnlink.warning.lifecycle import TrackPrediction

log = logging.getLogger(__name__)

KIND_OF_BODY = {TrackReport: "tracks", LaunchEvent: "launch", AlertNotice: "alert"}
BOOSTING = 0.5  # boost probability above which a track is taken to be under thrust
KEEP_BETTER_FACTOR = 3.0  # a coasting track's new prediction replaces one this much sharper only


@dataclass(frozen=True)
class NodeConfig:
    """How often a node predicts, and when it holds a track to have come down."""

    # Impact predictions cost a propagation to the ground each, so their cadence follows
    # how fast they can change: every time_to_impact / 30 s, between these bounds.
    prediction_interval_min_s: float = 1.0
    prediction_interval_max_s: float = 20.0
    prediction_interval_fraction: float = 1.0 / 30.0
    boost_prediction_interval_s: float = 2.0  # while a motor burns (the IIP runs fast; shown, not warned on)
    burnout_confirm_s: float = 6.0  # unpowered this long: burnout (impact predictions and warnings start)
    burnout_energy_gain_j_per_kg: float = 2e5  # ... and not gaining energy meanwhile (thrust adds ~1e5 per s)
    burnout_revoke_energy_gain_j_per_kg: float = 5e5  # a confirmed burnout is revoked when the track, boosting
    burnout_revoke_window_s: float = 60.0  # again, gains this much energy within this long of the confirmation
    classify_above_m: float = 100e3  # drag takes energy lower down: the class is decided above this
    min_updates_to_warn: int = 10  # a track warns once a member has this many measurements behind it
    overflight_exit_margin_s: float = 30.0  # an overflight warning ends this long after the predicted exit
    ended_margin_s: float = 5.0  # a vanished track whose impact time has passed by this much has ended
    launch_point_max_age_s: float = 200.0  # estimate the launch point only from boost-phase states this young


@dataclass(frozen=True)
class Outgoing:
    """One sealed message ready to publish to one partner."""

    kind: str
    subject: str
    seq: int
    msg_id: str
    data: bytes
    to: str


@dataclass(frozen=True)
class CapMessage:
    """The latest CAP message of a warning in force (for feeds)."""

    identifier: str
    msg_type: str
    area_name: str
    kind: str
    sent_utc_ns: int
    xml: bytes


@dataclass
class _TrackState:
    """What a node remembers of one system track between steps."""

    first_t_s: float
    launch: object | None = None  # LaunchPointEstimate
    last_prediction: object | None = None  # ImpactPrediction
    last_prediction_t_s: float = -math.inf
    classification: object | None = None
    apogee_m: float = 0.0
    coast_start_t_s: float | None = None  # since when the track has looked unpowered
    coast_start_ecef: np.ndarray | None = None
    coast_start_energy: float = 0.0
    burnout_ecef: np.ndarray | None = None  # where it started coasting, once that is confirmed
    burnout_t_s: float = -math.inf  # when burnout was confirmed
    burnout_min_energy: float = math.inf  # lowest specific energy since (a motor lit again raises it)
    just_burnt_out: bool = False
    boost_iip: object | None = None  # instantaneous impact point while a motor burns (display only)
    max_updates: int = 0  # most measurements behind any member local track so far
    assessment: TrackPrediction | None = None  # area probabilities of the last prediction
    overflight_exit_s: dict[str, float] = field(default_factory=dict)  # area id -> predicted exit time
    ended: bool = False


@dataclass
class NodeCounters:
    sensor_reports: int = 0
    sent: int = 0
    withheld: int = 0  # copies a partner was not entitled to under the release policy
    received: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    diverged_tracks: int = 0  # own tracks a filter step took beyond what a missile can be (dropped)
    sent_to: dict[str, int] = field(default_factory=dict)  # per partner
    withheld_from: dict[str, int] = field(default_factory=dict)  # per partner: what it was not given
    received_from: dict[str, int] = field(default_factory=dict)  # per partner: accepted messages


class Node:
    """One nation's node (see the module docstring for the flow)."""

    def __init__(self, nation: str, *, partners: list[str], areas, epoch_ns: int, sealer: Sealer,
                 verifier: Verifier, out_dir: Path, config: NodeConfig | None = None,
                 seed: int = 0, policy: ReleasePolicy | None = None) -> None:
        self.nation = nation
        self.partners = list(partners)
        self.epoch_ns = int(epoch_ns)
        self.config = config or NodeConfig()
        self.seed = seed
        self.tracker = LocalTracker(nation, epoch_ns)
        self.launch_detector = LaunchDetector(nation, epoch_ns)
        self.fusion = Fusion(nation, epoch_ns=epoch_ns)
        self.all_areas = list(areas)
        self.areas = [a for a in areas if a.nation == nation]
        self.policy = policy or release_everything(nation)
        self._threat_cache: dict = {}
        self.alerts = AlertManager(nation, self.areas, sender_id=f"warnlink.{nation}", epoch_utc_ns=epoch_ns)
        self.sealer = sealer
        self.verifier = verifier
        self.out_dir = Path(out_dir)
        self.alerts_dir = self.out_dir / "alerts"
        self.archive = ArchiveWriter(self.out_dir / "archive" / f"{nation}.msgs")
        self.audit = AuditLog(self.out_dir / "audit" / f"{nation}.audit.jsonl", nation)
        self.record = NodeRecord(nation)
        self.counters = NodeCounters()
        self.launch_events: list[LaunchEvent] = []
        self.partner_alerts: list[AlertNotice] = []
        self.system_tracks: list = []
        self.track_state: dict[str, _TrackState] = {}
        self._pending_notices: list[AlertNotice] = []
        self.cap_in_force: dict[str, CapMessage] = {}  # alert id -> its latest CAP message
        self._latency_pending: list[int] = []  # source_wall_ns of partner reports fused this step
        self.t_s = 0.0

    # ------------------------------------------------------------------ 1. own sensors

    def sense(self, report, wall_ns: int | None = None) -> None:
        """Take one of the nation's own sensor reports."""
        wall_ns = time.time_ns() if wall_ns is None else wall_ns
        self.counters.sensor_reports += 1
        if isinstance(report, RadarReport):
            self.tracker.process_radar(report, wall_ns)
        elif isinstance(report, IRReport):
            self.launch_detector.process_ir(report, wall_ns)
        else:
            log.warning("%s: ignoring a sensor report of unknown type %s", self.nation, type(report).__name__)

    # ------------------------------------------------------------------ 2. release

    def outgoing(self, t_s: float) -> list[Outgoing]:
        """Seal everything the node releases this step; own tracks also go to its fusion."""
        self.t_s = t_s
        self.tracker.predict_to(t_s)
        for track_id, why in self.tracker.diverged:
            self.counters.diverged_tracks += 1
            self.audit.record("diverged", track=track_id or "tentative", reason=why)
        self.tracker.diverged = []
        bodies: list = []
        for report in self.tracker.reports():
            self.fusion.ingest(report, t_s)
            self.archive.write(ArchiveEntry("own", t_s, time.time_ns(), subject_for(self.nation, "tracks"),
                                            encode(report)))
            bodies.append(report)
        for event in self.launch_detector.events():
            self.launch_events.append(event)
            bodies.append(event)
        bodies.extend(self._pending_notices)
        self._pending_notices = []
        out = []
        for body in bodies:
            kind = KIND_OF_BODY[type(body)]
            for partner in self.partners:  # releasability is decided per partner, here, before sending
                released = apply_release(self.policy.for_partner(partner), body, self._threatens(body, partner))
                if released is None:
                    self.counters.withheld += 1
                    self.counters.withheld_from[partner] = self.counters.withheld_from.get(partner, 0) + 1
                    continue
                self.counters.sent_to[partner] = self.counters.sent_to.get(partner, 0) + 1
                subject = subject_for(self.nation, kind, partner)
                sent_ns = time.time_ns()
                seq, data = self.sealer.seal(released, sent_ns)
                out.append(Outgoing(kind, subject, seq, f"{self.nation}-{seq}", data, partner))
                self.archive.write(ArchiveEntry("sent", t_s, sent_ns, subject, data))
                self.audit.record("sent", subject=subject, origin=self.nation, seq=seq, size=len(data))
        self.counters.sent += len(out)
        return out

    def _threatens(self, body, partner: str) -> bool:
        """Whether the system track behind one of our track reports may come down on, or fly over,
        one of ``partner``'s areas (its 99% impact ellipse or predicted path touches one)."""
        if not isinstance(body, TrackReport) or not self.policy.for_partner(partner).only_threatening:
            return False
        name = self.fusion.name_of((body.origin, body.track_id))
        state = self.track_state.get(name) if name else None
        pred = state.last_prediction if state else None
        if pred is None:
            return False
        key = (name, partner, pred.impact_t_s)
        if key not in self._threat_cache:
            areas = [a for a in self.all_areas if a.nation == partner]
            ell = Ellipse.from_covariance(pred.lat_rad, pred.lon_rad, pred.cov_en_m2, confidence=0.99)
            blat, blon = ell.boundary_lat_lon_deg(36)
            shapes = [shapely.Polygon(np.column_stack([blon, blat]))]
            if len(pred.ground_track_lon_rad) >= 2:
                shapes.append(shapely.LineString(np.column_stack([np.degrees(pred.ground_track_lon_rad),
                                                                  np.degrees(pred.ground_track_lat_rad)])))
            self._threat_cache[key] = any(shape.intersects(a.geometry) for a in areas for shape in shapes)
        return self._threat_cache[key]

    # ------------------------------------------------------------------ 3. partners

    def receive(self, subject: str, data: bytes, wall_ns: int | None = None) -> bool:
        """Verify and take one partner message; False (counted, audited) when it is refused."""
        wall_ns = time.time_ns() if wall_ns is None else wall_ns
        try:
            opened = self.verifier.open(subject, data, wall_ns)
        except Rejected as exc:
            self.counters.rejected[exc.reason] = self.counters.rejected.get(exc.reason, 0) + 1
            self.archive.write(ArchiveEntry("rejected", self.t_s, wall_ns, subject, data, exc.reason))
            self.audit.record("rejected", subject=subject, reason=exc.reason, detail=str(exc.detail)[:200],
                              size=len(data))
            log.info("%s: rejected a message on %s: %s", self.nation, subject, exc)
            return False
        env, body = opened.envelope, opened.body
        self.counters.received += 1
        self.counters.received_from[env.origin] = self.counters.received_from.get(env.origin, 0) + 1
        self.archive.write(ArchiveEntry("received", self.t_s, wall_ns, subject, data))
        self.audit.record("received", subject=subject, origin=env.origin, seq=env.seq, size=len(data))
        if isinstance(body, TrackReport):
            self.fusion.ingest(body, self.t_s)
            if body.status == "active" and body.source_wall_ns:
                self._latency_pending.append(body.source_wall_ns)
        elif isinstance(body, LaunchEvent):
            self.launch_events.append(body)
        elif isinstance(body, AlertNotice):
            self.partner_alerts.append(body)
        return True

    # ------------------------------------------------------------------ 4. picture and warnings

    def think(self, t_s: float) -> None:
        """Fuse, predict and warn at scenario time ``t_s``."""
        self.fuse(t_s)
        self.assess(t_s)

    def fuse(self, t_s: float) -> None:
        """The system tracks at ``t_s`` from every local track held (and the latency of partners' reports)."""
        self.t_s = t_s
        self.archive.write(ArchiveEntry("step", t_s, time.time_ns()))
        tracks = self.fusion.fuse(t_s)
        done_ns = time.time_ns()
        self.record.latency_ms.extend((done_ns - w) / 1e6 for w in self._latency_pending)
        self._latency_pending = []
        self.record.renames.update(self.fusion.renames)
        for old, new in self.fusion.renames.items():
            if old in self.track_state and new not in self.track_state:
                self.track_state[new] = self.track_state.pop(old)
        self.system_tracks = tracks
        self.tracker.picture_cue = PictureCue.of(tracks, t_s)  # the next step's new tracks start from it
        for trk in tracks:
            self.record.tracks.append(SystemTrackSample(
                t_s, trk.id, tuple(float(v) for v in trk.x[:3]), float(trk.boost_probability), tuple(trk.nations),
                tuple(float(v) for v in trk.P[:3, :3][np.triu_indices(3)]), tuple(float(v) for v in trk.x[3:6]),
                tuple(float(v) for v in trk.P[3:6, 3:6][np.triu_indices(3)])))
            state = self.track_state.get(trk.id)
            if state is None:
                state = self.track_state[trk.id] = _TrackState(first_t_s=t_s)
            state.max_updates = max(state.max_updates, trk.updates)
            self._follow_burnout(trk, state, t_s)
            alt = frames.ecef_to_geodetic(trk.x[:3])[2]
            state.apogee_m = max(state.apogee_m, float(alt))
            if (state.launch is None and trk.boost_probability > BOOSTING
                    and trk.updates >= self.config.min_updates_to_warn):
                # Flown back from a track of three plots, the launch point is off by the
                # speed's error times the time since launch: wait for a settled velocity.
                self._estimate_launch(trk, state)

    def _follow_burnout(self, trk, state: _TrackState, t_s: float) -> None:
        """Confirm burnout once the track has looked unpowered for ``burnout_confirm_s``.

        The IMM's boost probability can dip between stages or flicker early on; an
        instantaneous impact point taken for an impact prediction then would sweep
        warnings downrange. Until burnout is confirmed the node predicts for display only.
        A coast counts only once the track has been held that long too: a new track's IMM
        starts undecided (even odds of thrust) and can look unpowered in its first seconds
        while the motor still burns.
        """
        if state.burnout_ecef is not None:
            # A burnout confirmed mid-boost (the IMM's ballistic model can explain a few seconds
            # of a weak stage's thrust and lag its velocity, so the energy test passes) is taken
            # back when the track is seen boosting and gaining energy again: its impact
            # predictions are instantaneous impact points, not to be warned on.
            if t_s - state.burnout_t_s > self.config.burnout_revoke_window_s:
                return
            energy = _specific_energy(trk.x)
            state.burnout_min_energy = min(state.burnout_min_energy, energy)
            if (trk.boost_probability > BOOSTING
                    and energy - state.burnout_min_energy > self.config.burnout_revoke_energy_gain_j_per_kg):
                state.burnout_ecef = None
                state.burnout_t_s, state.burnout_min_energy = -math.inf, math.inf
                state.coast_start_t_s = state.coast_start_ecef = None
                state.last_prediction, state.last_prediction_t_s = None, -math.inf
                state.assessment, state.overflight_exit_s = None, {}
                state.just_burnt_out = False
            return
        if trk.boost_probability > BOOSTING or t_s - state.first_t_s < self.config.burnout_confirm_s:
            state.coast_start_t_s = state.coast_start_ecef = None
            return
        energy = _specific_energy(trk.x)
        if state.coast_start_t_s is None:
            state.coast_start_t_s, state.coast_start_ecef = t_s, np.array(trk.x[:3], float)
            state.coast_start_energy = energy
        if t_s - state.coast_start_t_s >= self.config.burnout_confirm_s:
            if energy - state.coast_start_energy > self.config.burnout_energy_gain_j_per_kg:
                # Still gaining energy: a motor burns (between stages the filter can be fooled).
                state.coast_start_t_s, state.coast_start_ecef = t_s, np.array(trk.x[:3], float)
                state.coast_start_energy = energy
                return
            state.burnout_ecef = state.coast_start_ecef
            state.burnout_t_s, state.burnout_min_energy = t_s, energy
            state.just_burnt_out = True

    def assess(self, t_s: float) -> None:
        """Predict impact points, classify, and decide warnings for the nation's own areas."""
        tracks = self.system_tracks
        due = [trk for trk in tracks if self._prediction_due(trk, t_s)]
        if due:
            self._predict(due, t_s)
        self._warn(t_s, tracks)

    def _estimate_launch(self, trk, state: _TrackState) -> None:
        x9 = np.concatenate([trk.x, trk.accel if trk.accel is not None else np.zeros(3)])
        P9 = np.zeros((9, 9))
        P9[:6, :6] = trk.P
        P9[6:, 6:] = np.eye(3) * 10.0**2
        try:
            est = estimate_launch_point(x9, P9, trk.t_s)
        except (ValueError, np.linalg.LinAlgError) as exc:
            log.info("%s: no launch point for %s: %s", self.nation, trk.id, exc)
            return
        if est.ok:
            state.launch = est

    def _prediction_due(self, trk, t_s: float) -> bool:
        cfg = self.config
        state = self.track_state[trk.id]
        if state.just_burnt_out:
            state.just_burnt_out = False
            return True  # burnout: the first ballistic prediction is the one warnings wait for
        last = state.last_prediction
        if state.burnout_ecef is None:
            interval = cfg.boost_prediction_interval_s
        elif last is None:
            interval = cfg.prediction_interval_min_s
        else:
            interval = min(max((last.impact_t_s - t_s) * cfg.prediction_interval_fraction,
                               cfg.prediction_interval_min_s), cfg.prediction_interval_max_s)
        return t_s - state.last_prediction_t_s >= interval - 1e-9

    def _predict(self, due: list, t_s: float) -> None:
        X = np.stack([trk.x for trk in due])
        P = np.stack([trk.P for trk in due])
        drag = np.array([trk.inv_beta_log_ratio or (np.nan, np.nan) for trk in due])
        predictions = predict_impacts(X, P, t_s, log_inv_beta_estimate=drag, seed=self.seed)
        for trk, pred in zip(due, predictions):
            state = self.track_state[trk.id]
            state.last_prediction_t_s = t_s
            if not pred.ok:
                continue
            if state.burnout_ecef is None:
                state.boost_iip = pred  # a lower bound on the range, not a prediction of the impact
                continue
            held = state.last_prediction
            if (held is not None and held.impact_t_s > t_s
                    and pred.semi_major_95_m > KEEP_BETTER_FACTOR * held.semi_major_95_m):
                # A coasting missile's impact point does not change: a prediction from a
                # fresh, still uncertain track (one found again, say) does not replace a
                # much better one until it is as good.
                continue
            state.last_prediction = pred
            state.apogee_m = max(state.apogee_m, float(pred.apogee_m))
            launch = state.launch
            launch_ecef = (None if launch is None else frames.geodetic_to_ecef(launch.lat_rad, launch.lon_rad, 0.0))
            reach_from = launch_ecef if launch_ecef is not None else trk.x[:3]
            lat0, lon0, _ = frames.ecef_to_geodetic(reach_from)
            impact_range = float(frames.geodesic_inverse(lat0, lon0, pred.lat_rad, pred.lon_rad)[0])
            altitude = float(frames.ecef_to_geodetic(trk.x[:3])[2])
            try:
                if state.classification is None or altitude > self.config.classify_above_m:
                    state.classification = classify_track(
                        trk.x, trk.P, t_s, float(trk.boost_probability), launch_ecef=launch_ecef,
                        burnout_ecef=state.burnout_ecef, impact_range_m=impact_range, apogee_m=state.apogee_m)
            except (ValueError, np.linalg.LinAlgError) as exc:
                log.info("%s: no class for %s: %s", self.nation, trk.id, exc)
            if self.areas:
                state.assessment = self._assess(trk.id, pred, ended=False)
                state.overflight_exit_s = self._overflight_exits(pred)
            cls = state.classification
            self.record.predictions.append(PredictionSample(
                t_s=t_s, system_track_id=trk.id, iip_lat_rad=float(pred.lat_rad), iip_lon_rad=float(pred.lon_rad),
                iip_cov_en_m2=tuple(float(v) for v in np.asarray(pred.cov_en_m2).ravel()),
                impact_t_s=float(pred.impact_t_s), impact_sigma_s=float(pred.impact_sigma_s),
                missile_class=cls.missile_class if cls else "unknown",
                class_probability=float(cls.probability) if cls else 0.0,
                lofted=bool(cls.lofted) if cls else False, apogee_m=state.apogee_m,
                launch_lat_rad=None if launch is None else float(launch.lat_rad),
                launch_lon_rad=None if launch is None else float(launch.lon_rad),
                launch_t_s=None if launch is None else float(launch.t_s),
            ))

    def _warn(self, t_s: float, tracks: list) -> None:
        """Feed the alert manager every track's latest assessment.

        A track that no nation reports any more (out of every radar's cover, or lost) is
        still a missile in the air: its last prediction stands until the predicted impact
        time has passed, so a warning is never withdrawn because a track was lost.
        """
        if not self.areas:
            return
        live = {trk.id: trk for trk in tracks}
        preds: list[TrackPrediction] = []
        for track_id, state in self.track_state.items():
            pred, assessment = state.last_prediction, state.assessment
            if state.ended or pred is None or assessment is None:
                continue
            trk = live.get(track_id)
            if state.max_updates < self.config.min_updates_to_warn:
                continue  # too young to tell from clutter
            if trk is None and t_s >= pred.impact_t_s + self.config.ended_margin_s:
                state.ended = True
                preds.append(self._assess(track_id, pred, ended=True))
                continue
            passed = [a for a, exit_s in state.overflight_exit_s.items() if t_s > exit_s]
            if passed:  # the predicted path has left these areas: their overflight threat is over
                assessment = dataclasses.replace(assessment, overflight_probability={
                    a: (0.0 if a in passed else p) for a, p in assessment.overflight_probability.items()})
            preds.append(assessment)
        for event in self.alerts.step(t_s, preds):
            self._issue(event, t_s)

    def _overflight_exits(self, pred) -> dict[str, float]:
        """For each overflight area the predicted ground track crosses: when it leaves it (scenario s).

        The track is taken as segments between its samples: a missile crosses a narrow
        island between two samples, so no sample need fall inside. The exit is the end of
        the last segment that touches the area.
        """
        lon = np.degrees(pred.ground_track_lon_rad)
        lat = np.degrees(pred.ground_track_lat_rad)
        t = np.asarray(pred.ground_track_t_s, float)
        exits = {}
        for area in self.areas:
            if "overflight" not in area.warn or len(lon) < 2:
                continue
            lon_w = (lon - area.centre_lon_deg + 180.0) % 360.0 - 180.0 + area.centre_lon_deg
            points = np.stack([lon_w, lat], axis=-1)
            segments = shapely.linestrings(np.stack([points[:-1], points[1:]], axis=1))
            crossing = np.nonzero(shapely.intersects(area.geometry, segments))[0]
            if len(crossing):
                exits[area.id] = float(t[crossing[-1] + 1]) + self.config.overflight_exit_margin_s
        return exits

    def _assess(self, track_id: str, pred, ended: bool) -> TrackPrediction:
        return assess_track(
            track_id, self.areas, pred.lat_rad, pred.lon_rad, pred.cov_en_m2, pred.impact_t_s,
            pred.impact_sigma_s, pred.ground_track_lat_rad, pred.ground_track_lon_rad,
            pred.ground_track_t_s, ended=ended)

    def _issue(self, event, t_s: float) -> None:
        xml = to_cap_xml(event)
        self.alerts_dir.mkdir(parents=True, exist_ok=True)
        (self.alerts_dir / f"{event.identifier}.xml").write_bytes(xml)
        if event.msg_type == "Cancel":
            self.cap_in_force.pop(event.alert_id, None)
        else:
            self.cap_in_force[event.alert_id] = CapMessage(event.identifier, event.msg_type, event.area_name,
                                                           event.kind, event.issued_utc_ns, xml)
        self.record.alerts.append(AlertSample(
            t_s=t_s, alert_id=event.alert_id, identifier=event.identifier, msg_type=event.msg_type,
            area_id=event.area_id, kind=event.kind, system_track_id=event.track_id,
            probability=float(event.probability), expected_t_s=event.expected_time_s, reason=event.reason))
        expected = event.expected_time_utc_ns if event.expected_time_utc_ns is not None else event.issued_utc_ns
        self._pending_notices.append(AlertNotice(
            origin=self.nation, alert_id=event.alert_id, msg_type=event.msg_type, area_id=event.area_id,
            alert_kind=event.kind, system_track_id=event.track_id, probability=float(event.probability),
            expected_ns=int(expected), sent_ns=int(event.issued_utc_ns), cap_xml=xml.decode("utf-8")))

    # ------------------------------------------------------------------ end

    def close(self) -> None:
        self.archive.close()
        self.audit.close()



def _specific_energy(x) -> float:
    """Orbital energy per unit mass (J/kg) of an ECEF state, in the inertial frame."""
    r = np.asarray(x[:3], float)
    v = np.asarray(x[3:6], float) + np.cross(frames.OMEGA_VECTOR, r)
    return float(0.5 * v @ v - frames.EARTH_GM / np.linalg.norm(r))
