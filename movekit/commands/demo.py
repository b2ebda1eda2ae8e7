"""``movekit demo``: the real pose model on the embedded sample clip."""

from __future__ import annotations

import json
import time
from pathlib import Path

from movekit.datasets import SHIPPED

#: the Sports2D 0.8.34 demo clip (3.97 MB, BSD-3), shipped as package data with its LICENSE
SAMPLE = SHIPPED["sports2d_demo"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="run the pose model on the embedded sample clip (no camera or network needed)"
    )
    p.add_argument("--out", default="movekit-demo", help="folder for the recording and annotated video")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a demo.mkrec in --out that an earlier demo did not make (a demo's own is always replaced)",
    )
    p.set_defaults(func=run)


def _check_previous(rec_path: Path, overwrite: bool) -> None:
    """Refuse to replace a ``demo.mkrec`` that is not an earlier demo's (its metadata says client
    and protocol "demo"), unless ``overwrite``: a recording copied there is somebody's data."""
    if not rec_path.exists() or overwrite:
        return
    from movekit.errors import MovekitError

    try:
        meta = json.loads((rec_path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    if not (isinstance(meta, dict) and meta.get("client") == "demo" and meta.get("protocol") == "demo"):
        raise MovekitError(
            f"{rec_path} exists and is not an earlier demo's recording: give another --out, "
            "or --overwrite to replace it"
        )


def sample_clip() -> Path:
    """The embedded clip (package data: no network needed, in a source tree or an installed wheel)."""
    if not SAMPLE.exists():
        from movekit.errors import MovekitError

        raise MovekitError(f"the demo clip is missing from this installation ({SAMPLE}); reinstall movekit")
    return SAMPLE


def run(args) -> int:
    import numpy as np

    from movekit.analysis.reps import segment_reps
    from movekit.calibration import analyse_calibrated
    from movekit.capture.pipeline import capture
    from movekit.recording import open_recording
    from movekit.summary import format_summary, summarise

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        from movekit.errors import MovekitError

        raise MovekitError(f"--out {out} is a file; give a folder for the demo's recording and video")
    _check_previous(out / "demo.mkrec", args.overwrite)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    clip = sample_clip()
    print(f"movekit demo: MediaPipe Pose on {clip.name} (Sports2D demo clip, BSD-3)")
    t0 = time.perf_counter()
    summary = capture(
        clip,
        out / "demo.mkrec",
        annotate=out / "demo_annotated.mkv",
        overwrite=True,
        metadata={"client": "demo", "protocol": "demo"},
        progress=True,
        keys=False,
    )
    elapsed = time.perf_counter() - t0
    print(summary.text())
    print(f"pose ran at {summary.frames / elapsed:.1f} frames/s on this machine")
    rec = open_recording(out / "demo.mkrec")
    print()
    print(format_summary(summarise(rec)))
    pose = rec.pose()
    result = analyse_calibrated(pose)  # offline, zero-phase; every angle gated by its expected error
    views, counts = np.unique(result.view, return_counts=True)
    tilt = result.tilt.describe() if result.tilt is not None else "camera tilt unknown"
    print(f"\nwhat it found ({result.mode} cleaning, 2D in the camera plane; {tilt}):")
    print("  views: " + ", ".join(f"{v} {100 * c / counts.sum():.0f}%" for v, c in zip(views, counts)))
    print(f"  each angle only where its expected error is <= {result.max_error_deg:g} deg (docs/validity.md):")
    for name in (
        "left_shoulder_abduction_deg",
        "right_shoulder_abduction_deg",
        "right_knee_flexion_deg",
        "right_hip_flexion_deg",
        "trunk_inclination_deg",
    ):
        ok = np.isfinite(result.angles[name])
        if ok.any():
            a, e = result.angles[name][ok], result.error_deg[name][ok]
            print(
                f"  {name:<29} {a.min():7.1f} to {a.max():6.1f} deg, expected error +-{np.median(e):.1f} deg, "
                f"in {ok.mean() * 100:3.0f}% of frames"
            )
        else:
            print(f"  {name:<29} not shown: {result.reason(name)}")
    arc = segment_reps(result.t_s, result.angles["left_shoulder_abduction_deg"])
    if arc:
        print(f"  left arm raises: {len(arc)}, peaks " + ", ".join(f"{r.peak_deg:.0f}" for r in arc) + " deg")
    print(f"\nrecording: {out / 'demo.mkrec'}\nannotated video: {out / 'demo_annotated.mkv'}")
    print(f"next: movekit info {out / 'demo.mkrec'}; movekit replay {out / 'demo.mkrec'}")
    return 0
