"""Expected error of every angle for its view and camera set-up, and the gate that refuses the rest.

An angle from one camera is trustworthy only in some views: a knee flexion angle is within a few
degrees of the truth side-on and tens of degrees off at 45 deg of body yaw. Every angle movekit
reports is therefore the pair (value, expected error); the expected error is looked up in a table
measured by ``scripts/validate_angles.py`` (real multi-camera reference, virtual cameras rendered
from it at known yaw, pitch and roll; see ``docs/validity.md``) and an angle is reported only
when its expected error is at most :data:`MAX_ERROR_DEG`. Everything else is NaN with a reason.

The table (``movekit/analysis/data/angle_errors.json``) is indexed per space (``2d`` image
landmarks, ``3d`` world landmarks) and angle by

* the ESTIMATED body yaw (deg, 0 face-on .. 90 side-on, :func:`movekit.analysis.view.body_yaw_deg`),
  so the yaw estimate's own error is part of the measured error;
* the residual camera pitch and roll after the tilt correction (:mod:`movekit.analysis.camera_tilt`:
  the correction's uncertainty, or the whole validated range when the tilt is unknown).

Each cell holds the error (deg) that 90 % of the frames measured in it stay within: the 90th
percentile of the absolute error of every frame in the cell, pooled over all ~460 virtual set-ups
(both filters), raised to the same percentile of a real camera's frames in the cell where one has
at least 10 frames (``scripts/validate_angles.py``, statistic ``frames90``). So "shown" means
"within 5 deg in at least 9 of 10 frames of this view and set-up", the promise checked on the
held-out trial: Lin's total deviation index at 90 % coverage (TDI 0.9, Lin 2000, Stat Med 19:255),
the bound within which 90 % of individual differences from the reference lie, rather than a mean
that hides the bad views. The typical (median) set-up's MAE, used before, promised a typical view only:
on the held-out views 38 % of the trunk-inclination frames it showed were over 5 deg (issue 16).
A cell nothing was measured in is NaN and refused; 30 reads "30 deg or more".

Two consistency rules hold in the table itself (issue 16):

* left/right mirror cells are one cell: the yaw estimate is unsigned (0 face-on or back .. 90
  side-on, either side), so the left angle's cell and the right angle's cell hold the same views
  with the sides mirrored; their value is computed over both sides' frames together;
* the value never decreases with residual pitch or roll (a tilted camera never reads better than
  a level one); :func:`error_by_yaw` takes the worst cell from level to the residual as well.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from movekit.errors import MovekitError

#: An angle is reported only when its expected error (mean absolute error against the reference,
#: deg) is at most this: 2D sagittal angles from a true side view reach about 4-6 deg against
#: marker-based motion capture (Stenum et al. 2021, PLoS Comput Biol 17:e1008935), so 5 deg is
#: what the method can meet where the view is right, and what a goniometer's inter-rater
#: reliability gives in the clinic (about 5 deg for the knee, Gogia et al. 1987, Phys Ther 67:192).
MAX_ERROR_DEG = 5.0
TABLE_RESOURCE = "angle_errors.json"


_UNGATED_DEPTH = [0]  # process-wide (capture and drills run analysis in their own threads)


def gating() -> bool:
    """True unless inside :func:`ungated`: whether angles over their error limit are refused."""
    return _UNGATED_DEPTH[0] == 0


@contextmanager
def ungated() -> Iterator[None]:
    """Research use only: inside this block the analysis does not refuse angles whose expected
    error is over the limit (their errors are still computed and reported). For studying the
    rejected numbers themselves and for testing the logic above the angles on footage the error
    model refuses; never for a clinical result (``movekit assess --ungated`` labels its output so).
    Process-wide while the block runs (the capture and drill threads see it too)."""
    _UNGATED_DEPTH[0] += 1
    try:
        yield
    finally:
        _UNGATED_DEPTH[0] -= 1


@dataclass(frozen=True)
class ErrorTable:
    """The measured error table (see module docstring)."""

    yaw_edges_deg: np.ndarray
    pitch_edges_deg: np.ndarray
    roll_edges_deg: np.ndarray
    mae_deg: dict[str, dict[str, np.ndarray]]  #: space -> angle -> (pitch, roll, yaw) cells
    max_error_deg: float
    data: str

    def cells(self, space: str, name: str) -> np.ndarray | None:
        return self.mae_deg.get(space, {}).get(name)


def parse_table(obj: dict) -> ErrorTable:
    """An :class:`ErrorTable` from the JSON object; MovekitError when its shape is wrong."""
    try:
        yaw = np.asarray(obj["yaw_edges_deg"], dtype=np.float64)
        pitch = np.asarray(obj["pitch_edges_deg"], dtype=np.float64)
        roll = np.asarray(obj["roll_edges_deg"], dtype=np.float64)
        shape = (pitch.size - 1, roll.size - 1, yaw.size - 1)
        tables: dict[str, dict[str, np.ndarray]] = {}
        for space, angles in obj["tables"].items():
            tables[space] = {}
            for name, cell in angles.items():
                a = np.array(cell["mae_deg"], dtype=np.float64)  # null -> nan
                if a.shape != shape:
                    raise ValueError(f"{space}/{name}: cells {a.shape}, edges say {shape}")
                tables[space][name] = a
        return ErrorTable(
            yaw, pitch, roll, tables, float(obj.get("max_error_deg", MAX_ERROR_DEG)), str(obj.get("data", ""))
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MovekitError(f"angle error table: malformed ({exc})") from None


#: MediaPipe's pose models by ``model_complexity``
POSE_MODELS = {0: "lite", 1: "full", 2: "heavy"}


@lru_cache(maxsize=1)
def _shipped_table() -> dict:
    """The error table shipped with movekit (package data), as its JSON object (read once; not to be
    modified)."""
    return json.loads(resources.files("movekit.analysis").joinpath("data", TABLE_RESOURCE).read_text())


def _multiview_rows(table: dict, pose_models) -> tuple[dict | None, list[int], list[int]]:
    """The two-camera rows measured with the views' pose model (None when there are none), the
    views' models (``model_complexity``; None = not recorded: taken as the main rows' model), and
    those of them no rows were measured with. The main rows (``multiview``) name their model (1
    when they name none); others are under ``multiview.other_models`` by model. Views captured
    with different models: no rows."""
    mv = table.get("multiview") or {}
    main = int(mv.get("model_complexity", 1))
    rows = {main: mv}
    rows.update({int(k): v for k, v in (mv.get("other_models") or {}).items()})
    models = sorted({main if m is None else int(m) for m in pose_models} or {main})
    unmeasured = [m for m in models if m not in rows]
    return (rows[models[0]] if len(models) == 1 and not unmeasured else None), models, unmeasured


def pose_model_note(pose_models, table: dict | None = None) -> str:
    """Why the views' pose models have no two-camera rows, in words ("MediaPipe's heavy pose
    model", "views captured with different pose models (full, heavy)"); "" when they have."""
    rows, models, unmeasured = _multiview_rows(_shipped_table() if table is None else table, pose_models)
    if rows is not None:
        return ""
    if unmeasured:
        return f"MediaPipe's {' and '.join(POSE_MODELS.get(m, str(m)) for m in unmeasured)} pose model"
    return f"views captured with different pose models ({', '.join(POSE_MODELS.get(m, str(m)) for m in models)})"


