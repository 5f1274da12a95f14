"""Batch evaluation: a program's value and gradient at many points at once, over NumPy arrays.

The engine is the scalar one (graph.py) with arrays in place of floats: the
same flat graph, the same op table, the same rules. Each op's partials are
called with `ops.array_math(numpy)` as their math namespace, so no derivative
is written twice; forwards come from each op's `array_forward`.

The scalar engine stays the judge of every exceptional point. A row where any
node's value or any gradient entry is not finite (a domain error, an overflow,
an infinite slope) is evaluated again, alone, by the scalar engine: its error
(naming the node) or its numbers are what the row gets. One bad row therefore
never changes another row's numbers.

Rows are processed in chunks small enough for the arrays to stay in the CPU
cache; numpy is imported only here, so single-point runs never load it.
"""

from __future__ import annotations

import math
import weakref
from typing import Mapping

import numpy as np

from .errors import BindingError, GradcliError
from .graph import Graph, depends_on, forward_values, local_partials, reverse_sweep
from .ops import array_math

# Rows per chunk: arrays of 32768 doubles (256 KiB each) stay in cache, and
# Python's cost per array operation is spread over many rows. 16K to 128K rows
# measured within a few per cent of each other (bench/bench_batch.py).
CHUNK_ROWS = 32768

ARRAY_MATH = array_math(np)


class BatchResult:
    """Values and gradients per row; rows in `errors` hold NaN."""

    def __init__(self, values: np.ndarray, gradient: dict[str, np.ndarray], errors: dict[int, GradcliError]):
        self.values = values
        self.gradient = gradient
        self.errors = errors

    def __len__(self) -> int:
        return len(self.values)


class _Plan:
    """What every chunk shares: the array forwards, and which nodes vary from row to row."""

    def __init__(self, graph: Graph):
        # No reference to the graph itself: plans are cached under it, weakly.
        self.varies = depends_on(graph)  # nodes that depend on an input
        self.forwards = [
            (node.op.array_forward(np) if node.op.array_forward else node.op.forward)
            if node.op.forward is not None
            else None
            for node in graph.nodes
        ]
        # Nodes that no input reaches are the same in every row: computed once
        # by the scalar engine (an error there is an error of the program itself).
        constant_point = {name: 0.0 for name in graph.inputs}
        # As NumPy scalars, so that rules follow NumPy's arithmetic on them too
        # (1 / 0 is inf with a constant divisor, as with an array one).
        self.constants = list(map(np.float64, forward_values(_without_inputs(graph, self.varies), constant_point)))


# One plan per graph, made on first use: the CLI evaluates a graph once per chunk.
_plans: "weakref.WeakKeyDictionary[Graph, _Plan]" = weakref.WeakKeyDictionary()


def _without_inputs(graph: Graph, varies: list[bool]) -> Graph:
    """The graph with every input-dependent node replaced by a constant 0, so only constants compute."""
    from .graph import Node
    from .ops import OPS

    const = OPS["const"]
    stripped = Graph(graph.source)
    stripped.nodes = [
        Node(node.id, const, (), node.span, node.name, 0.0) if varies[node.id] else node for node in graph.nodes
    ]
    stripped.output = graph.output
    return stripped


def evaluate_batch(graph: Graph, columns: Mapping[str, object], rows: int | None = None) -> BatchResult:
    """The output's value and gradient at every row of `columns`.

    `columns` maps each input of the program to an array of values (one per
    row) or to a single number that holds for every row. `rows` says how many
    rows there are when no column is an array (default: 1).
    """
    missing = [name for name in graph.inputs if name not in columns]
    if missing:
        raise BindingError(
            "missing value" + ("s" if len(missing) > 1 else "") + " for " + ", ".join(missing),
            hint="give every input a column or a fixed value",
            details={"missing": missing},
        )
    arrays = {name: np.asarray(columns[name], dtype=np.float64) for name in graph.inputs}
    lengths = {a.shape[0] for a in arrays.values() if a.ndim == 1} | ({rows} if rows is not None else set())
    if len(lengths) > 1:
        raise BindingError("the columns have different lengths: " + ", ".join(map(str, sorted(lengths))))
    rows = lengths.pop() if lengths else 1

    plan = _plans.get(graph)
    if plan is None:
        plan = _plans[graph] = _Plan(graph)
    values = np.empty(rows)
    gradient = {name: np.empty(rows) for name in graph.inputs}
    errors: dict[int, GradcliError] = {}
    with np.errstate(all="ignore"):
        for start in range(0, rows, CHUNK_ROWS):
            stop = min(rows, start + CHUNK_ROWS)
            chunk = {name: (a[start:stop] if a.ndim else np.full(stop - start, float(a))) for name, a in arrays.items()}
            suspects = _evaluate_chunk(
                graph, plan, chunk, stop - start, values[start:stop], {n: g[start:stop] for n, g in gradient.items()}
            )
            for row in suspects + start:
                _scalar_row(graph, arrays, int(row), values, gradient, errors)
    return BatchResult(values, gradient, errors)


