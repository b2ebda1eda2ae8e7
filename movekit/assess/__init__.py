"""Clinical assessments: each takes a session and returns an :class:`~movekit.assess.result.AssessmentResult`.

``run(test, session, **options)`` dispatches on the test names of ``movekit assess``; the
maths of each test is also available as pure functions over arrays in its module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from movekit.assess.result import AssessmentResult
from movekit.errors import MovekitError

TESTS = ("painful-arc", "hip-hinge", "balance", "single-leg-stance", "step-down", "sit-to-stand",
         "tug", "squat", "lumbar-flexion", "posture")


def channel(session, name: str):
    """``(t_s, values)`` of a named channel: a CSV column, or a device stream channel whose name
    (or ``<stream>_<channel>``) is ``name`` without its unit suffix (e.g. a BLE inclinometer
    stream ``t12`` with channel ``inclination`` for ``t12_inclination_deg``). None when absent."""
    tab = session.table or {}
    if name in tab and "time_s" in tab:
        return tab["time_s"], tab[name]
    base = name.rsplit("_", 1)[0] if name.endswith("_deg") else name
    for sname, st in session.streams.items():
        chans = list(st.spec.channel_names or ())
        for i, c in enumerate(chans):
            if base in (c, f"{sname}_{c}") or name == c:
                if st.spec.unit not in ("deg", "1", ""):
                    continue
                d = st.data.reshape(len(st.t_s), -1)
                return st.t_s, d[:, i]
    return None


def _pair(session, a: str, b: str):
    ca, cb = channel(session, a), channel(session, b)
    if ca is None or cb is None:
        return None
    t = ca[0]
    same = len(cb[0]) == len(t) and bool(np.all(cb[0] == t))
    vb = cb[1] if same else np.interp(t, cb[0], cb[1])
    return t, ca[1], vb


def run(test: str, session, *, side: str | None = None, age: float | None = None, latency_s: float = 0.0,
        pain_events: list[dict[str, Any]] | None = None, previous: dict | None = None,
        min_duration_s: float | None = None) -> AssessmentResult:
    """Run ``test`` on ``session`` (:class:`movekit.assess.sources.Session`).

    ``pain_events`` are added to the session's own events (kind ``pain``/``pain_resolved``).
    """
    if test not in TESTS:
        raise MovekitError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    result = _run(test, session, side=side, age=age, latency_s=latency_s, pain_events=pain_events,
                  min_duration_s=min_duration_s)
    if previous:
        from movekit.assess.result import percent_change

        for name, v in percent_change(result.to_json(), previous).items():
            result.add_metric(name, v, "%")
    return result


def _run(test, session, *, side, age, latency_s, pain_events, min_duration_s) -> AssessmentResult:
    events = list(session.events) + list(pain_events or [])
    pose = session.pose
    if test == "balance":
        from movekit.assess.balance import assess_balance
        from movekit.assess.sway import MIN_DURATION_S

        return assess_balance(session, min_duration_s=min_duration_s if min_duration_s is not None else MIN_DURATION_S)
    if test == "lumbar-flexion":  # inclinometers (CSV columns or device streams) first, else video
        from movekit.assess import lumbar_flexion as L

        pair = _pair(session, "t12_inclination_deg", "sacrum_inclination_deg")
        if pair is not None:
            return L.dual_inclinometer(*pair)
        return L.assess_lumbar_flexion_video(pose)
    if test == "hip-hinge":
        from movekit.assess import hinge

        pair = _pair(session, "t12_inclination_deg", "sacrum_inclination_deg")
        if pair is not None:
            return hinge.hinge_from_inclinometers(*pair)
        return hinge.assess_hinge(pose, side=side)
    if test == "painful-arc":
        from movekit.assess import painful_arc as P

        arm = channel(session, "arm_elevation_deg")
        if arm is not None:
            return P.painful_arc(arm[0], arm[1], events, latency_s=latency_s,
                                 source="inclinometer on the upper arm")
        return P.assess_painful_arc(pose, events, side=side, latency_s=latency_s)
    if test == "single-leg-stance":
        from movekit.assess.balance import assess_single_leg_stance

        return assess_single_leg_stance(pose, side=side, age=age)
    if test == "step-down":
        from movekit.assess.step_down import assess_step_down

        return assess_step_down(pose, side=side)
    if test == "sit-to-stand":
        from movekit.assess.sit_to_stand import assess_sit_to_stand

        return assess_sit_to_stand(pose, age=age)
    if test == "tug":
        from movekit.assess.tug import assess_tug

        return assess_tug(pose, age=age)
    if test == "squat":
        from movekit.assess.squat import assess_squat

        return assess_squat(pose, events, side=side)
    from movekit.assess.posture import assess_posture

    return assess_posture(pose)


__all__ = ["AssessmentResult", "TESTS", "run"]
