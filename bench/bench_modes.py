"""Forward against reverse mode (issue 7): sweeps and time for a wide and a tall program.

Two generated programs, with a fixed seed:

  wide  many inputs, one output: bench_scale's `wide` staged program with
        --wide-inputs inputs (default 1,000), about 5 nodes per input
  tall  few inputs, many outputs: bench_scale's `wide` program over
        --tall-inputs inputs (default 3), ended by `out` with --tall-outputs
        outputs (default 1,000), `tN * tK`: each one depends on the whole
        staged body through its last value tN, so every backward sweep walks
        the whole graph

For each program and repeat, in one process, interleaved (every repeat runs
every (program, mode) pair once, in a rotated order, so all see the same
machine load; gc.collect() before each):

  evaluate(graph, point, mode="forward")   one tangent sweep per input
  evaluate(graph, point, mode="reverse")   one backward sweep per output
  evaluate(graph, point, mode="auto")      gradcli's choice (evaluation.choose_mode)

and reports the sweeps each took (Evaluation.sweeps), min / median time, and
whether auto chose the faster of the two. The times are of the whole
evaluate(): values and partials (the same in every mode), the sweeps, and the
warning passes. The three Jacobians are compared (largest relative difference)
so that a fast wrong answer would show.

    python bench/bench_modes.py                       # about 2 minutes on a quiet machine
    python bench/bench_modes.py --repeats 3 --wide-inputs 300 --tall-outputs 300
    python bench/bench_modes.py --json-out /tmp/modes.json

Benchmarks only: nothing here is asserted in tests/.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import statistics
import sys
import time

from bench_scale import SEED, wide_program
from machine_info import host

import gradcli
from gradcli.evaluation import choose_mode, evaluate

MODES = ("forward", "reverse", "auto")


def wide(inputs: int) -> tuple[str, dict[str, float]]:
    """Many inputs, one output: about 5 nodes per input, every input used."""
    return wide_program(5 * inputs, SEED, inputs=inputs)


def tall(inputs: int, outputs: int) -> tuple[str, dict[str, float]]:
    """Few inputs, `outputs` outputs tN * tK over a staged body of about 2 statements per output."""
    body, point = wide_program(8 * outputs, SEED + 2, inputs=inputs)
    last = max(int(k) for k in re.findall(r"^t(\d+) ", body, re.M))
    step = max(1, last // outputs)
    picks = [last - 1 - step * k for k in range(outputs)]
    if picks[-1] < 0:
        raise SystemExit(f"the tall body has {last} statements, too few for {outputs} outputs")
    return body + "out " + ", ".join(f"t{last} * t{k}" for k in picks) + "\n", point


def _timed(fn, *args, **kwargs):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def _largest_difference(a: list[list[float]], b: list[list[float]]) -> float:
    worst = 0.0
    for row_a, row_b in zip(a, b, strict=True):
        for x, y in zip(row_a, row_b, strict=True):
            if x != y:
                worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return worst


def measure(programs: dict[str, tuple[str, dict[str, float]]], repeats: int) -> dict:
    graphs = {name: gradcli.parse(source) for name, (source, _) in programs.items()}
    pairs = [(name, mode) for name in programs for mode in MODES]
    seconds: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
    results: dict[tuple[str, str], object] = {}
    for repeat in range(repeats):
        shift = repeat % len(pairs)
        for name, mode in pairs[shift:] + pairs[:shift]:
            t, evaluation = _timed(evaluate, graphs[name], programs[name][1], mode=mode)
            seconds[name, mode].append(t)
            results[name, mode] = evaluation
            print(f"  repeat {repeat + 1}/{repeats}  {name:<5} {mode:<8} {t * 1e3:9.1f} ms", file=sys.stderr)
    report = {}
    for name, graph in graphs.items():
        rows = {}
        for mode in MODES:
            evaluation = results[name, mode]
            times = seconds[name, mode]
            rows[mode] = {
                "mode_used": evaluation.mode,
                "sweeps": evaluation.sweeps,
                "min_s": min(times),
                "median_s": statistics.median(times),
                "all_s": times,
            }
        forward, reverse = results[name, "forward"], results[name, "reverse"]
        faster = "forward" if rows["forward"]["median_s"] < rows["reverse"]["median_s"] else "reverse"
        report[name] = {
            "nodes": len(graph.nodes),
            "inputs": len(graph.inputs),
            "outputs": len(graph.outputs),
            "modes": rows,
            "auto_chose": results[name, "auto"].mode,
            "choose_mode": choose_mode(len(graph.inputs), len(graph.outputs)),
            "faster_by_median": faster,
            "slower_over_faster": max(rows["forward"]["median_s"], rows["reverse"]["median_s"])
            / min(rows["forward"]["median_s"], rows["reverse"]["median_s"]),
            "forward_vs_reverse_max_rel_diff": _largest_difference(forward.jacobian, reverse.jacobian),
            "auto_equals_its_mode": results[name, "auto"].jacobian == results[name, results[name, "auto"].mode].jacobian,
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (default 5)")
    parser.add_argument("--wide-inputs", type=int, default=1000)
    parser.add_argument("--tall-inputs", type=int, default=3)
    parser.add_argument("--tall-outputs", type=int, default=1000)
    parser.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)

    info = {**host(), "python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "gradcli": gradcli.__version__, "gradcli_path": os.path.dirname(gradcli.__file__)}
    print(
        f"gradcli {info['gradcli']} ({info['gradcli_path']}), Python {info['python']} on {info['machine']}, "
        f"{info['nproc']} CPUs ({info['cpu']}), {info['date']}, "
        f"load average {' '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}"
    )
    programs = {"wide": wide(args.wide_inputs), "tall": tall(args.tall_inputs, args.tall_outputs)}
    report = measure(programs, args.repeats)

    print(f"\n{args.repeats} interleaved repeats in one process; evaluate(graph, point, mode=...) in ms, min / median\n")
    header = f"{'program':<8} {'nodes':>6} {'inputs':>6} {'outputs':>7}   {'mode':<8} {'used':<8} {'sweeps':>6} {'min':>9} {'median':>9}"
    print(header)
    print("-" * len(header))
    for name, r in report.items():
        for mode in MODES:
            m = r["modes"][mode]
            print(f"{name:<8} {r['nodes']:>6} {r['inputs']:>6} {r['outputs']:>7}   {mode:<8} {m['mode_used']:<8} "
                  f"{m['sweeps']:>6} {m['min_s'] * 1e3:>9.1f} {m['median_s'] * 1e3:>9.1f}")
    print()
    for name, r in report.items():
        verdict = "the faster one" if r["auto_chose"] == r["faster_by_median"] else "NOT the faster one"
        print(f"{name}: auto chose {r['auto_chose']} ({verdict}; the other mode takes "
              f"{r['slower_over_faster']:.1f}x as long by median); forward vs reverse Jacobians differ by at most "
              f"{r['forward_vs_reverse_max_rel_diff']:.1e} (relative); auto's Jacobian is its mode's: "
              f"{r['auto_equals_its_mode']}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump({"machine": info, "repeats": args.repeats, "results": report}, handle, indent=2)
        print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
