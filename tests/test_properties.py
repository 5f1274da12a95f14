"""Property tests over random programs (design.md section 9, third layer).

Hypothesis writes random expressions and staged programs as text. For each,
at a random point:

- reverse mode and forward mode give the same gradient;
- both agree with a 50-digit mpmath central difference of an independent
  mpmath evaluation of the same text (translated to Python: `^` becomes `**`,
  which is faithful because the language's power, like Python's, is
  right-associative and binds tighter than unary minus);
- the per-node tangents for wrt=x match mpmath for every named value, and the
  output's tangent equals the forward-mode gradient;
- the adjoints of the inputs are the gradient.

Points where a value overflows or leaves the domain are skipped (assume).
Tolerances are relative to the "absolute" gradient: the same sweep run over
|partials|, which bounds how much rounding the sum can have accumulated.
"""

from __future__ import annotations

import math
import operator
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mpmath import mp, mpf

import gradcli

INPUTS = ("x", "y", "z")
DPS = 50
STEP = mpf(10) ** -20  # relative step of the central difference, at 50 digits

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: reproducible in CI
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# -- the independent reference: the program text evaluated by mpmath -----------------------------


def _mp_log(v, base=None):
    return mp.log(v) if base is None else mp.log(v) / mp.log(base)


NAMESPACE = {
    "sin": mp.sin, "cos": mp.cos, "tan": mp.tan, "asin": mp.asin, "acos": mp.acos, "atan": mp.atan,
    "sinh": mp.sinh, "cosh": mp.cosh, "tanh": mp.tanh, "exp": mp.exp, "log": _mp_log,
    "log2": lambda v: mp.log(v) / mp.log(2), "log10": lambda v: mp.log(v) / mp.log(10),
    "sqrt": mp.sqrt, "abs": abs, "sigmoid": lambda v: 1 / (1 + mp.exp(-v)),
    "relu": lambda v: v if v > 0 else mpf(0), "softplus": lambda v: mp.log(1 + mp.exp(v)),
    "pow": mp.power, "atan2": mp.atan2, "max": max, "min": min,
}
AUGMENTED = {"+=": operator.add, "-=": operator.sub, "*=": operator.mul, "/=": operator.truediv}
# The language's constants are the doubles math.pi and math.e: the same numbers here.
CONSTANTS = {"pi": lambda: mpf(math.pi), "e": lambda: mpf(math.e)}

_TOKEN = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_STATEMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*([-+*/]?=)(?!=)(.*)\Z", re.S)


def _python_expression(text: str) -> str:
    """Program text to Python: numbers become exact mpf literals, ^ becomes **."""

    def token(match: re.Match) -> str:
        if match.group("number") is not None:
            return f"mpf({match.group('number')!r})"
        return match.group("name")

    return _TOKEN.sub(token, text).replace("^", "**")


class MpProgram:
    """A program compiled to Python statements over mpmath numbers."""

    def __init__(self, source: str):
        self.statements = []  # (target or None, '=' / '+=' / ... or None, code)
        for raw in re.split(r"[;\n]", source):
            if not raw.strip():
                continue
            match = _STATEMENT.match(raw)
            if match:
                target, augmented, expression = match.groups()
            else:
                target, augmented, expression = None, None, raw
            code = compile(_python_expression(expression.strip()), "<program>", "eval")
            self.statements.append((target, augmented, code))

    def run(self, point: dict[str, mpf]) -> tuple[mpf, dict[str, mpf]]:
        """The output and the final value of every name, at `point`."""
        scope: dict = {"mpf": mpf, **NAMESPACE, **{k: f() for k, f in CONSTANTS.items()}}
        scope.update(point)
        output = None
        for target, augmented, code in self.statements:
            value = eval(code, scope)
            if target is None:
                output = value
                continue
            if augmented == "=":
                scope[target] = value
            else:
                scope[target] = AUGMENTED[augmented](scope[target], value)
            output = scope[target]
        targets = {target for target, _, _ in self.statements if target is not None}
        names = {k: scope[k] for k in [*point, *targets]}
        return output, names

    def derivatives(self, point: dict[str, float], wrt: str) -> tuple[mpf, dict[str, mpf]]:
        """d(output)/d(wrt) and d(name)/d(wrt) for every name, by central differences."""
        with mp.workdps(DPS):
            base = {k: mpf(v) for k, v in point.items()}
            h = STEP * max(1, abs(base[wrt]))
            plus, minus = dict(base), dict(base)
            plus[wrt] += h
            minus[wrt] -= h
            out_plus, names_plus = self.run(plus)
            out_minus, names_minus = self.run(minus)
            for value in [out_plus, out_minus, *names_plus.values(), *names_minus.values()]:
                assert isinstance(value, type(mpf(0))), "the reference left the real line"
            d_out = (out_plus - out_minus) / (2 * h)
            d_names = {k: (names_plus[k] - names_minus[k]) / (2 * h) for k in names_plus}
            return d_out, d_names

    def value(self, point: dict[str, float]) -> mpf:
        with mp.workdps(DPS):
            return self.run({k: mpf(v) for k, v in point.items()})[0]


