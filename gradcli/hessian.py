"""Second derivatives by forward-over-reverse: exact, and with no second-derivative rules.

The reverse sweep computes adjoints a_j = sum over uses of a_i * p_ij, where
p_ij is node i's partial with respect to its argument j. Differentiating that
loop along a direction v of the inputs (forward mode over it) gives

    da_j = sum over uses of (da_i * p_ij + a_i * dp_ij)

and at the inputs da is H v, one Hessian-vector product per sweep. The
partials' own derivatives dp_ij come from running the op table's partial
rules on dual numbers (`dual.DUAL`), so every second derivative is derived
from the first-derivative rules in one place. H e_j for each input j gives
the Hessian, one column per sweep; the two triangles are computed
independently, compared (`Hessian.asymmetry`) and averaged, so the result is
symmetric by construction and the comparison shows when it should not be
trusted (a kink).
"""

from __future__ import annotations

import sys
from math import isfinite
from typing import Mapping, Sequence

from .dual import DUAL, Dual, tangent_of
from .evaluation import HESSIAN_SWEEP_COST, Evaluation, GradWarning, check_sweep_work, unknown_name_error
from .graph import tangent_sweep

# The two triangles may differ by rounding; by more than this (relative), the
# Hessian is reported as not symmetric (a kink, or a non-finite partial).
ASYMMETRY_TOLERANCE = 1e-8


class Hessian:
    """d^2(output)/d(input_i)d(input_j) for one output, rows and columns in graph.inputs order."""

    def __init__(self, output: str, matrix: list[list[float]], asymmetry: float, sweeps: int):
        self.output = output
        self.matrix = matrix
        self.asymmetry = asymmetry  # largest |H_ij - H_ji| / max(|H_ij|, |H_ji|) before averaging
        self.sweeps = sweeps

    @property
    def symmetric(self) -> bool:
        return self.asymmetry <= ASYMMETRY_TOLERANCE


def second_order_sweep(
    evaluation: Evaluation, adjoints: Sequence[float], tangents: Sequence[float], output: int
) -> list[float]:
    """d(adjoint)/dv of every node: the adjoints of `output` differentiated along a direction v.

    `tangents` is every node's derivative along v (tangent_sweep), the same for every output.
    """
    values, partials = evaluation.values, evaluation.partials
    nodes = evaluation.graph.nodes
    dot_adjoints = [0.0] * len(nodes)
    for node in reversed(nodes[: output + 1]):
        args = node.args
        if not args:
            continue
        node_id = node.id
        adjoint, dot_adjoint = adjoints[node_id], dot_adjoints[node_id]
        moves = tangents[node_id] != 0.0 or any(tangents[arg] != 0.0 for arg in args)
        if adjoint != 0.0 and moves:
            # The partials as dual numbers: their values, and their derivatives along v.
            dual_args = tuple(Dual(values[arg], tangents[arg]) for arg in args)
            out = Dual(values[node_id], tangents[node_id])
            dot_partials = [tangent_of(p) for p in node.op.partials(dual_args, out, DUAL)]
        elif dot_adjoint == 0.0:
            continue  # nothing to pass back: no adjoint's derivative, and no partial moves
        else:
            dot_partials = None
        for position, (arg, partial) in enumerate(zip(args, partials[node_id])):
            contribution = dot_adjoint * partial if dot_adjoint != 0.0 else 0.0
            if dot_partials is not None and dot_partials[position] != 0.0:
                contribution += adjoint * dot_partials[position]
            dot_adjoints[arg] += contribution
    return dot_adjoints


def hessian_vector_products(evaluation: Evaluation, direction: Mapping[str, float]) -> list[dict[str, float]]:
    """H v for every output (one sweep each): input -> d/dv of d(output)/d(input)."""
    graph = evaluation.graph
    check_sweep_work(graph, len(evaluation.outputs), "the Hessian-vector products", "keep fewer outputs",
                     HESSIAN_SWEEP_COST)
    for name in direction:
        if name not in graph.inputs:
            raise unknown_name_error(f"direction {name}", name, graph.inputs, "input")
    seeds = {graph.inputs[name]: weight for name, weight in direction.items() if weight != 0.0}
    tangents = tangent_sweep(graph, evaluation.partials, seeds)
    products = []
    for index, output in enumerate(evaluation.outputs):
        dots = second_order_sweep(evaluation, evaluation.adjoints_of(index), tangents, output)
        products.append({name: dots[node_id] for name, node_id in graph.inputs.items()})
    return products


