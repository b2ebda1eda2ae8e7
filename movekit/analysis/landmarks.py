"""MediaPipe Pose landmark indices and names (33 landmarks).

Odd indices are the subject's LEFT, even the subject's RIGHT, always from the
subject's point of view (see ``docs/conventions.md``).
"""

from __future__ import annotations

NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
INDEX: dict[str, int] = {name: i for i, name in enumerate(NAMES)}
N_LANDMARKS = len(NAMES)

NOSE = 0
EAR = {"left": 7, "right": 8}
SHOULDER = {"left": 11, "right": 12}
ELBOW = {"left": 13, "right": 14}
WRIST = {"left": 15, "right": 16}
PINKY = {"left": 17, "right": 18}
INDEX_FINGER = {"left": 19, "right": 20}
HIP = {"left": 23, "right": 24}
KNEE = {"left": 25, "right": 26}
ANKLE = {"left": 27, "right": 28}
HEEL = {"left": 29, "right": 30}
FOOT_INDEX = {"left": 31, "right": 32}
SIDES = ("left", "right")
