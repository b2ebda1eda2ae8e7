"""Whole-body centre of mass from pose landmarks and de Leva's segment parameters.

de Leva P. 1996, Adjustments to Zatsiorsky-Seluyanov's segment inertia parameters, J Biomech
29:1223-1230, Table 4: segment mass (% of body mass) and longitudinal centre-of-mass position
(% of segment length from the proximal end), separate tables for women and men. Pose has no
vertex, cervicale, hip joint centre or metacarpale, so the endpoints are approximated:

========  =========================================  ===================================
segment   de Leva endpoints                          pose endpoints (MediaPipe)
========  =========================================  ===================================
head      vertex -> mid-gonion                       head+neck CM placed at the mid-ear point
trunk     upper trunk end -> mid hip joint centres   mid-shoulder -> mid-hip
upperarm  shoulder -> elbow joint centre             shoulder -> elbow
forearm   elbow -> wrist joint centre                elbow -> wrist
hand      wrist -> 3rd metacarpale                   wrist -> midpoint of index and pinky
thigh     hip -> knee joint centre                   hip -> knee
shank     knee -> lateral malleolus                  knee -> ankle
foot      heel -> toe tip                            heel -> foot index
========  =========================================  ===================================

de Leva gives the trunk with suprasternale (SUPR -> MIDH: CM 44.86 % m / 41.51 % f from the
upper end) and with cervicale (CERV -> MIDH: CM 51.38 % m / 49.64 % f) as its upper end, with the
same mass (43.46 % m / 42.57 % f). The fractions used here are the suprasternale row, the one
paired with the vertex -> mid-gonion head (59.76 % / 58.94 %) kept below; the shoulder joint
midpoint lies near suprasternale height. (Checked against two independent transcriptions of
Table 4 -- R. Gurchiek's ``deleva.m`` and a Python de Leva table, both citing J Biomech
29:1223-1230 -- not against the printed paper.) The head table values are kept for completeness; the
head CM is placed at the mid-ear point instead (close to the tragion level of the head CM).

Whole-body COM sway from video should be low-passed (~6 Hz) and checked against the noise floor of
a still subject before quiet-stance sway is trusted.
"""

from __future__ import annotations

import numpy as np

from movekit.analysis import kernels

# name: (mass % female, CM % female, mass % male, CM % male) -- de Leva 1996 Table 4
DE_LEVA_1996: dict[str, tuple[float, float, float, float]] = {
    "head": (6.68, 58.94, 6.94, 59.76),
    "trunk": (42.57, 41.51, 43.46, 44.86),
    "upperarm": (2.55, 57.54, 2.71, 57.72),
    "forearm": (1.38, 45.59, 1.62, 45.74),
    "hand": (0.56, 74.74, 0.61, 79.00),
    "thigh": (14.78, 36.12, 14.16, 40.95),
    "shank": (4.81, 44.16, 4.33, 44.59),
    "foot": (1.29, 40.14, 1.37, 44.15),
}

# segments as (table key, proximal point, distal point); virtual points: 33 mid-shoulder,
# 34 mid-hip, 35 mid-ear, 36/37 left/right hand (mid of index and pinky)
_SEGMENTS = (
    ("head", 35, 35),
    ("trunk", 33, 34),
    ("upperarm", 11, 13),
    ("upperarm", 12, 14),
    ("forearm", 13, 15),
    ("forearm", 14, 16),
    ("hand", 15, 36),
    ("hand", 16, 37),
    ("thigh", 23, 25),
    ("thigh", 24, 26),
    ("shank", 25, 27),
    ("shank", 26, 28),
    ("foot", 29, 31),
    ("foot", 30, 32),
)
_PROX = np.array([s[1] for s in _SEGMENTS])
_DIST = np.array([s[2] for s in _SEGMENTS])
SEGMENT_NAMES = tuple((k if k in ("head", "trunk") else ("left_" if p % 2 else "right_") + k) for k, p, _ in _SEGMENTS)


