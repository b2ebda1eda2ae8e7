"""Clinical assessments: each takes a trial and returns an :class:`~movekit.assess.result.AssessmentResult`.

``run(test, trial, **options)`` looks the screen up in :data:`SCREENS` (the test names of
``movekit assess``) and calls it with :class:`Options`; the maths of each test is also available as
pure functions over arrays in its module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from movekit.assess.result import AssessmentResult
from movekit.errors import MovekitError


def channel(trial, name: str):
    """``(t_s, values)`` of a named channel: a CSV column, or a device stream channel whose name
    (or ``<stream>_<channel>``) is ``name`` without its unit suffix (e.g. a BLE inclinometer
    stream ``t12`` with channel ``inclination`` for ``t12_inclination_deg``). None when absent."""
    tab = trial.table or {}
    if name in tab and "time_s" in tab:
        return tab["time_s"], tab[name]
    base = name.rsplit("_", 1)[0] if name.endswith("_deg") else name
    for sname, st in trial.streams.items():
        chans = list(st.spec.channel_names or ())
        for i, c in enumerate(chans):
            if base in (c, f"{sname}_{c}") or name == c:
                if st.spec.unit not in ("deg", "1", ""):
                    continue
                d = st.channels
                return st.t_s, d[:, i]
    return None


def _pair(trial, a: str, b: str):
    ca, cb = channel(trial, a), channel(trial, b)
    if ca is None or cb is None:
        return None
    t = ca[0]
    same = len(cb[0]) == len(t) and bool(np.all(cb[0] == t))
    vb = cb[1] if same else np.interp(t, cb[0], cb[1])
    return t, ca[1], vb


@dataclass(frozen=True)
class Options:
    """What a screen may need besides the trial; each screen reads its own (``movekit assess``
    options of the same names)."""

    side: str | None = None
    age: float | None = None
    latency_s: float = 0.0
    pain_events: tuple = ()
    min_duration_s: float | None = None
    axis: str | None = None  #: gait: gyroscope axis the shank swings about
    distance_m: float | None = None  #: gait: distance walked, for the speed
    protocol: str = "target"  #: joint-position-sense: "target" or "return_to_start"
    joint: str | None = None
    target_deg: float | None = None
    channel: str | None = None  #: joint-position-sense: the angle channel
    hold_s: float | None = None  #: joint-position-sense: shortest hold (s)


def _events(trial, o: Options) -> list[dict[str, Any]]:
    return list(trial.events) + list(o.pain_events or [])


def _balance(trial, o: Options) -> AssessmentResult:
    from movekit.assess.balance import assess_balance
    from movekit.assess.sway import MIN_DURATION_S

    return assess_balance(trial, min_duration_s=MIN_DURATION_S if o.min_duration_s is None else o.min_duration_s)


def _lumbar_flexion(trial, o: Options) -> AssessmentResult:
    """Inclinometers (CSV columns or device streams) first, else video."""
    from movekit.assess import lumbar_flexion as L

    pair = _pair(trial, "t12_inclination_deg", "sacrum_inclination_deg")
    return L.dual_inclinometer(*pair) if pair is not None else L.assess_lumbar_flexion_video(trial.pose)


def _hip_hinge(trial, o: Options) -> AssessmentResult:
    from movekit.assess import hinge

    pair = _pair(trial, "t12_inclination_deg", "sacrum_inclination_deg")
    return hinge.hinge_from_inclinometers(*pair) if pair is not None else hinge.assess_hinge(trial.pose, side=o.side)


def _painful_arc(trial, o: Options) -> AssessmentResult:
    from movekit.assess import painful_arc as P

    arm = channel(trial, "arm_elevation_deg")
    if arm is not None:
        return P.painful_arc(
            arm[0], arm[1], _events(trial, o), latency_s=o.latency_s, source="inclinometer on the upper arm"
        )
    return P.assess_painful_arc(trial.pose, _events(trial, o), side=o.side, latency_s=o.latency_s)


def _single_leg_stance(trial, o: Options) -> AssessmentResult:
    from movekit.assess.balance import assess_single_leg_stance

    return assess_single_leg_stance(trial.pose, side=o.side, age=o.age)


def _step_down(trial, o: Options) -> AssessmentResult:
    from movekit.assess.step_down import assess_step_down

    return assess_step_down(trial.pose, side=o.side)


def _sit_to_stand(trial, o: Options) -> AssessmentResult:
    from movekit.assess.sit_to_stand import assess_sit_to_stand

    return assess_sit_to_stand(trial.pose, age=o.age)


def _tug(trial, o: Options) -> AssessmentResult:
    from movekit.assess.tug import assess_tug

    return assess_tug(trial.pose, age=o.age)


def _squat(trial, o: Options) -> AssessmentResult:
    from movekit.assess.squat import assess_squat

    return assess_squat(trial.pose, _events(trial, o), side=o.side)


def _posture(trial, o: Options) -> AssessmentResult:
    from movekit.assess.posture import assess_posture

    return assess_posture(trial.pose)


def _gait(trial, o: Options) -> AssessmentResult:
    from movekit.assess.gait import assess_gait

    return assess_gait(trial, axis=o.axis, side=o.side, distance_m=o.distance_m)


def _gait_trunk(trial, o: Options) -> AssessmentResult:
    from movekit.assess.gait_trunk import assess_gait_trunk_session

    return assess_gait_trunk_session(trial, distance_m=o.distance_m)


def _scapular(trial, o: Options) -> AssessmentResult:
    from movekit.assess.scapular import assess_scapular

    return assess_scapular(trial.pose)


def _joint_position_sense(trial, o: Options) -> AssessmentResult:
    from movekit.assess import jps

    hold = {} if o.hold_s is None else {"min_hold_s": o.hold_s}
    return jps.assess_jps_session(
        trial, channel=o.channel, protocol=o.protocol, joint=o.joint, target_deg=o.target_deg, **hold
    )


#: the screens ``movekit assess`` runs on a trial, by name. (The Functional Movement Screen
#: composite, :func:`movekit.assess.fms.assess_fms`, scores the seven tests a therapist rated and
#: takes no recording.)
SCREENS: dict[str, Callable[[Any, Options], AssessmentResult]] = {
    "painful-arc": _painful_arc,
    "hip-hinge": _hip_hinge,
    "balance": _balance,
    "single-leg-stance": _single_leg_stance,
    "step-down": _step_down,
    "sit-to-stand": _sit_to_stand,
    "tug": _tug,
    "squat": _squat,
    "lumbar-flexion": _lumbar_flexion,
    "posture": _posture,
    "gait": _gait,
    "joint-position-sense": _joint_position_sense,
    "gait-trunk": _gait_trunk,
    "scapular": _scapular,
}
TESTS = tuple(SCREENS)


def run(test: str, trial, *, previous: dict | None = None, **options) -> AssessmentResult:
    """Run the screen ``test`` on ``trial`` (:class:`movekit.assess.sources.Trial`).

    ``options``: the fields of :class:`Options` (``pain_events`` are added to the trial's own
    events, kind ``pain``/``pain_resolved``). ``previous``: an earlier result's JSON, for the
    percentage change of each metric.
    """
    screen = SCREENS.get(test)
    if screen is None:
        raise MovekitError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    try:
        opts = Options(**{k: v for k, v in options.items() if v is not None or k == "side"})
    except TypeError as exc:
        raise MovekitError(f"{test}: {exc}") from None
    opts = replace(opts, pain_events=tuple(opts.pain_events or ()))
    result = screen(trial, opts)
    for problem in getattr(trial, "problems", None) or []:  # e.g. a recording cut by a crash
        result.flag("source_problem", problem)
    if previous:
        from movekit.assess.result import percent_change

        for name, v in percent_change(result.to_json(), previous).items():
            result.add_metric(name, v, "%")
    return result


__all__ = ["AssessmentResult", "Options", "SCREENS", "TESTS", "run"]
