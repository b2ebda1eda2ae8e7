"""Pose estimation backends behind one small protocol.

The default backend is MediaPipe's legacy Pose solution (BlazePose GHUM 3D; Bazarevsky
et al. 2020, arXiv:2006.10204). Its full landmark model (``model_complexity=1``) ships
inside the ``mediapipe==0.10.14`` wheel and works offline. The lite (0) and heavy (2) models,
which mediapipe itself would download from Google's storage at first use, are fetched instead
by pinned version from the npm registry (``@mediapipe/pose@0.5.1675469404``, whose full model is
byte-identical to the wheel's; :data:`movekit.datasets.PINNED`), checked by hash and cached, or
taken from a model file the user supplies; the installed mediapipe package is never written to.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from movekit.errors import MovekitError

N_LANDMARKS = 33
_MODEL_FILES = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite", 2: "pose_landmark_heavy.tflite"}


@dataclass
class PoseEstimate:
    """One person's landmarks in one frame (all float32).

    image_px : (33, 3) x, y in pixels (y down); z is relative depth scaled by frame width.
    world_m : (33, 3) metres, origin between the hips.
    visibility, presence : (33,) in 0..1; NaN where the backend gives none.
    """

    image_px: np.ndarray
    world_m: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray

    @classmethod
    def missing(cls) -> PoseEstimate:
        nan3 = np.full((N_LANDMARKS, 3), np.nan, np.float32)
        nan1 = np.full(N_LANDMARKS, np.nan, np.float32)
        return cls(nan3, nan3.copy(), nan1, nan1.copy())

    @property
    def found(self) -> bool:
        return bool(np.isfinite(self.image_px[:, 0]).any())


class PoseBackend(Protocol):
    """What capture needs from a pose model."""

    def process(self, image_bgr: np.ndarray, image_rgb: np.ndarray | None = None) -> PoseEstimate:
        """Pose in one frame; ``image_rgb`` is the same frame in RGB order, if the caller has it."""
        ...

    def find_people(self, image_bgr: np.ndarray, known_boxes: list = (), max_people: int = 4) -> list[PoseEstimate]: ...

    def detect_people(self, image_bgr: np.ndarray) -> list[PersonDetection]: ...

    def settings(self) -> dict: ...

    def close(self) -> None: ...


@dataclass
class PersonDetection:
    """One person found by a detector alone (no landmarks), in pixels of the frame.

    hips_px, shoulders_px : (2,) mid-hip and mid-shoulder points.
    reach_px : radius of a circle around the hips that holds the whole body.
    score : detector confidence, 0..1.
    """

    hips_px: np.ndarray
    shoulders_px: np.ndarray
    reach_px: float
    score: float

    @property
    def centre_px(self) -> np.ndarray:
        """Torso centre (px): halfway between mid-hip and mid-shoulder."""
        return (self.hips_px + self.shoulders_px) / 2

    @property
    def torso_px(self) -> float:
        """Torso length (px): mid-shoulder to mid-hip."""
        return float(np.linalg.norm(self.shoulders_px - self.hips_px))

    @property
    def box_px(self) -> np.ndarray:
        """(x0, y0, x1, y1) around the body: ``reach_px`` above and below the hips, half of it
        to either side (a standing or walking person is about twice as tall as wide)."""
        r = self.reach_px
        return np.array(
            [self.hips_px[0] - r / 2, self.hips_px[1] - r, self.hips_px[0] + r / 2, self.hips_px[1] + r], np.float64
        )


#: parts of mediapipe that ``mediapipe/__init__`` imports but movekit never uses (the overlay is
#: drawn with OpenCV, :mod:`movekit.capture.annotate`; the Tasks API is not used): module -> its
#: file relative to mediapipe's folder. The drawing helpers import matplotlib.pyplot; together
#: about 0.35 s of CPU in every capture's start-up on this machine (measured, docs/benchmarks.md)
_UNUSED_MEDIAPIPE_MODULES = {
    "mediapipe.python.solutions.drawing_utils": "python/solutions/drawing_utils.py",
    "mediapipe.python.solutions.drawing_styles": "python/solutions/drawing_styles.py",
    # the other solutions (face, hands, holistic, objectron, selfie segmentation): pose imports what it needs itself
    **{
        f"mediapipe.python.solutions.{name}": f"python/solutions/{name}.py"
        for name in ("face_detection", "face_mesh", "hands", "holistic", "objectron", "selfie_segmentation")
    },
    "mediapipe.tasks": "tasks/__init__.py",  # a docstring; registered so its child is found
    "mediapipe.tasks.python": "tasks/python/__init__.py",
}


class _DeferredModule(types.ModuleType):
    """A module whose source runs, in this same module object, on the first read of an attribute
    it does not have yet; it is then an ordinary module."""

    def __getattr__(self, attr: str):
        if attr.startswith("__") or "_movekit_loading" in vars(self):
            raise AttributeError(attr)  # dunder probes of the import system; lookups while loading
        vars(self)["_movekit_loading"] = True
        try:
            self.__spec__.loader.exec_module(self)
        finally:
            del vars(self)["_movekit_loading"]
        self.__class__ = types.ModuleType
        return getattr(self, attr)


def _defer(name: str, path: Path) -> None:
    package = path.name == "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None
    )
    module = _DeferredModule(name)
    module.__spec__, module.__file__, module.__loader__ = spec, spec.origin, spec.loader
    if package:
        module.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = module


def import_mediapipe():
    """``import mediapipe`` without running the parts movekit never uses until they are used.

    ``mediapipe/__init__`` imports every solution, its drawing helpers (which import
    matplotlib.pyplot) and the whole Tasks API. Before the first import of mediapipe in a
    process, the modules of :data:`_UNUSED_MEDIAPIPE_MODULES` are registered as
    :class:`_DeferredModule` s: the same names and files, whose source runs on the first
    attribute anyone reads (``mp.solutions.drawing_utils.DrawingSpec`` and ``mp.tasks.vision``
    still work). Once mediapipe is imported this is a plain ``import mediapipe``.
    """
    if "mediapipe" not in sys.modules:
        spec = importlib.util.find_spec("mediapipe")
        root = Path(spec.origin).parent if spec is not None and spec.origin else None
        for name, rel in _UNUSED_MEDIAPIPE_MODULES.items():
            if root is not None and (root / rel).is_file() and name not in sys.modules:
                _defer(name, root / rel)
        _link_parents()
    import mediapipe

    _link_parents()
    return mediapipe


def _link_parents() -> None:
    """``import a.b.c`` of a module already in ``sys.modules`` sets no attribute ``c`` on ``a.b``:
    set it for the registered modules whose parent is loaded (or registered)."""
    for name in _UNUSED_MEDIAPIPE_MODULES:
        parent, _, child = name.rpartition(".")
        module, up = sys.modules.get(name), sys.modules.get(parent)
        if module is not None and up is not None and child not in vars(up):
            setattr(up, child, module)


def _mediapipe_model_dir() -> Path:
    mediapipe = import_mediapipe()

    return Path(mediapipe.__file__).parent / "modules" / "pose_landmark"


#: TFLite flatbuffers carry this file identifier at bytes 4-8
_TFLITE_ID = b"TFL3"


def _private_resources(model_complexity: int, model_file: Path) -> Path:
    """A private copy of mediapipe's resource tree (``mediapipe/modules/...``, symlinked) with
    ``model_file`` as the landmark model of ``model_complexity``, in the user's cache folder:
    user files never go into the installed package. Keyed by the model's hash, so it is made once."""
    import hashlib

    import platformdirs

    mediapipe = import_mediapipe()

    data = model_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    root = Path(platformdirs.user_cache_dir("movekit")) / "mediapipe-resources" / f"c{model_complexity}-{digest}"
    target = root / "mediapipe" / "modules" / "pose_landmark" / _MODEL_FILES[model_complexity]
    if target.is_file() and target.read_bytes() == data:
        return root
    package = Path(mediapipe.__file__).parent
    tmp = root.with_name(root.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for src in (package / "modules").rglob("*"):
        if src.is_file() and src.suffix in (".binarypb", ".tflite", ".txt", ".pbtxt"):
            dst = tmp / "mediapipe" / src.relative_to(package)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(src, dst)
    dst = tmp / "mediapipe" / "modules" / "pose_landmark" / _MODEL_FILES[model_complexity]
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    dst.write_bytes(data)
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)
    return root


