"""Following one person through the real pose model when somebody else walks into view.

The first clip is composed from two real Pose2Sim videos (pinned PyPI files): on the left, the man of
``pose2sim_single_cam02`` (the client, torso about 110 px); from frame 20 on the right, the larger
woman walking in the foreground of ``pose2sim_multi_cam01`` (torso about 190 px). The client is
hidden for frames 40-59, so the model's tracker loses him and its detector finds her: the
follower must store nothing of hers, and find him again when he is back. (At 80 % of that size,
torso 90 px, the model itself re-finds him as a collapsed skeleton, torso 2-30 px, even with nobody
else in the frame, and "found again" counted those; so the client is drawn at a size the model
re-finds properly, and the stored torso length is checked.)

In the others a person of the client's size walks right in front of him, in five ways: an open
defect, strict xfail. Tried and not landed:

- Refusing a torso whose colour jumps (Bhattacharyya > 0.5 frame to frame; 0.69 at the slide,
  <= 0.23 for one person indoors) while it moves faster than 6 torso lengths/s: passes the first
  crossing, but on the Sports2D somersault a stretched skeleton is accepted first and the man's next,
  real frame is refused: 15 landing frames lost.
- Branch ``wip/follow-scout``: a background search for other people (the client's head and torso
  blanked, so somebody right beside him is found) every 0.25 s, every 0.1 s while somebody is within
  3 torso lengths; their positions and velocities; detections nearer to where another person is
  expected refused; refused people blanked where they are expected. Passes the first four crossings;
  the slow one is taken over after the overlap. Every 0.5 / 0.2 s instead finds her too late. The
  search costs 12-57 ms a time and capture fell to 0.79x the bare model loop on the demo (target 0.95x).
- Branch ``wip/follow-detector``: BlazePose's own person detector alone (``detect_people``, about 8 ms)
  in a second thread on every frame, with the client's head and torso blanked, tracks the others;
  torso colours (hue-saturation histograms) tell the two apart when they overlap; a refusal re-runs
  the model with its tracking reset inside the client's region. Passes all five crossings and three
  more (another client, other speeds and sizes), never storing her; the demo keeps more of the man's
  landing. But capture ran at 0.76x the bare loop on the demo. Its next commit detects every 0.25 s
  while nobody else has been seen in the last 2 s and every frame after, and resets the model's
  tracking after any refusal (which undid the loss of the bigger crossing's end that this cadence
  had caused): all five pass, 0.97x steady on a one-person clip (main 0.99x), but 0.86x on the demo,
  where the woman walking by keeps the detector on in most frames.
"""

from __future__ import annotations

import numpy as np
import pytest

from movekit.datasets import fetch

LEFT_W_PX, LEFT_H_PX, RIGHT_W_PX, H_PX = 504, 896, 648, 1152
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

    client = _frames("pose2sim_single_cam02", (LEFT_W_PX, LEFT_H_PX))
    other = _frames("pose2sim_multi_cam01", (RIGHT_W_PX, H_PX))
    folder = tmp_path_factory.mktemp("follow")
    clip = folder / "enters.mp4"
    vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 60, (LEFT_W_PX + RIGHT_W_PX, H_PX))
    for i in range(100):
        canvas = np.full((H_PX, LEFT_W_PX + RIGHT_W_PX, 3), 90, np.uint8)
        if i not in HIDDEN:
            canvas[H_PX - LEFT_H_PX:, :LEFT_W_PX] = client[i]
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
    shoulders, hips = pose.image_px[:, [11, 12]].mean(axis=1), pose.image_px[:, [23, 24]].mean(axis=1)
    torso_px = np.linalg.norm(shoulders[:, :2] - hips[:, :2], axis=1)
    before, after = np.nanmedian(torso_px[:HIDDEN.start]), torso_px[HIDDEN.stop:]
    assert np.all(np.abs(after[back] / before - 1) < 0.35), "a collapsed or stretched skeleton was stored"