def segment_table(sex: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mass fractions (sum 1) and CM fractions from proximal, per segment in :data:`SEGMENT_NAMES`.

    ``sex``: "female", "male" (de Leva 1996) or None for the mean of the two tables (a
    convenience when sex is not recorded; not a published table).
    """
    if sex not in ("female", "male", None):
        raise ValueError(f"sex must be 'female', 'male' or None, not {sex!r}")
    rows = np.array([DE_LEVA_1996[k] for k, _, _ in _SEGMENTS])
    if sex == "female":
        m, c = rows[:, 0], rows[:, 1]
    elif sex == "male":
        m, c = rows[:, 2], rows[:, 3]
    else:
        m, c = 0.5 * (rows[:, 0] + rows[:, 2]), 0.5 * (rows[:, 1] + rows[:, 3])
    return m / m.sum(), c / 100.0


def _segment_coms(p: np.ndarray, cm: np.ndarray) -> np.ndarray:
    ext = np.concatenate(
        [
            p,
            0.5 * (p[:, 11:12] + p[:, 12:13]),
            0.5 * (p[:, 23:24] + p[:, 24:25]),
            0.5 * (p[:, 7:8] + p[:, 8:9]),
            0.5 * (p[:, 17:18] + p[:, 19:20]),
            0.5 * (p[:, 18:19] + p[:, 20:21]),
        ],
        axis=1,
    )
    prox = ext[:, [s[1] for s in _SEGMENTS]]
    dist = ext[:, [s[2] for s in _SEGMENTS]]
    return prox + cm[None, :, None] * (dist - prox)


def center_of_mass(
    landmarks, *, sex: str | None = None, visibility=None, min_visibility: float = 0.5, missing: str = "nan"
) -> np.ndarray:
    """Whole-body centre of mass per frame (de Leva 1996), in the landmarks' units.

    Parameters
    ----------
    landmarks : array (frames, 33, dims)
        Image landmarks (use ``image_px[..., :2]`` for 2D, px) or world landmarks (m, 3D).
    sex : "female", "male" or None
        Which de Leva table; None averages the two.
    visibility : array (frames, 33), optional
        Landmarks below ``min_visibility`` count as missing.
    missing : "nan" or "renormalise"
        A frame with any segment missing is NaN (default), or the COM of the segments seen with
        their masses renormalised (biased toward the segments seen; say so when reporting).

    Returns
    -------
    array (frames, dims)
    """
    p = np.asarray(landmarks, dtype=np.float64)
    if p.ndim == 2:
        p = p[None]
    if visibility is not None:
        vis = np.asarray(visibility, dtype=np.float64).reshape(p.shape[:2])
        p = np.where((vis >= min_visibility)[..., None], p, np.nan)
    if missing not in ("nan", "renormalise"):
        raise ValueError("missing must be 'nan' or 'renormalise'")
    mass, cm = segment_table(sex)
    out = np.empty((p.shape[0], p.shape[2]))
    if missing == "nan" and p.shape[1] == 33 and kernels.wanted(p.shape[0] * 26 * p.shape[2]):  # 26 landmarks used
        kernels.get().center_of_mass(np.ascontiguousarray(p), _PROX, _DIST, cm, mass, out)
        return out
    for s in range(0, p.shape[0], 4096):  # cache-sized blocks of frames
        seg = _segment_coms(p[s : s + 4096], cm)
        if missing == "nan":
            out[s : s + 4096] = np.einsum("fsd,s->fd", seg, mass)
            continue
        ok = np.all(np.isfinite(seg), axis=-1)
        w = np.where(ok, mass, 0.0)
        tot = w.sum(1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s : s + 4096] = np.einsum("fsd,fs->fd", np.nan_to_num(seg), w) / np.where(tot > 0, tot, np.nan)
    return out


def center_of_mass_rows(rows: np.ndarray, pos: np.ndarray, *, sex: str | None = None) -> np.ndarray:
    """:func:`center_of_mass` (``missing="nan"``, 2D) of landmarks given as rows by the compiled
    kernels (:mod:`movekit.analysis.kernels`): ``rows`` (2 * landmarks, frames) C-contiguous
    float64, landmark ``k``'s x in row ``2 * pos[k]`` and y in the next (the layout the cleaning
    works in); every landmark a segment uses must be there. The same values bit for bit (each
    frame's segments summed in the same order); (frames, 2), in the rows' units (px)."""
    mass, cm = segment_table(sex)
    out = np.empty((rows.shape[1], 2))
    nb = 1024  # frames per block
    kernels.get().center_of_mass_rows(rows, pos, _PROX, _DIST, cm, mass, out, np.empty((5, nb)), np.empty(nb))
    return out
