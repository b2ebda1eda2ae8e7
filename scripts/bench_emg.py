"""Benchmark movekit's EMG pipeline against NeuroKit2's ``emg_process`` on the same real recordings.

Both run in this one process on the pinned PLUX recordings (biosignalsnotebooks 0.6.14, MIT):
movekit's causal pipeline (band-pass 20-450 Hz, 100 ms moving RMS, Hodges & Bui onsets) and
NeuroKit2's ``emg_process`` (its default cleaning, amplitude and threshold activation). Reports the
median wall time of each over repeats, the speed ratio, and how the onsets compare (matched within
250 ms, and the median movekit - NeuroKit2 difference).

Usage::

    python scripts/bench_emg.py [--repeats 7] [--write-docs]

``--write-docs`` replaces the "EMG" section of docs/benchmarks.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def compare_onsets(a: np.ndarray, b: np.ndarray, tol: float = 0.25) -> tuple[int, int, int, float]:
    """(matched, len a, len b, median a - b) pairing each b onset with the nearest a onset."""
    diffs = []
    for t in b:
        if len(a):
            j = int(np.argmin(np.abs(a - t)))
            if abs(a[j] - t) <= tol:
                diffs.append(a[j] - t)
    return len(diffs), len(a), len(b), float(np.median(diffs)) if diffs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()

    import neurokit2 as nk

    from movekit.analysis import emg
    from movekit.datasets import fetch
    from movekit.emg_io import read_emg

    rows = []
    for name in ("plux_emg_bursts", "plux_emg_fatigue"):
        s = read_emg(fetch(name))
        x = s.data_uv[:, 0]
        t_mk, res = timed(lambda: emg.process(s.t_s, s.data_uv, s.rate_hz, ("emg",)), args.repeats)
        t_nk, (sig, _info) = timed(lambda: nk.emg_process(x, sampling_rate=int(s.rate_hz)), args.repeats)
        # streaming: 20 ms chunks as a BLE device would deliver them
        chunk = int(0.02 * s.rate_hz)

        def stream():
            st = emg.EMGStream(s.rate_hz, ("emg",))
            for i in range(0, len(x), chunk):
                st.process(s.t_s[i : i + chunk], s.data_uv[i : i + chunk])

        t_st, _ = timed(stream, max(1, args.repeats // 2))
        mk_on = res.onsets("emg")
        nk_on = np.flatnonzero(sig["EMG_Onsets"].to_numpy()) / s.rate_hz
        matched, n_mk, n_nk, med = compare_onsets(mk_on, nk_on)
        rows.append((name, len(x) / s.rate_hz, t_mk, t_nk, t_st, len(x) // chunk, matched, n_mk, n_nk, med))

    lines = [
        f"Machine: {machine()}; NeuroKit2 {nk.__version__}. Median of {args.repeats} runs after a warm-up, "
        "both in one process (`python scripts/bench_emg.py`).",
        "",
        "| recording | length s | movekit batch ms | NeuroKit2 emg_process ms | speed-up | movekit streamed "
        "in 20 ms chunks ms (per chunk us) | onsets movekit / NeuroKit2 / matched within 250 ms | "
        "median onset difference movekit - NK ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, dur, t_mk, t_nk, t_st, nchunks, matched, n_mk, n_nk, med in rows:
        lines.append(
            f"| {name} | {dur:.1f} | {t_mk * 1e3:.1f} | {t_nk * 1e3:.1f} | {t_nk / t_mk:.0f}x | "
            f"{t_st * 1e3:.1f} ({t_st / nchunks * 1e6:.0f}) | {n_mk} / {n_nk} / {matched} | "
            f"{med * 1e3:.0f} |"
        )
    lines += [
        "",
        "Target: at least 10x faster than NeuroKit2 with comparable onsets. The two detect onsets "
        "differently: movekit thresholds a causal 50 Hz envelope against a rest baseline "
        "(Hodges & Bui 1996, first 0.1-0.6 s, k = 3, bursts >= 100 ms), NeuroKit2 thresholds its "
        "whole-signal amplitude offline, so its onsets sit later on each rise; the negative median "
        "difference is that, not a delay of movekit's. The fatigue file clips at the sensor's +-1.5 mV "
        "range during contractions.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write_docs:
        write_section("EMG", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
