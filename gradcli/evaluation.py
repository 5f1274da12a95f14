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

MODES = ("auto", "reverse", "forward")
ALONG_DIRECTION = "along v"  # the key of --direction's tangents in Evaluation.tangents (no input's name)
# Forward mode keeps every input's tangent (and reverse mode every output's
# adjoints) for the per-node view while they take at most this many numbers.
KEEP_PER_NODE = 4_000_000


# Sweeps times nodes that a Jacobian or Hessian may take before gradcli refuses
# (README, "Limits"): about half a minute of tangent sweeps here. A Hessian
# sweep runs the partial rules on dual numbers and counts 10 times.
MAX_SWEEP_WORK = 100_000_000
MAX_SWEEP_WORK_VARIABLE = "GRADCLI_MAX_SWEEP_WORK"
HESSIAN_SWEEP_COST = 10


def check_sweep_work(graph: Graph, sweeps: int, what: str, hint: str, cost: int = 1) -> None:
    """Refuse `sweeps` passes over the graph when they would take minutes (ProgramTooLargeError)."""
    from .errors import ProgramTooLargeError
    from .parser import _limit

    work = sweeps * len(graph.nodes) * cost
    limit = _limit(MAX_SWEEP_WORK_VARIABLE, MAX_SWEEP_WORK)
    if work > limit:
        raise ProgramTooLargeError(
            f"{what} takes {sweeps:,} sweeps over {len(graph.nodes):,} nodes, "
            f"{work:,} node visits{f' (a sweep costing {cost} each)' if cost > 1 else ''}, "
            f"more than the limit of {limit:,}",
            hint=f"{hint}; or raise the limit with the environment variable {MAX_SWEEP_WORK_VARIABLE}, "
            f"e.g. {MAX_SWEEP_WORK_VARIABLE}={max(2 * limit, work)}",
            details={"unit": "node visits", "size": work, "limit": limit, "variable": MAX_SWEEP_WORK_VARIABLE},
        )


def choose_mode(inputs: int, outputs: int) -> str:
    """The cheaper mode for a Jacobian: one sweep per input (forward) or per output (reverse).

    Forward when outputs outnumber inputs; reverse otherwise, which includes a
    program with one output and no inputs (nothing to differentiate, but one
    reverse sweep still shows how the output depends on each node).
    """
    return "forward" if outputs > max(inputs, 1) else "reverse"


class GradWarning(NamedTuple):
    kind: str  # "unused-value", "kink", "non-finite-partial", "non-finite-gradient"
    message: str
    node: int | None = None


