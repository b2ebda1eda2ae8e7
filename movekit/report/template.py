"""The report's HTML template (kept in Python so it ships inside the wheel)."""

CSS = r"""
:root { --ink:#1d2733; --muted:#5b6b7b; --line:#d5dde5; --accent:#1f5fa8; --good:#2e7d4f; --warn:#b3361b; }
* { box-sizing: border-box; }
body { font: 15px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1080px; padding: 24px 32px 64px; background: #fff; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 10px; margin-bottom: 18px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 30px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.sub { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 2px 9px; border-radius: 10px; font-size: 13px; font-weight: 600;
         background: #e8eef5; color: var(--ink); }
.badge.due { background: #fff1d6; color: #8a5a00; } .badge.overdue { background: #fde2de; color: var(--warn); }
.badge.ok { background: #e2f3e8; color: var(--good); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #f2f5f8; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; overflow-wrap: normal; }
td .sub { font-size: 0.85em; }
tr.beyond td { background: #eef8f1; } tr.worse td { background: #fdeeee; }
figure.plot { margin: 14px 0 22px; padding: 10px 12px; border: 1px solid var(--line); border-radius: 6px;
              break-inside: avoid; page-break-inside: avoid; }
figure.plot svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: var(--muted); margin: 6px 0; }
details.table summary { cursor: pointer; font-size: 13px; color: var(--accent); }
.note { background: #f7f9fb; border-left: 4px solid var(--accent); padding: 6px 10px; margin: 8px 0; font-size: 13px; }
.warn { border-left-color: var(--warn); background: #fff6f4; }
.missing { color: var(--muted); font-style: italic; font-size: 13px; }
ul.refs { font-size: 12px; color: var(--muted); }
nav { font-size: 13px; margin: 8px 0 0; } nav a { margin-right: 12px; color: var(--accent); text-decoration: none; }
.summary-page { border: 1px solid var(--line); border-radius: 6px; padding: 16px 20px; margin-bottom: 28px; }
.summary-page .clinic { display: flex; gap: 14px; align-items: center; border-bottom: 3px solid var(--accent);
                        padding-bottom: 8px; margin-bottom: 8px; }
.summary-page .clinic img { max-height: 56px; max-width: 160px; }
.summary-page .clinic .cname { font-size: 18px; font-weight: 700; }
.summary-page h1 { font-size: 22px; }
.summary-page h2 { font-size: 16px; margin: 12px 0 4px; }
.summary-page ul { margin: 4px 0; padding-left: 20px; }
.summary-page li { margin: 2px 0; }
.keyframes { display: flex; gap: 8px; margin: 4px 0; }
.keyframes figure { margin: 0; flex: 1 1 0; max-width: 33%; }
.keyframes img { width: 100%; max-height: 200px; object-fit: contain; background: #303030; display: block; }
.keyframes figcaption { margin: 2px 0; font-size: 11px; }
.summary-notes { white-space: pre-wrap; }
.appendix-title { font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: .08em; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  table { font-size: 8pt; } th, td { padding: 2px 4px; }
  th { overflow-wrap: normal; }
  nav, .noprint { display: none; }
  details.table { display: block; } details.table > * { display: block; }
  details.table summary { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure.plot, table { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  .summary-page { border: none; padding: 0; margin: 0; font-size: 9pt; line-height: 1.25;
                  break-after: page; page-break-after: always; }
  .summary-page h1 { font-size: 14pt; } .summary-page h2 { font-size: 10.5pt; margin: 6pt 0 2pt; }
  .summary-page .clinic { padding-bottom: 4pt; margin-bottom: 4pt; }
  .summary-page table { font-size: 8pt; margin: 2pt 0; } .summary-page li { margin: 0; }
  .summary-page p { margin: 2pt 0; } .summary-page .sub { font-size: 8pt; }
  .keyframes img { max-height: 34mm; }
  .appendix-start { break-before: page; page-break-before: always; }
  @page { size: A4; margin: 12mm 10mm; }
}
"""

