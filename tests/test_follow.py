"""Following one person through the real pose model when somebody else walks into view.

The first clip is composed from two real Pose2Sim videos (pinned PyPI files): on the left, the man of
``pose2sim_single_cam02`` (the client, torso about 110 px); from frame 20 on the right, the larger
woman walking in the foreground of ``pose2sim_multi_cam01`` (torso about 190 px). The client is
hidden for frames 40-59, so the model's tracker loses him and its detector finds her: the
follower must store nothing of hers, and find him again when he is back. (At 80 % of that size,
torso 90 px, the model itself re-finds him as a collapsed skeleton, torso 2-30 px, even with nobody
else in the frame, and "found again" counted those; so the client is drawn at a size the model
re-finds properly, and the stored torso length is checked.)

In the others a person of the client's size walks right in front of him, in five ways. The
follower tracks her with the model's person detector in a second thread and tells the two apart by
the colours of their torsos when they overlap (see :mod:`movekit.capture.follow`).
"""

from __future__ import annotations

from pathlib import Path

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
            canvas[H_PX - LEFT_H_PX :, :LEFT_W_PX] = client[i]
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
    back = np.isfinite(pose.image_px[HIDDEN.stop :, 23, 0])
    assert back.mean() > 0.8, f"client found in {back.mean():.0%} of the frames after his return"
    shoulders, hips = pose.image_px[:, [11, 12]].mean(axis=1), pose.image_px[:, [23, 24]].mean(axis=1)
    torso_px = np.linalg.norm(shoulders[:, :2] - hips[:, :2], axis=1)
    before, after = np.nanmedian(torso_px[: HIDDEN.start]), torso_px[HIDDEN.stop :]
    assert np.all(np.abs(after[back] / before - 1) < 0.35), "a collapsed or stretched skeleton was stored"


def _crossing_clip(
    path,
    scale: float = 0.78,
    x_px: tuple[int, int] = (-250, 1050),
    floor_px: int = 1080,
    client_px: np.ndarray | None = None,
):
    """The woman of ``pose2sim_multi_cam01``, cut out with MediaPipe's own person segmentation and
    scaled by ``scale`` (0.78: the client's size), walks across the front of the client of
    ``pose2sim_single_cam02`` (he stands near x = 560 px) from ``x_px[0]`` to ``x_px[1]`` in 100 frames
    at 60 fps, her feet on the line ``floor_px``. Returns her centre's x (px) in each frame, and with
    ``client_px`` (the client's landmarks in each frame, (100, 33, >=2) px) also the fraction of his
    landmarks she covers in each frame."""
    import cv2
    import mediapipe as mp

    client = _frames("pose2sim_single_cam02", (1088, 1920))
    walker = _frames("pose2sim_multi_cam01", (1088, 1920))
    segmenter = mp.solutions.pose.Pose(static_image_mode=False, enable_segmentation=True)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 60, (1088, 1920))
    her_x = x_px[0] + (x_px[1] - x_px[0]) * np.arange(100) / 99
    covered = np.zeros(100)
    for i in range(100):
        mask = segmenter.process(cv2.cvtColor(walker[i], cv2.COLOR_BGR2RGB)).segmentation_mask > 0.5
        ys, xs = np.nonzero(mask)
        box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        cut = cv2.resize(walker[i][box], None, fx=scale, fy=scale)
        keep = cv2.resize(mask[box].astype(np.uint8), cut.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
        if x_px[1] < x_px[0]:  # walking right to left: mirrored, so she faces where she goes
            cut, keep = cut[:, ::-1], keep[:, ::-1]
        h, w = cut.shape[:2]
        top, left = floor_px - h, int(her_x[i]) - w // 2
        frame = client[i].copy()
        y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + h, 1920), min(left + w, 1088)
        if x1 > x0 and y1 > y0:
            region, part = frame[y0:y1, x0:x1], keep[y0 - top : y1 - top, x0 - left : x1 - left]
            region[part] = cut[y0 - top : y1 - top, x0 - left : x1 - left][part]
            if client_px is not None:
                xy = np.round(client_px[i, :, :2]).astype(int) - (left, top)
                ok = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
                covered[i] = keep[xy[ok, 1], xy[ok, 0]].sum() / len(xy)
        vw.write(frame)
    vw.release()
    segmenter.close()
    return her_x if client_px is None else (her_x, covered)


