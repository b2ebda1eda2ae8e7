// movekit studio, researcher's pages: scrub a recording (frame + skeleton, slider, angle plots with a
// cursor) and compare two. Every number comes from the server's JSON (/research/api/...): this
// script only draws it. Time is s from each recording's first frame. A triangulated recording
// (tl.kind === '3d') is drawn in 3D: an orthographic view of the lab frame (x, y, z up, m) the
// researcher turns (drag, or the yaw/pitch sliders), the floor grid at z = 0, the lab axes, and
// beside it each camera's own frame and 2D skeleton at the same instant.
(function () {
  'use strict';
  const NS = 'http://www.w3.org/2000/svg';
  const BONES = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25],
    [25, 27], [27, 29], [29, 31], [27, 31], [24, 26], [26, 28], [28, 30], [30, 32], [28, 32], [0, 7], [0, 8]];
  const EVENT_COLOURS = { pain: '#c0182a', pain_resolved: '#2e8b57', marker: '#666666', view_excluded: '#b5651d' };
  const MIN_VISIBILITY = 0.5;
  const COLOURS = ['#1f5fa8', '#c2571a', '#2e8b57', '#7b3fa0'];
  const BG = '#1c2430';
  const DEG = Math.PI / 180;
  const panes = [];

  const role = (root, name) => root.querySelector(`[data-role="${name}"]`);
  const label = (name) => name.replace(/_deg$/, '').replace(/_/g, ' ');
  const api = (kind, path, extra) => `/research/api/${kind}?path=${encodeURIComponent(path)}${extra || ''}`;
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function loadImage(url) {
    return new Promise((resolve) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => resolve(null);
      img.src = url;
    });
  }

  class Pane {
    constructor(root) {
      this.root = root;
      this.path = root.dataset.path;
      this.colour = root.dataset.colour || COLOURS[0];
      this.i = 0;
      this.seq = 0;
      this.cursors = [];
      panes.push(this);
    }

    async load() {
      const r = await fetch(api('recording', this.path));
      this.tl = await r.json();
      if (!r.ok) throw new Error(this.tl.error);
      this.canvas = role(this.root, 'canvas');
      this.slider = role(this.root, 'slider');
      this.slider.addEventListener('input', () => this.show(+this.slider.value));
      const kinds = [...new Set(this.tl.events.map((e) => e.kind))];
      role(this.root, 'events-legend').textContent = kinds.length
        ? 'events on the time axis: ' + kinds.map((k) => k.replace(/_/g, ' ')).join(', ') : 'no events';
      if (this.tl.kind === '3d') this.view3d = new View3D(this.canvas, this.root, this.tl);
      return this;
    }

    frameAt(t) { // nearest frame to t (s from the start)
      const ts = this.tl.t_s;
      let lo = 0, hi = ts.length - 1;
      while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (ts[mid] <= t) lo = mid; else hi = mid; }
      return Math.abs(ts[hi] - t) < Math.abs(ts[lo] - t) ? hi : lo;
    }

    gapAt(name, i) {
      return this.tl.angles[name].gaps.find((g) => g.i0 <= i && i <= g.i1);
    }

    async show(i) {
      i = Math.max(0, Math.min(this.tl.frames - 1, Math.round(i)));
      this.i = i;
      this.slider.value = i;
      role(this.root, 'frame').textContent = i;
      role(this.root, 'time').textContent = this.tl.t_s[i].toFixed(3);
      this.values(i);
      this.cursors.forEach((c) => c(i));
      const seq = ++this.seq;
      if (this.tl.kind === '3d') return this.show3d(i, seq);
      const [pose, img] = await Promise.all([
        fetch(api('pose', this.path, `&i=${i}`)).then((r) => r.json()),
        this.tl.video ? loadImage(api('frame', this.path, `&i=${i}`)) : Promise.resolve(null),
      ]);
      if (seq !== this.seq) return; // a later frame was asked for meanwhile
      this.draw(img, pose);
      this.root.dataset.shownFrame = String(i);
    }

    values(i) {
      const table = role(this.root, 'values');
      table.replaceChildren();
      for (const [name, s] of Object.entries(this.tl.angles)) {
        const row = table.insertRow();
        row.dataset.angle = name;
        row.insertCell().textContent = label(name);
        const cell = row.insertCell();
        const v = s.deg[i], e = s.err_deg[i];
        if (v === null) {
          const gap = this.gapAt(name, i);
          cell.textContent = 'refused';
          cell.className = 'invalid';
          cell.title = gap ? gap.reason : '';
        } else {
          cell.textContent = `${v.toFixed(1)} deg` + (e === null ? '' : ` ±${e.toFixed(1)}`);
          cell.className = 'num';
          cell.dataset.value = String(v);
        }
      }
      if (!table.rows.length) table.insertRow().insertCell().textContent = 'no angle valid in this recording';
    }

    async show3d(i, seq) { // the 3D pose, and each camera's frame and 2D skeleton at this instant
      const pose = await fetch(api('pose', this.path, `&i=${i}`)).then((r) => r.json());
      if (seq !== this.seq) return;
      const cams = await Promise.all(pose.cameras.map((c) => c.i === null ? null : Promise.all([
        fetch(api('pose', c.path, `&i=${c.i}`)).then((r) => r.json()),
        this.tl.camera_views.find((v) => v.name === c.name).video ? loadImage(api('frame', c.path, `&i=${c.i}`)) : null,
      ])));
      if (seq !== this.seq) return;
      this.view3d.pose = pose;
      this.view3d.draw();
      const few = this.tl.few_views.find((g) => g.i0 <= i && i <= g.i1);
      const now = role(this.root, 'views-now');
      now.textContent = few ? few.reason : `shoulders and hips triangulated from ${pose.views_torso} views`;
      now.className = few ? 'invalid small' : 'small';
      pose.cameras.forEach((c, k) => {
        const fig = this.root.querySelector(`figure.cam[data-camera="${c.name}"]`);
        const canvas = fig && fig.querySelector('canvas');
        if (!canvas) return;
        fig.querySelector('[data-role=cam-frame]').textContent = c.i === null ? 'none at this instant' : c.i;
        if (cams[k]) drawSkeleton(canvas, cams[k][1], cams[k][0]);
        else blank(canvas, 'no frame of this camera at this instant');
      });
      this.root.dataset.shownFrame = String(i);
    }

    draw(img, pose) { drawSkeleton(this.canvas, img, pose); }
  }

  function blank(c, text) {
    const ctx = c.getContext('2d');
    ctx.fillStyle = BG; ctx.fillRect(0, 0, c.width, c.height);
    if (text) { ctx.fillStyle = '#ffffff'; ctx.font = `${Math.round(c.width / 25)}px sans-serif`; ctx.fillText(text, 20, c.height / 2); }
  }

  // A camera frame (or a blank canvas) with the image landmarks (px) of `pose` over it.
  function drawSkeleton(c, img, pose) {
    const ctx = c.getContext('2d');
    if (img) ctx.drawImage(img, 0, 0, c.width, c.height);
    else blank(c);
    const p = pose.image_px, vis = pose.visibility;
    const ok = p.map((q, k) => q[0] !== null && q[1] !== null && !(vis[k] !== null && vis[k] < MIN_VISIBILITY));
    const lw = Math.max(3, c.width / 300);
    ctx.lineWidth = lw;
    for (const [a, b] of BONES) {
      if (!ok[a] || !ok[b]) continue;
      // the subject's left (odd landmarks) orange, right blue, as the capture overlay
      ctx.strokeStyle = a % 2 && b % 2 ? '#ff8c00' : (!(a % 2) && !(b % 2) ? '#0078ff' : '#dcdcdc');
      ctx.beginPath(); ctx.moveTo(p[a][0], p[a][1]); ctx.lineTo(p[b][0], p[b][1]); ctx.stroke();
    }
    ctx.fillStyle = '#ffffff';
    p.forEach((q, k) => { if (ok[k]) { ctx.beginPath(); ctx.arc(q[0], q[1], lw * 1.3, 0, 2 * Math.PI); ctx.fill(); } });
    if (!pose.detected) {
      ctx.font = `${Math.round(c.width / 25)}px sans-serif`;
      ctx.fillText('no person detected in this frame', 20, c.height / 2);
    }
  }

  // The 3D view of a triangulated recording: orthographic projection of the lab frame (m, z up),
  // turned by yaw (about z) and pitch (looking down from above), fitted to the recording's extent.
  class View3D {
    constructor(canvas, root, tl) {
      this.canvas = canvas;
      this.tl = tl;
      this.pose = null;
      this.yaw = role(root, 'yaw');
      this.pitch = role(root, 'pitch');
      const lo = tl.bounds_m.min, hi = tl.bounds_m.max, g = tl.floor_grid_m;
      this.grid = [Math.floor((lo[0] - g) / g) * g, Math.ceil((hi[0] + g) / g) * g, Math.floor((lo[1] - g) / g) * g, Math.ceil((hi[1] + g) / g) * g];
      this.centre = [(this.grid[0] + this.grid[1]) / 2, (this.grid[2] + this.grid[3]) / 2, Math.max(hi[2], 0) / 2];
      const r = 0.5 * Math.hypot(this.grid[1] - this.grid[0], this.grid[3] - this.grid[2], Math.max(hi[2], 0.5));
      this.scale = (0.48 * Math.min(canvas.width, canvas.height)) / r; // px per m
      const turn = () => { this.label(); this.draw(); };
      this.yaw.addEventListener('input', turn);
      this.pitch.addEventListener('input', turn);
      let drag = null;
      canvas.addEventListener('pointerdown', (ev) => { drag = [ev.clientX, ev.clientY, +this.yaw.value, +this.pitch.value]; canvas.setPointerCapture(ev.pointerId); });
      canvas.addEventListener('pointerup', () => { drag = null; });
      canvas.addEventListener('pointermove', (ev) => {
        if (!drag) return;
        const yaw = ((drag[2] - (ev.clientX - drag[0]) * 0.5 + 540) % 360) - 180;
        this.yaw.value = Math.round(yaw);
        this.pitch.value = Math.round(Math.max(-10, Math.min(90, drag[3] + (ev.clientY - drag[1]) * 0.5)));
        turn();
      });
      this.label();
    }

    label() {
      const root = this.yaw.closest('.view-3d');
      role(root, 'yaw-value').textContent = this.yaw.value;
      role(root, 'pitch-value').textContent = this.pitch.value;
    }

    project(p) { // lab (m) -> canvas (px): screen right, depth away from the viewer, screen up
      const a = +this.yaw.value * DEG, b = +this.pitch.value * DEG, c = this.centre;
      const x = p[0] - c[0], y = p[1] - c[1], z = p[2] - c[2];
      const u = Math.cos(a) * x + Math.sin(a) * y, d = -Math.sin(a) * x + Math.cos(a) * y;
      const v = Math.cos(b) * z + Math.sin(b) * d;
      return [this.canvas.width / 2 + this.scale * u, this.canvas.height / 2 - this.scale * v];
    }

    line(ctx, p, q) { const a = this.project(p), b = this.project(q); ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke(); }

    draw() {
      const c = this.canvas, ctx = c.getContext('2d'), [x0, x1, y0, y1] = this.grid, g = this.tl.floor_grid_m;
      blank(c);
      ctx.lineWidth = 1; ctx.strokeStyle = '#46546a';
      for (let x = x0; x <= x1 + 1e-9; x += g) this.line(ctx, [x, y0, 0], [x, y1, 0]);
      for (let y = y0; y <= y1 + 1e-9; y += g) this.line(ctx, [x0, y, 0], [x1, y, 0]);
      const inside = x0 <= 0 && 0 <= x1 && y0 <= 0 && 0 <= y1, o = inside ? [0, 0, 0] : [x0, y0, 0];
      const axes = [['x', [1, 0, 0], '#e05252'], ['y', [0, 1, 0], '#52c46a'], ['z up', [0, 0, 1], '#5a8cff']];
      ctx.lineWidth = 3; ctx.font = '14px sans-serif';
      for (const [name, d, colour] of axes) {
        const end = [o[0] + 0.5 * d[0], o[1] + 0.5 * d[1], o[2] + 0.5 * d[2]];
        ctx.strokeStyle = colour; ctx.fillStyle = colour;
        this.line(ctx, o, end);
        const e = this.project(end); ctx.fillText(name, e[0] + 4, e[1] - 4);
      }
      const right = this.tl.subject_right_xy;
      if (right) { // which way the subject's right pointed (median over the recording), dashed on the floor
        const end = [o[0] + 0.7 * right[0], o[1] + 0.7 * right[1], 0];
        ctx.strokeStyle = '#ffd166'; ctx.fillStyle = '#ffd166'; ctx.setLineDash([6, 4]);
        this.line(ctx, o, end);
        ctx.setLineDash([]);
        const e = this.project(end), left = e[0] < this.project(o)[0];
        ctx.textAlign = left ? 'right' : 'left';
        ctx.fillText('subject\'s right (shoulders, median)', e[0] + (left ? -4 : 4), e[1] - 6);
        ctx.textAlign = 'left';
      }
      ctx.fillStyle = '#9aa6b8';
      ctx.fillText(inside ? 'lab origin' : `axes at (${x0.toFixed(1)}, ${y0.toFixed(1)}, 0) m`, ...this.project(o).map((v, k) => v + (k ? 16 : 4)));
      const pose = this.pose;
      this.canvas.dataset.view = `${this.yaw.value},${this.pitch.value}`;
      if (!pose) return;
      const p = pose.points_m, ok = p.map((q) => q[0] !== null && q[1] !== null && q[2] !== null);
      ctx.lineWidth = 4;
      for (const [a, b] of BONES) {
        if (!ok[a] || !ok[b]) continue;
        ctx.strokeStyle = a % 2 && b % 2 ? '#ff8c00' : (!(a % 2) && !(b % 2) ? '#0078ff' : '#dcdcdc');
        this.line(ctx, p[a], p[b]);
      }
      ctx.fillStyle = '#ffffff';
      p.forEach((q, k) => { if (ok[k]) { const s = this.project(q); ctx.beginPath(); ctx.arc(s[0], s[1], 4, 0, 2 * Math.PI); ctx.fill(); } });
      if (!ok.some((v) => v)) {
        ctx.font = `${Math.round(c.width / 30)}px sans-serif`;
        ctx.fillText('fewer than two views: not triangulated in this frame', 20, 30);
      }
    }
  }

  // One SVG plot of `series` ([{pane, name, colour}]) against time, with gaps, events and a cursor per pane.
  function plot(container, series, title) {
    const W = 760, H = 190, L = 48, R = 12, T = 22, B = 32, pw = W - L - R, ph = H - T - B;
    const vals = series.flatMap((s) => s.pane.tl.angles[s.name] ? s.pane.tl.angles[s.name].deg : []).filter((v) => v !== null);
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (!(hi - lo >= 10)) { const m = (lo + hi) / 2; lo = m - 5; hi = m + 5; }
    lo = Math.floor(lo / 10) * 10; hi = Math.ceil(hi / 10) * 10;
    const t1 = Math.max(...series.map((s) => s.pane.tl.t_s[s.pane.tl.frames - 1])) || 1;
    const x = (t) => L + (t / t1) * pw, y = (v) => T + ((hi - v) / (hi - lo)) * ph;
    const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'research-plot', role: 'img' });
    svg.append(el('rect', { x: L, y: T, width: pw, height: ph, fill: '#fff', stroke: '#999' }));
    svg.append(el('text', { x: L, y: 14, 'font-size': 13, 'font-weight': 600 }, title));
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4;
      svg.append(el('line', { x1: L, x2: L + pw, y1: y(v), y2: y(v), stroke: '#eee' }));
      svg.append(el('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11 }, v.toFixed(0)));
    }
    for (let k = 0; k <= 5; k++) {
      const t = (t1 * k) / 5;
      svg.append(el('text', { x: x(t), y: T + ph + 14, 'text-anchor': 'middle', 'font-size': 11 }, t.toFixed(1)));
    }
    svg.append(el('text', { x: L + pw / 2, y: H - 2, 'text-anchor': 'middle', 'font-size': 11 }, 'time (s)'));
    svg.append(el('text', { x: 12, y: T + ph / 2, 'font-size': 11, 'text-anchor': 'middle', transform: `rotate(-90 12 ${T + ph / 2})` }, 'deg'));
    const gapList = document.createElement('ul');
    gapList.className = 'gaps';
    series.forEach((s, n) => {
      const tl = s.pane.tl, a = tl.angles[s.name];
      if (!a) { // refused throughout in this recording
        const li = document.createElement('li');
        li.className = 'invalid';
        li.textContent = `${tl.name}: ${tl.refused[s.name] || label(s.name) + ' not measured'}`;
        gapList.append(li);
        return;
      }
      for (const g of a.gaps) {
        const x0 = x(tl.t_s[g.i0]), x1 = Math.max(x0 + 1, x(tl.t_s[g.i1]));
        const r = el('rect', { x: x0, y: T + (n * ph) / series.length, width: x1 - x0, height: ph / series.length, class: 'gap', fill: s.colour, 'fill-opacity': 0.1 });
        r.append(el('title', {}, `${g.start_s.toFixed(2)}-${g.end_s.toFixed(2)} s: ${g.reason}`));
        svg.append(r);
        const li = document.createElement('li');
        li.textContent = `${series.length > 1 ? tl.name + ' ' : ''}${g.start_s.toFixed(2)}-${g.end_s.toFixed(2)} s: ${g.reason}`;
        gapList.append(li);
      }
      let run = [];
      const dash = n ? { 'stroke-dasharray': '6 4' } : {}; // the second recording dashed: overlaps stay visible
      const flush = () => { if (run.length > 1) svg.append(el('polyline', { class: 'series', fill: 'none', stroke: s.colour, 'stroke-width': 2, points: run.join(' '), ...dash })); run = []; };
      a.deg.forEach((v, i) => { if (v === null) flush(); else run.push(`${x(tl.t_s[i]).toFixed(1)},${y(v).toFixed(1)}`); });
      flush();
      for (const g of tl.few_views || []) { // fewer than two views: a band along the bottom
        const x0 = x(tl.t_s[g.i0]), x1 = Math.max(x0 + 1, x(tl.t_s[g.i1]));
        const r = el('rect', { x: x0, y: T + ph - 8, width: x1 - x0, height: 8, class: 'few-views', fill: '#8a8f99' });
        r.append(el('title', {}, `${g.start_s.toFixed(2)}-${g.end_s.toFixed(2)} s: ${g.reason}`));
        svg.append(r);
      }
      for (const e of tl.events) {
        if (e.t_s < 0 || e.t_s > t1) continue;
        if (e.t_end_s !== undefined) { // a stretch (a camera left out): a band along the top
          const r = el('rect', { class: `event ${e.kind}`, x: x(e.t_s), y: T, width: Math.max(1, x(e.t_end_s) - x(e.t_s)), height: 8, fill: EVENT_COLOURS[e.kind] || '#999' });
          r.append(el('title', {}, `${e.label}`));
          svg.append(r);
          continue;
        }
        const line = el('line', { class: `event ${e.kind}`, x1: x(e.t_s), x2: x(e.t_s), y1: T, y2: T + ph, stroke: EVENT_COLOURS[e.kind] || '#999', 'stroke-dasharray': '4 3', 'stroke-width': 2 });
        line.append(el('title', {}, `${e.label} at ${e.t_s.toFixed(2)} s`));
        svg.append(line);
      }
    });
    series.forEach((s) => {
      const cur = el('line', { class: 'cursor', y1: T, y2: T + ph, stroke: s.colour, 'stroke-width': 2 });
      svg.append(cur);
      const move = (i) => { const cx = x(s.pane.tl.t_s[i]); cur.setAttribute('x1', cx); cur.setAttribute('x2', cx); };
      s.pane.cursors.push(move);
      move(s.pane.i);
    });
    svg.addEventListener('click', (ev) => { // seek every pane of this plot to the clicked time
      const box = svg.getBoundingClientRect();
      const t = (((ev.clientX - box.left) * (W / box.width) - L) / pw) * t1;
      new Set(series.map((s) => s.pane)).forEach((p) => p.show(p.frameAt(t)));
    });
    const fig = document.createElement('figure');
    fig.className = 'research-figure';
    fig.dataset.angle = series[0].name;
    fig.append(svg);
    if (gapList.children.length) fig.append(gapList);
    container.append(fig);
  }

  async function scrub(root) {
    const pane = await new Pane(root).load();
    const plots = role(root, 'plots');
    const names = Object.keys(pane.tl.angles);
    names.forEach((name, k) => plot(plots, [{ pane, name, colour: COLOURS[k % COLOURS.length] }], `${label(name)} (deg)`));
    if (!names.length) {
      const p = document.createElement('p');
      p.className = 'invalid no-angle';
      p.textContent = 'No angle passed the error gate anywhere in this recording: the reasons are listed below.';
      plots.append(p);
      const d = root.querySelector('details.refused');
      if (d) d.open = true;
    }
    await pane.show(0);
    return pane;
  }

  async function compare(rootA, rootB, angle) {
    const [a, b] = await Promise.all([new Pane(rootA).load(), new Pane(rootB).load()]);
    const box = document.getElementById('compare-plot');
    if (box && angle) plot(box, [{ pane: a, name: angle, colour: a.colour }, { pane: b, name: angle, colour: b.colour }], `${label(angle)} (deg): ${a.tl.name} and ${b.tl.name}`);
    await Promise.all([a.show(0), b.show(0)]);
    return [a, b];
  }

  window.movekitResearch = { scrub, compare, panes };
})();
