"""Where the two-camera angle error comes from (issue 17), on the real Pose2Sim rig.

For every cached reference of scripts/build_reference.py (Pose2Sim 0.10.49's four calibrated
views; Demo_SinglePerson held out) this decomposes the error of knee, hip and elbow flexion from
each pair of cameras (:func:`movekit.analysis.multiview.triangulate_views`, ``angles_3d``) against
the four-view reference:

* per series: bias (mean signed error) and the rest (SD);
* per frame: against the views' visibility, the pair's reprojection residual, each view's 2D
  detection error against the reference reprojected, the reference's left/right relabelling, the
  limb's angle to the viewing rays and the angle between the two rays;
* the calibration: each camera's keypoints against the other cameras' triangulation
  (leave-one-out, px, mean signed x/y: a constant offset is an orientation error, not noise);
* sync: the shift (frames) of one camera that best fits the other three;
* the reference itself: three views (leave one out) against four, and the pairs against the
  reference's frames where each landmark of the angle was triangulated from three or more views.

Per-frame checks that could refuse a pair's bad frames (``--frame-checks``, refined calibration
against the refined reference): the angle's standard deviation predicted from the two rays'
geometry (2D noise of 3 % of each view's torso length propagated through the triangulation),
the pair's reprojection residual, the pair's own limb-length deviation from its median over the
take, and the reference's. Their rank correlation with the error, the error by bin, and the
median / worst pair after refusing the frames over each threshold.

Then it refines the calibration's camera orientations from the keypoints of the TRAINING trials
only (scripts/build_reference.py ``fit_refinement``) and reports the table angle x separation band
(median and worst pair MAE: the gate takes the worst) with the Qualisys and the refined
orientations, with and without the constant-length skeleton fit (``triangulate_views(...,
skeleton=True)``), against the reference as built and the refined reference of
``scripts/build_reference.py --refined`` (built when missing). Numbers in the report of issue 17;
runs in about 25 s on this machine.

With ``--model-complexity 2`` every reference, pair and refinement comes from MediaPipe's heavy
pose model instead of the full one (the references of ``scripts/build_reference.py
--model-complexity 2``, built when missing: about 30 s each).

Usage: .venv/bin/python scripts/diagnose_multiview.py [--frame-checks] [--model-complexity 2]
"""

from __future__ import annotations

import itertools
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_reference as BR  # noqa: E402
import validate_angles as VA  # noqa: E402

from movekit.analysis.error_model import POSE_MODELS  # noqa: E402
from movekit.analysis.extrinsics import loo_reprojection_px, rotate_cameras  # noqa: E402
from movekit.analysis.multiview import _at_times, angles_3d, separation_deg, triangulate_views  # noqa: E402
from movekit.analysis.pipeline import unswap_left_right  # noqa: E402
from movekit.analysis.triangulation import fix_left_right_swaps, triangulate  # noqa: E402
from movekit.analysis.view import trunk_length_px  # noqa: E402

NAMES = VA.MULTIVIEW_NAMES[:6]
BANDS = [(0, 60), (60, 120), (120, 181)]
JOINTS = {"knee": (23, 25, 27), "hip": (11, 23, 25), "elbow": (11, 13, 15)}
MOVING = [13, 14, 15, 16, 25, 26, 27, 28]


def landmarks_of(name: str) -> list[int]:
    """The three MediaPipe landmarks (proximal, joint, distal) of a flexion angle."""
    side = 0 if name.startswith("left") else 1
    return [i + side for i in JOINTS[name.split("_")[1]]]


def prepared(ref: dict, z) -> tuple[np.ndarray, np.ndarray, list]:
    """The reference's own inputs: labels fixed across the four views, disagreeing views unused."""
    cams = [c["camera"] for c in ref["cameras"]]
    P, W, _ = fix_left_right_swaps(z["image_px"], np.nan_to_num(z["visibility"]), cams)
    return P, np.where(z["used"][..., None], W, 0.0), cams


def reference_lab(P, W, cams) -> np.ndarray:
    """Four-view reference (m) triangulated from ``P``, ``W`` (:func:`prepared`) with ``cams``,
    implausible frames NaN (tests/test_multiview.py; the tables read the refined references of
    scripts/build_reference.py --refined, whose labels and used views are decided again)."""
    X, _, n = triangulate(P, W, cams)
    X[VA.implausible_frames(X, n)] = np.nan
    return X


