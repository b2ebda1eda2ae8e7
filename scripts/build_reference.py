"""Build the multi-camera 3D reference for the angle-validity harness (scripts/validate_angles.py).

The real pose model (MediaPipe legacy Pose, model complexity 1) runs on each of the four
synchronised, calibrated views of Pose2Sim's demo trials (``movekit.datasets``: PyPI
pose2sim==0.10.49, BSD-3; its ``Demo_Batch`` trials are byte-identical copies of these two, same
CRC-32 per video, so the wheel holds two trials, not four); one chosen person is followed in
every view; the four views are
triangulated (:func:`movekit.analysis.triangulation.triangulate`, after the left/right labels of
each view are checked against the others) into lab coordinates (m, z up, floor z = 0).

People (MediaPipe Pose is single-person): in a reference frame the model is asked for everyone
in each view (:meth:`MediaPipePose.find_people`, the others blanked in turn), every combination
of one candidate per view is triangulated and the combinations that reproject consistently are
the people; each is named by where they stand in the lab (:data:`TRIALS`). Each view is then
captured with movekit's own person follower (``movekit.capture.pipeline.capture_in_memory`` with
``person="X,Y"`` at that person's torso), which blanks the others. Frames in which a view's
skeleton does not agree with the other views (the follower on somebody else, or lost) are not
used for that view.

Reproducibility: two builds of one commit on one machine are bit-identical (checked 2026-12-05 on
Demo_MultiPerson's man). The per-view poses depend on what the follower shows the pose model, so
a change to ``movekit.capture`` moves them (issue 22's follower changes: 0.1-0.4 px median in
85-97 of 100 frames in three of four views), and the error table is rebuilt with them
(scripts/validate_angles.py).

Output: ``movekit.datasets.cache_dir() / "reference" / capture_fingerprint() / "<trial>_<person>.npz"`` with

* ``t_s`` (frames,), ``points_lab_m`` (frames, 33, 3; z up), ``reproj_err_px`` (frames, 33),
  ``n_views`` (frames, 33);
* per camera, stacked over cameras in ``camera_names`` order: ``image_px`` (cams, frames, 33, 2,
  as MediaPipe gave them, unswapped), ``visibility`` (cams, frames, 33), ``world_m`` (cams, frames,
  33, 3), ``swapped`` (cams, frames, 4: left/right groups relabelled), ``used`` (cams, frames: the
  view agreed with the others), ``K``, ``dist``, ``R``, ``t``, ``size_px`` (cams, 2: the
  calibration's), ``video_size_px``, ``pitch_deg``, ``roll_deg``;
* ``noise_sd_torso`` (33,): MediaPipe's 2D noise per landmark, robust SD (1.4826 MAD) of each
  image coordinate's deviation from the reference reprojected into that view, in units of that
  view's torso length (mid-shoulder to mid-hip, px, of the reprojected reference), over all views
  and frames; ``noise_sd_torso_by_view`` (cams, 33); ``noise_sd_torso_loo`` (33,): the same
  against the reference triangulated WITHOUT the view (leave-one-out: includes the 3-view
  reference's own error, an upper bound where the first is a lower one);
* ``trial``, ``person``, ``heldout`` (True for Demo_SinglePerson: the harness reports it apart).

Usage::

    .venv/bin/python scripts/build_reference.py [--trial Demo_MultiPerson] [--person man] [--force]
    .venv/bin/python scripts/build_reference.py --refined [--force]

``--refined`` writes ``cache_dir() / "reference_refined" / capture_fingerprint() / "<trial>_<person>.npz"``: the same
per-view keypoints triangulated again with the Qualisys calibration's camera orientations refined
(:func:`movekit.analysis.extrinsics.refine_rotations`) on the training trials only (every person
of Demo_MultiPerson) and applied to every trial of the rig; the held-out trial checks it
independently of the fit (leave-one-camera-out reprojection, ``loo_px_*``). The Qualisys
orientations are off by 1-2 deg (cam01/cam03 keypoints 18-37 px to one side of the other views'
triangulation), which the unrefined reference inherits.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from movekit import datasets
from movekit.analysis.cameras import PinholeCamera, read_qualisys_qca
from movekit.analysis.triangulation import MIRROR, SWAP_GROUPS, fix_left_right_swaps, triangulate
from movekit.errors import MovekitError

#: Trials: the dataset of each camera's video, the people (name -> where they stand in the lab at
#: the reference frame, x, y in m, the nearest is taken) and whether the trial is held out.
#: Demo_MultiPerson is Demo_SinglePerson's man with a walking woman added; the person far back
#: (masked, by the wall) is too small for the model and is never found.
TRIALS = {
    "Demo_MultiPerson": {
        "videos": [f"pose2sim_multi_cam0{i}" for i in range(1, 5)],
        "people": {"man": (-1.4, 0.0), "woman": (0.2, -0.4)},
        "heldout": False,
    },
    "Demo_SinglePerson": {
        "videos": [f"pose2sim_single_cam0{i}" for i in range(1, 5)],
        "people": {"man": (-1.4, 0.0)},
        "heldout": True,
    },
}
#: A view's skeleton agrees with the others in a frame when the median reprojection error of its
#: landmarks against the other views' triangulation is under this fraction of its torso length.
AGREE_TORSO = 0.35
MAX_REPROJ_PX = 20.0
#: Folder (under ``movekit.datasets.cache_dir()``) of the references triangulated with the
#: refined camera orientations (``--refined``); the unrefined ones stay in ``reference/``.
REFINED_DIR = "reference_refined"
_TORSO = (11, 12, 23, 24)


def capture_fingerprint() -> str:
    """First 12 hex digits of the SHA-256 of what decides the per-view poses of a reference: the
    source of ``movekit.capture`` (the person follower decides what the pose model sees), this
    script, and the mediapipe and OpenCV versions. References are cached under it, so a change to
    any of them builds new references, as a fresh machine would, instead of reading old ones
    (issue 22's follower changes moved the poses by sub-pixel amounts and three tests passed only
    on the old cache)."""
    import hashlib

    import cv2
    import mediapipe

    import movekit.capture

    h = hashlib.sha256()
    for f in sorted(Path(movekit.capture.__file__).parent.glob("*.py")) + [Path(__file__)]:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    h.update(f"mediapipe {mediapipe.__version__} opencv {cv2.__version__}".encode())
    return h.hexdigest()[:12]


def _model_folder(model_complexity: int) -> str:
    """The cache folder of one pose model's references: the capture fingerprint, with the model's
    complexity after it unless it is the full model (1) the gate's table is built with."""
    return capture_fingerprint() + ("" if model_complexity == 1 else f"-model{model_complexity}")


