"""Session range of motion per joint against normal values.

Normal active ROM of adults, degrees, from the American Academy of Orthopaedic Surgeons
(AAOS 1965, *Joint Motion: Method of Measuring and Recording*; reprinted in Greene & Heckman 1994,
*The Clinical Measurement of Joint Motion*) as tabulated in Norkin & White, *Measurement of Joint
Motion: A Guide to Goniometry*, 5th ed. 2016, Appendix A. Values differ between sources by 5-20
deg (e.g. knee flexion 135 AAOS vs 140-150 elsewhere); the table names its source with every value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

AAOS = "AAOS 1965 via Norkin & White 2016, Appendix A"


@dataclass(frozen=True)
class NormalRom:
    joint_motion: str  #: e.g. "knee_flexion"
    positive_deg: float  #: normal end range in the positive direction (e.g. flexion)
    negative_deg: float | None  #: normal end range in the negative direction (e.g. extension), as a positive number
    source: str


NORMAL_ROM: dict[str, NormalRom] = {
    "shoulder_flexion": NormalRom("shoulder_flexion", 180.0, 60.0, AAOS),
    "shoulder_abduction": NormalRom("shoulder_abduction", 180.0, None, AAOS),
    "elbow_flexion": NormalRom("elbow_flexion", 150.0, None, AAOS),
    "hip_flexion": NormalRom("hip_flexion", 120.0, 30.0, AAOS),
    "knee_flexion": NormalRom("knee_flexion", 135.0, None, AAOS),
    "ankle_dorsiflexion": NormalRom("ankle_dorsiflexion", 20.0, 50.0, AAOS),
}


@dataclass(frozen=True)
class RomResult:
    angle: str
    max_deg: float
    min_deg: float
    range_deg: float
    normal_positive_deg: float | None
    pct_of_normal_positive: float | None  #: max / normal end range * 100
    normal_negative_deg: float | None
    pct_of_normal_negative: float | None  #: -min / normal end range * 100 (e.g. extension)
    source: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def _key(angle_name: str) -> str:
    parts = angle_name.removesuffix("_deg").split("_")
    if parts[0] in ("left", "right"):
        parts = parts[1:]
    return "_".join(parts)


def session_rom(angles: dict[str, np.ndarray], *, percentile: float = 100.0) -> dict[str, RomResult]:
    """Range of motion of each angle over a session, with percent of normal where a norm exists.

    Parameters
    ----------
    angles : dict of (frames,) arrays in deg
        E.g. from :func:`movekit.analysis.angles.joint_angles` after cleaning; only frames valid in
        the view should be passed (set the others to NaN).
    percentile : float
        Use the ``percentile`` and ``100 - percentile`` values instead of max and min (e.g. 98 to
        ignore residual glitches); 100 = true extremes.

    Returns
    -------
    dict of RomResult keyed by angle name; angles with no finite sample are left out.
    """
    out = {}
    for name, x in angles.items():
        x = np.asarray(x, dtype=np.float64)
        if not np.isfinite(x).any():
            continue
        hi, lo = np.nanpercentile(x, [percentile, 100.0 - percentile])
        norm = NORMAL_ROM.get(_key(name))
        pos = norm.positive_deg if norm else None
        neg = norm.negative_deg if norm else None
        out[name] = RomResult(
            angle=name,
            max_deg=float(hi),
            min_deg=float(lo),
            range_deg=float(hi - lo),
            normal_positive_deg=pos,
            pct_of_normal_positive=float(100.0 * max(hi, 0.0) / pos) if pos else None,
            normal_negative_deg=neg,
            pct_of_normal_negative=float(100.0 * max(-lo, 0.0) / neg) if neg else None,
            source=norm.source if norm else None,
        )
    return out
