"""BIDS-Motion style folder: one tracking system per stream, each at its own rate.

Layout (BIDS specification, "Motion")::

    OUT/dataset_description.json
    OUT/sub-<client>/motion/sub-<client>_task-<task>_tracksys-<sys>_motion.tsv     no header row
                                                     ..._tracksys-<sys>_channels.tsv   one row per column
                                                     ..._tracksys-<sys>_channels.json  reference frames
                                                     ..._tracksys-<sys>_motion.json    rates, counts, onset
    OUT/sub-<client>/motion/sub-<client>_task-<task>_events.tsv (+ .json)

The first column of every ``*_motion.tsv`` is ``latency`` (type LATENCY, s from the recording
onset: the first sample stored in any of the motion files), so irregular streams (a webcam) keep
their true times; events.tsv onsets are measured from the same onset (BIDS: "from the beginning of
the acquisition of the first data point stored"), negative for an event before it, and every
motion.json gives the onset's session-clock time (``movekit_onset_session_s``). Missing values
are ``n/a``. Channel types: POS for landmarks, JNTANG for joint angles and goniometers,
ACCEL/GYRO/MAGN for inertial units by unit, MISC for EMG (BIDS-Motion has no EMG type), landmark
visibility and angle errors. Spatial channels name their ``reference_frame`` (channels.tsv),
described in ``*_channels.json`` with BIDS-Motion's SpatialAxes, RotationOrder, RotationRule and
Description (:data:`FRAMES`). Tracking systems are labelled in lowerCamelCase
(:func:`tracksys_label`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from movekit.export.signals import Signal
from movekit.outputs import strict_json

BIDS_VERSION = "1.10.0"
_TYPE_BY_UNIT = {
    "g": "ACCEL",
    "m/s^2": "ACCEL",
    "m/s2": "ACCEL",
    "deg/s": "GYRO",
    "rad/s": "GYRO",
    "uT": "MAGN",
    "µT": "MAGN",
    "gauss": "MAGN",
}


def label(text: str, default: str) -> str:
    """A BIDS label: letters and digits only."""
    s = re.sub(r"[^A-Za-z0-9]", "", str(text or ""))
    return s or default


def tracksys_label(text: str) -> str:
    """A tracking system's label in lowerCamelCase, the style of every label here (``emg_biceps`` ->
    ``emgBiceps``, ``live_angles_deg`` -> ``liveAnglesDeg``)."""
    parts = [w for w in re.split(r"[^A-Za-z0-9]+", str(text or "")) if w]
    if not parts:
        return "stream"
    return parts[0][:1].lower() + parts[0][1:] + "".join(w[:1].upper() + w[1:] for w in parts[1:])


#: reference frames of the spatial channels (BIDS-Motion channels.json: SpatialAxes uses A/P, L/R,
#: S/I and "_" for an axis that is not tied to the body or the room)
FRAMES = {
    "lab": {
        "SpatialAxes": "__S",
        "RotationOrder": "n/a",
        "RotationRule": "n/a",
        "Description": "the multi-camera calibration's lab frame, m: x, y horizontal (the calibration's "
        "floor axes), z up from the floor; positions only",
    },
    "image": {
        "SpatialAxes": "___",
        "RotationOrder": "n/a",
        "RotationRule": "n/a",
        "Description": "the camera image, px: x rightwards and y downwards in the image from its top-left "
        "corner, z MediaPipe's relative depth (px scale, smaller towards the camera); positions only",
    },
    "camera": {
        "SpatialAxes": "___",
        "RotationOrder": "n/a",
        "RotationRule": "n/a",
        "Description": "MediaPipe world landmarks, m: x rightwards and y downwards in the image, z away "
        "from the camera, origin between the hips in every frame (no body translation); positions only",
    },
    "sensor": {
        "SpatialAxes": "___",
        "RotationOrder": "n/a",
        "RotationRule": "n/a",
        "Description": "the sensor's own axes as the device reports them (not aligned to the body or the room)",
    },
}
_SENSOR_TYPES = ("ACCEL", "GYRO", "MAGN")


def channel_type(kind: str, unit: str) -> str:
    if kind == "angle_errors":  # an expected error in deg is not a joint angle
        return "MISC"
    if kind in ("pose_image", "pose_world"):
        return "POS"
    if kind in ("live_angles", "goniometer", "angles") or (unit == "deg" and kind != "emg"):
        return "JNTANG"
    return _TYPE_BY_UNIT.get(unit, "MISC")


def _tsv_value(v, fmt: str = ".9g") -> str:
    if isinstance(v, str):
        return v if v else "n/a"
    return "n/a" if not np.isfinite(v) else format(v, fmt)


def _write_tsv(path: Path, header: list[str] | None, rows, time_first: bool = False) -> None:
    """Rows of values; ``time_first``: the first column is a time in s written to the microsecond,
    the others with 9 significant digits (every float32 sample exactly)."""
    with open(path, "w", newline="") as f:
        if header:
            f.write("\t".join(header) + "\n")
        for row in rows:
            cells = [_tsv_value(v, ".6f" if time_first and j == 0 else ".9g") for j, v in enumerate(row)]
            f.write("\t".join(cells) + "\n")


def _component(col: str, n_comp: int) -> str:
    return col.rsplit("_", 1)[-1] if n_comp > 1 else "n/a"


def _channel_rows(sig: Signal, components: int, descriptions, types, frame: str | None, onset_s: float) -> list:
    """channels.tsv rows: latency first, then one per channel with its reference frame (n/a when none)."""
    rows = [
        (
            "latency",
            "n/a",
            "LATENCY",
            "n/a",
            "s",
            f"s from the recording onset, the first sample stored in any motion file ({onset_s:.6f} s "
            "on the session clock)",
            "n/a",
        )
    ]
    for j, col in enumerate(sig.channels):
        comp = _component(col, components)
        point = col.rsplit("_", 1)[0] if components > 1 else col
        unit = sig.unit if sig.unit not in ("", "1") else "n/a"
        desc = descriptions[j] if descriptions else f"{sig.kind} stream {sig.name}"
        ref = frame if types[j] == "POS" else "sensor" if types[j] in _SENSOR_TYPES else None
        if ref:
            desc = f"{desc}; reference frame {ref}: {FRAMES[ref]['Description']}"
        rows.append((col, comp, types[j], point, unit, desc, ref or "n/a"))
    return rows


def write_tracksys(
    folder: Path,
    stem: str,
    sys_name: str,
    task: str,
    sig: Signal,
    onset_s: float,
    components: int = 1,
    descriptions: list[str] | None = None,
    types: list[str] | None = None,
    frame: str | None = None,
) -> dict:
    """Write one tracking system's files; return its channel summary.

    ``onset_s``: the recording onset on the session clock (latency 0); ``frame``: the reference
    frame (a key of :data:`FRAMES`) of its POS channels."""
    base = f"{stem}_tracksys-{sys_name}"
    types = types or [channel_type(sig.kind, sig.unit)] * len(sig.channels)
    rows = _channel_rows(sig, components, descriptions, types, frame, onset_s)
    _write_tsv(
        folder / f"{base}_channels.tsv",
        ["name", "component", "type", "tracked_point", "units", "description", "reference_frame"],
        rows,
    )
    used = sorted({r[6] for r in rows} - {"n/a"})
    if used:
        levels = {k: FRAMES[k] for k in used}
        (folder / f"{base}_channels.json").write_text(
            json.dumps(
                {"reference_frame": {"Description": "frame of the spatial channels", "Levels": levels}}, indent=2
            )
        )
    _write_tsv(
        folder / f"{base}_motion.tsv",
        None,
        (np.concatenate([[t - onset_s], x]) for t, x in zip(sig.t_s, sig.data)),
        time_first=True,
    )
    counts: dict[str, int] = {}
    for ty in types:
        counts[f"{ty}ChannelCount"] = counts.get(f"{ty}ChannelCount", 0) + 1
    dur = float(sig.t_s[-1] - sig.t_s[0]) if len(sig.t_s) > 1 else 0.0
    eff = (len(sig.t_s) - 1) / dur if dur > 0 else sig.rate_hz
    side = {
        "TaskName": task,
        "TrackingSystemName": sys_name,
        "SamplingFrequency": round(sig.rate_hz, 6),
        "SamplingFrequencyEffective": round(eff, 6),
        "RecordingDuration": round(dur, 6),
        "MotionChannelCount": len(sig.channels) + 1,
        "LATENCYChannelCount": 1,
        **counts,
        "Manufacturer": sig.attrs.get("profile", "n/a") if isinstance(sig.attrs, dict) else "n/a",
        "MissingValues": "n/a",
        "movekit_stream": sig.name,
        "movekit_kind": sig.kind,
        "movekit_rate": "nominal" if sig.nominal else "no nominal rate: median of the sample intervals",
        "movekit_onset_session_s": round(onset_s, 6),
        "movekit_first_sample_latency_s": round(float(sig.t_s[0]) - onset_s, 6) if len(sig.t_s) else None,
        "movekit_time": "latency (s) = session-clock time - movekit_onset_session_s; events.tsv onsets likewise",
    }
    if components > 1:
        side["TrackedPointsCount"] = len(sig.channels) // components
    (folder / f"{base}_motion.json").write_text(json.dumps(strict_json(side), indent=2, allow_nan=False))
    return {"tracksys": sys_name, "channels": len(sig.channels), "samples": len(sig.t_s), "rate_hz": sig.rate_hz}


def write_events(folder: Path, stem: str, events: list[dict], onset_s: float) -> int:
    """events.tsv: onsets in s from the recording onset (``onset_s`` on the session clock)."""
    rows = []
    for ev in sorted(events, key=lambda e: float(e.get("t_s", np.nan))):
        t = float(ev.get("t_s", np.nan))
        if not np.isfinite(t):
            continue
        extra = {k: v for k, v in ev.items() if k not in ("t_s", "kind")}
        rows.append(
            (
                t - onset_s,
                "n/a",
                str(ev.get("kind", "event")),
                json.dumps(strict_json(extra), default=str, allow_nan=False) if extra else "n/a",
            )
        )
    _write_tsv(folder / f"{stem}_events.tsv", ["onset", "duration", "trial_type", "value"], rows, time_first=True)
    (folder / f"{stem}_events.json").write_text(
        json.dumps(
            {
                "onset": {
                    "Description": "s from the first data point stored in the motion files (latency 0 of every "
                    f"*_motion.tsv; {onset_s:.6f} s on the session clock); negative for an event before it",
                    "Units": "s",
                },
                "duration": {"Description": "n/a: movekit events are instants"},
                "trial_type": {"Description": "movekit event kind (pain, marker, cue, frames_dropped, ...)"},
                "value": {"Description": "the event's other fields, as JSON"},
            },
            indent=2,
        )
    )
    return len(rows)


def write_bids(
    out: Path,
    *,
    subject: str,
    task: str,
    tracksys: list[tuple[str, Signal, dict]],
    events: list[dict],
    movekit_version: str,
    source: str,
) -> dict:
    """Write the folder ``out`` (which must not exist). ``tracksys``: (name, signal, write_tracksys options)."""
    folder = out / f"sub-{subject}" / "motion"
    folder.mkdir(parents=True)
    (out / "dataset_description.json").write_text(
        json.dumps(
            {
                "Name": f"movekit export of {Path(source).name}",
                "BIDSVersion": BIDS_VERSION,
                "DatasetType": "raw",
                "GeneratedBy": [{"Name": "movekit", "Version": movekit_version}],
            },
            indent=2,
        )
    )
    stem = f"sub-{subject}_task-{task}"
    names = [name for name, _, _ in tracksys]
    if len(set(names)) < len(names):
        from movekit.errors import MovekitError

        raise MovekitError(f"two streams would share a BIDS tracking-system label: {sorted(names)}")
    onset = min((float(sig.t_s[0]) for _, sig, _ in tracksys if len(sig.t_s)), default=0.0)
    systems = [write_tracksys(folder, stem, name, task, sig, onset, **opts) for name, sig, opts in tracksys]
    n_events = write_events(folder, stem, events, onset)
    return {
        "subject": subject,
        "task": task,
        "tracksys": systems,
        "events": n_events,
        "folder": str(folder),
        "onset_s": onset,
    }