def multiview_errors(
    names,
    *,
    n_views: int,
    separation_deg: float | None = None,
    table: dict | None = None,
    pose_models=(),
    vertical_from: str | None = None,
) -> np.ndarray:
    """Expected error (deg) of each angle triangulated from ``n_views`` calibrated cameras
    (:mod:`movekit.analysis.multiview`), from the measured two-camera rows of the error table
    (``"multiview"``, scripts/validate_angles.py). Two views: the cell of the band of
    ``separation_deg`` (the horizontal angle between the cameras seen from the subject), the error
    9 of 10 frames of the measured pairs in that band stayed within; three or more: the worst
    band's (more views have not been measured against an independent reference; the worst
    two-camera figure is the conservative one). ``pose_models``: each camera's pose model
    (``model_complexity``, None when not recorded): the rows measured with it; a model without rows
    (:func:`pose_model_note` says which), or views of different models, leave every angle unmeasured.
    ``vertical_from``: what gave the calibration's lab vertical
    (:func:`movekit.analysis.cameras.calibration_vertical`); one whose error was never measured
    (:data:`movekit.analysis.cameras.UNMEASURED_VERTICALS`) leaves the angles measured against the
    vertical unmeasured (:func:`vertical_note` says why). NaN = not measured (refused)."""
    names = list(names)
    out = _multiview_errors(names, n_views, separation_deg, table, pose_models)
    if vertical_note(vertical_from):
        from movekit.analysis.angles import VERTICAL_REFERENCED

        out[[n in VERTICAL_REFERENCED for n in names]] = np.nan
    return out


