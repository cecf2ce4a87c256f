// Keisei dashboard: pages (runs, run overview, games, replay, play) over the JSON API; live updates by SSE.
"use strict";

const {Board} = window.KeiseiBoard;
const $main = document.getElementById("main");
const $status = document.getElementById("status");
let cleanup = [];  // closers of the current page (event streams, key handlers, charts)

// ------------------------------------------------------------------------------------------- helpers
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
async function api(path, opts = {}) {
  const res = await fetch(path, {credentials: "same-origin", ...opts,
    headers: opts.body ? {"Content-Type": "application/json"} : {}});
  const data = await res.json().catch(() => ({error: `HTTP ${res.status}`}));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}
const post = (path, body) => api(path, {method: "POST", body: JSON.stringify(body)});
const fmtNum = (v, d = 0) => v === null || v === undefined ? "–" : Number(v).toLocaleString("en", {maximumFractionDigits: d, minimumFractionDigits: d});
const fmtG = v => v === null || v === undefined ? "–" : (Math.abs(v) >= 100 || v === 0 ? fmtNum(v, 0) : Number(v).toPrecision(3));
function fmtDur(s) {
  if (s === null || s === undefined) return "–";
  s = Math.round(s);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`;
}
const fmtTime = t => t ? new Date(t * 1000).toLocaleString() : "–";
const enc = encodeURIComponent;
function showError(where, err) {
  where.replaceChildren(h("p", {class: "error"}, String(err.message || err)));
}
function setStatus(text) { $status.textContent = text; }

// ------------------------------------------------------------------------------------------- router
function route() {
  cleanup.forEach(f => { try { f(); } catch (e) { /* closing */ } });
  cleanup = [];
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  $main.replaceChildren();
  setStatus("");
  if (parts.length === 0) return runsPage();
  if (parts[0] === "play") return playPage(params);
  if (parts[0] === "run" && parts.length === 2) return runPage(parts[1]);
  if (parts[0] === "run" && parts[2] === "games") return gamesPage(parts[1], params);
  if (parts[0] === "run" && parts[2] === "game") return replayPage(parts[1], params.get("id") || "");
  $main.append(h("p", {class: "error"}, `no page ${hash}`));
}
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);

// ------------------------------------------------------------------------------------------- runs
async function runsPage() {
  const box = h("section", {}, h("h1", {}, "Runs"), h("p", {}, "Loading…"));
  $main.append(box);
  const load = async () => {
    try {
      const {runs} = await api("api/runs");
      const rows = runs.map(r => h("tr", {class: r.state},
        h("td", {}, h("a", {href: `#/run/${enc(r.name)}`}, r.name)),
        h("td", {}, h("span", {class: `badge ${r.state}`}, r.state)), h("td", {}, r.algorithm),
        h("td", {class: "num"}, fmtNum(r.timesteps)), h("td", {class: "num"}, fmtNum(r.total_timesteps)),
        h("td", {class: "num"}, r.state === "live" ? fmtNum(r.sps) : "–"), h("td", {}, r.state === "live" ? fmtDur(r.eta_s) : "–"),
        h("td", {class: "num"}, r.actors || "in-process"), h("td", {class: "num"}, r.threads ?? "–"),
        h("td", {}, r.last_checkpoint || "–"),
        h("td", {}, r.last_evaluation ? `${fmtNum(r.last_evaluation.elo)} Elo @ ${fmtNum(r.last_evaluation.timestep)}` : "–"),
        h("td", {}, fmtTime(r.updated))));
      box.replaceChildren(h("h1", {}, "Runs"), runs.length ? h("table", {class: "runs"},
        h("thead", {}, h("tr", {}, ...["run", "state", "algorithm", "steps", "of", "steps/s", "ETA", "actors", "threads",
          "last checkpoint", "last evaluation", "updated"].map(t => h("th", {}, t)))), h("tbody", {}, rows))
        : h("p", {}, "No runs found in the served directories (a run is a directory with config.toml)."));
    } catch (err) { showError(box, err); }
  };
  await load();
  const timer = setInterval(load, 5000);
  cleanup.push(() => clearInterval(timer));
}

