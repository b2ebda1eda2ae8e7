"""The issue-22 kernels that skip work give the numpy code's values bit for bit at the edges.

The fused swap scan (flags, parity, hip/shoulder agreement, relabel, mask, gather in one pass),
the in-place Hampel filter, the angle-branch step by selects, the settle steps run by run, the
centre of mass from rows and the view cues that skip ``hypot`` when a decision is clear: each
is compared with the numpy code (or the kernel it replaced) on inputs built to sit on the
edges of their shortcuts (lengths and sines within 1e-12 of a limit, angles past 720 deg,
infinities, signed zeros). ``tests/test_analysis_equivalence.py`` covers the same kernels on the
real Sports2D demo pose through ``analyse``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from test_analysis_equivalence import _same  # noqa: E402  (bit-for-bit comparison, one definition)

from movekit.analysis import _numba_kernels as K  # noqa: E402
from movekit.analysis import filters as F  # noqa: E402
from movekit.analysis import kernels  # noqa: E402
from movekit.analysis import pipeline as P  # noqa: E402
from movekit.analysis import view as V  # noqa: E402
from movekit.analysis.com import center_of_mass, center_of_mass_rows  # noqa: E402
from movekit.analysis.synthetic import pose_from_angles  # noqa: E402


@pytest.fixture
def numpy_only(monkeypatch):
    """The numpy reference code inside the test (``MOVEKIT_NUMBA=0``)."""
    monkeypatch.setenv("MOVEKIT_NUMBA", "0")


def _pose(n: int = 1200, seed: int = 0) -> np.ndarray:
    """Synthetic squats seen at 60 deg of yaw (px, float64), 1 px noise."""
    t = np.arange(n) / 30.0
    ang = {"left_knee_flexion_deg": 45 + 45 * np.sin(2 * np.pi * 0.3 * t), "trunk_inclination_deg": 10 + 0 * t}
    img, _ = pose_from_angles(n, ang, yaw_deg=60.0, px_per_m=500.0, centre_px=(640.0, 400.0))
    return img[..., :2] + np.random.default_rng(seed).normal(0, 1.0, img[..., :2].shape)


def _on_width_limit(img: np.ndarray) -> np.ndarray:
    """Frames whose shoulder width sits within a few ulps of MIN_PAIR_WIDTH_TRUNK trunks and whose
    hips point against the shoulders (the agreement's hypot shortcut must not decide these)."""
    p = img.copy()
    rng = np.random.default_rng(1)
    for i in range(600, len(p), 3):  # the first 600 frames keep their swaps clear
        mid_s, mid_h = 0.5 * (p[i, 11] + p[i, 12]), 0.5 * (p[i, 23] + p[i, 24])
        trunk = np.hypot(*(mid_s - mid_h))
        w = P.MIN_PAIR_WIDTH_TRUNK * trunk * (1.0 + rng.choice([-3, -1, 0, 1, 3]) * 1e-16)
        p[i, 11], p[i, 12] = mid_s + [w / 2, 0.0], mid_s - [w / 2, 0.0]
        p[i, 23], p[i, 24] = mid_h - [0.4 * trunk, 0.01], mid_h + [0.4 * trunk, 0.01]  # hips reversed
    return p


@pytest.mark.parametrize("vis_kind", ["float32", "none"])
def test_swap_scan_equals_numpy_repair(numpy_only, monkeypatch, vis_kind):
    img = _on_width_limit(_pose(20000))
    upper = [7, 8, 11, 12, 13, 14, 15, 16]
    for a, b in ((50, 56), (300, 303)):  # the upper body relabelled
        img[a:b, upper] = img[a:b][:, [8, 7, 12, 11, 14, 13, 16, 15]]
    img[100:104, 23:33] = img[100:104][:, [24, 23, 26, 25, 28, 27, 30, 29, 32, 31]]  # legs swapped
    img[::31] = np.nan
    img[5::17, 0, 1] = -0.0
    rng = np.random.default_rng(2)
    vis = rng.uniform(0.3, 1.0, img.shape[:2]).astype(np.float32) if vis_kind == "float32" else None
    if vis is not None:
        vis[::13, 25] = np.nan
    raw = img.astype(np.float32)
    p64 = raw.astype(np.float64)  # the numpy code's float64 view of the same values
    m = 15
    ref_odd = P.relabel_flags(p64, P.swap_flags(p64), m)
    ref = p64.copy()
    P._relabel_in_place(ref, ref_odd)
    if vis is not None:
        v = vis.astype(np.float64)
        P._relabel_in_place(v, ref_odd)
        ref = F.mask_by_visibility(ref, v, 0.5)
    monkeypatch.setenv("MOVEKIT_NUMBA", "1")
    out, rows, odd = K.swap_scan(raw, vis, 0.5, True, P._SWAP_GROUPS, 0.75, m, -0.3, 0.15, P._PERMS, P._USED_POS, 3, 3)
    assert _same(odd, ref_odd) and ref_odd[:, 0].any() and ref_odd[:, 1].any()
    unused = np.setdiff1d(np.arange(33), P.USED)
    assert _same(out[:, unused], ref[:, unused])
    assert _same(rows[:, 3:-3], np.moveaxis(ref[:, P.USED], 0, -1).reshape(2 * P.USED.size, -1))
    assert np.isnan(rows[:, :3]).all() and np.isnan(rows[:, -3:]).all()
    # the agreement flipped the lower half on frames of the width limit, and not on all of them
    agree = P.agree_lower_with_upper(p64, P.swap_parity(P.swap_flags(p64), m))
    flipped = agree[600::3, 1] != P.swap_parity(P.swap_flags(p64), m)[600::3, 1]
    assert 0 < flipped.sum() < flipped.size


def _near_facing_threshold(img: np.ndarray) -> np.ndarray:
    """Frames whose nose sine is within ~1e-13 of the 0.3 facing threshold (feet hidden, so it is
    the only cue) or whose nose offset is within ~1e-13 of 0.05 trunk lengths."""
    p = img.copy()
    p[:, 25:33] = np.nan
    rng = np.random.default_rng(3)
    for i in range(len(p)):
        mid_s, mid_h = 0.5 * (p[i, 11] + p[i, 12]), 0.5 * (p[i, 23] + p[i, 24])
        up = mid_s - mid_h
        L = np.hypot(*up)
        ear = 0.5 * (p[i, 7] + p[i, 8])
        u = up / L
        perp = np.array([-u[1], u[0]])
        jitter = 1.0 + rng.choice([-2, -1, 0, 1, 2]) * 1e-16
        if i % 2:  # the sine on the threshold
            s = 0.3 * jitter * rng.choice([-1.0, 1.0])
            vec = (np.sqrt(1 - s * s) * u + s * perp) * 0.3 * L
        else:  # the length on the limit
            vec = (0.8 * u + 0.6 * perp) * 0.05 * L * jitter
        p[i, 0] = ear + vec
    return p


def test_view_cues_facing_shortcut_equals_numpy(monkeypatch):
    img = _near_facing_threshold(_pose(20000, seed=4))
    with monkeypatch.context() as m:
        m.setenv("MOVEKIT_NUMBA", "0")
        ref = V.facing_2d(img, hold=False), V.yaw_cues_2d(img)
    out = np.empty((4, len(img)))
    th, ra = np.array([0.3, 0.15]), np.array([V.YAW_WIDTH_RATIO, V.YAW_NOSE_RATIO, V.YAW_FOOT_RATIO])
    K.view_cues(np.ascontiguousarray(img), th, ra, V._SIN_WEIGHTS, out)
    for a, b in zip(out, (*ref[0], *ref[1])):
        assert _same(a, b)
    assert (ref[0][0][1::2] != 0).any() and (ref[0][0][1::2] == 0).any()  # both sides of the threshold


def _padded(x: np.ndarray, before: int, after: int) -> np.ndarray:
    rows = np.full((x.shape[1], before + x.shape[0] + after), np.nan)
    rows[:, before : before + x.shape[0]] = x.T
    return rows


@pytest.mark.parametrize("causal", [False, True])
def test_inplace_hampel_equals_kernel_and_refuses_infinity(causal):
    rng = np.random.default_rng(5)
    x = 100 * np.sin(np.arange(5000)[:, None] / 20.0 + np.arange(9)) + rng.normal(0, 1.5, (5000, 9))
    x[rng.random(x.shape) < 0.02] += 60.0
    x[rng.random(x.shape) < 0.02] = np.nan
    x[::50, 2] = 0.0
    x[1::50, 2] = -0.0  # zero medians: the redo path
    x[200:210, 4] = np.nan
    before, after = F.hampel_padding(causal)
    xoff, thresh = (6 if causal else 3), 3.0 * F._MAD_SCALE
    ref, ok = K.hampel7(_padded(x, before, after), xoff, thresh, 3)
    got = K.hampel7_front(_padded(x, before, after), xoff, thresh, 3)
    assert ok and got is not None and got.flags.c_contiguous and _same(got, ref)
    assert (ref != x.T)[np.isfinite(x.T)].sum() > 100
    bad = x.copy()
    bad[4000, 7] = np.inf
    assert K.hampel7_front(_padded(bad, before, after), xoff, thresh, 3) is None
    bad[4000, 7], bad[0, 0] = 1.0, -np.inf  # in the first window
    assert K.hampel7_front(_padded(bad, before, after), xoff, thresh, 3) is None


def test_angle_branch_by_selects_equals_mod(monkeypatch):
    """``angles_finish``: angles wrapped to their branch by selects, and a row past 720 deg by
    ``np.mod`` as before; the same values as ``lo + np.mod(t - lo, 360)``."""
    n = 3000
    rng = np.random.default_rng(6)
    theta = rng.uniform(-np.pi, np.pi, (4, n))
    theta[:, ::10] = np.array([0.0, -0.0, np.pi, -np.pi])[:, None]
    theta[:, 5::50] = np.nan
    theta[3] *= 9.0  # a row past 720 deg
    short = rng.random((4, n)) < 0.05
    mult, offset = np.array([1.0, -1.0, 1.0, 1.0]), np.array([0.0, 180.0, -90.0, 0.0])
    lo, unsigned = np.array([-180.0, -90.0, 0.0, -180.0]), np.array([False, False, True, False])
    plo, phi = np.full(4, -170.0), np.full(4, 350.0)
    got = theta.copy()
    K.angles_finish(got, 0, n, short, mult, offset, lo, unsigned, plo, phi)
    t = theta * (180.0 / np.pi) * mult[:, None] + offset[:, None]
    with np.errstate(invalid="ignore"):
        t = np.where(unsigned[:, None], t, lo[:, None] + np.mod(t - lo[:, None], 360.0))
        ref = np.where(short | (t < plo[:, None]) | (t > phi[:, None]), np.nan, t)
    assert _same(got, ref) and np.isfinite(ref[3]).sum() > 100


def test_settle_rows_equal_numpy():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 10, (2000, 6))
    x[rng.random(x.shape) < 0.05] = np.nan
    x[:4, 1], x[-3:, 2], x[:, 3] = np.nan, np.nan, np.nan
    x[100, 4], x[102:104, 4] = 1.0, 2.0  # runs of 1 and 2
    x[:, 5] = -0.0
    for n_settle, n_min in ((3, 6), (1, 2), (0, 6), (5, 0)):
        ref = F.settle_after_gaps(x, n_settle) if n_settle else x
        ref = F.drop_short_runs(ref, n_min) if n_min > 1 else ref
        theta = np.ascontiguousarray(x.T)
        out, tmp = np.empty_like(theta), np.empty(x.shape[0])
        valid, codes = np.ones((6, 1), dtype=bool), np.zeros(x.shape[0], dtype=np.intp)
        err = np.zeros(x.shape)
        K.angle_rows(theta, valid, codes, False, np.ones(6), 3, False, err, 5.0, False, n_settle, n_min, out, tmp)
        assert _same(out.T, ref), (n_settle, n_min)


