// movekit studio: the client's drill screen. State arrives over /ws/drill ~10 times a second
// (movekit.studio.home.DrillRun.message); the buttons send controls back on the same socket.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const client = $("drill").dataset.client;
  let ws = null;
  let last = null;
  window.movekitDrillStates = 0; // how many state messages were drawn (for tests)
  window.movekitDrillStatuses = []; // every status line shown, in order, each once in a row (for tests)
  window.movekitDrillLast = () => last;

  function fmt(v, digits) {
    return v === null || v === undefined ? "-" : Number(v).toFixed(digits);
  }

  function metricLabel(name) {
    return name.replace(/_pct_mvc$/, " (% of your strongest)").replace(/_deg$/, " (deg)").replace(/_/g, " ");
  }

  function drawBands(targets, reps) {
    // for a hold: its target band(s); for reps: the threshold that starts a rep, then the one that ends it
    const box = $("bands");
    box.textContent = "";
    for (const [i, t] of (targets || []).entries()) {
      const row = document.createElement("div");
      row.className = "band " + (t.met ? "met" : "unmet");
      const lo = t.lo === null ? null : t.lo, hi = t.hi === null ? null : t.hi;
      const range = lo !== null && hi !== null ? `${fmt(lo, 0)}-${fmt(hi, 0)}` : lo !== null ? `above ${fmt(lo, 0)}` : `below ${fmt(hi, 0)}`;
      row.innerHTML = `<span class="band-name"></span><span class="band-value"></span><span class="band-range"></span>`;
      row.querySelector(".band-name").textContent = metricLabel(t.metric) + (reps ? (i % 2 ? ": relax" : ": tighten") : "");
      row.querySelector(".band-value").textContent = fmt(t.value, 0);
      row.querySelector(".band-range").textContent = "target " + range + (t.met ? "  \u2713" : "");
      // a bar: the band shaded, the value as a marker (scale 0..max(hi*1.5, value))
      const top = Math.max(hi !== null ? hi * 1.5 : (lo || 0) * 2, t.value || 0, 1);
      const bar = document.createElement("div");
      bar.className = "bar";
      const zone = document.createElement("div");
      zone.className = "zone";
      zone.style.left = (100 * (lo !== null ? Math.max(lo, 0) : 0) / top) + "%";
      zone.style.width = (100 * ((hi !== null ? hi : top) - (lo !== null ? Math.max(lo, 0) : 0)) / top) + "%";
      const mark = document.createElement("div");
      mark.className = "mark";
      mark.style.left = Math.min(100, 100 * Math.max(0, t.value || 0) / top) + "%";
      bar.append(zone, mark);
      row.append(bar);
      box.append(row);
    }
  }

  const sensor = (label) => label.replace(/_/g, " ") + " sensor";
  const names = (list) => list.map((x) => sensor(x.label)).join(" and ");

  function deviceStatus(msg) {
    // what the devices say, before anything else: the drill waits for them (movekit.protocols.drill.DeviceState)
    const devs = msg.drill.devices || [];
    const lost = devs.filter((x) => x.state === "lost");
    const away = devs.filter((x) => x.state === "reconnecting");
    const silent = devs.filter((x) => x.state === "no signal"); // link up, nothing sent
    const waiting = devs.filter((x) => x.state === "connecting");
    const held = msg.drill.device_hold ? " (the drill is paused)" : "";
    if (msg.drill.ended_by) return msg.drill.ended_by;
    if (lost.length) return `${names(lost)} lost: the drill ended`;
    if (away.length) return `${names(away)} lost: reconnecting` + held;
    if (silent.length) return `${names(silent)}: no signal` + held;
    if (waiting.length) return `Connecting to ${names(waiting)}...`;
    if (msg.phase === "connecting") return "Connecting to your sensors...";
    return null;
  }

  function drawDevices(devs) {
    const box = $("devices");
    box.textContent = "";
    for (const x of devs || []) {
      const li = document.createElement("li");
      li.className = "device " + x.state.replace(/ /g, "-");
      li.dataset.label = x.label;
      const ago = x.since_sample_s === null || x.since_sample_s === undefined ? "" : `, last signal ${x.since_sample_s.toFixed(1)} s ago`;
      li.textContent = `${sensor(x.label)}: ${x.state}${x.state === "connected" ? "" : ago}`;
      box.append(li);
    }
  }

  function draw(msg) {
    if (msg.type !== "state" || !msg.drill) return;
    last = msg;
    window.movekitDrillStates += 1;
    const d = msg.drill;
    const control = d.control;
    const devices = deviceStatus(msg);
    $("status").textContent = msg.phase === "error" ? msg.error
      : devices !== null ? devices
      : control === "ready" ? "ready: press Start"
      : control === "paused" ? "paused" : control === "running" ? "running"
      : msg.phase === "saving" ? "saving..." : control;
    $("status").className = "drill-status " + (msg.phase === "error" || (devices && msg.phase !== "connecting") ? "invalid" : control);
    const shown = window.movekitDrillStatuses;
    if (shown[shown.length - 1] !== $("status").textContent) shown.push($("status").textContent);
    drawDevices(d.devices);
    $("set").textContent = d.set_index ? `${d.set_index} of ${d.set_count}` : "-";
    $("reps").textContent = d.rep_count !== null && d.rep_count !== undefined
      ? (d.reps_target ? `${d.rep_count} / ${d.reps_target}` : `${d.rep_count}`) : "-";
    const hold = d.hold_remaining_s !== null && d.hold_remaining_s !== undefined && d.mode === "active";
    $("countdown-label").textContent = hold ? "hold" : d.mode === "rest" ? "rest" : "time left";
    const secs = hold ? d.hold_remaining_s : d.countdown_s;
    $("countdown").textContent = secs === null || secs === undefined ? "-" : Math.ceil(secs - 1e-6).toString();
    $("step").textContent = d.step ? `step ${d.step_index} of ${d.step_count}: ${d.step.replace(/_/g, " ")} (${d.mode})` : "";
    drawBands(d.targets, d.step_kind === "reps");
    const cue = (d.last_said && d.last_said.text) || (d.last_cue && d.last_cue.say) || "";
    if (cue) $("cue").textContent = cue;
    const said = $("said");
    said.textContent = "";
    for (const s of msg.said || []) {
      const li = document.createElement("li");
      li.textContent = s.text;
      said.append(li);
    }
    const live = msg.phase === "running";
    const allThere = (d.devices || []).every((x) => x.state === "connected");
    $("start").disabled = !(live && allThere && control === "ready");
    $("pause").disabled = !(live && control === "running");
    $("resume").disabled = !(live && allThere && control === "paused");
    $("stop").disabled = !(live && (control === "running" || control === "paused" || control === "ready"));
    if (msg.result_url) window.location.assign(msg.result_url);
    if (msg.phase === "error") $("stop").disabled = true;
  }

  function send(action) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "control", action }));
    else fetch(`/home/${encodeURIComponent(client)}/run/control`, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "action=" + action,
    }).then((r) => r.json()).then(draw);
  }

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/drill");
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "notice") $("status").textContent = msg.text;
      else draw(msg);
    };
    ws.onclose = () => setTimeout(connect, 1000);
  }

  for (const a of ["start", "pause", "resume", "stop"]) $(a).addEventListener("click", () => send(a));
  document.addEventListener("keydown", (ev) => {
    if (ev.key === " " && last) {
      ev.preventDefault();
      const c = last.drill.control;
      send(c === "running" ? "pause" : c === "paused" ? "resume" : c === "ready" ? "start" : "");
    }
  });
  connect();
})();
