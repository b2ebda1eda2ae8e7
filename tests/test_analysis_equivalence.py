"""The compiled kernels (movekit.analysis.kernels, issue 22) give the numpy code's values bit for bit.

Each test runs the same call twice, once with the kernels forced on (thresholds 0) and once
with them off (``MOVEKIT_NUMBA=0``), and compares with ``np.array_equal`` (NaN equal to NaN): on
the real Sports2D demo pose (2D and 3D, offline and causal) and on synthetic signals built to hit
the edge cases (gaps at the ends, one-sample runs, whole-NaN channels, infinities).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from movekit.analysis import filters as F  # noqa: E402
from movekit.analysis import kernels  # noqa: E402
from movekit.analysis.angles import joint_angles  # noqa: E402
from movekit.analysis.pipeline import StreamingAnalyzer, analyse, frame_rate, swap_flags  # noqa: E402


def _both(monkeypatch, fn):
    """``fn()`` with the compiled kernels forced on, then with them off."""
    with monkeypatch.context() as m:
        m.setattr(kernels, "MIN_SAMPLES", 0)
        m.setattr(kernels, "LOAD_MIN_SAMPLES", 0)
        m.setenv("MOVEKIT_NUMBA", "1")
        fast = fn()
    with monkeypatch.context() as m:
        m.setenv("MOVEKIT_NUMBA", "0")
        ref = fn()
    return fast, ref


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _edge_signal(n: int = 3000, ch: int = 9) -> np.ndarray:
    """Noisy sines with spikes, 1-frame drops, a long gap, runs of 1 and 2 samples between gaps,
    NaN at both ends and one all-NaN channel."""
    rng = np.random.default_rng(3)
    t = np.arange(n) / 30.0
    x = 100 * np.sin(2 * np.pi * 0.4 * t[:, None] + np.arange(ch)) + rng.normal(0, 1.5, (n, ch))
    x[rng.random((n, ch)) < 0.01] += 80.0  # spikes for the Hampel filter
    x[rng.random(n) < 0.02] = np.nan  # whole-frame drops (all channels share the gap)
    x[rng.random((n, ch)) < 0.01] = np.nan  # per-channel drops
    x[100:160, :3] = np.nan  # longer than any gap fill
    x[200, 4], x[201:210, 4], x[212:214, 4], x[214:230, 4] = 1.0, np.nan, 2.0, np.nan  # runs of 1 and 2
    x[:5, 5], x[-7:, 6] = np.nan, np.nan
    x[:, 8] = np.nan
    return x


@pytest.mark.parametrize("causal", [False, True])
def test_cleaning_kernels_equal_numpy(monkeypatch, causal):
    x = _edge_signal()
    mode = "causal" if causal else "offline"
    for name, fn in {
        "hampel": lambda: F.hampel(x, causal=causal),
        "fill": lambda: F.fill_gaps(x, 6, causal=causal),
        "lowpass": lambda: F.lowpass(x, 30.0, zero_phase=not causal),
        "clean": lambda: F.clean(x, 30.0, mode=mode),
        "clean, no low-pass": lambda: F.clean(x, 30.0, F.CleanConfig(cutoff_hz=None), mode=mode),
        "clean, no gap fill, order 3": lambda: F.clean(x, 25.0, F.CleanConfig(max_gap_s=0, order=3), mode=mode),
        "clean, no Hampel": lambda: F.clean(x, 30.0, F.CleanConfig(hampel_half_window=0), mode=mode),
        "settle": lambda: F.settle_after_gaps(x, 3),
        "drop short runs": lambda: F.drop_short_runs(x, 6),
        "velocity guard": lambda: F.velocity_guard(x, 30.0, np.linspace(300, 3000, x.shape[1]), hold=6),
    }.items():
        fast, ref = _both(monkeypatch, fn)
        assert _same(fast, ref), name
    # the filters really did something here (so the comparison is not between two copies)
    ref = F.clean(x, 30.0, mode=mode)
    assert np.nanmax(np.abs(ref - x)) > 50 and np.isfinite(ref[110:150, :3]).sum() == 0


def test_swap_flags_kernel_equal_numpy(monkeypatch, demo_pose):
    img = np.array(demo_pose.image_px, dtype=np.float64)
    img[::9, 13:17] = img[::9, 14:18]  # arms relabelled every 9th frame
    for ratio in (0.75, 0.95):
        fast, ref = _both(monkeypatch, lambda: swap_flags(img, ratio=ratio))  # noqa: B023 (called at once)
        assert _same(fast, ref) and ref.any()


def test_infinity_falls_back_to_numpy(monkeypatch):
    x = _edge_signal()
    x[500, 2] = np.inf
    fast, ref = _both(monkeypatch, lambda: F.hampel(x))
    assert _same(fast, ref)


@pytest.mark.parametrize("space", ["2d", "3d"])
@pytest.mark.parametrize("offline", [True, False])
def test_pipeline_equal_on_real_pose(monkeypatch, demo_pose, offline, space):
    p = demo_pose
    fast, ref = _both(
        monkeypatch,
        lambda: analyse(p.t_s, p.image_px, p.world_m, p.visibility, space=space, offline=offline, gate=False),
    )
    for k in ref.angles:
        assert _same(fast.angles[k], ref.angles[k]), k
    assert _same(fast.landmarks, ref.landmarks) and _same(fast.com, ref.com) and _same(fast.view, ref.view)
    assert np.isfinite(ref.angles["right_knee_flexion_deg"]).mean() > 0.5  # numbers, not all NaN


def test_streaming_equals_compiled_causal_batch(monkeypatch, demo_pose):
    """The live path (numpy, frame by frame) equals the causal batch run by the compiled kernels:
    the condition for replay's bit identity (tests/test_replay.py)."""
    p = demo_pose
    monkeypatch.setattr(kernels, "MIN_SAMPLES", 0)
    monkeypatch.setattr(kernels, "LOAD_MIN_SAMPLES", 0)
    batch = analyse(p.t_s, p.image_px, None, p.visibility, offline=False, gate=False)
    live = StreamingAnalyzer(frame_rate(p.t_s), gate=False)
    rows = [live.update(p.image_px[i], p.visibility[i])[0] for i in range(len(p.t_s))]
    for k in batch.angles:
        assert _same(np.array([r[k] for r in rows]), batch.angles[k]), k


