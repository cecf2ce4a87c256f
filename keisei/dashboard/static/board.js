// Keisei dashboard: a shogi board drawn as SVG from an SFEN (no dependencies).
// Board(container, {flip, onSquare, onHand}) ; board.set(sfen, {last, arrows, marks, selected})
(function () {
"use strict";

const KANJI = {P: "歩", L: "香", N: "桂", S: "銀", G: "金", B: "角", R: "飛", K: "玉",
  "+P": "と", "+L": "杏", "+N": "圭", "+S": "全", "+B": "馬", "+R": "龍"};
const HAND_ORDER = ["R", "B", "G", "S", "N", "L", "P"];
const LETTERS = {P: "P", L: "L", N: "N", S: "S", G: "G", B: "B", R: "R", K: "K",
  "+P": "+P", "+L": "+L", "+N": "+N", "+S": "+S", "+B": "+B", "+R": "+R"};
const SVGNS = "http://www.w3.org/2000/svg";

// Kanji when a font draws them (two different kanji render differently), else Latin letters.
let cjk = null;
function hasCJK() {
  if (cjk !== null) return cjk;
  try {
    const c = document.createElement("canvas"); c.width = c.height = 24;
    const ctx = c.getContext("2d", {willReadFrequently: true});
    const draw = ch => { ctx.clearRect(0, 0, 24, 24); ctx.font = "20px serif"; ctx.fillText(ch, 0, 20); return ctx.getImageData(0, 0, 24, 24).data.join(","); };
    cjk = draw("歩") !== draw("金");
  } catch (e) { cjk = false; }
  return cjk;
}
function label(type, black) {
  if (!hasCJK()) return LETTERS[type];
  return type === "K" && !black ? "王" : KANJI[type];
}
const CELL = 40, PAD = 22, HAND_H = 34;

function parseSfen(sfen) {
  const [placement, turn, hands, ply] = sfen.trim().split(/\s+/);
  const squares = [];  // squares[row][col], row 0 = rank a (top), col 0 = file 9
  for (const rowText of placement.split("/")) {
    const row = [];
    let promoted = false;
    for (const ch of rowText) {
      if (ch === "+") { promoted = true; continue; }
      if (/[0-9]/.test(ch)) { for (let k = 0; k < +ch; k++) row.push(null); continue; }
      const black = ch === ch.toUpperCase();
      row.push({type: (promoted ? "+" : "") + ch.toUpperCase(), black});
      promoted = false;
    }
    squares.push(row);
  }
  const hand = {black: {}, white: {}};
  if (hands && hands !== "-") {
    let count = "";
    for (const ch of hands) {
      if (/[0-9]/.test(ch)) { count += ch; continue; }
      const side = ch === ch.toUpperCase() ? "black" : "white";
      hand[side][ch.toUpperCase()] = (hand[side][ch.toUpperCase()] || 0) + (count ? +count : 1);
      count = "";
    }
  }
  return {squares, turn: turn === "w" ? "white" : "black", hand, ply: +ply || 1};
}

// USI square "7g" -> {row, col} in board coordinates (col 0 = file 9)
function squareOf(usi) {
  return {row: usi.charCodeAt(1) - 97, col: 9 - (+usi[0])};
}
function usiSquare(row, col) { return `${9 - col}${String.fromCharCode(97 + row)}`; }

class Board {
  constructor(container, opts = {}) {
    this.container = container;
    this.flip = !!opts.flip;
    this.onSquare = opts.onSquare || null;
    this.onHand = opts.onHand || null;
    this.state = null;
    this.svg = document.createElementNS(SVGNS, "svg");
    const w = PAD * 2 + CELL * 9, h = PAD * 2 + CELL * 9 + HAND_H * 2;
    this.svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    this.svg.setAttribute("class", "board");
    this.svg.setAttribute("role", "img");
    container.appendChild(this.svg);
  }
  setFlip(flip) { this.flip = flip; if (this.state) this.draw(); }
  set(sfen, extra = {}) { this.state = {sfen, pos: parseSfen(sfen), ...extra}; this.draw(); }
  xy(row, col) {  // top-left pixel of a square
    const r = this.flip ? 8 - row : row, c = this.flip ? 8 - col : col;
    return [PAD + c * CELL, PAD + HAND_H + r * CELL];
  }
  el(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    (parent || this.svg).appendChild(e);
    return e;
  }
  draw() {
    const {pos, last, arrows = [], marks = [], selected = null} = this.state;
    this.svg.innerHTML = "";
    this.svg.dataset.sfen = this.state.sfen;
    const top = PAD + HAND_H;
    this.el("rect", {x: PAD, y: top, width: CELL * 9, height: CELL * 9, class: "wood"});
    const lastTo = last ? squareOf(last.slice(2, 4)) : null;
    const lastFrom = last && last[1] !== "*" ? squareOf(last.slice(0, 2)) : null;
    for (let row = 0; row < 9; row++) {
      for (let col = 0; col < 9; col++) {
        const [x, y] = this.xy(row, col);
        let cls = "sq";
        if (lastTo && lastTo.row === row && lastTo.col === col) cls += " last";
        else if (lastFrom && lastFrom.row === row && lastFrom.col === col) cls += " lastfrom";
        if (selected && selected === usiSquare(row, col)) cls += " selected";
        if (marks.includes(usiSquare(row, col))) cls += " mark";
        const rect = this.el("rect", {x, y, width: CELL, height: CELL, class: cls, "data-square": usiSquare(row, col)});
        if (this.onSquare) rect.addEventListener("click", () => this.onSquare(usiSquare(row, col)));
        const piece = pos.squares[row] && pos.squares[row][col];
        if (piece) this.piece(piece, x, y, usiSquare(row, col));
      }
    }
    for (let k = 0; k < 9; k++) {  // file numbers on top, rank letters on the side
      const fileCol = this.flip ? 8 - k : k;
      this.el("text", {x: PAD + k * CELL + CELL / 2, y: top - 5, class: "coord"}).textContent = `${9 - fileCol}`;
      const rankRow = this.flip ? 8 - k : k;
      this.el("text", {x: PAD + CELL * 9 + 11, y: top + k * CELL + CELL / 2 + 4, class: "coord"}).textContent =
        "abcdefghi"[rankRow];
    }
    this.hand("white", pos.hand.white);
    this.hand("black", pos.hand.black);
    arrows.forEach((a, i) => this.arrow(a.move, a.weight, i));
    const turn = this.el("text", {x: PAD, y: PAD + HAND_H * 2 + CELL * 9 + 16, class: "turn"});
    turn.textContent = `${pos.turn === "black" ? "☗ Black" : "☖ White"} to move · ply ${pos.ply}`;
  }
  piece(piece, x, y, square) {
    const g = this.el("g", {class: "piece" + (piece.type.startsWith("+") ? " promoted" : ""), "data-square": square});
    const up = piece.black !== this.flip;
    const cx = x + CELL / 2, cy = y + CELL / 2;
    g.setAttribute("transform", up ? "" : `rotate(180 ${cx} ${cy})`);
    const s = CELL * 0.42;
    this.el("polygon", {points: `${cx},${cy - s} ${cx + s * 0.75},${cy - s * 0.6} ${cx + s * 0.85},${cy + s} ${cx - s * 0.85},${cy + s} ${cx - s * 0.75},${cy - s * 0.6}`, class: "pbody"}, g);
    const t = this.el("text", {x: cx, y: cy + 7, class: "ptext"}, g);
    t.textContent = label(piece.type, piece.black);
    if (t.textContent.length > 1) t.setAttribute("class", "ptext narrow");
    if (this.onSquare) g.addEventListener("click", () => this.onSquare(square));
  }
  hand(side, pieces) {
    const bottom = (side === "black") !== this.flip;
    const y = bottom ? PAD + HAND_H + CELL * 9 + 4 : 4;
    this.el("rect", {x: PAD, y, width: CELL * 9, height: HAND_H - 4, class: "handbox"});
    let x = PAD + 6;
    const mark = this.el("text", {x, y: y + 21, class: "handlabel"});
    mark.textContent = side === "black" ? "☗" : "☖";
    x += 22;
    for (const type of HAND_ORDER) {
      const n = pieces[type];
      if (!n) continue;
      const g = this.el("g", {class: "handpiece", "data-hand": `${side}:${type}`});
      const sel = this.state.selected === `${type}*`;
      this.el("rect", {x, y: y + 2, width: 34, height: HAND_H - 8, class: "handslot" + (sel ? " selected" : "")}, g);
      this.el("text", {x: x + 13, y: y + 21, class: "ptext small"}, g).textContent = label(type, side === "black");
      if (n > 1) this.el("text", {x: x + 28, y: y + 24, class: "count"}, g).textContent = n;
      if (this.onHand) g.addEventListener("click", () => this.onHand(side, type));
      x += 38;
    }
  }
  arrow(move, weight, i) {
    if (!move || move.length < 4) return;
    const to = squareOf(move.slice(2, 4));
    const [tx, ty] = this.xy(to.row, to.col);
    const ex = tx + CELL / 2, ey = ty + CELL / 2;
    const opacity = Math.max(0.25, Math.min(0.9, weight));
    const cls = i === 0 ? "arrow best" : "arrow";
    if (move[1] === "*") {
      this.el("circle", {cx: ex, cy: ey, r: CELL * 0.42, class: cls, "fill-opacity": opacity * 0.4, "data-move": move});
      return;
    }
    const from = squareOf(move.slice(0, 2));
    const [fx, fy] = this.xy(from.row, from.col);
    const sx = fx + CELL / 2, sy = fy + CELL / 2;
    const len = Math.hypot(ex - sx, ey - sy) || 1;
    const ux = (ex - sx) / len, uy = (ey - sy) / len;
    const hx = ex - ux * 10, hy = ey - uy * 10;
    const line = this.el("line", {x1: sx, y1: sy, x2: hx, y2: hy, class: cls, "stroke-opacity": opacity,
      "stroke-width": 3 + 7 * weight, "data-move": move});
    line.style.pointerEvents = "none";
    const head = this.el("polygon", {points: `${ex},${ey} ${hx - uy * 9},${hy + ux * 9} ${hx + uy * 9},${hy - ux * 9}`,
      class: cls + " head", "fill-opacity": opacity});
    head.style.pointerEvents = "none";
  }
}

window.KeiseiBoard = {Board, parseSfen, squareOf, usiSquare};
})();
