"""Per-frame analysis shared by live capture and replay.

Capture and replay both feed each frame's pose through :class:`FrameProcessor`, so a
replay recomputes exactly what the live run computed: the same float32 inputs
through the same code, in the same order, give bit-identical outputs. Capture stores
the live outputs as the ``live_angles_deg`` stream; ``movekit replay`` recomputes and
compares them.
"""

from __future__ import annotations

import numpy as np

from movekit.recording import StreamSpec

LIVE_STREAM = "live_angles_deg"


class FrameProcessor:
    """Live joint angles from one frame's image landmarks (2D, camera plane)."""

    def __init__(self) -> None:
        from movekit.analysis.angles import joint_angles

        self._joint_angles = joint_angles
        probe = joint_angles(image_px=np.full((1, 33, 3), np.nan, np.float32))
        self.names: tuple[str, ...] = tuple(probe)

    def spec(self) -> StreamSpec:
        return StreamSpec(LIVE_STREAM, (len(self.names),), "deg", None,
                          tuple(n.removesuffix("_deg") for n in self.names), kind="live_angles",
                          attrs={"source": "image landmarks, per frame, unfiltered"})

    def step(self, t_s: float, image_px: np.ndarray, visibility: np.ndarray) -> np.ndarray:
        """Angles (deg, float32, one per name) for one frame; NaN where not measurable."""
        angles = self._joint_angles(image_px=image_px[None], visibility=visibility[None])
        return np.array([angles[n][0] for n in self.names], np.float32)