def pair_series(ref: dict, cams: list, truth: dict, combo, skeleton: bool = False) -> list[dict]:
    """Per angle of one camera combination: errors (deg, per frame) and MAE against ``truth``
    (``skeleton``: the constant-length skeleton fit of ``triangulate_views``)."""
    cs = [ref["cameras"][i] for i in combo]
    tp = triangulate_views(
        [ref["t_s"]] * len(cs),
        [c["image_px"] for c in cs],
        [c["visibility"] for c in cs],
        [cams[i] for i in combo],
        skeleton=skeleton,
    )
    ang = angles_3d(tp)
    out = []
    for k in NAMES:
        e = ang[k] - truth[k]
        ok = np.isfinite(e)
        if ok.sum() < max(10, 0.5 * np.isfinite(truth[k]).sum()):
            continue
        out.append(dict(combo=combo, angle=k, err=e, mae=float(np.abs(e[ok]).mean()), frames=int(ok.sum())))
    return out


def from_three_views(truth: dict, n_views: np.ndarray) -> dict:
    """``truth`` with each flexion angle NaN in the frames where the reference triangulated one of
    its three landmarks from two views only: there the "four-view" reference is itself a pair
    (another, or the very pair measured against it)."""
    out = dict(truth)
    for k in NAMES:
        out[k] = np.where(np.asarray(n_views)[:, landmarks_of(k)].min(axis=1) >= 3, truth[k], np.nan)
    return out


def band_table(rows: list[dict]) -> dict:
    """(angle, band) -> (median MAE, worst pair's MAE (the gate's statistic), series, frames)."""
    out = {}
    for k in NAMES + ["all"]:
        for lo, hi in BANDS:
            sel = [r for r in rows if (k == "all" or r["angle"] == k) and lo <= r["sep"] < hi]
            if sel:
                m = [r["mae"] for r in sel]
                out[k, lo] = (float(np.median(m)), float(np.max(m)), len(sel), sum(r["frames"] for r in sel))
    return out


def per_frame_factors(ref, z, cams, rows) -> list[tuple]:
    """(|error|, min visibility, detection error px, relabelled, limb-to-ray deg, ray angle deg)."""
    lab = ref["lab_m"]
    out = []
    for r in rows:
        c2 = [cams[i] for i in r["combo"]]
        L = landmarks_of(r["angle"])
        P = [
            unswap_left_right(ref["cameras"][i]["image_px"], np.nan_to_num(ref["cameras"][i]["visibility"]))
            for i in r["combo"]
        ]
        vis = np.min([p[1][:, L].min(axis=1) for p in P], axis=0)
        det = np.max(
            [np.linalg.norm(c.project(lab[:, L]) - p[0][:, L], axis=-1).max(axis=1) for c, p in zip(c2, P)], axis=0
        )
        sw = z["swapped"][list(r["combo"])].any(axis=(0, 2))
        joint = lab[:, L[1]]
        rays = [joint - c.centre_m for c in c2]
        to_ray = []
        for ray in rays:
            for seg in (lab[:, L[0]] - joint, lab[:, L[2]] - joint):
                cos = np.abs((seg * ray).sum(1)) / np.linalg.norm(seg, axis=1) / np.linalg.norm(ray, axis=1)
                to_ray.append(np.degrees(np.arccos(np.clip(cos, 0, 1))))
        cos = (rays[0] * rays[1]).sum(1) / np.linalg.norm(rays[0], axis=1) / np.linalg.norm(rays[1], axis=1)
        tri = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        fo = np.min(to_ray, axis=0)
        for f in np.flatnonzero(np.isfinite(r["err"])):
            out.append((abs(r["err"][f]), vis[f], det[f], sw[f], fo[f], tri[f]))
    return out