def reference_dir(model_complexity: int = 1) -> Path:
    """``movekit.datasets.cache_dir() / "reference" / capture_fingerprint()``: the cached references
    of the code at hand (``-model2`` after the fingerprint for the heavy model's)."""
    return datasets.cache_dir() / "reference" / _model_folder(model_complexity)


def reference_path(trial: str, person: str, out_dir: Path | None = None, model_complexity: int = 1) -> Path:
    """Where the reference of ``person`` in ``trial`` is cached (``out_dir`` default:
    :func:`reference_dir` of ``model_complexity``)."""
    return Path(out_dir or reference_dir(model_complexity)) / f"{trial}_{person}.npz"


def _read_frame(path: Path, index: int) -> np.ndarray:
    import cv2

    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = cap.read()
    cap.release()
    if not ok:
        raise MovekitError(f"{path}: cannot read frame {index}")
    return image


def _fit_cameras(cameras: list[PinholeCamera], sizes: list[tuple[int, int]]) -> list[PinholeCamera]:
    """Cameras for videos whose size differs from the calibration's: the principal point is
    moved by half the difference (a centred crop). Demo_SinglePerson's cam01/cam02 are 1080 px
    wide, the calibration's 1088; measured against the same cameras in Demo_MultiPerson (1088 px,
    same man and motion), the leave-one-out x offset of cam01 matches a centred crop (-23.0 vs
    -23.0 px) and that of cam02 lies between no shift and a centred crop (6.2 vs 4.6 and 1.4 px):
    the choice is uncertain by about 4 px, under the model's scatter."""
    out = []
    for cam, (w, h) in zip(cameras, sizes):
        if (w, h) != (cam.width_px, cam.height_px):
            K = cam.K.copy()
            K[0, 2] -= (cam.width_px - w) / 2
            K[1, 2] -= (cam.height_px - h) / 2
            cam = PinholeCamera(cam.name, w, h, K, cam.dist, cam.R, cam.t)
        out.append(cam)
    return out