# -- random programs, as text ----------------------------------------------------------------------------

NUMBERS = st.sampled_from(["2", "3", "0.5", "1.5", "0.25", "10", "1e-3", "2.5e1", ".75", "pi", "e", "7"])

# Guarded forms: every argument stays in its domain and every value stays moderate.
UNARY_FORMS = [
    "sin({a})", "cos({a})", "atan({a})", "tanh({a})", "sigmoid({a})", "softplus(sin({a}))",
    "exp(sin({a}))", "exp(tanh({a}))", "log(1 + ({a})^2)", "sqrt(1 + ({a})^2)", "log2(2 + cos({a}))",
    "log10(1 + sigmoid({a}))", "sinh(tanh({a}))", "cosh(atan({a}))", "asin(sin({a})/2)",
    "acos(0.9*tanh({a}))", "tan(atan({a})/2)", "({a})^2", "({a})^3", "-({a})", "+({a})",
    "1.1^sin({a})^2", "2^-cos({a})", "-sin({a})^2", "abs({a})", "relu({a})",
]
BINARY_FORMS = [
    "{a} + {b}", "{a} - {b}", "{a} * {b}", "({a}) * ({b})", "({a}) - ({b})",
    "{a} / (2 + cos({b}))", "({a}) / (1 + ({b})^2)", "log(1 + ({a})^2, 2 + sigmoid({b}))",
    "atan2({a}, 2 + cos({b}))", "atan2(1 + ({a})^2, {b})", "pow(1 + ({a})^2, tanh({b}))",
    "(2 + sin({a}))^cos({b})", "max({a}, {b})", "min({a}, {b})", "{a} * -{b}",
]
TERNARY_FORMS = ["max({a}, {b}, {c})", "min({a}, {b}, {c})", "{a} * {b} + {c}", "({a} - {b}) * {c}"]


@st.composite
def expressions(draw, names=INPUTS, depth=3, top=False):
    """An expression over `names`, as gradcli text; parentheses only where a form has them."""
    if depth == 0 or (not top and draw(st.integers(0, 4)) == 0):
        if draw(st.integers(0, 5)) == 0:
            return draw(NUMBERS)
        return draw(st.sampled_from(names))
    kind = draw(st.integers(0, 5))
    sub = expressions(names=names, depth=depth - 1)
    if kind <= 2:
        return draw(st.sampled_from(UNARY_FORMS)).format(a=draw(sub))
    if kind <= 4:
        return draw(st.sampled_from(BINARY_FORMS)).format(a=draw(sub), b=draw(sub))
    return draw(st.sampled_from(TERNARY_FORMS)).format(a=draw(sub), b=draw(sub), c=draw(sub))


def _wrap(text: str) -> str:
    return f"({text})"


