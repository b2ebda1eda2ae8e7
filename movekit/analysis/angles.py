"""Clinical joint angles from pose landmarks, 2D (image plane) or 3D (world), vectorized over frames.

Conventions (every angle): 0 deg at anatomical neutral, signed where the sign means something,
never wrapped to 0..360 (Wu 2002 and Wu 2005, ISB recommendations, J Biomech 35:543 and 38:981;
knee after Grood & Suntay 1983, J Biomech Eng 105:136). Each angle is the rotation from a reference
vector ``r`` to a segment vector ``s`` about an anatomical axis ``n``:

* sagittal angles turn about the body's medio-lateral axis ``Z`` (pointing to the subject's right);
  with ``X`` anterior and ``Y`` up, a positive turn about ``Z`` takes anterior toward up, which is
  hip and shoulder flexion and ankle dorsiflexion; knee flexion and forward trunk lean are the
  negative turn, so their sign is flipped to read positive;
* frontal angles turn about the antero-posterior axis ``X``; a positive turn takes the left limb
  away from the midline, so right-side angles are mirrored (abduction and valgus positive on both
  sides).

The signed angle is ``atan2(det[r, s, n], r_p . s_p)`` (``r_p``, ``s_p``: projections on the plane
normal to ``n``); for in-plane vectors this is ``atan2(|r x s|, r . s)`` with a sign. Hinge angles
(knee) use the full 3D included angle ``atan2(|r x s|, r . s)`` signed by ``det[r, s, n]``. Each
result is placed on a fixed branch ``[lo, lo + 360)`` chosen per angle so that its whole
physiological range is continuous (e.g. shoulder abduction reads 190 deg past vertical, never
-170); no frame-to-frame unwrapping is done, so NaN gaps cannot shift a branch.

2D (``image_px``): vectors in the image plane (pixels, x right, y down; aspect ratio true). The
sagittal axis is the camera axis signed by which way the subject faces (left/right), the frontal
axis the camera axis signed by facing toward/away from the camera (:func:`movekit.analysis.view.facing_2d`).
2D angles are valid only in the view named in :data:`ANGLES` (see :mod:`movekit.analysis.view`);
"vertical" is the image vertical (level camera assumed).

3D (``world_m``): MediaPipe world landmarks (m, x right, y down, z away from the camera).
``Z`` = left hip -> right hip, ``Y`` = mid-hip -> mid-shoulder, ``X`` = ``Y x Z``; "vertical" is
the camera's -y (level camera assumed). A planar angle whose vectors lie within 10 deg of the
plane's normal is NaN (no reliable projection), e.g. shoulder abduction while the arm points
straight forward.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from movekit.analysis import kernels
from movekit.analysis import landmarks as lm

SAGITTAL_VIEWS = ("sagittal_left", "sagittal_right")
FRONTAL_VIEWS = ("frontal",)

WU2002 = "Wu et al. 2002, ISB recommendation part I (hip, ankle, spine), J Biomech 35:543-548"
WU2005 = "Wu et al. 2005, ISB recommendation part II (shoulder, elbow), J Biomech 38:981-992"
GROOD = "Grood & Suntay 1983, J Biomech Eng 105:136-144"
WILLSON = "Willson et al. 2006, Med Sci Sports Exerc 38:945-952 (frontal plane projection angle)"
PIVA = (
    "Piva et al. 2006, Reliability of measures of impairments associated with patellofemoral pain "
    "syndrome, BMC Musculoskelet Disord 7:33, doi:10.1186/1471-2474-7-33 (lateral step-down: trunk "
    "lean, pelvis not level)"
)
YIP = "Yip et al. 2008, Man Ther 13:148-154 (craniovertebral angle, C7 to tragus vs horizontal)"


@dataclass(frozen=True)
class AngleDef:
    """One clinical angle: what it measures, how, and where it is valid.

    ``ref`` and ``seg`` are (from, to) point names (landmark names or the virtual points
    ``mid_shoulder``, ``mid_hip``, ``origin``, ``up``, ``anterior_h``, ``right_h``).
    """

    name: str
    side: str | None
    joint: str
    motion: str
    plane: str  #: "sagittal" or "frontal"
    convention: str
    proxy: bool
    source: str
    ref: tuple[str, str]
    seg: tuple[str, str]
    mult: float = 1.0
    offset_deg: float = 0.0
    lo_deg: float = -180.0  #: branch [lo, lo + 360)
    kind: str = "planar"  #: "planar", "hinge" (3D included angle, signed) or "unsigned"
    possible_deg: tuple[float, float] = (-np.inf, np.inf)  #: outside: NaN (:data:`POSSIBLE_RANGES`)

    @property
    def valid_views_2d(self) -> tuple[str, ...]:
        return SAGITTAL_VIEWS if self.plane == "sagittal" else FRONTAL_VIEWS


def _leg_sagittal(s: str) -> list[AngleDef]:
    """Knee flexion, hip flexion and ankle dorsiflexion of side ``s`` (sagittal)."""
    trunk_down = ("mid_shoulder", "mid_hip")
    return [
        AngleDef(
            f"{s}_knee_flexion_deg",
            s,
            "knee",
            "flexion",
            "sagittal",
            "thigh vs shank; 0 straight, flexion +, hyperextension -",
            False,
            GROOD,
            (f"{s}_hip", f"{s}_knee"),
            (f"{s}_knee", f"{s}_ankle"),
            -1.0,
            0.0,
            -90.0,
            "hinge",
        ),
        AngleDef(
            f"{s}_hip_flexion_deg",
            s,
            "hip",
            "flexion",
            "sagittal",
            "trunk vs thigh; 0 aligned, flexion +, extension -",
            False,
            WU2002,
            trunk_down,
            (f"{s}_hip", f"{s}_knee"),
            1.0,
            0.0,
            -90.0,
        ),
        AngleDef(
            f"{s}_ankle_dorsiflexion_deg",
            s,
            "ankle",
            "dorsiflexion",
            "sagittal",
            "shank vs heel-toe line; 0 at 90 deg, dorsiflexion +, plantarflexion -",
            False,
            WU2002,
            (f"{s}_knee", f"{s}_ankle"),
            (f"{s}_heel", f"{s}_foot_index"),
            1.0,
            -90.0,
            -180.0,
        ),
    ]


def _arm(s: str, mirror: float) -> list[AngleDef]:
    """Elbow flexion, shoulder flexion (sagittal) and abduction (frontal, sign ``mirror``) of side ``s``."""
    trunk_down = ("mid_shoulder", "mid_hip")
    return [
        AngleDef(
            f"{s}_elbow_flexion_deg",
            s,
            "elbow",
            "flexion",
            "sagittal",
            "upper arm vs forearm, 0 straight, flexion +; unsigned (no landmark fixes the "
            "elbow axis), so hyperextension reads as small flexion",
            False,
            WU2005,
            (f"{s}_shoulder", f"{s}_elbow"),
            (f"{s}_elbow", f"{s}_wrist"),
            1.0,
            0.0,
            -90.0,
            "unsigned",
        ),
        AngleDef(
            f"{s}_shoulder_flexion_deg",
            s,
            "shoulder",
            "flexion",
            "sagittal",
            "humerus vs trunk in the sagittal plane; 0 arm at side, flexion +, extension -, past 180 overhead",
            False,
            WU2005,
            trunk_down,
            (f"{s}_shoulder", f"{s}_elbow"),
            1.0,
            0.0,
            -90.0,
        ),
        AngleDef(
            f"{s}_shoulder_abduction_deg",
            s,
            "shoulder",
            "abduction",
            "frontal",
            "humerus vs trunk in the frontal plane; 0 arm at side, abduction +, "
            "adduction across the body -, past 180 overhead",
            False,
            WU2005,
            trunk_down,
            (f"{s}_shoulder", f"{s}_elbow"),
            mirror,
            0.0,
            -90.0,
        ),
    ]


def _knee_frontal(s: str, mirror: float) -> list[AngleDef]:
    """Knee frontal plane projection angle of side ``s`` (valgus positive on both sides)."""
    return [
        AngleDef(
            f"{s}_knee_fppa_deg",
            s,
            "knee",
            "fppa",
            "frontal",
            "frontal plane projection angle, thigh vs shank; 0 straight, valgus (knee medial) +, varus -",
            False,
            WILLSON,
            (f"{s}_hip", f"{s}_knee"),
            (f"{s}_knee", f"{s}_ankle"),
            mirror,
        ),
    ]


def _head_proxies(s: str) -> list[AngleDef]:
    """Craniovertebral and head-forward proxies of side ``s`` (no C7 or tragus landmark)."""
    trunk_up = ("mid_hip", "mid_shoulder")
    return [
        AngleDef(
            f"{s}_craniovertebral_proxy_deg",
            s,
            "craniovertebral",
            "proxy",
            "sagittal",
            "PROXY: shoulder-to-ear line vs horizontal (true CVA uses C7 and tragus, which "
            "pose has not); smaller = head more forward",
            True,
            YIP,
            ("origin", "anterior_h"),
            (f"{s}_shoulder", f"{s}_ear"),
        ),
        AngleDef(
            f"{s}_head_forward_proxy_deg",
            s,
            "head",
            "forward_proxy",
            "sagittal",
            "PROXY: shoulder-to-ear line vs the trunk line (hip-shoulder); 0 ear in line with the trunk, ear forward +",
            True,
            YIP,
            trunk_up,
            (f"{s}_shoulder", f"{s}_ear"),
            -1.0,
        ),
    ]


def _trunk_and_pelvis() -> list[AngleDef]:
    """Trunk inclination and lateral lean against the vertical, pelvic obliquity."""
    vertical = ("origin", "up")
    trunk_up = ("mid_hip", "mid_shoulder")
    return [
        AngleDef(
            "trunk_inclination_deg",
            None,
            "trunk",
            "inclination",
            "sagittal",
            "mid-hip to mid-shoulder vs vertical; 0 upright, forward +, backward -",
            False,
            WU2002,
            vertical,
            trunk_up,
            -1.0,
        ),
        AngleDef(
            "trunk_lateral_lean_deg",
            None,
            "trunk",
            "lateral_lean",
            "frontal",
            "mid-hip to mid-shoulder vs vertical; 0 upright, lean to the subject's right +",
            False,
            PIVA,
            vertical,
            trunk_up,
        ),
        AngleDef(
            "pelvis_obliquity_deg",
            None,
            "pelvis",
            "obliquity",
            "frontal",
            "left hip to right hip vs horizontal; 0 level, right side lower +; hip joint "
            "landmarks stand in for ASIS (proxy of iliac crest level)",
            True,
            PIVA,
            ("origin", "right_h"),
            ("left_hip", "right_hip"),
        ),
    ]


def _table() -> dict[str, AngleDef]:
    """Every angle, per side (left then right) and then the trunk and pelvis; the order is the
    column order of :func:`joint_angles`."""
    defs: list[AngleDef] = []
    for side in lm.SIDES:
        mirror = 1.0 if side == "left" else -1.0
        defs += _leg_sagittal(side) + _arm(side, mirror) + _knee_frontal(side, mirror) + _head_proxies(side)
    defs += _trunk_and_pelvis()
    return {d.name: d for d in defs}


#: Every angle ``joint_angles`` returns, keyed by its column name.
ANGLES: dict[str, AngleDef] = _table()
#: Angles measured against the true vertical or horizontal (their reference runs from ``origin``):
#: only as good as the vertical the camera tilt or the lab frame gives
VERTICAL_REFERENCED: tuple[str, ...] = tuple(name for name, d in ANGLES.items() if d.ref[0] == "origin")

_VIRTUAL = ("mid_shoulder", "mid_hip", "origin", "up", "anterior_h", "right_h")
_POINTS = {name: i for i, name in enumerate(lm.NAMES + _VIRTUAL)}
_DEFS = tuple(ANGLES.values())
_RF = np.array([_POINTS[d.ref[0]] for d in _DEFS])
_RT = np.array([_POINTS[d.ref[1]] for d in _DEFS])
_SF = np.array([_POINTS[d.seg[0]] for d in _DEFS])
_ST = np.array([_POINTS[d.seg[1]] for d in _DEFS])


def _normal_slot(d: AngleDef) -> int:
    """0 sagittal; frontal 2D signs from the angle's own landmarks: 1 shoulders, 2 hips, 3 both."""
    if d.plane == "sagittal":
        return 0
    return {"shoulder": 1, "knee": 2, "pelvis": 2}.get(d.joint, 3)