def _evaluate_chunk(graph: Graph, plan: _Plan, chunk: dict[str, np.ndarray], rows: int, values_out, gradient_out) -> np.ndarray:
    """Fill one chunk's values and gradient; return the rows (indices) with a non-finite number anywhere."""
    varies, forwards = plan.varies, plan.forwards
    nodes = graph.nodes
    node_values: list = list(plan.constants)
    # A sum over the whole chunk is finite when every number in it is: one
    # cheap reduction per node, and the rows are looked at only when it is not
    # (a huge but finite sum overflowing only makes that look needless).
    total = 0.0
    input_names = {node_id: name for name, node_id in graph.inputs.items()}
    for node in nodes:
        if not varies[node.id]:
            continue
        if node.op.forward is None:
            value = chunk[input_names[node.id]]
        else:
            value = forwards[node.id](*[node_values[a] for a in node.args])
        node_values[node.id] = value
        total += value.sum()

    output = graph.output
    values_out[:] = node_values[output]
    adjoints: list = [None] * len(nodes)
    if varies[output]:
        adjoints[output] = 1.0  # a number, not an array of ones: the first products are then free
    partials_of = ARRAY_MATH
    for node_id in range(output, -1, -1):
        adjoint = adjoints[node_id]
        if adjoint is None or not nodes[node_id].args:
            continue
        node = nodes[node_id]
        args = node.args
        arg_values = [node_values[a] for a in args]
        if node.op.constant_args:
            partials = node.op.partials(arg_values, node_values[node_id], partials_of, varies[args[-1]])
        else:
            partials = node.op.partials(arg_values, node_values[node_id], partials_of)
        for arg, partial in zip(args, partials):
            if not varies[arg]:
                continue  # constants need no adjoint
            if type(partial) is float and partial == 1.0:
                contribution = adjoint
            elif type(adjoint) is float and adjoint == 1.0:
                contribution = partial
            else:
                contribution = adjoint * partial
            previous = adjoints[arg]
            # Never add in place: `contribution` may be another node's adjoint array.
            adjoints[arg] = contribution if previous is None else previous + contribution
    for name, node_id in graph.inputs.items():
        adjoint = adjoints[node_id]
        gradient_out[name][:] = 0.0 if adjoint is None else adjoint
        total += gradient_out[name].sum()
    if math.isfinite(total):
        return np.empty(0, dtype=np.intp)
    finite = np.isfinite(values_out)
    for node in nodes:
        if varies[node.id]:
            finite &= np.isfinite(node_values[node.id])
    for column in gradient_out.values():
        finite &= np.isfinite(column)
    return np.flatnonzero(~finite)


def _scalar_row(graph: Graph, arrays, row: int, values, gradient, errors) -> None:
    """Evaluate one row with the scalar engine: the judge of domain errors, overflows and infinite slopes."""
    point = {name: float(a[row] if a.ndim else a) for name, a in arrays.items()}
    try:
        bad = next((name for name, v in point.items() if not math.isfinite(v)), None)
        if bad is not None:
            raise BindingError(
                f"the value of {bad} is {point[bad]!r}; gradcli needs finite numbers",
                hint=f"give {bad} a finite value",
            )
        node_values = forward_values(graph, point)
        adjoints = reverse_sweep(graph, local_partials(graph, node_values))
    except GradcliError as error:
        errors[row] = error
        values[row] = math.nan
        for g in gradient.values():
            g[row] = math.nan
        return
    values[row] = node_values[graph.output]
    for name, node_id in graph.inputs.items():
        gradient[name][row] = adjoints[node_id]
