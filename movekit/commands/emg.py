"""``movekit emg``: envelopes, %MVC and onsets/offsets from an EMG file or recording."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from movekit.argtypes import finite_list, float_range
from movekit.errors import MovekitError
from movekit.outputs import (
    CSV,
    JSON,
    add_overwrite_argument,
    check_output,
    strict_json,
    write_output,
)

_hz = float_range(0.0, 100_000.0, lo_open=True, unit="Hz")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "emg",
        help="process surface EMG: envelope (uV or %%MVC), onsets and offsets",
        description="Band-pass (20-450 Hz), rectify, moving RMS or linear envelope, optional %MVC, and "
        "Hodges & Bui onset/offset detection, all causal (what live feedback sees). "
        "IN is a CSV (time_s + one column per channel), an HDF5 file (generic or PLUX "
        "OpenSignals), an EDF/BDF file, the analog channels of a C3D file (those labelled EMG in V, mV "
        "or uV unless --channels names others), an OTBiolab+ MATLAB export (.mat) or a recording "
        "directory with an EMG stream.",
    )
    p.add_argument("input", metavar="IN", help="CSV, HDF5, EDF/BDF, C3D, OTBiolab+ .mat or *.mkrec recording")
    p.add_argument("--rate", type=_hz, help="sampling rate (Hz) when IN has no time_s column")
    p.add_argument("--stream", help="EMG stream of a recording (default: the first of kind emg)")
    p.add_argument(
        "--channels",
        metavar="NAME[,NAME...]",
        help="channels to process, by name (C3D analog labels, CSV columns without unit suffix, ...), "
        "in this order; also picked from the --mvc trial",
    )
    p.add_argument("--mvc", metavar="MVC_FILE", help="MVC trial (same formats) to normalise to %%MVC")
    p.add_argument("-o", "--output", required=True, metavar="OUT.csv", help="envelope CSV to write")
    p.add_argument("--events", metavar="OUT.json", help="write onsets and offsets per channel as JSON")
    p.add_argument("--notch", type=float, choices=(50.0, 60.0), help="mains notch frequency (Hz)")
    p.add_argument(
        "--band",
        type=_hz,
        nargs=2,
        default=(20.0, 450.0),
        metavar=("LOW", "HIGH"),
        help="band-pass corners in Hz (default 20 450; HIGH is capped below Nyquist)",
    )
    p.add_argument(
        "--envelope", choices=("rms", "linear"), default="rms", help="moving RMS (default) or linear envelope"
    )
    p.add_argument(
        "--window-ms", type=float_range(1.0, 10_000.0, unit="ms"), default=100.0, help="RMS window (ms), default 100"
    )
    p.add_argument(
        "--lowpass",
        type=float_range(0.0, 1000.0, lo_open=True, unit="Hz"),
        default=6.0,
        help="linear envelope low-pass (Hz), default 6",
    )
    p.add_argument(
        "--onset",
        choices=("hodges", "tkeo"),
        default="hodges",
        help="onset detection signal: rectified EMG (Hodges & Bui 1996) or TKEO (Li 2007)",
    )
    p.add_argument(
        "--k",
        type=float_range(0.0, 100.0, lo_open=True),
        default=3.0,
        help="threshold = baseline mean + k SD (default 3)",
    )
    p.add_argument(
        "--baseline",
        default="start",
        metavar="start|quietest|A,B",
        help="rest window for the threshold: 0.1-0.6 s from the start (default, as live), "
        "the quietest 0.5 s, or A,B seconds from the start",
    )
    add_overwrite_argument(p, "CSV and JSON files")
    p.set_defaults(func=run)


def _baseline(text: str):
    if text == "start":
        return None
    if text == "quietest":
        return "quietest"
    try:
        a, b = finite_list(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise MovekitError(f"--baseline must be start, quietest or A,B seconds; got {text!r}") from None
    if not 0 <= a < b:
        raise MovekitError(f"--baseline A,B needs 0 <= A < B seconds; got {text!r}")
    return (a, b)


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 4)


def _check_args(args: argparse.Namespace) -> tuple[object, Path, list[str] | None]:
    """Options and outputs checked before anything is read: (baseline, output path, channels)."""
    baseline = _baseline(args.baseline)
    if args.band[0] >= args.band[1]:
        raise MovekitError(f"--band LOW must be below HIGH; got {args.band[0]:g} {args.band[1]:g}")
    channels = [c.strip() for c in args.channels.split(",")] if args.channels else None
    if channels is not None and (not all(channels) or len(set(channels)) != len(channels)):
        raise MovekitError(f"--channels must be distinct names separated by commas; got {args.channels!r}")
    inputs = [args.input, args.mvc]
    for path in inputs:  # a missing input is the first thing to say
        if path is not None and not Path(path).exists():
            raise MovekitError(f"{path}: no such file or recording")
    out = check_output(args.output, CSV, overwrite=args.overwrite, inputs=inputs)
    if args.events:
        check_output(args.events, JSON, overwrite=args.overwrite, inputs=[*inputs, out], flag="--events")
    return baseline, out, channels


def _read(path: str, args: argparse.Namespace, channels: list[str] | None, stream: str | None = None):
    """Read ``path`` (a recording's named ``stream`` when given) and keep ``channels``."""
    from movekit.emg_io import read_emg, read_recording, select_channels

    try:
        if stream:
            return select_channels(read_recording(path, stream), channels)
        return read_emg(path, args.rate, channels=channels)
    except UnicodeDecodeError:
        raise MovekitError(f"{path}: not a UTF-8 text file") from None


def _config(args: argparse.Namespace):
    from movekit.analysis import emg

    return emg.EMGConfig(
        band_hz=tuple(args.band),
        notch_hz=args.notch,
        envelope=args.envelope,
        rms_window_s=args.window_ms / 1000.0,
        envelope_lowpass_hz=args.lowpass,
        onset_method=args.onset,
        onset_k=args.k,
    )


def _mvc(args: argparse.Namespace, sig, cfg, channels: list[str] | None) -> np.ndarray | None:
    """Per-channel MVC reference (uV) from the ``--mvc`` trial, matched to ``sig`` by name or position."""
    from movekit.analysis import emg

    if not args.mvc:
        return None
    m = _read(args.mvc, args, channels)
    if set(m.channel_names) >= set(sig.channel_names):
        cols = [m.channel_names.index(c) for c in sig.channel_names]
    elif len(m.channel_names) == len(sig.channel_names):
        cols = list(range(len(m.channel_names)))
    else:
        raise MovekitError(
            f"{args.mvc}: channels {', '.join(m.channel_names)} do not match {', '.join(sig.channel_names)}"
        )
    return emg.mvc_reference(m.data_uv[:, cols], m.rate_hz, cfg)


def _write_envelope(out: Path, sig, res, mvc) -> None:
    import io

    if mvc is not None:
        names, values = [f"{c}_pct_mvc" for c in sig.channel_names], res.pct_mvc
    else:
        names, values = [f"{c}_envelope_uv" for c in sig.channel_names], res.envelope_uv
    buf = io.StringIO()
    buf.write(",".join(["time_s"] + names) + "\n")
    np.savetxt(buf, np.column_stack([sig.t_s, values]), delimiter=",", fmt=["%.6f"] + ["%.4f"] * len(names))
    write_output(out, buf.getvalue())


def _channel_summary(sig, res, cfg, mvc) -> dict:
    """Onsets, offsets, threshold and the median-frequency fatigue trend (De Luca 1984) per channel."""
    from movekit.analysis import emg

    tc, mdf = emg.median_frequency(sig.data_uv, sig.rate_hz, active=emg.activity_mask(res))
    trend = emg.fatigue_trend(tc, mdf)
    summary = {}
    for j, c in enumerate(sig.channel_names):
        pairs = emg.onset_offset_pairs(res, c)
        fatigue = {
            "median_frequency_slope_hz_per_s": _num(trend.slope_hz_per_s[j]),
            "median_frequency_at_start_hz": _num(trend.intercept_hz[j]),
            "pct_per_min": _num(trend.pct_per_min[j]),
            "r": _num(trend.r[j]),
            "windows": int(trend.n[j]),
        }
        if not np.isfinite(trend.slope_hz_per_s[j]):
            fatigue["withheld"] = (
                f"needs at least {emg.MIN_FATIGUE_WINDOWS} windows of activity over "
                f"{emg.MIN_FATIGUE_SPAN_S:g} s or more; this channel has {int(trend.n[j])}"
            )
        summary[c] = {
            "onsets_s": [round(float(v), 4) for v in pairs[:, 0]],
            "offsets_s": [None if not np.isfinite(v) else round(float(v), 4) for v in pairs[:, 1]],
            "threshold": float(res.threshold[j]),
            "threshold_unit": "uV^2" if cfg.onset_method == "tkeo" else "uV",
            "mvc_uv": None if mvc is None else float(mvc[j]),
            "fatigue": fatigue,
        }
    return summary


def _vmo_vl(sig, res, mvc) -> dict:
    """VMO minus VL onset per VL onset (Cowan 2001) and, with an MVC, the mean %MVC ratio while VL is active."""
    from movekit.analysis import emg

    if "vmo" not in sig.channel_names or "vl" not in sig.channel_names:
        return {}
    d = emg.onset_difference_s(res.onsets("vmo"), res.onsets("vl"))
    extra = {
        "onset_difference_s": [_num(v) for v in d],
        "note": "VMO onset minus VL onset per VL onset; positive = VMO later (Cowan 2001)",
    }
    if mvc is not None:
        i, k = sig.channel_names.index("vmo"), sig.channel_names.index("vl")
        active = emg.activity_mask(res)[:, k]
        ratio = emg.vmo_vl_ratio(res.pct_mvc[active, i], res.pct_mvc[active, k])
        extra["mean_ratio_while_vl_active"] = _num(np.nanmean(ratio)) if np.isfinite(ratio).any() else None
    return {"vmo_vl": extra}


def run(args: argparse.Namespace) -> int:
    from movekit.analysis import emg

    baseline, out, channels = _check_args(args)
    sig = _read(args.input, args, channels, stream=args.stream)
    span_s = float(sig.t_s[-1] - sig.t_s[0]) if len(sig.t_s) else 0.0
    if isinstance(baseline, tuple) and len(sig.t_s) and baseline[1] > span_s:
        raise MovekitError(f"--baseline {args.baseline}: {args.input} lasts only {span_s:.2f} s")
    from movekit.emg_io import not_emg_warnings

    warnings = not_emg_warnings(sig)
    for w in warnings:
        print(f"movekit: warning: {w}", file=sys.stderr)
    cfg = _config(args)
    mvc = _mvc(args, sig, cfg, channels)
    res = emg.process(sig.t_s, sig.data_uv, sig.rate_hz, sig.channel_names, cfg, mvc_uv=mvc, baseline_window_s=baseline)
    _write_envelope(out, sig, res, mvc)
    summary = _channel_summary(sig, res, cfg, mvc)
    if args.events:
        doc = {
            "source": sig.source,
            "rate_hz": sig.rate_hz,
            "config": asdict(cfg),
            "baseline": args.baseline,
            "channels": summary,
            "warnings": warnings,
            **_vmo_vl(sig, res, mvc),
        }
        write_output(args.events, json.dumps(strict_json(doc), indent=1, allow_nan=False))
    for c, s in summary.items():
        print(f"{c}: {len(s['onsets_s'])} bursts", file=sys.stderr)
    return 0