def factor_lines(recs: list[tuple]) -> list[str]:
    E = np.array([x[0] for x in recs])
    L = [
        f"Per frame ({E.size} pair x angle frames, original calibration): MAE {E.mean():.1f}, median {np.median(E):.1f} deg",
        "",
    ]
    L += ["| factor | bin | frames | share | MAE deg | share of abs error |", "|---|---|---|---|---|---|"]
    spec = [
        ("min visibility (3 landmarks x 2 views)", 1, [0, 0.8, 0.9, 0.95, 1.01]),
        ("2D detection error vs reference reprojected (px, worst of 3 x 2)", 2, [0, 10, 20, 40, 80, 1e9]),
        ("reference relabelled left/right in a view (0/1)", 3, [0, 0.5, 1.5]),
        ("limb segment to viewing ray (deg, smallest)", 4, [0, 30, 45, 60, 91]),
        ("angle between the two rays (deg)", 5, [0, 60, 90, 120, 150, 181]),
    ]
    for name, j, edges in spec:
        x = np.array([r[j] for r in recs], dtype=float)
        for lo, hi in zip(edges[:-1], edges[1:]):
            m = (x >= lo) & (x < hi)
            if m.any():
                L.append(
                    f"| {name} | {lo:g}-{hi:g} | {m.sum()} | {100 * m.mean():.0f} % | {E[m].mean():.1f} | {100 * E[m].sum() / E.sum():.0f} % |"
                )
    return L + [""]


def calibration_lines(name, P, W, cams, t_s) -> list[str]:
    """Leave-one-out offsets (px) and the best sync shift (frames) per camera."""
    L = []
    for c, cam in enumerate(cams):
        others = [o for o in range(len(cams)) if o != c]
        X, _, _ = triangulate(P[others], W[others], [cams[o] for o in others])
        d = P[c] - cam.project(X)
        d = d[W[c] >= 0.5]
        d = d[np.isfinite(d).all(axis=1)]
        errs = {}
        for shift in np.arange(-3, 3.01, 0.5):
            pc = _at_times(t_s + shift / 60.0, P[c], t_s)
            e = np.linalg.norm(pc[:, MOVING] - cam.project(X[:, MOVING]), axis=-1)[W[c][:, MOVING] >= 0.5]
            errs[float(shift)] = float(np.nanmedian(e))
        best = min(errs, key=errs.get)
        L.append(
            f"| {name} | {cam.name} | {np.median(np.linalg.norm(d, axis=1)):.1f} | {d[:, 0].mean():+.1f}, {d[:, 1].mean():+.1f} "
            f"| {best:+.1f} ({errs[best]:.1f} vs {errs[0.0]:.1f} px at 0) |"
        )
    return L


def point_covariance(X, cams, noise_px) -> np.ndarray:
    """(frames, 3, 3) m^2: covariance of triangulated points ``X`` (frames, 3) when each view
    ``c`` sees them with isotropic 2D noise ``noise_px[c]`` (frames,) px (first-order, pinhole
    Jacobian of each projection; Hartley & Zisserman 2004, sec. 5.2)."""
    info = np.zeros((len(X), 3, 3))
    for cam, sd in zip(cams, noise_px):
        Xc = X @ cam.R.T + cam.t
        z = Xc[:, 2]
        J = np.zeros((len(X), 2, 3))
        J[:, 0, 0] = J[:, 1, 1] = 1.0
        J[:, 0, 2], J[:, 1, 2] = -Xc[:, 0] / z, -Xc[:, 1] / z
        J = (np.sqrt(cam.K[0, 0] * cam.K[1, 1]) / z)[:, None, None] * (J @ cam.R)
        info += np.einsum("fij,fik->fjk", J, J) / (sd**2)[:, None, None]
    with np.errstate(all="ignore"):
        return np.linalg.inv(info)


def angle_sd_deg(A, J, B, cov_a, cov_j, cov_b) -> np.ndarray:
    """(frames,) deg: first-order SD of the angle A-J-B from its three points' covariances."""
    u, v = A - J, B - J
    nu, nv = np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1)
    uh, vh = u / nu[:, None], v / nv[:, None]
    c = (uh * vh).sum(1)
    s = np.sqrt(np.clip(1 - c**2, 1e-6, None))
    gu = -(vh - c[:, None] * uh) / (nu * s)[:, None]
    gv = -(uh - c[:, None] * vh) / (nv * s)[:, None]
    gj = -(gu + gv)
    var = sum(np.einsum("fi,fij,fj->f", g, cv, g) for g, cv in ((gu, cov_a), (gv, cov_b), (gj, cov_j)))
    return np.degrees(np.sqrt(var))


def _limb_deviation(X, L) -> np.ndarray:
    """(frames,) the larger relative deviation of the angle's two segments from their median length."""
    seg = [np.linalg.norm(X[:, L[0]] - X[:, L[1]], axis=1), np.linalg.norm(X[:, L[2]] - X[:, L[1]], axis=1)]
    return np.nanmax([np.abs(s / np.nanmedian(s) - 1) for s in seg], axis=0)