CLIENT_X_PX = 560  # the client's torso centre in the crossing clips (he sways by about 30 px)

CROSSINGS = {
    "left to right": {},
    "right to left": {"x_px": (1338, 38)},
    "nearer the camera (bigger)": {"scale": 0.9, "floor_px": 1150},
    "further away (smaller)": {"scale": 0.7, "floor_px": 1040},
    "slowly, ending beside him": {"x_px": (0, 800)},
}


@pytest.mark.filterwarnings(r"ignore:SymbolDatabase\.GetPrototype\(\) is deprecated")
@pytest.mark.parametrize("how", list(CROSSINGS))
def test_somebody_crossing_in_front_does_not_take_over(tmp_path, how):
    """The client must be followed and she never stored. While she covers him (she is his size) any
    skeleton the model draws there mixes the two; those frames may be stored as not found."""
    from movekit.capture.pipeline import capture
    from movekit.recording import open_recording

    clip = tmp_path / "crossing.mp4"
    her_x = _crossing_clip(clip, **CROSSINGS[how])
    capture(clip, tmp_path / "crossing.mkrec", keys=False)
    rec = open_recording(tmp_path / "crossing.mkrec")
    x = rec.pose().image_px[:, [11, 12, 23, 24], 0].mean(axis=1)
    found = np.isfinite(x)
    off = np.abs(x[found] - CLIENT_X_PX)
    assert np.all(off < 130), f"stored somebody {off.max():.0f} px from the client: her"
    reached = int(np.argmax(np.abs(her_x - CLIENT_X_PX) < 300))
    assert found[:reached].mean() > 0.9, "client lost before she reached him"
    assert found[90:].mean() > 0.8, "client not found again after she passed"
    # she was noticed coming into view (or at the start), before she reached him, and counted once
    seen = [e for e in rec.events if e["kind"] == "people_in_view"]
    assert seen and seen[0]["count"] == 2 and seen[0]["t_s"] < rec.pose().t_s[reached], seen
    assert max(e["count"] for e in seen) == 2, seen


def _looks(clip, out) -> tuple[int, int, float]:
    """(times the person detector ran, frames, frame rate) capturing ``clip``."""
    import cv2

    from movekit.capture.pipeline import capture
    from movekit.capture.pose import MediaPipePose

    class CountingPose(MediaPipePose):
        looked = 0

        def detect_people(self, image_bgr):
            self.looked += 1
            return super().detect_people(image_bgr)

    cap = cv2.VideoCapture(str(clip))
    frames, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    backend = CountingPose()
    try:
        capture(clip, out, keys=False, backend=backend)
    finally:
        backend.close()
    return backend.looked, frames, fps


def test_the_watcher_looks_every_quarter_second_while_the_client_is_alone(tmp_path):
    """The person detector costs about 9 ms a frame on 2 cores; with nobody else in view it runs
    only every ``watch_every_s`` (0.25 s: every 15th frame of this 60 fps clip), not every frame."""
    looked, frames, fps = _looks(fetch("pose2sim_single_cam02"), tmp_path / "alone.mkrec")
    expected = frames / (0.25 * fps)
    assert abs(looked - expected) <= 1.5, f"{looked} looks in {frames} frames"


def test_the_watcher_looks_every_frame_only_while_somebody_is_near(tmp_path):
    """In the Sports2D demo a woman walks by 3-5 of the man's torso lengths away from him: she is
    tracked (tests/test_capture.py checks she is never stored) without looking in every frame. The
    detector ran 40 times in its 230 frames (every frame while anybody else was remembered: 163)."""
    looked, frames, fps = _looks(fetch("sports2d_demo"), tmp_path / "demo.mkrec")
    assert frames / (0.25 * fps) <= looked <= 0.3 * frames, f"{looked} looks in {frames} frames"