class Evaluation:
    """Everything `evaluate()` computed, indexed by node id. (A plain class: see graph.Node.)

    The Jacobian has one row per output (graph.outputs, in order) and one
    column per input (graph.inputs, in order). For the usual program with one
    output, `gradient` is its only row and `adjoints` the one reverse sweep.
    """

    def __init__(
        self,
        graph: Graph,
        point: dict[str, float],
        mode: str,
        values: list[float],
        partials: list[tuple[float, ...]],
        adjoints: list[float] | None,  # reverse mode only: the first output's
        gradient: dict[str, float],
        sweeps: int,  # how many passes over the graph the derivatives took
        tangents: dict[str, list[float]] | None = None,  # input (or "direction") -> per-node tangent
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
        self.requested_mode = mode  # "auto" when gradcli chose `mode`
        self.wrt: str | None = next(iter(self.tangents), None)  # the input of --wrt
        self.jacobian: list[list[float]] | None = None  # None when only products were asked for
        self.output_adjoints: list[list[float]] | None = None  # reverse mode: per output, if kept
        self.direction: dict[str, float] | None = None  # --direction v, and J v per output
        self.jvp: list[float] | None = None
        self.cotangent: dict[str, float] | None = None  # --cotangent u, and u^T J per input
        self.vjp: dict[str, float] | None = None
        self.cotangent_adjoints: list[float] | None = None  # d(u . outputs)/d(node)

    @property
    def value(self) -> float:
        return self.values[self.graph.output]

    @property
    def outputs(self) -> list[int]:
        return self.graph.outputs

    @property
    def output_labels(self) -> list[str]:
        return self.graph.output_labels

    @property
    def output_values(self) -> list[float]:
        return [self.values[node_id] for node_id in self.outputs]

    def adjoints_of(self, index: int) -> list[float]:
        """The adjoints of output `index`: kept by a reverse-mode evaluation, else one sweep now."""
        if self.output_adjoints is not None:
            return self.output_adjoints[index]
        return reverse_sweep(self.graph, self.partials, self.outputs[index])


def evaluate(
    program: str | Graph,
    values: Mapping[str, float] | None = None,
    *,
    mode: str = "auto",
    wrt: str | None = None,
    direction: Mapping[str, float] | None = None,
    cotangent: Mapping[str, float] | float | None = None,
) -> Evaluation:
    """Evaluate `program` at `values` and differentiate its outputs.

    mode="reverse": one backward sweep per output gives a row of the Jacobian,
    and every node's adjoint. mode="forward": one tangent sweep per input gives
    a column. mode="auto" takes the one with fewer sweeps (`choose_mode`).
    wrt=NAME: also the tangent d(node)/d(NAME) of every node.
    direction={input: v_i}: the directional derivative J v, in one forward
    sweep; cotangent={output label: u_k}: u^T J, in one reverse sweep. Either
    replaces the Jacobian (it is not formed); inputs or outputs left out weigh 0.
    A number as the cotangent weighs the one output of a program that has one.
    """
    from .parser import parse

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    graph = parse(program) if isinstance(program, str) else program
    point, unused = bind(graph, values or {})
    if wrt is not None and wrt not in graph.inputs:
        raise unknown_name_error(f"--wrt {wrt}", wrt, graph.inputs, "input")
    outputs, labels = graph.outputs, graph.output_labels
    if isinstance(cotangent, (int, float)):
        if len(outputs) > 1:
            raise BindingError(
                f"--cotangent {cotangent:g}: a single number weighs a program's one output, "
                f"and this program has {len(outputs)}",
                hint="weigh each output by name, e.g. --cotangent " + ",".join(f"{label}=1" for label in labels),
            )
        cotangent = {labels[0]: float(cotangent)}
    direction_seeds, direction_named = _seeds(direction, graph.inputs, "--direction", "input")
    cotangent_seeds, cotangent_named = _seeds(cotangent, dict(zip(labels, outputs)), "--cotangent", "output")
    products = direction is not None or cotangent is not None
    if products:  # no Jacobian: the mode is that of the products' sweeps
        resolved = "+".join(m for m, asked in (("forward", direction), ("reverse", cotangent)) if asked is not None)
    else:
        resolved = choose_mode(len(graph.inputs), len(outputs)) if mode == "auto" else mode
    if not products:
        sweeps_needed = len(outputs) if resolved == "reverse" else len(graph.inputs)
        check_sweep_work(
            graph, sweeps_needed, f"the Jacobian in {resolved} mode",
            "use --mode auto for the mode with fewer sweeps, or --direction/--cotangent for one product "
            "of the Jacobian in one sweep",
        )
    with bulk_allocation():
        node_values, partials = values_and_partials(graph, point)
        sweeps = 0
        tangents: dict[str, list[float]] = {}
        adjoints = output_adjoints = jacobian = None
        keep = len(graph.nodes) * max(len(outputs), len(graph.inputs)) <= KEEP_PER_NODE
        if not products and resolved == "reverse":
            jacobian, kept = [], []
            for output in outputs:
                row_adjoints = reverse_sweep(graph, partials, output)
                jacobian.append([row_adjoints[node_id] for node_id in graph.inputs.values()])
                adjoints = adjoints or row_adjoints  # the first output's
                if keep:
                    kept.append(row_adjoints)
            output_adjoints = kept if keep else None
            sweeps = len(outputs)
        elif not products:
            jacobian = [[] for _ in outputs]
            for name in graph.inputs:
                column = tangent_sweep(graph, partials, name)
                for row, output in zip(jacobian, outputs):
                    row.append(column[output])
                if keep or name == wrt:
                    tangents[name] = column
            sweeps = len(graph.inputs)
        if wrt is not None and wrt not in tangents:
            tangents[wrt] = tangent_sweep(graph, partials, wrt)  # for the view: not counted in `sweeps`
        gradient = dict(zip(graph.inputs, jacobian[0])) if jacobian is not None else {}

        evaluation = Evaluation(graph, point, resolved, node_values, partials, adjoints, gradient, sweeps, tangents)
        evaluation.requested_mode = mode
        evaluation.wrt = wrt
        evaluation.jacobian = jacobian
        evaluation.output_adjoints = output_adjoints
        if direction is not None:
            along = tangent_sweep(graph, partials, direction_seeds)
            evaluation.direction = direction_named
            evaluation.jvp = [along[output] for output in outputs]
            evaluation.tangents[ALONG_DIRECTION] = along
            evaluation.sweeps += 1
        if cotangent is not None:
            weighted = reverse_sweep(graph, partials, cotangent_seeds)
            evaluation.cotangent = cotangent_named
            evaluation.vjp = {name: weighted[node_id] for name, node_id in graph.inputs.items()}
            evaluation.cotangent_adjoints = weighted
            evaluation.sweeps += 1
        evaluation.warnings = [GradWarning("unused-value", message) for message in unused]
        evaluation.warnings += _differentiability_warnings(evaluation)
    return evaluation


def unknown_name_error(what: str, name: str, known: Mapping[str, int], kind: str) -> BindingError:
    close = closest(name, known)
    return BindingError(
        f"{what}: the program has no {kind} named {name}",
        hint=(f"did you mean {close}? " if close else "") + f"{kind}s: " + (", ".join(known) or "none"),
    )


def _seeds(
    weights: Mapping[str, float] | None, nodes: Mapping[str, int], what: str, kind: str
) -> tuple[dict[int, float], dict[str, float]]:
    """A direction or cotangent as node -> weight, and as name -> weight for every name.

    Names must be the program's; an output may be named with other spacing
    than in `out` (x*2 for x * 2).
    """
    spaced = {"".join(name.split()): name for name in nodes}
    seeds: dict[int, float] = {}
    named = dict.fromkeys(nodes, 0.0)
    for name, weight in (weights or {}).items():
        known = name if name in nodes else spaced.get("".join(name.split()))
        if known is None:
            raise unknown_name_error(f"{what} {name}", name, nodes, kind)
        if not isfinite(weight):
            raise BindingError(f"{what}: the weight of {name} is {weight!r}", hint="give finite numbers")
        named[known] = weight
        # Two outputs may be one node (out u, (u)): their weights add up.
        seeds[nodes[known]] = seeds.get(nodes[known], 0.0) + weight
    return seeds, named


def _differentiability_warnings(evaluation: Evaluation) -> list[GradWarning]:
    """Kinks and non-finite partials on the paths from the inputs to the outputs, in node order;
    then the derivatives asked for that are not finite."""
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
    several = len(evaluation.outputs) > 1
    for label, row in zip(evaluation.output_labels, evaluation.jacobian or []):
        of = f" of {label}" if several else ""
        for name, value in zip(graph.inputs, row):
            if not isfinite(value):
                warnings.append(
                    GradWarning("non-finite-gradient", f"the derivative{of} with respect to {name} is {value!r}")
                )
    products = [("J v", dict(zip(evaluation.output_labels, evaluation.jvp or []))), ("u^T J", evaluation.vjp or {})]
    for what, values in products:
        for name, value in values.items():
            if not isfinite(value):
                warnings.append(GradWarning("non-finite-gradient", f"{what}: the entry for {name} is {value!r}"))
    return warnings


def _relevant(evaluation: Evaluation, node_ids: list[int]) -> dict[int, bool]:
    """For each of `node_ids`: does it depend on an input, and does an output depend on it?

    Worked out over no more of the graph than these nodes need: whether a node
    depends on an input is settled by the nodes before it, and a non-zero
    adjoint (of the first output) already shows that an output depends on a node.
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
