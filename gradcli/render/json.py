"""Strict JSON output: no bare NaN or Infinity, a versioned schema.

Non-finite numbers become the strings "NaN", "Infinity" and "-Infinity";
integral doubles print without a fraction (6, not 6.0) so that `jq` shows
what a person expects. New keys may be added; existing keys keep their meaning.
"""

from __future__ import annotations

import json
import math
from collections import deque
from itertools import chain, compress, count, islice, repeat
from operator import attrgetter, gt, not_, sub
from typing import Iterable

from ..errors import GradcliError, line_col
from ..evaluation import Evaluation
from ..graph import bulk_allocation

SCHEMA_VERSION = 1
TEXT_LIMIT = 80  # node text longer than this is shortened in the middle; `span` stays exact
_ID, _START, _END, _NAME, _ARGS = map(attrgetter, ("id", "start", "end", "name", "args"))
_OP_NAME = attrgetter("op.name")


def number(x: float) -> float | int | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x) and abs(x) < 2.0**53 and not (x == 0.0 and math.copysign(1.0, x) < 0):
        return int(x)
    return x


def _numbers(numbers: Iterable[float]) -> list:
    """[number(x) for x in numbers], for many numbers at once.

    Most doubles are neither integral nor non-finite and stay as they are, so
    the work is done a column at a time by C functions: int() for the integral
    ones (what number() does, except to -0.0 and from 2^53 up, which stay
    floats), and number() itself only for the non-finite ones.
    """
    out = list(numbers)
    try:
        integral = list(compress(count(), map(float.is_integer, out)))
    except TypeError:  # not all floats (ints from an API caller): one at a time
        return list(map(number, out))
    ints = list(map(int, map(out.__getitem__, integral)))
    if ints and (max(ints) >= 2**53 or min(ints) <= -(2**53)):
        ints = [v if abs(v) < 2**53 else out[i] for i, v in zip(integral, ints)]
    for k in compress(count(), map(not_, ints)):  # zeros: -0.0 stays a float
        if math.copysign(1.0, out[integral[k]]) < 0:
            ints[k] = out[integral[k]]
    deque(map(out.__setitem__, integral, ints), maxlen=0)
    # x - x is NaN, so true, exactly for the non-finite x (and 0 for the rest).
    for i in list(compress(count(), map(sub, out, out))):
        out[i] = number(out[i])
    return out


def node_entries(evaluation: Evaluation) -> list[dict]:
    """The `nodes` of `evaluation_to_dict`: one entry per node, in graph order.

    Built a column at a time (programs have 10^5 nodes and more): attributes
    are read for all nodes by C functions, and numbers mapped by `_numbers`.
    """
    with bulk_allocation():  # some 4 objects per node, none in a cycle
        return _node_entries(evaluation)


def _node_entries(evaluation: Evaluation) -> list[dict]:
    graph = evaluation.graph
    nodes = graph.nodes
    ids = list(map(_ID, nodes))
    if ids == list(range(len(nodes))):  # as the parser numbers them

        def by_id(column):
            return column

    else:

        def by_id(column):
            return list(map(column.__getitem__, ids))

    starts, ends = list(map(_START, nodes)), list(map(_END, nodes))
    source = graph.source
    texts = list(map(source.__getitem__, map(slice, starts, ends)))
    for i in compress(count(), map(gt, map(sub, ends, starts), repeat(TEXT_LIMIT))):
        texts[i] = graph.text(nodes[i], TEXT_LIMIT)  # shortened in the middle
    partials = by_id(evaluation.partials)
    flat = iter(_numbers(chain.from_iterable(partials)))
    partial_lists = map(list, map(islice, repeat(flat), map(len, partials)))
    adjoints = evaluation.adjoints
    adjoint_column = _numbers(by_id(adjoints)) if adjoints is not None else repeat(None)
    entries = [
        {
            "id": node_id,
            "op": op,
            "name": name,
            "text": text,
            "span": [start, end],
            "inputs": list(args),
            "value": value,
            "partials": node_partials,
            "adjoint": adjoint,
        }
        for node_id, op, name, text, start, end, args, value, node_partials, adjoint in zip(
            ids, map(_OP_NAME, nodes), map(_NAME, nodes), texts, starts, ends, map(_ARGS, nodes),
            _numbers(by_id(evaluation.values)), partial_lists, adjoint_column,
        )
    ]
    # Per-node derivatives that only some evaluations have, keyed by input or output.
    labels = evaluation.output_labels
    keyed = [("tangent", list(evaluation.tangents.items()))]
    if len(labels) > 1 and evaluation.output_adjoints is not None:
        keyed.append(("adjoints", list(zip(labels, evaluation.output_adjoints))))
    for key, items in keyed:
        if items:
            names = [name for name, _ in items]
            columns = [_numbers(by_id(column)) for _, column in items]
            for entry, row in zip(entries, zip(*columns)):
                entry[key] = dict(zip(names, row))
    if evaluation.cotangent_adjoints is not None:
        for entry, adjoint in zip(entries, _numbers(by_id(evaluation.cotangent_adjoints))):
            entry["cotangent_adjoint"] = adjoint
    return NodeEntries(entries)