#: Values a joint cannot reach, whatever the camera: outside them a sample comes from landmarks the
#: pose model misplaced (a hidden knee held still while the hip moved gave 246 deg) and is NaN.
#: Knee: hyperextension beyond ~15-20 deg is rare even in genu recurvatum and passive flexion ends
#: at ~160 deg with thigh-calf contact (Norkin & White 2016); hip extension ends at ~30 deg; ankle
#: dorsiflexion at ~30 deg and plantarflexion at ~50 deg (AAOS). The bounds add a wide margin for
#: 2D projection and measurement error: they reject only the impossible, not the unusual.
#: Pelvic obliquity stays within about +-10 deg in gait and single-leg tasks (Trendelenburg drop;
#: Perry & Burnfield 2010, Gait Analysis, 2nd ed.), and a frontal trunk lean is bounded by
#: thoracolumbar lateral flexion (~35 deg, AAOS) plus hip ab/adduction: +-45 and +-60 deg reject a
#: hip or shoulder line the model drew across the body (3D obliquity read 109-177 deg off).
#: Shoulder flexion and abduction end near 180 deg (AAOS), elbow flexion at ~150 deg; the trunk
#: bends forward to ~120 deg from upright in a toe touch and back ~30 deg; knee FPPA stays within
#: about +-30 deg in step-downs and landings (Willson 2006; Munro 2012, J Orthop Sports Phys
#: Ther 42:A11): the bounds add the same margins.
POSSIBLE_RANGES = {
    "knee_flexion": (-40.0, 180.0),
    "hip_flexion": (-90.0, 180.0),
    "ankle_dorsiflexion": (-90.0, 60.0),
    "pelvis_obliquity": (-45.0, 45.0),
    "trunk_lateral_lean": (-60.0, 60.0),
    "trunk_inclination": (-60.0, 135.0),
    "shoulder_flexion": (-90.0, 220.0),
    "shoulder_abduction": (-90.0, 220.0),
    "elbow_flexion": (0.0, 170.0),
    "knee_fppa": (-60.0, 60.0),
}
_DEFS = tuple(
    d
    if f"{d.joint}_{d.motion}" not in POSSIBLE_RANGES
    else replace(d, possible_deg=POSSIBLE_RANGES[f"{d.joint}_{d.motion}"])
    for d in _DEFS
)
ANGLES.update({d.name: d for d in _DEFS})
_PLO = np.array([d.possible_deg[0] for d in _DEFS])
_PHI = np.array([d.possible_deg[1] for d in _DEFS])
_NORMAL = np.array([_normal_slot(d) for d in _DEFS])
_MULT = np.array([d.mult for d in _DEFS])
_OFFSET = np.array([d.offset_deg for d in _DEFS])
_LO = np.array([d.lo_deg for d in _DEFS])
_KIND_HINGE = np.array([d.kind == "hinge" for d in _DEFS])
_KIND_UNSIGNED = np.array([d.kind == "unsigned" for d in _DEFS])
_MIN_PROJ = np.sin(np.deg2rad(10.0))
_IDX = np.stack([_RF, _RT, _SF, _ST])  # (4, angles) point numbers, for the compiled kernel
_IDX_LANDMARKS = np.unique(_IDX[_IDX < lm.N_LANDMARKS])  # the landmarks it reads
_BLOCK = 2048


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _with_virtual(p: np.ndarray) -> np.ndarray:
    n = p.shape[0]
    out = np.empty((n, len(_POINTS), 3))
    out[:, : lm.N_LANDMARKS] = p
    out[:, _POINTS["mid_shoulder"]] = 0.5 * (p[:, 11] + p[:, 12])
    out[:, _POINTS["mid_hip"]] = 0.5 * (p[:, 23] + p[:, 24])
    out[:, _POINTS["origin"]] = 0.0
    out[:, _POINTS["up"]] = (0.0, -1.0, 0.0)
    return out


