"""Evaluating a program at a point: values, local partials and gradients, as plain data.

`evaluate()` is the core function behind `gradcli eval` and the Python API.
It never prints; renderers turn an `Evaluation` into tables or JSON.
"""

from __future__ import annotations

import math
from typing import Mapping, NamedTuple

from .errors import BindingError, closest
from .graph import (
    Graph,
    depends_on,
    feeds_output,
    forward_values,
    kinks,
    local_partials,
    reverse_sweep,
    tangent_sweep,
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
    node_values = forward_values(graph, point)
    partials = local_partials(graph, node_values)

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


def _relevant_nodes(graph: Graph) -> list[bool]:
    """Nodes that depend on some input and that the output depends on."""
    return [a and b for a, b in zip(depends_on(graph), feeds_output(graph))]


def _differentiability_warnings(evaluation: Evaluation) -> list[GradWarning]:
    graph = evaluation.graph
    relevant = _relevant_nodes(graph)
    warnings = []
    for node_id, description in kinks(graph, evaluation.values):
        if relevant[node_id]:
            node = graph.nodes[node_id]
            warnings.append(
                GradWarning("kink", f"node {node_id} `{graph.text(node, 40)}`: {description}", node_id)
            )
    kink_nodes = {w.node for w in warnings}
    for node in graph.nodes:
        if relevant[node.id] and node.id not in kink_nodes:
            for arg, partial in zip(node.args, evaluation.partials[node.id]):
                if relevant[arg] and not math.isfinite(partial):
                    warnings.append(
                        GradWarning(
                            "non-finite-partial",
                            f"node {node.id} `{graph.text(node, 40)}`: its derivative with respect to "
                            f"`{graph.label(graph.nodes[arg], 30)}` is {partial!r}",
                            node.id,
                        )
                    )
    for name, value in evaluation.gradient.items():
        if not math.isfinite(value):
            warnings.append(
                GradWarning("non-finite-gradient", f"the derivative with respect to {name} is {value!r}")
            )
    return warnings
