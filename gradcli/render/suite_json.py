"""Strict JSON of `gradcli test` results: one object per case and a closing summary (`--jsonl`).

Every float goes through `render.json.number`, so non-finite numbers are the
strings "NaN", "Infinity" and "-Infinity" and `json.dumps(..., allow_nan=False)`
accepts the output. Point indices are 0-based, lines 1-based.
"""

from __future__ import annotations

from ..suite import STATUSES
from .json import SCHEMA_VERSION, number


def _opt(x: float | None):
    return None if x is None else number(x)


def _numbers(table: dict[str, float] | None) -> dict | None:
    return None if table is None else {name: number(v) for name, v in table.items()}


def _check(check) -> dict | None:
    if check is None:
        return None
    return {
        "ok": check.ok,
        "partials": [{"input": p.input, "tested": number(p.tested), "numeric": _opt(p.numeric),
                      "rel_error": _opt(p.rel_error), "verdict": p.verdict, "ok": p.ok} for p in check.partials],
    }


def _samples(samples) -> dict | None:
    if samples is None:
        return None
    return {"ok": samples.ok, "seed": samples.seed, "requested": samples.requested,
            "checked": len(samples.results), "failed": len(samples.failed), "skipped": samples.skipped}


def case_to_dict(result) -> dict:
    return {
        "type": "case",
        "schema_version": SCHEMA_VERSION,
        "file": result.file,
        "name": result.name,
        "line": result.line,
        "status": result.status,
        "message": result.message,
        "seconds": number(result.seconds),
        "points": [
            {
                "index": p.index,
                "at": _numbers(p.at),
                "line": p.line,
                "status": p.status,
                "message": p.message,
                "value": _opt(p.value),
                "gradient": _numbers(p.gradient),
                "worst": _opt(p.worst),
                "comparisons": [
                    {"what": c.what, "expected": number(c.expected), "actual": number(c.actual),
                     "abs_error": number(c.abs_error), "rel_error": number(c.rel_error), "ok": c.ok}
                    for c in p.comparisons
                ],
                "check": _check(p.check),
            }
            for p in result.points
        ],
        "samples": _samples(result.samples),
    }


def summary_to_dict(results: list) -> dict:
    points = [p for r in results for p in r.points]
    return {
        "type": "summary",
        "schema_version": SCHEMA_VERSION,
        "cases": {"total": len(results), **{s: sum(r.status == s for r in results) for s in STATUSES}},
        "points": {"total": len(points), **{s: sum(p.status == s for p in points) for s in STATUSES}},
        "files": len({r.file for r in results}),
        "seconds": number(sum(r.seconds for r in results)),
        "ok": all(r.status in ("pass", "recorded") for r in results),
    }
