// movekit studio live page: frames and state from the WebSocket, keys and buttons back to it.
// Frame message: 4-byte big-endian header length, JSON header, JPEG bytes.
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
  let lastPose = null;
  window.movekitLastPose = () => lastPose;  // the skeleton on screen (canvas px), for tests

  function send(obj) { if (ws.readyState === 1) ws.send(JSON.stringify(obj)); }

  function setPhase(p) {
    if (p !== phase) $("clock").textContent = "0.0 s";
    phase = p;
    $("phase").textContent = p;
    const rec = p === "recording";
    $("record").disabled = p !== "setup";
    $("stop").disabled = !rec;
    ["pain", "pain-gone", "marker"].forEach((id) => { $(id).disabled = !rec; });
    if ($("camera")) $("camera").disabled = p !== "setup";
    document.body.classList.toggle("recording", rec);
  }

  function drawPose(pose) {
    if (!pose) return;
    ctx.lineWidth = 3; ctx.strokeStyle = "#39d353"; ctx.fillStyle = "#ffcc00";
    for (const [a, b] of SKELETON) {
      const p = pose[a], q = pose[b];
      if (p[2] < 0.5 || q[2] < 0.5) continue;
      ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
    }
    for (const p of pose) { if (p[2] >= 0.5) { ctx.beginPath(); ctx.arc(p[0], p[1], 3, 0, 6.283); ctx.fill(); } }
  }

  function showAngles(angles) {
    const t = $("angles");
    if (!angles.length) { t.innerHTML = "<tr><td>no angle is valid in this view</td></tr>"; return; }
    t.innerHTML = angles.map((a) => "<tr><td>" + a.name.replace(/_deg$/, "").replace(/_/g, " ") + "</td><td class=num>" +
      a.value_deg.toFixed(0) + " deg</td><td class=err>" + (a.error_deg === null ? "" : "+-" + a.error_deg.toFixed(1) + " deg") +
      "</td></tr>").join("");
  }

  function showSetup(setup) {
    const el = $("setup");
    if (!setup) return;
    el.textContent = setup.text;
    el.className = "setup " + (setup.valid ? "valid" : "invalid");
    $("setup-notes").textContent = setup.notes.join("; ");
  }

  async function onFrame(buf) {
    const receive = Date.now();
    const n = new DataView(buf).getUint32(0);
    const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
    const blob = new Blob([new Uint8Array(buf, 4 + n)], { type: "image/jpeg" });
    const bmp = await createImageBitmap(blob);
    if (canvas.width !== head.width_px || canvas.height !== head.height_px) {
      canvas.width = head.width_px; canvas.height = head.height_px;
    }
    ctx.drawImage(bmp, 0, 0); bmp.close();
    drawPose(head.pose);
    lastPose = head.pose || null;
    shownIndex = head.index; scale = head.scale;
    if (head.phase === phase) $("clock").textContent = head.t_s.toFixed(1) + " s";  // a late frame of the setup view is not counted
    $("events").textContent = head.events;
    showAngles(head.angles);
    if (phase === "setup" || phase === "starting") showSetup(head.setup);
    else if (phase === "recording") { $("setup").textContent = "recording"; $("setup").className = "setup recording"; }
    const drawn = Date.now();
    send({ type: "drawn", index: head.index, frame_unix_ms: head.frame_unix_ms, send_unix_ms: head.send_unix_ms,
      receive_unix_ms: receive, draw_unix_ms: drawn });
  }

  ws.onmessage = (ev) => {
    if (typeof ev.data !== "string") {
      if (busy) { send({ type: "drawn" }); return; }  // still drawing: skip this one
      busy = true;
      onFrame(ev.data).finally(() => { busy = false; });
      return;
    }
    const msg = JSON.parse(ev.data);
    if (msg.type === "state") {
      setPhase(msg.phase);
      if (msg.phase === "analysing") { $("setup").textContent = "analysing the recording..."; $("setup").className = "setup pending"; }
      if (msg.phase === "done" && msg.result_url) location.href = msg.result_url;
      if (msg.phase === "error") { $("message").textContent = "stopped: " + msg.error; $("setup").className = "setup invalid"; }
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
