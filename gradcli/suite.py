"""Running case files: every case at every point, as plain results.

`run_case` evaluates a case's program at each point and compares the value
and gradient with the expected numbers (|actual - expected| <= atol + rtol *
|expected|), runs the finite-difference self-check, the claims and the
random-point checks the case asks for, and returns what happened. Nothing is
printed or written here: `gradcli test`, the JUnit, GitHub and JSON Lines
reports and the pytest plugin all render these results.
"""

from __future__ import annotations

import math
import os
import time
from typing import NamedTuple

from .cases import CaseSpec, PointSpec
from .errors import GradcliError

# Statuses of a point and of a case, worst last.
STATUSES = ("pass", "recorded", "fail", "error")


class Comparison(NamedTuple):
    what: str  # "value", or the input name of a gradient entry
    expected: float
    actual: float
    abs_error: float
    rel_error: float
    ok: bool


class PointResult(NamedTuple):
    index: int
    at: dict[str, float]
    line: int
    status: str  # "pass", "recorded" (no expected numbers yet: filled in), "fail", "error"
    message: str  # why it failed or could not run; "" when it passed
    comparisons: list[Comparison]
    check: object | None  # gradcli.check.CheckResult of the self-check or of the claims
    value: float | None  # what gradcli computed (None after an error): --update writes these
    gradient: dict[str, float] | None
    worst: float | None  # the largest relative error among the comparisons and checks


class CaseResult(NamedTuple):
    file: str
    name: str
    line: int
    points: list[PointResult]
    samples: object | None  # gradcli.sampling.SampleReport
    status: str
    message: str
    seconds: float


