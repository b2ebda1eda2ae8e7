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

#: body regions (a front/back body chart's usual division) and the muscles the issue names, by region
REGIONS = {
    "cervical": ("upper_trapezius", "levator_scapulae", "sternocleidomastoid", "scalenes", "suboccipitals"),
    "thoracic": ("rhomboids", "middle_trapezius", "erector_spinae"),
    "lumbar": ("quadratus_lumborum", "erector_spinae", "multifidus"),
    "shoulder": ("supraspinatus", "infraspinatus", "deltoid", "pectoralis_minor", "pectoralis_major", "teres_minor"),
    "elbow_forearm": ("wrist_extensors", "wrist_flexors"),
    "hip_gluteal": ("gluteus_medius", "gluteus_maximus", "piriformis", "tensor_fasciae_latae"),
    "thigh": ("quadriceps", "vastus_medialis_obliquus", "hamstrings", "adductors", "iliotibial_band"),
    "knee": ("patellar_tendon", "popliteus"),
    "lower_leg": ("gastrocnemius", "soleus", "tibialis_anterior", "peroneals"),
    "foot": ("plantar_fascia",),
    "abdomen": ("rectus_abdominis", "obliques", "iliopsoas"),
}
SIDES = ("left", "right", "both", "midline")

#: how the movement part was fed back to the client
FEEDBACK = ("none", "mirror", "emg", "audio", "video", "verbal", "tactile")


def check_treatment(technique: str, region: str, muscle: str | None, side: str) -> None:
    """One-line errors for a technique, region, muscle or side outside the vocabularies."""
    from movekit.errors import MovekitError

    if technique not in TECHNIQUES:
        raise MovekitError(f"technique {technique!r}: one of {', '.join(TECHNIQUES)}")
    if region not in REGIONS:
        raise MovekitError(f"region {region!r}: one of {', '.join(REGIONS)}")
    if muscle is not None and muscle not in REGIONS[region]:
        raise MovekitError(f"muscle {muscle!r} is not in region {region} ({', '.join(REGIONS[region])})")
    if side not in SIDES:
        raise MovekitError(f"side {side!r}: one of {', '.join(SIDES)}")


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


__all__ = ["FEEDBACK", "REGIONS", "SIDES", "TECHNIQUES", "check_treatment", "describe"]