TEMPLATE = r"""{% macro summary_page(s) -%}
<section id="summary" class="summary-page">
{% if s.clinic %}<div class="clinic">{% if s.clinic.logo_data_uri %}<img src="{{ s.clinic.logo_data_uri }}" alt="clinic logo">{% endif %}
<div><div class="cname">{{ s.clinic.name }}</div>
{% if s.clinic.address_lines %}<div class="sub">{{ s.clinic.address_lines | join(", ") }}</div>{% endif %}
{% if s.clinic.contact %}<div class="sub">{{ s.clinic.contact | join(" | ") }}</div>{% endif %}</div></div>{% endif %}
<h1>Summary for client {{ s.client }}{% if s.client_name %} ({{ s.client_name }}){% endif %}</h1>
<div class="sub">{% if s.first_date %}{{ s.n_sessions }} session(s) from {{ s.first_date }} to {{ s.latest_date }}{% else %}no sessions yet{% endif %}; report of {{ s.report_date }}; technical appendix from page 2.</div>
<h2>Key results</h2>
{% if s.key_results %}<ul class="key-results">{% for line in s.key_results %}<li>{{ line }}</li>{% endfor %}</ul>
{% else %}<p class="missing">No results measured twice yet: nothing to compare with the baseline.</p>{% endif %}
{% if s.outcome_rows %}<h2>Change since baseline</h2>
<table class="summary-changes"><tr><th>measure</th><th>baseline</th><th>now</th><th>change</th><th>MCID</th><th>verdict</th></tr>
{% for r in s.outcome_rows %}<tr class="{{ r.cls }}"><td>{{ r.measure }}</td><td class="num">{{ r.baseline }} <span class="sub">({{ r.baseline_date }})</span></td><td class="num">{{ r.current }} <span class="sub">({{ r.current_date }})</span></td><td class="num">{{ r.change }}</td><td>{{ r.mcid }}</td><td>{{ r.verdict }}</td></tr>{% endfor %}
</table>
<div class="sub">MCID: the smallest change clients notice as important. Sources: {% for r in s.outcome_rows %}{{ r.measure }} {{ r.source }}{{ "; " if not loop.last else "." }}{% endfor %}</div>{% endif %}
<h2>Goals</h2>
{% if s.goal_lines %}<ul class="goals">{% for g in s.goal_lines %}<li>{{ g }}</li>{% endfor %}</ul>
{% else %}<p class="missing">No goals set.</p>{% endif %}
<h2>Movement</h2>
{% if s.keyframes %}<div class="keyframes">{% for k in s.keyframes.frames %}<figure><img src="{{ k.image_data_uri }}" alt="keyframe with skeleton">
<figcaption>{{ s.keyframes.session_date }}, {{ "%.1f" | format(k.t_s) }} s{% if k.at_pain %}, pain reported{% endif %}</figcaption></figure>{% endfor %}</div>
<p class="sub">{{ s.keyframes.note }}</p>
{% else %}<p class="missing">{{ s.keyframe_note }}</p>{% endif %}
<h2>Therapist notes</h2>
{% if s.notes %}<p class="summary-notes">{{ s.notes }}</p><p class="sub">Notes {{ s.notes_source }}.</p>
{% else %}<p class="missing">No therapist notes recorded.</p>{% endif %}
<p class="sub summary-end">End of summary. Technical appendix from the next page.</p>
</section>
{%- endmacro %}{% macro table_section(s) -%}
<section id="{{ s.id }}"><h2>{{ s.title }}</h2>
{% if s.text %}<p>{{ s.text }}</p>{% endif %}
{% if s.get("svg") %}<div class="chart">{{ s.svg | safe }}</div>{% endif %}
{% if s.columns %}<table><tr>{% for c in s.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in s.rows %}<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
{% for m in s.missing %}<p class="missing">{{ m }}</p>{% endfor %}
</section>
{%- endmacro %}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="movekit {{ version }}">
<title>{{ title }}</title>
<style>{{ css | safe }}</style>
</head>
<body>
{% if summary %}{{ summary_page(summary) }}{% endif %}
<header{% if summary %} class="appendix-start"{% endif %}>
  {% if summary %}<div class="appendix-title">Technical appendix</div>{% endif %}
  <h1>{{ title }}</h1>
  <div class="sub">{{ subtitle }} &middot; generated {{ generated }} by movekit {{ version }}</div>
  {% if nav %}<nav>{% for anchor, label in nav %}<a href="#{{ anchor }}">{{ label }}</a>{% endfor %}</nav>{% endif %}
</header>

{% for n in notes %}<div class="note {{ n.cls }}">{{ n.text }}</div>{% endfor %}

{% if schedule %}
<section id="schedule">
<h2>Re-assessment</h2>
<p><span class="badge {{ schedule.cls }}">{{ schedule.status }}</span> {{ schedule.text }}</p>
</section>
{% endif %}

{% if comparison %}
<section id="comparison">
<h2>What changed since baseline</h2>
<p class="sub">Baseline is the first assessment of each measure; "now" the latest. A change is only worth acting on
when it is larger than the measure's noise floor (for movement metrics) or its minimal clinically important
difference (MCID, for questionnaires). "None published" means no noise floor is known for that metric, so its
change cannot be judged against one; "-" means it was not measured.</p>
{% if comparison.metrics %}
<h3>Movement metrics</h3>
<table>
<tr><th>test</th><th>metric</th><th>baseline</th><th>now</th><th>change</th><th>change %</th><th>noise floor</th><th>beyond noise?</th></tr>
{% for m in comparison.metrics %}
<tr class="{{ 'beyond' if m.beyond_noise else '' }}"><td>{{ m.test }}</td><td>{{ m.name }}</td>
<td class="num">{{ m.baseline }} {{ m.unit }}<br><span class="sub">{{ m.baseline_date }}</span></td>
<td class="num">{{ m.current }} {{ m.unit }}<br><span class="sub">{{ m.current_date }}</span></td>
<td class="num">{{ m.change }}</td><td class="num">{{ m.change_pct }}</td><td>{{ m.floor }}</td><td>{{ m.verdict }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% for n in comparison.not_compared %}<p class="missing">{{ n }}</p>{% endfor %}
{% if comparison.outcomes %}
<h3>Outcome measures</h3>
<table>
<tr><th>measure</th><th>baseline</th><th>now</th><th>change</th><th>change %</th><th>MCID (source)</th><th>verdict</th></tr>
{% for o in comparison.outcomes %}
<tr class="{{ o.cls }}"><td>{{ o.title }}</td>
<td class="num">{{ o.baseline }}<br><span class="sub">{{ o.baseline_date }}</span></td>
<td class="num">{{ o.current }}<br><span class="sub">{{ o.current_date }}</span></td>
<td class="num">{{ o.change }}</td><td class="num">{{ o.change_pct }}</td><td>{{ o.mcid }}</td><td>{{ o.verdict }}</td></tr>
{% endfor %}
</table>
{% endif %}
</section>
{% endif %}

{% if sections_before %}{% for s in sections_before %}
{{ table_section(s) }}
{% endfor %}{% endif %}

<section id="plots">
<h2>Plots</h2>
{% for f in figures %}
<figure class="plot" id="plot-{{ f.key }}" data-plot="{{ f.key }}">
<h3>{{ f.title }}</h3>
{{ f.svg | safe }}
<figcaption><strong>What it means:</strong> {{ f.meaning }}</figcaption>
{% for n in f.notes %}<p class="missing">{{ n }}</p>{% endfor %}
<details class="table" open><summary>Table behind this plot</summary>
<table><tr>{% for c in f.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in f.rows %}<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>
</details>
</figure>
{% endfor %}
{% for m in missing_plots %}<p class="missing">{{ m }}</p>{% endfor %}
</section>

{% for s in sections_after %}
{{ table_section(s) }}
{% endfor %}

<section id="glossary">
<h2>What the numbers mean</h2>
<dl>
{% for term, text in glossary %}<dt><strong>{{ term }}</strong></dt><dd>{{ text }}</dd>{% endfor %}
</dl>
<h3>Sources</h3>
<ul class="refs">{% for r in references %}<li>{{ r }}</li>{% endfor %}</ul>
<p class="sub">movekit measures movement from video and sensors; it supports, and does not replace, the
therapist's clinical judgement. Single-camera angles are valid only in the camera's plane.</p>
</section>
</body>
</html>
"""
