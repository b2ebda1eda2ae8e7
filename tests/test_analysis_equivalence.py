"""The compiled kernels (movekit.analysis.kernels, issue 22) give the numpy code's values bit for bit.

Each test runs the same call twice, once with the kernels forced on (thresholds 0) and once
with them off (``MOVEKIT_NUMBA=0``), and compares bit for bit (the same bytes; NaN equal to NaN,
but +0.0 not equal to -0.0): on the real Sports2D demo pose (2D and 3D, offline and causal) and on
synthetic signals built to hit the edge cases (gaps at the ends, one-sample runs, whole-NaN
channels, infinities, zero-width shoulders, coincident landmarks).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from movekit.analysis import filters as F  # noqa: E402
from movekit.analysis import kernels  # noqa: E402
from movekit.analysis import view as V  # noqa: E402
from movekit.analysis.angles import joint_angles  # noqa: E402
from movekit.analysis.com import center_of_mass  # noqa: E402
from movekit.analysis.pipeline import (  # noqa: E402
    StreamingAnalyzer,
    agree_lower_with_upper,
    analyse,
    frame_rate,
    swap_flags,
    unswap_left_right,
)


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
    """Same shape, dtype and values bit for bit (any NaN equal to any NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind != "f":
        return np.array_equal(a, b)
    nan = np.isnan(a)
    return np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan].tobytes(), b[~nan].tobytes())


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


def _awkward_pose(demo_pose) -> np.ndarray:
    """The demo's image landmarks (float64 x, y) with the cases the view, COM and swap kernels
    must treat as numpy does: dropped frames, single missing landmarks, zero-width shoulders
    and hips, coincident knee and hip (zero-length vectors), a zero trunk (0/0), infinities,
    signed zeros, and arms and legs relabelled every few frames."""
    img = np.array(demo_pose.image_px[:, :, :2], dtype=np.float64)
    img[::9, 13:17] = img[::9, 14:18]
    img[5::13, 23:33] = img[5::13][:, [24, 23, 26, 25, 28, 27, 30, 29, 32, 31]]
    img[::17] = np.nan
    img[3::7, 11] = img[3::7, 12]
    img[4::11, 23, 0] = img[4::11, 24, 0]
    img[2::19, 0] = np.nan
    img[6::23, 7:9] = np.nan
    img[8::29, 29:33] = np.nan
    img[10::31, 25] = img[10::31, 23]
    img[12::37, [11, 12, 23, 24]] = img[12::37, [11]]  # zero trunk and widths
    img[14::41, 0, 0] = np.inf
    img[16::43, 31, 1] = -np.inf
    img[18::47, 7:9] = -0.0
    return img


def test_view_kernels_equal_numpy(monkeypatch, demo_pose):
    """Facing, front and yaw cues (one compiled pass) equal facing_2d, yaw_cues_2d and
    body_yaw_deg (numpy's own arctan2 and arccos stay in between), default and other parameters."""
    img = _awkward_pose(demo_pose)
    calls = {
        "facing": lambda: V.facing_2d(img),
        "facing unheld": lambda: V.facing_2d(img, hold=False),
        "facing, thresholds": lambda: V.facing_2d(img, sag_threshold=0.1, front_threshold=0.4),
        "yaw cues": lambda: V.yaw_cues_2d(img),
        "yaw cues, ratios": lambda: V.yaw_cues_2d(img, width_ratio=0.4, nose_ratio=0.2, foot_ratio=0.3),
        "yaw": lambda: V.body_yaw_deg(img),
        "facing and yaw": lambda: V.facing_and_yaw_2d(img),
        "view": lambda: V.classify_view(img),
    }
    for name, fn in calls.items():
        fast, ref = _both(monkeypatch, fn)
        fast, ref = (fast, ref) if isinstance(ref, tuple) else ((fast,), (ref,))
        assert all(_same(a, b) for a, b in zip(fast, ref, strict=True)), name
    facing, front, yaw = V.facing_and_yaw_2d(img)
    assert set(np.unique(facing)) == {-1.0, 1.0} and np.isnan(yaw).any() and np.nanmax(yaw) > 60


def test_com_kernel_equal_numpy(monkeypatch, demo_pose):
    img = _awkward_pose(demo_pose)
    world = np.asarray(demo_pose.world_m, dtype=np.float64)
    for sex in (None, "female", "male"):
        fast, ref = _both(monkeypatch, lambda: center_of_mass(img, sex=sex))  # noqa: B023 (called at once)
        assert _same(fast, ref), sex
    fast, ref = _both(monkeypatch, lambda: center_of_mass(world, visibility=demo_pose.visibility))
    assert _same(fast, ref) and np.isfinite(ref).all(axis=1).mean() > 0.3
    fast, ref = _both(monkeypatch, lambda: center_of_mass(img[40]))  # one frame
    assert _same(fast, ref)


