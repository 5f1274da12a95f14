"""Gradient checking: every partial against a numerical estimate, with verdicts, as data.

The value under test (gradcli's reverse-mode partial, or a claimed one) is
compared with a numerical estimate from `numeric`:

    pass        |tested - numeric| <= atol + rtol * scale + 2 * error estimate,
                where scale = max(|tested|, |numeric|)
    fail        outside that band
    kink        a non-differentiable point (relu, abs, max, min, sqrt, ...) lies
                within the step: the tested value lies between the one-sided
                derivatives, so it is a valid subgradient
    uncertain   it agrees only thanks to an error estimate too wide to resolve
                a relative error of 1e-6 (after escalating the method)
    non-finite  the tested value is infinite or NaN

The graph is ours, so kinks are found by asking each op which smooth piece
its arguments are on at x - h, x and x + h, not by guessing from the numbers.

Every output is checked (a program with `out u, v` has a Jacobian: one entry
per output and input). At order 2 the value under test is gradcli's Hessian
entry (forward over reverse, `hessian`), and the function differentiated
numerically is a component of gradcli's reverse-mode gradient along an input
(`numeric.GradientAlongInput`): the same verdicts, kinks and escalation, with
the complex step left out (the reverse sweep runs on floats).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from .errors import InputError
from .evaluation import Evaluation, evaluate
from .graph import Graph, Node, depends_on
from .numeric import (
    EPS,
    F_ULPS,
    AlongInput,
    Estimate,
    GradientAlongInput,
    central,
    complex_step,
    default_step,
    forward_difference,
    ridders,
)

METHODS = ("central", "forward", "richardson", "complex")
ORDERS = (1, 2)
DEFAULT_RTOL = 1e-7
DEFAULT_ATOL = 0.0
# An agreement that needs an error bar wider than this (relative) could hide
# a wrong partial of 1e-6, so it is reported as "uncertain", never as "pass".
RESOLUTION = 5e-7
# Rounding allowed in the chain rule's sum, in ulps of its magnitude (see chain_magnitude).
CHAIN_ULPS = 16.0
VERDICTS = ("pass", "fail", "kink", "uncertain", "non-finite")


@dataclass
class Kink:
    nodes: list[tuple[int, str]]  # (node id, description) of each kink within the step
    left: float | None  # one-sided derivative from below (None: outside the domain)
    right: float | None  # one-sided derivative from above
    low: float  # a subgradient lies in [low, high] (slack included)
    high: float
    # The largest jump of f at the point (a gradient at order 2: relu'(x), max at a tie):
    # f is not continuous there, so no derivative exists and any value is accepted.
    jump: float | None = None


@dataclass(kw_only=True)
class Verification:
    """How one derivative (the value under test) compared with a numerical estimate."""

    tested: float
    numeric: float | None = None
    step: float | None = None
    error_estimate: float | None = None
    method: str = ""
    verdict: str = "pass"
    kink: Kink | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def abs_error(self) -> float | None:
        return None if self.numeric is None else abs(self.tested - self.numeric)

    @property
    def rel_error(self) -> float | None:
        return None if self.numeric is None else relative_error(self.tested, self.numeric)

    @property
    def ok(self) -> bool:
        return self.verdict in ("pass", "kink", "uncertain")


@dataclass(kw_only=True)
class PartialCheck(Verification):
    """d(output)/d(input) for one input and output; `tested` is the claim if there is one.

    At order 2 it is d/d(wrt) of d(output)/d(input): a Hessian entry.
    """

    input: str
    at: float  # the value of the input moved by the numerical derivative (`wrt` at order 2)
    reverse: float  # gradcli's derivative: reverse mode (order 1), forward over reverse (order 2)
    claimed: float | None = None
    output: str = ""  # the output's label (its text in `out`, or the program's for one output)
    wrt: str | None = None  # order 2: the second input
    key: str = ""  # how a claim names this entry: x, u/x, x,y or u/x,y (see `claim_key`)
    name: str = ""  # how a person reads it: x (one output, order 1), du/dx, d²f/dx dy

    def __post_init__(self) -> None:
        self.key = self.key or self.input
        self.name = self.name or self.input


@dataclass
class CheckSettings:
    method: str = "central"
    step: float | None = None
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL


@dataclass
class CheckResult:
    evaluation: Evaluation
    settings: CheckSettings
    partials: list[PartialCheck]  # output by output; input by input (order 2: row by row)
    order: int = 1
    hessians: list | None = None  # order 2: gradcli's hessian.Hessian of each output

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.partials)

    def counts(self) -> dict[str, int]:
        return {verdict: sum(p.verdict == verdict for p in self.partials) for verdict in VERDICTS}


def relative_error(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|); 0 when both are 0."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale


class _Branches:
    """The smooth piece every op with a kink is on, for the nodes moved by one input."""

    def __init__(self, graph: Graph, input_id: int):
        depends = depends_on(graph, {input_id})
        self.graph = graph
        self.nodes: list[Node] = [
            n for n in graph.nodes if depends[n.id] and (n.op.branch is not None or n.op.kink is not None)
        ]

    def exact_kinks(self, values: list[float]) -> list[tuple[int, str]]:
        found = []
        for node in self.nodes:
            if node.op.kink is not None:
                description = node.op.kink([values[a] for a in node.args])
                if description:
                    found.append((node.id, description))
        return found

    def pieces(self, values: list[float]) -> list[object]:
        return [
            node.op.branch([values[a] for a in node.args]) if node.op.branch else None for node in self.nodes
        ]

    def crossings(self, at: list[float], others: list[list[float] | None]) -> list[tuple[int, str]]:
        """Nodes whose piece differs between the point and any of `others` (None: outside the domain)."""
        here = self.pieces(at)
        found: dict[int, str] = {}
        for values in others:
            if values is None:
                continue
            for node, a, b in zip(self.nodes, here, self.pieces(values)):
                if a != b:
                    found[node.id] = f"{node.op.name} changes branch within the step"
        return sorted(found.items())


def _one_sided(f: AlongInput, h: float) -> tuple[float | None, float | None, float, list[float]]:
    """Left and right derivatives, f's rounding noise, and every one-sided estimate made.

    First- and second-order formulas on each side: their spread is the
    curvature the interval must allow for.
    """
    x, at = f.x, f(f.x)
    lefts: list[float] = []
    rights: list[float] = []
    m1, m2 = f(x - h), f(x - 2.0 * h)
    p1, p2 = f(x + h), f(x + 2.0 * h)
    if m1 is not None:
        lefts.append((at - m1) / h)
        if m2 is not None:
            lefts.append((3.0 * at - 4.0 * m1 + m2) / (2.0 * h))
    if p1 is not None:
        rights.append((p1 - at) / h)
        if p2 is not None:
            rights.append((-3.0 * at + 4.0 * p1 - p2) / (2.0 * h))
    left = lefts[-1] if lefts else None
    right = rights[-1] if rights else None
    noise = 4.0 * F_ULPS * EPS * abs(at) / h
    return left, right, noise, lefts + rights


def _kink_check(f: AlongInput, tested: float, nodes: list[tuple[int, str]], rtol: float, atol: float) -> Kink:
    h = _step_for_kinks(f.x)
    left, right, noise, all_sided = _one_sided(f, h)
    if not all_sided:
        return Kink(nodes, None, None, math.nan, math.nan)
    low, high = min(all_sided), max(all_sided)
    slack = atol + rtol * max(abs(low), abs(high), abs(tested)) + noise
    jump = _jump(f, h)
    if jump is not None:
        return Kink(nodes, left, right, -math.inf, math.inf, jump)
    return Kink(nodes, left, right, low - slack, high + slack)


def _jump(f: AlongInput, h: float) -> float | None:
    """The change of f across the point that does not shrink with the step, if any.

    A continuous f changes 16 times less over h/16 than over h; a jump (a
    gradient through relu at 0 or max at a tie, at order 2) changes as much.
    """
    at = f(f.x)
    largest = None
    for side in (-1.0, 1.0):
        far, near = f(f.x + side * h), f(f.x + side * h / 16.0)
        if at is None or far is None or near is None:
            continue
        resolvable = 64.0 * F_ULPS * (EPS * max(abs(at), abs(far), abs(near)) + getattr(f, "noise", 0.0))
        # A jump changes by about as much over h/16; |x|^p changes 16^-p as much (< 1/2 for p > 1/4).
        if abs(near - at) > resolvable and abs(near - at) > abs(far - at) / 2.0:
            largest = max(largest or 0.0, abs(near - at))
    return largest


def _step_for_kinks(x: float) -> float:
    return default_step("central", x)


class _InputProbe:
    """Kinks along one input of the program, found from the ops its value moves."""

    def __init__(self, graph: Graph, f: AlongInput):
        input_id = graph.inputs[f.name]
        self.f, self.branches = f, _Branches(graph, input_id)
        self.at = f.values(f.x)
        depends = depends_on(graph, {input_id})
        self.non_analytic = sorted({n.op.name for n in graph.nodes if depends[n.id] and not n.op.analytic})

    def exact_kinks(self) -> list[tuple[int, str]]:
        return self.branches.exact_kinks(self.at)

    def kinks_within(self, reach: float) -> list[tuple[int, str]]:
        f = self.f
        return self.branches.exact_kinks(self.at) + self.branches.crossings(
            self.at, [f.values(f.x + reach), f.values(f.x - reach)]
        )

    def same_branch(self, h: float) -> bool:
        return not self.branches.crossings(self.at, [self.f.values(self.f.x + h), self.f.values(self.f.x - h)])


def _estimate(method: str, f, step: float | None, probe) -> Estimate | None:
    if method == "central":
        return central(f, step)
    if method == "forward":
        return forward_difference(f, step)
    if method == "richardson":
        return ridders(f, step, probe.same_branch)
    return complex_step(f)


def _judge(tested: float, estimate: Estimate, rtol: float, atol: float, negligible: float = 0.0) -> str:
    """`negligible`: a derivative this small is indistinguishable from 0 at this point."""
    difference = abs(tested - estimate.value)
    scale = max(abs(tested), abs(estimate.value))
    if difference <= atol + rtol * scale:
        return "pass"
    if difference <= atol + rtol * scale + 2.0 * estimate.error:
        # Agreement within the error bar: conclusive only if the bar is narrow,
        # or if the values and the bar are all negligible (y^9 at 0 is 0 +- 1e-159).
        if 2.0 * estimate.error <= RESOLUTION * scale:
            return "pass"
        if tested == 0.0 and max(scale, 2.0 * estimate.error) <= negligible:
            return "pass"
        return "uncertain"  # (a claim of exactly 0 included: the next method may resolve it)
    return "fail"


def _negligible(f, step: float) -> float:
    """eps * max|f| / h near the point: below this no difference quotient sees a slope."""
    values = [v for v in (f(f.x), f(f.x + step), f(f.x - step)) if v is not None]
    return EPS * max((abs(v) for v in values), default=0.0) / step


# When a method's error bar is too wide to decide, the next one is tried.
_ESCALATION = {
    "central": ("richardson", "complex"),
    "forward": ("central", "richardson", "complex"),
    "richardson": ("complex",),
}


def _verify(result: Verification, f, probe, settings: CheckSettings, atol: float) -> None:
    """Fill in `result` for the derivative of f at f.x (tested value already set)."""
    tested = result.tested
    if not math.isfinite(tested):
        result.verdict = "non-finite"
        result.notes.append(f"the value under test is {tested!r}")
        return
    step = settings.step or default_step("central", f.x)
    near = probe.kinks_within(2.0 * step)
    if near and not probe.exact_kinks():
        # A kink within the step but not at the point: the function is smooth
        # here, so take steps small enough to stay on this side of it.
        for _ in range(12):  # down to 1e-7 of the step: closer than that, treat it as at the kink
            step /= 4.0
            if not probe.kinks_within(2.0 * step):
                near = []
                result.notes.append(f"a kink lies within the default step; using step {step:.2g}")
                settings = CheckSettings(settings.method, step, settings.rtol, settings.atol)
                break
    if near:
        near = list({node: text for node, text in reversed(near)}.items())[::-1]  # one line per node, exact kinks first
        _verify_at_kink(result, f, near, settings.rtol, atol)
        return
    negligible = _negligible(f, default_step("central", f.x))
    # A pass is trusted at once (its error bar is narrow); a fail must be
    # confirmed by the more accurate methods, so that a step too coarse for
    # the function (sin(x) at x = 1e4) cannot produce a false failure.
    first_failure = None
    for method in (settings.method,) + _ESCALATION.get(settings.method, ()):
        if method == "complex" and not getattr(f, "complex_step_applies", True):
            continue  # a gradient: no complex step through the reverse sweep (check() refuses it as --method)
        if method == "complex" and probe.non_analytic and method != settings.method:
            continue  # complex-safe forms are not analytic: no better than Ridders here
        estimate = _estimate(method, f, settings.step if method == settings.method else None, probe)
        if estimate is None:
            result.notes.append(f"{method}: cannot evaluate close enough to the point")
            continue
        verdict = _judge(tested, estimate, settings.rtol, atol, negligible)
        result.numeric, result.step, result.error_estimate = estimate.value, estimate.step, estimate.error
        result.method, result.verdict = method, verdict
        if verdict == "pass":
            break
        if verdict == "fail" and first_failure is None:
            first_failure = method
        result.notes.append(f"{method}: {verdict} (estimate {estimate.value:.17g} ± {estimate.error:.2g}); escalating")
    else:
        if result.numeric is None:
            result.verdict = "uncertain"
        elif result.verdict == "uncertain" and first_failure is not None:
            result.notes.append(f"{first_failure} disagreed, but no method is accurate enough to confirm it")
        if result.notes and result.notes[-1].startswith(result.method + ":"):
            result.notes.pop()  # the last attempt is the row itself
    if result.method == "complex" and probe.non_analytic:
        result.notes.append(
            f"complex step through {', '.join(probe.non_analytic)}: complex-safe forms, exact away from kinks"
        )
    if result.verdict == "pass" and tested == 0.0:
        result.notes.append("exactly 0 here")
    elif result.verdict == "pass" and result.rel_error and result.rel_error > 1e-3:
        result.notes.append("a large relative error, but both values are below what differences resolve here")


def _verify_at_kink(result: Verification, f, near: list[tuple[int, str]], rtol: float, atol: float) -> None:
    kink = _kink_check(f, result.tested, near, rtol, atol)
    result.kink, result.method, result.step = kink, "one-sided", _step_for_kinks(f.x)
    sides = [v for v in (kink.left, kink.right) if v is not None]
    if sides:
        result.numeric = sum(sides) / len(sides)  # what a central difference would see
    if kink.jump is not None:
        result.verdict, result.numeric = "kink", None  # the one-sided slopes diverge: no estimate to show
        result.notes.append(
            f"the function differentiated jumps by {kink.jump:.3g} at the point: no derivative exists here, "
            "so any value is accepted"
        )
    elif kink.low <= result.tested <= kink.high:
        result.verdict = "kink"
    elif kink.left is None or kink.right is None:
        # At the edge of the domain only one side exists, and one-sided
        # differences converge slowly there (x^1.5 at 0): no verdict of fail.
        result.verdict = "uncertain"
        result.notes.append("at the edge of the domain: only a one-sided estimate exists")
    else:
        result.verdict = "fail"


def chain_magnitude(graph: Graph, partials, input_id: int, output: int | None = None) -> float:
    """The sum over paths of |products of edge partials|: what the chain rule adds up.

    Where terms cancel (a derivative that is exactly 0 made of terms of size 1),
    any method's rounding is relative to this, not to the result.
    """
    magnitude = [0.0] * len(graph.nodes)
    magnitude[input_id] = 1.0
    for node in graph.nodes:
        if node.args:
            magnitude[node.id] = sum(abs(p) * magnitude[a] for a, p in zip(node.args, partials[node.id]))
    total = magnitude[graph.output if output is None else output]
    return total if math.isfinite(total) else 0.0


def rounding_in_output(evaluation: Evaluation, adjoints: list[float] | None = None) -> float:
    """First-order rounding error of an output: eps * sum |value * adjoint| over computed nodes.

    Each node's rounding (an ulp of its value) reaches the output scaled by its
    adjoint (`adjoints`: that output's; default the first output's); large
    intermediates ((x + 1e6) - 1e6) make this exceed an ulp of f.
    """
    adjoints = (evaluation.adjoints if adjoints is None else adjoints) or []
    total = sum(
        abs(evaluation.values[n.id] * adjoints[n.id]) for n in evaluation.graph.nodes if n.args and adjoints
    )
    return EPS * total if math.isfinite(total) else 0.0


def check_partial(
    graph: Graph,
    point: Mapping[str, float],
    name: str,
    reverse: float,
    claimed: float | None = None,
    claim_tolerance: float = 0.0,
    settings: CheckSettings | None = None,
    magnitude: float = 0.0,
    noise: float = 0.0,
    output: int | None = None,
    key: str = "",
    label: str = "",
) -> PartialCheck:
    """d(output)/d(name) (default output: the first) against a numerical derivative of the output."""
    result, f = _jacobian_entry(graph, point, name, reverse, noise, output, key, label)
    result.claimed = claimed
    return _check_entry(result, f, claim_tolerance, CHAIN_ULPS * EPS * magnitude, settings or CheckSettings())


def _jacobian_entry(
    graph: Graph, point, name: str, reverse: float, noise: float, output: int | None, key: str, label: str,
    output_label: str = "",
) -> tuple[PartialCheck, AlongInput]:
    f = AlongInput(graph, point, name, noise, output)
    entry = PartialCheck(input=name, at=f.x, reverse=reverse, tested=reverse, output=output_label, key=key, name=label)
    return entry, f


def _check_entry(
    result: PartialCheck, f: AlongInput, claim_tolerance: float, rounding: float, settings: CheckSettings
) -> PartialCheck:
    """One entry at either order: the claim (if any) under test, verified along f."""
    if result.claimed is not None:
        result.tested = result.claimed
    if claim_tolerance:
        result.notes.append(f"claim compared to within {claim_tolerance:.1g}, the precision of its digits")
    _verify(result, f, _InputProbe(f.graph, f), settings, settings.atol + claim_tolerance + rounding)
    return result


def claim_tolerance(text: str) -> float:
    """One unit in the last digit a claim was written with (2.0595 -> 1e-4); 0 at full precision.

    A whole unit, not half, so that truncated claims are accepted as well as rounded ones.
    """
    mantissa, _, exponent = text.strip().lower().partition("e")
    digits = mantissa.lstrip("+-")
    if "." not in digits:
        return 0.0  # an integer or 1e-3 is taken as exact
    significant = len(digits.replace(".", "").lstrip("0")) if digits else 0
    if significant >= 15:
        return 0.0
    decimals = len(digits.split(".", 1)[1]) if "." in digits else 0
    try:
        power = int(exponent) if exponent else 0
    except ValueError:
        return 0.0
    return 10.0 ** (power - decimals)


def claim_key(output: str | None, input: str, wrt: str | None = None) -> str:
    """How a claim names an entry: x, x,y (order 2), and u/x, u/x,y when there are several outputs.

    Input names never contain '/' or ',', so the key splits unambiguously
    from the right even when an output's label is an expression (out x/y, v).
    """
    inputs = input if wrt is None else f"{input},{wrt}"
    return inputs if output is None else f"{output}/{inputs}"


def derivative_name(output: str | None, input: str, wrt: str | None = None) -> str:
    """x (one output, order 1), du/dx, d²f/dx dy, d²f/dx² (`output` None: one output)."""
    if output is None and wrt is None:
        return input
    f = "f" if output is None else (output if output.isidentifier() else f"({output})")
    if wrt is None:
        return f"d{f}/d{input}"
    return f"d²{f}/d{input}²" if wrt == input else f"d²{f}/d{input} d{wrt}"


def check(
    program: str | Graph,
    values: Mapping[str, float] | None = None,
    *,
    settings: CheckSettings | None = None,
    claims: Mapping[str, float] | None = None,
    claim_tolerances: Mapping[str, float] | None = None,
    order: int = 1,
) -> CheckResult:
    """Check every entry of the Jacobian (order 1) or of every output's Hessian (order 2) at a point.

    Claims are keyed by `claim_key`; a key that names no entry is an InputError.
    """
    settings = settings or CheckSettings()
    if settings.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    if order == 2 and settings.method == "complex":
        raise InputError(
            "the complex step does not apply at order 2: gradcli's gradient comes from a reverse sweep "
            "whose partial rules run on real numbers, so it cannot be evaluated at a complex point",
            hint="use --method richardson (the most accurate), central or forward",
        )
    # Reverse mode: one sweep per output gives its adjoints, which the rounding estimates need.
    evaluation = evaluate(program, values, mode="reverse")
    several = len(evaluation.outputs) > 1
    if order == 2:
        from .hessian import hessians

        hessian_list = hessians(evaluation)
        entries = _second_order(evaluation, several, hessian_list)
    else:
        hessian_list, entries = None, _first_order(evaluation, several)
    claims = claims or {}
    tolerances = claim_tolerances or {}
    known = {entry.key for entry, _, _ in entries}
    unknown = [key for key in claims if key not in known and _transposed(key) not in known]
    if unknown:
        raise InputError(
            f"claims for entries the program does not have: {', '.join(unknown)}",
            hint=_claim_hint(evaluation, several, order),
        )
    checks = []
    for entry, f, rounding in entries:
        # At order 2 a claim for x,y serves y,x too (the Hessian is symmetric), unless y,x has its own.
        key = entry.key if entry.key in claims or order == 1 else _transposed(entry.key)
        entry.claimed = claims.get(key)
        checks.append(_check_entry(entry, f, tolerances.get(key, 0.0), rounding, settings))
    return CheckResult(evaluation, settings, checks, order, hessian_list)


def _transposed(key: str) -> str:
    """u/x,y -> u/y,x: the same second derivative (x -> x)."""
    output, slash, inputs = key.rpartition("/")
    first, comma, second = inputs.partition(",")
    return key if not comma else f"{output}{slash}{second},{first}"


def _claim_hint(evaluation: Evaluation, several: bool, order: int) -> str:
    inputs = list(evaluation.graph.inputs)
    first = inputs[0] if inputs else "x"
    second = inputs[1] if len(inputs) > 1 else first
    example = claim_key(evaluation.output_labels[0] if several else None, first, second if order == 2 else None)
    forms = {
        (False, 1): "name the input",
        (True, 1): "name the output and the input, OUTPUT/INPUT",
        (False, 2): "name two inputs, INPUT,INPUT",
        (True, 2): "name the output and two inputs, OUTPUT/INPUT,INPUT",
    }[several, order]
    return (
        f"{forms}, e.g. --claim {example}=1.5; inputs: {', '.join(inputs) or 'none'}"
        + (f"; outputs: {', '.join(evaluation.output_labels)}" if several else "")
    )


def _first_order(evaluation: Evaluation, several: bool) -> list:
    """(entry, f, rounding allowed in the tested value) for every Jacobian entry."""
    graph, point = evaluation.graph, evaluation.point
    entries = []
    for index, (output, label) in enumerate(zip(evaluation.outputs, evaluation.output_labels)):
        noise = rounding_in_output(evaluation, evaluation.adjoints_of(index))
        for column, (name, input_id) in enumerate(graph.inputs.items()):
            entry, f = _jacobian_entry(
                graph, point, name, evaluation.jacobian[index][column], noise, output,
                claim_key(label if several else None, name), derivative_name(label if several else None, name), label,
            )
            magnitude = chain_magnitude(graph, evaluation.partials, input_id, output)
            entries.append((entry, f, CHAIN_ULPS * EPS * magnitude))
    return entries


def _second_order(evaluation: Evaluation, several: bool, hessian_list: list) -> list:
    """(entry, f, rounding allowed) for every Hessian entry of every output.

    Entry (i, j) is gradcli's forward-over-reverse H_ij against the derivative
    along input j of gradcli's reverse-mode gradient component i.
    """
    graph, point = evaluation.graph, evaluation.point
    names = list(graph.inputs)
    entries = []
    for output, label, hessian in zip(evaluation.outputs, evaluation.output_labels, hessian_list):
        # One reverse sweep at a moved point gives every gradient component: shared along each input.
        sweeps: dict[str, dict] = {wrt: {} for wrt in names}
        for row, name in enumerate(names):
            # Rounding in the gradient component: its chain-rule sum, in ulps (as for the tested value at order 1).
            noise = EPS * chain_magnitude(graph, evaluation.partials, graph.inputs[name], output)
            for column, wrt in enumerate(names):
                f = GradientAlongInput(graph, point, wrt, name, noise, output, sweeps[wrt])
                tested = hessian.matrix[row][column]
                entry = PartialCheck(
                    input=name, at=f.x, reverse=tested, tested=tested, output=label, wrt=wrt,
                    key=claim_key(label if several else None, name, wrt),
                    name=derivative_name(label if several else None, name, wrt),
                )
                # The two triangles were computed independently: their difference is rounding (or a kink).
                spread = hessian.asymmetry * abs(tested) if math.isfinite(hessian.asymmetry) else 0.0
                entries.append((entry, f, spread))
    return entries