# --- a LARGER person walks in front of the client chosen with --person ----------------------------

BIG_SCALE = 1.0  # 1.28 times the client's size (0.78 is his size): nearer the camera, feet lower
BIG_WALK = {"scale": BIG_SCALE, "x_px": (230, 1000), "floor_px": 1220}


@pytest.fixture(scope="module")
def larger_walker(tmp_path_factory, captured):
    """The crossing clip with the woman 1.28 times the client's size, in view from the first frame on
    his left (so ``largest`` would follow her), walking right across the front of him: (clip, her x
    per frame, fraction of his landmarks she covers per frame, from his pose in the clip alone)."""
    from movekit.recording import open_recording

    alone = open_recording(captured("pose2sim_single_cam02")).pose().image_px.copy()
    alone[..., 0] *= 1088 / 1080  # the clip is 1080 px wide; _crossing_clip draws it 1088 wide
    clip = tmp_path_factory.mktemp("larger") / "larger.mp4"
    return (clip, *_crossing_clip(clip, client_px=alone, **BIG_WALK))


@pytest.mark.filterwarnings(r"ignore:SymbolDatabase\.GetPrototype\(\) is deprecated")
def test_the_client_chosen_with_person_is_kept_when_a_larger_one_walks_in_front(larger_walker, tmp_path):
    """``--person X,Y`` on the client in the first frame: he is followed, never her, though she is
    larger and passes right in front of him; the notice and the ``people_in_view`` event say that two
    people were in view at the start, and the choice is stored. Where she covers at most a fifth of
    his landmarks (47 of the 100 frames) he is found; while she covers more (up to 70 %: frames
    18-68) those frames may be stored as not found (measured: found in 45 of the 47 visible frames,
    nothing stored in the covered ones)."""
    from movekit.capture.pipeline import capture
    from movekit.recording import open_recording

    clip, her_x, covered = larger_walker
    summary = capture(clip, tmp_path / "chosen.mkrec", keys=False, person=f"{CLIENT_X_PX},700")
    rec = open_recording(tmp_path / "chosen.mkrec")
    x = rec.pose().image_px[:, [11, 12, 23, 24], 0].mean(axis=1)
    found = np.isfinite(x)
    off = np.abs(x[found] - CLIENT_X_PX)
    assert np.all(off < 130), f"stored somebody {off.max():.0f} px from the client: her"
    visible = covered <= 0.2
    assert visible.sum() >= 40 and covered.max() > 0.5  # she does pass in front of him
    assert found[visible].mean() > 0.9, f"client found in {found[visible].mean():.0%} of the frames he is visible"
    assert found[90:].mean() > 0.8, "client not found again after she passed"
    sel = rec.metadata["person_selection"]
    assert sel["strategy"] == f"{CLIENT_X_PX},700" and sel["people_at_start"] == 2
    assert sel["box_px"][0] < CLIENT_X_PX < sel["box_px"][2]
    start = [e for e in rec.events if e["kind"] == "people_in_view"][0]
    assert start["change"] == "start" and start["count"] == 2 and start["t_s"] == rec.pose().t_s[0]
    assert any(
        f"2 people in view at the start: following the one at {CLIENT_X_PX},700 px" in n for n in summary.notices
    ), summary.notices


@pytest.mark.filterwarnings(r"ignore:SymbolDatabase\.GetPrototype\(\) is deprecated")
def test_without_person_the_larger_one_is_followed(larger_walker, tmp_path):
    """The default, ``largest``, follows her from the first frame: why ``--person`` is needed here."""
    from movekit.capture.pipeline import capture
    from movekit.recording import open_recording

    clip, her_x, _ = larger_walker
    capture(clip, tmp_path / "largest.mkrec", keys=False)
    x = open_recording(tmp_path / "largest.mkrec").pose().image_px[:10, [11, 12, 23, 24], 0].mean(axis=1)
    assert np.nanmax(np.abs(x - her_x[:10])) < 100, f"torso at {np.round(x)}, she is at {np.round(her_x[:10])}"