def vertical_note(vertical_from: str | None) -> str:
    """Why the angles measured against the vertical are refused with this calibration's vertical,
    in words; "" when its vertical is one they were measured with."""
    from movekit.analysis.cameras import UNMEASURED_VERTICALS

    if vertical_from not in UNMEASURED_VERTICALS:
        return ""
    return (
        f"the calibration's vertical came from the {vertical_from} (their standing axis, or the floor their feet "
        "walked on), never measured against a true vertical (10-12 deg off on Pose2Sim's demo): calibrate with a "
        "board on the floor "
        "(movekit calibrate extrinsics --floor-board)"
    )


def _multiview_errors(names, n_views, separation_deg, table, pose_models) -> np.ndarray:
    """:func:`multiview_errors` before the vertical's check."""
    mv = _multiview_rows(_shipped_table() if table is None else table, pose_models)[0]
    out = np.full(len(list(names)), np.nan)
    if mv is None:
        return out
    try:
        vals = mv.get("pairs_mae_deg", {})
        if n_views >= 3:
            return np.array(
                [np.nan if not vals.get(n) or any(v is None for v in vals[n]) else float(max(vals[n])) for n in names]
            )
        if n_views == 2 and separation_deg is not None and np.isfinite(separation_deg):
            edges = np.asarray(mv["separation_edges_deg"], dtype=np.float64)
            b = int(np.clip(np.searchsorted(edges, abs(float(separation_deg)), side="right") - 1, 0, edges.size - 2))
            return np.array([np.nan if vals.get(n) is None or vals[n][b] is None else float(vals[n][b]) for n in names])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise MovekitError(f"angle error table: malformed multiview part ({exc})") from None
    return out


#: How a user asks for each pose model (``movekit capture`` / ``triangulate`` option)
MODEL_OPTION = {0: "--model-complexity 0", 1: "the default model", 2: "--model-complexity 2"}


def multiview_alternative(
    name: str,
    *,
    n_views: int,
    separation_deg: float | None = None,
    pose_models=(),
    table: dict | None = None,
    max_error_deg: float = MAX_ERROR_DEG,
    vertical_from: str | None = None,
) -> str:
    """For an angle refused with this camera set-up: a measured two-camera set-up (band of
    separation, pose model) that keeps it within ``max_error_deg``, in words for the person placing
    the cameras ("shown with 2 cameras 60-120 deg apart, MediaPipe's heavy pose model
    (--model-complexity 2): measured error 4.7 deg"); "no measured two-camera set-up keeps it
    within 5 deg" when none does;
    "" when the angle is shown with this set-up. Of the set-ups that would show it, the one that
    changes least (the views' own model and separation kept where they can be, else the default
    model), then the smallest error. The set-ups are the rows of :func:`multiview_errors`
    (docs/validity.md, two-camera rows)."""
    tab = _shipped_table() if table is None else table
    now = multiview_errors(
        [name],
        n_views=n_views,
        separation_deg=separation_deg,
        table=tab,
        pose_models=pose_models,
        vertical_from=vertical_from,
    )
    if now[0] <= max_error_deg:
        return ""
    from movekit.analysis.angles import VERTICAL_REFERENCED

    if name in VERTICAL_REFERENCED and (why := vertical_note(vertical_from)):
        return why
    mv = tab.get("multiview") or {}
    main = int(mv.get("model_complexity", 1))
    rows = {main: mv, **{int(k): v for k, v in (mv.get("other_models") or {}).items()}}
    models = {main if m is None else int(m) for m in pose_models} or {main}
    model_now = models.pop() if len(models) == 1 else None
    sep = None if n_views != 2 or separation_deg is None else abs(float(separation_deg))
    options = []
    for model, r in rows.items():
        edges = r.get("separation_edges_deg") or []
        for b, v in enumerate((r.get("pairs_mae_deg") or {}).get(name) or []):
            if v is None or float(v) > max_error_deg or b + 1 >= len(edges):
                continue
            same_band = sep is not None and edges[b] <= sep < edges[b + 1] or (b + 2 == len(edges) and sep == edges[-1])
            changes = (model != model_now) + (not same_band)
            options.append((changes, model != main, float(v), model, edges[b], edges[b + 1]))
    if not options:
        return f"no measured two-camera set-up keeps it within {max_error_deg:g} deg"
    _, _, v, model, lo, hi = min(options)
    how = (
        ""
        if model == model_now
        else f", MediaPipe's {POSE_MODELS.get(model, model)} pose model ({MODEL_OPTION.get(model, model)})"
    )
    return f"shown with 2 cameras {lo:g}-{hi:g} deg apart{how}: measured error {v:.1f} deg"