def frame_check_rows(
    refs, zs, prep, fit, refit, *, refined_calibration: bool = True, model_complexity: int = 1
) -> list[dict]:
    """Per pair x flexion angle: per-frame error (deg) and the four checks of the module
    docstring; refined calibration against the refined reference, or (``refined_calibration``
    False) the Qualisys calibration against the reference as built."""
    rows = []
    for r, z, (_, _, cams) in zip(refs, zs, prep):
        new = rotate_cameras(cams, fit.rotvec_rad) if refined_calibration else cams
        refined = (
            VA.load_reference(
                BR.build_refined_reference(
                    str(z["trial"]), str(z["person"]), refinement=refit, model_complexity=model_complexity
                )["path"]
            )
            if refined_calibration
            else r
        )
        truth = VA.truth_angles(refined["lab_m"])
        hip = np.nanmean(0.5 * (r["lab_m"][:, 23] + r["lab_m"][:, 24]), axis=0)
        for combo in itertools.combinations(range(len(cams)), 2):
            cs, cc = [r["cameras"][i] for i in combo], [new[i] for i in combo]
            tp = triangulate_views([r["t_s"]] * 2, [c["image_px"] for c in cs], [c["visibility"] for c in cs], cc)
            ang = angles_3d(tp)
            torso = []
            for c in cs:
                d = trunk_length_px(c["image_px"])
                torso.append(np.nan_to_num(d, nan=float(np.nanmedian(d))))
            torso = np.array(torso)
            X = tp.points_m
            for k in NAMES:
                L = landmarks_of(k)
                cov = [point_covariance(np.nan_to_num(X[:, i]), cc, 0.03 * torso) for i in L]
                rows.append(
                    dict(
                        subject=r["name"], heldout=bool(r["heldout"]), combo=combo, angle=k,
                        sep=separation_deg(cc[0], cc[1], hip), err=ang[k] - truth[k],
                        sd=angle_sd_deg(X[:, L[0]], X[:, L[1]], X[:, L[2]], *cov),
                        reproj=np.nanmax(tp.reproj_px[:, L], axis=1) / np.median(torso, axis=0),
                        limb=_limb_deviation(X, L), ref_limb=_limb_deviation(refined["lab_m"], L),
                    )
                )  # fmt: skip
    return rows


def frame_check_lines(rows: list[dict]) -> list[str]:
    """The report of :func:`frame_check_rows`: rank correlation, error by bin, gated pair table."""
    from scipy.stats import spearmanr

    checks = {
        "predicted SD (deg, 3 % torso 2D noise)": ("sd", [0, 5, 7, 9, 1e9]),
        "reprojection residual (torso lengths)": ("reproj", [0, 0.02, 0.04, 0.06, 1e9]),
        "pair's limb-length deviation": ("limb", [0, 0.05, 0.1, 0.15, 1e9]),
        "reference's limb-length deviation": ("ref_limb", [0, 0.05, 0.1, 0.15, 1e9]),
    }
    E = np.abs(np.concatenate([r["err"] for r in rows]))
    L = ["## Per-frame checks for a pair (refined calibration, refined reference)", ""]
    L += ["| check | rank corr. with abs error | bin | frames | MAE deg | median deg |", "|---|---|---|---|---|---|"]
    for name, (key, edges) in checks.items():
        x = np.concatenate([r[key] for r in rows])
        ok = np.isfinite(E) & np.isfinite(x)
        rho = spearmanr(E[ok], x[ok]).correlation
        for lo, hi in zip(edges[:-1], edges[1:]):
            m = ok & (x >= lo) & (x < hi)
            if m.any():
                L.append(
                    f"| {name} | {rho:.2f} | {lo:g}-{hi:g} | {m.sum()} | {E[m].mean():.1f} | {np.median(E[m]):.1f} |"
                )
    L += [
        "",
        "Frames over a threshold refused: share of frames kept, median / worst pair MAE (deg), all separations and 60-120 deg (training; held out):",
        "",
    ]
    L += ["| refused where | kept | all: median / worst | 60-120: median / worst |", "|---|---|---|---|"]
    tried = [("nothing", None, None)] + [
        (f"{name.split(' (')[0]} > {th:g}", k, th) for name, (k, _) in checks.items() for th in edges_of(k)
    ]
    for label, key, th in tried:
        cells = []
        for held in (False, True):
            mae, sep, n, tot = [], [], 0, 0
            for r in rows:
                if r["heldout"] != held:
                    continue
                ok = np.isfinite(r["err"])
                keep = ok if key is None else ok & (np.nan_to_num(r[key], nan=np.inf) <= th)
                n, tot = n + keep.sum(), tot + ok.sum()
                if keep.sum() >= 15:
                    mae.append(float(np.abs(r["err"][keep]).mean()))
                    sep.append(r["sep"])
            mae, sep = np.array(mae), np.array(sep)
            mid = mae[(sep >= 60) & (sep < 120)]
            cells.append((n / max(tot, 1), mae, mid))
        L.append(
            f"| {label} | {cells[0][0]:.0%}; {cells[1][0]:.0%} | "
            + "; ".join(f"{np.median(m):.1f} / {m.max():.1f}" for _, m, _ in cells)
            + " | "
            + "; ".join(f"{np.median(m):.1f} / {m.max():.1f}" if m.size else "-" for _, _, m in cells)
            + " |"
        )
    return L + [""]


