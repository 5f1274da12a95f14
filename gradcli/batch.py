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

Finding those rows costs nothing while there are none: finite numbers become
inf or NaN only through an operation that raises an IEEE floating-point flag
(overflow, division by zero, invalid), and NumPy reports those flags to an
`errstate` callback. Only a chunk that raised one, or whose inputs are not all
finite, is searched row by row.

Rows are processed in chunks small enough for the arrays to stay in the CPU
cache; numpy is imported only here, so single-point runs never load it.

What costs time besides NumPy's own work is Python's, per node and chunk, so
everything that depends on the graph alone is decided once, in a plan per
graph: small programs' plans are compiled into one Python function, bigger ones
are interpreted step by step. Partials that are plain numbers (add, sub, neg)
are found then, and not computed again. Sigmoid's forward hands its exp(-x) to
the partial rule (see `ops.array_math`), as JAX's fwd hands residuals to bwd.
"""

from __future__ import annotations

import math
import weakref
from operator import itemgetter
from typing import Callable, Mapping, NamedTuple

import numpy as np

from .errors import BindingError, GradcliError
from .graph import Graph, depends_on, forward_values, reverse_sweep, values_and_partials
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


class _BackwardStep(NamedTuple):
    node: int
    partials: Callable  # the op's rule
    get_args: Callable  # node values -> the values of `args`
    targets: tuple[tuple[int, int], ...]  # (position, node id) of each argument that varies
    extra: bool | None  # the rule's fourth argument (`Op.constant_args`), or None
    fixed: tuple | None  # the partials, where they are plain numbers whatever the row
    args: tuple[int, ...]


class _Plan:
    """What every chunk shares, worked out once per graph: the steps of both sweeps, and the constants."""

    def __init__(self, graph: Graph, output: int):
        # No reference to the graph itself: plans are cached under it, weakly.
        nodes = graph.nodes
        varies = depends_on(graph)  # nodes that depend on an input
        input_names = {node_id: name for name, node_id in graph.inputs.items()}
        self.inputs = list(graph.inputs.items())
        self.input_names = list(graph.inputs)
        self.output = output  # the node differentiated: one of graph.outputs
        self.node_count = len(nodes)
        self.input_nodes = [(node.id, input_names[node.id]) for node in nodes if node.id in input_names]
        # Forward steps over the computed nodes that vary: (id, array function,
        # first argument, second argument), or (id, function, all arguments, None)
        # beyond two arguments.
        self.forward = []
        for node in nodes:
            if not varies[node.id] or node.op.forward is None:
                continue
            function = node.op.array_forward(np) if node.op.array_forward else node.op.forward
            if len(node.args) <= 2:
                self.forward.append((node.id, function, node.args[0], node.args[1] if len(node.args) == 2 else None))
            else:
                self.forward.append((node.id, function, node.args, None))
        # Nodes that no input reaches are the same in every row: computed once
        # by the scalar engine (an error there is an error of the program itself).
        constant_point = {name: 0.0 for name in graph.inputs}
        # As NumPy scalars, so that rules follow NumPy's arithmetic on them too
        # (1 / 0 is inf with a constant divisor, as with an array one).
        self.constants = list(map(np.float64, forward_values(_without_inputs(graph, varies), constant_point)))
        self.varies = varies
        # Which nodes get an adjoint: the output, if it varies, and every varying
        # argument of a node that has one. Backward steps, last node first.
        has_adjoint = [False] * len(nodes)
        has_adjoint[output] = varies[output]
        probe = np.full(1, 0.5)
        probe_values = [probe if v else c for v, c in zip(varies, self.constants)]
        self.backward: list[_BackwardStep] = []
        with np.errstate(all="ignore"):  # for the probes of _fixed_partials: once, not per node (5 µs each)
            for node in reversed(nodes):
                if not has_adjoint[node.id] or not node.args:
                    continue
                targets = tuple((position, arg) for position, arg in enumerate(node.args) if varies[arg])
                for _, arg in targets:
                    has_adjoint[arg] = True
                step = _BackwardStep(
                    node.id, node.op.partials, _getter(node.args), targets,
                    varies[node.args[-1]] if node.op.constant_args else None, None, node.args,
                )
                self.backward.append(step._replace(fixed=_fixed_partials(step, probe_values)))
        self.run = _compile(self) if len(self.forward) + len(self.backward) <= COMPILE_LIMIT else None


# Plans of up to this many steps are compiled to one Python function (see
# `_compile`); bigger ones are interpreted step by step, which costs nothing to
# prepare: compiling grows with the program, while what it saves (a fraction of
# a microsecond per step and chunk) matters only for small programs.
COMPILE_LIMIT = 1000


def _compile(plan: _Plan):
    """Both sweeps of the plan as the source of one Python function, compiled.

    The same steps the interpreter in `_evaluate_chunk` takes, with every
    decision that depends only on the graph taken here, once: which values are
    constants, which partials are plain numbers, where an adjoint is the
    output's 1 passed on, where a contribution is a first one. Node values and
    adjoints become local variables. Called as run(node_values, math namespace);
    returns the output's value, the gradient (in `plan.inputs` order) and the
    values of all the nodes that vary. Adjoints are never changed in place here:
    a sum makes a new array. The source holds node numbers and names made
    here, nothing from the program's text; functions and constants are passed in.
    """
    varies = plan.varies
    env: dict = {"ONE": _ONE}
    lines = ["def run(v, M):"]

    def value(node_id: int) -> str:
        if varies[node_id]:
            return f"n{node_id}"
        env[f"c{node_id}"] = plan.constants[node_id]
        return f"c{node_id}"

    for node_id, _ in plan.input_nodes:
        lines.append(f"    n{node_id} = v[{node_id}]")
    computed = [node_id for node_id, _ in plan.input_nodes]
    for node_id, function, first, second in plan.forward:
        env[f"f{node_id}"] = function
        args = (first, second) if second is not None else ((first,) if type(first) is int else first)
        lines.append(f"    n{node_id} = f{node_id}({', '.join(map(value, args))})")
        computed.append(node_id)

    adjoint: dict[int, str] = {plan.output: "ONE"}  # node id -> the expression holding its adjoint
    for node_id, partials, _, targets, extra, fixed, args in plan.backward:
        own = adjoint[node_id]
        if fixed is None:
            env[f"p{node_id}"] = partials
            call = f"p{node_id}({_tuple_text(map(value, args))}, n{node_id}, M"
            lines.append(f"    l{node_id} = {call})" if extra is None else f"    l{node_id} = {call}, {extra!r})")
        for position, arg in targets:
            previous = adjoint.get(arg)
            if fixed is None:
                contribution = f"l{node_id}[{position}]" if own == "ONE" else f"{own} * l{node_id}[{position}]"
            elif fixed[position] == 1.0:
                contribution = own
            elif fixed[position] == -1.0:
                lines.append(f"    a{arg} = -{own}" if previous is None else f"    a{arg} = {previous} - {own}")
                adjoint[arg] = f"a{arg}"
                continue
            else:
                env[f"k{node_id}_{position}"] = fixed[position]
                contribution = f"{own} * k{node_id}_{position}"
            if previous is None and contribution.isidentifier():
                adjoint[arg] = contribution  # the same array (or the number 1): nothing to compute
            else:
                lines.append(f"    a{arg} = {contribution}" if previous is None else f"    a{arg} = {previous} + {contribution}")
                adjoint[arg] = f"a{arg}"

    gradient = _tuple_text(adjoint.get(node_id, "0.0") for _, node_id in plan.inputs)
    lines.append(f"    return {value(plan.output)}, {gradient}, {_tuple_text(f'n{i}' for i in computed)}")
    exec(compile("\n".join(lines), "<gradcli.batch plan>", "exec"), env)
    return env["run"]


def _getter(args: tuple[int, ...]):
    """A function taking the list of node values to the values of `args`, as a sequence."""
    if len(args) == 1:
        (arg,) = args
        return lambda values: (values[arg],)
    return itemgetter(*args)


def _tuple_text(items) -> str:
    return "(" + "".join(f"{item}, " for item in items) + ")"


def _fixed_partials(step: _BackwardStep, probe_values: list) -> tuple | None:
    """The node's partials if they are the same plain numbers in every row (1 and -1 of add, sub, neg, id).

    Found by calling the rule once on one-row arrays: rules choose their form
    by `m.where`, never by an `if` on values, so a rule that gives a plain
    float here gives that float for every row. Saves a call per node and chunk.
    """
    node_id, partials, get_args, targets, extra, _, _ = step
    arg_values = get_args(probe_values)
    probe = probe_values[node_id]  # as the node's own value
    try:  # (under np.errstate(all="ignore"), set by the caller)
        if extra is None:
            local = partials(arg_values, probe, ARRAY_MATH)
        else:
            local = partials(arg_values, probe, ARRAY_MATH, extra)
    except Exception:  # a rule that cannot run on the probe is simply called every time
        return None
    if all(type(local[position]) is float for position, _ in targets):
        return tuple(local)
    return None


# One plan per graph and output, made on first use: the CLI evaluates a graph once per chunk.
_plans: "weakref.WeakKeyDictionary[Graph, dict[int, _Plan]]" = weakref.WeakKeyDictionary()


def _without_inputs(graph: Graph, varies: list[bool]) -> Graph:
    """The graph with every input-dependent node replaced by a constant 0, so only constants compute."""
    from .graph import Node
    from .ops import OPS

    const = OPS["const"]
    stripped = Graph(graph.source)
    stripped.nodes = [
        Node(node.id, const, (), node.span, node.name, 0.0) if varies[node.id] else node for node in graph.nodes
    ]
    stripped.output, stripped.outputs, stripped.output_labels = graph.output, graph.outputs, graph.output_labels
    return stripped


class _FlagWatch:
    """An errstate callback that remembers whether NumPy raised a floating-point flag."""

    __slots__ = ("raised",)

    def __init__(self):
        self.raised = False

    def __call__(self, kind: str, flag: int) -> None:
        self.raised = True


def evaluate_batch(
    graph: Graph, columns: Mapping[str, object], rows: int | None = None, output: int | None = None
) -> BatchResult:
    """The output's value and gradient at every row of `columns` (`output`: a node of
    graph.outputs, by default the first).

    `columns` maps each input of the program to an array of values (one per
    row) or to a single number that holds for every row. `rows` says how many
    rows there are when no column is an array (default: 1).
    """
    arrays = {}
    lengths = set() if rows is None else {rows}
    fixed_finite = True  # a fixed input that is not finite makes every row bad
    for name in graph.inputs:
        if name not in columns:
            missing = [name for name in graph.inputs if name not in columns]
            raise BindingError(
                "missing value" + ("s" if len(missing) > 1 else "") + " for " + ", ".join(missing),
                hint="give every input a column or a fixed value",
                details={"missing": missing},
            )
        column = arrays[name] = np.asarray(columns[name], dtype=np.float64)
        if column.ndim == 1:
            lengths.add(column.shape[0])
        elif column.ndim == 0 and not math.isfinite(column):
            fixed_finite = False
    if len(lengths) > 1:
        raise BindingError("the columns have different lengths: " + ", ".join(map(str, sorted(lengths))))
    rows = lengths.pop() if lengths else 1

    output = graph.output if output is None else output
    plan = _plans.setdefault(graph, {}).get(output)
    if plan is None:
        plan = _plans[graph][output] = _Plan(graph, output)
    watch = _FlagWatch()
    with np.errstate(over="call", divide="call", invalid="call", under="ignore", call=watch):
        if rows <= CHUNK_ROWS:
            # One chunk: its arrays become the results, copied only where not the engine's own.
            values, gradient, suspects = _evaluate_chunk(plan, arrays, 0, rows, watch, fixed_finite)
            taken = {id(a) for a in arrays.values()}
            values = _own(values, rows, taken)
            gradient = {name: _own(column, rows, taken) for name, column in gradient.items()}
        else:
            values = np.empty(rows)
            gradient = {name: np.empty(rows) for name in graph.inputs}
            suspects = []
            for start in range(0, rows, CHUNK_ROWS):
                stop = min(rows, start + CHUNK_ROWS)
                chunk_values, chunk_gradient, chunk_suspects = _evaluate_chunk(
                    plan, arrays, start, stop, watch, fixed_finite
                )
                values[start:stop] = chunk_values
                for name, column in chunk_gradient.items():
                    gradient[name][start:stop] = column
                suspects.extend(chunk_suspects + start)
    errors: dict[int, GradcliError] = {}
    if len(suspects):
        for row in suspects:
            _scalar_row(graph, output, arrays, int(row), values, gradient, errors)
    return BatchResult(values, gradient, errors)


def _own(result, rows: int, taken: set) -> np.ndarray:
    """`result` as an array the caller may keep and change.

    An array the engine made (a ufunc's result, which owns its memory) is used
    as it is, once; anything else (an input column, a view, a number, an array
    already `taken` for another result) is copied.
    """
    if type(result) is np.ndarray and result.base is None and result.shape == (rows,) and id(result) not in taken:
        taken.add(id(result))
        return result
    copy = np.empty(rows)
    copy[:] = result
    return copy


def _evaluate_chunk(plan: _Plan, arrays: dict, start: int, stop: int, watch: _FlagWatch, fixed_finite: bool):
    """Rows start..stop: the value, the gradient, and the rows (from `start`) with a non-finite number anywhere.

    The value and the gradient entries may be arrays of other nodes, or plain
    numbers where they are the same in every row.
    """
    rows = stop - start
    watch.raised = False
    node_values: list = list(plan.constants)
    # An input that is inf or NaN raises no flag when it is used: its column's
    # sum finds it. (Not np.dot, which would do two columns at once: BLAS
    # threads spin on a busy machine, making a 10^6-row call 5x slower.)
    inputs_check = 0.0
    for node_id, name in plan.input_nodes:
        column = arrays[name]
        if column.ndim:
            if start or column.shape[0] != stop:
                column = column[start:stop]
            inputs_check += np.add.reduce(column)
        else:
            column = np.full(rows, column)
        node_values[node_id] = column
    if plan.run is not None:
        values, gradient_values, computed = plan.run(node_values, ARRAY_MATH)
        gradient = dict(zip(plan.input_names, gradient_values))
        return _finish(values, gradient, computed, rows, watch, fixed_finite, inputs_check)

    for node_id, function, first, second in plan.forward:
        if second is not None:
            node_values[node_id] = function(node_values[first], node_values[second])
        elif type(first) is int:
            node_values[node_id] = function(node_values[first])
        else:
            node_values[node_id] = function(*[node_values[a] for a in first])

    adjoints: list = [None] * plan.node_count
    # True where the adjoint array was made here, by a product or a sum, and so
    # may be added to in place; any other array may be another node's value.
    owned = [False] * plan.node_count
    adjoints[plan.output] = _ONE  # a number, not an array of ones: the first products are then free
    math_ns = ARRAY_MATH
    for node_id, partials, get_args, targets, extra, fixed, _ in plan.backward:
        adjoint = adjoints[node_id]
        if fixed is not None:
            local = fixed
        elif extra is None:
            local = partials(get_args(node_values), node_values[node_id], math_ns)
        else:
            local = partials(get_args(node_values), node_values[node_id], math_ns, extra)
        for position, arg in targets:
            partial = local[position]
            previous = adjoints[arg]
            if type(partial) is float:  # the same in every row: 1 and -1 of add, sub, neg, id
                if partial == 1.0:
                    contribution = adjoint
                elif partial == -1.0 and previous is not None:
                    adjoints[arg] = previous - adjoint  # one operation, not a negation and a sum
                    owned[arg] = type(adjoints[arg]) is np.ndarray
                    continue
                else:
                    contribution = adjoint * partial
            elif adjoint is _ONE:  # the output's own adjoint, passed on unchanged by sums
                contribution = partial
            else:
                contribution = adjoint * partial
            if previous is None:
                adjoints[arg] = contribution
                # A product is new, unless both factors were plain numbers.
                owned[arg] = contribution is not adjoint and contribution is not partial and type(contribution) is np.ndarray
            elif owned[arg]:
                np.add(previous, contribution, out=previous)
            else:
                adjoints[arg] = previous + contribution
                owned[arg] = type(adjoints[arg]) is np.ndarray
    values = node_values[plan.output]
    gradient = {name: (0.0 if adjoints[node_id] is None else adjoints[node_id]) for name, node_id in plan.inputs}
    computed = [value for value, varies in zip(node_values, plan.varies) if varies]
    return _finish(values, gradient, computed, rows, watch, fixed_finite, inputs_check)


def _finish(values, gradient: dict, computed, rows: int, watch: _FlagWatch, fixed_finite: bool, inputs_check: float):
    """A chunk's results, and its rows with a non-finite number among the `computed` node values or the gradient."""
    # The residuals of the other nodes go with their arrays at the end of the
    # chunk; the results' would live as long as the results.
    residuals = ARRAY_MATH.residuals
    residuals.pop(id(values), None)
    for column in gradient.values():
        residuals.pop(id(column), None)
    if not watch.raised and fixed_finite and math.isfinite(inputs_check):
        return values, gradient, _NO_ROWS
    # Some operation overflowed, divided by zero or was invalid somewhere in the
    # chunk (perhaps only in the branch of a `where` that was not taken), or an
    # input is not finite: find the rows.
    finite = np.isfinite(np.broadcast_to(values, rows))
    for value in computed:
        finite &= np.isfinite(value)
    for column in gradient.values():
        finite &= np.isfinite(column)
    return values, gradient, np.flatnonzero(~finite)


_NO_ROWS = np.empty(0, dtype=np.intp)
_ONE = 1.0


def _scalar_row(graph: Graph, output: int, arrays, row: int, values, gradient, errors) -> None:
    """Evaluate one row with the scalar engine: the judge of domain errors, overflows and infinite slopes."""
    point = {name: float(a[row] if a.ndim else a) for name, a in arrays.items()}
    try:
        bad = next((name for name, v in point.items() if not math.isfinite(v)), None)
        if bad is not None:
            raise BindingError(
                f"the value of {bad} is {point[bad]!r}; gradcli needs finite numbers",
                hint=f"give {bad} a finite value",
            )
        node_values, partials = values_and_partials(graph, point)
        adjoints = reverse_sweep(graph, partials, output)
    except GradcliError as error:
        errors[row] = error
        values[row] = math.nan
        for g in gradient.values():
            g[row] = math.nan
        return
    values[row] = node_values[output]
    for name, node_id in graph.inputs.items():
        gradient[name][row] = adjoints[node_id]
