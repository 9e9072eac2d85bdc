"""The `warnlink` command line."""

from __future__ import annotations

import json
import math
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="warnlink: open missile-warning data sharing (detection, tracking, fusion, warning).",
)
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """warnlink: open missile-warning data sharing (detection, tracking, fusion, warning)."""


def fail(message: str) -> None:
    """Print one clear line to stderr and exit with status 2 (bad input), no traceback."""
    from rich.markup import escape

    # escaped: a message quoting the user's input ("[[100.0]]") must not be read as markup
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def fly(
    site_lat_deg: float = typer.Option(..., help="Launch site latitude (deg)."),
    site_lon_deg: float = typer.Option(..., help="Launch site longitude (deg)."),
    apogee_km: float = typer.Option(..., help="Apogee above the ellipsoid (km)."),
    azimuth_deg: Optional[float] = typer.Option(None, help="Initial bearing from the site to the impact point (deg)."),
    range_km: Optional[float] = typer.Option(None, help="Geodesic distance from the site to the impact point (km)."),
    target_lat_deg: Optional[float] = typer.Option(None, help="Impact point latitude (deg), instead of azimuth and range."),
    target_lon_deg: Optional[float] = typer.Option(None, help="Impact point longitude (deg)."),
    exhaust_velocity_mps: Optional[list[float]] = typer.Option(
        None, help="Motor exhaust velocity (m/s): once for every stage, or once per stage, first stage first "
                   "[default: 2600, an Isp of 265 s]."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Design the truth flight that lands at the requested point with the requested apogee."""
    from warnlink.scenario.flight import EXHAUST_VELOCITY_MPS, MAX_STAGES, FlightDesignError, design_flight

    motors = tuple(exhaust_velocity_mps or [EXHAUST_VELOCITY_MPS])
    try:
        design = design_flight(
            site_lat_deg, site_lon_deg, apogee_km, azimuth_deg=azimuth_deg, range_km=range_km,
            target_lat_deg=target_lat_deg, target_lon_deg=target_lon_deg,
            stage_exhaust_velocity_mps=motors * MAX_STAGES if len(motors) == 1 else motors,
        )
    except FlightDesignError as exc:
        fail(str(exc))
    summary = design.summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    from rich.table import Table

    table = Table(title="Designed flight", show_header=False)
    for key, value in summary.items():
        table.add_row(key, str(value))
    Console().print(table)


def _load(path):
    """Load a scenario file or exit 2 with its one-line error."""
    from warnlink.scenario.loader import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        fail(str(exc))


@app.command()
def check(scenario_path: str = typer.Argument(..., metavar="SCENARIO.toml", help="Scenario file.")) -> None:
    """Check a scenario file and design every flight in it; print what each launch will do."""
    from rich.table import Table

    from warnlink.scenario.world import WorldError, build_world

    scenario = _load(scenario_path)
    try:
        world = build_world(scenario)
    except WorldError as exc:
        fail(str(exc))
    cfg = scenario.config
    table = Table(title=f"{cfg.scenario.name}: {len(cfg.nations)} nations, {len(cfg.sensors)} sensors, "
                        f"{len(scenario.areas)} areas, {cfg.scenario.duration_s:g} s")
    for col in ("launch", "time (s)", "range (km)", "apogee (km)", "flight time (s)", "class", "lofted",
                "impact (lat, lon)", "β (kg/m²)", "exhaust (m/s)"):
        table.add_column(col)
    for launch_id, f in world.flights.items():
        lat, lon = f.trajectory.impact_point
        table.add_row(launch_id, f"{f.trajectory.t_launch:g}", f"{f.range_m / 1e3:.0f}", f"{f.apogee_m / 1e3:.0f}",
                      f"{f.trajectory.flight_time_s:.0f}", f.missile_class, "yes" if f.lofted else "no",
                      f"{math.degrees(lat):.2f}, {math.degrees(lon):.2f}", f"{f.reentry_ballistic_coefficient:.0f}",
                      " / ".join(f"{c:.0f}" for c in f.stage_exhaust_velocity_mps))
        if f.trajectory.t_impact > cfg.scenario.duration_s:
            err_console.print(f"[yellow]warning:[/] {launch_id} comes down at t = {f.trajectory.t_impact:.0f} s, "
                              f"after the scenario ends ({cfg.scenario.duration_s:g} s)")
    Console().print(table)


@app.command()
def plot(
    scenario_path: str = typer.Argument(..., metavar="SCENARIO.toml", help="Scenario file."),
    out: str = typer.Option(..., "--out", help="PNG file to write."),
) -> None:
    """Draw a scenario at a glance: ground tracks, sensor coverage, areas, altitude-range profiles."""
    from pathlib import Path

    from warnlink.scenario.plot import plot_scenario
    from warnlink.scenario.world import WorldError, build_world

    if not out.lower().endswith(".png"):
        fail(f"--out {out!r}: the plot is a PNG file; name it *.png")
    if not Path(out).resolve().parent.is_dir():
        fail(f"--out {out!r}: directory {Path(out).resolve().parent} does not exist")
    scenario = _load(scenario_path)
    try:
        world = build_world(scenario)
    except WorldError as exc:
        fail(str(exc))
    written = plot_scenario(world, Path(out))
    Console().print(f"wrote {written}")


def _policies(directory, scenario):
    """Release policies from DIR/<NATION>.toml (nations without a file release everything), or exit 2."""
    if directory is None:
        return None
    from pathlib import Path

    from warnlink.exchange.policy import PolicyError, load_policy

    root = Path(directory)
    if not root.is_dir():
        fail(f"--policies {directory!r}: not a directory")
    out = {}
    for path in sorted(root.glob("*.toml")):
        try:
            policy = load_policy(path, scenario.nations)
        except PolicyError as exc:
            fail(str(exc))
        if path.stem != policy.nation:
            fail(f"{path}: nation {policy.nation!r} in a file named {path.name}")
        out[policy.nation] = policy
    return out


def _network(directory: Optional[str]):
    """The PKI directory of a running network, checked (None without --network)."""
    if directory is None:
        return None
    from pathlib import Path

    from warnlink.exchange.network import Network

    network = Network(Path(directory))
    if not (network.pki.state_path.exists() and any(network.running().values())):
        fail(f"--network {directory}: no network is up there (run `warnlink network up {directory}`)")
    return Path(directory)


@app.command()
def run(
    scenario_path: str = typer.Argument(..., metavar="SCENARIO.toml", help="Scenario file."),
    out: str = typer.Option(..., "--out", help="Run directory (metrics.json, alerts/, archive/)."),
    transport: str = typer.Option("nats", help="nats (a real nats-server started for the run) or memory."),
    until_s: Optional[float] = typer.Option(None, help="Stop at this scenario time (s) instead of the scenario's end."),
    policies: Optional[str] = typer.Option(None, "--policies", help="Directory of release policies, <NATION>.toml each."),
    network: Optional[str] = typer.Option(None, "--network", help="Run on the federated network up under this PKI directory."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar or summary."),
) -> None:
    """Run every nation's node over a scenario, as fast as the machine allows, and measure it."""
    from pathlib import Path

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from warnlink.runner import TRANSPORTS, RunError, RunOptions, run_scenario
    from warnlink.scenario.world import WorldError

    if transport not in TRANSPORTS:
        fail(f"--transport {transport!r}: use one of {', '.join(TRANSPORTS)}")
    if until_s is not None and not until_s > 0:
        fail(f"--until-s {until_s}: must be > 0")
    scenario = _load(scenario_path)
    options = RunOptions(transport=transport, until_s=until_s, policies=_policies(policies, scenario),
                         network=_network(network))
    try:
        if quiet:
            result = run_scenario(scenario, Path(out), options)
        else:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                          TextColumn("t = {task.completed:.0f} / {task.total:.0f} s"), TimeElapsedColumn(),
                          console=err_console, transient=True) as bar:
                task = bar.add_task(f"{scenario.config.scenario.name} over {'the network' if network else transport}",
                                    total=scenario.config.scenario.duration_s)
                result = run_scenario(scenario, Path(out), options,
                                      progress=lambda t, total: bar.update(task, completed=t, total=total))
    except (WorldError, RunError) as exc:
        fail(str(exc))
    if not quiet:
        from warnlink.summary import print_summary

        print_summary(result.metrics, Console())
        Console().print(f"run directory: {result.out_dir}  (wall {result.wall_s:.1f} s, "
                        f"{result.sim_s / max(result.wall_s, 1e-9):.1f}x real time)")


@app.command()
def replay(run_dir: str = typer.Argument(..., metavar="RUN_DIR", help="A directory written by `warnlink run`.")) -> None:
    """Rebuild every node's system tracks from the run's archive and compare them with the run."""
    from pathlib import Path

    from rich.table import Table

    from warnlink.replay import ReplayError, replay_run

    try:
        results = replay_run(Path(run_dir))
    except ReplayError as exc:
        fail(str(exc))
    table = Table(title=f"Replay of {run_dir}")
    for col in ("node", "steps", "messages", "refused", "system track samples", "same ids", "max position diff (m)"):
        table.add_column(col)
    ok = True
    for nation, r in results.items():
        same = "-" if r.ids_match is None else ("yes" if r.ids_match else "NO")
        diff = "-" if r.max_position_diff_m is None else f"{r.max_position_diff_m:.3g}"
        table.add_row(nation, str(r.steps), str(r.messages), str(r.refused), str(len(r.samples)), same, diff)
        ok &= r.ids_match is not False and (r.max_position_diff_m or 0.0) < 1.0
    Console().print(table)
    if not ok:
        raise typer.Exit(code=1)


@app.command()
def demo(
    scenario_path: Optional[str] = typer.Argument(None, metavar="[SCENARIO.toml]", help="Default: the packaged demo.toml."),
    speed: float = typer.Option(1.0, help="Scenario seconds per wall-clock second."),
    port: int = typer.Option(8321, help="Dashboard port on --host (0: any free port)."),
    host: str = typer.Option("127.0.0.1", help="Dashboard address."),
    transport: str = typer.Option("nats", help="nats or memory."),
    out: Optional[str] = typer.Option(None, help="Where the runs go (default: a temporary directory)."),
    cot: Optional[str] = typer.Option(None, "--cot", help="Also stream Cursor on Target to tcp://HOST:PORT or udp://HOST:PORT."),
    cot_node: Optional[str] = typer.Option(None, "--cot-node", help="Whose picture goes out as CoT (default: the first nation)."),
    network: Optional[str] = typer.Option(None, "--network", help="Run on the federated network up under this PKI directory."),
    policies: Optional[str] = typer.Option(None, "--policies", help="Directory of release policies, <NATION>.toml each."),
) -> None:
    """Run the three-nation demo in real time (or --speed N) with the live dashboard, until Ctrl-C."""
    from pathlib import Path

    from warnlink.demo import default_scenario_path, main_demo
    from warnlink.runner import TRANSPORTS

    if not speed > 0:
        fail(f"--speed {speed}: must be > 0")
    if not 0 <= port <= 65535:
        fail(f"--port {port}: not a TCP port")
    if transport not in TRANSPORTS:
        fail(f"--transport {transport!r}: use one of {', '.join(TRANSPORTS)}")
    scenario = _load(scenario_path or default_scenario_path())
    if cot is not None:
        from warnlink.interop.cot import CotError, CotSender

        try:
            CotSender(cot)
        except CotError as exc:
            fail(f"--cot: {exc}")
    if cot_node is not None and cot_node not in scenario.nations:
        fail(f"--cot-node {cot_node!r}: the scenario's nations are {', '.join(scenario.nations)}")
    console = Console()
    try:
        main_demo(scenario, speed=speed, host=host, port=port, transport=transport,
                  out_dir=Path(out) if out else None, announce=lambda line: console.print(line, highlight=False),
                  cot_url=cot, cot_node=cot_node, network=_network(network),
                  policies=_policies(policies, scenario))
    except OSError as exc:
        fail(f"cannot start the demo: {exc}")


@app.command()
def export(
    run_dir: str = typer.Argument(..., metavar="RUN_DIR", help="A directory written by `warnlink run`."),
    fmt: str = typer.Option(..., "--format", help="geojson, kml or czml."),
    out: Optional[str] = typer.Option(None, "--out", help="File to write (default: RUN_DIR/export.<format>)."),
    nation: Optional[str] = typer.Option(None, "--nation", help="Only this node's picture (default: every node)."),
) -> None:
    """Export a run's tracks, impact ellipses, launch points, areas and alerts for GIS tools or Cesium."""
    from pathlib import Path

    from warnlink.interop.export import FORMATS, SUFFIX, WRITERS, picture_of
    from warnlink.interop.run_dir import RunDirError, load_run

    if fmt not in FORMATS:
        fail(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    try:
        run_ = load_run(run_dir)
        if nation is not None and nation not in run_.records:
            fail(f"--nation {nation!r}: the run's nodes are {', '.join(run_.records)}")
        text = WRITERS[fmt](picture_of(run_, nation))
    except RunDirError as exc:
        fail(str(exc))
    target = Path(out) if out else Path(run_dir) / f"export{SUFFIX[fmt]}"
    if not target.resolve().parent.is_dir():
        fail(f"--out {out!r}: directory {target.resolve().parent} does not exist")
    target.write_text(text, encoding="utf-8")
    Console().print(f"wrote {target}")


@app.command()
def report(
    run_dir: str = typer.Argument(..., metavar="RUN_DIR", help="A directory written by `warnlink run`."),
    out: Optional[str] = typer.Option(None, "--out", help="Directory for report.html and its plots (default: RUN_DIR/report)."),
) -> None:
    """Write the after-action report of a run: HTML with plots per launch, warnings and latency."""
    from pathlib import Path

    from warnlink.evaluation.report import write_report
    from warnlink.interop.run_dir import RunDirError, load_run

    try:
        run_ = load_run(run_dir)
        path = write_report(run_, Path(out) if out else Path(run_dir) / "report")
    except RunDirError as exc:
        fail(str(exc))
    Console().print(f"wrote {path}")


@app.command()
def evaluate(
    scenario_path: str = typer.Argument(..., metavar="SCENARIO.toml", help="Scenario file."),
    runs: int = typer.Option(10, "--runs", help="Monte Carlo runs (seeds seed, seed+1, ...)."),
    out: str = typer.Option(..., "--out", help="Directory for evaluation.json and plots."),
    seed: int = typer.Option(1, "--seed", help="First seed."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes (default: one per core)."),
) -> None:
    """Monte Carlo evaluation against the truth, the PCRLB and a centralised oracle."""
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from warnlink.evaluation.harness import evaluate as run_evaluation

    if runs < 1:
        fail(f"--runs {runs}: at least 1")
    if workers is not None and workers < 1:
        fail(f"--workers {workers}: at least 1")
    _load(scenario_path)  # one clear error before any process starts
    with Progress(TextColumn("[bold]evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("runs", total=runs)
        summary = run_evaluation(Path(scenario_path), runs, Path(out), base_seed=seed, workers=workers,
                                 progress=lambda done, total: bar.update(task, completed=done))
    from rich.table import Table

    table = Table(title=f"{summary['scenario']}: {runs} runs")
    cols = {"RMSE/PCRLB midcourse": lambda n: n["rmse_pcrlb_ratio_midcourse"],
            "NEES in band": lambda n: n["nees_in_band_fraction"],
            "NEES below/above band": lambda n: f"{n['nees_below_band_fraction']}/{n['nees_above_band_fraction']}",
            "NEES mean": lambda n: n["nees_mean"],
            "95% coverage": lambda n: n["ellipse95_coverage"], "false": lambda n: n["false_alerts"],
            "missed": lambda n: n["missed_alerts"], "warning delay vs oracle s": lambda n: n["warning_delay_vs_oracle_s"],
            "GOSPA m": lambda n: n["gospa"]["mean_m"], "class right": lambda n: n["class_accuracy"],
            "targets met": lambda n: f"{sum(t['met'] for t in n['targets'].values())}/{len(n['targets'])}"}
    table.add_column("node")
    for c in cols:
        table.add_column(c)
    for nation, node in summary["nodes"].items():
        table.add_row(nation, *(str(get(node)) for get in cols.values()))
    console = Console()
    console.print(table)
    for nation, node in summary["nodes"].items():
        missed = [f"{k} {t['value']} (target {t['target']})" for k, t in node["targets"].items() if not t["met"]]
        if missed:
            console.print(f"{nation}: not met: " + "; ".join(missed), highlight=False, markup=False)
    console.print(f"wrote {Path(out) / 'evaluation.json'}")


audit_app = typer.Typer(help="Audit logs: every message a node sent, received and refused, hash-chained.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(path: str = typer.Argument(..., metavar="PATH", help="An audit log, or a directory to search.")) -> None:
    """Check audit logs for any alteration, deletion, reordering or truncation; say where (exit 1 if any)."""
    from pathlib import Path

    from warnlink.exchange.audit import verify_audit

    root = Path(path)
    if not root.exists():
        fail(f"{path}: no such file or directory")
    files = sorted(root.rglob("*.audit.jsonl")) if root.is_dir() else [root]
    if not files:
        fail(f"{path}: no *.audit.jsonl files under it")
    console = Console()
    bad = 0
    for f in files:
        verdict = verify_audit(f)
        if verdict.ok:
            console.print(f"[green]ok[/]       {f} ({verdict.records} records)", highlight=False)
        else:
            bad += 1
            console.print(f"[red]TAMPERED[/] {f}: {verdict.reason}", highlight=False)
    if bad:
        raise typer.Exit(code=1)


pki_app = typer.Typer(help="The federation's keys and certificates (root, per-nation CAs, NATS accounts, signing keys).")
app.add_typer(pki_app, name="pki")


@pki_app.command("init")
def pki_init(
    directory: str = typer.Argument(..., metavar="DIR", help="Where the federation's PKI goes (created, mode 0700)."),
    nations: str = typer.Option(..., "--nations", help="Comma-separated nation codes, e.g. ROK,JPN,USA."),
    days: int = typer.Option(365, help="Validity of the issued certificates (days)."),
) -> None:
    """Create the federation root, each nation's CA, certificates, NATS credentials and signing key."""
    from pathlib import Path

    from warnlink.exchange.pki import Pki, PkiError

    if days < 1:
        fail(f"--days {days}: must be >= 1")
    try:
        pki = Pki.init(Path(directory), nations.split(","), days=days)
    except PkiError as exc:
        fail(str(exc))
    console = Console()
    for n in pki.nations:  # public identifiers only: nothing secret is ever printed
        console.print(f"{n}: account {pki.account_public(n)}, signing key {pki.signing_key(n).key_id}, "
                      f"files in {pki.files(n).dir}", highlight=False)


@pki_app.command("rotate")
def pki_rotate(
    directory: str = typer.Argument(..., metavar="DIR"),
    nation: str = typer.Option(..., "--nation", help="Whose certificates, NATS users and signing key to replace."),
) -> None:
    """Replace a nation's certificates, NATS users and signing key, and revoke the old ones (a running network reloads)."""
    from pathlib import Path

    from warnlink.exchange.network import Network
    from warnlink.exchange.pki import Pki, PkiError

    try:
        revoked = Pki(Path(directory)).rotate(nation)
    except PkiError as exc:
        fail(str(exc))
    network = Network(Path(directory))
    reloaded = any(network.running().values())
    if reloaded:
        network.reload()
    Console().print(f"{nation}: revoked certificates {', '.join(revoked['revoked_certificates'])}; "
                    f"NATS users {', '.join(revoked['revoked_users'])}; signing key {revoked['revoked_signing_key']}"
                    + ("; running servers reloaded" if reloaded else ""), highlight=False)


@pki_app.command("revoke-key")
def pki_revoke_key(
    directory: str = typer.Argument(..., metavar="DIR"),
    key_id: str = typer.Argument(..., metavar="KEY_ID", help="A signing key id from the federation key ring."),
) -> None:
    """Revoke one signing key (e.g. a compromised one) in the federation key ring."""
    from pathlib import Path

    from warnlink.exchange.pki import Pki, PkiError

    try:
        Pki(Path(directory)).revoke_signing_key(key_id)
    except PkiError as exc:
        fail(str(exc))
    Console().print(f"revoked signing key {key_id}")


network_app = typer.Typer(help="One nats-server per nation on this machine, joined over mutual TLS.")
app.add_typer(network_app, name="network")


@network_app.command("up")
def network_up(
    directory: str = typer.Argument(..., metavar="DIR", help="A directory made by `warnlink pki init`."),
    topology: str = typer.Option("hub", help="hub (all traffic through one nation's server), mesh (every pair linked) "
                                             "or single (one shared server, run by the hub nation)."),
    hub: Optional[str] = typer.Option(None, "--hub", help="The hub nation, or the one running the single server "
                                                         "(default: the last of --nations)."),
) -> None:
    """Start every nation's server and link them; each nation's URL goes to DIR/<NATION>/url."""
    from pathlib import Path

    from warnlink.exchange.network import Network, NetworkError
    from warnlink.exchange.pki import PkiError
    from warnlink.exchange.server import NatsServerError

    try:
        state = Network(Path(directory)).up(topology, hub)
    except (NetworkError, PkiError, NatsServerError) as exc:
        fail(str(exc))
    console = Console()
    for n, s in state["servers"].items():
        role = {"hub": "hub" if n == state["hub"] else "spoke", "mesh": "peer", "single": "every nation's server"}[topology]
        console.print(f"{n} ({role}): tls://127.0.0.1:{s['port']}  pid {s['pid']}", highlight=False)


@network_app.command("down")
def network_down(directory: str = typer.Argument(..., metavar="DIR")) -> None:
    """Stop every server `warnlink network up DIR` started."""
    from pathlib import Path

    from warnlink.exchange.network import Network
    from warnlink.exchange.pki import PkiError

    try:
        stopped = Network(Path(directory)).down()
    except PkiError as exc:
        fail(str(exc))
    Console().print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def main() -> None:
    app()
