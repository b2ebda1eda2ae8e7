"""The typed result every assessment returns, its JSON form and a short human summary.

JSON layout (``AssessmentResult.to_json()``)::

    {"test": "balance",
     "metrics": {"sway_path_length_mm": {"value": 123.4, "unit": "mm"}, ...},
     "reps": [{...per rep values, names with units...}, ...],
     "flags": [{"code": "below_age_norm", "message": "..."}, ...],
     "validity": {"duration": {"ok": true, "value": 30.0, "required": ">= 25 s", "message": "..."}, ...},
     "references": ["Prieto et al. 1996, ...", ...]}

A metric whose value could not be measured is ``null`` and a flag or a failed validity check says
why; a result never carries an invented number. Metric names end with their unit as the angle
columns do (``_deg``, ``_s``, ``_mm``, ``_mm2``, ``_mm_per_s``, ``_hz``, ``_pct``, ``_count``,
``_points``, ``_deg_per_s``); :meth:`AssessmentResult.add_metric` enforces it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

#: unit -> the suffix a metric name carrying it must end with
UNIT_SUFFIX: dict[str, str] = {
    "deg": "_deg",
    "s": "_s",
    "mm": "_mm",
    "mm2": "_mm2",
    "mm/s": "_mm_per_s",
    "deg2": "_deg2",
    "deg/s": "_deg_per_s",
    "Hz": "_hz",
    "%": "_pct",
    "count": "_count",
    "points": "_points",
    "mm2/s": "_mm2_per_s",
    "1": "",
    "grade": "_grade",
    "steps/min": "_steps_per_min",
    "m/s": "_m_per_s",
}


def _clean(v: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        v = v.item()
    if hasattr(v, "tolist"):
        return _clean(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def rate_ok(rate_hz: float, min_rate_hz: float) -> bool:
    """True when a measured rate (Hz) meets a minimum, within 0.1 %: a nominal 30 Hz stream whose
    median interval gives 29.99 Hz passes (an engineering tolerance for clock rounding)."""
    return bool(rate_hz >= min_rate_hz * (1 - 1e-3))


@dataclass
class Metric:
    """One number with its unit; ``value`` is None when it could not be measured. ``normal`` is the
    published reference for this person, in words with its source (e.g. "<= 8.1 s for ages 60-69
    (Bohannon 2006)"), None when there is none or it needs what was not given (age)."""

    value: float | int | str | None
    unit: str
    normal: str | None = None


@dataclass
class Flag:
    """A finding or a warning: a stable ``code`` and a plain-language ``message``."""

    code: str
    message: str


@dataclass
class Check:
    """One validity check (view, visibility, duration, sampling rate, people in frame...)."""

    ok: bool
    message: str
    value: Any = None
    required: Any = None


@dataclass
class AssessmentResult:
    """What an assessment found; see the module docstring for the JSON form."""

    test: str
    metrics: dict[str, Metric] = field(default_factory=dict)
    reps: list[dict[str, Any]] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    validity: dict[str, Check] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    #: median expected error (deg) of each joint angle over the frames it was reported in
    #: (:mod:`movekit.analysis.error_model`); angles refused everywhere are absent
    angle_errors_deg: dict[str, float] = field(default_factory=dict)

    # -- building ---------------------------------------------------------------------------
    def add_metric(self, name: str, value, unit: str, normal: str | None = None) -> None:
        """Add a metric; non-finite values become None. The name must end with the unit's suffix;
        ``normal``: the published reference value in words, with its source (:class:`Metric`)."""
        suffix = UNIT_SUFFIX.get(unit)
        if suffix is None:
            raise ValueError(f"unknown unit {unit!r} for metric {name!r}")
        if suffix and not name.endswith(suffix):
            raise ValueError(f"metric {name!r} in {unit} must end with {suffix!r}")
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        elif value is not None and not isinstance(value, str):
            value = _clean(value)
            if isinstance(value, float) and not math.isfinite(value):
                value = None
        self.metrics[name] = Metric(value, unit, normal)

    def flag(self, code: str, message: str) -> None:
        if not any(f.code == code and f.message == message for f in self.flags):
            self.flags.append(Flag(code, message))

    def check(self, name: str, ok: bool, message: str, value=None, required=None) -> bool:
        """Record a validity check and return ``ok``; a failed check is also flagged."""
        self.validity[name] = Check(bool(ok), message, _clean(value), _clean(required))
        if not ok:
            self.flag(f"invalid_{name}", message)
        return bool(ok)

    def check_rate(self, rate_hz: float, min_rate_hz: float, message: str) -> bool:
        """The ``sampling_rate`` check: ``rate_hz`` at least ``min_rate_hz`` (Hz; see :func:`rate_ok`)."""
        return self.check(
            "sampling_rate", rate_ok(rate_hz, min_rate_hz), message, round(rate_hz, 2), f">= {min_rate_hz:g} Hz"
        )

    def cite(self, *refs: str) -> None:
        for r in refs:
            if r not in self.references:
                self.references.append(r)

    # -- reading ----------------------------------------------------------------------------
    @property
    def valid(self) -> bool:
        """True when every validity check passed."""
        return all(c.ok for c in self.validity.values())

    def value(self, name: str):
        m = self.metrics.get(name)
        return None if m is None else m.value

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "metrics": {
                k: {"value": _clean(m.value), "unit": m.unit, **({"normal": m.normal} if m.normal else {})}
                for k, m in self.metrics.items()
            },
            "reps": _clean(self.reps),
            "flags": [{"code": f.code, "message": f.message} for f in self.flags],
            "validity": {
                k: {"ok": c.ok, "value": c.value, "required": c.required, "message": c.message}
                for k, c in self.validity.items()
            },
            "references": list(self.references),
            "angle_errors_deg": dict(self.angle_errors_deg),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, allow_nan=False)

    def summary(self) -> str:
        """A few lines for a clinician: validity, the metrics, the flags."""
        lines = [f"{self.test}: " + ("valid" if self.valid else "NOT VALID") + f", {len(self.reps)} rep(s)/trial(s)"]
        for name, c in self.validity.items():
            if not c.ok:
                lines.append(f"  ! {name}: {c.message}")
        for name, m in self.metrics.items():
            if m.value is None:
                lines.append(f"  {name}: not measured")
            elif isinstance(m.value, float):
                lines.append(f"  {name}: {m.value:.4g} {m.unit}".rstrip())
            else:
                lines.append(f"  {name}: {m.value} {m.unit if m.unit != '1' else ''}".rstrip())
            if m.normal and m.value is not None:
                lines[-1] += f"  (normal: {m.normal})"
        for f in self.flags:
            if not f.code.startswith("invalid_"):
                lines.append(f"  * {f.message}")
        if self.angle_errors_deg:
            lines.append(
                "  joint angles reported, median expected error: "
                + ", ".join(
                    f"{k.removesuffix('_deg').replace('_', ' ')} +-{v:g} deg" for k, v in self.angle_errors_deg.items()
                )
            )
        return "\n".join(lines)


def percent_change(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float]:
    """Per-metric change from a previous result's JSON, in percent of the previous value.

    Both arguments are :meth:`AssessmentResult.to_json` dicts. Only numeric metrics present and
    non-zero in both are compared; the result is keyed ``<metric>_change_pct``.
    """
    out: dict[str, float] = {}
    cur, prev = current.get("metrics", {}), previous.get("metrics", {})
    for name, m in cur.items():
        p = prev.get(name)
        if p is None or p.get("unit") != m.get("unit"):
            continue
        a, b = m.get("value"), p.get("value")
        if (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and b != 0
            and not isinstance(a, bool)
            and m.get("unit") not in ("%", "points", "count")
        ):
            base = name
            for suf in sorted(UNIT_SUFFIX.values(), key=len, reverse=True):
                if suf and base.endswith(suf):
                    base = base[: -len(suf)]
                    break
            out[f"{base}_change_pct"] = 100.0 * (a - b) / abs(b)
    return out