def ensure_model(model_complexity: int, model_file: str | Path | None = None) -> Path:
    """Path of the landmark model for ``model_complexity`` (mediapipe's own, or ``model_file``).

    A ``model_file`` is checked to be a TFLite model and used from a private resource folder in
    the user's cache (:func:`_private_resources`; mediapipe is pointed there), never copied into
    the installed mediapipe package; it is refused for complexity 1, whose model ships. Without
    one, a model mediapipe does not ship (lite, heavy) is fetched by pinned version from the npm
    registry (:func:`movekit.datasets.fetch`) and used from a private resource folder the same way.

    Raises
    ------
    MovekitError
        When the model is not in the mediapipe package, no file is given and the registry cannot
        be reached, or ``model_file`` is missing or not a TFLite model.
    """
    if model_complexity not in _MODEL_FILES:
        raise MovekitError(f"model complexity must be 0, 1 or 2, not {model_complexity}")
    target = _mediapipe_model_dir() / _MODEL_FILES[model_complexity]
    if model_file is not None:
        src = Path(model_file)
        if model_complexity == 1:
            raise MovekitError("--model-file is for complexities 0 and 2: the full model (1) ships with mediapipe")
        if not src.is_file():
            raise MovekitError(f"no model file at {src}")
        with open(src, "rb") as fh:
            head = fh.read(8)
        if len(head) < 8 or head[4:8] != _TFLITE_ID:
            raise MovekitError(
                f"{src} is not a TFLite model (a copy of {_MODEL_FILES[model_complexity]} "
                "from mediapipe's model repository is expected)"
            )
        root = _private_resources(model_complexity, src)
        return root / "mediapipe" / "modules" / "pose_landmark" / _MODEL_FILES[model_complexity]
    if not target.exists():
        from movekit import datasets

        name = {0: "mediapipe_pose_lite", 2: "mediapipe_pose_heavy"}[model_complexity]
        try:
            src = datasets.fetch(name)
        except MovekitError as exc:
            raise MovekitError(
                f"model complexity {model_complexity} needs {target.name}, which mediapipe 0.10.14 does not "
                f"ship; fetching it from the npm registry failed ({exc}); use --model-complexity 1 (shipped), "
                f"or pass --model-file with a copy of {target.name}"
            ) from None
        root = _private_resources(model_complexity, src)
        return root / "mediapipe" / "modules" / "pose_landmark" / _MODEL_FILES[model_complexity]
    return target


