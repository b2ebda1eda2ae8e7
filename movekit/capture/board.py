"""Calibration boards: ChArUco (OpenCV's aruco module, in the contrib build mediapipe brings) and
checkerboards, found in images and in each camera's video (the I/O edge of
:func:`movekit.analysis.extrinsics.board_extrinsics`).

A board is given as text, as on the command line:

* ``charuco:SQUARES_X,SQUARES_Y,SQUARE_M,MARKER_M[,DICT]``: squares across and down, square and
  marker side (m), the ArUco dictionary (default ``DICT_4X4_50``; OpenCV >= 4.6 pattern);
* ``checker:COLS,ROWS,SQUARE_M``: inner corners across and down, square side (m). A checkerboard
  looks the same turned by 180 deg when both counts are odd or both even, so its corners can be
  numbered differently by two cameras: use one even and one odd count (refused otherwise).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from movekit.errors import MovekitError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoardSpec:
    """A calibration board.

    Attributes
    ----------
    kind : ``"charuco"`` or ``"checker"``
    cols, rows : int
        ChArUco: squares across and down; checker: inner corners across and down.
    square_m : float
        Square side (m).
    marker_m : float
        ChArUco marker side (m); 0 for a checkerboard.
    dictionary : str
        ArUco dictionary name (ChArUco).
    """

    kind: str
    cols: int
    rows: int
    square_m: float
    marker_m: float = 0.0
    dictionary: str = "DICT_4X4_50"

    def cv_board(self):
        """The :class:`cv2.aruco.CharucoBoard` (ChArUco only)."""
        import cv2

        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.cols, self.rows), self.square_m, self.marker_m, d)

    @property
    def points_m(self) -> np.ndarray:
        """Every corner id's position on the board ``(n, 3)`` (m, OpenCV's board frame, z = 0)."""
        if self.kind == "charuco":
            return np.asarray(self.cv_board().getChessboardCorners(), np.float64).reshape(-1, 3)
        g = np.mgrid[0 : self.cols, 0 : self.rows].T.reshape(-1, 2) * self.square_m
        return np.column_stack([g, np.zeros(len(g))])


def parse_board(text: str) -> BoardSpec:
    """``charuco:SQUARES_X,SQUARES_Y,SQUARE_M,MARKER_M[,DICT]`` or ``checker:COLS,ROWS,SQUARE_M``."""
    import cv2

    kind, _, rest = text.partition(":")
    parts = [p.strip() for p in rest.split(",")]
    try:
        if kind == "charuco" and len(parts) in (4, 5):
            dictionary = parts[4].upper() if len(parts) == 5 else "DICT_4X4_50"
            spec = BoardSpec("charuco", int(parts[0]), int(parts[1]), float(parts[2]), float(parts[3]), dictionary)
        elif kind == "checker" and len(parts) == 3:
            spec = BoardSpec("checker", int(parts[0]), int(parts[1]), float(parts[2]))
        else:
            raise ValueError
    except ValueError:
        raise MovekitError(
            f"--board {text!r}: expected charuco:SQUARES_X,SQUARES_Y,SQUARE_M,MARKER_M[,DICT] "
            "or checker:COLS,ROWS,SQUARE_M (sizes in metres)"
        ) from None
    if spec.cols < 3 or spec.rows < 3 or not (0.003 <= spec.square_m <= 1.0):
        raise MovekitError(f"--board {text!r}: at least 3x3 and a square of 3 mm to 1 m")
    if spec.kind == "charuco":
        if not 0 < spec.marker_m < spec.square_m:
            raise MovekitError(f"--board {text!r}: the marker must be smaller than the square")
        if not hasattr(cv2.aruco, spec.dictionary):
            raise MovekitError(f"--board {text!r}: unknown ArUco dictionary {spec.dictionary}")
    elif spec.cols % 2 == spec.rows % 2:
        raise MovekitError(
            f"--board {text!r}: a checkerboard with {spec.cols}x{spec.rows} inner corners looks the same turned "
            "round, so cameras may number its corners differently; use one odd and one even count, or ChArUco"
        )
    return spec


def detect_board(image: np.ndarray, spec: BoardSpec, *, min_corners: int = 6) -> tuple[np.ndarray, np.ndarray] | None:
    """Corner ids ``(n,)`` and positions ``(n, 2)`` (px, sub-pixel) of the board in one image
    (BGR or grey), or None when it is not found (or fewer than ``min_corners`` corners)."""
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if spec.kind == "charuco":
        corners, ids, _, _ = cv2.aruco.CharucoDetector(spec.cv_board()).detectBoard(grey)
        if ids is None or len(ids) < min_corners:
            return None
        return ids.ravel().astype(np.int64), corners.reshape(-1, 2).astype(np.float64)
    found, corners = cv2.findChessboardCorners(grey, (spec.cols, spec.rows), cv2.CALIB_CB_ADAPTIVE_THRESH)
    if not found:
        return None
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.01)
    corners = cv2.cornerSubPix(grey, corners, (5, 5), (-1, -1), crit)
    return np.arange(len(corners), dtype=np.int64), corners.reshape(-1, 2).astype(np.float64)


def detect_in_video(path: str | Path, spec: BoardSpec, *, max_frames: int = 30) -> tuple[dict, tuple[int, int]]:
    """The board in up to ``max_frames`` frames spread over a video.

    Returns
    -------
    detections : dict
        ``{frame_index: (ids, corners_px)}`` for the frames where the board was found; the
        frame index is the video's, so synchronised videos share keys.
    size_px : (width, height)

    Raises
    ------
    MovekitError
        The video cannot be opened.
    """
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise MovekitError(f"{path}: cannot open the video")
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or max_frames
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        wanted = set(np.unique(np.linspace(0, max(n - 1, 0), min(n, max_frames)).round().astype(int)).tolist())
        out, i = {}, 0
        while wanted and i <= max(wanted):
            ok = cap.grab()
            if not ok:
                break
            if i in wanted:
                ok, frame = cap.retrieve()
                got = detect_board(frame, spec) if ok else None
                if got is not None:
                    out[i] = got
                wanted.discard(i)
            i += 1
    finally:
        cap.release()
    log.info("%s: board found in %d frames", path, len(out))
    return out, size


def render_board(spec: BoardSpec, px_per_m: float = 4000.0, margin_squares: float = 0.5) -> tuple[np.ndarray, float]:
    """A printable image of the board (grey, uint8) and the offset (m) of the board's origin
    from the image's top-left corner (the white margin), for printing or for virtual views."""
    import cv2

    margin = int(round(margin_squares * spec.square_m * px_per_m))
    if spec.kind == "charuco":
        size = (int(round(spec.cols * spec.square_m * px_per_m)), int(round(spec.rows * spec.square_m * px_per_m)))
        img = spec.cv_board().generateImage(size, marginSize=0)
        offset = 0.0
    else:
        s = int(round(spec.square_m * px_per_m))
        img = (np.indices(((spec.rows + 1) * s, (spec.cols + 1) * s)) // s).sum(axis=0) % 2 * 255
        img = img.astype(np.uint8)
        offset = spec.square_m  # the first inner corner is one square in
    img = cv2.copyMakeBorder(img, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=255)
    return img, margin / px_per_m + offset


__all__ = ["BoardSpec", "detect_board", "detect_in_video", "parse_board", "render_board"]