def residual_threshold_lines(rows: list[dict], label: str) -> list[str]:
    """Per flexion angle (left and right pooled), pairs 60-120 deg apart: the worst pair's MAE
    (deg, at least 15 frames) and the frames kept, refusing frames whose reprojection residual is
    over each threshold (torso lengths); training; held out."""
    L = [
        f"Reprojection-residual refusal, {label}: worst pair 60-120 deg apart, MAE deg (pairs), "
        "training; held out; frames kept",
        "",
    ]
    L += ["| residual over | knee | hip | elbow | kept |", "|---|---|---|---|---|"]
    for th in (None, 0.03, 0.035, 0.04, 0.045, 0.05):
        cells, n, tot = [], 0, 0
        for joint in ("knee", "hip", "elbow"):
            part = []
            for held in (False, True):
                m = []
                for r in rows:
                    if r["heldout"] != held or joint not in r["angle"] or not 60 <= r["sep"] < 120:
                        continue
                    ok = np.isfinite(r["err"])
                    keep = ok if th is None else ok & (np.nan_to_num(r["reproj"], nan=np.inf) <= th)
                    n, tot = n + keep.sum(), tot + ok.sum()
                    if keep.sum() >= 15:
                        m.append(float(np.abs(r["err"][keep]).mean()))
                part.append(f"{max(m):.1f} ({len(m)})" if m else "-")
            cells.append("; ".join(part))
        L.append(f"| {'nothing' if th is None else th} | " + " | ".join(cells) + f" | {n / max(tot, 1):.0%} |")
    return L + [""]


def filter_departure_lines(refs: list[dict]) -> list[str]:
    """Every pair of every reference, 13 angles (Qualisys calibration, as the gate's table): frames
    with an angle and series with a frame-to-frame step over 10 deg, when angles further than
    each threshold from the unfiltered ones are refused (``multiview.MAX_FILTER_DEPARTURE_DEG``)."""
    counts = {th: [0, 0, 0] for th in (None, 5.0, 10.0, 15.0)}  # frames, series, series stepping > 10
    for r in refs:
        cams = r["cameras"]
        for combo in itertools.combinations(range(len(cams)), 2):
            cs = [cams[i] for i in combo]
            tp = triangulate_views(
                [r["t_s"]] * 2, [c["image_px"] for c in cs], [c["visibility"] for c in cs], [c["camera"] for c in cs]
            )
            by_th = {th: angles_3d(tp, max_departure_deg=np.inf if th is None else th) for th in counts}
            for k in VA.MULTIVIEW_NAMES:
                if not np.isfinite(by_th[None][k]).any():  # the pair never shows the angle
                    continue
                for th, c in counts.items():
                    a = by_th[th][k]
                    c[0] += int(np.isfinite(a).sum())
                    c[1] += 1
                    c[2] += int(np.nanmax(np.abs(np.diff(a)), initial=0.0) > 10.0)
    L = ["## Refusing angles the low-pass moved (every pair, 13 angles)", ""]
    L += [
        "| refused where the filtered angle departs by more than | frames with an angle | series | series with a step over 10 deg |"
    ]
    L += ["|---|---|---|---|"]
    for th, (n, series, big) in counts.items():
        L.append(f"| {'nothing' if th is None else f'{th:g} deg'} | {n} | {series} | {big} |")
    return L + [""]