def _angles_from_points(P: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(frames, n_angles) degrees from points (frames, n_points, 3) and normals (frames, 4, 3):
    slot 0 sagittal, 1-3 frontal (see :func:`_normal_slot`; all ``X`` in 3D)."""
    r = P[:, _RT] - P[:, _RF]
    s = P[:, _ST] - P[:, _SF]
    n = normals[:, _NORMAL]
    c = np.cross(r, s)
    det = np.einsum("fak,fak->fa", c, n)
    rn = np.einsum("fak,fak->fa", r, n)
    sn = np.einsum("fak,fak->fa", s, n)
    dot = np.einsum("fak,fak->fa", r, s)
    r2 = np.einsum("fak,fak->fa", r, r)
    s2 = np.einsum("fak,fak->fa", s, s)
    dotp = dot - rn * sn
    cnorm = np.sqrt(np.einsum("fak,fak->fa", c, c))
    with np.errstate(invalid="ignore"):
        planar = np.arctan2(det, dotp)
        incl = np.arctan2(cnorm, dot)
        hinge = np.where(det < 0, -incl, incl)
        theta = np.where(_KIND_HINGE, hinge, np.where(_KIND_UNSIGNED, incl, planar))
        theta = np.rad2deg(theta) * _MULT + _OFFSET
        theta = np.where(_KIND_UNSIGNED, theta, _LO + np.mod(theta - _LO, 360.0))
        bad = (r2 <= 0) | (s2 <= 0)
        planar_kind = ~(_KIND_HINGE | _KIND_UNSIGNED)
        thin = ((r2 - rn * rn) < (_MIN_PROJ**2) * r2) | ((s2 - sn * sn) < (_MIN_PROJ**2) * s2)
        bad |= planar_kind & thin
        # a hinge angle needs a usable sign axis only when the joint is bent
        bad |= _KIND_HINGE & ~np.isfinite(det)
        bad |= (theta < _PLO) | (theta > _PHI)
    theta[bad] = np.nan
    return theta


def _angles_2d(P: np.ndarray, nz: np.ndarray) -> np.ndarray:
    """2D fast path of :func:`_angles_from_points`: points (frames, n_points, 2), normal signs
    along the camera axis (frames, 4). Same formulas with the zero z terms dropped."""
    r = P[:, _RT] - P[:, _RF]
    s = P[:, _ST] - P[:, _SF]
    rx, ry, sx, sy = r[..., 0], r[..., 1], s[..., 0], s[..., 1]
    cross = rx * sy - ry * sx  # z of r x s
    dot = rx * sx + ry * sy
    det = cross * nz[:, _NORMAL]
    with np.errstate(invalid="ignore"):
        theta = np.arctan2(np.where(_KIND_UNSIGNED, np.abs(cross), det), dot)  # one arctan2 for both kinds
        theta = np.rad2deg(theta) * _MULT + _OFFSET
        theta = np.where(_KIND_UNSIGNED, theta, _LO + np.mod(theta - _LO, 360.0))
        bad = ((rx * rx + ry * ry) <= 0) | ((sx * sx + sy * sy) <= 0) | (theta < _PLO) | (theta > _PHI)
    theta[bad] = np.nan
    return theta


def _lateral_signs(p: np.ndarray, front: np.ndarray) -> np.ndarray:
    """(frames, 3) toward/away signs from the shoulders, the hips and both, in the image.

    Frontal 2D angles take their sign from the same landmarks they are measured on (the left
    shoulder on the image right means facing the camera), so a frame where the pose model swaps
    left and right still gives abduction and valgus the right sign, and pelvic obliquity stays
    within +-90 deg. ``front`` is used only where the pair has no width (or is missing).
    """
    dsh = p[:, 11, 0] - p[:, 12, 0]
    dhip = p[:, 23, 0] - p[:, 24, 0]
    out = np.empty((p.shape[0], 3))
    with np.errstate(invalid="ignore"):
        for k, d in enumerate((dsh, dhip, 0.5 * (dsh + dhip))):
            out[:, k] = np.where(np.abs(d) > 0, np.sign(d), front)
    return out


def _points_2d_fast(p: np.ndarray, facing: np.ndarray) -> np.ndarray:
    n = p.shape[0]
    P = np.empty((n, len(_POINTS), 2))
    P[:, : lm.N_LANDMARKS] = p
    P[:, _POINTS["mid_shoulder"]] = 0.5 * (p[:, 11] + p[:, 12])
    P[:, _POINTS["mid_hip"]] = 0.5 * (p[:, 23] + p[:, 24])
    P[:, _POINTS["origin"]] = 0.0
    P[:, _POINTS["up"]] = (0.0, -1.0)
    P[:, _POINTS["anterior_h"], 0] = facing
    P[:, _POINTS["anterior_h"], 1] = 0.0
    P[:, _POINTS["right_h"]] = 0.0
    return P


def body_axes_3d(world_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Body axes from world landmarks (frames, 33, 3): unit ``X`` anterior, ``Y`` up, ``Z`` right.

    ``Z`` = left hip -> right hip, ``Y`` = mid-hip -> mid-shoulder, ``X = Y x Z``, ``Y`` re-made
    as ``Z x X`` (right-handed, orthonormal; Wu 2002 pelvis/trunk axes approximated by pose).
    ``X`` and ``Z`` are reversed where ``X`` points backward (the nose turned posterior from the
    trunk axis and the feet posterior from the shanks), i.e. where the model swapped the hips'
    labels.
    """
    w = np.asarray(world_m, dtype=np.float64)
    Z = _unit(w[:, 24] - w[:, 23])
    Y = 0.5 * (w[:, 11] + w[:, 12]) - 0.5 * (w[:, 23] + w[:, 24])
    X = _unit(np.cross(Y, Z))

    # anatomical check, independent of the model's left/right labels: the nose lies anterior to
    # the ears and the toes anterior to the heels; if X points the other way, the hips were swapped
    def sin_about_z(a, b):  # sine of the turn from a to b about Z
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.einsum("fk,fk->f", np.cross(a, b), Z) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))

    cues = np.stack(
        [
            -sin_about_z(Y, w[:, 0] - 0.5 * (w[:, 7] + w[:, 8])),  # up -> nose turns toward anterior
            sin_about_z(w[:, 27] - w[:, 25], w[:, 31] - w[:, 29]),  # shank down -> foot: +90 +- 50
            sin_about_z(w[:, 28] - w[:, 26], w[:, 32] - w[:, 30]),
        ],
        axis=1,
    )
    flip = np.nansum(cues, axis=1) < 0
    X = np.where(flip[:, None], -X, X)
    Z = np.where(flip[:, None], -Z, Z)
    return X, _unit(np.cross(Z, X)), Z


