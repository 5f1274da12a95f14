"""How far `gradcli check` can be trusted: false failures, catch rates, kinks, tolerances.

Measures the checker of gradcli (gradcli/check.py) on generated programs:

  correct     at least --pairs (program, point) pairs, composite programs of
              depth 2-4 over 1-3 inputs that use every op of the op table
              (gradcli.ops.OPS), at ordinary points and at awkward ones (near
              domain edges and poles, large and small magnitudes, gradients tiny
              relative to the function, cancellation). gradcli's own
              reverse-mode gradient is checked with each method (central,
              forward, richardson, complex): a verdict of fail or non-finite is
              a false failure; "uncertain" verdicts are counted separately.
  planted     the same pairs with wrong claims (full precision, so
              claim_tolerances are empty): one partial off by a relative 1e-2,
              1e-4 or 1e-6, a sign flip, two partials swapped, a chain-rule
              factor dropped (a node's local partial replaced by 1, i.e. claim
              g'(x) for f(g(x))) and a product-rule term dropped (one partial of
              a mul/div node whose two arguments depend on the same input set to
              0); both structural bugs are made by re-running gradcli's reverse
              sweep with the edited local partials. Caught = verdict "fail" on a
              perturbed partial.
  kinks       relu/abs/max/min exactly at the kink and within the step of it:
              gradcli's subgradient must never fail, and a value outside the
              one-sided interval (by a relative margin) must be caught.
  rtol        central with rtol 1e-6, 1e-7 (the default), 1e-8, 1e-9: false
              failures against catches of a 1e-6 error.
  torch       if torch is importable: torch.autograd.gradcheck (float64,
              default eps/atol/rtol) on the same function and the same claims,
              through a torch.autograd.Function whose forward is gradcli's
              forward pass and whose backward returns the claimed gradient.

A pair counts as correct only if gradcli's double-precision gradient agrees to
1e-8 with the exact derivative (mpmath, at as many digits as the pair needs);
pairs where gradcli's own gradient is off (underflow, ill-conditioning) are
set aside and reported apart, since a `fail` is right there. Without mpmath
every pair is taken as correct. bench/CHECKER.md has the measured figures.

    python bench/check_accuracy.py                       # 500 pairs, seed 0
    python bench/check_accuracy.py --pairs 1000 --seed 3 --json-out /tmp/acc.json
    /tmp/torchvenv/bin/python bench/check_accuracy.py    # with torch, if it is there

Deterministic for a given --pairs and --seed (pairs are generated in one
process with one seeded random.Random; workers only check).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import multiprocessing
import os
import platform
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict

import gradcli
from gradcli import GradcliError, evaluate, parse
from gradcli.check import DEFAULT_RTOL, METHODS, CheckSettings, check
from gradcli.graph import feeds_output, forward_values, reverse_sweep
from gradcli.ops import LEAF_OPS, OPS
from machine_info import cpu_model

try:  # optional: exact reference derivatives
    import mpmath
except ImportError:  # pragma: no cover
    mpmath = None

NAMES = ("x", "y", "z")
RTOLS = (1e-6, 1e-7, 1e-8, 1e-9)
RELATIVE = (1e-2, 1e-4, 1e-6)
PLANTED_KINDS = ("rel 1e-2", "rel 1e-4", "rel 1e-6", "sign flip", "swap", "drop chain factor", "drop product term")
KINK_MARGINS = (1e-1, 1e-3, 1e-5)
GEN_OPS = sorted(name for name in OPS if name not in LEAF_OPS)  # every op a program can contain
SMOOTH_WRAPPERS = ["sin", "cos", "atan", "tanh", "sigmoid", "softplus", "exp", "neg", "abs", "sqrt", "log"]
CONSTANTS = ["2", "0.5", "3", "1.5", "pi", "e", "0.25", "10"]


# -- programs, as text -------------------------------------------------------------------------------------

def gen(rng: random.Random, depth: int, names: list[str], force: str | None = None) -> str:
    """A random expression of exactly `depth` levels of ops along its first argument."""
    if depth <= 0:
        if rng.random() < 0.8:
            return rng.choice(names)
        return rng.choice(CONSTANTS)
    op = force or rng.choice([o for o in GEN_OPS if o != "id"])

    def sub(first: bool = False) -> str:
        return gen(rng, depth - 1 if first else rng.randint(0, depth - 1), names)

    if op in ("add", "sub", "mul", "div"):
        symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[op]
        return f"({sub(True)} {symbol} {sub()})"
    if op == "neg":
        return f"(-{sub(True)})"
    if op == "pow":
        if rng.random() < 0.6:
            return f"({sub(True)})^{rng.choice(['2', '3', '0.5', '1.5', '(-1)', '(-2)', '2.5', '(1/3)'])}"
        return f"pow({sub(True)}, {sub()})"
    if op == "log" and rng.random() < 0.3:
        base = rng.choice(["2", "10", "0.5", "3"]) if rng.random() < 0.5 else sub()
        return f"log({sub(True)}, {base})"
    if op == "atan2":
        return f"atan2({sub(True)}, {sub()})"
    if op in ("max", "min"):
        args = [sub(True)] + [sub() for _ in range(rng.choice([1, 1, 2]))]
        return f"{op}({', '.join(args)})"
    if op == "id":  # only reachable through staged programs
        return sub(True)
    return f"{op}({sub(True)})"


def staged(rng: random.Random, names: list[str], depth: int, force: str | None) -> str:
    """`t = A; u = t; B(u, ...)`: `u = t` is an id node."""
    a_depth = rng.randint(1, max(1, depth - 1))
    first = gen(rng, a_depth, names, force if force != "id" else None)
    second = gen(rng, max(1, depth - a_depth), names + ["u", "u"])
    if "u" not in second.replace("(", " ").replace(")", " ").replace(",", " ").split():
        second = f"({second}) {rng.choice(['+', '*', '-'])} u"
    return f"t = {first}\nu = t\n{second}"


def wrap(rng: random.Random, core: str, names: list[str]) -> str:
    """Compose an awkward core into a program of depth 2-4 with other inputs."""
    expr = core
    for _ in range(rng.randint(0, 2)):
        outer = rng.choice(SMOOTH_WRAPPERS)
        expr = f"(-{expr})" if outer == "neg" else f"{outer}({expr})"
    if rng.random() < 0.7:
        other = gen(rng, rng.randint(0, 2), names)
        symbol = rng.choice(["+", "-", "*", "/"])
        expr = f"({expr}) {symbol} ({other})" if rng.random() < 0.5 else f"({other}) {symbol} ({expr})"
    return expr


def _tiny(rng: random.Random, ks=(3, 6, 9, 12)) -> float:
    return 10.0 ** -rng.choice(ks) * rng.choice([1.0, 1.7, 3.3])


def edge_core(rng: random.Random, op: str) -> tuple[str, dict[str, float], str]:
    """An expression putting `op` near the edge of its domain (or a pole, or a large argument)."""
    t = _tiny(rng)
    s = rng.choice([-1.0, 1.0])
    u = round(rng.uniform(0.5, 2.0), 3)
    if op == "sqrt":
        return rng.choice([("sqrt(x)", {"x": t}, "sqrt near 0"), ("sqrt(x - 2)", {"x": 2 + max(t, 1e-9)}, "sqrt near 0"),
                           ("sqrt(x*y)", {"x": t, "y": u}, "sqrt near 0")])
    if op in ("log", "log2", "log10"):
        choices = [(f"{op}(x)", {"x": t}, f"{op} near 0"), (f"{op}(1 + x)", {"x": -1 + max(t, 1e-9)}, f"{op} near 0")]
        if op == "log":
            choices.append(("log(y, x)", {"x": 1 + max(t, 1e-9), "y": u}, "log base near 1"))
        return rng.choice(choices)
    if op in ("asin", "acos"):
        return f"{op}(x)", {"x": s * (1 - max(t, 1e-12))}, f"{op} near +-1"
    if op == "div":
        return rng.choice([("y / x", {"x": s * t, "y": u}, "divisor near 0"),
                           ("1 / (x - 1)", {"x": 1 + s * max(t, 1e-9)}, "divisor near 0")])
    if op == "pow":
        return rng.choice([
            (f"x^{rng.choice(['0.5', '1.5', '2.5', '(1/3)'])}", {"x": t}, "x^p near 0"),
            ("pow(x, y)", {"x": t, "y": u}, "x^y near x=0"),
            ("x^3", {"x": -t}, "negative base, integer p"),
            ("x^(-2)", {"x": s * t}, "x^-2 near 0"),
        ])
    if op == "tan":
        k = rng.choice([2, 4, 6, 8])
        return "tan(x)", {"x": s * (math.pi / 2 - 10.0**-k)}, f"tan 1e-{k} from its pole"
    if op == "atan2":
        if rng.random() < 0.5:
            return "atan2(y, x)", {"y": s * t, "x": rng.choice([-1, 1]) * t * u}, "atan2 near the origin"
        k = rng.choice([3, 5, 7, 9])
        return "atan2(y, x)", {"y": s * 10.0**-k, "x": -u}, f"atan2 1e-{k} from its branch cut (x<0, y=0)"
    if op in ("exp", "sinh", "cosh"):
        return f"{op}(x)", {"x": rng.choice([700.0, -700.0, 709.0, 300.5])}, f"{op} of a large argument"
    if op == "tanh":
        return "tanh(x)", {"x": rng.choice([-20.0, 20.0, 15.0, 1e-9])}, "tanh saturated or tiny"
    if op == "sigmoid":
        return "sigmoid(x)", {"x": rng.choice([-30.0, 30.0, -700.0, -800.0, 25.0])}, "sigmoid saturated"
    if op == "softplus":
        return "softplus(x)", {"x": rng.choice([-30.0, 30.0, 800.0, -800.0])}, "softplus saturated"
    if op == "atan":
        return "atan(x)", {"x": rng.choice([1e8, -1e8, 1e-9, 1e4])}, "atan at a large/tiny argument"
    if op in ("sin", "cos"):
        return f"{op}(x)", {"x": rng.choice([1e5, -3e5, math.pi, 2 * math.pi, 1e-8])}, f"{op} large or near a stationary point"
    if op in ("abs", "relu"):
        return f"{op}(x)", {"x": s * rng.choice([1e-3, 1e-4])}, f"{op} just outside the step from its kink"
    if op in ("max", "min"):
        return f"{op}(x, y)", {"x": u + s * rng.choice([1e-3, 1e-4]), "y": u}, f"{op} near a tie, outside the step"
    if op in ("add", "sub"):
        big = rng.choice(["1e4", "1e6", "1e8"])
        return f"(x + {big}) - {big}", {"x": u}, "cancellation of a large intermediate"
    if op == "mul":
        return "x * y", {"x": s * 1e150, "y": 1e-150 * u}, "product of huge and tiny"
    if op == "neg":
        return "-(x + 1e8) + 1e8", {"x": u}, "cancellation of a large intermediate"
    return f"{op}(x)" if op in OPS and OPS[op].max_args == 1 and op != "id" else "x", {"x": u}, "no edge for this op"


def flat_core(rng: random.Random, names: list[str]) -> tuple[str, dict[str, float], str]:
    """Gradient tiny relative to the function."""
    t = _tiny(rng, (3, 5, 7))
    choice = rng.randrange(6)
    if choice == 0:
        big = rng.choice(["1e3", "1e6", "1e9"])
        return f"{big} + {gen(rng, rng.randint(1, 2), names)}", {n: round(rng.uniform(-2, 2), 4) for n in names}, f"{big} + g"
    if choice == 1:
        return "cos(x)", {"x": t}, "cos near its maximum"
    if choice == 2:
        return "(x - 1.5)^2 + 1", {"x": 1.5 + t}, "near a minimum"
    if choice == 3:
        return "exp(-x^2)", {"x": t}, "exp(-x^2) near 0"
    if choice == 4:
        return "sigmoid(x) * y", {"x": 25.0, "y": u_val(rng)}, "sigmoid saturated"
    return f"1 + 1e-10 * {gen(rng, 1, names)}", {n: round(rng.uniform(-2, 2), 4) for n in names}, "1 + 1e-10 g"


def u_val(rng: random.Random) -> float:
    return round(rng.uniform(0.5, 2.0), 3)


# -- pairs ---------------------------------------------------------------------------------------------------

def evaluate_ok(program: str, point: dict[str, float]):
    """The evaluation, or None if gradcli cannot compute it or the gradient is not finite."""
    try:
        ev = evaluate(program, point)
    except GradcliError:
        return None, "GradcliError"
    if not all(math.isfinite(v) for v in ev.gradient.values()):
        return None, "non-finite gradient"
    if not ev.gradient:
        return None, "no input"
    return ev, None


def make_pairs(count: int, seed: int) -> tuple[list[dict], list[dict], Counter]:
    """`count` correct pairs (gradcli's gradient accurate to 1e-8), and the pairs set aside."""
    rng = random.Random(seed)
    pairs: list[dict] = []
    excluded: list[dict] = []
    skipped: Counter = Counter()
    categories, weights = ("plain", "edge", "large", "small", "flat"), (50, 30, 7, 6, 7)
    index = 0
    while len(pairs) < count:
        focus = GEN_OPS[index % len(GEN_OPS)]  # every op in turn, wherever else it appears
        category = rng.choices(categories, weights)[0]
        index += 1
        n_inputs = rng.choice([1, 2, 2, 3, 3])
        names = list(NAMES[:n_inputs])
        for _attempt in range(40):
            depth = rng.randint(2, 4)
            note = ""
            if category == "edge":
                core, core_point, note = edge_core(rng, focus)
                core_names = sorted(core_point)
                all_names = sorted(set(core_names) | set(names))
                program = wrap(rng, core, all_names)
                point = {n: round(rng.uniform(-2, 2), 4) for n in all_names}
                point.update(core_point)
            elif category == "flat":
                core, core_point, note = flat_core(rng, names)
                all_names = sorted(set(core_point) | set(names))
                program = wrap(rng, core, all_names)
                point = {n: round(rng.uniform(-2, 2), 4) for n in all_names}
                point.update(core_point)
            else:
                if focus == "id" or rng.random() < 0.15:
                    program = staged(rng, names, depth, focus)
                else:
                    program = gen(rng, depth, names, focus)
                if category == "large":
                    k = rng.choice([2, 4, 6, 8])
                    point = {n: round(rng.uniform(-1, 1), 3) * 10.0**k for n in names}
                    note = f"inputs ~1e{k}"
                elif category == "small":
                    k = rng.choice([3, 6, 9, 12])
                    point = {n: round(rng.uniform(-1, 1), 3) * 10.0**-k for n in names}
                    note = f"inputs ~1e-{k}"
                else:
                    point = {n: round(rng.uniform(-3, 3), 4) for n in names}
            try:
                graph = parse(program)
            except GradcliError:
                skipped["parse"] += 1
                continue
            if category in ("plain", "large", "small") and len(graph.inputs) < len(names):
                skipped["an input unused (regenerated)"] += 1
                continue
            point = {n: v for n, v in point.items() if n in graph.inputs}
            if set(point) != set(graph.inputs):
                skipped["unbound input"] += 1
                continue
            ev, why = evaluate_ok(program, point)
            if ev is None:
                skipped[why] += 1
                continue
            if ev.warnings and any(w.kind == "kink" for w in ev.warnings):
                skipped["exactly at a kink (kinks are measured separately)"] += 1
                continue
            ops_used = sorted({n.op.name for n in graph.nodes if n.op.name not in LEAF_OPS})
            pair = {
                "category": category, "focus": focus, "note": note,
                "program": program, "point": point, "gradient": dict(ev.gradient),
                "value": ev.value, "ops": ops_used, "depth": depth,
            }
            reference = reference_gradient(graph, point, ev.gradient, ev.values)
            pair["reference"] = reference
            pair["class"] = classify(pair, reference)
            if pair["class"] == "accurate":
                pair["id"] = len(pairs)
                pair["planted"] = planted_claims(rng, graph, ev)
                pairs.append(pair)
            else:
                pair["id"] = f"x{len(excluded)}"
                pair["planted"] = []
                excluded.append(pair)
            break
        else:
            skipped["no valid point after 40 attempts"] += 1
    return pairs, excluded, skipped


def rel(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale


def planted_claims(rng: random.Random, graph, ev) -> list[dict]:
    """Wrong claims for one pair: each {kind, claims, perturbed: [inputs]}."""
    g = ev.gradient
    names = list(g)
    nonzero = [n for n in names if g[n] != 0.0]
    out: list[dict] = []
    if nonzero:
        for size in RELATIVE:
            name = rng.choice(nonzero)
            sign = rng.choice([-1.0, 1.0])
            claims = dict(g)
            claims[name] = g[name] * (1.0 + sign * size)
            out.append({"kind": f"rel {size:.0e}".replace("e-0", "e-"), "claims": claims, "perturbed": [name]})
        name = rng.choice(nonzero)
        claims = dict(g)
        claims[name] = -g[name]
        out.append({"kind": "sign flip", "claims": claims, "perturbed": [name]})
    swappable = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if rel(g[a], g[b]) > 1e-6]
    if swappable:
        a, b = rng.choice(swappable)
        claims = dict(g)
        claims[a], claims[b] = g[b], g[a]
        out.append({"kind": "swap", "claims": claims, "perturbed": [a, b]})

    partials = ev.partials
    dep_inputs = _input_dependencies(graph)
    feeds = feeds_output(graph)

    def structural(kind: str, edits: list[tuple[int, int, float]]) -> dict | None:
        edited = list(partials)
        for node_id, arg_index, value in edits:
            row = list(edited[node_id])
            row[arg_index] = value
            edited[node_id] = tuple(row)
        adjoints = reverse_sweep(graph, edited)
        claims = {name: adjoints[graph.inputs[name]] for name in names}
        perturbed = [n for n in names if math.isfinite(claims[n]) and rel(claims[n], g[n]) > 1e-6]
        if not perturbed or not all(math.isfinite(v) for v in claims.values()):
            return None
        node = graph.nodes[edits[0][0]]
        return {"kind": kind, "claims": claims, "perturbed": perturbed,
                "node": f"{node.op.name} node {node.id} `{graph.text(node, 50)}`"}

    # A chain-rule factor dropped: f(g(x)) claimed as g'(x) (a one-argument op's partial
    # replaced by 1), or x^p claimed without p x^(p-1) (pow with a constant exponent).
    chain = []
    for node in graph.nodes:
        if not feeds[node.id] or not dep_inputs[node.id]:
            continue
        if len(node.args) == 1 and node.op.name != "id":
            chain.append([(node.id, 0, 1.0)])
        elif node.op.name == "pow" and not dep_inputs[node.args[1]] and dep_inputs[node.args[0]]:
            chain.append([(node.id, 0, 1.0)])
    rng.shuffle(chain)
    for edits in chain:
        if (found := structural("drop chain factor", edits)) is not None:
            out.append(found)
            break
    # A product-rule (or quotient-rule) term dropped: d(uv) = u'v + uv' claimed as uv' alone.
    product = []
    for node in graph.nodes:
        if feeds[node.id] and node.op.name in ("mul", "div"):
            a, b = node.args
            if dep_inputs[a] & dep_inputs[b]:
                product.append([(node.id, rng.randrange(2), 0.0)])
    rng.shuffle(product)
    for edits in product:
        if (found := structural("drop product term", edits)) is not None:
            out.append(found)
            break
    return out


def _input_dependencies(graph) -> list[frozenset]:
    deps: list[frozenset] = []
    names = {node_id: name for name, node_id in graph.inputs.items()}
    for node in graph.nodes:
        if node.id in names:
            deps.append(frozenset([names[node.id]]))
        else:
            deps.append(frozenset().union(*[deps[a] for a in node.args]) if node.args else frozenset())
    return deps


# -- kink pairs ----------------------------------------------------------------------------------------------

# (program, kink input, kink location, the other inputs)
KINK_TEMPLATES = [
    ("relu(x)", "x", 0.0, {}),
    ("abs(x)", "x", 0.0, {}),
    ("max(x, y)", "x", 0.7, {"y": 0.7}),
    ("min(x, y)", "x", -1.3, {"y": -1.3}),
    ("max(x, 0.5*x)", "x", 0.0, {}),
    ("relu(x - 1)*y + x^2", "x", 1.0, {"y": 1.7}),
    ("sigmoid(relu(x*y - 2))", "x", 2.0, {"y": 1.0}),
    ("abs(x^3 - 8)", "x", 2.0, {}),
    ("relu(log(x))", "x", 1.0, {}),
    ("max(x^2, 2*x)", "x", 2.0, {}),
    ("max(x^2, 2*x)", "x", 0.0, {}),
    ("min(exp(x), 1 + 2*x)", "x", 0.0, {}),
    ("abs(x - y)", "x", 0.3, {"y": 0.3}),
    ("max(x, y, z)", "x", 0.25, {"y": 0.25, "z": 0.25}),
    ("max(x, y) + min(x, y)", "x", -0.4, {"y": -0.4}),
    ("relu(x) + relu(-x)", "x", 0.0, {}),
    ("abs(sin(x))", "x", 0.0, {}),
    ("abs(x) * exp(x)", "x", 0.0, {}),
    ("min(abs(x), 1)", "x", 1.0, {}),
    ("min(abs(x), 1)", "x", 0.0, {}),
    ("max(relu(x), 0.5*x)", "x", 0.0, {}),
    ("abs(x)^1.5 + x", "x", 0.0, {}),
    ("relu(x - 1000)", "x", 1000.0, {}),
    ("abs(x + 1e-3) * y", "x", -1e-3, {"y": 2.0}),
    ("tanh(max(x, y) * 3) - min(x, 2*y)", "x", 0.5, {"y": 0.5}),
    ("log(1 + relu(x)) + abs(y)", "y", 0.0, {"x": 0.5}),
    ("t = relu(x)\nu = t\nu * u + abs(x)", "x", 0.0, {}),
    ("max(sin(x), cos(x))", "x", math.pi / 4, {}),
    ("min(x*y, 1)", "x", 0.5, {"y": 2.0}),
    ("abs(x) - relu(x)", "x", 0.0, {}),
]
KINK_OFFSETS = (0.0, 1e-9, -1e-9, 1e-7, -1e-7, 1e-6, -1e-6)


def make_kink_pairs() -> list[dict]:
    out = []
    for program, name, k, others in KINK_TEMPLATES:
        scale = max(1.0, abs(k))
        d = 1e-12 * scale  # one-sided limits: the gradient just past the kink on each side
        base = dict(others)
        try:
            left = evaluate(program, {**base, name: k - d}).gradient[name]
            right = evaluate(program, {**base, name: k + d}).gradient[name]
        except GradcliError:
            continue
        lo, hi = min(left, right), max(left, right)
        width = max(abs(left), abs(right), abs(right - left), 1e-300)
        for offset in KINK_OFFSETS:
            x = k + offset * scale
            point = {**base, name: x}
            ev, why = evaluate_ok(program, point)
            if ev is None:
                continue
            wrong = []
            for margin in KINK_MARGINS:
                wrong.append({"margin": margin, "side": "above", "claim": hi + margin * width})
                wrong.append({"margin": margin, "side": "below", "claim": lo - margin * width})
            out.append({"program": program, "input": name, "kink_at": k, "offset": offset * scale,
                        "point": point, "gradient": dict(ev.gradient), "left": left, "right": right,
                        "wrong": wrong})
    return out


# -- mpmath reference -----------------------------------------------------------------------------------------

def _mp_ops():
    mp = mpmath
    return {
        "id": lambda a: a, "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b, "neg": lambda a: -a, "pow": lambda a, b: mp.power(a, b),
        "sin": mp.sin, "cos": mp.cos, "tan": mp.tan, "asin": mp.asin, "acos": mp.acos, "atan": mp.atan,
        "sinh": mp.sinh, "cosh": mp.cosh, "tanh": mp.tanh, "exp": mp.exp,
        "log": lambda a, b=None: mp.log(a) if b is None else mp.log(a) / mp.log(b),
        "log2": lambda a: mp.log(a, 2), "log10": lambda a: mp.log(a, 10), "sqrt": mp.sqrt, "abs": mp.fabs,
        "sigmoid": lambda a: 1 / (1 + mp.exp(-a)), "relu": lambda a: a if a > 0 else mp.mpf(0),
        "softplus": lambda a: mp.log(1 + mp.exp(a)), "atan2": mp.atan2,
        "max": lambda *a: max(a), "min": lambda *a: min(a),
    }


def _mp_function(graph, point: dict[str, float], wrt: str):
    ops = _mp_ops()
    names = {node_id: name for name, node_id in graph.inputs.items()}

    def f(t):
        values = []
        for node in graph.nodes:
            if node.op.forward is None:
                if node.constant is not None:
                    values.append(mpmath.mpf(node.constant))
                else:
                    name = names[node.id]
                    values.append(t if name == wrt else mpmath.mpf(point[name]))
            else:
                value = ops[node.op.name](*[values[a] for a in node.args])
                if isinstance(value, mpmath.mpc):
                    raise ValueError("left the real line")
                values.append(value)
        return values[graph.output]

    return f


def reference_gradient(graph, point: dict[str, float], gradient: dict[str, float],
                       values: list[float]) -> dict[str, float | None] | None:
    """d(output)/d(input) of the real-number function at the double point; None where unresolved.

    A central difference in mpmath with a relative step of 1e-25 and again of
    1e-30, each at enough digits that the difference of f is resolved to ~20
    digits beside the largest intermediate value; where the two agree to 1e-12
    (or both are below what those digits resolve), the second is the reference.
    """
    if mpmath is None:
        return None
    big = max([1.0] + [abs(v) for v in values])
    result: dict[str, float | None] = {}
    for wrt in graph.inputs:
        x_float = point[wrt]
        g = max(abs(gradient[wrt]), 1e-300)
        estimates, floors = [], []
        for relative in (1e-25, 1e-30):
            h_float = relative * (abs(x_float) if x_float != 0 else 1.0)
            dps = int(min(1200, max(50, math.log10(big) - math.log10(g) - math.log10(h_float) + 25)))
            with mpmath.workdps(dps):
                x = mpmath.mpf(x_float)
                h = mpmath.mpf(relative) * (abs(x) if x != 0 else 1)
                f = _mp_function(graph, point, wrt)
                try:
                    estimates.append((f(x + h) - f(x - h)) / (2 * h))
                except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                    estimates.append(None)
                floors.append(mpmath.mpf(big) * mpmath.mpf(10) ** (5 - dps) / h)
        a, b = estimates
        if a is None or b is None:
            result[wrt] = None
            continue
        with mpmath.workdps(60):
            scale = (abs(values[graph.output]) + 1.0) / max(abs(x_float), 1e-300)
            if max(abs(a), abs(b)) <= max(floors) and max(floors) <= 1e-20 * scale:
                result[wrt] = 0.0  # no change of f resolved at these digits: the derivative is 0
                continue
            agree = abs(a - b) <= mpmath.mpf("1e-12") * max(abs(a), abs(b))
            value = float(b)
        result[wrt] = value if agree and math.isfinite(value) else None
    return result


def classify(pair: dict, reference: dict | None) -> str:
    """How gradcli's double-precision gradient compares with the exact derivative.

    accurate   every partial within 1e-8 relative of the reference: a correct pair
    rounding   some partial is not, but is within 1e-13 * max(|f| / |x|, largest partial)
               absolutely (a partial that is tiny next to the function's scale)
    inaccurate gradcli's gradient itself is off (underflow, cancellation, ill-conditioning)
    unresolved no stable reference (the real function oscillates below the double's resolution)
    """
    if reference is None:
        return "accurate"  # without mpmath every pair is taken as correct
    kind = "accurate"
    if any(reference.get(name) is None for name in pair["gradient"]):
        return "unresolved"
    largest = max(abs(r) for r in reference.values())
    for name, g in pair["gradient"].items():
        r = reference[name]
        if rel(g, r) <= 1e-8:
            continue
        x = abs(pair["point"][name])
        if abs(g - r) <= 1e-13 * max(abs(pair["value"]) / (x if x > 0 else 1.0), largest):
            kind = "rounding"
        else:
            return "inaccurate"
    return kind


# -- torch ----------------------------------------------------------------------------------------------------

_TORCH = None


def _torch():
    global _TORCH
    if _TORCH is None:
        import torch

        torch.set_num_threads(1)

        class Claimed(torch.autograd.Function):
            """forward: gradcli's forward pass; backward: the claimed gradient."""

            @staticmethod
            def forward(ctx, t, graph, names, claim):
                point = dict(zip(names, t.detach().tolist()))
                try:
                    out = forward_values(graph, point)[graph.output]
                except GradcliError:
                    out = math.nan
                ctx.claim = claim
                return t.new_tensor(out)

            @staticmethod
            def backward(ctx, grad):
                return grad * grad.new_tensor(ctx.claim), None, None, None

        _TORCH = (torch, Claimed)
    return _TORCH


def torch_gradcheck(graph, point: dict[str, float], claims: dict[str, float]) -> bool:
    """torch.autograd.gradcheck's verdict (float64, default tolerances) on a claimed gradient."""
    torch, Claimed = _torch()
    names = list(graph.inputs)
    t = torch.tensor([point[n] for n in names], dtype=torch.float64, requires_grad=True)
    claim = [claims[n] for n in names]
    try:
        return bool(torch.autograd.gradcheck(lambda v: Claimed.apply(v, graph, names, claim), (t,),
                                             raise_exception=False))
    except Exception:  # noqa: BLE001 - any error is a failed check to a user
        return False


# -- checking -------------------------------------------------------------------------------------------------

def _record(p) -> dict:
    return {"input": p.input, "verdict": p.verdict, "tested": p.tested, "reverse": p.reverse,
            "numeric": p.numeric, "step": p.step, "error_estimate": p.error_estimate,
            "method_used": p.method, "notes": list(p.notes)}


def run_pair(task: tuple[dict, bool]) -> dict:
    pair, use_torch = task
    graph = parse(pair["program"])
    point = pair["point"]
    out: dict = {"id": pair["id"], "correct": {}, "rtol": {}, "planted": [], "torch": None}
    for method in METHODS:
        result = check(graph, point, settings=CheckSettings(method=method))
        out["correct"][method] = [_record(p) for p in result.partials]
    for rtol in RTOLS:
        if rtol == DEFAULT_RTOL:
            continue
        result = check(graph, point, settings=CheckSettings(method="central", rtol=rtol))
        out["rtol"][repr(rtol)] = [_record(p) for p in result.partials]
    for planted in pair["planted"]:
        entry = {"kind": planted["kind"], "perturbed": planted["perturbed"], "verdicts": {}, "records": {}}
        for method in METHODS:
            result = check(graph, point, settings=CheckSettings(method=method), claims=planted["claims"],
                           claim_tolerances={})
            perturbed = [p for p in result.partials if p.input in planted["perturbed"]]
            entry["verdicts"][method] = [p.verdict for p in perturbed]
            if not any(p.verdict == "fail" for p in perturbed):
                entry["records"][method] = [_record(p) for p in perturbed]
        if planted["kind"] == "rel 1e-6":
            for rtol in RTOLS:
                if rtol == DEFAULT_RTOL:
                    continue
                result = check(graph, point, settings=CheckSettings(method="central", rtol=rtol),
                               claims=planted["claims"], claim_tolerances={})
                entry["verdicts"][f"central rtol={rtol:g}"] = [
                    p.verdict for p in result.partials if p.input in planted["perturbed"]]
        out["planted"].append(entry)
    if use_torch:
        out["torch"] = {"correct": torch_gradcheck(graph, point, pair["gradient"]),
                        "planted": [torch_gradcheck(graph, point, p["claims"]) for p in pair["planted"]]}
    return out


def run_kink(task: tuple[dict, bool]) -> dict:
    kp, use_torch = task
    graph = parse(kp["program"])
    out: dict = {"correct": {}, "wrong": []}
    for method in METHODS:
        result = check(graph, kp["point"], settings=CheckSettings(method=method))
        out["correct"][method] = [_record(p) for p in result.partials]
    for wrong in kp["wrong"]:
        claims = dict(kp["gradient"])
        claims[kp["input"]] = wrong["claim"]
        verdicts = {}
        for method in METHODS:
            result = check(graph, kp["point"], settings=CheckSettings(method=method), claims=claims,
                           claim_tolerances={})
            p = next(p for p in result.partials if p.input == kp["input"])
            verdicts[method] = p.verdict
            if method == "central":
                kink = p.kink
                wrong_record = {"verdict": p.verdict, "numeric": p.numeric,
                                "interval": [kink.low, kink.high] if kink else None}
        out["wrong"].append({**wrong, "verdicts": verdicts, "central": wrong_record,
                             "torch": torch_gradcheck(graph, kp["point"], claims) if use_torch else None})
    if use_torch:
        out["torch_correct"] = torch_gradcheck(graph, kp["point"], kp["gradient"])
    return out


# -- report ---------------------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = cpu_model()
    info = {"machine": platform.machine(), "nproc": os.cpu_count(), "cpu": cpu if cpu != "unknown" else platform.processor(),
            "python": platform.python_version(), "gradcli": gradcli.__version__,
            "mpmath": getattr(mpmath, "__version__", None)}
    # Which gradcli is measured: its commit, and whether its files differ from it.
    package = os.path.dirname(os.path.abspath(gradcli.__file__))
    info["gradcli_path"] = package
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], capture_output=True, text=True, cwd=package).stdout.strip()

        info["commit"] = git("rev-parse", "--short", "HEAD")
        if info["commit"]:
            info["uncommitted"] = bool(git("status", "--porcelain", "--", "."))
    except OSError:
        pass
    return info