def edges_of(key: str) -> list[float]:
    """The thresholds tried for one check of :func:`frame_check_lines`."""
    return {"sd": [7.0, 9.0], "reproj": [0.04], "limb": [0.1, 0.15], "ref_limb": [0.1]}[key]


def main() -> int:
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    argv = sys.argv[1:]
    mc = int(argv[argv.index("--model-complexity") + 1]) if "--model-complexity" in argv else 1
    if mc == 1:
        paths = VA.find_references()
    else:  # built when missing (the full model's are the table's, built by validate_angles' tests)
        people = [(t, p) for t, spec in BR.TRIALS.items() for p in spec["people"]]
        paths = [BR.build_reference(t, p, verbose=False, model_complexity=mc)["path"] for t, p in people]
    if not paths:
        print("no cached references: run scripts/build_reference.py first")
        return 1
    refs = [VA.load_reference(p) for p in paths]
    zs = [np.load(p) for p in paths]
    prep = [prepared(r, z) for r, z in zip(refs, zs)]
    train = [i for i, r in enumerate(refs) if not r["heldout"]]
    # fitted on every person of the training trials only (scripts/build_reference.py)
    refit = BR.fit_refinement(model_complexity=mc)
    fit = refit[0]
    print(f"Pose model: {POSE_MODELS[mc]} (model_complexity {mc}).\n")
    if "--frame-checks" in argv:
        rows = frame_check_rows(refs, zs, prep, fit, refit, model_complexity=mc)
        print("\n".join(frame_check_lines(rows)))
        print("\n".join(residual_threshold_lines(rows, "refined calibration, refined reference")))
        qualisys = frame_check_rows(refs, zs, prep, fit, refit, refined_calibration=False, model_complexity=mc)
        print("\n".join(residual_threshold_lines(qualisys, "Qualisys calibration, reference as built")))
        print("\n".join(filter_departure_lines(refs)))
        return 0
    print("# Two-camera error decomposition (scripts/diagnose_multiview.py)\n")
    print(
        "Refinement fitted on: "
        + ", ".join(refs[i]["name"] for i in train)
        + "; held out: "
        + ", ".join(r["name"] for r in refs if r["heldout"])
        + ".\n"
    )
    print(
        "Correction per camera (deg): "
        + ", ".join(f"{c.name} {d:.2f}" for c, d in zip(fit.cameras, fit.correction_deg))
        + "\n"
    )
    print("## Calibration and sync (original calibration)\n")
    print("| subject | camera | LOO median px | LOO mean signed x, y px | best shift, frames |\n|---|---|---|---|---|")
    for r, (P, W, cams) in zip(refs, prep):
        print("\n".join(calibration_lines(r["name"], P, W, cams, r["t_s"])))
    print("\n| subject | LOO median px per camera, original | refined |\n|---|---|---|")
    for r, (P, W, cams) in zip(refs, prep):
        new = rotate_cameras(cams, fit.rotvec_rad)
        a, b = loo_reprojection_px(P, W, cams), loo_reprojection_px(P, W, new)
        print(f"| {r['name']} | {', '.join(f'{v:.1f}' for v in a)} | {', '.join(f'{v:.1f}' for v in b)} |")
    # (calibration of the pair, skeleton fit, reference): the refined reference is
    # scripts/build_reference.py --refined's (fitted on the training trials, built when missing)
    variants = {
        "Qualisys calibration, reference as built": ("qualisys", False, "built"),
        "refined, reference as built": ("refined", False, "built"),
        "refined + skeleton, reference as built": ("refined", True, "built"),
        "refined, reference refined": ("refined", False, "refined"),
        "refined + skeleton, reference refined": ("refined", True, "refined"),
        "refined, reference refined, its frames from 3+ views": ("refined", False, "refined3"),
    }
    spec, variants = variants, {k: [] for k in variants}
    loo, recs, ref_change = {k: [] for k in variants if not spec[k][1]}, [], []
    for r, z, (_, _, cams) in zip(refs, zs, prep):
        new = rotate_cameras(cams, fit.rotvec_rad)
        trial, person = str(z["trial"]), str(z["person"])
        refined = VA.load_reference(
            BR.build_refined_reference(trial, person, refinement=refit, model_complexity=mc)["path"]
        )
        t_old, t_new = VA.truth_angles(r["lab_m"]), VA.truth_angles(refined["lab_m"])
        t_three = from_three_views(t_new, refined["n_views"])
        ref_change += [float(np.nanmean(np.abs(t_old[k] - t_new[k]))) for k in NAMES]
        hip = np.nanmean(0.5 * (r["lab_m"][:, 23] + r["lab_m"][:, 24]), axis=0)
        for key, (calib, skel, which) in spec.items():
            cc = cams if calib == "qualisys" else new
            tr = {"built": t_old, "refined": t_new, "refined3": t_three}[which]
            for combo in itertools.combinations(range(len(cams)), 2):
                sep = separation_deg(cc[combo[0]], cc[combo[1]], hip)
                rows = pair_series(r, cc, tr, combo, skeleton=skel)
                for row in rows:
                    row.update(sep=sep, subject=r["name"], heldout=bool(r["heldout"]))
                variants[key] += rows
                if key.startswith("Qualisys"):
                    recs += per_frame_factors(r, z, cams, rows)
            for c in range(len(cams) if key in loo else 0):
                three = tuple(o for o in range(len(cams)) if o != c)
                loo[key] += [(row["mae"], bool(r["heldout"])) for row in pair_series(r, cc, tr, three)]
    base = variants["Qualisys calibration, reference as built"]
    bias = np.array([np.nanmean(row["err"]) for row in base])
    sd = np.array([np.nanstd(row["err"]) for row in base])
    print(
        f"\n## Bias and noise\n\nOriginal: {len(base)} pair x angle series; median |bias| {np.median(np.abs(bias)):.1f} deg, median SD {np.median(sd):.1f} deg.\n"
    )
    print("\n".join(factor_lines(recs)))
    print(
        f"## The reference\n\nRefining the calibration moves the four-view reference's own angles by a median "
        f"{np.median(ref_change):.1f} deg MAE (range {min(ref_change):.1f}-{max(ref_change):.1f}).\n"
    )
    print(
        "Three views (each camera left out) against four, median MAE over 4 x 6 series per trial (training / held out):\n"
    )
    for key, vals in loo.items():
        tr = [m for m, h in vals if not h]
        ho = [m for m, h in vals if h]
        print(f"- {key}: {np.median(tr):.1f} / {np.median(ho):.1f} deg")
    print("\n".join(pair_table_lines(variants)))
    print("\n".join(worst_series_lines(variants["refined, reference refined"], refs, prep)))
    return 0