def _crossing_clip(path, scale: float = 0.78, x_px: tuple[int, int] = (-250, 1050),
                   floor_px: int = 1080) -> np.ndarray:
    """The woman of ``pose2sim_multi_cam01``, cut out with MediaPipe's own person segmentation and
    scaled by ``scale`` (0.78: the client's size), walks across the front of the client of
    ``pose2sim_single_cam02`` (he stands near x = 560 px) from ``x_px[0]`` to ``x_px[1]`` in 100 frames
    at 60 fps, her feet on the line ``floor_px``. Returns her centre's x (px) in each frame."""
    import cv2
    import mediapipe as mp

    client = _frames("pose2sim_single_cam02", (1088, 1920))
    walker = _frames("pose2sim_multi_cam01", (1088, 1920))
    segmenter = mp.solutions.pose.Pose(static_image_mode=False, enable_segmentation=True)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 60, (1088, 1920))
    her_x = x_px[0] + (x_px[1] - x_px[0]) * np.arange(100) / 99
    for i in range(100):
        mask = segmenter.process(cv2.cvtColor(walker[i], cv2.COLOR_BGR2RGB)).segmentation_mask > 0.5
        ys, xs = np.nonzero(mask)
        box = np.s_[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        cut = cv2.resize(walker[i][box], None, fx=scale, fy=scale)
        keep = cv2.resize(mask[box].astype(np.uint8), cut.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
        if x_px[1] < x_px[0]:  # walking right to left: mirrored, so she faces where she goes
            cut, keep = cut[:, ::-1], keep[:, ::-1]
        h, w = cut.shape[:2]
        top, left = floor_px - h, int(her_x[i]) - w // 2
        frame = client[i].copy()
        y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + h, 1920), min(left + w, 1088)
        if x1 > x0 and y1 > y0:
            region, part = frame[y0:y1, x0:x1], keep[y0 - top:y1 - top, x0 - left:x1 - left]
            region[part] = cut[y0 - top:y1 - top, x0 - left:x1 - left][part]
        vw.write(frame)
    vw.release()
    segmenter.close()
    return her_x


CLIENT_X_PX = 560  # the client's torso centre in the crossing clips (he sways by about 30 px)

CROSSINGS = {
    "left to right": {},
    "right to left": {"x_px": (1338, 38)},
    "nearer the camera (bigger)": {"scale": 0.9, "floor_px": 1150},
    "further away (smaller)": {"scale": 0.7, "floor_px": 1040},
    "slowly, ending beside him": {"x_px": (0, 800)},
}
CROSSING_XFAIL = pytest.mark.xfail(strict=True, reason=(
    "open defect: as she reaches him the model's tracker slides onto her within the motion and size gates, "
    "and she is followed on. Tried (branch wip/follow-scout): searching the rest of the frame for other "
    "people every 0.1-0.25 s in a background thread and refusing detections nearer to where they are "
    "expected. It passes the first four crossings but not the slow one, and it costs 0.79x the bare model "
    "loop on the demo (target 0.95x); branch wip/follow-detector passes all five at 0.86x; see the module "
    "docstring"))


@pytest.mark.filterwarnings(r"ignore:SymbolDatabase\.GetPrototype\(\) is deprecated")
@pytest.mark.parametrize("how", [pytest.param(h, marks=CROSSING_XFAIL) for h in CROSSINGS])
def test_somebody_crossing_in_front_does_not_take_over(tmp_path, how):
    """The client must be followed and she never stored. While she covers him (she is his size) any
    skeleton the model draws there mixes the two; those frames may be stored as not found."""
    from movekit.capture.pipeline import capture
    from movekit.recording import open_recording

    clip = tmp_path / "crossing.mp4"
    her_x = _crossing_clip(clip, **CROSSINGS[how])
    capture(clip, tmp_path / "crossing.mkrec", keys=False)
    x = open_recording(tmp_path / "crossing.mkrec").pose().image_px[:, [11, 12, 23, 24], 0].mean(axis=1)
    found = np.isfinite(x)
    off = np.abs(x[found] - CLIENT_X_PX)
    assert np.all(off < 130), f"stored somebody {off.max():.0f} px from the client: her"
    reached = int(np.argmax(np.abs(her_x - CLIENT_X_PX) < 300))
    assert found[:reached].mean() > 0.9, "client lost before she reached him"
    assert found[90:].mean() > 0.8, "client not found again after she passed"