@st.composite
def staged_programs(draw):
    """t1 = ...; t2 = t1 * x + t1; x *= ...: re-used names, diamonds, accumulation."""
    names = list(INPUTS)
    statements = []
    for k in range(1, draw(st.integers(2, 6)) + 1):
        expression = draw(expressions(names=tuple(names), depth=2))
        choice = draw(st.integers(0, 6))
        if choice <= 2 or k == 1:
            target = f"t{k}"
            previous = [n for n in names if n.startswith("t")]
            if previous and draw(st.booleans()):
                # Use a previous value twice: a diamond in the graph.
                p = draw(st.sampled_from(previous))
                expression = f"{p} * {_wrap(expression)} + {p}"
            statements.append(f"{target} = {expression}")
            names.append(target)
        elif choice == 3:
            target = draw(st.sampled_from(names))
            statements.append(f"{target} += {expression}")
        elif choice == 4:
            target = draw(st.sampled_from(names))
            statements.append(f"{target} *= sigmoid({expression})")
        elif choice == 5:
            target = draw(st.sampled_from(names))
            statements.append(f"{target} /= 2 + cos({expression})")
        else:
            target = draw(st.sampled_from(names))
            statements.append(f"{target} -= {expression}")
    if draw(st.booleans()):
        statements.append(draw(expressions(names=tuple(names), depth=2)))
    separator = draw(st.sampled_from(["; ", "\n", " ;\n"]))
    return separator.join(statements)


POINTS = st.fixed_dictionaries(
    {name: st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, allow_subnormal=False) for name in INPUTS}
)


# -- checking one program at one point ------------------------------------------------------------------


def _evaluate(program: str, point: dict[str, float], **kwargs):
    try:
        return gradcli.evaluate(program, point, **kwargs)
    except gradcli.GradcliError:
        assume(False)


_NON_SMOOTH = {"abs", "relu", "max", "min"}


def _assume_smooth_here(evaluation) -> None:
    """Skip points at or within rounding of a kink: there the double and the
    50-digit evaluations may take different branches."""
    assume(not any(w.kind in ("kink", "non-finite-partial", "non-finite-gradient") for w in evaluation.warnings))
    values = evaluation.values
    for node in evaluation.graph.nodes:
        if node.op.name not in _NON_SMOOTH:
            continue
        args = [values[a] for a in node.args]
        if node.op.name in ("abs", "relu"):
            assume(abs(args[0]) > 1e-9)
        else:
            assume(all(abs(a - b) > 1e-9 * max(1.0, abs(a), abs(b)) for i, a in enumerate(args) for b in args[i + 1 :]))


def _absolute_tangents(evaluation, wrt: str) -> list[float]:
    """The tangent sweep over |partials|: a bound on each tangent's terms, for tolerances.

    Arguments whose tangent is 0 are skipped, as the tangent sweep skips them: the
    partial towards a constant can be NaN (d/dp of x^2 at x < 0), and a NaN scale
    would make every tolerance built on it vanish.
    """
    graph = evaluation.graph
    tangents = [0.0] * len(graph.nodes)
    tangents[graph.inputs[wrt]] = 1.0
    for node in graph.nodes:
        if node.args:
            tangents[node.id] = sum(
                abs(p) * tangents[a] for a, p in zip(node.args, evaluation.partials[node.id]) if tangents[a] != 0.0
            )
    return tangents


def _close(got: float, ref, scale: float, rel: float, floor: float = 1e-12) -> bool:
    return math.isfinite(got) and abs(mpf(got) - ref) <= rel * max(abs(ref), scale) + floor


