// warnlink dashboard: an SVG map of one node's picture, updated by server-sent events.
"use strict";
const NS = "http://www.w3.org/2000/svg";
const svg = document.getElementById("map");
const select = document.getElementById("nation");
let region = [120, 20, 150, 50], scale = 1, source = null, staticInfo = null;
const layers = {};
for (const name of ["coast", "areas", "coverage", "sensors", "ellipses", "tracks", "labels"]) {
  const g = document.createElementNS(NS, "g"); g.id = "layer-" + name; svg.appendChild(g); layers[name] = g;
}

// Equirectangular projection scaled by cos(mid-latitude), so shapes look right in the region.
function xy(lon, lat) {
  const k = Math.cos((region[1] + region[3]) / 2 * Math.PI / 180);
  return [(lon - region[0]) * k * scale, (region[3] - lat) * scale];
}
function path(points, close) {
  let d = "";
  points.forEach((p, i) => { const [x, y] = xy(p[0], p[1]); d += (i ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1); });
  return close ? d + "Z" : d;
}
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  parent.appendChild(e); return e;
}
function polygonsOf(geometry) {
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}
function fit() {
  const k = Math.cos((region[1] + region[3]) / 2 * Math.PI / 180);
  const w = svg.clientWidth || 800, h = svg.clientHeight || 600;
  scale = Math.min(w / ((region[2] - region[0]) * k), h / (region[3] - region[1]));
}

async function load() {
  staticInfo = await (await fetch("/api/scenario")).json();
  region = staticInfo.region; fit();
  document.getElementById("scenario").textContent = staticInfo.scenario;
  for (const n of staticInfo.nations) { const o = document.createElement("option"); o.value = o.textContent = n; select.appendChild(o); }
  const base = await (await fetch("/api/basemap")).json();
  for (const ring of base.rings) el("path", { d: path(ring, false), class: "coast" }, layers.coast);
  for (const a of staticInfo.areas) {
    const d = polygonsOf(a.geometry).map(poly => poly.map(r => path(r, true)).join("")).join("");
    el("path", { d, class: "area", id: "area-" + a.id, "data-area": a.id, "fill-rule": "evenodd" }, layers.areas)
      .appendChild(document.createElementNS(NS, "title")).textContent = a.name;
  }
  for (const s of staticInfo.sensors) {
    if (s.coverage) el("path", { d: path(s.coverage, true), class: "coverage" }, layers.coverage);
    if (s.type === "radar") {
      const [x, y] = xy(s.lon_deg, s.lat_deg);
      el("rect", { x: x - 3, y: y - 3, width: 6, height: 6, class: "sensor" }, layers.sensors)
        .appendChild(document.createElementNS(NS, "title")).textContent = s.id;
    }
  }
  select.addEventListener("change", () => connect(select.value));
  connect(select.value);
}

function connect(nation) {
  if (source) source.close();
  const status = document.getElementById("status");
  status.textContent = "connecting…";
  source = new EventSource("/api/stream?nation=" + encodeURIComponent(nation));
  source.onmessage = ev => { status.textContent = "live: " + nation + " node"; pending = JSON.parse(ev.data); requestAnimationFrame(draw); };
  source.onerror = () => { status.textContent = "reconnecting…"; };
}

let pending = null;
const trackNodes = new Map();  // reuse SVG nodes across frames

const drawTimes = [];  // ms per picture drawn, for benchmarks/dashboard_browser.py
window.warnlinkDrawTimes = drawTimes;

function draw() {
  const snap = pending; if (!snap) return; pending = null;
  const started = performance.now();
  document.getElementById("clock").textContent = (snap.utc || "").replace("T", " ");
  document.getElementById("speed").textContent = snap.speed ? "×" + snap.speed : "";
  const seen = new Set();
  for (const t of snap.tracks) {
    seen.add(t.id);
    let n = trackNodes.get(t.id);
    if (!n) {
      n = { line: el("path", { class: "track" }, layers.tracks), head: el("circle", { r: 4, class: "head" }, layers.tracks),
            ellipse: el("path", { class: "ellipse" }, layers.ellipses), launch: el("circle", { r: 5, class: "launch" }, layers.ellipses),
            label: el("text", { class: "label" }, layers.labels) };
      n.head.setAttribute("data-track", t.id);
      trackNodes.set(t.id, n);
    }
    n.line.setAttribute("d", path(t.history, false));
    const [x, y] = xy(t.lon_deg, t.lat_deg);
    n.head.setAttribute("cx", x.toFixed(1)); n.head.setAttribute("cy", y.toFixed(1));
    n.label.setAttribute("x", (x + 6).toFixed(1)); n.label.setAttribute("y", (y - 6).toFixed(1));
    n.label.textContent = t.id + (t.class ? " " + t.class : "");
    n.ellipse.setAttribute("d", t.iip ? path(t.iip.ellipse, true) : "");
    if (t.launch) { const [lx, ly] = xy(t.launch.lon_deg, t.launch.lat_deg); n.launch.setAttribute("cx", lx); n.launch.setAttribute("cy", ly); }
    n.launch.style.display = t.launch ? "" : "none";
  }
  for (const [id, n] of trackNodes) if (!seen.has(id)) { for (const e of Object.values(n)) e.remove(); trackNodes.delete(id); }

  const warned = new Set(snap.alerts_active.map(a => a.area_id));
  for (const a of layers.areas.children) a.classList.toggle("warned", warned.has(a.dataset.area));

  const body = document.querySelector("#tracks tbody");
  body.replaceChildren(...snap.tracks.map(t => {
    const tr = document.createElement("tr");
    const tti = t.time_to_impact_s == null ? "-" : Math.round(t.time_to_impact_s) + " s";
    for (const v of [t.id, (t.class || "-") + (t.lofted ? " lofted" : ""), t.phase, t.alt_km.toFixed(0), tti, t.nations.join(" ")]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    return tr;
  }));
  const me = select.value, releases = staticInfo.releases || {};
  document.querySelector("#sharing tbody").replaceChildren(...(snap.sharing || []).map(s => {
    const tr = document.createElement("tr"); tr.dataset.partner = s.partner;
    const cells = [s.partner, (releases[s.partner] || {})[me] || "-", s.received, (releases[me] || {})[s.partner] || "-", s.sent, s.withheld];
    for (const v of cells) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
    return tr;
  }));
  document.getElementById("active").replaceChildren(...snap.alerts_active.map(a => {
    const li = document.createElement("li");
    li.textContent = `${a.area_id} ${a.kind} — ${a.track}, p=${a.probability}`;
    return li;
  }));
  document.getElementById("log").replaceChildren(...snap.alert_log.slice().reverse().map(a => {
    const li = document.createElement("li"); li.className = a.msg_type;
    li.textContent = `t=${Math.round(a.t_s)} s ${a.msg_type} ${a.area_id} ${a.kind} (${a.track}, p=${a.probability})`;
    return li;
  }));
  drawTimes.push(performance.now() - started);
  if (drawTimes.length > 1000) drawTimes.shift();
}

window.addEventListener("resize", () => { location.reload(); });
load().catch(err => { document.getElementById("status").textContent = "error: " + err; });
