"""Balance: quiet-stance sway (force plate, trunk inclinometer/IMU or video COM) and single-leg stance.

Sway measures are :func:`movekit.assess.sway.sway_metrics` (Prieto 1996; 95 % prediction ellipse,
Schubert & Kirchner 2014), checked against Scoppa 2013's >= 25 s at >= 50 Hz for force plates.
A force-plate CoP is first low-passed (zero-phase Butterworth, 10 Hz) and resampled to 100 Hz
(Ruhe 2010; :func:`movekit.assess.sway.prepare_cop`), which the result's ``processing`` entry
states, and refused when it is not quiet standing: flight or stepping off (Fz < 20 N), a force
beyond +-25 % of body weight, a CoP shift of more than 100 mm within 0.5 s (a step, shuffling, a
landing), a range implausible for mm (metres under ``_mm`` names), missing samples or times
that do not increase. The noise floor of the source is shown beside every result (a video COM at webcam rates is
checked against >= 25 Hz, and a single camera sees only one horizontal axis, so the two-axis
measures are not given from video).

Single-leg stance (unipedal stance test, eyes open, best of 3; Springer et al. 2007, Normative
values for the unipedal stance test with eyes open and closed, J Geriatr Phys Ther 30:8-15): the
trial starts when one foot leaves the ground and ends when the raised foot touches down or the
stance foot moves. Age norms (s, eyes open, best of 3): 18-39: 43, 40-49: 40, 50-59: 37,
60-69: 27, 70-79: 15, 80+: 6 (as summarised in the project design from Springer 2007,
doi:10.1519/00139143-200704000-00003; the study design -- n = 549 healthy adults, six age groups
18-39 to 80+, mean and best of 3 trials, performance age-specific and not sex-specific -- was
checked against its abstract; the rounded table values were not re-read from the paper).
"""

from __future__ import annotations

import numpy as np

from movekit.analysis import landmarks as lm
from movekit.analysis.com import center_of_mass
from movekit.analysis.filters import CleanConfig, true_runs
from movekit.assess import sway as S
from movekit.assess._pose import PoseData, analyse_pose, shank_length_px
from movekit.assess.result import AssessmentResult, percent_change
from movekit.assess.sources import COP_COLUMNS, UNLOADED_N, name_list

SPRINGER = (
    "Springer et al. 2007, Normative values for the unipedal stance test with eyes open "
    "and closed, J Geriatr Phys Ther 30:8-15"
)
DE_LEVA = "de Leva 1996, Adjustments to Zatsiorsky-Seluyanov's segment inertia parameters, J Biomech 29:1223-1230"
WINTER = "Winter 2009, Biomechanics and Motor Control of Human Movement, 4th ed., ch. 2 (low-pass ~6 Hz)"

#: (lowest age, highest age, norm s) -- Springer 2007, eyes open, best of 3 (see module docstring)
SLS_NORMS_S: tuple[tuple[int, int, float], ...] = (
    (18, 39, 43.0),
    (40, 49, 40.0),
    (50, 59, 37.0),
    (60, 69, 27.0),
    (70, 79, 15.0),
    (80, 120, 6.0),
)

LIFT_ON = 0.10  #: raised foot: lowest foot point this fraction of shank length above the other foot
LIFT_OFF = 0.04  #: touched down again below this fraction
STANCE_MOVE = 0.15  #: stance foot moved: horizontal shift by this fraction of shank length

#: Quiet standing: vertical force within this fraction of body weight. Engineering bound: in quiet
#: stance Fz = m (g + a_z) with the centre of mass's vertical acceleration well under 1 % of g;
#: the real quiet-standing Kistler trial (biomdp kistler_COP, 50 Hz, plate noise included) stays
#: within -10 %/+11 % of its median, while a countermovement unweights to ~20 % and lands at
#: 2-5x body weight (biomdp kistler_CMJ: 0-420 %). 25 % sits between the two with margin.
QUIET_FZ_FRACTION = 0.25
#: Quiet standing keeps the centre of pressure under the feet: a range above this (mm) on either
#: axis cannot be quiet standing (an adult foot is ~230-290 mm long; a wide stance ~400 mm). An
#: engineering plausibility bound, checked when the source has no vertical force as well.
MAX_QUIET_COP_RANGE_MM = 400.0
#: Smallest CoP range (mm, the larger axis) a standing person produces over a trial. Quiet
#: standing sways the CoP by centimetres (the real trials here: 16-71 mm); a CoP in metres under
#: ``_mm`` columns spans at most ~0.4 (the feet), and a plate that nobody loads often reports a
#: fixed default CoP (the Vicon export's unloaded plate: 300, -460 exactly). 1 mm separates both
#: with a wide margin (an engineering bound).
MIN_PLAUSIBLE_COP_RANGE_MM = 1.0
#: A CoP that moves more than this (mm) within :data:`COP_SHIFT_WINDOW_S` is a step, a weight
#: shift onto one foot or a landing, not sway. Stepping or shuffling carries the CoP under one
#: foot, i.e. by half the distance between the feet (~100 mm and more with the feet hip-width
#: apart) within a step's single support (~0.5 s). The real quiet-standing trials moved it at
#: most 53 mm (kistler_cop, 50 Hz), 9 mm (kistler_cmj before the jump) and 71 mm (vicon_cmj_emg
#: before the jump) within 0.5 s after the 10 Hz low-pass; the landing of the Vicon jump moved it
#: 278 mm. An engineering bound chosen between the two, not a published cut-off.
MAX_COP_SHIFT_MM = 100.0
COP_SHIFT_WINDOW_S = 0.5
#: Still standing keeps the low-passed vertical force within a few percent of body weight (the
#: real trials before the jumps: kistler_cmj -1 %/+1 %, vicon_cmj_emg -4 %/+5 %). More than
#: +-5 % (kistler_cop: -10 %/+11 %, a 3 Hz oscillation) is still standing on the plate but with
#: movement (knee bends, arm swings, rocking): flagged, not refused. An engineering bound.
STILL_FZ_FRACTION = 0.05
#: Largest trunk-angle range (deg, either axis) still taken as standing: quiet-stance trunk sway is
#: about 1-3 deg peak to peak (Mancini 2012 report trunk sway in fractions of a degree RMS) and
#: walking swings the pelvis and trunk by tens of degrees (a real walking trial: 39 deg). An
#: engineering bound with a wide margin above quiet stance, not a published cut-off.
MAX_QUIET_TRUNK_RANGE_DEG = 10.0
#: A force-plate trial starts (and ends) with the vertical force settled within the quiet band
#: for at least this long (s): the transient of stepping on and off is trimmed, not judged.
SETTLE_S = 1.0
#: Longest interval between two CoP samples (s) accepted (equal to the CoP gap interpolated,
#: :data:`movekit.assess.sway.COP_MAX_GAP_S`, or 2.5 sample intervals when the rate is lower).
MAX_TIME_GAP_S = S.COP_MAX_GAP_S