def shown_angles(
    *,
    n_views: int,
    separation_deg: float | None = None,
    pose_models=(),
    table: dict | None = None,
    max_error_deg: float = MAX_ERROR_DEG,
    vertical_from: str | None = None,
) -> list[str]:
    """The angles a triangulation from this camera set-up shows (measured error at most
    ``max_error_deg``: :func:`multiview_errors`), in the table's order."""
    tab = _shipped_table() if table is None else table
    names = list((tab.get("multiview") or {}).get("pairs_mae_deg") or {})
    err = multiview_errors(
        names,
        n_views=n_views,
        separation_deg=separation_deg,
        table=tab,
        pose_models=pose_models,
        vertical_from=vertical_from,
    )
    return [n for n, e in zip(names, err) if e <= max_error_deg]


@lru_cache(maxsize=1)
def load_table() -> ErrorTable:
    """The error table shipped with movekit (package data)."""
    return parse_table(_shipped_table())


def _tilt_cells(edges: np.ndarray, residual_deg: float | None) -> slice | None:
    """Cells covering residual tilts 0..``residual_deg``; all cells when unknown (None); None when
    the residual is beyond what was validated."""
    if residual_deg is None:
        return slice(0, edges.size - 1)
    r = abs(float(residual_deg))
    if not np.isfinite(r) or r > edges[-1]:
        return None
    return slice(0, max(1, int(np.searchsorted(edges, r, side="left"))))


def error_by_yaw(
    table: ErrorTable, space: str, names, residual_pitch_deg: float | None, residual_roll_deg: float | None
) -> np.ndarray:
    """(angles, yaw cells) expected error (deg) for a camera set-up: the worst cell over the
    residual tilt range. NaN: not measured there (refused)."""
    ps = _tilt_cells(table.pitch_edges_deg, residual_pitch_deg)
    rs = _tilt_cells(table.roll_edges_deg, residual_roll_deg)
    out = np.full((len(names), table.yaw_edges_deg.size - 1), np.nan)
    if ps is None or rs is None:
        return out
    for i, name in enumerate(names):
        cells = table.cells(space, name)
        if cells is not None:
            sub = cells[ps, rs].reshape(-1, cells.shape[-1])
            out[i] = np.max(sub, axis=0)  # NaN anywhere in the range -> NaN (not measured: refuse)
    return out


def best_error_deg(name: str, space: str = "2d", table: ErrorTable | None = None) -> float:
    """The smallest expected error (deg) an angle has in any measured camera set-up of ``space``
    (any yaw, pitch and roll cell of the table); inf when it was never measured. Over
    :data:`MAX_ERROR_DEG`, the angle is refused in every frame from one camera."""
    cells = (table or load_table()).cells(space, name)
    finite = None if cells is None else cells[np.isfinite(cells)]
    return float(finite.min()) if finite is not None and finite.size else math.inf


def errors_for_setup(names, *, space: str = "2d", tilt=None, table: ErrorTable | None = None):
    """``(table, (angles, yaw cells) expected error)`` for one camera set-up (:func:`error_by_yaw`
    with the tilt's residuals; None = tilt unknown)."""
    t = table or load_table()
    rp = None if tilt is None else tilt.residual_pitch_deg
    rr = None if tilt is None else tilt.residual_roll_deg
    return t, error_by_yaw(t, space, list(names), rp, rr)


