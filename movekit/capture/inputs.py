"""What a capture starts from: the source (a recording stands for its saved video), the
calibration profiles and the camera's tilt, resolved before any frame is read.

Each function raises :class:`movekit.errors.MovekitError` with the reason when its input is
unusable, so a bad option fails before a camera, a model or a recording is opened.
"""

from __future__ import annotations

from pathlib import Path

from movekit.errors import MovekitError

#: the raw video inside a recording: Matroska, so a killed capture keeps its video up to about its
#: last second (recordings before 2026-12 hold ``video.mp4``, still read)
RAW_VIDEO = "video.mkv"


def is_camera(source) -> bool:
    """True for a webcam index (``0`` or ``"0"``)."""
    return isinstance(source, int) or str(source).strip().isdigit()


def recorded_video(source):
    """``(source, person)``: a recording directory stands for its saved video (``video.mkv``, or an
    older recording's ``video.mp4``) and the person chosen when it was captured (MovekitError if it
    kept no video); anything else is returned as is."""
    if is_camera(source) or not (Path(str(source)) / "meta.json").is_file():
        return source, None  # a camera, a video, or something FrameSource explains
    path = Path(source)
    video = next((path / n for n in (RAW_VIDEO, "video.mp4") if (path / n).exists()), path / RAW_VIDEO)
    if not video.exists():
        raise MovekitError(
            f"{source}: this recording kept no video (captured without --save-video); "
            "its stored pose can be replayed with movekit replay"
        )
    from movekit.recording import open_recording

    meta = open_recording(path).metadata
    return video, (meta.get("person_selection") or {}).get("strategy")


def measures_tilt(tilt, source) -> bool:
    """True when ``capture(tilt=...)`` measures the tilt from the video (``auto``, the video default)."""
    return (tilt is None and not is_camera(source)) or (isinstance(tilt, str) and tilt.strip().lower() == "auto")


def resolve_tilt(tilt, source, calibration: dict, notices: list[str]):
    """The :class:`~movekit.analysis.camera_tilt.CameraTilt` for ``capture(tilt=...)``, or None (unknown);
    what was found or why not is appended to ``notices``."""
    from movekit.analysis.camera_tilt import CameraTilt
    from movekit.calibration import CameraProfile, load_tilt, tilt_from_scene, video_frames

    if isinstance(tilt, CameraTilt):
        return tilt
    camera = is_camera(source)
    spec = "auto" if tilt is None and not camera else (tilt or "unknown")
    if str(spec).strip().lower() == "unknown":
        notices.append(
            "camera tilt unknown: angles referred to the vertical are shown only where no tilt "
            "could push them over their error limit (give --tilt, or movekit calibrate level)"
        )
        return None
    if str(spec).strip().lower() != "auto":
        return load_tilt(spec)
    if camera:
        raise MovekitError(
            "--tilt auto reads the room's vertical edges from a video file; for a webcam give "
            "--tilt PITCH,ROLL, --tilt level or a profile from movekit calibrate level"
        )
    cam = calibration.get("camera")
    profile = CameraProfile(**{**cam, "pattern": tuple(cam["pattern"])}) if cam else None
    try:
        found = tilt_from_scene(video_frames(source), profile)
    except MovekitError as exc:
        notices.append(f"camera tilt unknown ({exc}); give --tilt or run movekit calibrate level")
        return None
    notices.append(f"{found.describe()}")
    return found


def load_calibration(camera_profile, static_profile) -> dict:
    """Profiles as plain dicts for the metadata (MovekitError if missing or unreadable)."""
    from dataclasses import asdict

    from movekit.calibration import load_camera_profile, load_static_profile

    out = {}
    if camera_profile is not None:
        out["camera"] = asdict(load_camera_profile(camera_profile))
    if static_profile is not None:
        out["static"] = asdict(load_static_profile(static_profile))
    return out
