"""Per-frame analysis shared by live capture and replay.

Capture and replay both feed each frame's pose through :class:`FrameProcessor`, so a
replay recomputes exactly what the live run computed: the same float32 inputs
through the same code, in the same order, give bit-identical outputs. Capture stores
the live outputs as the ``live_angles_deg`` stream (with the frame rate the causal
filters ran at); ``movekit replay`` recomputes and compares them.
"""

from __future__ import annotations

import numpy as np

from movekit.recording import StreamSpec

LIVE_STREAM = "live_angles_deg"
#: each live angle's expected error (deg) in that frame, as the gate judged it (inf: the side was
#: relabelled there); replayed and compared with the angles, so a replay checks numbers even where
#: every angle was refused
LIVE_ERROR_STREAM = "live_angles_err_deg"
#: modules whose code decides the live angles; their fingerprint is stored with every recording
LIVE_CODE_MODULES = (
    "movekit.live",
    "movekit.analysis.pipeline",
    "movekit.analysis.filters",
    "movekit.analysis.angles",
    "movekit.analysis.view",
    "movekit.analysis.com",
    "movekit.analysis.landmarks",
    "movekit.analysis.camera_tilt",
    "movekit.analysis.error_model",
    "movekit.calibration",
)


def live_code_fingerprint() -> str:
    """SHA-256 (first 16 hex digits) of the source of :data:`LIVE_CODE_MODULES`.

    A replay is bit-identical to the live run only when this matches the one stored in the
    recording; when it differs, the code that computes live angles has changed since.
    """
    import hashlib
    import importlib
    from pathlib import Path

    h = hashlib.sha256()
    for name in LIVE_CODE_MODULES:  # the file's bytes, as inspect.getsource gives them (without importing inspect)
        h.update(Path(importlib.import_module(name).__file__).read_bytes())
    from importlib import resources

    from movekit.analysis.error_model import TABLE_RESOURCE

    # the measured error table decides which live angles are shown, like the code does
    h.update(resources.files("movekit.analysis").joinpath("data", TABLE_RESOURCE).read_bytes())
    return h.hexdigest()[:16]


class FrameProcessor:
    """Live joint angles from one frame's image landmarks (2D, camera plane), causally cleaned.

    Wraps :class:`movekit.analysis.pipeline.StreamingAnalyzer` (visibility masking, left/right
    swap repair, Hampel + Butterworth low-pass with kept state, facing direction), whose
    output equals the causal batch ``analyse(..., offline=False)``.

    Parameters
    ----------
    fs_hz : float
        Frame rate the causal filters are designed for (the source's nominal rate).
    calibration : dict, optional
        ``{"camera": CameraProfile fields, "static": StaticProfile fields}`` as stored in a
        recording's metadata: landmarks are undistorted with the camera profile and each
        angle's static-pose offset (deg) is subtracted. The stored landmarks stay raw.
    frame_size_px : (width, height), optional
        The image size (px): landmarks outside it count as unseen; also needed with a tilt.
    """

    def __init__(
        self, fs_hz: float = 30.0, calibration: dict | None = None, frame_size_px: tuple[int, int] | None = None
    ) -> None:
        from movekit.analysis.camera_tilt import CameraTilt
        from movekit.analysis.pipeline import StreamingAnalyzer
        from movekit.calibration import CameraProfile

        self.fs_hz = float(fs_hz)
        self.calibration = calibration or {}
        cam = self.calibration.get("camera")
        self._camera = CameraProfile(**{**cam, "pattern": tuple(cam["pattern"])}) if cam else None
        static = self.calibration.get("static")
        tilt = CameraTilt.from_dict(self.calibration["tilt"]) if self.calibration.get("tilt") else None
        if tilt is not None and frame_size_px is None and self._camera is None:
            raise ValueError("a camera tilt correction needs the frame size or a camera profile")
        size = frame_size_px or (self._camera and (self._camera.width_px, self._camera.height_px))
        self._frame_size_px = size
        self._analyzer = StreamingAnalyzer(
            self.fs_hz,
            offsets=static["offsets_deg"] if static else None,
            tilt=tilt,
            frame_size_px=size,
            camera_matrix_px=self._camera.K if self._camera else None,
        )
        probe, _ = StreamingAnalyzer(self.fs_hz).update(np.full((33, 3), np.nan, np.float32))
        self.names: tuple[str, ...] = tuple(probe)

    @property
    def errors(self) -> dict[str, float]:
        """Expected error (deg) of each angle in the last frame (NaN: not measurable)."""
        return self._analyzer.errors

    def errors_deg(self) -> np.ndarray:
        """The last frame's expected errors (deg, float32, one per name; NaN: not measurable)."""
        e = self._analyzer.errors
        return np.array([e.get(n, np.nan) for n in self.names], np.float32)

    @property
    def relabelled_groups(self) -> np.ndarray:
        """(upper body, lower body): whether the last frame's left and right were relabelled
        (:func:`movekit.analysis.pipeline.relabel_sides`)."""
        return self._analyzer.relabelled_groups

    @property
    def view(self) -> str:
        """View label of the last frame (causal)."""
        return self._analyzer.view

    def error_spec(self) -> StreamSpec:
        """The stream of each live angle's expected error (:data:`LIVE_ERROR_STREAM`)."""
        return StreamSpec(
            LIVE_ERROR_STREAM,
            (len(self.names),),
            "deg",
            None,
            tuple(n.removesuffix("_deg") for n in self.names),
            kind="angle_errors",
            attrs={"what": "expected error of each live angle in that frame (inf: left/right relabelled there)"},
        )

    def spec(self) -> StreamSpec:
        return StreamSpec(
            LIVE_STREAM,
            (len(self.names),),
            "deg",
            None,
            tuple(n.removesuffix("_deg") for n in self.names),
            kind="live_angles",
            attrs={
                "source": "image landmarks, per frame, causal streaming cleaning",
                "fs_hz": self.fs_hz,
                "calibration": sorted(self.calibration),
                # False only in research mode (movekit.analysis.error_model.ungated)
                "gated": bool(self._analyzer.gate),
                "code_fingerprint": live_code_fingerprint(),
            },
        )

    def step(self, t_s: float, image_px: np.ndarray, visibility: np.ndarray) -> np.ndarray:
        """Angles (deg, float32, one per name) for one frame; NaN where not measurable. A landmark
        outside the frame (when its size is known) counts as unseen."""
        if self._frame_size_px:
            from movekit.analysis.filters import visibility_in_frame

            visibility = visibility_in_frame(image_px, visibility, self._frame_size_px)
        if self._camera is not None:
            from movekit.calibration import undistort_landmarks

            image_px = undistort_landmarks(image_px[None], self._camera)[0]
        angles, _com = self._analyzer.update(image_px, visibility)
        return np.array([angles[n] for n in self.names], np.float32)