def sls_norm_s(age: float | None) -> float | None:
    """Springer 2007 eyes-open norm (s) for ``age`` in years, None below 18 or when unknown."""
    if age is None:
        return None
    for lo, hi, v in SLS_NORMS_S:
        if lo <= age <= hi:
            return v
    return None


def _add_sway(result: AssessmentResult, metrics: dict, floor: float | None, unit: str, previous: dict | None) -> None:
    for name, (v, u) in metrics.items():
        result.add_metric(name, v, u)
    if floor is not None:
        result.add_metric(f"sway_noise_floor_{unit}", floor, unit)
        rms = [v for k, (v, u) in metrics.items() if k.startswith("sway_rms_") and np.isfinite(v)]
        if rms and np.isfinite(floor) and max(rms) < 2.0 * floor:
            result.flag(
                "below_noise_floor",
                f"sway RMS ({max(rms):.3g} {unit}) is less than twice the noise floor of the "
                f"source ({floor:.3g} {unit}): the sway is not distinguishable from noise",
            )
    if previous:
        for name, v in percent_change(result.to_json(), previous).items():
            result.add_metric(name, v, "%")


def _trial_validity(result, t, *, min_duration_s, min_rate_hz, source_note) -> bool:
    ch = S.trial_checks(t, min_duration_s=min_duration_s, min_rate_hz=min_rate_hz)
    ok_d = result.check(
        "duration", ch["duration"][0], ch["duration"][2], round(ch["duration"][1], 3), f">= {min_duration_s:g} s"
    )
    ok_r = result.check(
        "sampling_rate", ch["rate"][0], ch["rate"][2] + source_note, round(ch["rate"][1], 2), f">= {min_rate_hz:g} Hz"
    )
    return ok_d and ok_r


def plate_loading(
    t_s, fz_n, *, unloaded_n: float = UNLOADED_N, quiet_fraction: float = QUIET_FZ_FRACTION, settle_s: float = SETTLE_S
) -> dict:
    """Is a force-plate trial quiet standing? (pure; see :data:`QUIET_FZ_FRACTION`)

    Body weight is the median vertical force over the loaded samples (``fz_n`` >= ``unloaded_n``).
    The trial runs from the start of the first to the end of the last stretch of at least
    ``settle_s`` with the force within ``quiet_fraction`` of body weight: stepping on and off the
    plate (unloaded, then one foot, then settling) before and after is trimmed. Inside the trial
    an unloaded sample (flight, a step off) or a force outside the band (a jump, a hop, a
    stumble) means it is not quiet standing.

    Returns
    -------
    dict
        ``window`` (first, last index of the trial, or None when never loaded or never settled),
        ``body_weight_n``, ``unloaded_s`` (time unloaded inside the trial) and ``unloaded_span``
        ``(t0, t1)`` of those samples, ``fz_min_pct`` / ``fz_max_pct`` of body weight inside the
        trial, ``trimmed_s`` (start, end) and the booleans ``loaded`` (no unloaded sample inside
        the trial) and ``quiet`` (force within ``quiet_fraction`` of body weight throughout).
    """
    t = np.asarray(t_s, dtype=np.float64)
    fz = np.asarray(fz_n, dtype=np.float64)
    on = np.isfinite(fz) & (fz >= unloaded_n)
    out = {
        "window": None,
        "body_weight_n": float("nan"),
        "unloaded_s": 0.0,
        "unloaded_span": None,
        "fz_min_pct": float("nan"),
        "fz_max_pct": float("nan"),
        "trimmed_s": (0.0, 0.0),
        "loaded": False,
        "quiet": False,
    }
    if on.sum() < 2:
        return out
    dt = float(np.median(np.diff(t)))
    bw = float(np.median(fz[on]))
    out["body_weight_n"] = bw
    band = on & (np.abs(fz - bw) <= quiet_fraction * bw)
    runs = [(s, e) for s, e in true_runs(band) if (e - s) * dt >= settle_s]
    if not runs:
        return out
    a, b = runs[0][0], runs[-1][1] - 1
    seg = fz[a : b + 1]
    off = ~on[a : b + 1]
    out.update(
        window=(a, b),
        unloaded_s=float(off.sum() * dt),
        unloaded_span=(float(t[a : b + 1][off][0]), float(t[a : b + 1][off][-1])) if off.any() else None,
        fz_min_pct=float(100 * np.nanmin(seg) / bw),
        fz_max_pct=float(100 * np.nanmax(seg) / bw),
        trimmed_s=(float(a * dt), float((t.size - 1 - b) * dt)),
        loaded=not off.any(),
        quiet=bool(band[a : b + 1].all()),
    )
    return out