def pct(n: int, d: int) -> str:
    return "-" if d == 0 else f"{100.0 * n / d:.1f}% ({n}/{d})"


def summarise(pairs, results, excluded, excluded_results, kink_pairs, kink_results, use_torch) -> dict:
    summary: dict = {}
    # correct pairs, per method
    n_partials = sum(len(p["gradient"]) for p in pairs)
    correct = {}
    false_failures = []
    for method in METHODS:
        verdicts = Counter()
        pairs_failed = 0
        for pair, res in zip(pairs, results):
            records = res["correct"][method]
            verdicts.update(r["verdict"] for r in records)
            bad = [r for r in records if r["verdict"] in ("fail", "non-finite")]
            if bad:
                pairs_failed += 1
            for r in bad:
                ref = (pair.get("reference") or {}).get(r["input"])
                false_failures.append({"method": method, "pair": pair["id"], "category": pair["category"],
                                       "note": pair["note"], "program": pair["program"], "point": pair["point"],
                                       **r, "reference": ref})
        correct[method] = {"partials": n_partials, "pairs": len(pairs), "pairs_failed": pairs_failed,
                           "verdicts": dict(verdicts),
                           "false_failures": verdicts["fail"] + verdicts["non-finite"],
                           "uncertain": verdicts["uncertain"], "kink": verdicts["kink"]}
    summary["correct"] = correct
    summary["false_failures"] = false_failures
    # per category, central/richardson/complex false failures
    by_category: dict = defaultdict(lambda: Counter())
    for pair, res in zip(pairs, results):
        c = by_category[pair["category"]]
        c["pairs"] += 1
        c["partials"] += len(pair["gradient"])
        for method in METHODS:
            records = res["correct"][method]
            c[f"{method} false"] += sum(r["verdict"] in ("fail", "non-finite") for r in records)
            c[f"{method} uncertain"] += sum(r["verdict"] == "uncertain" for r in records)
    summary["by_category"] = {k: dict(v) for k, v in by_category.items()}
    by_situation: dict = defaultdict(lambda: Counter())
    for pair, res in zip(pairs, results):
        situation = pair["note"] or pair["category"]
        c = by_situation[situation]
        c["pairs"] += 1
        for method in METHODS:
            c[method] += sum(r["verdict"] in ("fail", "non-finite") for r in res["correct"][method])
        if res["torch"] is not None:
            c["torch"] += res["torch"]["correct"] is False
    summary["false_by_situation"] = {k: dict(v) for k, v in sorted(by_situation.items())}
    # planted
    planted: dict = {}
    misses = []
    for kind in PLANTED_KINDS:
        row = {}
        for method in METHODS:
            total = caught = uncertain = passed = clean_total = clean_caught = 0
            for pair, res in zip(pairs, results):
                for entry in res["planted"]:
                    if entry["kind"] != kind:
                        continue
                    v = entry["verdicts"][method]
                    total += 1
                    # "clean": the correct gradient of the same partials was not failed, so a
                    # fail here says something about the claim and not only about the point
                    clean = not any(r["verdict"] in ("fail", "non-finite") for r in res["correct"][method]
                                    if r["input"] in entry["perturbed"])
                    clean_total += clean
                    clean_caught += clean and "fail" in v
                    if "fail" in v:
                        caught += 1
                    elif "uncertain" in v:
                        uncertain += 1
                    else:
                        passed += 1
                        misses.append({"kind": kind, "method": method, "pair": pair["id"],
                                       "category": pair["category"], "program": pair["program"],
                                       "point": pair["point"], "records": entry["records"].get(method)})
            row[method] = {"total": total, "caught": caught, "uncertain": uncertain, "passed": passed,
                           "clean_total": clean_total, "clean_caught": clean_caught}
        planted[kind] = row
    summary["planted"] = planted
    summary["planted_misses"] = misses
    # rtol study
    rtol_rows = {}
    for rtol in RTOLS:
        false = total = 0
        caught = n_planted = unc = 0
        for pair, res in zip(pairs, results):
            records = res["correct"]["central"] if rtol == DEFAULT_RTOL else res["rtol"][repr(rtol)]
            total += len(records)
            false += sum(r["verdict"] in ("fail", "non-finite") for r in records)
            for entry in res["planted"]:
                if entry["kind"] != "rel 1e-6":
                    continue
                key = "central" if rtol == DEFAULT_RTOL else f"central rtol={rtol:g}"
                n_planted += 1
                caught += "fail" in entry["verdicts"][key]
                unc += "fail" not in entry["verdicts"][key] and "uncertain" in entry["verdicts"][key]
        plain_false = sum(r["verdict"] in ("fail", "non-finite")
                          for pair, res in zip(pairs, results) if pair["category"] == "plain"
                          for r in (res["correct"]["central"] if rtol == DEFAULT_RTOL else res["rtol"][repr(rtol)]))
        rtol_rows[f"{rtol:g}"] = {"partials": total, "false_failures": false, "false_failures_plain": plain_false,
                                  "planted_1e-6": n_planted, "caught_1e-6": caught, "uncertain_1e-6": unc}
    # How far central's own estimate is from a correct gradient where central decided alone
    errors = sorted(rel(r["tested"], r["numeric"]) for res in results for r in res["correct"]["central"]
                    if r["method_used"] == "central" and r["numeric"] is not None and r["verdict"] == "pass")
    escalated = sum(r["method_used"] not in ("central", "one-sided") for res in results for r in res["correct"]["central"])

    def quantile(q: float) -> float:
        return errors[min(len(errors) - 1, int(q * len(errors)))] if errors else math.nan

    summary["central_errors"] = {"decided_by_central": len(errors), "escalated": escalated,
                                 "median": quantile(0.5), "p90": quantile(0.9), "p99": quantile(0.99),
                                 "max": errors[-1] if errors else math.nan}
    summary["rtol"] = rtol_rows
    # pairs set aside: gradcli's own gradient not accurate to 1e-8, or no stable reference
    aside: dict = {}
    for pair, res in zip(excluded, excluded_results):
        row = aside.setdefault(pair["class"], {"pairs": 0, "partials": 0, **{m: Counter() for m in METHODS},
                                               "list": []})
        row["pairs"] += 1
        row["partials"] += len(pair["gradient"])
        for method in METHODS:
            row[method].update(r["verdict"] for r in res["correct"][method])
        worst = max(pair["gradient"], key=lambda n: rel(pair["gradient"][n], (pair["reference"] or {}).get(n) or 0.0))
        row["list"].append({"program": pair["program"], "point": pair["point"], "note": pair["note"],
                            "input": worst, "reverse": pair["gradient"][worst],
                            "reference": (pair["reference"] or {}).get(worst),
                            "verdicts": {m: [r["verdict"] for r in res["correct"][m]] for m in METHODS},
                            "torch_ok": res["torch"]["correct"] if res["torch"] else None})
    for row in aside.values():
        for method in METHODS:
            row[method] = dict(row[method])
    summary["set_aside"] = aside
    # kinks
    kink_summary: dict = {"points": len(kink_pairs), "partials": sum(len(k["gradient"]) for k in kink_pairs)}
    kink_false = []
    for method in METHODS:
        verdicts = Counter()
        for kp, res in zip(kink_pairs, kink_results):
            for r in res["correct"][method]:
                verdicts[r["verdict"]] += 1
                if r["verdict"] in ("fail", "non-finite"):
                    kink_false.append({"method": method, "program": kp["program"], "point": kp["point"], **r})
        kink_summary[method] = dict(verdicts)
    kink_summary["false_failures"] = kink_false
    wrong_rows = {}
    kink_misses = []
    for margin in KINK_MARGINS:
        row = {}
        for method in METHODS:
            total = caught = 0
            for kp, res in zip(kink_pairs, kink_results):
                for w in res["wrong"]:
                    if w["margin"] != margin:
                        continue
                    total += 1
                    caught += w["verdicts"][method] == "fail"
                    if method == "central" and w["verdicts"][method] != "fail":
                        kink_misses.append({"program": kp["program"], "point": kp["point"], "input": kp["input"],
                                            "margin": margin, "side": w["side"], "claim": w["claim"],
                                            "left": kp["left"], "right": kp["right"], **w["central"]})
            row[method] = {"total": total, "caught": caught}
        if use_torch:
            total = caught = 0
            for res in kink_results:
                for w in res["wrong"]:
                    if w["margin"] == margin:
                        total += 1
                        caught += w["torch"] is False
            row["torch"] = {"total": total, "caught": caught}
        wrong_rows[f"{margin:g}"] = row
    kink_summary["wrong"] = wrong_rows
    kink_summary["misses_central"] = kink_misses
    if use_torch:
        kink_summary["torch_false_failures"] = sum(res["torch_correct"] is False for res in kink_results)
    summary["kinks"] = kink_summary
    # torch
    if use_torch:
        t_correct = sum(res["torch"]["correct"] is False for res in results)
        t_planted: dict = {}
        for kind in PLANTED_KINDS:
            total = caught = clean_total = clean_caught = 0
            for pair, res in zip(pairs, results):
                for planted, verdict in zip(pair["planted"], res["torch"]["planted"]):
                    if planted["kind"] == kind:
                        total += 1
                        caught += verdict is False
                        clean = res["torch"]["correct"] is True
                        clean_total += clean
                        clean_caught += clean and verdict is False
            t_planted[kind] = {"total": total, "caught": caught, "clean_total": clean_total,
                               "clean_caught": clean_caught}
        t_false_list = [{"pair": p["id"], "category": p["category"], "note": p["note"], "program": p["program"],
                         "point": p["point"]} for p, res in zip(pairs, results) if res["torch"]["correct"] is False]
        t_by_cat = Counter(p["category"] for p, res in zip(pairs, results) if res["torch"]["correct"] is False)
        summary["torch"] = {"pairs": len(pairs), "false_failures": t_correct, "planted": t_planted,
                            "false_by_category": dict(t_by_cat), "false_list": t_false_list}
    # coverage
    summary["coverage"] = {op: sum(op in p["ops"] for p in pairs) for op in GEN_OPS}
    summary["inputs"] = dict(Counter(len(p["gradient"]) for p in pairs))
    summary["categories"] = dict(Counter(p["category"] for p in pairs))
    return summary