def hessians(evaluation: Evaluation) -> list[Hessian]:
    """The Hessian of every output, one sweep per input each."""
    graph = evaluation.graph
    input_nodes = list(graph.inputs.values())
    check_sweep_work(
        graph, len(input_nodes) * len(evaluation.outputs), "the Hessian", "use --hessian --direction V for the "
        "Hessian-vector product H v, one sweep per output", HESSIAN_SWEEP_COST,
    )
    outputs = evaluation.outputs
    adjoints = [evaluation.adjoints_of(index) for index in range(len(outputs))]
    columns: list[list[list[float]]] = [[] for _ in outputs]  # per output, H's columns
    for input_node in input_nodes:
        tangents = tangent_sweep(graph, evaluation.partials, {input_node: 1.0})  # shared by every output
        for index, output in enumerate(outputs):
            dots = second_order_sweep(evaluation, adjoints[index], tangents, output)
            columns[index].append([dots[node_id] for node_id in input_nodes])
    results = []
    for label, output_columns in zip(evaluation.output_labels, columns):
        matrix, asymmetry = _symmetrised(output_columns)
        results.append(Hessian(label, matrix, asymmetry, len(input_nodes)))
    return results


def warnings(
    evaluation: Evaluation, hessians: list[Hessian] | None = None, products: list[dict[str, float]] | None = None
) -> list[GradWarning]:
    """`second-derivative` warnings: a point on a kink, entries that are not finite, a Hessian
    whose triangles disagree (a kink or a non-finite partial)."""
    messages = []
    caveat = kink_caveat(evaluation)
    if caveat:
        messages.append(caveat)
    labels = evaluation.output_labels
    for hessian in hessians or []:
        of = f" of {hessian.output}" if len(labels) > 1 else ""
        if not all(isfinite(v) for row in hessian.matrix for v in row):
            messages.append(f"the Hessian{of} has entries that are not finite numbers")
        if not hessian.symmetric:
            messages.append(f"the Hessian{of} is not symmetric (its triangles differ by {hessian.asymmetry:.2g}, "
                            "relative): a kink or a non-finite partial; the table shows their average")
    for label, product in zip(labels, products or []):
        if not all(isfinite(v) for v in product.values()):
            of = f" of {label}" if len(labels) > 1 else ""
            messages.append(f"the Hessian-vector product{of} has entries that are not finite numbers")
    return [GradWarning("second-derivative", message) for message in messages]


def kink_caveat(evaluation: Evaluation) -> str | None:
    """A warning for second derivatives taken at a kink, or None.

    Second derivatives pass through each op's convention at its kink (abs'(0)
    = 0), and can be wrong there even where the whole function is smooth:
    abs(x)^2 at 0 has second derivative 2, but forward over reverse gives 0.
    """
    kinks = [w.node for w in evaluation.warnings if w.kind == "kink"]
    if not kinks:
        return None
    where = ", ".join(f"node {node} `{evaluation.graph.text(evaluation.graph.nodes[node], 30)}`" for node in kinks[:3])
    return (
        f"the point sits on a kink ({where}{', ...' if len(kinks) > 3 else ''}): second derivatives pass through "
        "the kink's convention and can be wrong there even where the function is smooth (abs(x)^2 at 0); "
        "gradcli check --order 2 compares them with differences of the gradient"
    )


def _symmetrised(columns: list[list[float]]) -> tuple[list[list[float]], float]:
    """(H + H^T) / 2 from H's columns, and the largest relative difference of the triangles."""
    size = len(columns)
    matrix = [[0.0] * size for _ in range(size)]
    asymmetry = 0.0
    for i in range(size):
        for j in range(size):
            upper, lower = columns[j][i], columns[i][j]  # H_ij from column j, H_ji from column i
            if upper == lower or not (isfinite(upper) and isfinite(lower)):
                matrix[i][j] = upper if upper == lower else (upper + lower) / 2.0
                if upper != lower and upper == upper and lower == lower:
                    asymmetry = float("inf")  # one infinite, the other not (or opposite infinities)
                continue
            matrix[i][j] = (upper + lower) / 2.0
            # Relative to the smallest normal double at least: subnormal entries carry
            # few digits, so their rounding is not a difference between the triangles.
            asymmetry = max(asymmetry, abs(upper - lower) / max(abs(upper), abs(lower), sys.float_info.min))
    return matrix, asymmetry