def _loading_checks(r: AssessmentResult, t, fz) -> tuple[int, int] | None:
    """Vertical-force checks of a force-plate trial; the trial's index window, None if refused."""
    ld = plate_loading(t, fz)
    if ld["window"] is None:
        if not np.isfinite(ld["body_weight_n"]):
            r.check(
                "plate_loaded",
                False,
                f"nobody stood on the force plate: the vertical force stayed below {UNLOADED_N:g} N throughout",
                0.0,
                f">= {UNLOADED_N:g} N",
            )
        else:
            r.check(
                "quiet_standing",
                False,
                f"the vertical force never stayed within +-{100 * QUIET_FZ_FRACTION:.0f}% "
                f"of body weight ({ld['body_weight_n']:.0f} N) for {SETTLE_S:g} s: no quiet standing on the plate",
                None,
                f"within +-{100 * QUIET_FZ_FRACTION:.0f} % of body weight",
            )
        return None
    bw = ld["body_weight_n"]
    span = ld["unloaded_span"]
    ok_l = r.check(
        "plate_loaded",
        ld["loaded"],
        "the plate carried the body throughout the trial"
        if ld["loaded"]
        else f"the feet left the plate for {ld['unloaded_s']:.2f} s in all between {span[0]:.2f} and "
        f"{span[1]:.2f} s (vertical force below {UNLOADED_N:g} N: a jump or a step off); "
        "the centre of pressure does not exist while the plate is unloaded",
        round(ld["unloaded_s"], 3),
        f"0 s below {UNLOADED_N:g} N",
    )
    lo, hi = ld["fz_min_pct"], ld["fz_max_pct"]
    ok_q = r.check(
        "quiet_standing",
        ld["quiet"],
        f"vertical force from {lo:.0f}% to {hi:.0f}% of body weight ({bw:.0f} N)"
        + (
            ": quiet standing"
            if ld["quiet"]
            else f": this is not quiet standing (a jump, a step or a stumble); quiet standing stays "
            f"within +-{100 * QUIET_FZ_FRACTION:.0f}%"
        ),
        [round(lo, 1), round(hi, 1)],
        f"within +-{100 * QUIET_FZ_FRACTION:.0f} % of body weight",
    )
    if not (ok_l and ok_q):
        return None
    t0, t1 = ld["trimmed_s"]
    if t0 > 0 or t1 > 0:
        r.flag(
            "trimmed",
            f"stepping on and off the plate trimmed: {t0:.2f} s at the start, {t1:.2f} s at "
            "the end (vertical force not yet settled near body weight)",
        )
    return ld["window"]


def _time_check(r: AssessmentResult, t) -> bool:
    """Sample times must increase without gaps longer than :data:`MAX_TIME_GAP_S`."""
    t = np.asarray(t, dtype=np.float64)
    d = np.diff(t)
    if t.size < 2 or not np.isfinite(t).all() or not (d > 0).all():
        bad = int(np.argmax(~(d > 0))) if t.size > 1 else 0
        return r.check(
            "time",
            False,
            f"the sample times do not increase (sample {bad + 2}: "
            f"{t[bad + 1] if t.size > 1 else float('nan'):g} s after {t[bad]:g} s): not a time series "
            "that sway can be measured on",
            None,
            "increasing",
        )
    i = int(np.argmax(d))
    return r.check(
        "time",
        d[i] <= max(MAX_TIME_GAP_S, 2.5 * float(np.median(d))),
        f"longest interval between samples {d[i]:.3g} s"
        + (
            ""
            if d[i] <= max(MAX_TIME_GAP_S, 2.5 * float(np.median(d)))
            else f" (at {t[i]:.2f} s): samples are missing, so path and velocity cannot be measured"
        ),
        round(float(d[i]), 4),
        f"<= {MAX_TIME_GAP_S:g} s",
    )