# --- --person: parsing and choosing (exact, no model) -----------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("largest", "largest"),
        ("Centre", "centre"),
        ("center", "centre"),
        ("left", "left"),
        ("right", "right"),
        ("560,700", (560.0, 700.0)),
        (" 12.5, 3 ", (12.5, 3.0)),
        ((4, 5), (4.0, 5.0)),
    ],
)
def test_person_choices_parse(text, expected):
    from movekit.capture.follow import parse_person, person_text

    assert parse_person(text) == expected
    assert parse_person(person_text(parse_person(text))) == expected  # stored text round-trips


@pytest.mark.parametrize("text", ["biggest", "560", "560,700,3", "-5,100", "nan,3", ""])
def test_person_choice_errors_are_one_line(text):
    from movekit.capture.follow import parse_person
    from movekit.errors import MovekitError

    with pytest.raises(MovekitError, match="--person") as err:
        parse_person(text)
    assert "\n" not in str(err.value)


def test_choose_person_by_size_side_centre_and_point():
    from movekit.capture.follow import choose_person

    # a small person on the left, a large one in the middle, a medium one on the right (1000 px frame)
    boxes = [np.array([50, 300, 150, 600.0]), np.array([400, 100, 650, 900.0]), np.array([800, 200, 950, 800.0])]
    centres = [np.array([100, 400.0]), np.array([525, 350.0]), np.array([875, 400.0])]
    assert choose_person(boxes, centres, "largest", 1000)[0] == 1
    assert choose_person(boxes, centres, "left", 1000)[0] == 0
    assert choose_person(boxes, centres, "right", 1000)[0] == 2
    assert choose_person(boxes, centres, "centre", 1000)[0] == 1
    assert choose_person(boxes, centres, "centre", 1600)[0] == 2  # the middle is x = 800 now
    assert choose_person(boxes, centres, (120.0, 500.0), 1000) == (0, 0.0)  # inside the small one's box
    i, away = choose_person(boxes, centres, (700.0, 50.0), 1000)  # above everybody: the nearest box
    assert i == 1 and away == pytest.approx(np.hypot(50, 50))
    # two boxes hold the point: the one whose torso centre is nearer (the person in front)
    overlap = [np.array([0, 0, 500, 1000.0]), np.array([300, 200, 600, 900.0])]
    assert choose_person(overlap, [np.array([250, 400.0]), np.array([450, 500.0])], (430.0, 480.0), 1000)[0] == 1


# --- the follower's logic on scripted model output (no model: exact, fast) ---------------------------


def _skeleton(centre_px: tuple[float, float], torso_px: float = 100.0):
    """A standing person's landmarks (PoseEstimate) with the torso centred on ``centre_px``."""
    from movekit.capture.pose import PoseEstimate

    x, y = centre_px
    image = np.zeros((33, 3), np.float32)
    image[:, 0], image[:, 1] = x, y - torso_px  # face
    image[[11, 13, 15], :2], image[[12, 14, 16], :2] = (x - 30, y - torso_px / 2), (x + 30, y - torso_px / 2)
    image[[23, 25, 27, 29, 31], :2] = (x - 20, y + torso_px / 2)
    image[[24, 26, 28, 30, 32], :2] = (x + 20, y + torso_px / 2)
    image[[25, 26], 1] += torso_px
    image[27:, 1] += 2 * torso_px
    ones = np.ones(33, np.float32)
    return PoseEstimate(image, np.zeros((33, 3), np.float32), ones, ones.copy())