def worst_series_lines(rows: list[dict], refs: list[dict], prep: list, n: int = 8) -> list[str]:
    """The ``n`` worst pair x angle series: a steady bias (mean signed error) against a spread
    (SD) tells a placement or geometry error from detection noise."""
    L = [
        "## The worst series (refined, reference refined)",
        "",
        "| subject | cameras | apart deg | angle | MAE deg | bias deg | SD deg |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {r["name"]: [c.name for c in p[2]] for r, p in zip(refs, prep)}
    for row in sorted(rows, key=lambda r: -r["mae"])[:n]:
        e = row["err"][np.isfinite(row["err"])]
        cams = "+".join(names[row["subject"]][i] for i in row["combo"])
        L.append(
            f"| {row['subject']}{' (held out)' if row['heldout'] else ''} | {cams} | {row['sep']:.0f} | "
            f"{row['angle']} | {row['mae']:.1f} | {e.mean():+.1f} | {e.std():.1f} |"
        )
    return L + [""]


def pair_table_lines(variants: dict) -> list[str]:
    """Per variant, training and held out: median / worst pair MAE (deg) / series, angle x band."""
    L = ["## Two cameras: median / worst pair MAE (deg) / series, by angle x separation band", ""]
    for key, rows in variants.items():
        for part, sel in (("training trials", False), ("held-out trial", True)):
            L += [f"### {key}: {part}", ""]
            L.append("| angle | " + " | ".join(f"{lo}-{min(hi, 180)} deg" for lo, hi in BANDS) + " |")
            L.append("|" + "---|" * (1 + len(BANDS)))
            t = band_table([row for row in rows if row["heldout"] == sel])
            for k in NAMES + ["all"]:
                cells = [t.get((k, lo)) for lo, _ in BANDS]
                L.append(
                    f"| {k} | "
                    + " | ".join("-" if v is None else f"{v[0]:.1f} / {v[1]:.1f} / {v[2]}" for v in cells)
                    + " |"
                )
            L.append("")
    return L


if __name__ == "__main__":
    raise SystemExit(main())
