"""The manual-therapy and movement log of a session (issue 23): what was done, where, how hard,
and how the client responded, as structured records a report can show beside the outcomes.

Techniques, the standard naming of regions and muscles, and sides are fixed vocabularies so that
sessions can be compared and counted; free text goes to ``response`` and ``notes``.

Technique names follow common manual-therapy usage (myofascial release, deep tissue massage,
trigger point / ischaemic compression, instrument-assisted soft-tissue mobilisation (IASTM),
transverse friction (Cyriax), percussive device); pressure is recorded as the client's reported
intensity or tolerance on 0-10 (an NRS, as pressure-pain tolerance is commonly recorded in
practice), not as a force.
"""

from __future__ import annotations

from movekit.clinic import regions as rg

TECHNIQUES = (
    "myofascial-release",
    "deep-tissue",
    "trigger-point-compression",
    "iastm",
    "transverse-friction",
    "percussive-device",
    "effleurage",
    "petrissage",
    "stretching",
    "joint-mobilisation",
)

#: region -> the muscles in it (the one vocabulary of :mod:`movekit.clinic.regions`, shared with the pain map)
REGIONS: dict[str, tuple[str, ...]] = {n: r.muscles for n, r in rg.REGIONS.items()}
SIDES = ("left", "right", "both", "midline")

#: how the movement part was fed back to the client
FEEDBACK = ("none", "mirror", "emg", "audio", "video", "verbal", "tactile")


def check_treatment(technique: str, region: str, muscle: str | None, side: str) -> str:
    """Check a manual entry against the vocabularies; returns the region's name in the vocabulary
    (an old name such as ``hip_gluteal`` is accepted and mapped, :func:`movekit.clinic.regions.canonical`).

    Raises
    ------
    MovekitError
        A technique, region, muscle or side outside the vocabularies, or a muscle of another region.
    """
    from movekit.errors import MovekitError

    if technique not in TECHNIQUES:
        raise MovekitError(f"technique {technique!r}: one of {', '.join(TECHNIQUES)}")
    region = rg.canonical(region)
    if muscle is not None and muscle not in REGIONS[region]:
        raise MovekitError(
            f"muscle {muscle!r} is not in region {region} ({', '.join(REGIONS[region]) or 'none listed'})"
        )
    if side not in SIDES:
        raise MovekitError(f"side {side!r}: one of {', '.join(SIDES)}")
    return region


def describe(entry: dict) -> tuple[str, str]:
    """``(where, dose)`` of a logged entry (a ``Store.treatments`` row) in words: "left lumbar
    quadratus_lumborum", "8 min, pressure 6/10" or "3x10, feedback emg"; "" where nothing was given."""
    where = " ".join(str(v) for v in (entry["side"], entry["region"], entry["muscle"]) if v)
    parts = (
        f"{entry['duration_min']:g} min" if entry["duration_min"] else "",
        f"pressure {entry['pressure_0_10']:g}/10" if entry["pressure_0_10"] is not None else "",
        f"{entry['sets']}x{entry['reps']}" if entry["sets"] and entry["reps"] else "",
        f"feedback {entry['feedback']}" if entry["feedback"] else "",
    )
    return where, ", ".join(x for x in parts if x)


def pain_beside_treatment(marks: list[dict], entries: list[dict]) -> list[dict]:
    """Each region and side of a client's pain map beside what was done there: the first and the
    latest marked intensity (NRS 0-10) and the manual entries logged on the same region
    (:mod:`movekit.clinic.regions`: one vocabulary, old names mapped) and side (an entry on
    "both" sides or without a side counts for either; :func:`movekit.clinic.regions.sides_match`).

    Parameters
    ----------
    marks : list of dict
        ``Store.pain_marks`` rows (``region``, ``side``, ``intensity_0_10``, ``session_date``).
    entries : list of dict
        ``Store.treatments`` rows.

    Returns
    -------
    list of dict
        Per region and side, in the vocabulary's order: ``region``, ``label``, ``side``,
        ``first_0_10``, ``first_date``, ``latest_0_10``, ``latest_date``, ``change_0_10`` (latest -
        first; the latest three None while the region is marked in one session only), ``sessions_treated`` (count of sessions with an entry there), ``techniques``
        (names, in order of first use) and ``minutes`` (total logged duration, min).
    """
    by_place: dict[tuple[str, str], list[dict]] = {}
    for m in sorted(marks, key=lambda m: (m["session_date"], m.get("session_id", 0), m.get("id", 0))):
        by_place.setdefault((_region(m["region"]), m["side"]), []).append(m)
    order = {name: i for i, name in enumerate(rg.REGIONS)}
    rows = []
    for (region, side), ms in sorted(by_place.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        done = [t for t in entries if t["part"] == "manual" and t["region"] and _region(t["region"]) == region
                and rg.sides_match(side, t["side"])]  # fmt: skip
        first, last = ms[0], ms[-1]
        later = last.get("session_id", 0) != first.get("session_id", 0) or last["session_date"] != first["session_date"]
        latest = float(last["intensity_0_10"]) if later else None
        rows.append({
            "region": region, "label": rg.REGIONS[region].label if region in rg.REGIONS else region, "side": side,
            "first_0_10": float(first["intensity_0_10"]), "first_date": first["session_date"],
            "latest_0_10": latest, "latest_date": last["session_date"] if later else None,
            "change_0_10": None if latest is None else latest - float(first["intensity_0_10"]),
            "sessions_treated": len({t["session_id"] for t in done}),
            "techniques": list(dict.fromkeys(t["technique"] for t in done)),
            "minutes": float(sum(t["duration_min"] or 0 for t in done)),
        })  # fmt: skip
    return rows


def _region(name: str) -> str:
    """A stored region under its name now (a name outside the vocabulary is kept as it is)."""
    from movekit.errors import MovekitError

    try:
        return rg.canonical(name)
    except MovekitError:
        return name


__all__ = ["FEEDBACK", "REGIONS", "SIDES", "TECHNIQUES", "check_treatment", "describe", "pain_beside_treatment"]