// ------------------------------------------------------------------------------------------- charts
const CHARTS = [
  {title: "Losses", tags: ["losses/policy_loss", "losses/value_loss"]},
  {title: "Entropy", tags: ["losses/entropy"]},
  {title: "KL", tags: ["losses/approx_kl", "losses/kl_prior_target"]},
  {title: "Steps per second", tags: ["charts/SPS"]},
  {title: "Game endings (shares)", tags: ["games/black_win_rate", "games/white_win_rate", "games/draw_rule_rate",
    "games/truncated_rate", "games/reason/repetition", "games/reason/impasse"]},
  {title: "Mean game length (plies)", tags: ["games/mean_length"]},
  {title: "Evaluation score", tags: ["eval/random/score", "eval/greedy/score"]},
];
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];

class Chart {
  constructor(parent, title, tags, xMode) {
    this.tags = tags; this.xMode = xMode; this.points = {}; tags.forEach(t => this.points[t] = []);
    this.box = h("div", {class: "chart", "data-title": title});
    parent.append(this.box);
    this.title = title;
    this.plot = null;
  }
  add(series) {
    let changed = false;
    for (const t of this.tags) {
      const s = series[t];
      if (!s) continue;
      for (let i = 0; i < s.step.length; i++) this.points[t].push([s.step[i], s.wall[i], s.value[i]]);
      changed = changed || s.step.length > 0;
    }
    if (changed) this.render();
  }
  count() { return this.tags.reduce((n, t) => n + this.points[t].length, 0); }
  data() {
    const xi = this.xMode === "wall" ? 1 : 0;
    const used = this.tags.filter(t => this.points[t].length);
    const xs = [...new Set(used.flatMap(t => this.points[t].map(p => p[xi])))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const ys = used.map(t => { const y = new Array(xs.length).fill(null); this.points[t].forEach(p => { y[index.get(p[xi])] = p[2]; }); return y; });
    const x0 = this.xMode === "wall" && xs.length ? xs[0] : 0;
    return {used, data: [xs.map(x => x - x0), ...ys]};
  }
  render() {
    const {used, data} = this.data();
    if (!used.length) return;
    const key = used.join("|") + this.xMode;
    if (this.plot && this.key === key) { this.plot.setData(data); return; }
    if (this.plot) this.plot.destroy();
    this.key = key;
    const width = Math.max(280, Math.min(560, this.box.clientWidth || 520));
    this.plot = new uPlot({
      title: this.title, width, height: 220,
      scales: {x: {time: false}},
      axes: [{label: this.xMode === "wall" ? "wall seconds" : "timesteps", size: 40}, {size: 60}],
      cursor: {drag: {x: true, y: false}},
      series: [{label: this.xMode === "wall" ? "s" : "step"}, ...used.map((t, i) => ({label: t.split("/").slice(-1)[0],
        stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true, points: {show: false}}))],
    }, data, this.box);
  }
  destroy() { if (this.plot) this.plot.destroy(); }
}

// ------------------------------------------------------------------------------------------- run overview
function liveBoards(parent) {
  const boards = new Map();
  const box = h("div", {class: "boards"});
  parent.append(box);
  return function update(live) {
    const games = (live && live.games) || [];
    if (!games.length) {
      box.replaceChildren(h("p", {class: "muted"}, live && live.progress && live.progress.state === "finished"
        ? "The run has finished: no live games." : "No live games published (actor processes keep theirs; or the run has not started)."));
      boards.clear();
      return;
    }
    if (box.querySelector("p")) box.replaceChildren();
    for (const g of games) {
      let entry = boards.get(g.slot);
      if (!entry) {
        const holder = h("div", {class: "live-board", "data-slot": g.slot});
        const info = h("div", {class: "info"});
        box.append(holder);
        const board = new Board(holder);
        holder.append(info);
        entry = {board, info, holder};
        boards.set(g.slot, entry);
      }
      const searched = g.searched !== undefined;
      const total = searched ? g.top.reduce((n, t) => n + t.visits, 0) || 1 : 1;
      const arrows = g.top.map(t => ({move: t.move, weight: searched ? t.visits / total : t.p}));
      entry.board.set(g.sfen, {last: g.last_move, arrows});
      const value = g.value === null ? "–" : `${g.value >= 0 ? "+" : ""}${g.value.toFixed(2)}`;
      entry.info.replaceChildren(
        h("div", {}, `game ${g.slot} · ply ${g.ply} · last ${g.last_move || "–"} · value (to move) ${value}`),
        h("div", {class: "evalbar"}, h("span", {style: `width:${50 + 50 * (g.value || 0) * (g.turn === "black" ? 1 : -1)}%`})),
        h("div", {class: "tops"}, searched
          ? g.top.map(t => `${t.move} ${t.visits}v q${t.q === null ? "–" : t.q.toFixed(2)}`).join(" · ") + ` · ${g.searched} sims`
          : g.top.map(t => `${t.move} ${(100 * t.p).toFixed(0)}%`).join(" · ")),
        ...(g.pv && g.pv.length ? [h("div", {class: "pv"}, "PV " + g.pv.slice(0, 10).join(" "))] : []));
    }
    for (const slot of [...boards.keys()]) if (!games.some(g => g.slot === slot)) { boards.get(slot).holder.remove(); boards.delete(slot); }
  };
}

async function runPage(name) {
  const head = h("section", {class: "runhead"}, h("h1", {}, name), h("p", {}, "Loading…"));
  const nav = h("p", {class: "subnav"}, h("a", {href: `#/run/${enc(name)}/games`}, "Games"), " · ",
    h("a", {href: `#/play?run=${enc(name)}`}, "Play this run"));
  const liveBox = h("section", {}, h("h2", {}, "Live games"));
  const xToggle = h("select", {id: "xmode"}, h("option", {value: "step"}, "x: timesteps"), h("option", {value: "wall"}, "x: wall time"));
  const chartBox = h("div", {class: "charts"});
  const chartSection = h("section", {}, h("h2", {}, "Training ", xToggle), chartBox);
  const evalBox = h("section", {id: "evaluation"}, h("h2", {}, "Evaluation"));
  $main.append(head, nav, liveBox, chartSection, evalBox);
  const updateBoards = liveBoards(liveBox);
  let charts = [];
  const makeCharts = (series) => {
    charts.forEach(c => c.destroy());
    chartBox.replaceChildren();
    charts = CHARTS.map(c => new Chart(chartBox, c.title, c.tags, xToggle.value));
    charts.forEach(c => c.add(series));
    window.keiseiCharts = charts;  // read by the browser tests (points per chart)
  };
  let all = {};
  const merge = (fresh) => { for (const [t, s] of Object.entries(fresh)) { const a = all[t] || (all[t] = {step: [], wall: [], value: []});
    a.step.push(...s.step); a.wall.push(...s.wall); a.value.push(...s.value); } };
  xToggle.addEventListener("change", () => makeCharts(all));
  cleanup.push(() => charts.forEach(c => c.destroy()));
  try {
    const run = await api(`api/runs/${enc(name)}`);
    renderHead(head, run);
    updateBoards(run.live);
    const sc = await api(`api/runs/${enc(name)}/scalars`);
    all = sc.series;
    makeCharts(all);
    let last = -1;
    for (const s of Object.values(all)) if (s.step.length) last = Math.max(last, s.step[s.step.length - 1]);
    const es = new EventSource(`api/runs/${enc(name)}/events?since=${last}`);
    es.addEventListener("live", ev => {
      const live = JSON.parse(ev.data);
      updateBoards(live);
      renderProgress(head, live);
      setStatus(`live · ${new Date(live.time * 1000).toLocaleTimeString()}`);
    });
    es.addEventListener("scalars", ev => { const fresh = JSON.parse(ev.data); merge(fresh); charts.forEach(c => c.add(fresh)); });
    es.onerror = () => setStatus("reconnecting…");
    cleanup.push(() => es.close());
  } catch (err) { showError(head, err); return; }
  loadEvaluation(evalBox, name);
  const t = setInterval(() => loadEvaluation(evalBox, name), 15000);
  cleanup.push(() => clearInterval(t));
}

function renderHead(head, run) {
  const s = run.summary;
  head.replaceChildren(h("h1", {}, s.name, " ", h("span", {class: `badge ${s.state}`}, s.state)),
    h("div", {class: "progress"}),
    h("p", {class: "muted"}, `${s.algorithm} · ${s.actors ? s.actors + " actor processes" : "in-process self-play"} · torch threads ${s.threads ?? "–"} · `
      + `last checkpoint ${s.last_checkpoint || "–"} · checkpoints ${run.checkpoints.length}`));
  renderProgress(head, run.live || {progress: {timesteps: s.timesteps, total_timesteps: s.total_timesteps, sps: s.sps}});
}

function renderProgress(head, live) {
  const p = (live && live.progress) || {};
  const box = head.querySelector(".progress");
  if (!box) return;
  const pct = p.total_timesteps ? Math.min(100, 100 * (p.timesteps || 0) / p.total_timesteps) : 0;
  const m = (live && live.metrics) || {};
  box.replaceChildren(h("div", {class: "bar"}, h("span", {style: `width:${pct}%`})),
    h("p", {class: "nums"}, `steps ${fmtNum(p.timesteps)} / ${fmtNum(p.total_timesteps)} (${pct.toFixed(1)}%) · `
      + `${fmtNum(p.sps)} steps/s · updates ${fmtNum(p.updates)} · games ${fmtNum(p.games)} · model v${p.model_version ?? "–"}`
      + (m["losses/entropy"] !== undefined ? ` · entropy ${fmtG(m["losses/entropy"])}` : "")
      + (m["games/mean_length"] !== undefined ? ` · mean length ${fmtG(m["games/mean_length"])}` : "")));
}

async function loadEvaluation(box, name) {
  try {
    const ev = await api(`api/runs/${enc(name)}/evaluation`);
    const out = [h("h2", {}, "Evaluation")];
    if (!ev.games) { out.push(h("p", {class: "muted"}, "No evaluation games yet.")); box.replaceChildren(...out); return; }
    const chart = h("div", {class: "chart rating"});
    out.push(h("p", {class: "muted"}, `${ev.games} games · scale ${ev.scale}`), chart);
    const recent = ev.per_opponent.slice(-24).reverse();
    out.push(h("h3", {}, "Results per opponent (newest first)"), h("table", {class: "eval"},
      h("thead", {}, h("tr", {}, ...["timestep", "agent", "opponent", "W", "D", "L", "score", "Elo diff", "95% interval"].map(t => h("th", {}, t)))),
      h("tbody", {}, recent.map(r => h("tr", {}, h("td", {class: "num"}, fmtNum(r.timestep)), h("td", {}, r.agent), h("td", {}, r.opponent),
        h("td", {class: "num"}, r.wins), h("td", {class: "num"}, r.draws), h("td", {class: "num"}, r.losses),
        h("td", {class: "num"}, fmtNum(r.score, 3)), h("td", {class: "num"}, fmtNum(r.elo)),
        h("td", {}, `[${fmtNum(r.low)}, ${fmtNum(r.high)}]`))))));
    out.push(h("h3", {}, "Joint ratings"), h("table", {class: "eval"},
      h("thead", {}, h("tr", {}, ...["player", "Elo", "95% interval", "games", "W/D/L"].map(t => h("th", {}, t)))),
      h("tbody", {}, ev.table.map(r => h("tr", {}, h("td", {}, r.player + (r.fixed ? " (fixed)" : "")), h("td", {class: "num"}, fmtNum(r.elo)),
        h("td", {}, `[${fmtNum(r.low)}, ${fmtNum(r.high)}]`), h("td", {class: "num"}, r.games), h("td", {}, `${r.wins}/${r.draws}/${r.losses}`))))));
    box.replaceChildren(...out);
    ratingChart(chart, ev);
  } catch (err) { showError(box, err); }
}

function ratingChart(box, ev) {
  const names = Object.keys(ev.history);
  const xs = [...new Set(names.flatMap(n => ev.history[n].map(p => p.timestep)))].sort((a, b) => a - b);
  if (!xs.length) { box.append(h("p", {class: "muted"}, "No rating points yet.")); return; }
  const idx = new Map(xs.map((x, i) => [x, i]));
  const series = [{label: "timestep"}], data = [xs];
  names.forEach((n, i) => {
    const y = new Array(xs.length).fill(null);
    ev.history[n].forEach(p => { y[idx.get(p.timestep)] = p.elo; });
    series.push({label: n, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true});
    data.push(y);
  });
  Object.entries(ev.anchors).forEach(([n, elo], i) => {
    series.push({label: `${n} (${fmtNum(elo)})`, stroke: "#999", dash: [4, 4], width: 1, points: {show: false}});
    data.push(xs.map(() => elo));
  });
  const plot = new uPlot({title: "Agent rating (Elo) with anchors", width: Math.min(900, box.clientWidth || 800), height: 300,
    scales: {x: {time: false}}, axes: [{label: "timesteps"}, {size: 60}], series}, data, box);
  cleanup.push(() => plot.destroy());
}

// ------------------------------------------------------------------------------------------- games
async function gamesPage(name, params) {
  const form = h("form", {class: "filters"},
    h("label", {}, "kind ", h("select", {name: "kind"}, h("option", {value: ""}, "all"), h("option", {value: "selfplay"}, "self-play"), h("option", {value: "evaluation"}, "evaluation"))),
    h("label", {}, " player ", h("input", {name: "player", size: 14})),
    h("label", {}, " result ", h("select", {name: "result"}, h("option", {value: ""}, "any"))),
    h("label", {}, " end ", h("select", {name: "reason"}, h("option", {value: ""}, "any"))),
    h("label", {}, " plies ", h("input", {name: "min_plies", type: "number", min: 0, size: 4, placeholder: "min"}),
      "–", h("input", {name: "max_plies", type: "number", min: 0, size: 4, placeholder: "max"})),
    h("button", {type: "submit"}, "Filter"));
  for (const k of ["kind", "player"]) if (params.get(k)) form.elements[k].value = params.get(k);
  const list = h("div", {}, "Loading…");
  $main.append(h("h1", {}, h("a", {href: `#/run/${enc(name)}`}, name), " · games"), form, list);
  let offset = +(params.get("offset") || 0);
  const load = async () => {
    const q = new URLSearchParams(new FormData(form));
    q.set("offset", offset);
    try {
      const data = await api(`api/runs/${enc(name)}/games?${q}`);
      for (const [field, values] of [["result", data.results], ["reason", data.reasons]]) {
        const sel = form.elements[field], cur = sel.value;
        sel.replaceChildren(h("option", {value: ""}, "any"), ...values.map(v => h("option", {value: v}, v)));
        sel.value = cur;
      }
      const note = data.indexed < data.records ? ` (indexing ${data.indexed} of ${data.records} records…)` : "";
      list.replaceChildren(h("p", {class: "muted"}, `${data.total} games${note}`),
        h("table", {class: "games"}, h("thead", {}, h("tr", {}, ...["game", "kind", "black", "white", "result", "end", "plies"].map(t => h("th", {}, t)))),
          h("tbody", {}, data.games.map(g => h("tr", {},
            h("td", {}, h("a", {href: `#/run/${enc(name)}/game?id=${enc(g.id)}`, class: "game-link"}, g.id.split("/").slice(-1)[0])),
            h("td", {}, g.kind), h("td", {}, g.black), h("td", {}, g.white), h("td", {}, g.result), h("td", {}, g.reason || g.error || ""),
            h("td", {class: "num"}, g.plies))))),
        h("p", {}, offset > 0 ? h("button", {onclick: () => { offset = Math.max(0, offset - 100); load(); }}, "← newer") : null,
          offset + 100 < data.total ? h("button", {onclick: () => { offset += 100; load(); }}, "older →") : null));
      if (data.indexed < data.records) setTimeout(() => { if (list.isConnected) load(); }, 1000);
    } catch (err) { showError(list, err); }
  };
  form.addEventListener("submit", ev => { ev.preventDefault(); offset = 0; load(); });
  load();
}

async function replayPage(name, id) {
  const box = h("section", {class: "replay"});
  $main.append(h("h1", {}, h("a", {href: `#/run/${enc(name)}`}, name), " · ", h("a", {href: `#/run/${enc(name)}/games`}, "games"), " · ", id.split("/").slice(-1)[0]), box);
  let game;
  try { game = await api(`api/runs/${enc(name)}/game?id=${enc(id)}`); } catch (err) { showError(box, err); return; }
  let run;
  try { run = await api(`api/runs/${enc(name)}`); } catch (err) { run = {checkpoints: []}; }
  const holder = h("div", {class: "board-holder"});
  const board = new Board(holder);
  const slider = h("input", {type: "range", min: 0, max: game.moves.length, value: game.moves.length, id: "ply"});
  const moves = h("ol", {class: "moves"}, game.moves.map((m, i) => h("li", {"data-ply": i + 1, onclick: () => show(i + 1)}, m)));
  const label = h("p", {class: "nums", id: "plylabel"});
  const analysis = h("div", {class: "analysis"});
  const ckpt = h("select", {id: "ckpt"}, run.checkpoints.map(c => h("option", {value: c.name}, c.name)));
  const nodes = h("input", {id: "nodes", type: "number", min: 0, value: 0, size: 6});
  const flip = h("button", {onclick: () => board.setFlip(!board.flip)}, "Flip");
  const show = (ply) => {
    ply = Math.max(0, Math.min(game.moves.length, ply));
    slider.value = ply;
    board.set(game.sfens[ply], {last: ply ? game.moves[ply - 1] : null});
    moves.querySelectorAll("li").forEach(li => li.classList.toggle("current", +li.dataset.ply === ply));
    label.textContent = `ply ${ply} / ${game.moves.length}` + (ply === game.moves.length && game.result ? ` · ${game.result} (${game.reason})` : "");
    analysis.replaceChildren();
  };
  const analyse = async () => {
    const ply = +slider.value;
    analysis.replaceChildren("Analysing…");
    try {
      const a = await post(`api/runs/${enc(name)}/analyse`, {checkpoint: ckpt.value, sfen: game.start_sfen, moves: game.moves.slice(0, ply), nodes: +nodes.value});
      if (a.over) { analysis.replaceChildren(`game over: ${a.result} (${a.reason})`); return; }
      board.set(game.sfens[ply], {last: ply ? game.moves[ply - 1] : null, arrows: a.lines.map((l, i) => ({move: l.move, weight: i === 0 ? 0.9 : 0.4}))});
      analysis.replaceChildren(h("table", {class: "eval"}, h("tbody", {}, a.lines.map(l => h("tr", {}, h("td", {}, l.move),
        h("td", {class: "num"}, l.value.toFixed(3)), h("td", {}, l.pv.slice(0, 8).join(" ")))))),
        h("p", {class: "muted"}, `${a.searched ? a.searched + " simulations" : "raw policy"} · value from the side to move`));
    } catch (err) { showError(analysis, err); }
  };
  slider.addEventListener("input", () => show(+slider.value));
  const keys = ev => {
    if (ev.target && ev.target.tagName === "INPUT" && ev.target.type !== "range") return;
    if (ev.key === "ArrowLeft") { show(+slider.value - 1); ev.preventDefault(); }
    if (ev.key === "ArrowRight") { show(+slider.value + 1); ev.preventDefault(); }
  };
  document.addEventListener("keydown", keys);
  cleanup.push(() => document.removeEventListener("keydown", keys));
  const dl = f => h("a", {href: `api/runs/${enc(name)}/game?id=${enc(id)}&download=${f}`, download: ""}, f.toUpperCase());
  box.append(h("div", {class: "cols"}, holder, h("div", {class: "side"},
    h("p", {}, `☗ ${game.black || "?"} · ☖ ${game.white || "?"}`), h("p", {}, `result: ${game.result || "unfinished"} ${game.reason ? "(" + game.reason + ")" : ""}`),
    h("p", {}, flip, " download ", dl("kif"), " ", dl("csa")), slider, label,
    h("p", {}, "analyse with ", ckpt, " nodes ", nodes, " ", h("button", {id: "analyse", onclick: analyse}, "Analyse")),
    analysis, moves)));
  show(game.moves.length);
}

// ------------------------------------------------------------------------------------------- play
async function playPage(params) {
  const setup = h("form", {class: "filters", id: "playsetup"});
  const area = h("section", {});
  $main.append(h("h1", {}, "Play"), setup, area);
  let runs;
  try { runs = (await api("api/runs")).runs; } catch (err) { showError(area, err); return; }
  const runSel = h("select", {name: "run"}, runs.map(r => h("option", {value: r.name}, r.name)));
  if (params.get("run")) runSel.value = params.get("run");
  const ckptSel = h("select", {name: "checkpoint"});
  const fillCkpts = async () => {
    try {
      const run = await api(`api/runs/${enc(runSel.value)}`);
      ckptSel.replaceChildren(...run.checkpoints.map(c => h("option", {value: c.name}, c.name)));
    } catch (err) { ckptSel.replaceChildren(); }
  };
  runSel.addEventListener("change", fillCkpts);
  await fillCkpts();
  setup.append(h("label", {}, "run ", runSel), h("label", {}, " checkpoint ", ckptSel),
    h("label", {}, " you play ", h("select", {name: "side"}, h("option", {value: "black"}, "black (first)"), h("option", {value: "white"}, "white"))),
    h("label", {}, " engine nodes ", h("input", {name: "nodes", type: "number", min: 0, value: 64, size: 5})),
    h("button", {type: "submit", id: "newgame"}, "New game"));
  setup.addEventListener("submit", async ev => {
    ev.preventDefault();
    const f = new FormData(setup);
    area.replaceChildren("Starting…");
    try {
      const state = await post("api/play", {run: f.get("run"), checkpoint: f.get("checkpoint"), side: f.get("side"), nodes: +f.get("nodes")});
      playGame(area, state);
    } catch (err) { showError(area, err); }
  });
}

function playGame(area, state) {
  const holder = h("div", {class: "board-holder"});
  const msg = h("p", {id: "playmsg", class: "nums"});
  const promo = h("div", {class: "promo"});
  let selected = null;
  const board = new Board(holder, {flip: state.human === "white", onSquare: sq => click(sq), onHand: (side, type) => clickHand(side, type)});
  const targets = from => state.legal.filter(m => m.startsWith(from)).map(m => m.slice(2, 4));
  const redraw = () => board.set(state.sfen, {last: state.moves[state.moves.length - 1] || null, selected,
    marks: selected ? targets(selected) : []});
  const describe = () => {
    if (state.result) msg.textContent = `game over: ${state.result} (${state.reason})`;
    else msg.textContent = state.turn === state.human ? "your move" : "engine thinking…";
    if (state.engine && state.engine.length && !state.result) msg.textContent += ` · engine: ${state.engine[0].move} (value ${state.engine[0].value.toFixed(2)})`;
  };
  const send = async move => {
    selected = null; promo.replaceChildren();
    msg.textContent = "engine thinking…";
    try { state = await post(`api/play/${state.id}`, {move}); } catch (err) { msg.textContent = `refused: ${err.message}`; redraw(); return; }
    redraw(); describe();
  };
  const click = sq => {
    if (state.result || state.turn !== state.human) return;
    if (selected) {
      const cands = state.legal.filter(m => m.startsWith(selected) && m.slice(2, 4) === sq);
      if (cands.length === 1) return send(cands[0]);
      if (cands.length === 2) {
        promo.replaceChildren("Promote? ", h("button", {id: "promo-yes", onclick: () => send(cands.find(m => m.endsWith("+")))}, "Promote"),
          " ", h("button", {id: "promo-no", onclick: () => send(cands.find(m => !m.endsWith("+")))}, "Keep"));
        return;
      }
      if (selected === sq) { selected = null; redraw(); return; }
      if (!state.legal.some(m => m.startsWith(sq))) {
        msg.textContent = `refused: ${selected}${sq} is not a legal move`;
        selected = null; redraw(); return;
      }
    }
    if (state.legal.some(m => m.startsWith(sq))) { selected = sq; msg.textContent = "your move"; }
    else { msg.textContent = `refused: no legal move from ${sq}`; selected = null; }
    redraw();
  };
  const clickHand = (side, type) => {
    if (state.result || side !== state.human || state.turn !== state.human) return;
    selected = `${type}*`; redraw();
  };
  const dl = f => h("a", {href: `api/play/${state.id}?download=${f}`, download: ""}, f.toUpperCase());
  area.replaceChildren(h("div", {class: "cols"}, holder, h("div", {class: "side"}, msg, promo,
    h("p", {}, h("button", {onclick: () => board.setFlip(!board.flip)}, "Flip"), " ",
      h("button", {id: "resign", onclick: async () => { state = await post(`api/play/${state.id}`, {resign: true}); redraw(); describe(); }}, "Resign"),
      " save record: ", dl("kif"), " ", dl("csa")))));
  redraw(); describe();
}