def test_swap_repair_kernels_equal_numpy(monkeypatch, demo_pose):
    img = _awkward_pose(demo_pose)
    flags = swap_flags(img)
    odd = np.zeros_like(flags)
    odd[::3, 0], odd[1::4, 1] = True, True
    fast, ref = _both(monkeypatch, lambda: agree_lower_with_upper(img, odd))
    assert _same(fast, ref) and (ref != odd).any()
    vis = np.asarray(demo_pose.visibility, dtype=np.float64)
    fast, ref = _both(monkeypatch, lambda: unswap_left_right(img, vis, flags, max_frames=15))
    assert _same(fast[0], ref[0]) and _same(fast[1], ref[1])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the infinities, numpy path
@pytest.mark.parametrize("offline", [True, False])
def test_pipeline_steps_after_angles_equal_numpy(monkeypatch, demo_pose, offline):
    """The guard, gate and settle steps (one compiled pass over angle rows) equal the numpy
    steps, with and without the guard and the gate, on a pose with relabelled and broken frames."""
    p = demo_pose
    img = _awkward_pose(p)
    img[200:260] = np.nan  # a long gap: settle and short islands
    img[263:266] = img[270:273]
    for cfg, gate in ((F.CleanConfig(), True), (F.CleanConfig(velocity_guard=False), False), (F.CleanConfig(), False)):
        fast, ref = _both(
            monkeypatch,
            lambda: analyse(p.t_s, img, None, p.visibility, offline=offline, config=cfg, gate=gate),  # noqa: B023
        )
        for k in ref.angles:
            assert _same(fast.angles[k], ref.angles[k]), (k, cfg, gate)
            assert _same(fast.error_deg[k], ref.error_deg[k]), k
        assert _same(fast.landmarks, ref.landmarks) and _same(fast.yaw_deg, ref.yaw_deg)
        assert _same(fast.com, ref.com) and _same(fast.view, ref.view)
    assert np.isfinite(ref.angles["right_knee_flexion_deg"]).mean() > 0.3


def test_analyse_leaves_its_inputs_alone(monkeypatch, demo_pose):
    """The pipeline relabels and masks its own copies in place, never the caller's arrays (float64
    x, y and visibility, which numpy would not copy on the way in)."""
    p = demo_pose
    img = np.ascontiguousarray(np.asarray(p.image_px, dtype=np.float64)[:, :, :2])
    img[::9, 13:17] = img[::9, 14:18]
    vis = np.array(p.visibility, dtype=np.float64)
    vis[::5, 11] = 0.1
    img0, vis0 = img.copy(), vis.copy()
    fast, ref = _both(monkeypatch, lambda: analyse(p.t_s, img, None, vis, gate=False))
    assert _same(img, img0) and _same(vis, vis0)
    assert _same(fast.landmarks, ref.landmarks) and _same(fast.com, ref.com)
    assert swap_flags(img).any() and not _same(ref.landmarks[:, 13:17], img[:, 13:17])


def test_infinite_landmark_falls_back_to_numpy(monkeypatch, demo_pose):
    """An infinity reaches the Hampel filter: the in-place compiled path hands over to numpy on
    the landmarks it already masked, with the same result."""
    p = demo_pose
    img = np.array(p.image_px, dtype=np.float64)
    img[50, 25, 0] = np.inf
    fast, ref = _both(monkeypatch, lambda: analyse(p.t_s, img, None, p.visibility, gate=False))
    assert _same(fast.landmarks, ref.landmarks)
    assert all(_same(fast.angles[k], ref.angles[k]) for k in ref.angles)


def _hampel_signals() -> dict[str, np.ndarray]:
    """Signals for the Hampel kernel's three paths (a sorted window, one NaN, the numpy-order
    redo): ties, one NaN per window, runs of NaN, huge values whose midpoints overflow."""
    rng = np.random.default_rng(5)
    ties = rng.integers(0, 4, (4000, 5)).astype(float)
    one_nan = 300 + rng.normal(0, 2, (4000, 11))
    one_nan[rng.random(one_nan.shape) < 0.03] += 40.0  # outliers, also next to the NaN
    one_nan[::37, :6] = np.nan  # one NaN per window in these channels
    one_nan[5::41] = np.nan  # whole-frame drops, as the pose model gives them
    one_nan[900:903, 7], one_nan[950:952, 8] = np.nan, np.nan  # two and three in a window
    huge = rng.normal(0, 1, (4000, 4)) * 1e308
    huge[::13, 1] = np.nan
    return {"ties": ties, "one NaN": one_nan, "huge": huge}


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the huge values, numpy path
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("causal", [False, True])
def test_hampel_kernel_paths_equal_numpy(monkeypatch, causal):
    for name, x in _hampel_signals().items():
        for min_count in (3, 7):
            fast, ref = _both(monkeypatch, lambda: F.hampel(x, causal=causal, min_count=min_count))  # noqa: B023
            assert _same(fast, ref), (name, min_count)
    x = _hampel_signals()["one NaN"]
    ref = F.hampel(x, causal=causal)
    replaced = (ref != x) & np.isfinite(x)
    assert replaced[::37, :6].sum() + replaced[1::37, :6].sum() > 10  # decisions next to a NaN