def check_program(program: str, point: dict[str, float]) -> None:
    try:
        inputs = gradcli.parse(program).inputs
    except gradcli.GradcliError as error:  # the generator writes only valid programs
        raise AssertionError(f"gradcli cannot parse the generated program {program!r}: {error}") from error
    wrt = "x" if "x" in inputs else None
    reverse = _evaluate(program, point, mode="reverse", wrt=wrt)
    forward = _evaluate(program, point, mode="forward", wrt=wrt)
    _assume_smooth_here(reverse)
    graph = reverse.graph
    assume(all(math.isfinite(v) and abs(v) < 1e100 for v in reverse.values))
    reference = MpProgram(program)

    # The value.
    ref_value = reference.value(point)
    biggest = max(abs(v) for v in reverse.values)
    assert _close(reverse.value, ref_value, 0.0, 1e-10, 1e-12 * (1 + biggest)), (
        f"value of {program!r} at {point}: gradcli {reverse.value!r}, mpmath {mp.nstr(ref_value, 20)}"
    )
    assert forward.value == reverse.value

    assert set(reverse.gradient) == set(graph.inputs) == set(forward.gradient)
    for name, node_id in graph.inputs.items():
        # Adjoints of the inputs are the gradient.
        assert reverse.adjoints[node_id] == reverse.gradient[name]

        absolute = _absolute_tangents(reverse, name)
        scale = absolute[graph.output]
        # Reverse mode equals forward mode (they differ only in summation order).
        g_reverse, g_forward = reverse.gradient[name], forward.gradient[name]
        assert math.isfinite(g_reverse) and math.isfinite(g_forward)
        assert abs(g_reverse - g_forward) <= 1e-12 * max(abs(g_forward), scale) + 1e-300, (
            f"d/d{name} of {program!r} at {point}: reverse {g_reverse!r}, forward {g_forward!r}"
        )

        # Both agree with mpmath.
        d_out, d_names = reference.derivatives(point, name)
        for mode, got in (("reverse", g_reverse), ("forward", g_forward)):
            assert _close(got, d_out, scale, 1e-9), (
                f"d/d{name} of {program!r} at {point} ({mode} mode): gradcli {got!r}, mpmath {mp.nstr(d_out, 20)}"
            )

        if name == "x":
            # The per-node tangents for wrt=x: the output's is the forward-mode gradient,
            # and every named value's matches mpmath.
            tangents = reverse.tangents["x"]
            assert abs(tangents[graph.output] - g_forward) <= 1e-12 * max(abs(g_forward), scale) + 1e-300
            assert forward.tangents["x"] == tangents or all(
                abs(a - b) <= 1e-12 * max(abs(b), s) + 1e-300
                for a, b, s in zip(tangents, forward.tangents["x"], absolute)
            )
            final_node = {}
            for node in graph.nodes:
                if node.name is not None:
                    final_node[node.name] = node.id  # later bindings have larger ids
            for named, node_id in final_node.items():
                assert named in d_names, f"{named} missing from the reference evaluation"
                assert _close(tangents[node_id], d_names[named], absolute[node_id], 1e-9), (
                    f"tangent d{named}/dx of {program!r} at {point}: gradcli {tangents[node_id]!r}, "
                    f"mpmath {mp.nstr(d_names[named], 20)}"
                )


# -- the properties ----------------------------------------------------------------------------------


def _uses_an_input(text: str) -> bool:
    return re.search(r"\b[xyz]\b", text) is not None


@SETTINGS
@given(expressions(depth=4, top=True).filter(_uses_an_input), POINTS)
def test_random_expressions(program, point):
    check_program(program, point)


@SETTINGS
@given(staged_programs().filter(_uses_an_input), POINTS)
def test_random_staged_programs(program, point):
    check_program(program, point)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.integers(1, 6), POINTS)
def test_repeated_use_accumulates(copies, point):
    """t = x*y used `copies` times through re-bound names: the adjoints must add up."""
    lines = ["t = x * sin(y)", "s = t"] + ["s += t * t" for _ in range(copies)] + ["s"]
    program = "\n".join(lines)
    check_program(program, point)
    # Closed form: s = t + copies * t^2, ds/dx = (1 + 2 copies t) sin(y).
    x, y = point["x"], point["y"]
    with mp.workdps(DPS):
        t = mpf(x) * mp.sin(mpf(y))
        expected = (1 + 2 * copies * t) * mp.sin(mpf(y))
    got = gradcli.evaluate(program, point).gradient["x"]
    assert abs(mpf(got) - expected) <= 1e-12 * (1 + abs(expected)) * (1 + 2 * copies)


def test_reference_translation_is_faithful_on_precedence():
    # The mpmath translation is only trustworthy if ^ -> ** keeps the language's
    # precedence; these closed forms pin it (and gradcli) to the grammar's rules.
    cases = {
        "-x^2": -9.0,  # -(x^2)
        "2^-1": 0.5,
        "2^3^2": 512.0,  # right-associative
        "-2^2": -4.0,
        "x*-y": -6.0,
        "2^x^-1": 2.0 ** (1.0 / 3.0),
        "t = x; t *= 2; t^2": 36.0,
    }
    for program, expected in cases.items():
        point = {"x": 3.0, "y": 2.0}
        used = {k: v for k, v in point.items() if re.search(rf"\b{k}\b", program)}
        assert float(MpProgram(program).value(used)) == pytest.approx(expected, rel=1e-15), program
        assert gradcli.evaluate(program, used).value == pytest.approx(expected, rel=1e-15), program