class ScriptedPose:
    """A pose backend whose model and person detector return what each frame's script says."""

    def __init__(self, model: dict, people: dict):
        self.model, self.people, self.frame, self.runs, self.looks = model, people, 0, 0, 0
        self.follower = None  # when set: the model sees only the follower's window, as the real one

    def process(self, image_bgr, image_rgb=None):
        from movekit.capture.pose import PoseEstimate

        self.runs += 1
        where = self.model.get(self.frame)
        if where is None or not image_bgr.any():
            return PoseEstimate.missing()
        window = None if self.follower is None else self.follower.window
        if window is None:
            return _skeleton(where)
        x0, y0, side = window  # in the window's pixels, and only when inside it
        inside = 0 <= where[0] - x0 < side and 0 <= where[1] - y0 < side
        return _skeleton((where[0] - x0, where[1] - y0)) if inside else PoseEstimate.missing()

    def detect_people(self, image_bgr):
        from movekit.capture.pose import PersonDetection

        self.looks += 1
        return [
            PersonDetection(np.array([x, y + 50.0]), np.array([x, y - 50.0]), 200.0, 0.9)
            for x, y in self.people.get(self.frame, [])
        ]

    def find_people(self, image_bgr, known_boxes=(), max_people=4):
        return []


def _scene(client_px, other_px) -> np.ndarray:
    """A grey frame with the client's torso red and the other person's green (BGR)."""
    image = np.full((1000, 1200, 3), 90, np.uint8)
    for centre, colour in ((client_px, (40, 40, 200)), (other_px, (40, 200, 40))):
        if centre is not None:
            x, y = int(centre[0]), int(centre[1])
            image[y - 60 : y + 60, x - 35 : x + 35] = colour
    return image


def test_somebody_who_walks_in_while_the_client_is_lost_is_not_taken_for_him():
    """The client (x = 300 px) is seen for 10 frames, then the model loses him for 40 frames (30 fps).
    A woman walks in on the right at frame 12, 600 px from where he was (further than he could have
    moved in 0.4 s), towards him at 300 px/s; from frame 40 the model draws her. She is somebody else
    from her first detection on, so her skeleton is never returned; he is, when the model has him again
    at frame 50. (Before: she was confirmed as somebody else only in a frame where the model had him
    too, and was followed from frame 40.)"""
    from movekit.capture.follow import PersonFollower

    her = {i: (900 - 10 * (i - 12), 500) for i in range(12, 60)}
    model = {i: (300, 500) for i in range(10)} | {i: her[i] for i in range(40, 50)}
    model |= {i: (310, 500) for i in range(50, 60)}
    backend = ScriptedPose(model, {i: [xy] for i, xy in her.items()})
    follower = PersonFollower()
    backend.follower = follower
    returned = []
    try:
        for i in range(60):
            backend.frame = i
            image = _scene((300, 500) if i < 10 or i >= 50 else None, her.get(i))
            est = follower.process(backend, image, i / 30)
            returned.append(est.image_px[[23, 24], 0].mean() if est.found else np.nan)
    finally:
        follower.close()
    x = np.array(returned)
    assert np.all(np.isfinite(x[:10])) and np.all(np.abs(x[:10] - 300) < 1)
    assert not np.isfinite(x[10:50]).any(), f"returned her at frames {np.flatnonzero(np.isfinite(x[10:50])) + 10}"
    assert np.isfinite(x[50:]).mean() >= 0.8 and np.all(np.abs(x[50:][np.isfinite(x[50:])] - 310) < 1)
    assert any(e["kind"] == "people_in_view" and e["count"] == 2 for e in follower.events)


def test_the_model_rests_on_two_frames_in_three_once_the_client_is_lost_a_second():
    """The client is seen for 10 frames (30 fps), then nobody is anywhere for 60 frames, then he is
    back. Lost for up to ``sparse_after_s`` (1 s) the model runs on every frame; after that on one
    in three (the person detector still looks every ``lost_watch_every_s``); he is found again
    within two frames of being back, by the model or through a detection on a frame it rests."""
    from movekit.capture.follow import PersonFollower

    model = {i: (300, 500) for i in list(range(10)) + list(range(70, 90))}
    backend = ScriptedPose(model, {i: [(300, 500)] for i in range(70, 90)})
    follower = PersonFollower()
    backend.follower = follower
    runs, found = [], []
    try:
        for i in range(90):
            backend.frame = i
            before = backend.runs
            est = follower.process(backend, _scene(model.get(i), None), i / 30)
            runs.append(backend.runs - before)
            found.append(est.found)
    finally:
        follower.close()
    runs, found = np.array(runs), np.array(found)
    assert found[:10].all() and not found[10:70].any()
    assert np.all(runs[12:39] >= 1)  # lost under a second: the model on every frame
    rested = runs[42:70] == 0
    assert 16 <= rested.sum() <= 20, runs[42:70]  # two frames in three
    assert found[72:].all()  # at worst two frames late


