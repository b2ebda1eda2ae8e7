// movekit studio live page: frames and state from the WebSocket, keys and buttons back to it.
// Frame message: 4-byte big-endian header length, JSON header (space-padded to 4 bytes), head.pose_n
// landmarks as little-endian float32 (x px, y px, visibility; NaN = not seen), JPEG bytes.
// The server sends the next frame when this page says it drew this one (latest frame wins), scaled
// to the canvas box this page reports (device px). What keeps the page cheap (the browser shares the
// cores with the capture): a worker owns the WebSocket and the canvas (an OffscreenCanvas): it
// decodes and draws each frame with its skeleton in one task and acknowledges it, so the page's own
// thread and rendering do nothing per frame; the worker hands the page the side panel's content at
// most PANEL_HZ times a second, and the page touches text only when it changed; a hidden tab asks
// for no frames. Without OffscreenCanvas the same code runs on the page through a MessageChannel.
(function () {
  "use strict";
  const SKELETON = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25],
    [25, 27], [27, 29], [29, 31], [27, 31], [24, 26], [26, 28], [28, 30], [30, 32], [28, 32], [0, 7], [0, 8]];
  const PANEL_HZ = 5;           // side panel updates per second at most (clock, angles, setup, rate)
  const RATE_WINDOW_MS = 2000;  // frames drawn in this window give the rate shown beside the video
  const canvas = document.getElementById("video");
  const $ = (id) => document.getElementById(id);
  const proto = location.protocol === "https:" ? "wss://" : "ws://";
  let shown_ = { index: null, scale: 1, size: [canvas.width, canvas.height], pose: null };  // the frame on screen (last panel)
  let phase = "starting";
  const shown = {};             // text now on screen, by element id
  window.movekitLastPose = () => shown_.pose;  // the skeleton on screen (canvas px, [0, 0, 0] unseen), for tests
  window.movekitFrameSize = () => shown_.size.slice();  // the picture's size on the canvas (px), for tests

  // Decodes and draws one frame, picture and its skeleton in one task (the skeleton is always on
  // its own frame); returns the timings (ms) the benchmark reads.
  function makeRenderer(target, skeleton) {
    const ctx = target.getContext("2d", { alpha: false });
    const seen = (pose, i) => pose[3 * i + 2] >= 0.5;  // NaN (not seen) is never >= 0.5
    function drawPose(pose) {
      ctx.lineWidth = 3; ctx.strokeStyle = "#39d353"; ctx.fillStyle = "#ffcc00";
      ctx.beginPath();
      for (const [a, b] of skeleton) {
        if (!seen(pose, a) || !seen(pose, b)) continue;
        ctx.moveTo(pose[3 * a], pose[3 * a + 1]); ctx.lineTo(pose[3 * b], pose[3 * b + 1]);
      }
      ctx.stroke();
      ctx.beginPath();
      for (let i = 0; i < pose.length / 3; i++) {
        if (!seen(pose, i)) continue;
        ctx.moveTo(pose[3 * i] + 3, pose[3 * i + 1]); ctx.arc(pose[3 * i], pose[3 * i + 1], 3, 0, 6.283);
      }
      ctx.fill();
    }
    return async function render(jpeg, pose, width, height) {
      const t0 = performance.now();
      const bmp = await createImageBitmap(jpeg);
      const t1 = performance.now();
      if (target.width !== width || target.height !== height) { target.width = width; target.height = height; }
      ctx.drawImage(bmp, 0, 0); bmp.close();
      if (pose) drawPose(pose);
      return { decode_ms: t1 - t0, draw_ms: performance.now() - t1, draw_unix_ms: Date.now() };
    };
  }

  // The frame side: WebSocket, decode, draw, acknowledge. ``port`` talks to the page (the worker's
  // global scope, or a MessageChannel port on the page). Page -> here: {init}, {send: msg} (a key
  // gets the index of the frame on screen), {hidden}. Here -> page: {text: ws text}, {panel}, {closed}.
  // Returns init (the page's fallback calls it directly: a canvas element cannot be posted).
  function frameSide(port, makeRendererFn, panelHz, rateWindowMs) {
    let ws = null, render = null, hidden = false, busy = false, waiting = null, view = null;
    let onScreen = null, panelAt = -1e9;
    const drawnAt = [];
    const send = (obj) => { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); };

    function parse(buf) {   // header, landmarks and the JPEG of a frame message
      const n = new DataView(buf).getUint32(0);
      const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
      const pose = head.pose_n ? new Float32Array(buf, 4 + n, 3 * head.pose_n) : null;
      const jpeg = new Blob([new Uint8Array(buf, 4 + n + 12 * head.pose_n)], { type: "image/jpeg" });
      return { head, pose, jpeg };
    }

    function panel(head, pose, now) {   // the page's side panel, PANEL_HZ times a second at most
      while (drawnAt.length && now - drawnAt[0] > rateWindowMs) drawnAt.shift();
      if (now - panelAt < 1000 / panelHz && head.phase === onScreen.phase) return;
      panelAt = now;
      const { angles, setup, phase, t_s, events, camera_fps, analysed_fps, capture_fps, page_max_fps, page_limited,
        index, scale, width_px, height_px } = head;
      port.postMessage({ panel: { angles, setup, phase, t_s, events, camera_fps, analysed_fps, capture_fps, page_max_fps, page_limited,
        index, scale, size: [width_px, height_px], pose: pose ? Array.from(pose) : null,
        drawn_fps: drawnAt.length >= 2 ? drawnAt.length / (rateWindowMs / 1000) : null } });
    }

    async function onFrame(buf, receive) {
      const { head, pose, jpeg } = parse(buf);
      if (hidden) { send({ type: "drawn" }); return; }  // nobody sees it
      const t = await render(jpeg, pose, head.width_px, head.height_px);
      send({ type: "drawn", index: head.index, frame_unix_ms: head.frame_unix_ms, send_unix_ms: head.send_unix_ms,
        receive_unix_ms: receive, draw_unix_ms: t.draw_unix_ms, decode_ms: t.decode_ms, draw_ms: t.draw_ms });
      onScreen = { index: head.index, phase: onScreen ? onScreen.phase : null };
      const now = performance.now();
      drawnAt.push(now);
      panel(head, pose, now);
      onScreen.phase = head.phase;
    }

    function drawFrames(buf, receive) {
      busy = true;
      onFrame(buf, receive).catch(() => send({ type: "drawn" })).finally(() => {
        busy = false;
        if (waiting) { const w = waiting; waiting = null; drawFrames(w.buf, w.receive); }
      });
    }

    function open(url) {
      ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => { if (view) send(view); };
      ws.onclose = () => port.postMessage({ closed: true });
      ws.onmessage = (ev) => {
        if (typeof ev.data === "string") { port.postMessage({ text: ev.data }); return; }
        if (busy) {   // still drawing: keep only the newest, the one it replaces counts as done
          if (waiting) send({ type: "drawn" });
          waiting = { buf: ev.data, receive: Date.now() };
        } else drawFrames(ev.data, Date.now());
      };
    }

    function init(i) { render = makeRendererFn(i.canvas, i.skeleton); open(i.url); }
    port.onmessage = (ev) => {
      const m = ev.data;
      if (m.init) { init(m.init); return; }
      if ("hidden" in m) hidden = m.hidden;
      if (!m.send) return;
      if (m.send.type === "view") view = m.send;
      send(m.send.type === "key" ? { ...m.send, index: onScreen ? onScreen.index : null } : m.send);
    };
    return init;
  }

  function startFrameSide(url) {   // a worker if the browser can draw in one, else on the page
    const init = { url, skeleton: SKELETON };
    if (typeof OffscreenCanvas !== "undefined" && canvas.transferControlToOffscreen) {
      try {
        const src = "(" + frameSide.toString() + ")(self, " + makeRenderer.toString() + ", " + PANEL_HZ + ", " + RATE_WINDOW_MS + ");";
        const worker = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
        const off = canvas.transferControlToOffscreen();
        worker.postMessage({ init: { ...init, canvas: off } }, [off]);
        return worker;
      } catch (e) { console.warn("movekit: drawing on the page, no worker:", e); }
    }
    const channel = new MessageChannel();
    frameSide(channel.port2, makeRenderer, PANEL_HZ, RATE_WINDOW_MS)({ ...init, canvas });
    return channel.port1;
  }
  const frames = startFrameSide(proto + location.host + "/ws");
  function send(obj) { frames.postMessage({ send: obj }); }

  function setPhase(p) {
    if (p !== phase) setText("clock", "0.0 s");
    phase = p;
    $("phase").textContent = p;
    const rec = p === "recording";
    $("record").disabled = p !== "setup";
    $("stop").disabled = !rec;
    ["pain", "pain-gone", "marker"].forEach((id) => { $(id).disabled = !rec; });
    if ($("camera")) $("camera").disabled = p !== "setup";
    document.body.classList.toggle("recording", rec);
  }

  function setText(id, text, html) {   // the DOM is touched only when the text changed
    if (shown[id] === text) return;
    shown[id] = text;
    if (html) $(id).innerHTML = text; else $(id).textContent = text;
  }

  function poseRows(pose) {
    const rows = [];
    for (let i = 0; i < pose.length / 3; i++) {
      const r = [pose[3 * i], pose[3 * i + 1], pose[3 * i + 2]];
      rows.push(r.every(Number.isFinite) ? r : [0, 0, 0]);
    }
    return rows;
  }

  function showAngles(angles) {
    if (!angles.length) { setText("angles", "<tr><td>no angle is valid in this view</td></tr>", true); return; }
    setText("angles", angles.map((a) => "<tr><td>" + a.name.replace(/_deg$/, "").replace(/_/g, " ") + "</td><td class=num>" +
      a.value_deg.toFixed(0) + " deg</td><td class=err>" + (a.error_deg === null ? "" : "+-" + a.error_deg.toFixed(1) + " deg") +
      "</td></tr>").join(""), true);
  }

  function showSetup(setup, cls) {
    if (!setup) return;
    setText("setup", setup.text);
    cls = "setup " + (cls || (setup.valid ? "valid" : "invalid"));
    if ($("setup").className !== cls) $("setup").className = cls;
    setText("setup-notes", setup.notes.join("; "));
  }

  function showRate(p) {   // says so when the page shows fewer frames than the camera gives, and why
    const cam = p.camera_fps, fps = p.drawn_fps;
    if (!cam || fps === null) { setText("rate", ""); return; }
    const ana = p.analysed_fps ? Math.min(p.analysed_fps, cam) : cam;   // the studio's --camera-fps
    const why = [];
    if (ana < 0.9 * cam) why.push("the studio analyses " + ana.toFixed(0) + " a second (--camera-fps)");
    if (fps < 0.9 * ana) {
      const cap = p.capture_fps, before = why.length;
      if (cap !== null && cap < 0.9 * ana) why.push("the capture processes " + (cap < 1 ? "under 1" : cap.toFixed(0)) + " a second on this computer now");
      if (p.page_limited) why.push("the view is offered fewer frames while the capture falls behind the camera");
      else if (p.page_max_fps < 0.9 * ana) why.push("the view shows at most " + p.page_max_fps.toFixed(0) + " a second");
      if (why.length === before) why.push("this browser draws fewer");
    }
    if (!why.length) { setText("rate", ""); return; }
    setText("rate", "live view: " + fps.toFixed(0) + " of the camera's " + cam.toFixed(0) + " frames/s (" + why.join("; ") + ")");
  }

  function showPanel(p) {   // what the frame side reports about the frame now on screen
    shown_ = { index: p.index, scale: p.scale, size: p.size, pose: p.pose ? poseRows(p.pose) : null };
    if (p.phase === phase) setText("clock", p.t_s.toFixed(1) + " s");  // a late frame of the setup view is not counted
    setText("events", String(p.events));
    showAngles(p.angles);
    if (phase === "setup" || phase === "starting") showSetup(p.setup);
    else if (phase === "recording") showSetup({ text: "recording", notes: [] }, "recording");
    showRate(p);
  }

  function onText(data) {
    const msg = JSON.parse(data);
    if (msg.type === "state") {
      setPhase(msg.phase);
      if (msg.phase === "analysing") showSetup({ text: "analysing the recording...", notes: [] }, "pending");
      if (msg.phase === "done" && msg.result_url) location.href = msg.result_url;
      if (msg.phase === "error") { $("message").textContent = "stopped: " + msg.error; showSetup({ text: shown.setup || "", notes: [] }, "invalid"); }
    } else if (msg.type === "notice") {
      $("message").textContent = msg.text;
    } else if (msg.type === "event") {
      $("message").textContent = msg.kind.replace("_", " ") + " marked at " + msg.t_s.toFixed(2) + " s";
    }
  }

  frames.onmessage = (ev) => {
    const m = ev.data;
    if (m.panel) showPanel(m.panel);
    else if (m.text) onText(m.text);
    else if (m.closed && phase !== "done") $("message").textContent = "connection to the studio closed";
  };

  function sendView() {   // the box the picture is drawn in (device px): frames come scaled to fit it
    const hidden = document.visibilityState === "hidden";
    frames.postMessage({ hidden });
    if (hidden) { send({ type: "view", width_px: 0, height_px: 0 }); return; }  // no frames
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.parentElement.clientWidth, height = 0.78 * window.innerHeight;  // studio.css: max-height 78vh
    send({ type: "view", width_px: Math.floor(width * dpr), height_px: Math.floor(height * dpr) });
  }
  sendView();   // kept by the frame side until its WebSocket opens
  window.addEventListener("resize", sendView);
  document.addEventListener("visibilitychange", sendView);

  function key(k) { send({ type: "key", key: k }); }   // the frame side adds the frame on screen
  $("pain").onclick = () => key("p");
  $("pain-gone").onclick = () => key("r");
  $("marker").onclick = () => key("m");
  $("record").onclick = () => send({ type: "record" });
  $("stop").onclick = () => key("s");
  if ($("camera")) $("camera").onchange = (e) => send({ type: "camera", index: parseInt(e.target.value, 10) });
  canvas.onclick = (e) => {   // "two people in view: click the client"
    if (phase !== "setup") return;
    const r = canvas.getBoundingClientRect();  // the picture is letterboxed in the element (object-fit: contain)
    const [w, h] = shown_.size;
    const k = Math.min(r.width / w, r.height / h);
    const x0 = r.left + (r.width - w * k) / 2, y0 = r.top + (r.height - h * k) / 2;
    send({ type: "person", x_px: (e.clientX - x0) / k / shown_.scale, y_px: (e.clientY - y0) / k / shown_.scale });
  };
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT" || e.repeat) return;
    const k = e.key === " " ? " " : e.key.toLowerCase();
    if (phase !== "recording" || !["p", "r", "m", " ", "s"].includes(k)) return;
    e.preventDefault();
    key(k);
  });
})();