def test_com_rows_equal_numpy(numpy_only):
    img = _pose(seed=8)
    img[::17] = np.nan
    img[3::11, 11] = img[3::11, 12]
    img[5::13, 29, 1] = -0.0
    rows = np.ascontiguousarray(np.moveaxis(img[:, P.USED], 0, -1).reshape(2 * P.USED.size, -1))
    for sex in (None, "female", "male"):
        assert _same(center_of_mass_rows(rows, P._USED_POS, sex=sex), center_of_mass(img, sex=sex))


def test_view_vote_picks_the_first_of_equals(numpy_only):
    """``classify_view``'s majority vote, one column at a time, picks what ``np.argmax`` over the
    vote columns picked (the first of equal counts), window even and odd."""
    from scipy.ndimage import uniform_filter1d

    rng = np.random.default_rng(9)
    n = 600
    yaw = rng.choice([5.0, 45.0, 80.0, np.nan], n)
    facing = rng.choice([-1.0, 1.0], n)
    for smooth in (2, 4, 15):
        got = V.classify_view(np.zeros((n, 33, 2)), smooth_frames=smooth, facing=facing, yaw_deg=yaw)
        code = np.where(yaw >= 70, np.where(facing > 0, 1, 0), np.where(yaw <= 20, 2, 3))
        code = np.where(np.isfinite(yaw), code, 4)
        votes = np.stack([uniform_filter1d((code == k).astype(float), smooth, mode="nearest") for k in range(5)], 1)
        ref = np.where(code != 4, np.argmax(votes[:, :4], axis=1), 4)
        assert np.array_equal(got, np.array(V.VIEWS, dtype="<U14")[ref]), smooth
        codes = V.view_codes(np.zeros((n, 33, 2)), smooth_frames=smooth, facing=facing, yaw_deg=yaw)
        assert np.array_equal(codes, ref)
    assert (
        V.classify_view(np.zeros((0, 33, 2))).dtype == np.dtype("<U14") and V.view_codes(np.zeros((0, 33, 2))).size == 0
    )