def _cop_checks(r: AssessmentResult, t, x, y) -> bool:
    """Unit sanity, range and CoP jumps of a prepared (low-passed, resampled) CoP; False if refused."""
    if np.size(x) < 2:
        return r.check("cop_complete", False, "no finite centre-of-pressure samples in the trial", 100.0, "0 % missing")
    miss = ~(np.isfinite(x) & np.isfinite(y))
    if not r.check(
        "cop_complete",
        not miss.any(),
        "the centre of pressure is complete"
        if not miss.any()
        else f"the centre of pressure is missing for {miss.sum() * float(np.median(np.diff(t))):.2f} s in "
        f"all (first at {t[np.argmax(miss)]:.2f} s), in gaps longer than {S.COP_MAX_GAP_S:g} s: "
        "path and velocity cannot be measured across them",
        round(float(miss.mean()) * 100, 2),
        "0 % missing",
    ):
        return False
    rng = [float(np.nanmax(v) - np.nanmin(v)) if np.isfinite(v).any() else float("nan") for v in (x, y)]
    big = max(rng) if all(np.isfinite(rng)) else float("nan")
    if not np.isfinite(big):
        r.check(
            "cop_range",
            False,
            "no finite centre-of-pressure samples in the trial",
            None,
            f"{MIN_PLAUSIBLE_COP_RANGE_MM:g}-{MAX_QUIET_COP_RANGE_MM:g} mm",
        )
        return False
    if not r.check(
        "cop_units",
        big >= MIN_PLAUSIBLE_COP_RANGE_MM,
        f"centre of pressure range {rng[0]:.3g} mm (ml) x {rng[1]:.3g} mm (ap)"
        + (
            ""
            if big >= MIN_PLAUSIBLE_COP_RANGE_MM
            else f": a standing person moves the CoP by centimetres; less than "
            f"{MIN_PLAUSIBLE_COP_RANGE_MM:g} mm means the columns are not in mm (metres under "
            "_mm names? name them cop_x_m, cop_y_m) or the plate reported a fixed default CoP "
            "(nobody on it)"
        ),
        [round(v, 4) for v in rng],
        f">= {MIN_PLAUSIBLE_COP_RANGE_MM:g} mm",
    ):
        return False
    if not r.check(
        "cop_range",
        big <= MAX_QUIET_COP_RANGE_MM,
        f"centre of pressure range {rng[0]:.0f} mm (ml) x {rng[1]:.0f} mm (ap)"
        + (
            ""
            if big <= MAX_QUIET_COP_RANGE_MM
            else f": more than {MAX_QUIET_COP_RANGE_MM:g} mm cannot stay under the feet; not quiet "
            "standing, or the plate was unloaded, or the columns are not in mm"
        ),
        [round(v, 1) for v in rng],
        f"<= {MAX_QUIET_COP_RANGE_MM:g} mm",
    ):
        return False
    shift, at = S.cop_shifts(t, x, y, COP_SHIFT_WINDOW_S)
    return r.check(
        "cop_steady",
        shift <= MAX_COP_SHIFT_MM,
        f"largest centre-of-pressure shift {shift:.0f} mm within {COP_SHIFT_WINDOW_S:g} s"
        + (
            ""
            if shift <= MAX_COP_SHIFT_MM
            else f" (at {at:.2f} s): a step, a weight shift onto one foot or a landing, not quiet "
            f"standing; quiet sway stays under {MAX_COP_SHIFT_MM:g} mm"
        ),
        round(shift, 1),
        f"<= {MAX_COP_SHIFT_MM:g} mm in {COP_SHIFT_WINDOW_S:g} s",
    )


def _still_force_flag(r: AssessmentResult, t, fz, cutoff_hz: float, order: int) -> None:
    """Flag (not refuse) a vertical force that varies more than :data:`STILL_FZ_FRACTION`."""
    from movekit.analysis.filters import lowpass

    f = np.asarray(fz, dtype=np.float64)
    if f.size < 8 or not np.isfinite(f).all():
        return
    fs = 1.0 / float(np.median(np.diff(t)))
    lp = lowpass(f, fs, cutoff_hz, order)
    bw = float(np.median(lp))
    lo, hi = 100 * (lp.min() / bw - 1), 100 * (lp.max() / bw - 1)
    r.add_metric("vertical_force_range_pct", round(hi - lo, 2), "%")
    if max(-lo, hi) > 100 * STILL_FZ_FRACTION:
        r.flag(
            "vertical_force_varies",
            f"the vertical force (low-passed at {cutoff_hz:g} Hz) varied {lo:+.0f}% to {hi:+.0f}% of body weight "
            f"({bw:.0f} N); still standing stays within +-{100 * STILL_FZ_FRACTION:.0f}%: the person moved on "
            "the plate (knee bends, arm swings, rocking), so the sway includes that movement",
        )


def cop_sway(
    t_s,
    x_mm,
    y_mm,
    *,
    min_duration_s: float = S.MIN_DURATION_S,
    min_rate_hz: float = S.MIN_RATE_HZ,
    noise_floor_mm: float | None = None,
    previous: dict | None = None,
    source: str = "force plate",
    fz_n=None,
    problem: str | None = None,
    notes=(),
    cutoff_hz: float = S.COP_CUTOFF_HZ,
    order: int = S.COP_ORDER,
    rate_hz: float = S.COP_RATE_HZ,
) -> AssessmentResult:
    """Quiet-stance sway from a centre of pressure (``x`` medio-lateral, ``y`` antero-posterior, mm).

    Before any measure the CoP is low-passed and resampled (:func:`movekit.assess.sway.prepare_cop`:
    zero-phase Butterworth at ``cutoff_hz``, order ``order``, then ``rate_hz``; Prieto 1996, Ruhe
    2010), so the measures do not depend on the plate's raw rate; the ``processing`` validity entry
    of the result states what was done. The Scoppa 2013 rate check applies to the raw samples.

    The noise floor is ``noise_floor_mm`` when given (e.g. measured on an unloaded plate),
    otherwise the noise left after the low-pass (:func:`movekit.assess.sway.filtered_noise_floor`
    of the raw trace). ``previous``: an earlier result's JSON, for the change in percent. Metrics
    are withheld when the trial is too short or sampled too slowly (Scoppa 2013).

    ``fz_n``: total vertical force (N). When given, the trial must be quiet standing on a loaded
    plate (:func:`plate_loading`): stepping on and off at the start and end is trimmed, an
    unloaded stretch inside (flight, stepping off) or a force beyond +-25 % of body weight (a
    jump) refuses the trial; a force varying more than +-5 % is flagged. Without it the loading
    cannot be checked (said so). Either way the prepared CoP is refused when its range is
    implausible for mm (below :data:`MIN_PLAUSIBLE_COP_RANGE_MM`: metres under ``_mm`` names),
    above :data:`MAX_QUIET_COP_RANGE_MM`, or when it shifts more than :data:`MAX_COP_SHIFT_MM`
    within :data:`COP_SHIFT_WINDOW_S` (a step, shuffling, a landing). ``problem``: the reason the
    source could not form one CoP (e.g. two loaded plates), refuses the trial.
    """
    r = AssessmentResult("balance")
    r.cite(S.PRIETO, S.SCHUBERT, S.SCOPPA, S.RUHE)
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(x_mm, dtype=np.float64)
    y = np.asarray(y_mm, dtype=np.float64)
    r.check("source", True, f"centre of pressure from {source}" + "".join(f"; {n}" for n in notes), source)
    for n in notes:  # conversions and choices made while reading: shown in the summary too
        r.flag("source_note", f"{source}: {n}")
    ok_p = problem is None or r.check("plates", False, problem)
    trimmed = _trim_to_loading(r, t, x, y, fz_n)
    if trimmed is None:
        return r
    t, x, y, fz = trimmed
    if not ok_p:
        return r
    if not _time_check(r, t):
        return r
    if not _trial_validity(r, t, min_duration_s=min_duration_s, min_rate_hz=min_rate_hz, source_note=""):
        return r
    return _prepared_cop_sway(
        r,
        t,
        x,
        y,
        fz,
        cutoff_hz=cutoff_hz,
        order=order,
        rate_hz=rate_hz,
        noise_floor_mm=noise_floor_mm,
        previous=previous,
    )