def print_report(summary: dict, info: dict, meta: dict) -> None:
    p = print
    p(f"gradcli check accuracy — {meta['pairs']} correct pairs (+{meta['set_aside']} set aside), seed {meta['seed']}, "
      f"{meta['seconds']:.0f} s ({meta['generation_seconds']:.0f} s generating)")
    p(f"machine: {info['machine']}, {info['nproc']} cores, {info['cpu']}, Python {info['python']}, "
      f"gradcli {info['gradcli']} from {info['gradcli_path']}"
      + (f" at commit {info['commit']}" if info.get("commit") else " (not in a git work tree)")
      + (" WITH UNCOMMITTED CHANGES" if info.get("uncommitted") else ""))
    p(f"categories: {summary['categories']}; inputs per pair: {summary['inputs']}; skipped while generating: "
      f"{meta['skipped']}")
    cov = summary["coverage"]
    p("programs per op: " + ", ".join(f"{op} {n}" for op, n in cov.items()))
    p("")
    p("Correct pairs: gradcli's reverse-mode gradient checked (false failure = fail or non-finite)")
    p(f"{'method':<12}{'partials':>9}  {'false failures':<22}{'pairs with one':<20}{'uncertain':<22}{'kink':>5}")
    for method, row in summary["correct"].items():
        p(f"{method:<12}{row['partials']:>9}  {pct(row['false_failures'], row['partials']):<22}"
          f"{pct(row['pairs_failed'], row['pairs']):<20}{pct(row['uncertain'], row['partials']):<22}{row['kink']:>5}")
    if "torch" in summary:
        t = summary["torch"]
        p(f"{'torch gradcheck':<21}  {pct(t['false_failures'], t['pairs'])} of pairs fail "
          f"(by category: {t['false_by_category']})")
    p("")
    p("False failures (fail/non-finite) by category: " + "; ".join(
        f"{cat} ({row['pairs']} pairs, {row['partials']} partials): "
        + ", ".join(f"{m} {row.get(m + ' false', 0)}" for m in METHODS)
        for cat, row in summary["by_category"].items()))
    p("False failures by situation (partials per method; torch: pairs; only situations with one):")
    for situation, row in summary["false_by_situation"].items():
        if any(row.get(m, 0) for m in METHODS + ("torch",)):
            p(f"  {situation:<52} {row['pairs']:>4} pairs  " + "  ".join(
                f"{m} {row.get(m, 0)}" for m in METHODS + (("torch",) if "torch" in summary else ())))
    p("Uncertain by category: " + "; ".join(
        f"{cat}: " + ", ".join(f"{m} {row.get(m + ' uncertain', 0)}" for m in METHODS)
        for cat, row in summary["by_category"].items()))
    p("")
    p("Planted wrong claims: caught (verdict fail) / uncertain / passed (missed), per method")
    header = f"{'claim':<19}" + "".join(f"{m:<26}" for m in METHODS) + ("torch gradcheck" if "torch" in summary else "")
    p(header)
    for kind, row in summary["planted"].items():
        cells = ""
        for method in METHODS:
            r = row[method]
            cells += f"{pct(r['caught'], r['total']):<17}{r['uncertain']:>3}u {r['passed']:>3}p  "
        if "torch" in summary:
            t = summary["torch"]["planted"][kind]
            cells += pct(t["caught"], t["total"])
        p(f"{kind:<19}{cells}")
    p("The same, counting only pairs where the checker passed the correct gradient of those partials:")
    for kind, row in summary["planted"].items():
        cells = "".join(f"{pct(row[m]['clean_caught'], row[m]['clean_total']):<26}" for m in METHODS)
        if "torch" in summary:
            t = summary["torch"]["planted"][kind]
            cells += pct(t["clean_caught"], t["clean_total"])
        p(f"{kind:<19}{cells}")
    p("")
    p("rtol study (central): false failures on correct partials, catches of a 1e-6 relative error")
    p(f"{'rtol':<8}{'false failures':<24}{'in plain pairs':>15}  {'1e-6 caught':<24}{'1e-6 uncertain':>14}")
    for rtol, row in summary["rtol"].items():
        p(f"{rtol:<8}{pct(row['false_failures'], row['partials']):<24}{row['false_failures_plain']:>15}  "
          f"{pct(row['caught_1e-6'], row['planted_1e-6']):<24}{row['uncertain_1e-6']:>14}")
    ce = summary["central_errors"]
    p(f"relative error |reverse - central| where central passed on its own ({ce['decided_by_central']} partials; "
      f"{ce['escalated']} escalated): median {ce['median']:.1e}, p90 {ce['p90']:.1e}, p99 {ce['p99']:.1e}, "
      f"max {ce['max']:.1e}")
    p("")
    k = summary["kinks"]
    p(f"Kinks: {k['points']} points ({k['partials']} partials) of {len(KINK_TEMPLATES)} programs, offsets "
      f"{', '.join(f'{o:g}' for o in KINK_OFFSETS)} (times max(1,|kink|))")
    for method in METHODS:
        p(f"  {method:<11} verdicts on gradcli's subgradient: {k[method]}")
    if "torch_false_failures" in k:
        p(f"  torch gradcheck fails gradcli's subgradient at {pct(k['torch_false_failures'], k['points'])} points")
    p("  wrong subgradient outside the one-sided interval by margin * max(|L|,|R|,|R-L|): caught")
    for margin, row in k["wrong"].items():
        p(f"  margin {margin:<6} " + "  ".join(f"{m} {pct(r['caught'], r['total'])}" for m, r in row.items()))
    p("")
    for cls, row in summary["set_aside"].items():
        p(f"Set aside, gradcli's own gradient {cls} ({row['pairs']} pairs, {row['partials']} partials): verdicts "
          + "; ".join(f"{m} {row[m]}" for m in METHODS))
        for item in row["list"]:
            p(f"  d/d{item['input']} of {item['program']!r} at {item['point']} ({item['note']}): reverse "
              f"{item['reverse']!r}, exact {item['reference']!r}; central {item['verdicts']['central']}, complex "
              f"{item['verdicts']['complex']}" + (f", torch ok={item['torch_ok']}" if item["torch_ok"] is not None else ""))
    p("")
    ff = summary["false_failures"]
    p(f"Every false failure ({len(ff)}):")
    for f in ff:
        p(f"  [{f['method']}] pair {f['pair']} ({f['category']}: {f['note']}) d/d{f['input']} of {f['program']!r} "
          f"at {f['point']}: reverse {f['reverse']!r}, numeric {f['numeric']!r} "
          f"(by {f['method_used']}, step {f['step']!r}, error estimate {f['error_estimate']!r}), "
          f"reference {f['reference']!r}; {'; '.join(f['notes'])}")
    if k["false_failures"]:
        p(f"Every false failure at kinks ({len(k['false_failures'])}):")
        for f in k["false_failures"]:
            p(f"  [{f['method']}] d/d{f['input']} of {f['program']!r} at {f['point']}: {f['verdict']}, "
              f"reverse {f['reverse']!r}, numeric {f['numeric']!r}")
    misses = summary["planted_misses"]
    p(f"Planted claims passed (missed outright, not even uncertain): {len(misses)}")
    for m in misses[:60]:
        recs = m["records"] or []
        detail = "; ".join(f"d/d{r['input']} claimed {r['tested']!r} true {r['reverse']!r} numeric {r['numeric']!r}"
                           f" err {r['error_estimate']!r} by {r['method_used']}" for r in recs)
        p(f"  [{m['method']}] {m['kind']}: {m['program']!r} at {m['point']}: {detail}")
    if len(misses) > 60:
        p(f"  ... {len(misses) - 60} more in --json-out")
    km = k["misses_central"]
    p(f"Wrong subgradients not caught by central ({len(km)}):")
    for m in km:
        p(f"  margin {m['margin']:g} {m['side']}: d/d{m['input']} of {m['program']!r} at {m['point']}: claim "
          f"{m['claim']!r}, L {m['left']!r}, R {m['right']!r}, verdict {m['verdict']}, interval {m['interval']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=500, help="correct (program, point) pairs (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", metavar="FILE", help="write the summary, every failure and miss as JSON")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--no-torch", action="store_true", help="skip torch.autograd.gradcheck even if importable")
    args = parser.parse_args(argv)

    use_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    start = time.perf_counter()
    pairs, excluded, skipped = make_pairs(args.pairs, args.seed)
    generated = time.perf_counter() - start
    kink_pairs = make_kink_pairs()
    tasks = [(pair, use_torch) for pair in pairs + excluded]
    kink_tasks = [(kp, use_torch) for kp in kink_pairs]
    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            all_results = pool.map(run_pair, tasks, chunksize=4)
            kink_results = pool.map(run_kink, kink_tasks, chunksize=4)
    else:
        all_results = [run_pair(t) for t in tasks]
        kink_results = [run_kink(t) for t in kink_tasks]
    results, excluded_results = all_results[: len(pairs)], all_results[len(pairs):]
    seconds = time.perf_counter() - start
    info = machine()
    if use_torch:
        import torch

        info["torch"] = torch.__version__
    summary = summarise(pairs, results, excluded, excluded_results, kink_pairs, kink_results, use_torch)
    meta = {"pairs": len(pairs), "seed": args.seed, "seconds": seconds, "generation_seconds": generated,
            "set_aside": len(excluded), "skipped": dict(skipped),
            "torch": info.get("torch")}
    print_report(summary, info, meta)
    if use_torch:
        print(f"\ntorch {info['torch']}: torch.autograd.gradcheck(float64, eps=1e-6, atol=1e-5, rtol=1e-3)")
    else:
        print("\ntorch not importable: no torch.autograd.gradcheck comparison")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"machine": info, "meta": meta, "summary": summary, "pairs": pairs, "set_aside": excluded,
                       "kink_pairs": kink_pairs},
                      f, indent=1, default=repr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