def find_people_3d(images: list[np.ndarray], cameras: list[PinholeCamera], backend=None) -> list[dict]:
    """People seen consistently by several views in one synchronised set of frames.

    Every combination of one candidate per view (or none) is triangulated; combinations are taken
    best first (most views, then lowest median reprojection error under :data:`MAX_REPROJ_PX`),
    each candidate used once. Returns dicts with ``views`` (candidate index per view or None),
    ``torso_px`` (per view, (2,) torso centre or None), ``hips_lab_m`` and ``reproj_px``.
    """
    from movekit.capture.follow import torso
    from movekit.capture.pose import MediaPipePose

    own = backend is None
    backend = backend or MediaPipePose(1)
    try:
        cands = [backend.find_people(im, max_people=4) for im in images]
    finally:
        if own:
            backend.close()
    options = [[None] + list(range(len(c))) for c in cands]
    scored = []
    for combo in itertools.product(*options):
        views = [c for c, i in enumerate(combo) if i is not None]
        if len(views) < 2:
            continue
        pts = np.stack([cands[c][combo[c]].image_px[None, :, :2] for c in views])
        w = np.stack([cands[c][combo[c]].visibility[None] for c in views])
        X, err, n = triangulate(pts, w, [cameras[c] for c in views], max_reproj_px=1e9)
        med = float(np.nanmedian(err)) if np.isfinite(err).any() else np.inf
        if med < MAX_REPROJ_PX:
            scored.append((-len(views), med, combo, X[0]))
    scored.sort(key=lambda s: (s[0], s[1]))
    people, taken = [], set()
    for _, med, combo, X in scored:
        if any((c, i) in taken for c, i in enumerate(combo) if i is not None):
            continue
        taken.update((c, i) for c, i in enumerate(combo) if i is not None)
        people.append(
            {
                "views": combo,
                "reproj_px": med,
                "hips_lab_m": np.nanmean(X[[23, 24]], axis=0),
                "torso_px": [None if i is None else torso(cands[c][i].image_px)[0] for c, i in enumerate(combo)],
            }
        )
    return people


def relabelled(image_px: np.ndarray, swapped: np.ndarray) -> np.ndarray:
    """``image_px (cams, frames, 33, 2)`` with the left/right relabelling ``swapped (cams, frames,
    groups)`` of :func:`fix_left_right_swaps` applied."""
    out = np.array(image_px, np.float64)
    for g, idx in enumerate(SWAP_GROUPS.values()):
        c, f = np.nonzero(swapped[..., g])
        out[c[:, None], f[:, None], idx] = image_px[c[:, None], f[:, None], MIRROR[idx]]
    return out


def _torso_px(points: np.ndarray) -> np.ndarray:
    """Torso length (px) per frame of ``(..., 33, 2)``: mid-shoulder to mid-hip."""
    return np.linalg.norm(points[..., 11:13, :].mean(axis=-2) - points[..., 23:25, :].mean(axis=-2), axis=-1)