def _trim_to_loading(r: AssessmentResult, t, x, y, fz_n):
    """``(t, x, y, fz)`` cut to the loaded quiet-standing window (:func:`plate_loading`); ``None``: refused."""
    if fz_n is None:
        r.check(
            "plate_loaded",
            True,
            "no vertical force in the source: plate loading and quiet standing "
            "not checked (only the CoP range and shifts are)",
            None,
            "not available",
        )
        return t, x, y, None
    win = _loading_checks(r, t, fz_n)
    if win is None:
        return None
    a, b = win
    return t[a : b + 1], x[a : b + 1], y[a : b + 1], np.asarray(fz_n, dtype=np.float64)[a : b + 1]


def _prepared_cop_sway(
    r: AssessmentResult, t, x, y, fz, *, cutoff_hz, order, rate_hz, noise_floor_mm, previous
) -> AssessmentResult:
    """Low-pass and resample the CoP (Ruhe 2010), check it, then the sway measures (Prieto 1996) in mm."""
    tp, xp, yp, info = S.prepare_cop(t, x, y, cutoff_hz=cutoff_hz, order=order, rate_hz=rate_hz)
    r.check(
        "processing",
        True,
        f"centre of pressure {info['method']}; the sway measures use the {info['resampled_hz']:g} Hz samples",
        info,
        f"low-pass <= {S.COP_CUTOFF_HZ:g} Hz, zero phase, then {S.COP_RATE_HZ:g} Hz (Ruhe 2010)",
    )
    if not _cop_checks(r, tp, xp, yp):
        return r
    if fz is not None:
        _still_force_flag(r, t, fz, info["cutoff_hz"], order)
    m = S.sway_metrics(tp, yp, xp, unit="mm", fs_hz=info["resampled_hz"])
    floor = noise_floor_mm
    if floor is None:
        floor = max(
            S.filtered_noise_floor(t, x, info["cutoff_hz"], order),
            S.filtered_noise_floor(t, y, info["cutoff_hz"], order),
        )
    _add_sway(r, m, floor, "mm", previous)
    return r


def inclination_sway(
    t_s,
    ap_deg,
    ml_deg=None,
    *,
    min_duration_s: float = S.MIN_DURATION_S,
    min_rate_hz: float = S.MIN_RATE_HZ,
    previous: dict | None = None,
    source: str = "trunk inclinometer",
) -> AssessmentResult:
    """Quiet-stance sway from trunk inclination angles (deg; Mancini 2012 style trunk sway)."""
    r = AssessmentResult("balance")
    r.cite(
        S.PRIETO,
        S.SCHUBERT,
        S.SCOPPA,
        "Mancini et al. 2012, ISway: a sensitive, valid and reliable "
        "measure of postural control, J Neuroeng Rehabil 9:59",
    )
    t = np.asarray(t_s, dtype=np.float64)
    r.check("source", True, f"trunk sway from {source} (angles, deg)", source)
    if not _trial_validity(r, t, min_duration_s=min_duration_s, min_rate_hz=min_rate_hz, source_note=""):
        return r
    ranges = [
        float(np.nanmax(a) - np.nanmin(a))
        for a in (ap_deg, ml_deg)
        if a is not None and np.isfinite(np.asarray(a, dtype=np.float64)).any()
    ]
    big = max(ranges, default=0.0)
    if not r.check(
        "quiet_stance",
        big <= MAX_QUIET_TRUNK_RANGE_DEG,
        f"trunk angle range {big:.1f} deg"
        + (
            ""
            if big <= MAX_QUIET_TRUNK_RANGE_DEG
            else f": more than {MAX_QUIET_TRUNK_RANGE_DEG:g} deg is movement (walking, turning, "
            "bending), not quiet standing; record a still trial"
        ),
        round(big, 1),
        f"<= {MAX_QUIET_TRUNK_RANGE_DEG:g} deg",
    ):
        return r
    m = S.sway_metrics(t, ap_deg, ml_deg, unit="deg")
    floor = S.noise_floor(t, ap_deg) if ml_deg is None else max(S.noise_floor(t, ap_deg), S.noise_floor(t, ml_deg))
    _add_sway(r, m, floor, "deg", previous)
    return r