class NodeEntries(list):
    """node_entries' list: every number in it went through number(), so `dumps` may give it to orjson."""


def evaluation_to_dict(evaluation: Evaluation, hessians=None, hessian_products=None) -> dict:
    """gradcli eval as JSON; `hessians` and `hessian_products` from gradcli.hessian, if asked for.

    Derivatives keyed by name, for jq: jacobian[output][input], hessian[output][input][input].
    `value` and `gradient` are the one output's (null for several outputs: see `outputs`, `jacobian`).
    """
    graph = evaluation.graph
    labels = evaluation.output_labels
    several = len(labels) > 1
    nodes = node_entries(evaluation)
    data = {
        "schema_version": SCHEMA_VERSION,
        "command": "eval",
        "program": graph.source,
        "point": {name: number(value) for name, value in evaluation.point.items()},
        "inputs": list(graph.inputs),
        "mode": evaluation.mode,
        "requested_mode": evaluation.requested_mode,
        "sweeps": evaluation.sweeps,
        "output": graph.output,
        "value": None if several else number(evaluation.value),
        "gradient": None if several or evaluation.jacobian is None else _named(evaluation.gradient),
        "outputs": [
            {"label": label, "node": node_id, "value": number(value)}
            for label, node_id, value in zip(labels, evaluation.outputs, evaluation.output_values)
        ],
        "jacobian": None if evaluation.jacobian is None else {
            label: _named(dict(zip(graph.inputs, row))) for label, row in zip(labels, evaluation.jacobian)
        },
        "wrt": evaluation.wrt,
        "nodes": nodes,
        "warnings": [
            {"kind": w.kind, "message": w.message, "node": w.node} for w in evaluation.warnings
        ],
    }
    if evaluation.jvp is not None:
        data["direction"] = _named(evaluation.direction)
        data["jvp"] = _named(dict(zip(labels, evaluation.jvp)))
    if evaluation.vjp is not None:
        data["cotangent"] = _named(evaluation.cotangent)
        data["vjp"] = _named(evaluation.vjp)
    if hessians is not None:
        inputs = list(graph.inputs)
        data["hessian"] = {
            h.output: {name: _named(dict(zip(inputs, row))) for name, row in zip(inputs, h.matrix)} for h in hessians
        }
        data["hessian_asymmetry"] = {h.output: number(h.asymmetry) for h in hessians}
        data["hessian_sweeps"] = sum(h.sweeps for h in hessians)
    if hessian_products is not None:
        data["hessian_vector_products"] = {label: _named(p) for label, p in zip(labels, hessian_products)}
    return data


def _named(values: dict) -> dict:
    return {name: number(value) for name, value in values.items()}


def picture_to_dict(picture) -> dict:
    """`gradcli graph --json`: every node and edge of a gradcli.picture.Picture.

    Per-output data is keyed by the output's label (as in `out`), like eval's
    `jacobian`: each node's `adjoints` and `feeds_outputs` hold every output,
    whatever --of selects; `output`, `adjoint` and `feeds_output` are about the
    selected output (`selected`, null without --of), else the first output's
    adjoint and any output's use.
    """
    labels = list(picture.output_labels)
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "graph",
        "program": picture.program,
        "point": {name: number(value) for name, value in picture.point.items()},
        "output": picture.output,
        "outputs": [
            {"label": label, "node": node_id, "value": number(picture.nodes[node_id].value)}
            for label, node_id in zip(labels, picture.outputs)
        ],
        "selected": None if picture.selected is None else labels[picture.selected],
        "wrt": picture.wrt,
        "nodes": [
            {
                "id": node.id,
                "name": node.name,
                "text": node.text,
                "op": node.op,
                "role": node.role,
                "value": number(node.value),
                "adjoint": number(node.adjoint),
                "adjoints": {label: number(a) for label, a in zip(labels, node.adjoints)},
                "tangent": number(node.tangent) if node.tangent is not None else None,
                "feeds_output": node.feeds_output,
                "feeds_outputs": dict(zip(labels, node.feeds_outputs)),
            }
            for node in picture.nodes
        ],
        "edges": [
            {"source": e.source, "target": e.target, "argument": e.argument, "partial": number(e.partial)}
            for e in picture.edges
        ],
    }


def error_to_dict(error: GradcliError) -> dict:
    body: dict = {"type": error.kind, "message": error.message, "hint": error.hint}
    if error.span is not None and error.source is not None:
        line, column = line_col(error.source, error.span[0])
        body.update(line=line, column=column, span=list(error.span))
    if error.node is not None:
        body["node"] = error.node
    if error.details:
        body["details"] = _finite(error.details)
    return {"schema_version": SCHEMA_VERSION, "error": body}


def _finite(data):
    if isinstance(data, float):
        return number(data)
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(value) for value in data]
    return data