def yaw_cell(table: ErrorTable, yaw_deg) -> np.ndarray:
    """Index of each yaw's cell (-1 where the yaw is NaN)."""
    y = np.abs(np.asarray(yaw_deg, dtype=np.float64))
    idx = np.clip(np.searchsorted(table.yaw_edges_deg, y, side="right") - 1, 0, table.yaw_edges_deg.size - 2)
    return np.where(np.isfinite(y), idx, -1)


def expected_errors(names, yaw_deg, *, space: str = "2d", tilt=None, table: ErrorTable | None = None) -> np.ndarray:
    """(frames, angles) expected error (deg) of each angle in each frame; NaN = not measurable.

    Parameters
    ----------
    names : sequence of str
        Angle names (:data:`movekit.analysis.angles.ANGLES`).
    yaw_deg : (frames,)
        Estimated body yaw per frame (:func:`movekit.analysis.view.body_yaw_deg`), NaN when
        the view is unknown.
    space : "2d" or "3d"
    tilt : CameraTilt, optional
        The correction applied; None = tilt unknown (the whole validated tilt range is assumed).
    """
    t, by_yaw = errors_for_setup(names, space=space, tilt=tilt, table=table)
    cell = yaw_cell(t, yaw_deg)
    err = by_yaw[:, np.maximum(cell, 0)].T
    err[cell < 0] = np.nan
    return err


def refusal_reason(
    name: str, err_deg: float, yaw_deg: float, tilt=None, *, space: str = "2d", max_error_deg: float = MAX_ERROR_DEG
) -> str:
    """Plain words for one angle in one frame: why it is shown or refused."""
    what = name.removesuffix("_deg").replace("_", " ")
    if not np.isfinite(yaw_deg):
        return f"{what}: refused, the view is unknown (shoulders or hips not seen)"
    turned = f"body turned {abs(yaw_deg):.0f} deg from facing the camera"
    if err_deg == np.inf:  # movekit.analysis.pipeline.side_dependent
        return f"{what}: refused, the pose model's left and right were relabelled here, so the side cannot be trusted"
    if not np.isfinite(err_deg):
        t = load_table()
        if tilt is not None and (
            _tilt_cells(t.pitch_edges_deg, tilt.residual_pitch_deg) is None
            or _tilt_cells(t.roll_edges_deg, tilt.residual_roll_deg) is None
        ):
            return f"{what}: refused, the camera tilt is beyond what movekit has validated ({tilt.describe()})"
        return f"{what}: refused, its error was not measured in this view ({turned}, {space})"
    if err_deg > max_error_deg:
        tip = "" if tilt is not None else "; a level calibration (movekit calibrate level) may help"
        shown = np.ceil(err_deg * 10) / 10  # never "5.0 is over 5"
        return (
            f"{what}: refused, expected error {shown:.1f} deg in this view ({turned}) is over "
            f"{max_error_deg:g} deg{tip}"
        )
    return f"{what}: expected error {err_deg:.1f} deg ({turned})"


def finite_or_nan(error_deg) -> np.ndarray:
    """An expected-error column for a table or a file: NaN where the error is unknown or infinite
    (infinite: a frame the left/right repair relabelled, :func:`movekit.analysis.pipeline.side_dependent`;
    the angle is NaN there too)."""
    e = np.asarray(error_deg, dtype=np.float64)
    return np.where(np.isfinite(e), e, np.nan)


def gate(
    angles: dict[str, np.ndarray], errors: np.ndarray, *, max_error_deg: float = MAX_ERROR_DEG
) -> dict[str, np.ndarray]:
    """Angles with NaN wherever the expected error (``errors``: (frames, angles) in the dict's
    order) is over ``max_error_deg`` or unknown."""
    ok = errors <= max_error_deg  # NaN compares False: refused
    return {k: np.where(ok[:, i], np.asarray(v, dtype=np.float64), np.nan) for i, (k, v) in enumerate(angles.items())}


__all__ = [
    "MAX_ERROR_DEG",
    "POSE_MODELS",
    "ErrorTable",
    "error_by_yaw",
    "errors_for_setup",
    "expected_errors",
    "finite_or_nan",
    "gate",
    "gating",
    "load_table",
    "multiview_alternative",
    "multiview_errors",
    "parse_table",
    "pose_model_note",
    "refusal_reason",
    "shown_angles",
    "ungated",
    "vertical_note",
    "yaw_cell",
]