def env_flag(name: str) -> bool:
    """Whether an environment variable such as CI is set to something other than empty, 0, false or no."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def close_enough(actual: float, expected: float, rtol: float, atol: float) -> bool:
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return abs(actual - expected) <= atol + rtol * abs(expected)


def _compare(what: str, expected: float, actual: float, spec: PointSpec) -> Comparison:
    ok = close_enough(actual, expected, spec.rtol, spec.atol)
    if math.isfinite(actual) and math.isfinite(expected):
        error = abs(actual - expected)
        scale = max(abs(actual), abs(expected))
        relative = error / scale if scale > 0 else 0.0
    else:  # equal infinities or both NaN agree exactly; anything else is infinitely off
        error = relative = 0.0 if ok else math.inf
    return Comparison(what, expected, actual, error, relative, ok)


def run_case(case: CaseSpec, file: str, ci: bool = False, update: bool = False) -> CaseResult:
    """Run one case. `ci`: a point without expected numbers fails instead of being recorded."""
    from .check import CheckSettings

    started = time.perf_counter()
    settings = CheckSettings(method=case.method)
    points = [_run_point(case, index, spec, settings, ci, update) for index, spec in enumerate(case.points)]
    samples = None
    message = ""
    if case.samples and all(p.status != "error" for p in points):
        samples, message = _run_samples(case, settings)
    statuses = [p.status for p in points]
    if samples is not None and not samples.ok:
        statuses.append("fail")
    if message and samples is None:
        statuses.append("error")
    status = max(statuses, key=STATUSES.index)
    if not message:
        message = next((p.message for p in points if p.status in ("fail", "error")), "")
    return CaseResult(file, case.name, case.line, points, samples, status, message, time.perf_counter() - started)


def _run_point(case: CaseSpec, index: int, spec: PointSpec, settings, ci: bool, update: bool) -> PointResult:
    from .check import check
    from .point import parse_claims_json

    def failed(status: str, message: str, comparisons=(), result=None, value=None, gradient=None) -> PointResult:
        worst = _worst(comparisons, result)
        return PointResult(index, spec.at, spec.line, status, message, list(comparisons), result, value, gradient, worst)

    try:
        claims = {}
        if spec.claims is not None:
            with open(spec.claims, encoding="utf-8") as handle:
                claims = {k: v for k, (v, _) in parse_claims_json(handle.read(), spec.claims).items()}
        program = _one_output_graph(case.program)
        needs_check = case.check or bool(claims)
        if needs_check:
            result = check(program, spec.at, settings=settings, claims=claims)
            evaluation = result.evaluation
        else:
            from .evaluation import evaluate

            result, evaluation = None, evaluate(program, spec.at)
    except GradcliError as error:
        return failed("error", error.message + (f" ({error.hint})" if error.hint else ""))
    except OSError as error:
        return failed("error", f"cannot read claims {spec.claims}: {error.strerror or error}")

    value, gradient = evaluation.value, dict(evaluation.gradient)
    comparisons = []
    if spec.value is not None:
        comparisons.append(_compare("value", spec.value, value, spec))
    if spec.gradient is not None:
        for name, expected in spec.gradient.items():
            if name not in gradient:
                return failed("error", f"expected a partial for {name!r}, but the program has no input {name!r}",
                              value=value, gradient=gradient)
            comparisons.append(_compare(name, expected, gradient[name], spec))
        missing = [name for name in gradient if name not in spec.gradient]
        if missing:
            message = f"no expected partial for {', '.join(missing)}"
            return failed("recorded" if update else "fail", message, comparisons, result, value, gradient)
    wrong = [c for c in comparisons if not c.ok]
    if wrong:
        worst = max(wrong, key=lambda c: c.rel_error)
        message = (f"{'value' if worst.what == 'value' else 'd/d' + worst.what} is {worst.actual!r}, "
                   f"expected {worst.expected!r} (relative error {worst.rel_error:.3g}, rtol {spec.rtol:g})")
        # --update takes gradcli's numbers as the new expected ones (a self-check failure still fails below).
        if not update or (result is not None and not result.ok):
            return failed("fail", message, comparisons, result, value, gradient)
        return failed("recorded", f"updated: {message}", comparisons, result, value, gradient)
    if result is not None and not result.ok:
        bad = [p for p in result.partials if not p.ok]
        what = "claimed" if claims else "gradcli's"
        message = f"{what} partial for {bad[0].input} disagrees with the numerical derivative ({bad[0].verdict})"
        return failed("fail", message, comparisons, result, value, gradient)
    if spec.value is None or spec.gradient is None:
        if ci and not update:
            return failed("fail", "no expected value and gradient; run `gradcli test --update` and commit the result",
                          comparisons, result, value, gradient)
        return failed("recorded", "", comparisons, result, value, gradient)
    return failed("pass", "", comparisons, result, value, gradient)


def _one_output_graph(program: str):
    """A case's program, parsed; a case compares one value and one gradient, so one output."""
    from .parser import parse

    graph = parse(program)
    graph.single_output("a case of gradcli test (it expects one value and one gradient)")
    return graph


def _worst(comparisons, result) -> float | None:
    errors = [c.rel_error for c in comparisons]
    if result is not None:  # at a kink the numerical slope is not a reference: no error to report
        errors += [p.rel_error for p in result.partials
                   if p.verdict != "kink" and p.rel_error is not None and not math.isnan(p.rel_error)]
    return max(errors, default=None)


def _run_samples(case: CaseSpec, settings):
    from .sampling import check_samples

    try:
        graph = _one_output_graph(case.program)
        center = case.points[0].at
        report = check_samples(graph, center, case.samples, case.seed, case.ranges, settings)
    except GradcliError as error:
        return None, f"samples: {error.message}"
    if not report.results:
        return report, f"samples: none of {case.samples} random points could be evaluated (all outside the domain)"
    if not report.ok:
        worst = report.worst()
        where = ", ".join(f"{k}={v:.6g}" for k, v in worst.evaluation.point.items())
        return report, f"samples: {len(report.failed)} of {len(report.results)} random points fail (seed {case.seed}); worst at {where}"
    return report, ""
