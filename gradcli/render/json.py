"""Strict JSON output: no bare NaN or Infinity, a versioned schema.

Non-finite numbers become the strings "NaN", "Infinity" and "-Infinity";
integral doubles print without a fraction (6, not 6.0) so that `jq` shows
what a person expects. New keys may be added; existing keys keep their meaning.
"""

from __future__ import annotations

import json
import math

from ..errors import GradcliError, line_col
from ..evaluation import Evaluation

SCHEMA_VERSION = 1
TEXT_LIMIT = 80  # node text longer than this is shortened in the middle; `span` stays exact


def number(x: float) -> float | int | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x) and abs(x) < 2.0**53 and not (x == 0.0 and math.copysign(1.0, x) < 0):
        return int(x)
    return x


def evaluation_to_dict(evaluation: Evaluation) -> dict:
    graph = evaluation.graph
    adjoints = evaluation.adjoints
    tangent_items = list(evaluation.tangents.items())
    nodes = []
    for node in graph.nodes:
        entry = {
            "id": node.id,
            "op": node.op.name,
            "name": node.name,
            "text": graph.text(node, TEXT_LIMIT),
            "span": list(node.span),
            "inputs": list(node.args),
            "value": number(evaluation.values[node.id]),
            "partials": [number(p) for p in evaluation.partials[node.id]],
            "adjoint": number(adjoints[node.id]) if adjoints is not None else None,
        }
        for wrt, tangents in tangent_items:
            entry["tangent"] = {wrt: number(tangents[node.id])}
        nodes.append(entry)
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "eval",
        "program": graph.source,
        "point": {name: number(value) for name, value in evaluation.point.items()},
        "inputs": list(graph.inputs),
        "mode": evaluation.mode,
        "sweeps": evaluation.sweeps,
        "output": graph.output,
        "value": number(evaluation.value),
        "gradient": {name: number(value) for name, value in evaluation.gradient.items()},
        "wrt": tangent_items[0][0] if tangent_items else None,
        "nodes": nodes,
        "warnings": [
            {"kind": w.kind, "message": w.message, "node": w.node} for w in evaluation.warnings
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
    return json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
