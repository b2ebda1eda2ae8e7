// movekit studio live page: frames and state from the WebSocket, keys and buttons back to it.
// Frame message: 4-byte big-endian header length, JSON header (space-padded to 4 bytes), head.pose_n
// landmarks as little-endian float32 (x px, y px, visibility; NaN = not seen), JPEG bytes.
// The server sends the next frame when this page says it drew this one (latest frame wins), scaled
// to the canvas box this page reports; text is touched only when it changed (cheap to watch).
(function () {
  "use strict";
  const SKELETON = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25],
    [25, 27], [27, 29], [29, 31], [27, 31], [24, 26], [26, 28], [28, 30], [30, 32], [28, 32], [0, 7], [0, 8]];
  const canvas = document.getElementById("video");
  const ctx = canvas.getContext("2d");
  const $ = (id) => document.getElementById(id);
  const proto = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(proto + location.host + "/ws");
  ws.binaryType = "arraybuffer";
  let shownIndex = null;   // the frame on screen now: key presses are stored at its time
  let scale = 1;
  let phase = "starting";
  let busy = false;
  let waiting = null;      // a frame that came while the previous one was decoding: the newest wins
  let lastPose = null;
  const shown = {};        // text now on screen, by element id
  window.movekitLastPose = () => lastPose;  // the skeleton on screen (canvas px, [0, 0, 0] unseen), for tests

  function send(obj) { if (ws.readyState === 1) ws.send(JSON.stringify(obj)); }

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

  function seen(pose, i) { return pose[3 * i + 2] >= 0.5; }  // NaN (not seen) is never >= 0.5

  function drawPose(pose) {
    if (!pose) return;
    ctx.lineWidth = 3; ctx.strokeStyle = "#39d353"; ctx.fillStyle = "#ffcc00";
    ctx.beginPath();
    for (const [a, b] of SKELETON) {
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

  function sendView() {   // the box the picture is drawn in (device px): frames come scaled to fit it
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.parentElement.clientWidth, height = 0.78 * window.innerHeight;  // studio.css: max-height 78vh
    send({ type: "view", width_px: Math.round(width * dpr), height_px: Math.round(height * dpr) });
  }

  async function onFrame(buf, receive) {
    const n = new DataView(buf).getUint32(0);
    const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
    const pose = head.pose_n ? new Float32Array(buf, 4 + n, 3 * head.pose_n) : null;
    const blob = new Blob([new Uint8Array(buf, 4 + n + 12 * head.pose_n)], { type: "image/jpeg" });
    const bmp = await createImageBitmap(blob);
    if (canvas.width !== head.width_px || canvas.height !== head.height_px) {
      canvas.width = head.width_px; canvas.height = head.height_px;
    }
    ctx.drawImage(bmp, 0, 0); bmp.close();
    drawPose(pose);
    const drawn = Date.now();   // picture and skeleton are on the canvas (shown at the next paint)
    send({ type: "drawn", index: head.index, frame_unix_ms: head.frame_unix_ms, send_unix_ms: head.send_unix_ms,
      receive_unix_ms: receive, draw_unix_ms: drawn });
    lastPose = pose ? poseRows(pose) : null;
    shownIndex = head.index; scale = head.scale;
    if (head.phase === phase) setText("clock", head.t_s.toFixed(1) + " s");  // a late frame of the setup view is not counted
    setText("events", String(head.events));
    showAngles(head.angles);
    if (phase === "setup" || phase === "starting") showSetup(head.setup);
    else if (phase === "recording") showSetup({ text: "recording", notes: [] }, "recording");
  }

  function drawFrames(buf, receive) {
    busy = true;
    onFrame(buf, receive).catch(() => send({ type: "drawn" })).finally(() => {
      busy = false;
      if (waiting) { const w = waiting; waiting = null; drawFrames(w.buf, w.receive); }
    });
  }

  ws.onopen = () => sendView();
  window.addEventListener("resize", sendView);
  ws.onmessage = (ev) => {
    if (typeof ev.data !== "string") {
      if (busy) {   // still decoding: keep only the newest, the one it replaces counts as done
        if (waiting) send({ type: "drawn" });
        waiting = { buf: ev.data, receive: Date.now() };
      } else drawFrames(ev.data, Date.now());
      return;
    }
    const msg = JSON.parse(ev.data);
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
  };
  ws.onclose = () => { if (phase !== "done") $("message").textContent = "connection to the studio closed"; };

  function key(k) { send({ type: "key", key: k, index: shownIndex }); }
  $("pain").onclick = () => key("p");
  $("pain-gone").onclick = () => key("r");
  $("marker").onclick = () => key("m");
  $("record").onclick = () => send({ type: "record" });
  $("stop").onclick = () => key("s");
  if ($("camera")) $("camera").onchange = (e) => send({ type: "camera", index: parseInt(e.target.value, 10) });
  canvas.onclick = (e) => {   // "two people in view: click the client"
    if (phase !== "setup") return;
    const r = canvas.getBoundingClientRect();  // the picture is letterboxed in the element (object-fit: contain)
    const k = Math.min(r.width / canvas.width, r.height / canvas.height);
    const x0 = r.left + (r.width - canvas.width * k) / 2, y0 = r.top + (r.height - canvas.height * k) / 2;
    send({ type: "person", x_px: (e.clientX - x0) / k / scale, y_px: (e.clientY - y0) / k / scale });
  };
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT" || e.repeat) return;
    const k = e.key === " " ? " " : e.key.toLowerCase();
    if (phase !== "recording" || !["p", "r", "m", " ", "s"].includes(k)) return;
    e.preventDefault();
    key(k);
  });
})();