def mm_per_px(pose, points_px: np.ndarray) -> float:
    """Image scale (mm per px) from the world landmarks' segment lengths (m) over the image's.

    Uses shoulder-hip, hip-knee and knee-ankle on both sides (segments that stand in the image
    plane in a standing subject seen from the front or the side). NaN without world landmarks.
    """
    w = np.asarray(pose.world_m, dtype=np.float64)
    pairs = [(11, 23), (12, 24), (23, 25), (24, 26), (25, 27), (26, 28)]
    ratios = []
    for a, b in pairs:
        lw = np.linalg.norm(w[:, a] - w[:, b], axis=1)
        li = np.linalg.norm(points_px[:, a, :2] - points_px[:, b, :2], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios.append(1000.0 * lw / li)
    q = np.concatenate(ratios)
    q = q[np.isfinite(q) & (q > 0)]
    return float(np.median(q)) if q.size else float("nan")


def video_sway(
    pose,
    *,
    min_duration_s: float = S.MIN_DURATION_S,
    min_rate_hz: float = 25.0,
    previous: dict | None = None,
    window: tuple[float, float] | None = None,
    result: AssessmentResult | None = None,
    pd: PoseData | None = None,
) -> AssessmentResult:
    """Sway of the whole-body centre of mass (de Leva 1996) along the image's horizontal axis.

    A frontal view gives medio-lateral sway, a side view antero-posterior sway; the other
    horizontal axis lies along the camera axis and is not measured. The sway is measured on the
    cleaned COM of :func:`movekit.analysis.pipeline.analyse` (offline: swap repair, Hampel, gap
    fill, zero-phase Butterworth low-pass at ``CleanConfig.cutoff_hz`` = 6 Hz on the landmarks,
    Winter 2009), and the noise floor shown beside it is the pose jitter left in that cleaned COM
    (:func:`movekit.assess.sway.filtered_noise_floor`: estimated from the jitter the low-pass
    removes from the COM of the uncleaned landmarks, assuming white noise). ``window`` limits the
    analysis to ``(start_s, end_s)``.
    """
    r = result or AssessmentResult("balance")
    r.cite(S.PRIETO, S.SCOPPA, DE_LEVA, WINTER)
    if pd is None:
        pd = analyse_pose(
            pose,
            r,
            need_view="any",
            landmarks=[11, 12, 23, 24, 25, 26, 27, 28],
            min_duration_s=min_duration_s,
            min_rate_hz=min_rate_hz,
        )
        if pd is None:
            return r
    t = pd.t_s
    sel = pd.usable.copy()
    if window is not None:
        sel &= (t >= window[0]) & (t <= window[1])
    ts = t[sel]
    dur = float(ts[-1] - ts[0]) if ts.size > 1 else 0.0
    if not r.check(
        "sway_duration",
        dur >= min_duration_s,
        f"{dur:.1f} s of usable standing for sway (needs >= {min_duration_s:g} s, Scoppa 2013)",
        round(dur, 3),
        f">= {min_duration_s:g} s",
    ):
        return r
    if pd.triangulated is not None:
        return _sway_3d(r, pd, sel, ts, previous)
    scale = mm_per_px(pose, pd.points)
    if not r.check(
        "scale",
        np.isfinite(scale),
        "image scale from world landmarks" + ("" if np.isfinite(scale) else " unavailable: no world landmarks"),
        None if not np.isfinite(scale) else round(scale, 4),
        "mm per px",
    ):
        return r
    com = pd.an.com[sel, 0] * scale  # cleaned (offline, low-passed) COM
    cfg = CleanConfig()
    # the uncleaned COM only serves to measure the jitter the cleaning removes; a left/right swap
    # does not move the whole-body COM (the segment table is symmetric), so no swap repair needed
    raw = center_of_mass(np.asarray(pose.image_px, dtype=np.float64)[..., :2], visibility=pose.visibility)
    floor = S.filtered_noise_floor(ts, raw[sel, 0] * scale, cfg.cutoff_hz, cfg.order)
    axis = "ml" if pd.view_kind == "frontal" else "ap"
    m = S.sway_metrics(ts, com, None, unit="mm")
    m = {k.replace("_ap_", f"_{axis}_"): v for k, v in m.items()}
    r.check(
        "axes",
        True,
        f"one camera: only {'medio-lateral' if axis == 'ml' else 'antero-posterior'} "
        "sway is seen; two-axis measures (distance, ellipse) are not given",
        axis,
    )
    _add_sway(r, m, floor, "mm", previous)
    return r


def _sway_3d(r: AssessmentResult, pd: PoseData, sel, ts, previous: dict | None) -> AssessmentResult:
    """:func:`video_sway` of a triangulated pose: the cleaned 3D centre of mass in mm (true
    lengths, no image scale), antero-posterior and medio-lateral (the virtual front camera's depth
    and x axes, :mod:`movekit.assess._pose`), so the two-axis measures are given too. The noise
    floor is the larger of the two axes' (:func:`movekit.assess.sway.filtered_noise_floor` on the
    uncleaned COM)."""
    tri = pd.triangulated
    com = pd.an.com[sel]
    cfg = CleanConfig()
    raw = center_of_mass(tri.image_px, visibility=tri.visibility)[sel]
    floor = max(S.filtered_noise_floor(ts, raw[:, k], cfg.cutoff_hz, cfg.order) for k in (0, 2))
    m = S.sway_metrics(ts, com[:, 2], com[:, 0], unit="mm")
    r.check("axes", True, f"3D centre of mass ({tri.describe()}): antero-posterior and medio-lateral sway", "ap+ml")
    _add_sway(r, m, floor, "mm", previous)
    return r


def stance_trials(
    t_s,
    points_px,
    *,
    lift_on: float = LIFT_ON,
    lift_off: float = LIFT_OFF,
    stance_move: float = STANCE_MOVE,
    min_trial_s: float = 0.5,
    max_unseen_s: float = 0.2,
) -> list[dict]:
    """Single-leg stance trials from image landmarks (pure; px, y down).

    For each side the lowest of ankle, heel and toe is the foot's lowest point; a foot is raised
    while it is more than ``lift_on`` shank lengths above the other foot's lowest point
    (hysteresis: down again below ``lift_off``). A trial ends at touch-down or when the stance
    foot's mid-point shifts horizontally by ``stance_move`` shank lengths or lifts itself. A
    trial bridges frames where the feet are not seen if the foot is still raised after them;
    when it is down after more than ``max_unseen_s`` unseen, the trial ends at the last frame
    it was seen raised (the touch-down time is unknown: "feet not seen", a lower bound).

    Returns
    -------
    list of dict
        ``stance_side`` (the foot down), ``raised_side``, ``start_s``, ``end_s``,
        ``stance_time_s``, ``start_reason`` ("foot lifted", or "already raised when first
        seen": at the recording's start or after the feet were unseen for over
        ``max_unseen_s``, the time is a lower bound), ``end_reason`` ("raised foot touched
        down", "stance foot moved", "recording ended" or "feet not seen": for these two the
        time is a lower bound), ``complete`` (False for a lower bound).
    """
    t = np.asarray(t_s, dtype=np.float64)
    p = np.asarray(points_px, dtype=np.float64)
    if t.size < 2:
        return []
    low = {s: np.fmax.reduce(p[:, [lm.ANKLE[s], lm.HEEL[s], lm.FOOT_INDEX[s]], 1], axis=1) for s in lm.SIDES}
    mid_x = {s: 0.5 * (p[:, lm.HEEL[s], 0] + p[:, lm.FOOT_INDEX[s], 0]) for s in lm.SIDES}
    shank = shank_length_px(p)
    trials = []
    i = 0
    n = t.size
    while i < n:
        raised = _raised_side(low, i, lift_on * shank)
        if raised is None:
            i += 1
            continue
        stance = "right" if raised == "left" else "left"
        j, reason = _trial_end(t, low, mid_x, stance, raised, i, lift_off * shank, stance_move * shank, max_unseen_s)
        end = min(j, n - 1)
        dur = float(t[end] - t[i])
        if dur >= min_trial_s:
            lifted_seen = _lift_seen(t, low, i, max_unseen_s)
            trials.append(
                {
                    "trial": len(trials) + 1,
                    "stance_side": stance,
                    "raised_side": raised,
                    "start_s": float(t[i]),
                    "end_s": float(t[end]),
                    "stance_time_s": dur,
                    "start_reason": "foot lifted" if lifted_seen else "already raised when first seen",
                    "end_reason": reason,
                    "complete": lifted_seen and reason not in ("recording ended", "feet not seen"),
                }
            )
        # a new trial starts only after the raised foot has been put down
        i = j + 1
        while i < n:
            h = low[stance][i] - low[raised][i]
            if not np.isfinite(h) or h < lift_off * shank:
                break
            i += 1
    return trials


def _lift_seen(t, low: dict, i: int, max_unseen_s: float) -> bool:
    """Whether both feet were seen within ``max_unseen_s`` before frame ``i``, where a trial starts:
    otherwise the foot was already raised when the recording began or the feet came back into
    view, and when it was lifted is unknown."""
    both = np.isfinite(low["left"][:i]) & np.isfinite(low["right"][:i])
    return bool(both.any()) and t[i] - t[np.flatnonzero(both)[-1]] <= max_unseen_s


def _raised_side(low: dict, i: int, lift_px) -> str | None:
    """The foot raised more than ``lift_px`` above the other at frame ``i`` (px, y down), if any."""
    raised = None
    for s, o in (("left", "right"), ("right", "left")):
        if np.isfinite(low[s][i]) and np.isfinite(low[o][i]) and low[o][i] - low[s][i] > lift_px:
            raised = s
    return raised


def _trial_end(t, low, mid_x, stance, raised, start, down_px, move_px, max_unseen_s) -> tuple[int, str]:
    """Frame index where a stance trial from ``start`` ends, and why (see :func:`stance_trials`)."""
    n = t.size
    x0 = mid_x[stance][start]
    j, reason, seen = start + 1, "recording ended", start
    while j < n:
        h = low[stance][j] - low[raised][j]
        if np.isfinite(h) and h < down_px:
            if t[j] - t[seen] <= max_unseen_s:
                reason = "raised foot touched down"
            else:  # down after the feet were unseen for a while: when is unknown, so the trial
                reason, j = "feet not seen", seen  # is known to last only until last seen raised
            break
        if np.isfinite(mid_x[stance][j]) and abs(mid_x[stance][j] - x0) > move_px:
            reason = "stance foot moved"
            break
        if np.isfinite(h):
            seen = j
        j += 1
    if j >= n and t[n - 1] - t[seen] > max_unseen_s:
        # the feet went out of sight for good before the recording ended (the follower lost the
        # client, or they walked off): the trial is known to last only until last seen raised
        reason, j = "feet not seen", seen
    return j, reason


def assess_single_leg_stance(
    pose, *, side: str | None = None, age: float | None = None, with_sway: bool = True
) -> AssessmentResult:
    """Single-leg stance time per trial, best of trials per stance side, against Springer 2007.

    ``side``: the stance side to report (default: the side with the longest trial). The COM sway
    during the best trial is added when it lasts long enough and the view allows (video COM).
    """
    r = AssessmentResult("single-leg-stance")
    r.cite(SPRINGER)
    pd = analyse_pose(
        pose, r, need_view="any", landmarks=[25, 26, 27, 28, 29, 30, 31, 32], min_duration_s=1.0, min_rate_hz=15.0
    )
    if pd is None:
        return r
    pts = np.where(pd.usable[:, None, None], pd.points, np.nan)
    trials = stance_trials(pd.t_s, pts)
    r.reps = trials
    if side is not None:
        trials = [tr for tr in trials if tr["stance_side"] == side]
    if not r.check(
        "trial",
        bool(trials),
        f"{len(trials)} single-leg stance trial(s) found"
        + (f" on the {side} leg" if side else "")
        + ("" if trials else ": no foot was lifted for >= 0.5 s"),
        len(trials),
        ">= 1",
    ):
        return r
    best = max(trials, key=lambda tr: tr["stance_time_s"])
    norm = sls_norm_s(age)
    normal = f">= {norm:g} s for age {age:g} (Springer 2007, eyes open, best of 3)" if norm is not None else None
    r.add_metric("stance_time_s", best["stance_time_s"], "s", normal=normal)
    r.add_metric("trials_count", len(trials), "count")
    r.add_metric("stance_side", best["stance_side"], "1")
    if not best["complete"]:
        why = []
        if best.get("start_reason", "foot lifted") != "foot lifted":
            why.append(f"the foot was already raised when first seen ({best['start_s']:.2f} s)")
        if best["end_reason"] in ("recording ended", "feet not seen"):
            why.append(
                f"the best trial ended with '{best['end_reason']}' while the foot was still raised"
                + (f" (last seen at {best['end_s']:.2f} s)" if best["end_reason"] == "feet not seen" else "")
            )
        r.flag("lower_bound", "; ".join(why) + ": its time is a lower bound")
    if age is not None:
        r.add_metric("stance_norm_s", norm, "s")
        if norm is None:
            r.flag("no_norm", f"no Springer 2007 norm for age {age:g} (norms cover 18 and over)")
        elif best["stance_time_s"] < norm:
            r.flag(
                "below_age_norm",
                f"best stance {best['stance_time_s']:.1f} s is below the age norm "
                f"of {norm:g} s for age {age:g} (Springer 2007, eyes open, best of 3)",
            )
    if len(trials) < 3:
        r.flag("fewer_than_3_trials", f"{len(trials)} trial(s): the norm is the best of 3 (Springer 2007)")
    if with_sway and best["stance_time_s"] >= 5.0:
        sub = AssessmentResult("single-leg-stance")
        video_sway(pose, min_duration_s=5.0, window=(best["start_s"], best["end_s"]), result=sub, pd=pd)
        for k, m in sub.metrics.items():
            r.add_metric(k, m.value, m.unit)
        for k in ("sway_duration", "scale", "axes"):
            if k in sub.validity:
                c = sub.validity[k]
                r.check(k, c.ok, c.message, c.value, c.required)
        r.cite(*sub.references)
    return r


def find_trunk_inclination(trial) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str] | None:
    """A trunk inclinometer/IMU stream in the trial: ``(t_s, ap_deg, ml_deg, name)`` or None.

    Looks for a stream of kind ``imu``/``inclinometer`` in deg whose channel names mark the
    antero-posterior (``pitch``, ``ap``, ``sagittal``) and medio-lateral (``roll``, ``ml``,
    ``frontal``) inclinations.
    """
    for name, st in trial.streams.items():
        spec = st.spec
        if spec.kind not in ("imu", "inclinometer") or spec.unit != "deg":
            continue
        chans = [c.lower() for c in (spec.channel_names or ())]
        ap = next((i for i, c in enumerate(chans) if any(k in c for k in ("pitch", "ap", "sagittal"))), None)
        ml = next((i for i, c in enumerate(chans) if any(k in c for k in ("roll", "ml", "frontal"))), None)
        if ap is None:
            continue
        d = st.channels.astype(np.float64)
        return st.t_s, d[:, ap], (d[:, ml] if ml is not None else None), name
    return None