def dumps(data: dict, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(data, allow_nan=False, ensure_ascii=False, indent=2)
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if isinstance(nodes, NodeEntries) and len(nodes) >= ORJSON_FROM:
        text = _dumps_with_orjson(data, nodes)
        if text is not None:
            return text
    return json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


# From this many nodes, node_entries' list is written by orjson, about 10x
# faster than json; below, importing orjson (about 10 ms) would cost more than it saves.
ORJSON_FROM = 2000
_NODES_HERE = "\x00gradcli: the nodes go here\x00"


def _dumps_with_orjson(data: dict, nodes: NodeEntries) -> str | None:
    """json.dumps' text, but with the nodes written by orjson (None: orjson cannot write them).

    The rest goes through json as before, so a non-finite number there still
    raises; node_entries mapped every number of the nodes. orjson writes
    strings and integers as json does, and the same doubles, in its own
    notation where there is an exponent: 1e-5 and 1e16 for json's 1e-05 and 1e+16.
    """
    import orjson

    head = json.dumps(dict(data, nodes=_NODES_HERE), allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    here = json.dumps(_NODES_HERE)
    if head.count(here) != 1:
        return None
    try:
        body = orjson.dumps(nodes).decode()
    except TypeError:  # something orjson does not write (e.g. a lone surrogate)
        return None
    return head.replace(here, body, 1)


def _verification(v) -> dict:
    kink = v.kink
    return {
        "tested": number(v.tested),
        "numeric": None if v.numeric is None else number(v.numeric),
        "abs_error": None if v.abs_error is None else number(v.abs_error),
        "rel_error": None if v.rel_error is None else number(v.rel_error),
        "step": None if v.step is None else number(v.step),
        "error_estimate": None if v.error_estimate is None else number(v.error_estimate),
        "method": v.method,
        "verdict": v.verdict,
        "kink": None
        if kink is None
        else {
            "nodes": [{"node": node, "description": text} for node, text in kink.nodes],
            "left": None if kink.left is None else number(kink.left),
            "right": None if kink.right is None else number(kink.right),
            "interval": [number(kink.low), number(kink.high)],
            "jump": None if kink.jump is None else number(kink.jump),  # f itself jumps: any value is accepted
        },
        "notes": list(v.notes),
    }


def _partials(result) -> list[dict]:
    return [
        {
            "input": p.input,
            "at": number(p.at),
            "reverse": number(p.reverse),
            "claimed": None if p.claimed is None else number(p.claimed),
            # Which entry: d(output)/d(input), or at order 2 d/d(wrt) of d(output)/d(input).
            "output": p.output,
            "wrt": p.wrt,
            "name": p.name,
            "key": p.key,
            **_verification(p),
        }
        for p in result.partials
    ]


def check_to_dict(result, node_checks=None, samples=None) -> dict:
    """gradcli check as JSON: settings, one entry per Jacobian (or Hessian) entry, and the overall "ok"."""
    evaluation = result.evaluation
    graph = evaluation.graph
    ok = result.ok and all(n.ok for n in node_checks or []) and (samples is None or samples.ok)
    data = {
        "schema_version": SCHEMA_VERSION,
        "command": "check",
        "program": graph.source,
        "point": {name: number(value) for name, value in evaluation.point.items()},
        "settings": {
            "method": result.settings.method,
            "step": None if result.settings.step is None else number(result.settings.step),
            "rtol": number(result.settings.rtol),
            "atol": number(result.settings.atol),
        },
        "ok": ok,
        "order": result.order,
        "value": number(evaluation.value),
        "outputs": [
            {"label": label, "node": node, "value": number(evaluation.values[node])}
            for label, node in zip(evaluation.output_labels, evaluation.outputs)
        ],
        "counts": result.counts(),
        "partials": _partials(result),
        "warnings": [{"kind": w.kind, "message": w.message, "node": w.node} for w in evaluation.warnings],
    }
    if result.hessians is not None:
        data["hessians"] = [
            {"output": h.output, "asymmetry": number(h.asymmetry), "symmetric": h.symmetric} for h in result.hessians
        ]
    if node_checks is not None:
        data["nodes"] = [
            {
                "node": n.node,
                "op": n.op,
                "text": graph.text(graph.nodes[n.node], TEXT_LIMIT),
                "argument": n.argument,
                "argument_node": n.argument_node,
                "partial": n.partial,  # order 2: the partial rule differentiated (argument position), else null
                "partial_node": n.partial_node,
                **_verification(n),
            }
            for n in node_checks
        ]
    if samples is not None:
        worst = samples.worst()
        data["samples"] = {
            "seed": samples.seed,
            "requested": samples.requested,
            "checked": len(samples.results),
            "skipped": samples.skipped,
            "failed": len(samples.failed),
            "ranges": {name: [number(lo), number(hi)] for name, (lo, hi) in samples.ranges.items()},
            "zero_everywhere": samples.zero_everywhere(),
            "worst": None
            if worst is None
            else {
                "point": {k: number(v) for k, v in worst.evaluation.point.items()},
                "ok": worst.ok,
                "partials": _partials(worst),
            },
        }
    return data