# --- coverage on real footage, against a reference that is not the follower ------------------------


def _follow(video, choose="largest") -> tuple[np.ndarray, int, int]:
    """(mid-hip px per frame, model runs, detector runs) of the follower alone over ``video``."""
    import cv2

    from movekit.capture.follow import PersonFollower
    from movekit.capture.pose import MediaPipePose

    class Counting(MediaPipePose):
        runs = looks = 0

        def process(self, image_bgr, image_rgb=None):
            self.runs += 1
            return super().process(image_bgr, image_rgb)

        def detect_people(self, image_bgr):
            self.looks += 1
            return super().detect_people(image_bgr)

    backend, follower = Counting(), PersonFollower(choose=choose)
    cap = cv2.VideoCapture(str(video))
    fps, hips = cap.get(cv2.CAP_PROP_FPS), []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            est = follower.process(backend, frame, len(hips) / fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            hips.append(est.image_px[[23, 24], :2].mean(axis=0))
    finally:
        follower.close()
        backend.close()
    return np.array(hips, np.float64), backend.runs, backend.looks


@pytest.mark.filterwarnings(r"ignore:SymbolDatabase\.GetPrototype\(\) is deprecated")
def test_the_demo_against_hand_labels():
    """The Sports2D demo against the man's mid-hip labelled by hand (scripts/bench_follow.py, where
    the labelling is described): never the woman, the man in at least 93 % of the frames where a
    person finds him (measured: 203 of 211 in scripts/bench_follow.py's run; 204 in an earlier stop, whose
    changes brought the demo played forward and backward from 189 frames of the woman to 2), and the model run about once a
    frame (the person detector in at most a third of them)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from bench_follow import demo_clip, score

    video, ref, choose = demo_clip(None)
    hips, runs, looks = _follow(video, choose)
    s = score(hips, ref)
    assert s["frames"] == 230 and s["visible"] == 211
    assert s["wrong"] == 0, f"the wrong person in frames {s['wrong_frames']}"
    assert s["client"] >= 0.93 * s["visible"], s
    assert runs <= 1.05 * s["frames"] and looks <= s["frames"] / 3, (runs, looks, s)


@pytest.mark.parametrize("covered", [False, True], ids=["nobody over him", "somebody over him"])
def test_a_failed_look_again_is_repeated_only_where_nobody_covers_the_client(covered):
    """The model draws somebody else (600 px away: further than the client could have moved) for 8
    frames at 30 fps right after the client was seen. Looking again in the same frame (model reset
    and run on his region: two more runs) finds nobody here. While somebody else is over the client
    (``_covered``; stubbed here, the crossing clips test it on real footage) every skeleton mixes the
    two (on the crossing clip the looks in 20 such frames in a row found him in none), so after a
    failed look the follower waits ``retry_gap_s`` (0.1 s): 3 looks, not 8. Elsewhere a failed look
    is a moment's miss, and it looks again in every refused frame."""
    from movekit.capture.follow import PersonFollower

    model = {i: (300, 500) for i in range(10)} | {i: (900, 500) for i in range(10, 18)}
    model |= {i: (305, 500) for i in range(18, 30)}
    backend = ScriptedPose(model, {})
    # the whole frame throughout (``window_torso=0``): this is about looking again, not the window
    follower = PersonFollower(watch=False, window_torso=0)
    if covered:
        follower._covered = lambda t_s: True
    returned = []
    try:
        for i in range(30):
            backend.frame = i
            est = follower.process(backend, _scene(model[i], None), i / 30)
            returned.append(est.image_px[[23, 24], 0].mean() if est.found else np.nan)
    finally:
        follower.close()
    x = np.array(returned)
    assert not np.isfinite(x[10:18]).any(), "returned the other person"
    assert np.all(np.abs(x[18:] - 305) < 1), x[18:]
    assert backend.runs == 30 + 2 * (3 if covered else 8), backend.runs
    assert follower.switches_rejected == 8


@pytest.mark.filterwarnings(r"ignore:SymbolDatabase\.GetPrototype\(\) is deprecated")
def test_the_crossing_clip_against_the_client_s_own_track():
    """The bench's crossing clip (scripts/bench_follow.py ``crossing``: she walks right in front of him,
    his reference is the model's track on his clip alone): never her, him in at least 88 % of the 81
    frames where she covers at most a fifth of him (measured 74, 76 before the follower's clock took whole
    milliseconds; 62 before the client's whole box was
    kept visible when she is blanked from the model's frames), about one model run a frame (measured
    112 in 100 frames; 143 when every refused frame was looked at again) and the person detector in
    at most 40 % of the frames (measured 33; 57 when it ran in every frame while she was within 2.5
    of his torso lengths)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from bench_follow import crossing_clip, score

    video, ref, choose = crossing_clip(None)
    hips, runs, looks = _follow(video, choose)
    s = score(hips, ref)
    assert s["frames"] == 100 and s["visible"] == 81
    assert s["wrong"] == 0, f"the wrong person in frames {s['wrong_frames']}"
    assert s["client"] >= 0.88 * s["visible"], s
    assert runs <= 1.2 * s["frames"] and looks <= 0.4 * s["frames"], (runs, looks, s)


@pytest.mark.filterwarnings(r"ignore:SymbolDatabase\.GetPrototype\(\) is deprecated")
def test_the_client_lost_in_the_glare_is_found_again_on_his_box_not_the_woman():
    """The Sports2D demo played backward: the man walks in from the right, is lost in the glare of his
    somersault, and must be found again on his box, backlit (the whole-frame person detector scores
    his face 0.6 or less and otherwise takes the woman walking by below him), which the model does in
    a window around where he was last seen. Measured: 200 of 211 frames (197 before the follower's clock took whole milliseconds), none on the woman (58 and 2
    on the woman looking at the whole frame)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from bench_follow import demo_clip, score

    video, ref, choose = demo_clip(None, reverse=True)
    hips, runs, looks = _follow(video, choose)
    s = score(hips, ref)
    assert s["frames"] == 230 and s["visible"] == 211
    assert s["wrong"] == 0, f"the wrong person in frames {s['wrong_frames']}"
    assert s["client"] >= 0.9 * s["visible"], s
    assert runs <= 1.15 * s["frames"], (runs, looks, s)


def test_the_window_lies_inside_the_frame_and_maps_landmarks_back():
    """A window (x0, y0, side) stays inside the frame, is refused when not smaller than its shorter
    side, and the landmarks the model finds in it come back in the frame's pixels."""
    from movekit.capture.follow import process_window, window_px
    from movekit.capture.pose import PoseEstimate

    assert window_px(np.array([50.0, 900.0]), 600, (994, 1768, 3)) == (0, 394, 600)
    assert window_px(np.array([1700.0, 100.0]), 600, (994, 1768, 3)) == (1168, 0, 600)
    assert window_px(np.array([500.0, 500.0]), 994, (994, 1768, 3)) is None

    class Fixed:
        shapes: list = []

        def process(self, image_bgr, image_rgb=None):
            self.shapes.append(image_bgr.shape)
            est = PoseEstimate.missing()
            est.image_px[:, :2] = (10.0, 20.0)
            return est

    frame = np.zeros((994, 1768, 3), np.uint8)
    est = process_window(Fixed(), frame, (1168, 0, 600))
    assert Fixed.shapes == [(600, 600, 3)]
    assert np.allclose(est.image_px[:, :2], (1178.0, 20.0))


def test_the_model_sees_the_window_with_others_blanked_as_in_a_blanked_copy_of_the_frame():
    """``model_input`` copies only the window, yet shows the model the same pixels as blanking a copy of
    the whole frame and cutting the window out of it, in RGB and read-only (so that MediaPipe takes it
    without another copy); a box of somebody predicted off the frame's left edge blanks nothing (its
    negative right edge, read from the frame's right, once blanked all but the last columns)."""
    import cv2

    from movekit.capture.follow import mask_inside, model_input

    rng = np.random.default_rng(0)
    frame = rng.integers(1, 256, (994, 1768, 3), dtype=np.uint8)
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    rgb.flags.writeable = False
    others = [np.array([900.0, 100.0, 1300.0, 700.0]), np.array([1000.0, 600.0, 1500.0, 1200.0])]
    keep = np.array([1100.0, 200.0, 1250.0, 500.0])
    for window in [(800, 50, 600), None]:
        whole = frame
        for box in others:
            whole = mask_inside(whole, box, keep=keep)
        x0, y0, side = window or (0, 0, None)
        want = cv2.cvtColor(whole, cv2.COLOR_BGR2RGB)[
            y0 : y0 + side if side else None, x0 : x0 + side if side else None
        ]
        for given in (rgb, None):
            bgr, shown = model_input(frame, window, given, others, keep)
            assert bgr.shape == want.shape and np.array_equal(shown, want) and not shown.flags.writeable
    assert 0.2 < (want == 0).all(axis=2).mean() < 0.4  # the two boxes, grown, blanked; the kept box not
    assert (want[250:450, 1150:1200] != 0).all()
    off_left = np.array([-881.5, 545.8, -500.9, 1221.6])  # from the crossing clip
    assert np.array_equal(mask_inside(frame, off_left), frame)
    assert np.array_equal(model_input(frame, None, rgb, [off_left])[1], rgb)
    bgr, shown = model_input(frame, None, rgb)
    assert shown is rgb and bgr is frame  # nothing to cut or blank: no copy


@pytest.mark.parametrize(
    "seen_s, now_s",
    [
        (5.633333333333334, 5.833333333333333),  # frame / fps: 0.19999999999999929 s apart
        (5.633, 5.833),  # the video's presentation times in ms: 0.20000000000000018 s apart
        (5.6330004, 5.8329996),  # a camera's clock, within a millisecond of whole frames
    ],
)
def test_a_time_limit_is_reached_at_the_same_frame_whatever_the_timestamps_last_bits(seen_s, now_s):
    """Six frames at 30 fps after the client was last seen he counts as lost (the model looks in a
    window around where he was) with every kind of timestamp: the limits are whole numbers of frames,
    and before the tolerance the same video was followed differently with times of frame / fps and
    with its presentation times (the demo forward-backward: 1250 against 1179 frames followed)."""
    from movekit.capture.follow import PersonFollower, _reached, _Track

    assert _reached(now_s - seen_s, 0.2) and not _reached(now_s - seen_s, 0.2 + 1 / 30)
    follower = PersonFollower()
    follower._me = _Track(np.array([500.0, 400.0]), 100.0, np.array([450.0, 300.0, 550.0, 600.0]), round(seen_s, 3))
    follower._lengths, follower._frame_shape = [(round(seen_s, 3), 100.0)], (994, 1768, 3)
    assert follower._window(round(now_s - 1 / 30, 3)) is None  # five frames: not lost yet
    assert follower._window(round(now_s, 3)) == (200, 100, 600)


def test_a_person_point_outside_the_frame_is_refused_before_anything_is_written(tmp_path):
    """--person X,Y beyond the frame (5000,5000 on a 1088x1920 video) is refused as a negative one
    is, before the recording is created: the nearest person 5 m of pixels away is nobody's choice."""
    from movekit.capture.pipeline import capture
    from movekit.errors import MovekitError

    out = tmp_path / "r.mkrec"
    for point in ("5000,5000", "1088,100", "100,1920"):
        with pytest.raises(MovekitError, match=f"--person {point} lies outside the 1088x1920 frame"):
            capture(fetch("pose2sim_multi_cam01"), out, keys=False, person=point, tilt="unknown")
        assert not out.exists()