def assess_balance(
    trial,
    *,
    min_duration_s: float = S.MIN_DURATION_S,
    previous: dict | None = None,
    noise_floor_mm: float | None = None,
) -> AssessmentResult:
    """Quiet-stance sway from the best source in ``trial``: force plate, trunk IMU, else video."""
    if trial.cop is not None:
        c = trial.cop
        return cop_sway(
            c.t_s,
            c.x_mm,
            c.y_mm,
            min_duration_s=min_duration_s,
            previous=previous,
            noise_floor_mm=noise_floor_mm,
            source=c.source,
            fz_n=c.fz_n,
            problem=c.problem,
            notes=c.notes,
        )
    inc = find_trunk_inclination(trial)
    if inc is not None:
        t, ap, ml, name = inc
        return inclination_sway(t, ap, ml, min_duration_s=min_duration_s, previous=previous, source=name)
    if trial.pose is None and trial.table is not None:
        r = AssessmentResult("balance")
        cols = list(trial.table)
        sep = " (read as semicolon-separated)" if trial.metadata.get("csv_delimiter") == ";" else ""
        r.check(
            "source",
            False,
            f"{trial.source}: no centre-of-pressure columns{sep}; expected {COP_COLUMNS}; found {name_list(cols)}",
            name_list(cols),
            COP_COLUMNS,
        )
        return r
    return video_sway(trial.pose, min_duration_s=min_duration_s, previous=previous)
