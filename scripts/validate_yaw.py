"""Does a reference standing trial let one camera tell a face-on view (0-10 deg) from 20-30 deg?

Measures :mod:`movekit.analysis.yaw_reference` against the triangulated reference of
scripts/build_reference.py (Pose2Sim's four-camera rig; PyPI pose2sim==0.10.49), beside the
pipeline's single-image estimate (:func:`movekit.analysis.view.body_yaw_deg`, as ``analyse``
computes it) and the same fit without a reference (population ratios).

Subjects (:data:`SUBJECTS`): the woman of Demo_MultiPerson stands still in frames 4-30 (her
reference trial) and stands or walks after it (frames 32-99, evaluated); the man never stands
still in either trial, so his reference is the ready stance at the start of Demo_MultiPerson
(frames 0-12, knees 20-35 deg) and he is evaluated on Demo_SinglePerson (another trial).

* **real views**: each calibrated camera whose view of the reference frames is within
  :data:`REFERENCE_MAX_YAW_DEG` of face-on: its MediaPipe landmarks (undistorted, levelled with the
  calibration's tilt, cleaned by ``analyse`` offline). The reference trial is the same camera's
  view of the reference frames, its yaw "known" as the triangulated median (a rig, not a clinic:
  in a clinic it is "face-on" within a few degrees; :data:`ASSUMED_FACE_ON_MAX_DEG`).
* **virtual views** (:mod:`movekit.analysis.virtual_camera`, the pose model's recorded 2D error
  replayed as in scripts/validate_angles.py): the reference frames rendered face-on (yaw 0,
  assumed 0), the evaluation frames at yaw -60..60 and 150..210 deg (:data:`VIRTUAL_YAWS`), both
  with the same camera pitch (0 and 20 deg down, the rig's); and the reference frames themselves
  at those yaws (the best case: the test posture is the reference's).

Output: per estimator, the TRUE yaw of the frames in each ESTIMATED band (as the table of
scripts/validate_angles.py) and the headline figures. Usage::

    .venv/bin/python scripts/validate_yaw.py

About 20 s on 2 shared cores (the cached references; building them takes minutes).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "scripts"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import validate_angles as VA  # noqa: E402

from movekit.analysis import virtual_camera as VC  # noqa: E402
from movekit.analysis import yaw_reference as YR  # noqa: E402
from movekit.analysis.camera_tilt import CameraTilt  # noqa: E402

#: subject -> (reference trial, reference frames, evaluation trial, evaluation frames)
SUBJECTS = {
    "woman": ("Demo_MultiPerson_woman", slice(4, 31), "Demo_MultiPerson_woman", slice(32, None)),
    "man": ("Demo_MultiPerson_man", slice(0, 13), "Demo_SinglePerson_man", slice(None)),
}
VIRTUAL_YAWS = list(range(-60, 61, 5)) + [150, 165, 180, 195, 210]
VIRTUAL_PITCHES = (0, 20)
#: a real camera whose reference view is within this of face-on (deg) is also run with the
#: reference's yaw assumed 0, as a clinic would ("stand facing the camera")
ASSUMED_FACE_ON_MAX_DEG = 15.0
#: a real camera is evaluated when its view of the reference frames is within this of face-on (deg):
#: further round, the face-on widths are the measured ones over a small cosine (cos 60 = 0.5)
REFERENCE_MAX_YAW_DEG = 35.0
EDGES = [0, 10, 20, 30, 40, 90]
#: other cue SDs tried with the reference (trunk lengths, order YR.CUES; inf = cue left out)
ABLATIONS = {
    "with the nose": (0.102, 0.053, 0.058, 0.118),
    "widths only": (0.102, 0.053, np.inf, np.inf),
    "feet only": (np.inf, np.inf, np.inf, 0.118),
}


def signed_fold(yaw_deg) -> np.ndarray:
    """Camera azimuth (-180..180, + camera on the subject's left) -> signed body yaw -90..90
    (+ = the subject's left side nearer the camera)."""
    y = np.asarray(yaw_deg, dtype=np.float64)
    a = np.abs(y)
    return np.sign(y) * np.where(a > 90, 180 - a, a)


def load(name: str) -> dict:
    """A cached reference of scripts/build_reference.py by file stem, e.g.
    ``Demo_MultiPerson_woman`` (built when missing: the pose model on four videos, about a minute)."""
    import build_reference as BR  # type: ignore

    trial, person = name.rsplit("_", 1)
    path = BR.reference_path(trial, person)
    if not path.exists():
        BR.build_reference(trial, person, verbose=False)
    return VA.load_reference(path)


def prepared(t_s, image_px, *, tilt=None, size=None, K=None, visibility=None):
    """``analyse`` offline without the gate: (cleaned levelled landmarks, single-image yaw)."""
    res = VA.run_analyse(
        t_s, image_px, visibility=visibility, offline=True, tilt=tilt, frame_size_px=size, camera_matrix_px=K
    )
    return res.landmarks, np.asarray(res.yaw_deg, dtype=np.float64)


def estimates(pts, yaw_single, reference) -> dict[str, np.ndarray]:
    """|yaw| (deg) per frame from each estimator and each cue set of :data:`ABLATIONS`; also
    ``"interval"``: the reference fit's 68 % interval of |yaw| ((2, frames), deg)."""
    fit = YR.estimate_yaw(pts, reference)
    out = {
        "single-image": yaw_single,
        "fit, population": YR.estimate_yaw(pts).abs_yaw_deg,
        "fit, reference": fit.abs_yaw_deg,
    }
    for name, sd in ABLATIONS.items():
        out[f"reference, {name}"] = YR.estimate_yaw(pts, dataclasses.replace(reference, sd=sd)).abs_yaw_deg
    return out, np.stack([fit.abs_low_deg, fit.abs_high_deg])


def _est(pts, yaw_single, reference) -> dict:
    est, interval = estimates(pts, yaw_single, reference)
    return {"est": est, "interval": interval}


def interval_coverage(rows: list[dict]) -> float:
    """Share of frames whose true |yaw| lies in the reference fit's 68 % interval."""
    hit = [((r["interval"][0] <= r["true"]) & (r["true"] <= r["interval"][1]))[np.isfinite(r["interval"][0])]
           for r in rows]  # fmt: skip
    h = np.concatenate(hit)
    return float(h.mean()) if h.size else float("nan")


# ----------------------------------------------------------------------------- real views


def real_views(ref_trial: dict, ev_trial: dict, rs: slice, es: slice) -> list[dict]:
    """Per calibrated camera: its view of the reference frames and of the evaluation frames
    (cleaned levelled landmarks, the single-image yaw, the true signed yaw) and ``a0``, the
    reference frames' median true yaw (deg)."""
    out = []
    for cam in ref_trial["cameras"]:
        pitch, roll = cam["camera"].pitch_roll_deg
        tilt = CameraTilt(pitch, roll, 0.0, "calibration")
        v = {"camera": cam["name"]}
        for key, trial, sl in (("ref", ref_trial, rs), ("ev", ev_trial, es)):
            c = next(c for c in trial["cameras"] if c["name"] == cam["name"])
            pts, single = prepared(trial["t_s"], VA.undistorted(c), tilt=tilt, size=c["size_px"], K=c["K"],
                                   visibility=c["visibility"])  # fmt: skip
            true = signed_fold(VC.true_yaw_deg(trial["lab_m"], c["camera"]))
            v[key] = (pts[sl], single[sl], true[sl])
        v["a0"] = float(np.nanmedian(v["ref"][2]))
        out.append(v)
    return out


def real_eval(subjects: dict | None = None) -> list[dict]:
    """Every subject x real camera whose reference view is within :data:`REFERENCE_MAX_YAW_DEG`
    of face-on: the reference's yaw known (triangulated) and, near face-on, assumed 0."""
    rows = []
    for subject, (rname, rs, ename, es) in (subjects or SUBJECTS).items():
        for v in real_views(load(rname), load(ename), rs, es):
            if abs(v["a0"]) > REFERENCE_MAX_YAW_DEG:
                continue
            pts, single, true = v["ev"]
            variants = [("known", v["a0"])] + ([("assumed 0", 0.0)] if abs(v["a0"]) <= ASSUMED_FACE_ON_MAX_DEG else [])
            for label, yaw0 in variants:
                reference = YR.reference_from_trial(v["ref"][0], view="face-on", reference_yaw_deg=yaw0)
                rows.append(dict(source="real", subject=subject, camera=v["camera"], reference=label,
                                 ref_yaw_deg=v["a0"], true=np.abs(true), **_est(pts, single, reference)))  # fmt: skip
    return rows


def cue_sd_training() -> np.ndarray:
    """RMS (trunk lengths) of each cue about its model at the true yaw (the reference at its
    known yaw): Demo_MultiPerson only (both subjects, cameras within REFERENCE_MAX_YAW_DEG of
    face-on in the reference frames, the frames after them). The source of YR.CUE_SD."""
    res = []
    for rname, rs, _e, _es in SUBJECTS.values():
        trial = load(rname)
        after = slice(rs.stop, None)
        for v in real_views(trial, trial, rs, after):
            if abs(v["a0"]) <= REFERENCE_MAX_YAW_DEG:
                reference = YR.reference_from_trial(v["ref"][0], view="face-on", reference_yaw_deg=v["a0"])
                res.append(YR.yaw_cues(v["ev"][0]) - YR.cue_model(reference, v["ev"][2]))
    r = np.concatenate(res)
    return np.sqrt(np.nanmean(r * r, axis=0))


# ----------------------------------------------------------------------------- virtual views


def _render(trial: dict, frames: slice, yaw: float, pitch: float, errors: list, k: int):
    """The trial's frames seen by a virtual camera (placed for those frames' mean heading), with
    a real view's recorded 2D error replayed: (image_px, true signed body yaw per frame, camera)."""
    lab = trial["lab_m"][frames]
    img, cam = VC.render(lab, yaw_deg=yaw, pitch_deg=pitch, distance_m=3.5)
    img = VC.add_error_2d(img, VA.nearest_view_error(errors, yaw, k), start=(7 * k) % 50)
    return img, signed_fold(VC.true_yaw_deg(lab, cam)), cam


def _virtual_subject(ref_trial, rs, ev_trial, es, pitch, errors, yaws) -> list[dict]:
    """One subject and pitch: the reference rendered face-on, then the evaluation frames ("other
    posture") and the reference frames themselves ("same posture", the best case) at each yaw."""
    img, true_r, cam = _render(ref_trial, rs, 0.0, pitch, errors, 0)
    pts_r, _ = prepared(ref_trial["t_s"][rs], img, size=(cam.width_px, cam.height_px), K=cam.K)
    reference = YR.reference_from_trial(pts_r, view="face-on")
    rows = []
    for k, yaw in enumerate(yaws, start=1):
        for posture, trial, sl in (("other posture", ev_trial, es), ("same posture", ref_trial, rs)):
            img, true, cam = _render(trial, sl, yaw, pitch, errors, k)
            pts, single = prepared(trial["t_s"][sl], img, size=(cam.width_px, cam.height_px), K=cam.K)
            rows.append(dict(source="virtual", posture=posture, pitch_deg=pitch, camera=f"yaw{yaw:+d} pitch{pitch}",
                             reference="assumed 0", ref_yaw_deg=float(np.nanmedian(true_r)), true=np.abs(true),
                             **_est(pts, single, reference)))  # fmt: skip
    return rows


#: the trials whose real views' recorded 2D error is replayed into the virtual views
NOISE_FROM = ("Demo_MultiPerson_man", "Demo_MultiPerson_woman")


def virtual_eval(subjects: dict | None = None, yaws=VIRTUAL_YAWS, pitches=VIRTUAL_PITCHES) -> list[dict]:
    """Reference rendered face-on, evaluation at ``yaws``, same pitch (see module docstring)."""
    subjects = subjects or SUBJECTS
    rows = []
    errors = [e for n in NOISE_FROM for e in load(n)["error_torso"]]
    for subject, (rname, rs, ename, es) in subjects.items():
        for pitch in pitches:
            for r in _virtual_subject(load(rname), rs, load(ename), es, pitch, errors, yaws):
                rows.append(dict(r, subject=subject))
    return rows


# ----------------------------------------------------------------------------- summary


def joint(rows: list[dict], estimator: str) -> np.ndarray:
    """Counts (estimated band, true band) over :data:`EDGES`."""
    n = len(EDGES) - 1
    out = np.zeros((n, n), dtype=int)
    for r in rows:
        e, t = VA.band_index(r["est"][estimator], EDGES), VA.band_index(r["true"], EDGES)
        ok = (e >= 0) & (t >= 0)
        np.add.at(out, (e[ok], t[ok]), 1)
    return out


def headline(rows: list[dict], estimator: str) -> dict:
    """Of the frames estimated 0-10: share truly 0-10 and <= 20; of the frames truly 0-10: share
    estimated 0-10; MAE of |yaw| over frames truly 0-20 (deg)."""
    j = joint(rows, estimator)
    est0, true0 = j[0].sum(), j[:, 0].sum()
    err = np.concatenate([np.abs(r["est"][estimator] - r["true"])[r["true"] <= 20] for r in rows])
    return dict(
        frames_est_0_10=int(est0),
        precision_0_10=float(j[0, 0] / est0) if est0 else float("nan"),
        within_20=float(j[0, :2].sum() / est0) if est0 else float("nan"),
        recall_0_10=float(j[0, 0] / true0) if true0 else float("nan"),
        mae_true_0_20=float(np.nanmean(err)) if err.size else float("nan"),
    )


def table_md(rows: list[dict], estimator: str) -> list[str]:
    """Markdown: the TRUE yaw of the frames in each ESTIMATED band (% of the row)."""
    j = joint(rows, estimator)
    bands = [f"{EDGES[i]}-{EDGES[i + 1]}" for i in range(len(EDGES) - 1)]
    out = ["| estimated \\ true | " + " | ".join(bands) + " | frames |", "|---" * (len(bands) + 2) + "|"]
    for i, b in enumerate(bands):
        tot = j[i].sum()
        if tot:
            out.append(f"| {b} | " + " | ".join(f"{100 * v / tot:.0f}" for v in j[i]) + f" | {tot} |")
    return out


def _headline_row(label: str, rows: list[dict], estimator: str) -> str:
    h = headline(rows, estimator)
    pct = lambda v: "-" if not np.isfinite(v) else f"{100 * v:.0f} %"  # noqa: E731
    return (
        f"| {label} | {estimator} | {h['frames_est_0_10']} | {pct(h['precision_0_10'])} | {pct(h['within_20'])} | "
        f"{pct(h['recall_0_10'])} | {h['mae_true_0_20']:.1f} |"
    )


HEADER = [
    "| set-up, subject | estimator | frames est. 0-10 | of them truly 0-10 | truly 0-20 | true 0-10 frames "
    "estimated 0-10 | MAE of frames truly 0-20 (deg) |",
    "|---|---|---|---|---|---|---|",
]


def summary_md(groups: list[tuple[str, list[dict]]]) -> list[str]:
    """Markdown: per set-up and subject, the single-image estimate against the reference fit."""
    lines = list(HEADER)
    for title, rows in groups:
        for subject in SUBJECTS:
            sub = [r for r in rows if r["subject"] == subject]
            if sub:
                lines += [_headline_row(f"{title}, {subject}", sub, e) for e in ("single-image", "fit, reference")]
    return lines


def ablation_md(groups: list[tuple[str, list[dict]]]) -> list[str]:
    """Markdown: every estimator, both subjects pooled, per set-up."""
    lines = list(HEADER)
    for title, rows in groups:
        lines += [_headline_row(title, rows, e) for e in rows[0]["est"]]
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args(argv)
    t0 = time.perf_counter()
    real, virtual = real_eval(), virtual_eval()
    sd = cue_sd_training()
    print("cue RMS about the model at the true yaw, Demo_MultiPerson (trunk lengths; YR.CUE_SD):",
          dict(zip(YR.CUES, np.round(sd, 3))))  # fmt: skip
    other = [r for r in virtual if r["posture"] == "other posture"]
    groups = [
        ("virtual, other frames, level camera", [r for r in other if r["pitch_deg"] == 0]),
        ("virtual, other frames, camera 20 deg down", [r for r in other if r["pitch_deg"] == 20]),
        ("virtual, the reference frames themselves", [r for r in virtual if r["posture"] == "same posture"]),
        ("real views, reference yaw known", [r for r in real if r["reference"] == "known"]),
        ("real views, reference yaw assumed 0", [r for r in real if r["reference"] == "assumed 0"]),
    ]
    print("\n".join(["", "Single-image estimate against the reference fit, per subject:", ""] + summary_md(groups)))
    print("\n".join(["", "Every estimator, both subjects pooled:", ""] + ablation_md(groups)))
    print("\nShare of frames whose true |yaw| lies in the reference fit's 68 % interval:")
    for title, rows in groups:
        w = np.concatenate([np.diff(r["interval"], axis=0)[0] for r in rows])
        print(f"- {title}: {100 * interval_coverage(rows):.0f} % (median interval width {np.nanmedian(w):.0f} deg)")
    for title, rows in (groups[1], groups[3]):
        for e in ("single-image", "fit, reference"):
            print(
                "\n".join(["", f"TRUE yaw of the frames in each ESTIMATED band: {title}, {e}", ""] + table_md(rows, e))
            )
    print(f"\nruntime {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