def _points_3d(world_m):
    w = np.asarray(world_m, dtype=np.float64)
    P = _with_virtual(w)
    X, _Y, Z = body_axes_3d(w)
    Zh = Z.copy()
    Zh[:, 1] = 0.0
    Zh = _unit(Zh)
    up = np.array([0.0, -1.0, 0.0])
    P[:, _POINTS["right_h"]] = Zh
    P[:, _POINTS["anterior_h"]] = _unit(np.cross(up, Zh))
    normals = np.stack([Z, X, X, X], axis=1)
    return P, normals


def joint_angles(
    image_px=None, world_m=None, *, visibility=None, min_visibility: float = 0.5, facing=None, front=None
) -> dict[str, np.ndarray]:
    """All clinical angles in :data:`ANGLES`, one float64 ``(frames,)`` array each, in degrees.

    Parameters
    ----------
    image_px : array (frames, 33, 2 or 3), optional
        Image landmarks in pixels (x right, y down); gives 2D angles in the camera plane. Only
        the view-appropriate angles are meaningful (:func:`movekit.analysis.view.angle_validity`).
    world_m : array (frames, 33, 3), optional
        MediaPipe world landmarks in metres; gives 3D angles. Pass exactly one of the two.
    visibility : array (frames, 33), optional
        Landmarks below ``min_visibility`` are treated as missing (angle NaN).
    facing, front : array (frames,) of +1/-1, optional (2D only)
        Which way the subject faces: ``facing`` +1 toward image right, ``front`` +1 toward the
        camera. Default: :func:`movekit.analysis.view.facing_2d` (causal, holds the last confident
        estimate). Frontal angles take their sign from their own landmark pair (shoulders for the
        arm, hips for knee and pelvis), which survives a left/right swap by the pose model;
        ``front`` is used only where that pair is too narrow to tell (a side view).

    Returns
    -------
    dict
        ``{column name: angle_deg}``; NaN where a landmark is missing or the geometry is
        degenerate. Keys are in :data:`ANGLES` order.
    """
    if (image_px is None) == (world_m is None):
        raise ValueError("pass image_px (2D angles) or world_m (3D angles), exactly one")
    src = world_m if world_m is not None else image_px
    arr = np.asarray(src, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != lm.N_LANDMARKS:
        raise ValueError(f"landmarks must be (frames, 33, dims), got {np.shape(src)}")
    if visibility is not None:
        vis = np.asarray(visibility, dtype=np.float64).reshape(arr.shape[0], lm.N_LANDMARKS)
        arr = np.where((vis >= min_visibility)[..., None], arr, np.nan)
    if arr.shape[0] == 0:
        return {name: np.empty(0) for name in ANGLES}
    n = arr.shape[0]
    if world_m is None:
        from movekit.analysis.view import facing_2d

        if facing is None or front is None:
            f2, fr2 = facing_2d(arr)
            facing = f2 if facing is None else facing
            front = fr2 if front is None else front
        facing = np.broadcast_to(np.asarray(facing, float), (n,))
        front = np.broadcast_to(np.asarray(front, float), (n,))
    if world_m is None and kernels.wanted(n * len(_DEFS)):
        return _joint_angles_2d_compiled(arr, facing, front)
    theta = np.empty((len(_DEFS), n))
    for s in range(0, n, _BLOCK):  # cache-sized blocks of frames: ~5x faster on long recordings
        e = min(n, s + _BLOCK)
        if world_m is not None:
            P, normals = _points_3d(arr[s:e])
        else:
            P = _points_2d_fast(arr[s:e, :, :2], facing[s:e])
            lat = _lateral_signs(arr[s:e], front[s:e])
            P[:, _POINTS["right_h"], 0] = -lat[:, 1]  # subject's right, from the hips' image order
            nz = np.concatenate([-facing[s:e, None], -lat], axis=1)
            theta[:, s:e] = _angles_2d(P, nz).T
            continue
        theta[:, s:e] = _angles_from_points(P, normals).T
    return {d.name: theta[i] for i, d in enumerate(_DEFS)}


def _joint_angles_2d_compiled(arr: np.ndarray, facing: np.ndarray, front: np.ndarray) -> dict[str, np.ndarray]:
    """2D :func:`joint_angles` by the compiled kernels (:mod:`movekit.analysis.kernels`): the
    same operations as :func:`_angles_2d`, with numpy's own ``arctan2`` in between so that every
    value is the same bit for bit."""
    rows = np.ascontiguousarray(np.moveaxis(arr[:, _IDX_LANDMARKS, :2], 0, -1)).reshape(2 * _IDX_LANDMARKS.size, -1)
    pos = np.full(lm.N_LANDMARKS, -1)
    pos[_IDX_LANDMARKS] = np.arange(_IDX_LANDMARKS.size)
    return joint_angles_2d_rows(rows, pos, facing, front)


def joint_angles_2d_rows(rows: np.ndarray, pos: np.ndarray, facing, front) -> dict[str, np.ndarray]:
    """2D :func:`joint_angles` (image px in, deg out) from landmark rows by the compiled kernels:
    ``rows`` (2 * landmarks, frames) C-contiguous float64, landmark ``k``'s x in row
    ``2 * pos[k]`` and y in the next (the layout the cleaning works in: no transposition back);
    ``facing``, ``front`` (frames,) as for :func:`joint_angles`. The same values bit for bit."""
    k = kernels.get()
    n, na = rows.shape[1], len(_DEFS)
    theta = np.empty((na, n))
    facing = np.ascontiguousarray(np.broadcast_to(facing, (n,)), dtype=np.float64)
    front = np.ascontiguousarray(np.broadcast_to(front, (n,)), dtype=np.float64)

    def part(b0: int, b1: int) -> None:  # cache-sized blocks of frames b0..b1-1
        yb, xb, sb = np.empty(na * _BLOCK), np.empty(na * _BLOCK), np.empty(na * _BLOCK, dtype=bool)
        q = np.empty((43, 2, _BLOCK))  # the virtual points and normal signs as rows
        for s in range(b0 * _BLOCK, min(n, b1 * _BLOCK), _BLOCK):
            e = min(n, s + _BLOCK)
            w = e - s
            y, x, short = yb[: na * w].reshape(na, w), xb[: na * w].reshape(na, w), sb[: na * w].reshape(na, w)
            k.angles2d_args(rows, pos, s, e, facing, front, _IDX, _NORMAL, _KIND_UNSIGNED, y, x, short, q)
            np.arctan2(y, x, out=x)
            k.angles_finish_into(x, theta, s, e, short, _MULT, _OFFSET, _LO, _KIND_UNSIGNED, _PLO, _PHI)

    # flat scratch per thread, viewed as (angles, block width) C-contiguous per block: numpy's
    # arctan2 then runs one unbuffered loop (on (angles, block) slices of wider arrays it copied
    # through its buffers: ~40 % of the angles' time); each frame is computed alone, so the
    # blocks split across two threads give the same values
    kernels.in_two(part, -(-n // _BLOCK), n * na)
    return {d.name: theta[i] for i, d in enumerate(_DEFS)}