def _quiet(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` without NumPy's all-NaN-slice warnings (NaN is the answer there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _robust_sd(x: np.ndarray, axis) -> np.ndarray:
    """1.4826 x median absolute deviation (the SD of a normal distribution), NaN ignored."""
    med = _quiet(np.nanmedian, x, axis=axis, keepdims=True)
    return 1.4826 * _quiet(np.nanmedian, np.abs(x - med), axis=axis)


def _agreement(pts: np.ndarray, w: np.ndarray, cameras: list[PinholeCamera]) -> np.ndarray:
    """(cams, frames): median reprojection error of each view's skeleton against the other views'
    triangulation, in the view's torso lengths."""
    C = len(cameras)
    out = np.full(pts.shape[:2], np.nan)
    for c in range(C):
        others = [o for o in range(C) if o != c]
        X, _, _ = triangulate(pts[others], w[others], [cameras[o] for o in others], max_reproj_px=MAX_REPROJ_PX)
        proj = cameras[c].project(X)
        err = np.linalg.norm(proj - pts[c], axis=-1)
        err[~(w[c] >= 0.5)] = np.nan
        out[c] = _quiet(np.nanmedian, err, axis=1) / _torso_px(proj)
    return out


def _reference_points(image_px: np.ndarray, vis: np.ndarray, cameras: list[PinholeCamera]) -> dict:
    """The four-view triangulation of the reference and the pose model's 2D noise against it.

    Left/right labels are made consistent across views first (a mirrored skeleton disagrees
    with the others as much as somebody else's); then views that still disagree with the others
    in a frame (following somebody else, or badly wrong) are not used there.

    Returns ``points_lab_m``, ``reproj_err_px``, ``n_views``, ``swapped``, ``used`` and the noise
    figures ``noise_sd_torso``, ``noise_sd_torso_by_view``, ``noise_sd_torso_loo`` (see the
    module docstring).
    """
    C = len(cameras)
    pts_fixed, w_fixed, swapped = fix_left_right_swaps(
        image_px, np.nan_to_num(vis), cameras, max_reproj_px=MAX_REPROJ_PX
    )
    agree = _agreement(pts_fixed, w_fixed, cameras)
    used = ~(agree >= AGREE_TORSO)  # NaN (the others cannot tell) counts as agreeing
    w_fixed = np.where(used[..., None], w_fixed, 0.0)
    X, err, n = triangulate(pts_fixed, w_fixed, cameras, max_reproj_px=MAX_REPROJ_PX)

    # MediaPipe's 2D noise against the reference, in torso lengths of each view
    proj = np.stack([cam.project(X) for cam in cameras])
    torso = _torso_px(proj)[..., None, None]
    dev = (pts_fixed - proj) / torso
    dev[~(w_fixed >= 0.5)] = np.nan
    by_view = _robust_sd(dev.transpose(0, 2, 1, 3).reshape(C, 33, -1), axis=2)
    noise = _robust_sd(dev.transpose(2, 0, 1, 3).reshape(33, -1), axis=1)
    dev_loo = np.full_like(dev, np.nan)
    for c in range(C):
        others = [o for o in range(C) if o != c]
        Xo, _, _ = triangulate(
            pts_fixed[others], w_fixed[others], [cameras[o] for o in others], max_reproj_px=MAX_REPROJ_PX
        )
        po = cameras[c].project(Xo)
        dev_loo[c] = (pts_fixed[c] - po) / _torso_px(po)[:, None, None]
    dev_loo[~(w_fixed >= 0.5)] = np.nan
    noise_loo = _robust_sd(dev_loo.transpose(2, 0, 1, 3).reshape(33, -1), axis=1)

    return {
        "points_lab_m": X,
        "reproj_err_px": err,
        "n_views": n,
        "swapped": swapped,
        "used": used,
        "noise_sd_torso": noise,
        "noise_sd_torso_by_view": by_view,
        "noise_sd_torso_loo": noise_loo,
    }


def _save(path: Path, arrays: dict) -> None:
    """``arrays`` written to ``path`` (.npz) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def build_reference(
    trial: str = "Demo_MultiPerson",
    person: str = "man",
    *,
    force: bool = False,
    ref_frame: int = 0,
    verbose: bool = True,
    out_dir: Path | None = None,
    model_complexity: int = 1,
) -> dict:
    """Reference for ``person`` in ``trial`` (see the module docstring); cached as ``.npz`` in
    ``out_dir`` (default :func:`reference_dir`), and returned from there
    unless ``force``. ``ref_frame``: the frame in which the people are found and told apart.
    ``model_complexity``: the pose model run on every view (1 full, shipped; 2 heavy, fetched by
    :func:`movekit.capture.pose.ensure_model`); the people are found with the full model either way.

    Returns the arrays saved (a dict), plus ``path`` and ``timing_s``.
    """
    from movekit.capture.pipeline import capture_in_memory

    if trial not in TRIALS:
        raise MovekitError(f"unknown trial {trial!r}; known: {', '.join(TRIALS)}")
    spec = TRIALS[trial]
    if person not in spec["people"]:
        raise MovekitError(f"unknown person {person!r} in {trial}; known: {', '.join(spec['people'])}")
    path = reference_path(trial, person, out_dir, model_complexity)
    if path.exists() and not force:
        z = np.load(path, allow_pickle=False)
        return {**{k: z[k] for k in z.files}, "path": path}
    say = print if verbose else (lambda *a, **k: None)
    t0 = time.perf_counter()
    videos = [datasets.fetch(n) for n in spec["videos"]]
    frames0 = [_read_frame(v, ref_frame) for v in videos]
    sizes = [(im.shape[1], im.shape[0]) for im in frames0]
    calib = read_qualisys_qca(datasets.fetch("pose2sim_qca_calibration"))
    cameras = _fit_cameras(calib, sizes)
    people = find_people_3d(frames0, cameras)
    if not people:
        raise MovekitError(f"{trial}: nobody seen consistently by two or more views in frame {ref_frame}")
    want = np.asarray(spec["people"][person], np.float64)
    who = min(people, key=lambda p: float(np.linalg.norm(p["hips_lab_m"][:2] - want)))
    say(
        f"{trial}: {len(people)} people in frame {ref_frame} "
        + "; ".join(
            f"hips at ({p['hips_lab_m'][0]:.2f}, {p['hips_lab_m'][1]:.2f}) m in {sum(v is not None for v in p['views'])} "
            f"views, {p['reproj_px']:.1f} px"
            for p in people
        )
        + f"; {person} is the one at "
        f"({who['hips_lab_m'][0]:.2f}, {who['hips_lab_m'][1]:.2f})"
    )
    t_find = time.perf_counter() - t0

    series, times = [], []
    for c, video in enumerate(videos):
        t1 = time.perf_counter()
        at = who["torso_px"][c]
        if at is None:
            raise MovekitError(f"{trial}: {person} not found in {cameras[c].name} in frame {ref_frame}")
        rec = capture_in_memory(video, model_complexity, person=f"{at[0]:.0f},{at[1]:.0f}")
        series.append(rec.pose())
        times.append(time.perf_counter() - t1)
    F = min(len(s.t_s) for s in series)
    image_px = np.stack([s.image_px[:F, :, :2] for s in series]).astype(np.float64)
    vis = np.stack([s.visibility[:F] for s in series]).astype(np.float64)
    world = np.stack([s.world_m[:F] for s in series]).astype(np.float64)
    t_s = np.asarray(series[0].t_s[:F], np.float64)

    tri = _reference_points(image_px, vis, cameras)
    pitch_roll = np.array([cam.pitch_roll_deg for cam in cameras])
    out = {
        "t_s": t_s,
        "points_lab_m": tri["points_lab_m"],
        "reproj_err_px": tri["reproj_err_px"],
        "n_views": tri["n_views"],
        "image_px": image_px,
        "visibility": vis,
        "world_m": world,
        "swapped": tri["swapped"],
        "used": tri["used"],
        "K": np.stack([c.K for c in cameras]),
        "dist": np.stack([c.dist for c in cameras]),
        "R": np.stack([c.R for c in cameras]),
        "t": np.stack([c.t for c in cameras]),
        "size_px": np.array([(c.width_px, c.height_px) for c in cameras]),
        "calibration_size_px": np.array([(c.width_px, c.height_px) for c in calib]),
        "camera_names": np.array([c.name for c in cameras]),
        "pitch_deg": pitch_roll[:, 0],
        "roll_deg": pitch_roll[:, 1],
        "noise_sd_torso": tri["noise_sd_torso"],
        "noise_sd_torso_by_view": tri["noise_sd_torso_by_view"],
        "noise_sd_torso_loo": tri["noise_sd_torso_loo"],
        "trial": np.array(trial),
        "person": np.array(person),
        "heldout": np.array(bool(spec["heldout"])),
        "model_complexity": np.array(model_complexity),
    }
    _save(path, out)
    timing = {"find_people_s": t_find, "pose_per_view_s": times, "total_s": time.perf_counter() - t0}
    out.update(path=path, timing_s=timing)
    if verbose:
        print(summary_text(out))
    return out


# ----------------------------------------------------------------------------- refined reference


def refined_reference_path(trial: str, person: str, out_dir: Path | None = None, model_complexity: int = 1) -> Path:
    """Where the refined reference of ``person`` in ``trial`` is cached (``out_dir`` default:
    ``movekit.datasets.cache_dir() / "reference_refined" / capture_fingerprint()``: apart from the
    references others measure against; ``-model2`` after it for the heavy model's)."""
    default = datasets.cache_dir() / REFINED_DIR / _model_folder(model_complexity)
    return reference_path(trial, person, Path(out_dir or default))


def cameras_of(ref: dict) -> list[PinholeCamera]:
    """The cameras stored in a reference (its own crop of the calibration)."""
    return [
        PinholeCamera(
            str(nm),
            int(ref["size_px"][c][0]),
            int(ref["size_px"][c][1]),
            ref["K"][c],
            ref["dist"][c],
            ref["R"][c],
            ref["t"][c],
        )
        for c, nm in enumerate(ref["camera_names"])
    ]


def reference_inputs(ref: dict) -> tuple[np.ndarray, np.ndarray, list[PinholeCamera]]:
    """A reference's own triangulation inputs: points (cams, frames, 33, 2, px) with the
    left/right labels fixed across views, weights (cams, frames, 33; 0 in views it did not use)
    and its cameras."""
    cams = cameras_of(ref)
    P = relabelled(ref["image_px"], ref["swapped"])
    W = np.where(ref["used"][..., None], np.nan_to_num(ref["visibility"]), 0.0)
    return P, W, cams


def fit_refinement(force: bool = False, verbose: bool = False, model_complexity: int = 1):
    """The rig's orientation refinement (:func:`movekit.analysis.extrinsics.refine_rotations`)
    fitted on every person of the TRAINING trials only (:data:`TRIALS`, ``heldout`` False), from
    the cached unrefined references (built when missing). Returns the
    :class:`~movekit.analysis.extrinsics.RotationRefinement` and the names fitted on."""
    from movekit.analysis.extrinsics import refine_rotations

    names, P, W, cams = [], [], [], None
    for trial, spec in TRIALS.items():
        if spec["heldout"]:
            continue
        for person in spec["people"]:
            ref = build_reference(trial, person, force=force, verbose=verbose, model_complexity=model_complexity)
            p, w, c = reference_inputs(ref)
            P.append(p)
            W.append(w)
            cams = cams or c
            names.append(f"{trial}_{person}")
    return refine_rotations(P, W, cams), names


def build_refined_reference(
    trial: str = "Demo_SinglePerson",
    person: str = "man",
    *,
    force: bool = False,
    out_dir: Path | None = None,
    refinement=None,
    model_complexity: int = 1,
) -> dict:
    """The reference of ``person`` in ``trial`` triangulated again with the camera orientations
    refined (:func:`fit_refinement`, fitted on the training trials only, applied to every trial
    of the rig with :func:`~movekit.analysis.extrinsics.rotate_cameras`). The pose model is not
    run again: the unrefined reference's per-view keypoints are reused (its left/right labels and
    used views are decided again with the refined cameras). Cached in ``out_dir`` (default
    :func:`refined_reference_path`); the unrefined reference is never touched.

    Besides the arrays of :func:`build_reference`: ``refined_rotvec_rad`` (cams, 3),
    ``refined_correction_deg`` (cams,), ``refined_on`` (the training references), and the
    independent check ``loo_px_unrefined`` / ``loo_px_refined`` (cams,): median distance (px)
    between each camera's keypoints and the other three cameras' triangulation reprojected into it,
    on this trial's own inputs, with the Qualisys and the refined orientations.
    """
    from movekit.analysis.extrinsics import loo_reprojection_px, rotate_cameras

    path = refined_reference_path(trial, person, out_dir, model_complexity)
    if path.exists() and not force:
        z = np.load(path, allow_pickle=False)
        return {**{k: z[k] for k in z.files}, "path": path}
    base = build_reference(trial, person, verbose=False, model_complexity=model_complexity)
    fit, names = refinement or fit_refinement(model_complexity=model_complexity)
    P, W, cams = reference_inputs(base)
    new = rotate_cameras(cams, fit.rotvec_rad)
    out = {k: v for k, v in base.items() if k not in ("path", "timing_s")}
    out.update(_reference_points(base["image_px"], base["visibility"], new))
    out.update(
        R=np.stack([c.R for c in new]),
        t=np.stack([c.t for c in new]),
        refined_rotvec_rad=np.asarray(fit.rotvec_rad),
        refined_correction_deg=np.asarray(fit.correction_deg),
        refined_on=np.array(names),
        loo_px_unrefined=loo_reprojection_px(P, W, cams),
        loo_px_refined=loo_reprojection_px(P, W, new),
    )
    pitch_roll = np.array([cam.pitch_roll_deg for cam in new])
    out.update(pitch_deg=pitch_roll[:, 0], roll_deg=pitch_roll[:, 1])
    _save(path, out)
    out["path"] = path
    return out


def summary_text(ref: dict) -> str:
    """Per view and overall: frames used, reprojection error, views per landmark, camera tilt, noise."""
    from movekit.capture.pipeline import LANDMARK_NAMES

    X, err, n = ref["points_lab_m"], ref["reproj_err_px"], ref["n_views"]
    names = [str(s) for s in ref["camera_names"]]
    F = len(ref["t_s"])
    lines = [
        f"== {ref['trial']} / {ref['person']}{' (HELD OUT)' if bool(ref['heldout']) else ''}: {F} frames, "
        f"{np.isfinite(X[..., 0]).mean():.1%} of landmarks triangulated; reprojection error median "
        f"{np.nanmedian(err):.1f} px, 95th pct {np.nanpercentile(err, 95):.1f} px; views per landmark "
        + ", ".join(f"{k}: {np.mean(n == k):.0%}" for k in range(len(names) + 1) if np.any(n == k))
    ]
    mean_n = n.mean(axis=0)
    lines.append(
        "   mean views per landmark: "
        + ", ".join(
            f"{LANDMARK_NAMES[i]} {mean_n[i]:.1f}" for i in (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 31, 32)
        )
    )
    feet = _quiet(np.nanmin, X[:, 27:33, 2], axis=1)
    head = _quiet(np.nanmax, X[:, :11, 2], axis=1)
    lines.append(
        f"   lowest foot point z median {np.nanmedian(feet):.3f} m (floor z = 0); head top z median "
        f"{np.nanmedian(head):.2f} m, max {np.nanmax(head):.2f} m"
    )
    cams = [
        PinholeCamera(nm, *ref["size_px"][c], ref["K"][c], ref["dist"][c], ref["R"][c], ref["t"][c])
        for c, nm in enumerate(names)
    ]
    fixed = relabelled(ref["image_px"], ref["swapped"])
    swapped_any = ref["swapped"].any(axis=2)
    for c, nm in enumerate(names):
        proj = cams[c].project(X)
        seen = ref["visibility"][c] >= 0.5
        e0 = np.linalg.norm(proj - ref["image_px"][c], axis=-1)[seen]
        e1 = np.linalg.norm(proj - fixed[c], axis=-1)[seen & ref["used"][c][:, None]]
        lines.append(
            f"   {nm}: pitch {ref['pitch_deg'][c]:5.1f} deg, roll {ref['roll_deg'][c]:6.1f} deg; frames used "
            f"{int(ref['used'][c].sum())}/{F}, left/right relabelled in {int(swapped_any[c].sum())}; "
            f"MediaPipe (visibility >= 0.5) vs reference: as given median {np.nanmedian(e0):.1f} px, 95th pct "
            f"{np.nanpercentile(e0, 95):.1f} px; relabelled, used frames median {np.nanmedian(e1):.1f} px, "
            f"95th pct {np.nanpercentile(e1, 95):.1f} px"
        )
    noise = ref["noise_sd_torso"]
    lines.append("   2D noise, robust SD in torso lengths (all views; leave-one-out in brackets):")
    row = []
    for i, nm in enumerate(LANDMARK_NAMES):
        row.append(f"{nm} {noise[i]:.3f} ({ref['noise_sd_torso_loo'][i]:.3f})")
    for k in range(0, 33, 4):
        lines.append("     " + "; ".join(row[k : k + 4]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trial", choices=list(TRIALS), help="one trial (default: all)")
    ap.add_argument("--person", help="one person (default: all of the trial's)")
    ap.add_argument("--force", action="store_true", help="rebuild even when cached")
    ap.add_argument(
        "--refined",
        action="store_true",
        help=f"triangulate again with the camera orientations refined on the training trials, into "
        f"cache_dir()/{REFINED_DIR}/ (the unrefined references are built if missing, never replaced)",
    )
    ap.add_argument(
        "--model-complexity",
        type=int,
        choices=(1, 2),
        default=1,
        help="pose model run on every view: 1 full (default; the gate's table), 2 heavy (fetched from the npm "
        "registry), cached apart",
    )
    a = ap.parse_args(argv)
    if a.refined:
        return _main_refined(a)
    try:
        for trial in [a.trial] if a.trial else list(TRIALS):
            for person in [a.person] if a.person else list(TRIALS[trial]["people"]):
                t0 = time.perf_counter()
                ref = build_reference(trial, person, force=a.force, verbose=False, model_complexity=a.model_complexity)
                print(summary_text(ref))
                timing = ref.get("timing_s")
                print(
                    f"   {ref['path']} ({time.perf_counter() - t0:.1f} s"
                    + (
                        f"; pose per view {', '.join(f'{t:.1f}' for t in timing['pose_per_view_s'])} s"
                        if timing
                        else ", cached"
                    )
                    + ")"
                )
    except MovekitError as exc:
        print(f"build_reference: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _main_refined(a) -> int:
    """``--refined``: the refinement fitted once, every (chosen) reference triangulated with it."""
    try:
        fit = fit_refinement(model_complexity=a.model_complexity)
        print(
            f"refinement fitted on {', '.join(fit[1])}: "
            + ", ".join(f"{c.name} {d:.2f} deg" for c, d in zip(fit[0].cameras, fit[0].correction_deg))
        )
        for trial in [a.trial] if a.trial else list(TRIALS):
            for person in [a.person] if a.person else list(TRIALS[trial]["people"]):
                ref = build_refined_reference(
                    trial, person, force=a.force, refinement=fit, model_complexity=a.model_complexity
                )
                print(summary_text(ref))
                print(
                    "   leave-one-camera-out px (three views reprojected into the fourth), Qualisys -> refined: "
                    + ", ".join(
                        f"{nm} {u:.1f} -> {r:.1f}"
                        for nm, u, r in zip(ref["camera_names"], ref["loo_px_unrefined"], ref["loo_px_refined"])
                    )
                    + f"\n   {ref['path']}"
                )
    except MovekitError as exc:
        print(f"build_reference: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
