"""Pain map: where it hurts, on a front/back body chart, per session (issue 23).

Regions follow the usual division of a pain drawing (e.g. the body charts of the Brief Pain
Inventory, Cleeland & Ryan 1994, Ann Acad Med Singapore 23:129-138, and of pain-drawing studies
such as Margolis, Tait & Krause 1986, Pain 24:57-65): a name, the chart it is drawn on (front or
back) and the side from the client's view. Intensity is an NRS 0-10; quality a short fixed list
(as in the McGill Pain Questionnaire's sensory words, Melzack 1975, Pain 1:277-299, reduced).

:func:`body_chart_svg` draws the marked regions on a schematic front and back figure (an aid to
see change between sessions, not a measurement).
"""

from __future__ import annotations

from movekit.clinic import regions as rg

#: region -> (chart, centre x, centre y, half-width, half-height) on a 100 x 200 figure per chart
#: (the one vocabulary of :mod:`movekit.clinic.regions`); x grows to the figure's right as drawn
#: (front chart: the client's left is drawn on the right); a paired region's x is set per side
REGIONS: dict[str, tuple[str, float, float, float, float]] = {
    n: (r.chart, r.x, r.y, r.half_width, r.half_height) for n, r in rg.REGIONS.items()
}
SIDES = ("left", "right", "midline")
QUALITIES = ("aching", "burning", "sharp", "throbbing", "tingling", "numb", "stiff", "referred")
#: paired regions (limbs, buttock) and their distance from the chart's left edge (0-100 wide)
LIMB_X = rg.PAIRED_X


def check_mark(region: str, side: str, intensity_0_10: float, quality: str | None) -> str:
    """Check a mark against the chart's vocabularies and the 0-10 range; returns the region's
    name in the vocabulary (an old name such as ``neck`` is accepted and mapped,
    :func:`movekit.clinic.regions.canonical`).

    Raises
    ------
    MovekitError
        A region, side or quality outside the vocabularies, a paired region on the midline, an
        intensity outside 0-10.
    """
    import math

    from movekit.errors import MovekitError

    region = rg.canonical(region)
    if side not in SIDES:
        raise MovekitError(f"side {side!r}: one of {', '.join(SIDES)}")
    if side == "midline" and region in LIMB_X:
        raise MovekitError(f"{region} is on a side: left or right")
    try:
        value = float(intensity_0_10)
    except (TypeError, ValueError):
        raise MovekitError(f"intensity {intensity_0_10!r} is not a number") from None
    if not (math.isfinite(value) and 0 <= value <= 10):
        raise MovekitError(f"intensity {intensity_0_10} is outside 0-10")
    if quality is not None and quality not in QUALITIES:
        raise MovekitError(f"quality {quality!r}: one of {', '.join(QUALITIES)}")
    return region


def mark_position(region: str, side: str, chart: str) -> tuple[float, float]:
    """Where a mark of ``region`` on ``side`` sits on the ``chart`` ("front" or "back") of
    :func:`body_chart_svg`, in the chart's own units (0-100 wide): the one geometry the report,
    the studio's clickable chart and the SVG share."""
    _, x, y, _, _ = REGIONS[region]
    if region in LIMB_X:
        off = 50 - LIMB_X[region]  # distance from the midline
        # front chart: the client's left is on the viewer's right; back chart: on the viewer's left
        toward_right = (side == "left") == (chart == "front")
        x = 50 + off if toward_right else 50 - off
    return x, y


def body_chart_svg(marks: list[dict], title: str = "") -> str:
    """An SVG (front and back, side by side) with each mark (``region``, ``side``,
    ``intensity_0_10``) filled by intensity (white 0 -> red 10) and labelled with its intensity."""
    from html import escape

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 230 220" width="345" height="330" role="img">']
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for k, chart in enumerate(("front", "back")):
        ox = 10 + 110 * k
        parts.append(f'<text x="{ox + 50}" y="8" font-size="7" text-anchor="middle">{chart}</text>')
        for region, (ch, _x, _y, w, h) in REGIONS.items():  # the figure: its regions, outlined
            if ch != chart and region not in LIMB_X:  # limbs show on both charts
                continue
            for side in ("left", "right") if region in LIMB_X else ("midline",):
                x, y = mark_position(region, side, chart)
                parts.append(f'<ellipse cx="{ox + x:.1f}" cy="{y + 4:.1f}" rx="{w}" ry="{h}" fill="none" '
                             'stroke="#999" stroke-width="0.5"/>')  # fmt: skip
        for m in marks:  # a mark is drawn on its region's chart (limbs: the front)
            if REGIONS[m["region"]][0] != chart:
                continue
            x, y = mark_position(m["region"], m["side"], chart)
            _, _, _, w, h = REGIONS[m["region"]]
            v = max(0.0, min(10.0, float(m["intensity_0_10"]))) / 10
            fill = f"rgb(255,{int(255 * (1 - v))},{int(255 * (1 - v))})"
            label = escape(f"{m['side']} {m['region']}: {m['intensity_0_10']:g}/10 {m.get('quality') or ''}".strip())
            parts.append(f'<ellipse cx="{ox + x:.1f}" cy="{y + 4:.1f}" rx="{w}" ry="{h}" fill="{fill}" '
                         f'stroke="#a00" stroke-width="0.8"><title>{label}</title></ellipse>')  # fmt: skip
            parts.append(f'<text x="{ox + x:.1f}" y="{y + 6:.1f}" font-size="6" text-anchor="middle">'
                         f"{m['intensity_0_10']:g}</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def first_and_latest(marks: list[dict]):
    """A client's marks (``Store.pain_marks``) compared between the first and the latest session
    with marks: ``(sessions, by_session, rows)`` where ``sessions`` is ``(first, latest)``, or
    ``(only,)`` when one session has marks (a session is never compared with itself), a session
    is ``(date, id)``, ``by_session`` maps each to ``{(region, side): mark}`` and ``rows`` are
    ``("side region", intensity in each session)`` as text ("-" where unmarked)."""
    dated = sorted({(m["session_date"], m["session_id"]) for m in marks})
    shown = tuple(dict.fromkeys((dated[0], dated[-1])))
    by = {s: {(m["region"], m["side"]): m for m in marks if m["session_id"] == s[1]} for s in shown}
    rows = [
        (f"{k[1]} {k[0]}", *("-" if by[s].get(k) is None else f"{by[s][k]['intensity_0_10']:g}" for s in shown))
        for k in sorted(set().union(*by.values()))
    ]
    return shown, by, rows


__all__ = ["QUALITIES", "REGIONS", "SIDES", "body_chart_svg", "check_mark", "first_and_latest"]
