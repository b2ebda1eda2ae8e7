// movekit studio: the pairing page's test signal (1.5 s from one paired device, RMS and a sparkline).
(function () {
  "use strict";
  const base = document.getElementById("pairing").dataset.base; // /home/CODE/devices
  for (const btn of document.querySelectorAll("button.test-signal")) {
    btn.addEventListener("click", async () => {
      const label = btn.dataset.label;
      const box = document.getElementById("signal-" + label);
      box.textContent = "listening...";
      btn.disabled = true;
      try {
        const r = await fetch(`${base}/${encodeURIComponent(label)}/test`);
        const s = await r.json();
        if (!r.ok) throw new Error(s.error || r.statusText);
        box.textContent = "";
        for (const ch of s.channels) {
          const row = document.createElement("div");
          row.className = "signal-channel";
          const top = Math.max(...ch.envelope_uv, 1);
          const pts = ch.envelope_uv.map((v, i) => `${(i * 300) / Math.max(1, ch.envelope_uv.length - 1)},${40 - (38 * v) / top}`).join(" ");
          row.innerHTML = `<span class="ch"></span> <span class="rms"></span>
            <svg viewBox="0 0 300 40" width="300" height="40"><polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="${pts}"/></svg>`;
          row.querySelector(".ch").textContent = ch.channel + (ch.role ? ` (${ch.role})` : "");
          row.querySelector(".rms").textContent = `${ch.rms_uv.toFixed(1)} uV RMS, ${ch.samples} samples`;
          box.append(row);
        }
      } catch (e) {
        box.textContent = "no signal: " + e.message;
      } finally {
        btn.disabled = false;
      }
    });
  }
})();