def test_hampel_zero_median_as_before(monkeypatch):
    """Windows whose median is zero are redone in the numpy code's order: which of +0.0 and -0.0
    comes out is what it was before the sorted-window kernel (values equal to numpy's)."""
    rng = np.random.default_rng(6)
    z = rng.integers(-2, 3, (3000, 4)).astype(float) * (rng.random((3000, 4)) < 0.4)
    z[rng.random(z.shape) < 0.5] *= -1.0  # -0.0 and +0.0
    fast, ref = _both(monkeypatch, lambda: F.hampel(z))
    assert np.array_equal(fast, ref) and (ref != z).any()


@pytest.mark.parametrize("zero_phase", [True, False])
def test_lowpass_kernel_rows_and_runs(monkeypatch, zero_phase):
    """The low-pass kernel filters rows where they lie, 8 at a time: row counts that are not a
    multiple of 8, runs of 1-12 samples between gaps (padding shorter than 9), 1-3 sections."""
    rng = np.random.default_rng(7)
    x = 50 * np.sin(np.arange(600)[:, None] / 9.0 + np.arange(13)) + rng.normal(0, 1, (600, 13))
    for start, length in ((20, 1), (30, 2), (40, 3), (50, 10), (70, 12)):
        x[start - 1, :] = np.nan
        x[start + length, :] = np.nan
    x[300:305, 4] = np.nan  # one row with gaps of its own: a group of its own
    for order in (2, 4, 6):
        for cols in (slice(0, 3), slice(0, 13), slice(2, 11)):
            xs = x[:, cols]
            fast, ref = _both(monkeypatch, lambda: F.lowpass(xs, 30.0, order=order, zero_phase=zero_phase))  # noqa: B023
            assert _same(fast, ref), (order, cols)
    assert np.nanmax(np.abs(ref - x[:, 2:11])) > 0.5


@pytest.mark.parametrize("offline", [True, False])
def test_compiled_swap_and_clean_path_equal_on_real_pose(monkeypatch, demo_pose, offline):
    """Without world landmarks ``analyse`` relabels, masks and gathers the caller's float32 pose
    in one compiled pass and computes the angles from the cleaned rows: the same results as the
    numpy code, with and without visibility and swap repair, arms relabelled, landmarks hidden."""
    from movekit.analysis import pipeline as P

    p = demo_pose
    img = np.array(p.image_px, dtype=np.float32)
    img[::9, 13:17] = img[::9, 14:18]  # arms relabelled every 9th frame
    img[40:44, 23:33] = img[40:44][:, [24, 23, 26, 25, 28, 27, 30, 29, 32, 31]]  # legs swapped
    vis = np.array(p.visibility, dtype=np.float32)
    vis[::5, 25] = 0.2
    vis[3::11, 7] = np.nan
    refs = []
    for v, fix in ((vis, True), (None, True), (vis, False)):
        fast, ref = _both(
            monkeypatch,
            lambda: analyse(p.t_s, img, None, v, offline=offline, fix_swaps=fix, gate=False),  # noqa: B023
        )
        for k in ref.angles:
            assert _same(fast.angles[k], ref.angles[k]), (k, fix)
            assert _same(fast.error_deg[k], ref.error_deg[k]), k
        assert _same(fast.landmarks, ref.landmarks) and _same(fast.com, ref.com) and _same(fast.view, ref.view)
        assert _same(fast.yaw_deg, ref.yaw_deg)
        refs.append(ref)
    with monkeypatch.context() as m:  # the compiled path was the one taken
        m.setattr(kernels, "MIN_SAMPLES", 0)
        m.setattr(kernels, "LOAD_MIN_SAMPLES", 0)
        kw = dict(min_visibility=0.5, config=F.CleanConfig(), offline=offline)
        out = P._unswap_clean_compiled(img, vis, frame_rate(p.t_s), True, **kw)
    assert out is not None and out[1].any() and out[2] is not None
    masked, unmasked, unrepaired = (r.landmarks[:, 25:27] for r in refs)  # the knees
    assert not _same(masked, unmasked) and not _same(masked, unrepaired)  # the mask and the repair did something
    assert np.isfinite(refs[0].angles["right_knee_flexion_deg"]).mean() > 0.5
