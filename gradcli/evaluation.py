"""Evaluating a program at a point: values, local partials and gradients, as plain data.

`evaluate()` is the core function behind `gradcli eval` and the Python API.
It never prints; renderers turn an `Evaluation` into tables or JSON.
"""

from __future__ import annotations

from itertools import chain, compress
from math import isfinite
from operator import not_
from typing import Mapping, NamedTuple

from .errors import BindingError, closest
from .graph import (
    Graph,
    bulk_allocation,
    depends_on_inputs,
    feeds_output,
    kinks,
    reverse_sweep,
    tangent_sweep,
    values_and_partials,
)
from .point import bind

MODES = ("reverse", "forward")


class GradWarning(NamedTuple):
    kind: str  # "unused-value", "kink", "non-finite-partial", "non-finite-gradient"
    message: str
    node: int | None = None


class Evaluation:
    """Everything `evaluate()` computed, indexed by node id. (A plain class: see graph.Node.)"""

    def __init__(
        self,
        graph: Graph,
        point: dict[str, float],
        mode: str,
        values: list[float],
        partials: list[tuple[float, ...]],
        adjoints: list[float] | None,  # reverse mode only
        gradient: dict[str, float],
        sweeps: int,  # how many passes over the graph the gradient took
        tangents: dict[str, list[float]] | None = None,  # --wrt name -> per-node tangent
        warnings: list[GradWarning] | None = None,
    ):
        self.graph = graph
        self.point = point
        self.mode = mode
        self.values = values
        self.partials = partials
        self.adjoints = adjoints
        self.gradient = gradient
        self.sweeps = sweeps
        self.tangents = tangents if tangents is not None else {}
        self.warnings = warnings if warnings is not None else []

    @property
    def value(self) -> float:
        return self.values[self.graph.output]


def evaluate(
    program: str | Graph,
    values: Mapping[str, float] | None = None,
    *,
    mode: str = "reverse",
    wrt: str | None = None,
) -> Evaluation:
    """Evaluate `program` at `values` and differentiate its output.

    mode="reverse": one backward sweep gives every adjoint and the gradient.
    mode="forward": one tangent sweep per input gives the same gradient.
    wrt=NAME: also the tangent d(node)/d(NAME) of every node.
    """
    from .parser import parse

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    graph = parse(program) if isinstance(program, str) else program
    point, unused = bind(graph, values or {})
    if wrt is not None and wrt not in graph.inputs:
        close = closest(wrt, graph.inputs)
        raise BindingError(
            f"--wrt {wrt}: the program has no input named {wrt}",
            hint=(f"did you mean {close}? " if close else "")
            + "inputs: " + (", ".join(graph.inputs) or "none"),
        )
    with bulk_allocation():
        node_values, partials = values_and_partials(graph, point)

        tangents: dict[str, list[float]] = {}
        if mode == "reverse":
            adjoints = reverse_sweep(graph, partials)
            gradient = {name: adjoints[node_id] for name, node_id in graph.inputs.items()}
            sweeps = 1
        else:
            adjoints = None
            gradient = {}
            for name in graph.inputs:
                tangents[name] = tangent_sweep(graph, partials, name)
                gradient[name] = tangents[name][graph.output]
            sweeps = len(graph.inputs)
        if wrt is not None and wrt not in tangents:
            tangents[wrt] = tangent_sweep(graph, partials, wrt)
        kept = {wrt: tangents[wrt]} if wrt is not None else {}

        evaluation = Evaluation(graph, point, mode, node_values, partials, adjoints, gradient, sweeps, kept)
        evaluation.warnings = [GradWarning("unused-value", message) for message in unused]
        evaluation.warnings += _differentiability_warnings(evaluation)
    return evaluation


def _differentiability_warnings(evaluation: Evaluation) -> list[GradWarning]:
    """Kinks and non-finite partials on the paths from the inputs to the output, in node order."""
    graph = evaluation.graph
    nodes, partials = graph.nodes, evaluation.partials
    found = kinks(graph, evaluation.values)
    non_finite = []  # (node, argument, partial)
    if not all(map(isfinite, chain.from_iterable(partials))):  # rare: find them
        # sum() of a node's partials is not finite if one is not (or, harmlessly, if it overflows).
        for node_id in compress(range(len(partials)), map(not_, map(isfinite, map(sum, partials)))):
            for arg, partial in zip(nodes[node_id].args, partials[node_id]):
                # The partial towards a constant (d/dp of x^2 at x < 0) never reaches the gradient.
                if not isfinite(partial) and nodes[arg].op.name != "const":
                    non_finite.append((node_id, arg, partial))
    relevant = _relevant(evaluation, [node_id for node_id, _ in found] + [n for edge in non_finite for n in edge[:2]])

    warnings = []
    for node_id, description in found:
        if relevant[node_id]:
            warnings.append(
                GradWarning("kink", f"node {node_id} `{graph.text(nodes[node_id], 40)}`: {description}", node_id)
            )
    kink_nodes = {w.node for w in warnings}
    for node_id, arg, partial in non_finite:
        if relevant[node_id] and relevant[arg] and node_id not in kink_nodes:
            warnings.append(
                GradWarning(
                    "non-finite-partial",
                    f"node {node_id} `{graph.text(nodes[node_id], 40)}`: its derivative with respect to "
                    f"`{graph.label(nodes[arg], 30)}` is {partial!r}",
                    node_id,
                )
            )
    for name, value in evaluation.gradient.items():
        if not isfinite(value):
            warnings.append(
                GradWarning("non-finite-gradient", f"the derivative with respect to {name} is {value!r}")
            )
    return warnings


def _relevant(evaluation: Evaluation, node_ids: list[int]) -> dict[int, bool]:
    """For each of `node_ids`: does it depend on an input, and does the output depend on it?

    Worked out over no more of the graph than these nodes need: whether a node
    depends on an input is settled by the nodes before it, and a non-zero
    adjoint already shows that the output depends on a node.
    """
    if not node_ids:
        return {}
    graph = evaluation.graph
    depends = depends_on_inputs(graph.nodes[: max(node_ids) + 1])
    adjoints = evaluation.adjoints
    if adjoints is not None and all(adjoints[i] != 0.0 for i in node_ids):
        return {i: depends[i] for i in node_ids}
    feeds = feeds_output(graph)
    return {i: depends[i] and feeds[i] for i in node_ids}
