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


def picture_to_dict(picture) -> dict:
    """`gradcli graph --json`: every node and edge of a gradcli.picture.Picture."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "graph",
        "program": picture.program,
        "point": {name: number(value) for name, value in picture.point.items()},
        "output": picture.output,
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
                "tangent": number(node.tangent) if node.tangent is not None else None,
                "feeds_output": node.feeds_output,
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
    return json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


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
            **_verification(p),
        }
        for p in result.partials
    ]


def check_to_dict(result, node_checks=None, samples=None) -> dict:
    """gradcli check as JSON: settings, one entry per input, and the overall "ok"."""
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
        "value": number(evaluation.value),
        "counts": result.counts(),
        "partials": _partials(result),
        "warnings": [{"kind": w.kind, "message": w.message, "node": w.node} for w in evaluation.warnings],
    }
    if node_checks is not None:
        data["nodes"] = [
            {
                "node": n.node,
                "op": n.op,
                "text": graph.text(graph.nodes[n.node], TEXT_LIMIT),
                "argument": n.argument,
                "argument_node": n.argument_node,
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
