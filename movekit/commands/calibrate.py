"""``movekit calibrate camera VIDEO ...`` and ``movekit calibrate static SOURCE ...``."""

from __future__ import annotations

from pathlib import Path


def _pattern(text: str) -> tuple[int, int]:
    from movekit.errors import MovekitError

    try:
        c, r = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise MovekitError(f"--pattern takes COLSxROWS inner corners, e.g. 9x6, not {text!r}") from None
    if c < 3 or r < 3:
        raise MovekitError("--pattern needs at least 3x3 inner corners")
    return c, r


def register(subparsers) -> None:
    p = subparsers.add_parser("calibrate", help="camera and static-pose calibration profiles",
                              description="Make calibration profiles (JSON) under calibration/.")
    sub = p.add_subparsers(dest="calibrate_what", metavar="WHAT")
    cam = sub.add_parser("camera", help="intrinsics and lens distortion from a checkerboard video")
    cam.add_argument("video")
    cam.add_argument("--pattern", default="9x6", help="inner corners COLSxROWS (default 9x6)")
    cam.add_argument("--square-mm", type=float, default=25.0, help="square side in mm (default 25)")
    cam.add_argument("--name", required=True, help="profile name")
    cam.add_argument("--dir", default=None, help="profile folder (default: calibration/)")
    cam.set_defaults(func=run_camera)
    st = sub.add_parser("static", help="angle offsets from a static neutral-stance trial")
    st.add_argument("source", help="recording or video of the client standing still in neutral")
    st.add_argument("--name", required=True, help="profile name (e.g. client-camera-date)")
    st.add_argument("--camera", default=None, help="camera profile to undistort with first")
    st.add_argument("--space", choices=("2d", "3d"), default="2d")
    st.add_argument("--dir", default=None, help="profile folder (default: calibration/)")
    st.set_defaults(func=run_static)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def run_camera(args) -> int:
    from movekit.calibration import calibrate_camera, save_profile

    prof = calibrate_camera(args.video, pattern=_pattern(args.pattern), square_mm=args.square_mm,
                            name=args.name)
    path = save_profile(prof, Path(args.dir) if args.dir else None)
    K = prof.K
    print(f"camera {prof.width_px}x{prof.height_px}: fx {K[0, 0]:.1f} fy {K[1, 1]:.1f} cx {K[0, 2]:.1f} "
          f"cy {K[1, 2]:.1f} px, k1 {prof.dist[0]:+.3f}; RMS reprojection {prof.rms_reprojection_px:.2f} px "
          f"over {prof.n_views} views")
    print(f"profile: {path}")
    return 0


def run_static(args) -> int:
    from movekit.analysis.pipeline import analyse
    from movekit.calibration import load_camera_profile, save_profile, static_offsets, undistort_landmarks
    from movekit.commands.angles import load_pose

    pose = load_pose(args.source)
    img = pose.image_px
    cam = load_camera_profile(args.camera, Path(args.dir) if args.dir else None) if args.camera else None
    if cam is not None:
        img = undistort_landmarks(img, cam, getattr(pose, "frame_size_px", None))
    res = analyse(pose.t_s, img, pose.world_m, pose.visibility, space=args.space, offline=True)
    prof = static_offsets(res.angles, res.view, name=args.name, space=args.space,
                          camera_profile=cam.name if cam else None)
    path = save_profile(prof, Path(args.dir) if args.dir else None)
    print(f"static trial: {prof.n_frames} frames, view {prof.view}; offsets (deg):")
    for k, v in prof.offsets_deg.items():
        print(f"  {k:<32} {v:+6.1f}  (IQR {prof.spread_deg[k]:.1f})")
    print(f"profile: {path}")
    return 0
