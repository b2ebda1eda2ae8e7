"""Following one person through the real pose model when somebody else walks into view.

The first clip is composed from two real Pose2Sim videos (pinned PyPI files): on the left, the man of
``pose2sim_single_cam02`` (the client, torso about 90 px); from frame 20 on the right, the larger
woman walking in the foreground of ``pose2sim_multi_cam01`` (torso about 190 px). The client is
hidden for frames 40-59, so the model's tracker loses him and its detector finds her: the
follower must store nothing of hers, and find him again when he is back. In the second, a person of
the client's size walks right in front of him: a documented open defect (strict xfail).
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


def _crossing_clip(path, scale: float = 0.78) -> None:
    """The woman of ``pose2sim_multi_cam01``, cut out with MediaPipe's own person segmentation and
    scaled to the client's size, walks in from the left across the front of the client of
    ``pose2sim_single_cam02`` (same floor line, about 780 px/s, overlapping him near frame 47)."""
    import cv2
    import mediapipe as mp

    client = _frames("pose2sim_single_cam02", (1088, 1920))
    walker = _frames("pose2sim_multi_cam01", (1088, 1920))
    segmenter = mp.solutions.pose.Pose(static_image_mode=False, enable_segmentation=True)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 60, (1088, 1920))
    for i in range(100):
        mask = segmenter.process(cv2.cvtColor(walker[i], cv2.COLOR_BGR2RGB)).segmentation_mask > 0.5
        ys, xs = np.nonzero(mask)
        box = np.s_[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        cut = cv2.resize(walker[i][box], None, fx=scale, fy=scale)
        keep = cv2.resize(mask[box].astype(np.uint8), cut.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
        h, w = cut.shape[:2]
        top, left = 1080 - h, int(-250 + 1300 * i / 99) - w // 2
        frame = client[i].copy()
        y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + h, 1920), min(left + w, 1088)
        region, part = frame[y0:y1, x0:x1], keep[y0 - top:y1 - top, x0 - left:x1 - left]
        region[part] = cut[y0 - top:y1 - top, x0 - left:x1 - left][part]
        vw.write(frame)
    vw.release()
    segmenter.close()


@pytest.mark.filterwarnings(r"ignore:SymbolDatabase\.GetPrototype\(\) is deprecated")
@pytest.mark.xfail(strict=True, reason="no appearance model: the model's tracker slides onto her as she "
                   "reaches him (frames 44-47, within the motion and size gates) and she is followed out of "
                   "the frame. Tried: refusing a torso whose colour jumps (Bhattacharyya > 0.5 frame to "
                   "frame; 0.69 at the slide, <= 0.23 for one person indoors) while it moves faster than "
                   "6 torso lengths/s. It passes this clip, but on the Sports2D somersault a stretched "
                   "skeleton (shoulders on the sun) is accepted first and the man's next, real frame is "
                   "then refused and remembered as somebody else: 15 landing frames lost")
def test_somebody_crossing_in_front_does_not_take_over(tmp_path):
    """The client must be followed and she never stored. While she covers him completely (about
    frames 58-68) any skeleton the model draws there mixes the two."""
    from movekit.capture.pipeline import capture
    from movekit.recording import open_recording

    clip = tmp_path / "crossing.mp4"
    _crossing_clip(clip)
    capture(clip, tmp_path / "crossing.mkrec", keys=False)
    x = open_recording(tmp_path / "crossing.mkrec").pose().image_px[:, [11, 12, 23, 24], 0].mean(axis=1)
    # he stands near x = 560 px all along; she passes him around frame 55 and walks on to x ~ 1050 px
    found = np.isfinite(x)
    assert np.all(x[found] < 680), f"stored somebody at x = {np.nanmax(x[found]):.0f} px: her"
    assert found[:44].mean() > 0.9 and found[85:].mean() > 0.8  # him before she reaches him, and after