def test_angle_rows_taken_without_a_copy():
    base = np.empty((3, 4))  # an array of its own, as joint_angles makes it
    base[:] = np.arange(12.0).reshape(3, 4)
    ang = {"a": base[0], "b": base[1], "c": base[2]}
    assert P._angle_rows(ang, ["a", "b", "c"]) is base
    swapped = P._angle_rows(ang, ["b", "a", "c"])  # another order: a copy in that order
    assert swapped is not base and _same(swapped, base[[1, 0, 2]])
    own = {"a": base[0].copy(), "b": base[1], "c": base[2]}
    assert _same(P._angle_rows(own, ["a", "b", "c"]), base)
    view = np.arange(12.0).reshape(3, 4)  # rows of a view: stacked, the same values
    assert _same(P._angle_rows({"a": view[0], "b": view[1], "c": view[2]}, ["a", "b", "c"]), view)


def test_kernels_switch_is_respected(monkeypatch):
    """The new kernels sit behind the same switch: with ``MOVEKIT_NUMBA=0`` the compiled swap
    scan is not used."""
    monkeypatch.setenv("MOVEKIT_NUMBA", "0")
    monkeypatch.setattr(kernels, "MIN_SAMPLES", 0)
    img = _pose(100).astype(np.float32)
    assert (
        P._unswap_clean_compiled(img, None, 30.0, True, min_visibility=0.5, config=F.CleanConfig(), offline=True)
        is None
    )