class MediaPipePose:
    """MediaPipe legacy Pose (one person, video mode with tracking).

    Parameters
    ----------
    model_complexity : {0, 1, 2}
        0 lite, 1 full (default, shipped), 2 heavy.
    min_detection_confidence, min_tracking_confidence : float
        MediaPipe's thresholds (defaults 0.5).
    model_file : path, optional
        A landmark model file to use for complexities 0 or 2 (used from a private resource
        folder in the user's cache, never copied into mediapipe's package).
    """

    def __init__(
        self,
        model_complexity: int = 1,
        *,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        model_file: str | Path | None = None,
    ) -> None:
        self.model_path = ensure_model(model_complexity, model_file)
        import warnings

        warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated")
        mp = import_mediapipe()
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        #: the private resource tree of a fetched or user model (None: mediapipe's own package)
        self._resources = None if self.model_path.parent == _mediapipe_model_dir() else str(self.model_path.parents[3])
        try:
            with self._graphs_from_resources():
                self._pose = mp.solutions.pose.Pose(
                    static_image_mode=False,
                    model_complexity=model_complexity,
                    smooth_landmarks=True,
                    min_detection_confidence=min_detection_confidence,
                    min_tracking_confidence=min_tracking_confidence,
                )
        except RuntimeError as exc:  # e.g. a TFLite file of another model
            raise MovekitError(f"the pose model could not be loaded ({str(exc).splitlines()[0][:200]})") from None
        self._version = mp.__version__
        self._static = None  # a single-image instance, made on first use by find_people
        self._detector = None  # the person detector alone, made on first use by detect_people

    @contextlib.contextmanager
    def _graphs_from_resources(self):
        """Build mediapipe graphs that read their files from the private resource tree of a user
        model: mediapipe sets its resource folder to its package while building each graph, whose
        calculators then open their files from a thread of their own, so the folder is swapped in
        mediapipe's own call (and its model download skipped: the model is there). A no-op with
        mediapipe's shipped models."""
        if self._resources is None:
            yield
            return
        import mediapipe.python.solution_base as base
        import mediapipe.python.solutions.pose as mp_pose

        real, download, root = base.resource_util, mp_pose._download_oss_pose_landmark_model, self._resources

        class _Private:
            @staticmethod
            def set_resource_dir(_package_dir):
                real.set_resource_dir(root)

        base.resource_util, mp_pose._download_oss_pose_landmark_model = _Private, (lambda complexity: None)
        try:
            yield
        finally:
            base.resource_util, mp_pose._download_oss_pose_landmark_model = real, download

    def detect_people(self, image_bgr: np.ndarray) -> list[PersonDetection]:
        """Everyone the model's own person detector finds in one frame, without landmarks.

        This is the first stage of BlazePose (Bazarevsky et al. 2020): a single-shot detector
        keyed on the face that also predicts the mid-hip and mid-shoulder points and the
        body's extent. It runs in about 8 ms on one core (the full landmark model takes
        about 24 ms) and is independent of the tracking of :meth:`process`, so it can run
        beside it in another thread. It finds a person whose face it sees; it tends to
        report only the most salient person in a frame, so blank the ones already known.
        """
        if self._detector is None:
            from mediapipe.python.solution_base import SolutionBase

            with self._graphs_from_resources():
                self._detector = SolutionBase(graph_config=_DETECTOR_GRAPH, outputs=["detections"])
        h, w = image_bgr.shape[:2]
        people = []
        for det in self._detector.process({"image": _rgb(image_bgr)}).detections or []:
            kp = np.array([(k.x * w, k.y * h) for k in det.location_data.relative_keypoints], np.float64)
            people.append(PersonDetection(kp[0], kp[2], float(np.linalg.norm(kp[1] - kp[0])), float(det.score[0])))
        return people

    def find_people(self, image_bgr: np.ndarray, known_boxes: list = (), max_people: int = 4) -> list[PoseEstimate]:
        """The other people the model finds in one frame, beyond ``known_boxes`` (px), largest first.

        MediaPipe's Pose finds one person per call: the known people's regions and each
        newly found person's are blanked and the frame searched again (with a single-image
        instance, so the tracking of :meth:`process` is not disturbed), until nobody more
        is found. A "person" whose landmarks lie mostly inside a blanked region is the
        model reading the blank itself as a body (seen on real clips: legs drawn on the
        blanked rectangle, torso in the foliage above) and is skipped.
        """
        from movekit.capture.follow import bbox_px, fraction_inside, iou, mask_inside

        mp = import_mediapipe()

        if self._static is None:
            with self._graphs_from_resources():
                self._static = mp.solutions.pose.Pose(
                    static_image_mode=True,
                    model_complexity=self.model_complexity,
                    min_detection_confidence=self.min_detection_confidence,
                )
        found: list[tuple[np.ndarray, PoseEstimate]] = []
        blanked = list(known_boxes)
        image = image_bgr
        for box in known_boxes:
            image = mask_inside(image, box)
        for _ in range(max_people):
            est = self._convert(self._static.process(_rgb(image)), image_bgr.shape)
            box = bbox_px(est.image_px, est.visibility) if est.found else None
            if box is None or any(iou(box, b) > 0.3 for b in blanked):
                break
            if not any(fraction_inside(est.image_px, b) > 0.25 for b in blanked):
                found.append((box, est))
            blanked.append(box)
            image = mask_inside(image, box)
        found.sort(key=lambda be: -(be[0][2] - be[0][0]) * (be[0][3] - be[0][1]))
        return [est for _, est in found]

    def settings(self) -> dict:
        return {
            "backend": "mediapipe.solutions.pose",
            "mediapipe_version": self._version,
            "model_complexity": self.model_complexity,
            "model_file": self.model_path.name,
            "smooth_landmarks": True,
            "min_detection_confidence": self.min_detection_confidence,
            "min_tracking_confidence": self.min_tracking_confidence,
            "presence": "not exposed by the legacy solution: stored as NaN",
        }

    def process(self, image_bgr: np.ndarray, image_rgb: np.ndarray | None = None) -> PoseEstimate:
        """Pose in one frame. ``image_rgb``, the same frame in RGB order, saves converting it here
        (:class:`~movekit.capture.frames.Frame` carries it, converted in the decode thread)."""
        rgb = _rgb(image_bgr) if image_rgb is None else image_rgb
        return self._convert(self._pose.process(rgb), image_bgr.shape)

    @staticmethod
    def _convert(result, shape: tuple[int, ...]) -> PoseEstimate:
        h, w = shape[:2]
        if result.pose_landmarks is None:
            return PoseEstimate.missing()
        lm = result.pose_landmarks.landmark
        arr = np.array([(p.x, p.y, p.z, p.visibility) for p in lm], dtype=np.float64)
        image = np.empty((N_LANDMARKS, 3), np.float32)
        image[:, 0] = arr[:, 0] * w
        image[:, 1] = arr[:, 1] * h
        image[:, 2] = arr[:, 2] * w  # MediaPipe: z uses roughly the same scale as x
        world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], np.float32)
        return PoseEstimate(image, world, arr[:, 3].astype(np.float32), np.full(N_LANDMARKS, np.nan, np.float32))

    def close(self) -> None:
        self._pose.close()
        for extra in (self._static, self._detector):
            if extra is not None:
                extra.close()


# MediaPipe's own pose detection subgraph (pose_detection.tflite, shipped in the wheel), alone
_DETECTOR_GRAPH = """
input_stream: "image"
output_stream: "detections"
node { calculator: "PoseDetectionCpu" input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }
"""


def _rgb(image_bgr: np.ndarray) -> np.ndarray:
    import cv2

    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    rgb.flags.writeable = False
    return rgb
