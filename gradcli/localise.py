"""Per-node localisation: every local partial of the op table checked on its own.

`gradcli check --nodes` moves one argument of one node at a time and
differentiates that op alone, so a wrong rule is named by node and op
instead of showing up as "output 0 with respect to input 1".
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


def check_nodes(evaluation: Evaluation, settings: CheckSettings | None = None) -> list[NodeCheck]:
    """Every edge's local partial against a numerical derivative of its op alone."""
    settings = settings or CheckSettings()
    graph = evaluation.graph
    on_path = feeds_output(graph)
    active = depends_on(graph)
    results = []
    for node in graph.nodes:
        if not node.args or not on_path[node.id]:
            continue
        args = [evaluation.values[a] for a in node.args]
        for index, (arg_id, partial) in enumerate(zip(node.args, evaluation.partials[node.id])):
            if not active[arg_id]:
                continue  # an edge from constants carries no gradient
            f = _AlongArgument(node.op, args, index)
            result = NodeCheck(tested=partial, node=node.id, op=node.op.name, argument=index, argument_node=arg_id)
            _verify(result, f, _ArgumentProbe(f), settings, settings.atol)
            if result.kink is not None:
                result.kink.nodes = [(node.id, d) for _, d in result.kink.nodes]
            results.append(result)
    return results
