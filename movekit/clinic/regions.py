"""One body-region vocabulary for the pain map and the treatment log (issue 23).

Until schema v9 the pain map named regions as a pain drawing does (``neck``, ``lower_back``,
``buttock``) and the treatment log as a therapist does (``cervical``, ``lumbar``, ``hip_gluteal``),
so a report could not put "where it hurt" beside "what was done there". This module is the one
vocabulary both use: each :class:`Region` has its name, a label in words, where it is drawn on the
front/back body chart, whether it is marked per side (a limb or a paired region), and the muscles
the treatment form offers in it.

The division follows the usual regions of a pain drawing (the Brief Pain Inventory's body chart,
Cleeland & Ryan 1994, Ann Acad Med Singapore 23:129-138; Margolis, Tait & Krause 1986, Pain
24:57-65) with the spine named by its segments as manual therapy records it (cervical, thoracic,
lumbar). Older names are still accepted on input (:data:`OLD_NAMES`, :func:`canonical`) and the v9
migration of the clinic store renamed stored rows (the earlier name kept in the record's history).
"""

from __future__ import annotations

from dataclasses import dataclass

from movekit.errors import MovekitError


@dataclass(frozen=True)
class Region:
    """One body-chart region.

    Attributes
    ----------
    name : str
        The stored name.
    label : str
        In words, for forms and reports.
    chart : str
        ``"front"`` or ``"back"``: the chart a mark of the region is drawn on.
    x, y : float
        Centre on a 100 x 200 chart (chart units); for a paired region ``x`` is unused (see
        :data:`PAIRED_X`), the side decides it.
    half_width, half_height : float
        Half-axes of the drawn ellipse (chart units).
    muscles : tuple of str
        The muscles the treatment form offers in this region.
    """

    name: str
    label: str
    chart: str
    x: float
    y: float
    half_width: float
    half_height: float
    muscles: tuple[str, ...] = ()

    @property
    def paired(self) -> bool:
        """True for a region marked per side (left or right), e.g. a limb."""
        return self.name in PAIRED_X


_R = Region
#: the vocabulary, in the order forms list it (head to foot)
REGIONS: dict[str, Region] = {r.name: r for r in (
    _R("head", "head", "front", 50, 14, 10, 12, ("temporalis", "masseter")),
    _R("cervical", "neck (cervical)", "back", 50, 30, 7, 5,
       ("upper_trapezius", "levator_scapulae", "sternocleidomastoid", "scalenes", "suboccipitals")),
    _R("shoulder", "shoulder", "front", 0, 42, 8, 6,
       ("supraspinatus", "infraspinatus", "deltoid", "pectoralis_minor", "pectoralis_major", "teres_minor")),
    _R("chest", "chest", "front", 50, 50, 16, 10, ("pectoralis_major", "pectoralis_minor", "intercostals")),
    _R("thoracic", "upper back (thoracic)", "back", 50, 50, 16, 10,
       ("rhomboids", "middle_trapezius", "erector_spinae")),
    _R("abdomen", "abdomen", "front", 50, 78, 14, 12, ("rectus_abdominis", "obliques", "iliopsoas")),
    _R("lumbar", "lower back (lumbar)", "back", 50, 82, 14, 9, ("quadratus_lumborum", "erector_spinae", "multifidus")),
    _R("gluteal", "buttock (gluteal)", "back", 0, 98, 9, 7,
       ("gluteus_medius", "gluteus_maximus", "piriformis", "tensor_fasciae_latae")),
    _R("upper_arm", "upper arm", "front", 0, 60, 5, 12, ("biceps_brachii", "triceps_brachii")),
    _R("elbow_forearm", "elbow and forearm", "front", 0, 84, 4, 12, ("wrist_extensors", "wrist_flexors")),
    _R("hand_wrist", "hand and wrist", "front", 0, 104, 4, 6, ()),
    _R("hip_groin", "hip and groin", "front", 0, 100, 8, 6, ("iliopsoas", "adductors")),
    _R("thigh", "thigh", "front", 0, 122, 7, 15,
       ("quadriceps", "vastus_medialis_obliquus", "hamstrings", "adductors", "iliotibial_band")),
    _R("knee", "knee", "front", 0, 144, 6, 6, ("patellar_tendon", "popliteus")),
    _R("lower_leg", "lower leg", "front", 0, 166, 5, 13, ("gastrocnemius", "soleus", "tibialis_anterior", "peroneals")),
    _R("ankle_foot", "ankle and foot", "front", 0, 188, 5, 6, ("plantar_fascia",)),
)}  # fmt: skip

#: paired regions and their distance from the chart's left edge (0-100 wide): marked per side
PAIRED_X = {"shoulder": 30, "upper_arm": 24, "elbow_forearm": 20, "hand_wrist": 17, "gluteal": 41,
            "hip_groin": 40, "thigh": 42, "knee": 42, "lower_leg": 42, "ankle_foot": 42}  # fmt: skip

#: names used before schema v9 -> the name now (pain map: neck, upper_back, lower_back, buttock;
#: treatment log: hip_gluteal, foot). The v9 migration applies the same mapping to stored rows.
OLD_NAMES = {
    "neck": "cervical",
    "upper_back": "thoracic",
    "lower_back": "lumbar",
    "buttock": "gluteal",
    "hip_gluteal": "gluteal",
    "foot": "ankle_foot",
}


def canonical(name: str) -> str:
    """The vocabulary's name for ``name`` (an old name is mapped, see :data:`OLD_NAMES`).

    Raises
    ------
    MovekitError
        ``name`` is neither a region nor an old name of one.
    """
    key = (name or "").strip().lower()
    if key in REGIONS:
        return key
    if key in OLD_NAMES:
        return OLD_NAMES[key]
    raise MovekitError(f"region {name!r}: one of {', '.join(REGIONS)} (older names accepted: {renamed_text()})")


def renamed_text() -> str:
    """The old-name mapping in words: ``"neck -> cervical, ..."``."""
    return ", ".join(f"{a} -> {b}" for a, b in OLD_NAMES.items())


def rename_note(name: str) -> str | None:
    """A one-line note when ``name`` is an old name (for the CLI to print), else None."""
    key = (name or "").strip().lower()
    return f"region {key!r} is now called {OLD_NAMES[key]!r}" if key in OLD_NAMES else None


def all_muscles() -> tuple[str, ...]:
    """Every muscle of the vocabulary once, in region order."""
    return tuple(dict.fromkeys(m for r in REGIONS.values() for m in r.muscles))


def sides_match(pain_side: str, treated_side: str | None) -> bool:
    """Whether a treatment on ``treated_side`` ("left", "right", "both", "midline" or None: not
    given) was on the side of a pain mark on ``pain_side`` ("left", "right", "midline"): only the
    opposite side (left against right) does not match; a midline mark or treatment covers both."""
    if treated_side in (None, "", "both", "midline") or pain_side == "midline":
        return True
    return pain_side == treated_side


__all__ = ["OLD_NAMES", "PAIRED_X", "REGIONS", "Region", "all_muscles", "canonical", "rename_note", "sides_match"]
