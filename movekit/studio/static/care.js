// movekit studio: the care forms (goals, pain map, treatment log). Plain JS, no libraries.
// The server checks every form again; this only makes the forms quicker to fill.
"use strict";

(function goalForm() {
  const measure = document.getElementById("goal-measure");
  if (!measure) return;
  const baseline = document.getElementById("goal-baseline");
  const unit = document.getElementById("goal-unit");
  const hint = document.getElementById("goal-hint");
  measure.addEventListener("change", () => {
    const opt = measure.selectedOptions[0];
    unit.textContent = opt ? opt.dataset.unit || "" : "";
    const latest = opt ? opt.dataset.latest : "";
    baseline.value = latest || "";  // the stored value; the therapist may change it
    hint.textContent = latest
      ? `Baseline filled from the latest stored value (${latest} ${opt.dataset.unit || ""} on ${opt.dataset.date}).`
      : "Nothing stored for this measure yet: type the baseline, or leave it blank to take the first result that arrives.";
  });
})();

(function painMap() {
  const chart = document.getElementById("body-chart");
  if (!chart) return;
  const rows = document.querySelector("#mark-rows tbody");
  const template = document.getElementById("mark-row");
  const note = document.getElementById("painmap-note");
  rows.querySelectorAll("tr.initial").forEach((r) => r.remove());  // the form without JS

  function rowFor(region, side) {
    return [...rows.querySelectorAll("tr.mark-row")].find(
      (r) => r.querySelector("[name=region]").value === region && r.querySelector("[name=side]").value === side);
  }
  function paint() {  // the chosen regions, highlighted on the chart
    chart.querySelectorAll("ellipse.pick").forEach((e) => {
      e.classList.toggle("chosen", !!rowFor(e.dataset.region, e.dataset.side));
    });
  }
  function addRow(region, side) {
    const tr = template.content.firstElementChild.cloneNode(true);
    if (region) tr.querySelector("[name=region]").value = region;
    if (side) tr.querySelector("[name=side]").value = side;
    tr.querySelector(".remove").addEventListener("click", () => { tr.remove(); paint(); });
    tr.querySelectorAll("select").forEach((s) => s.addEventListener("change", paint));
    rows.appendChild(tr);
    paint();
    return tr;
  }
  const stored = new Map();  // "region side" -> the stored mark (an entry of #stored-marks)
  document.querySelectorAll("#stored-marks > li").forEach((li) => {
    stored.set(`${li.dataset.region} ${li.dataset.side}`, li.dataset);
    chart.querySelectorAll(`ellipse.pick[data-region="${li.dataset.region}"][data-side="${li.dataset.side}"]`)
      .forEach((e) => e.classList.add("stored"));
  });
  function markAmend(tr) {  // a region already stored in this session: the row amends it, with a reason
    const region = tr.querySelector("[name=region]").value, side = tr.querySelector("[name=side]").value;
    const old = stored.get(`${region} ${side}`);
    const reason = tr.querySelector("[name=reason]");
    tr.classList.toggle("amend", !!old);
    reason.required = !!old;
    reason.placeholder = old ? "why it changes (required)" : "new mark: leave blank";
    tr.querySelector(".amend-note").textContent = old
      ? `amends the stored ${old.intensity}/10${old.quality ? " " + old.quality : ""}` : "";
    return old;
  }
  rows.addEventListener("change", (ev) => { const tr = ev.target.closest("tr.mark-row"); if (tr) markAmend(tr); });
  chart.addEventListener("click", (ev) => {
    const e = ev.target.closest("ellipse.pick");
    if (!e) return;
    let tr = rowFor(e.dataset.region, e.dataset.side);
    if (!tr) {
      tr = addRow(e.dataset.region, e.dataset.side);
      const old = markAmend(tr);
      if (old) {  // start from the stored values
        tr.querySelector("[name=intensity]").value = old.intensity;
        tr.querySelector("[name=quality]").value = old.quality;
      }
    }
    note.textContent = e.classList.contains("stored")
      ? `${e.dataset.side} ${e.dataset.region} is already stored in this session: saving amends it (give the reason).`
      : "";
    tr.querySelector("[name=intensity]").focus();
  });
  document.getElementById("add-row").addEventListener("click", () => markAmend(addRow(null, null)));
})();

(function treatmentForm() {
  const form = document.getElementById("treatment-form");
  if (!form) return;
  const manual = document.getElementById("manual-fields");
  const movement = document.getElementById("movement-fields");
  const region = document.getElementById("tx-region");
  const muscle = document.getElementById("tx-muscle");
  function showPart() {
    const part = form.querySelector("[name=part]:checked").value;
    manual.hidden = part !== "manual";
    movement.hidden = part !== "movement";
  }
  function showMuscles() {  // only the chosen region's muscles (movekit.clinic.treatment.REGIONS)
    muscle.querySelectorAll("optgroup").forEach((g) => { g.hidden = !!region.value && g.dataset.region !== region.value; });
    const chosen = muscle.selectedOptions[0];
    if (chosen && chosen.parentElement.hidden) muscle.value = "";
  }
  form.querySelectorAll("[name=part]").forEach((r) => r.addEventListener("change", showPart));
  region.addEventListener("change", showMuscles);
  showPart();
  showMuscles();
})();