def test_angle_kernel_equal_numpy_with_degenerate_frames(monkeypatch, demo_pose):
    img = np.array(demo_pose.image_px[:, :, :2], dtype=np.float64)
    img[::7, 11] = img[::7, 12]  # shoulders of zero width: the sign falls back to ``front``
    img[::5, 23, 0] = img[::5, 24, 0]
    img[::11, 25] = img[::11, 23]  # a zero-length thigh: NaN
    facing = np.where(np.arange(len(img)) % 50 < 25, 1.0, -1.0)
    fast, ref = _both(monkeypatch, lambda: joint_angles(image_px=img, facing=facing, front=-facing))
    assert all(_same(fast[k], ref[k]) for k in ref)
    assert np.isnan(ref["left_knee_flexion_deg"][::11]).all()


def test_short_clip_does_not_load_numba():
    """A short analysis in a new process stays on numpy: importing Numba and loading the kernels
    would cost more than they save (kernels.LOAD_MIN_SAMPLES)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from movekit.analysis.pipeline import analyse\n"
        "from movekit.analysis.synthetic import pose_from_angles\n"
        "img, _ = pose_from_angles(3000, {'left_knee_flexion_deg': np.linspace(0, 90, 3000)}, yaw_deg=90.0)\n"
        "r = analyse(np.arange(3000) / 30.0, img, None, None, gate=False)\n"
        "print(np.nanmax(r.angles['left_knee_flexion_deg']), 'numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert 80 < float(out[0]) < 95 and out[1] == "False"
