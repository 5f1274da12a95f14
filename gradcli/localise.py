"""Per-node localisation: every local partial of the op table checked on its own.

`gradcli check --nodes` moves one argument of one node at a time and
differentiates that op alone, so a wrong rule is named by node and op
instead of showing up as "output 0 with respect to input 1".

At order 2 (`check --order 2 --nodes`) the rule checked is the derivative of
each partial rule along each argument, as forward-over-reverse derives it by
running the rule on dual numbers (`dual.dual_partials`), against differences
of the partial rule itself: a rule that loses the dual number's tangent (a
float() or a math function where `m.` belongs) is named here.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

from .check import CheckSettings, Verification, _verify
from .evaluation import Evaluation
from .graph import depends_on, feeds_output
from .ops import Op


@dataclass(kw_only=True)
class NodeCheck(Verification):
    node: int
    op: str
    argument: int  # position among the node's arguments
    argument_node: int
    # Order 2: the partial rule differentiated (d/d argument of d op/d partial), by argument position.
    partial: int | None = None
    partial_node: int | None = None


class _AlongArgument:
    """One op as a function of one of its arguments, the others held at the point."""

    def __init__(self, op: Op, args: list[float], index: int):
        self.op, self.args, self.index = op, args, index
        self.x = args[index]

    def _moved(self, x):
        args = list(self.args)
        args[self.index] = x
        return args

    def __call__(self, x: float) -> float | None:
        try:
            value = self.op.forward(*self._moved(x))
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        return value if math.isfinite(value) else None

    def complex_derivative(self, h: float) -> float | None:
        args = [complex(a) for a in self.args]
        args[self.index] = complex(self.x, h)
        try:
            value = complex(self.op.complex_function()(*args)).imag / h
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return None
        return value if cmath.isfinite(value) else None


class _PartialAlongArgument(_AlongArgument):
    """One of an op's partial rules as a function of one argument: its differences check the rule's derivative."""

    complex_step_applies = False  # the rules run on floats (math), not on complex numbers

    def __init__(self, op: Op, args: list[float], index: int, partial: int):
        super().__init__(op, args, index)
        self.partial = partial

    def __call__(self, x: float) -> float | None:
        args = self._moved(x)
        try:
            value = self.op.forward(*args)
            result = self.op.partials(tuple(args), value)[self.partial] if math.isfinite(value) else math.nan
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        return result if math.isfinite(result) else None

    def complex_derivative(self, h: float) -> float | None:
        return None


def _rule_derivatives(op: Op, args: list[float], value: float, partials, index: int) -> list[float]:
    """d(partial rule)/d(argument `index`) of each partial, as the Hessian derives them: on dual numbers."""
    from .dual import Dual, dual_partials, tangent_of

    dual_args = tuple(Dual(a, 1.0 if k == index else 0.0) for k, a in enumerate(args))
    return [tangent_of(p) for p in dual_partials(op, dual_args, Dual(value, partials[index]))]


class _ArgumentProbe:
    """Kinks of one op along one argument: its own kink() and branch()."""

    def __init__(self, f: _AlongArgument):
        self.f = f
        self.non_analytic = [] if f.op.analytic else [f.op.name]

    def _piece(self, x: float):
        return self.f.op.branch(self.f._moved(x)) if self.f.op.branch else None

    def exact_kinks(self) -> list[tuple[int, str]]:
        description = self.f.op.kink(self.f.args) if self.f.op.kink else None
        return [(-1, description)] if description else []

    def kinks_within(self, reach: float) -> list[tuple[int, str]]:
        f = self.f
        found = []
        description = f.op.kink(f.args) if f.op.kink else None
        if description:
            found.append((-1, description))
        if not self.same_branch(reach):
            found.append((-1, f"{f.op.name} changes branch within the step"))
        return found

    def same_branch(self, h: float) -> bool:
        here = self._piece(self.f.x)
        return all(
            self._piece(x) == here for x in (self.f.x - h, self.f.x + h) if self.f(x) is not None
        )


def check_nodes(evaluation: Evaluation, settings: CheckSettings | None = None, order: int = 1) -> list[NodeCheck]:
    """Every edge's local partial against a numerical derivative of its op alone.

    Order 2: every partial rule's derivative along every argument (the second
    derivatives of the op) against a numerical derivative of the rule alone.
    """
    settings = settings or CheckSettings()
    graph = evaluation.graph
    on_path = feeds_output(graph)  # any output
    active = depends_on(graph)
    results = []
    for node in graph.nodes:
        if not node.args or not on_path[node.id]:
            continue
        args = [evaluation.values[a] for a in node.args]
        partials = evaluation.partials[node.id]
        for index, (arg_id, partial) in enumerate(zip(node.args, partials)):
            if not active[arg_id]:
                continue  # an edge from constants carries no gradient
            if order == 1:
                cases = [(None, _AlongArgument(node.op, args, index), partial)]
            else:
                derivatives = _rule_derivatives(node.op, args, evaluation.values[node.id], partials, index)
                cases = [
                    (rule, _PartialAlongArgument(node.op, args, index, rule), derivatives[rule])
                    for rule, rule_arg in enumerate(node.args)
                    if active[rule_arg]
                ]
            for rule, f, tested in cases:
                result = NodeCheck(
                    tested=tested, node=node.id, op=node.op.name, argument=index, argument_node=arg_id,
                    partial=rule, partial_node=None if rule is None else node.args[rule],
                )
                _verify(result, f, _ArgumentProbe(f), settings, settings.atol)
                if result.kink is not None:
                    result.kink.nodes = [(node.id, d) for _, d in result.kink.nodes]
                results.append(result)
    return results
