"""The point a program is evaluated at: `NAME=VALUE` pairs, bound to the graph's inputs."""

from __future__ import annotations

import math
import re
from typing import Iterable, Mapping

from .errors import BindingError, closest
from .graph import Graph, format_number
from .ops import CONSTANTS, FUNCTIONS

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def parse_assignments(pairs: Iterable[str], what: str = "value") -> dict[str, float]:
    """Parse `NAME=VALUE` strings, e.g. from the command line, into a dict."""
    return {name: value for name, (value, _) in parse_assignment_texts(pairs, what).items()}


def parse_assignment_texts(pairs: Iterable[str], what: str = "value") -> dict[str, tuple[float, str]]:
    """Like parse_assignments, keeping each number's text (its digits tell its precision)."""
    point: dict[str, tuple[float, str]] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        problem = None
        if not sep:
            problem = "it has no '='"
        elif not name:
            problem = "the name before '=' is missing"
        elif not _NAME.match(name):
            problem = f"`{name}` is not a name (letters, digits and _, not starting with a digit)"
        elif not text.strip():
            problem = f"the number after '{name}=' is missing"
        elif "=" in text:
            problem = "it has more than one '='"
        if problem is None:
            try:
                value = float(text)
            except ValueError:
                problem = f"{text.strip()!r} is not a number"
        if problem is not None:
            raise BindingError(
                f"cannot read the {what} {pair!r}: {problem}",
                hint="write NAME=NUMBER, e.g. x=2 or y=-0.5e-3",
            )
        if name in point:
            raise BindingError(f"{name} is given twice", hint=f"give one {what} for {name}")
        point[name] = (value, text.strip())
    return point


def parse_weights(text: str, what: str) -> dict[str, float]:
    """`x=1,y=0.5` (a --direction) or `u=1,v=2` (a --cotangent): name -> weight.

    Commas inside parentheses do not split, so an output written as
    `max(x, y)` can be named. Each name is checked by the caller against the
    program's inputs or outputs.
    """
    pairs, depth, start = [], 0, 0
    for position, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            pairs.append(text[start:position])
            start = position + 1
    pairs.append(text[start:])
    weights: dict[str, float] = {}
    for pair in pairs:
        name, sep, number = pair.rpartition("=")
        name = name.strip()
        problem = None
        if not sep or not name:
            problem = "each part must be NAME=NUMBER"
        elif name in weights:
            problem = f"{name} is given twice"
        else:
            try:
                weights[name] = float(number)
            except ValueError:
                problem = f"{number.strip()!r} is not a number"
            else:
                if not math.isfinite(weights[name]):
                    problem = f"the weight of {name} is {number.strip()}, not a finite number"
        if problem is not None:
            raise BindingError(f"cannot read {what} {text!r}: {problem}",
                               hint=f"write {what} NAME=NUMBER,NAME=NUMBER, e.g. {what} x=1,y=0.5")
    return weights


def bind(graph: Graph, values: Mapping[str, float], partial: bool = False) -> tuple[dict[str, float], list[str]]:
    """Check `values` against the graph's inputs: the point, in input order, and warnings.

    partial=True: inputs without a value are allowed (batch runs take them from a file).
    """
    for name in values:
        if name in CONSTANTS:
            raise BindingError(
                f"`{name}` is the constant {CONSTANTS[name]!r} and cannot be given a value",
                hint=f"rename the variable in the program (e.g. {name}_) and give that a value",
            )
    point: dict[str, float] = {}
    missing = []
    for name in graph.inputs:
        if name in values:
            point[name] = float(values[name])
        else:
            missing.append(name)
    unused = [name for name in values if name not in graph.inputs]
    if missing and not partial:
        hints = []
        for name in missing[:MAX_NAMED]:
            close = closest(name, unused)
            if close:
                hints.append(f"did you mean {close} for {name}?")
            close_function = closest(name, FUNCTIONS, cutoff=0.8)
            if close_function:
                hints.append(f"if `{name}` should be the function {close_function}, call it: {close_function}(x)")
        hints.append("give every input a value: " + " ".join(f"{name}=..." for name in missing[:MAX_NAMED])
                     + (f" and {len(missing) - MAX_NAMED} more" if len(missing) > MAX_NAMED else ""))
        raise BindingError(
            "missing value" + ("s" if len(missing) > 1 else "") + " for " + _some(missing),
            hint="; ".join(hints),
            details={"missing": missing},
        )
    for name, value in point.items():
        if not math.isfinite(value):
            raise BindingError(
                f"the value of {name} is {value!r}; gradcli needs finite numbers",
                hint=f"give {name} a finite value",
            )
    warnings = [
        f"{name}={format_number(float(values[name]))} is not used: the program has no input named {name}"
        + (f" (did you mean {close}?)" if (close := closest(name, graph.inputs)) else "")
        for name in unused[:MAX_NAMED]
    ]
    if len(unused) > MAX_NAMED:
        warnings.append(f"{len(unused) - MAX_NAMED} more values are not used: {_some(unused[MAX_NAMED:])}")
    return point, warnings


# Names listed one by one (each with a "did you mean", which compares it with every
# input: quadratic, 35 s for 560 unused names against 9,440 inputs) before the rest is counted.
MAX_NAMED = 10


def _some(names: list[str]) -> str:
    """The first MAX_NAMED names, and how many more."""
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def parse_claims_json(text: str, source_name: str) -> dict[str, tuple[float, str]]:
    """Claimed gradients from JSON: {name: number}, or gradcli's own output with a "gradient" object.

    Numbers keep their text, so a claim printed to 4 decimals is judged to 4 decimals.
    """
    import json

    try:
        data = json.loads(text, parse_float=lambda t: ("float", t), parse_int=lambda t: ("float", t))
    except json.JSONDecodeError as exc:
        raise BindingError(
            f"cannot read the claims in {source_name}: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint='claims are a JSON object of numbers, e.g. {"x": 2.0595, "y": 1.5922}',
        ) from None
    if isinstance(data, dict) and isinstance(data.get("gradient"), dict):
        data = data["gradient"]
    if not isinstance(data, dict):
        raise BindingError(
            f"the claims in {source_name} are not a JSON object",
            hint='claims are a JSON object of numbers, e.g. {"x": 2.0595, "y": 1.5922}',
        )
    claims = {}
    for name, value in data.items():
        if not (isinstance(value, tuple) and value[0] == "float"):
            raise BindingError(
                f"the claim for {name!r} in {source_name} is not a number: {value!r}",
                hint="each claim is a number; non-finite derivatives cannot be checked",
            )
        claims[name] = (float(value[1]), value[1])
    return claims
