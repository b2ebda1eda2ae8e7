"""Following one person through the real pose model when somebody else walks into view.

The clip is composed from two real Pose2Sim videos (pinned PyPI files): on the left, the man of
``pose2sim_single_cam02`` (the client, torso about 90 px); from frame 20 on the right, the larger
woman walking in the foreground of ``pose2sim_multi_cam01`` (torso about 190 px). The client is
hidden for frames 40-59, so the model's tracker loses him and its detector finds her: the
follower must store nothing of hers, and find him again when he is back.
"""

from __future__ import annotations

import numpy as np
import pytest

from movekit.datasets import fetch

LEFT_W_PX, RIGHT_W_PX, H_PX = 432, 648, 1152
HIDDEN = range(40, 60)


def _frames(name: str, size: tuple[int, int]) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(fetch(name)))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            return out
        out.append(cv2.resize(frame, size))


@pytest.fixture(scope="module")
def entered(tmp_path_factory):
    import cv2

    from movekit.capture.pipeline import capture
    from movekit.recording import open_recording

    client = _frames("pose2sim_single_cam02", (LEFT_W_PX, 768))
    other = _frames("pose2sim_multi_cam01", (RIGHT_W_PX, H_PX))
    folder = tmp_path_factory.mktemp("follow")
    clip = folder / "enters.mp4"
    vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 60, (LEFT_W_PX + RIGHT_W_PX, H_PX))
    for i in range(100):
        canvas = np.full((H_PX, LEFT_W_PX + RIGHT_W_PX, 3), 90, np.uint8)
        if i not in HIDDEN:
            canvas[H_PX - 768:, :LEFT_W_PX] = client[i]
        if i >= 20:
            canvas[:, LEFT_W_PX:] = other[i]
        vw.write(canvas)
    vw.release()
    summary = capture(clip, folder / "enters.mkrec", keys=False)
    return summary, open_recording(folder / "enters.mkrec").pose()


def test_the_person_who_walks_in_is_never_stored(entered):
    summary, pose = entered
    x = pose.image_px[:, [11, 12, 23, 24], 0].mean(axis=1)
    found = np.isfinite(x)
    assert found[:40].mean() > 0.9  # the client, before anybody else came
    assert np.all(x[found] < LEFT_W_PX), f"stored somebody at x = {x[found].max():.0f} px"
    assert not found[list(HIDDEN)].any()  # hidden: nobody stored, not her
    assert any("jumped to another" in n for n in summary.notices)


def test_the_client_is_found_again_when_back(entered):
    _, pose = entered
    back = np.isfinite(pose.image_px[HIDDEN.stop:, 23, 0])
    assert back.mean() > 0.8, f"client found in {back.mean():.0%} of the frames after his return"
