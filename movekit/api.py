"""movekit's Python API for notebooks: flat functions over arrays, tables back.

In the spirit of NeuroKit2: each function takes numpy arrays (landmarks shaped
``(frames, 33, xyz)`` with times in seconds beside them, signals ``(samples,)`` or
``(samples, channels)``) and returns ``(table, info)``: a :class:`pandas.DataFrame` with the unit in
every column name, and a dict of what a reader needs to judge it (filter, refusals, references).
The same code as the command line runs underneath; nothing here computes a clinical number of its
own. pandas is needed for the tables (``pip install pandas``); ``import movekit`` stays light and
these are loaded on first use (``movekit.angles(...)``).

Families: :func:`angles` (with each angle's expected error, refused ones NaN), :func:`views`,
:func:`reps`, :func:`rom`, :func:`sway`, :func:`emg`, :func:`screen` (an assessment; ``movekit.assess`` is the package of screens).

Examples
--------
>>> import numpy as np, movekit
>>> from movekit.analysis.synthetic import figure, smooth_cycle
>>> t = np.arange(0, 4, 1 / 30)
>>> pose = figure(t, view="sagittal_right", knee_flex_right=smooth_cycle(t, 1.0, 0.8, 0.4, 0.8, 60.0))
>>> table, info = movekit.angles(pose.image_px, t, gate=False)
>>> [c for c in table.columns[:3]]
['time_s', 'left_knee_flexion_deg', 'left_knee_flexion_err_deg']
>>> round(float(table["right_knee_flexion_deg"].max()))
60
>>> reps, _ = movekit.reps(t, table["right_knee_flexion_deg"].to_numpy())
>>> len(reps), round(float(reps["range_deg"].iloc[0]))
(1, 60)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from movekit.analysis.error_model import finite_or_nan
from movekit.errors import MovekitError


def _pd():
    try:
        import pandas as pd
    except ImportError:
        raise MovekitError("the movekit API returns pandas tables: pip install pandas") from None
    return pd


def angles(
    image_px,
    t_s=None,
    *,
    world_m=None,
    visibility=None,
    space: str = "2d",
    offline: bool = True,
    tilt=None,
    frame_size_px=None,
    gate: bool | None = None,
) -> tuple[Any, dict]:
    """Clinical joint angles with their expected errors (:func:`movekit.analysis.pipeline.analyse`).

    Parameters
    ----------
    image_px : array (frames, 33, >=2), px; or a recording's pose (``Recording.pose()``), whose
        times, world landmarks, visibility, frame size and stored calibration (camera profile,
        tilt) are then used, as ``movekit angles`` uses them (``offline=False`` is its default)
    t_s : array (frames,), s (not with a recording's pose)
    world_m, visibility : optional MediaPipe world landmarks (m) and visibility (0-1)
    space : "2d" (image) or "3d" (world landmarks)
    offline : zero-phase filtering (True) or the causal filter the live path uses
    tilt : :class:`movekit.analysis.camera_tilt.CameraTilt` or None (unknown)
    frame_size_px : (width, height), needed with ``tilt``
    gate : refuse angles over their expected error (default: on, as the command line)

    Returns
    -------
    table : DataFrame ``time_s``, then each ``<angle>_deg`` followed by ``<angle>_err_deg``,
        ``body_yaw_deg``, ``view``
    info : ``mode``, ``space``, ``max_error_deg``, ``refused`` (angle -> the reason, for angles
        refused in every frame), ``tilt``
    """
    if hasattr(image_px, "image_px"):  # a PoseSeries, with its calibration
        from movekit.calibration import analyse_calibrated

        if t_s is not None or world_m is not None or visibility is not None or tilt is not None:
            raise MovekitError("give a recording's pose alone: its times, landmarks and calibration come with it")
        res = analyse_calibrated(image_px, space=space, offline=offline, gate=gate)
    else:
        from movekit.analysis.pipeline import analyse

        if t_s is None:
            raise MovekitError("angles(image_px, t_s): the frame times (s) are needed with landmark arrays")
        res = analyse(
            t_s, image_px, world_m, visibility, space=space, offline=offline, tilt=tilt,
            frame_size_px=frame_size_px, gate=gate,
        )  # fmt: skip
    cols: dict[str, Any] = {"time_s": np.asarray(res.t_s, dtype=np.float64)}
    for name, a in res.angles.items():
        cols[name] = a
        cols[name.removesuffix("_deg") + "_err_deg"] = finite_or_nan(res.error_deg[name])
    cols["body_yaw_deg"] = res.yaw_deg
    cols["view"] = res.view
    refused = {n: res.reason(n) for n, a in res.angles.items() if len(a) and not np.isfinite(a).any()}
    info = {"mode": res.mode, "space": res.space, "max_error_deg": res.max_error_deg, "refused": refused,
            "tilt": None if res.tilt is None else res.tilt.describe()}  # fmt: skip
    return _pd().DataFrame(cols), info


def views(image_px, t_s, *, world_m=None) -> tuple[Any, dict]:
    """Body yaw (deg, 0 face-on .. 90 side-on) and the view label per frame (:mod:`movekit.analysis.view`).

    Returns ``(DataFrame time_s, body_yaw_deg, view, info)`` with ``info["bands_deg"]``: the yaw
    bands the labels use."""
    from movekit.analysis.view import FRONTAL_MAX_DEG, SAGITTAL_MIN_DEG, body_yaw_deg, classify_view

    p = np.asarray(image_px, dtype=np.float64)
    yaw = body_yaw_deg(p, world_m)
    table = _pd().DataFrame({"time_s": np.asarray(t_s, dtype=np.float64), "body_yaw_deg": yaw,
                             "view": classify_view(p, world_m, yaw_deg=yaw)})  # fmt: skip
    return table, {"bands_deg": {"frontal": (0.0, FRONTAL_MAX_DEG), "sagittal": (SAGITTAL_MIN_DEG, 90.0)}}


def reps(t_s, angle_deg, **options) -> tuple[Any, dict]:
    """Repetitions of one angle signal (:func:`movekit.analysis.reps.segment_reps`; ``options`` are
    its keywords). Returns a DataFrame of reps (times in s, angles in deg, velocity in deg/s)."""
    from movekit.analysis.reps import segment_reps

    found = segment_reps(np.asarray(t_s, dtype=np.float64), np.asarray(angle_deg, dtype=np.float64), **options)
    return _pd().DataFrame([r.as_dict() for r in found]), {"options": options, "count": len(found)}


def rom(angles_deg: dict | Any, *, percentile: float = 100.0) -> tuple[Any, dict]:
    """Range of motion of each angle with percent of the normal range where one exists
    (:func:`movekit.analysis.rom.session_rom`); ``angles_deg`` a dict or DataFrame of ``*_deg`` columns."""
    from movekit.analysis.rom import AAOS, session_rom

    cols = {k: np.asarray(angles_deg[k], dtype=np.float64) for k in list(angles_deg.keys())
            if str(k).endswith("_deg") and not str(k).endswith("_err_deg") and k != "body_yaw_deg"}  # fmt: skip
    out = session_rom(cols, percentile=percentile)
    return _pd().DataFrame([r.as_dict() for r in out.values()]), {"percentile": percentile, "norms": AAOS}


def sway(t_s, ap, ml=None, *, unit: str = "mm") -> tuple[Any, dict]:
    """Sway measures of a centre-of-pressure or centre-of-mass trajectory
    (:func:`movekit.assess.sway.sway_metrics`, Prieto 1996). One row, units in the column names."""
    from movekit.assess.sway import sway_metrics

    m = sway_metrics(t_s, ap, ml, unit=unit)
    return _pd().DataFrame([{k: v for k, (v, _u) in m.items()}]), {"units": {k: u for k, (_v, u) in m.items()}}


def emg(t_s, x_uv, rate_hz: float, channel_names, **options) -> tuple[Any, dict]:
    """EMG envelopes (µV) and onsets (:func:`movekit.analysis.emg.process`, the live causal chain).

    Returns ``(DataFrame time_s, <channel>_envelope_uv..., info)`` with ``info["events"]``: a
    DataFrame of onsets and offsets (channel, kind, t_s)."""
    from movekit.analysis.emg import process

    names = list(channel_names)
    res = process(np.asarray(t_s, dtype=np.float64), np.asarray(x_uv, dtype=np.float64), rate_hz, names, **options)
    pd = _pd()
    env = np.asarray(res.envelope_uv).reshape(len(res.t_s), -1)
    table = pd.DataFrame({"time_s": res.t_s, **{f"{c}_envelope_uv": env[:, i] for i, c in enumerate(names)}})
    events = pd.DataFrame([{"channel": e.channel, "kind": e.kind, "t_s": e.t_s} for e in res.events],
                          columns=["channel", "kind", "t_s"])  # fmt: skip
    return table, {"events": events, "threshold_uv": np.asarray(res.threshold).tolist()}


def screen(test: str, source, **options) -> tuple[Any, dict]:
    """Run a screen (:data:`movekit.assess.TESTS`) on a recording, video or data file.

    Returns ``(DataFrame metric, value, unit, info)`` with the whole result as ``info["result"]``
    (its JSON form: validity checks, flags, reps, references) and ``info["valid"]``."""
    from movekit.assess import run
    from movekit.assess.sources import load_trial

    result = run(test, load_trial(source), **options)
    rows = [{"metric": k, "value": m.value, "unit": m.unit} for k, m in result.metrics.items()]
    table = _pd().DataFrame(rows, columns=["metric", "value", "unit"])
    return table, {"valid": result.valid, "result": result.to_json()}


__all__ = ["angles", "emg", "reps", "rom", "screen", "sway", "views"]
