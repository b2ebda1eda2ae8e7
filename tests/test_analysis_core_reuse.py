"""The analysis core's compiled view steps and its reused scratch rows (issue 22) give the numpy
code's values bit for bit.

The view vote and sign hold are compared with the numpy code (compiled kernels forced on, then
``MOVEKIT_NUMBA=0``) on codes built to hit the window edges (even windows, windows longer than
the input, unknown frames); the scratch rows that ``analyse`` reuses from one call to the next
are checked on the real Sports2D demo pose: a call after calls of other lengths gives what a
first call gives, and an earlier result is not changed by a later call.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from movekit.analysis import kernels  # noqa: E402
from movekit.analysis import view as V  # noqa: E402
from movekit.analysis.pipeline import analyse  # noqa: E402


def _same(a, b) -> bool:
    """Same shape, dtype and values bit for bit (any NaN equal to any NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind != "f":
        return np.array_equal(a, b)
    nan = np.isnan(a)
    return np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan].tobytes(), b[~nan].tobytes())


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


def _codes(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(yaw deg, facing) giving view codes in runs with flicker and unknown frames."""
    code = np.repeat(rng.integers(0, 5, n // 4 + 1), 4)[:n]
    flick = rng.random(n) < 0.3
    code[flick] = rng.integers(0, 5, flick.sum())
    yaw = np.select([code == 4, code == 2, code == 3], [np.nan, 10.0, 45.0], 80.0)
    yaw[(code == 4) & (rng.random(n) < 0.5)] = np.inf
    return yaw, np.where(code == 1, 1.0, -1.0)


@pytest.mark.parametrize("n", [2, 3, 7, 40, 3001])
def test_view_vote_and_hold_equal_numpy(monkeypatch, n):
    rng = np.random.default_rng(n)
    yaw, facing = _codes(n, rng)
    p = np.zeros((n, 33, 2))
    for size in (2, 3, 4, 15, 16, 5000):
        fast, ref = _both(monkeypatch, lambda: V.view_codes(p, smooth_frames=size, facing=facing, yaw_deg=yaw))  # noqa: B023
        assert _same(fast, ref), size
    sign = rng.choice([0.0, -0.0, 1.0, -1.0, np.nan], n, p=[0.5, 0.1, 0.2, 0.15, 0.05])
    sign[0] = 0.0  # leading zeros take the default
    for default in (1.0, -1.0):
        fast, ref = _both(monkeypatch, lambda: V._hold(sign, default))  # noqa: B023
        assert _same(fast, ref), default
    if n > 40:  # the vote did smooth, and the hold did fill
        raw = V.view_codes(p, smooth_frames=1, facing=facing, yaw_deg=yaw)
        assert (ref != sign).any() and (V.view_codes(p, smooth_frames=15, facing=facing, yaw_deg=yaw) != raw).any()


def test_reused_scratch_rows_give_the_same_results(monkeypatch, demo_pose):
    """``analyse`` reuses one buffer per thread for the rows it cleans: a call after calls of other
    lengths and modes equals a first call (no buffer kept) and the numpy code, and a result
    already returned is not touched by the next call."""
    p = demo_pose
    monkeypatch.setattr(kernels, "MIN_SAMPLES", 0)
    monkeypatch.setattr(kernels, "LOAD_MIN_SAMPLES", 0)
    n = len(p.t_s)

    def run(stop, offline=True):
        return analyse(p.t_s[:stop], p.image_px[:stop], None, p.visibility[:stop], offline=offline, gate=False)

    kernels._SCRATCH.buf = None
    first = run(n)  # a new buffer, kept after the call
    first_copy = {k: v.copy() for k, v in first.angles.items()}
    assert kernels._SCRATCH.buf is not None and kernels._SCRATCH.buf.size >= 46 * (n + 6)
    short = run(n // 2, offline=False)  # the kept buffer, a part of it
    again = run(n)  # the kept buffer, whole
    for k in first.angles:
        assert _same(again.angles[k], first.angles[k]) and _same(first.angles[k], first_copy[k]), k
    assert _same(again.landmarks, first.landmarks) and _same(again.com, first.com)
    with monkeypatch.context() as m:
        m.setenv("MOVEKIT_NUMBA", "0")
        ref, ref_short = run(n), run(n // 2, offline=False)
    for k in ref.angles:
        assert _same(again.angles[k], ref.angles[k]) and _same(short.angles[k], ref_short.angles[k]), k
    assert _same(short.landmarks, ref_short.landmarks) and _same(short.com, ref_short.com)
    assert np.isfinite(ref.angles["right_knee_flexion_deg"]).mean() > 0.5  # numbers, not all NaN


def test_two_threads_give_the_numpy_values(monkeypatch, demo_pose):
    """Long batches are split across two threads (the filter's rows, the view cues' and the
    angles' frames): on the real demo pose, split at every size the kernels take, the values are
    the numpy code's bit for bit, and the split did happen (both halves ran, on two threads)."""
    import threading

    p = demo_pose
    monkeypatch.setattr(kernels, "MIN_SAMPLES", 0)
    monkeypatch.setattr(kernels, "LOAD_MIN_SAMPLES", 0)
    monkeypatch.setattr(kernels, "SPLIT_MIN_SAMPLES", 0)
    monkeypatch.setattr(kernels, "_threads", lambda: 2)
    from movekit.analysis import angles as A

    monkeypatch.setattr(A, "_BLOCK", 48)  # the demo's 230 frames in 5 blocks: 2 + 3 per thread
    calls = []
    real = kernels.in_two

    def spy(part, n_items, n_samples):
        def seen(lo, hi):
            calls.append((lo, hi, n_items, threading.get_ident()))
            part(lo, hi)

        real(seen, n_items, n_samples)

    monkeypatch.setattr(kernels, "in_two", spy)
    import movekit.analysis._numba_kernels as nk

    monkeypatch.setattr(nk, "in_two", spy)

    def run(offline):
        return analyse(p.t_s, p.image_px, None, p.visibility, offline=offline, gate=False)

    split = {offline: run(offline) for offline in (True, False)}
    assert len({c[3] for c in calls}) == 2  # two threads did the work
    halves = {}
    for lo, hi, n_items, _ in calls:
        halves.setdefault(n_items, set()).add((lo, hi))
    assert len(halves) >= 3  # rows of the filter, frames of the cues, blocks of the angles
    for n_items, got in halves.items():  # two halves that cover the items
        assert sorted(got)[0][0] == 0 and sorted(got)[-1][1] == n_items and len(got) == 2, n_items
    with monkeypatch.context() as m:
        m.setenv("MOVEKIT_NUMBA", "0")
        ref = {offline: run(offline) for offline in (True, False)}
    for offline in (True, False):
        a, r = split[offline], ref[offline]
        for k in r.angles:
            assert _same(a.angles[k], r.angles[k]), (offline, k)
        assert _same(a.landmarks, r.landmarks) and _same(a.com, r.com) and _same(a.yaw_deg, r.yaw_deg)
        assert np.isfinite(r.angles["right_knee_flexion_deg"]).mean() > 0.5


def test_a_forked_child_splits_with_its_own_helper_thread():
    """The helper thread does not survive a fork: a child process that splits a batch after its
    parent did gets a new one instead of waiting forever on the parent's."""
    import multiprocessing

    kernels.in_two(lambda lo, hi: None, 2, kernels.SPLIT_MIN_SAMPLES)  # the parent's helper exists
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_split_in_child).get(timeout=60)
    assert got == [(0, 1), (1, 2)]


def _split_in_child():
    seen = []
    kernels.in_two(lambda lo, hi: seen.append((lo, hi)), 2, kernels.SPLIT_MIN_SAMPLES)
    return sorted(seen)
