"""Scaling benchmark: parse, evaluate and differentiate generated programs.

For programs of about 10^3, 10^4 and 10^5 graph nodes, in two shapes,

  wide  a staged program with many inputs and assignments, one per line,
        e.g. `t17 = sin(t16) * x5 + t12` (every statement uses the previous
        one, so every node feeds the output and the reverse sweep skips nothing)
  deep  one expression nested as deep as it has nodes,
        e.g. `tan(atan((x3 - log(exp(-(sqrt((... x0 ...)^2)))))))`, built so
        that its gradient neither vanishes nor explodes (see deep_program)

it times, in the same process and the same repeat (so ratios are side by side):

  parse      gradcli.parse(source): Lark LALR parse + gradcli's graph-building
             callbacks, including building the parser from its cached tables (see `parser build`)
  forward    gradcli.graph.forward_values(graph, point): every node's value
  partials   gradcli.graph.local_partials(graph, values): every edge's local derivative
  reverse    gradcli.graph.reverse_sweep(graph, partials): every adjoint
  api        gradcli.evaluate(source, point): the whole Python API call, i.e.
             parse + bind + forward + partials + reverse + the kink and
             non-finite-partial warning passes (what `gradcli eval` computes
             before rendering)
  warnings   those warning passes alone (gradcli.evaluation._differentiability_warnings,
             a private function: the column shows n/a if it is renamed)

and reports two gradient/evaluation ratios:

  reverse / forward              the backward sweep alone against the forward pass
  (partials + reverse) / forward the whole gradient cost against the forward pass

Each step is repeated (--repeats) and the min and median are reported; the
ratios are computed per repeat and their median is reported. The garbage
collector stays enabled (as in real use); gc.collect() runs before every
timed step. Peak memory (tracemalloc, a separate untimed run) is reported
per node for the largest size.

Only the standard library and gradcli (with its dependencies) are needed:

    python bench/bench_scale.py                      # all sizes, both shapes
    python bench/bench_scale.py --sizes 1000 --repeats 3
    python bench/bench_scale.py --json-out /tmp/scale.json
    python bench/bench_scale.py --profile wide:100000   # cProfile of one evaluate()
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time

from machine_info import host
import tracemalloc

import gradcli
from gradcli.graph import forward_values, local_partials, reverse_sweep

# evaluate() also runs the differentiability-warning passes (kinks, non-finite
# partials); they are private, so time them only while they exist under this name.
import gradcli.evaluation as _evaluation_module  # noqa: E402

_warning_passes = getattr(_evaluation_module, "_differentiability_warnings", None)

SEED = 20261123
TARGET_TOTAL_S = 2.0  # 10^5 nodes parsed, evaluated and differentiated
TARGET_REVERSE_RATIO = 3.0  # reverse sweep at most 3x the forward evaluation

# -- program generators ------------------------------------------------------------------
#
# Every template keeps values bounded or growing at most additively, so no
# node overflows and no function leaves its domain at any point in [-1, 1]^n.

_WIDE_TEMPLATES = (
    # (template, nodes it adds, not counting an input's first use)
    ("t{i} = sin({p}) * {x} + {r}", 3),  # call, mul, add
    ("t{i} = tanh({p} * {x}) - cos({r})", 4),  # mul, call, call, sub
    ("t{i} = {p} * sigmoid({r}) + {x}", 3),  # call, mul, add
    ("t{i} = {p} / (1 + {r}^2)", 5),  # const, const, pow, add, div
    ("t{i} = exp(-{r}^2) * {x} + {p}", 6),  # const, pow, neg, call, mul, add
    ("t{i} = sqrt(1 + {p}^2) - {x} * atan({r})", 8),
    ("t{i} = softplus({x}) * cos({p}) + 0.5 * {r}", 6),
    ("t{i} = {p}; t{i} += {x} * sin({r})", 4),  # id, call, mul, add (augmented)
    ("t{i} = max({p}, {r}, {x}) - log(1 + {p}^2)", 7),
)


def wide_program(target_nodes: int, seed: int = SEED) -> tuple[str, dict[str, float]]:
    """A staged program of about `target_nodes` nodes, one input per ~100 nodes."""
    rng = random.Random(seed)
    n_inputs = max(10, target_nodes // 100)
    point = {f"x{j}": round(rng.uniform(-1.0, 1.0), 6) for j in range(n_inputs)}
    lines = [f"t0 = x0 * x{n_inputs - 1} + 1"]
    used = {"x0", f"x{n_inputs - 1}"}
    nodes = 5
    i = 0
    while nodes < target_nodes or len(used) < n_inputs:
        i += 1
        template, cost = rng.choice(_WIDE_TEMPLATES)
        x = f"x{rng.randrange(n_inputs)}" if len(used) == n_inputs or rng.random() < 0.5 else None
        if x is None:  # introduce every input at least once
            x = next(f"x{j}" for j in range(n_inputs) if f"x{j}" not in used)
        if x not in used:
            used.add(x)
            cost += 1
        p = f"t{i - 1}"  # the chain: every statement feeds the next one
        r = f"t{rng.randrange(max(0, i - 51), max(1, i - 1))}"  # plus an earlier one
        lines.append(template.format(i=i, p=p, r=r, x=x))
        nodes += cost
        if i % 97 == 0:
            lines.append(f"# stage {i // 97}")
    return "\n".join(lines) + "\n", point


def deep_program(target_nodes: int, seed: int = SEED) -> tuple[str, dict[str, float]]:
    """One expression nested about as deep as it has nodes.

    A generic deep composition (sin(tanh(sigmoid(...)))) has a gradient that
    underflows to exactly 0 after a few thousand levels, and the reverse sweep
    then skips the rest of the graph. So every level here has a local
    derivative of magnitude 1: inverse pairs (tan(atan(v)), log(exp(v))),
    sqrt(v^2), negation, and adding or subtracting an input, which the
    generator picks so that the value stays within [-2, 2] (it tracks the
    value as it nests). The gradient is then +-1 or +-k for every input and
    the reverse sweep visits every node.
    """
    rng = random.Random(seed + 1)
    n_inputs = 10
    point = {f"x{j}": round(rng.uniform(-1.0, 1.0), 6) for j in range(n_inputs)}
    opens: list[str] = []
    closes: list[str] = []
    value = point["x0"]
    nodes = 1  # the innermost input
    while nodes < target_nodes:
        kind = rng.random()
        if kind < 0.25:
            opens.append("tan(atan(")
            closes.append("))")
            nodes += 2
        elif kind < 0.5:
            opens.append("log(exp(")
            closes.append("))")
            nodes += 2
        elif kind < 0.6 and value != 0.0:
            opens.append("sqrt((")
            closes.append(")^2)")
            value = abs(value)
            nodes += 3  # const, pow, sqrt
        elif kind < 0.7:
            opens.append("-(")
            closes.append(")")
            value = -value
            nodes += 1
        else:
            j = rng.randrange(n_inputs)
            x = point[f"x{j}"]
            sign = "-" if (value > 0) == (x > 0) else "+"  # towards 0
            if rng.random() < 0.5:
                opens.append(f"(x{j} {sign} ")
                closes.append(")")
                value = x + value if sign == "+" else x - value
            else:
                opens.append("(")
                closes.append(f" {sign} x{j})")
                value = value + x if sign == "+" else value - x
            nodes += 1  # plus an input node on first use
    # Each level wraps the one before: the first level is the innermost.
    source = "".join(reversed(opens)) + "x0" + "".join(closes)
    return source, point


GENERATORS = {"wide": wide_program, "deep": deep_program}

# -- measurement ---------------------------------------------------------------------------


def _timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def measure(source: str, point: dict[str, float], repeats: int) -> dict:
    steps = {k: [] for k in ("parse", "forward", "partials", "reverse", "api", "warnings")}
    ratio_reverse, ratio_gradient = [], []
    n_nodes = None
    for _ in range(repeats):
        t_parse, graph = _timed(gradcli.parse, source)
        t_fwd, values = _timed(forward_values, graph, point)
        t_part, partials = _timed(local_partials, graph, values)
        t_rev, adjoints = _timed(reverse_sweep, graph, partials)
        t_api, evaluation = _timed(gradcli.evaluate, source, point)
        n_nodes = len(graph.nodes)
        if _warning_passes is not None:  # private: kinks and non-finite partials, inside evaluate()
            steps["warnings"].append(_timed(_warning_passes, evaluation)[0])
        live = sum(1 for a in adjoints if a != 0.0)  # nodes the reverse sweep did not skip
        # sanity: the standalone passes and the API agree
        assert evaluation.gradient == {name: adjoints[i] for name, i in graph.inputs.items()}
        evaluation_gradient = evaluation.gradient
        for key, t in zip(("parse", "forward", "partials", "reverse", "api"), (t_parse, t_fwd, t_part, t_rev, t_api)):
            steps[key].append(t)
        ratio_reverse.append(t_rev / t_fwd)
        ratio_gradient.append((t_part + t_rev) / t_fwd)
        del graph, values, partials, adjoints, evaluation
    result = {
        "nodes": n_nodes,
        "nonzero_adjoints": live,
        "gradient_sample": dict(list(evaluation_gradient.items())[:3]),
        "source_bytes": len(source.encode()),
        "inputs": len(point),
        "repeats": repeats,
        "seconds": {k: {"min": min(v), "median": statistics.median(v), "all": v} for k, v in steps.items() if v},
        "ratio_reverse_over_forward": {"min": min(ratio_reverse), "median": statistics.median(ratio_reverse)},
        "ratio_partials_reverse_over_forward": {
            "min": min(ratio_gradient),
            "median": statistics.median(ratio_gradient),
        },
    }
    core = [sum(steps[k][i] for k in ("parse", "forward", "partials", "reverse")) for i in range(repeats)]
    result["seconds"]["core_total"] = {"min": min(core), "median": statistics.median(core), "all": core}
    return result


def peak_memory(source: str, point: dict[str, float]) -> dict:
    """tracemalloc peaks (bytes) for parse alone and for the whole API call."""
    gc.collect()
    tracemalloc.start()
    graph = gradcli.parse(source)
    _, parse_peak = tracemalloc.get_traced_memory()
    graph_size, _ = tracemalloc.get_traced_memory()
    del graph
    gc.collect()
    tracemalloc.reset_peak()
    evaluation = gradcli.evaluate(source, point)
    current, api_peak = tracemalloc.get_traced_memory()
    n = len(evaluation.graph.nodes)
    del evaluation
    tracemalloc.stop()
    return {
        "nodes": n,
        "parse_peak_bytes": parse_peak,
        "graph_retained_bytes": graph_size,
        "api_peak_bytes": api_peak,
        "evaluation_retained_bytes": current,
        "parse_peak_per_node": parse_peak / n,
        "graph_retained_per_node": graph_size / n,
        "api_peak_per_node": api_peak / n,
        "evaluation_retained_per_node": current / n,
    }


_CALLBACKS = ("number", "name", "call", "group", "add", "sub", "mul", "div", "pow", "neg", "pos",
              "assign", "augassign", "expr_stmt", "start")


class _NullBuilder:
    """Lark callbacks that build nothing: Lark's own parsing cost, without gradcli's."""


for _name in _CALLBACKS:
    setattr(_NullBuilder, _name, lambda self, children: None)


def parse_breakdown(source: str, repeats: int) -> dict:
    """Where parse time goes, measured without a profiler (min over repeats, seconds).

    lark_lex  Lark's own lexer alone (the standalone parser's BasicLexer)
    lex       the lexer gradcli installs (gradcli.lalr.token_stream_lexer) alone
    lalr      that lexer + Lark's LALR parser with callbacks that do nothing
    gradcli   gradcli.parse(source): the same plus gradcli's graph-building
              callbacks and building the parser from the loaded tables
    """
    from gradcli import parser as gradcli_parser

    standalone = gradcli_parser._parser_module()
    plugins = gradcli_parser._plugins
    conf = standalone.Lark_StandAlone().lexer_conf
    lark_lexer = standalone.BasicLexer(conf)
    gradcli_lexer = plugins["BasicLexer"](conf)

    def lex_all(lexer):
        return list(lexer.lex(standalone.LexerState(standalone.TextSlice.cast_from(source)), None))

    null = standalone.Lark_StandAlone(transformer=_NullBuilder(), _plugins=plugins)
    lark_lex, lex, lalr, full = [], [], [], []
    for _ in range(repeats):  # interleaved, so that the four see the same machine load
        lark_lex.append(_timed(lex_all, lark_lexer)[0])
        t, tokens = _timed(lex_all, gradcli_lexer)
        lex.append(t)
        lalr.append(_timed(null.parse, source)[0])
        full.append(_timed(gradcli.parse, source)[0])
    return {
        "tokens": len(tokens),
        "lark_lex": min(lark_lex),
        "lex": min(lex),
        "lalr_null_callbacks": min(lalr),
        "gradcli_parse": min(full),
    }


def grammar_load_seconds(repeats: int = 20) -> float:
    """The fixed cost in every parse: parsing the one-node program `x` (mostly loading the grammar)."""
    gradcli.parse("x")  # fill Lark's grammar cache
    return min(_timed(gradcli.parse, "x")[0] for _ in range(repeats))


def machine() -> dict:
    import lark

    return {
        **host(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "gradcli": gradcli.__version__,
        "gradcli_path": os.path.dirname(gradcli.__file__),
        "lark": lark.__version__,
    }


def profile(spec: str, top: int) -> None:
    shape, size = spec.split(":")
    source, point = GENERATORS[shape](int(size))
    gradcli.parse("x")  # grammar cache warm
    profiler = cProfile.Profile()
    profiler.enable()
    gradcli.evaluate(source, point)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    print(f"cProfile of gradcli.evaluate(<{shape} program, {size} nodes>), top {top} by own time:")
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())
    out.seek(0)
    out.truncate()
    stats.sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


def _ms(x: float) -> str:
    return f"{x * 1e3:9.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--shapes", nargs="+", choices=sorted(GENERATORS), default=["wide", "deep"])
    parser.add_argument("--repeats", type=int, default=5, help="repeats per size (default 5)")
    parser.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the parse-time breakdown")
    parser.add_argument("--profile", metavar="SHAPE:SIZE", help="only print a cProfile of one evaluate() call")
    parser.add_argument("--top", type=int, default=25, help="lines of profile output (default 25)")
    args = parser.parse_args(argv)

    if args.profile:
        profile(args.profile, args.top)
        return 0

    info = machine()
    print(
        f"gradcli {info['gradcli']} ({info['gradcli_path']}), lark {info['lark']}, "
        f"Python {info['python']} on {info['machine']}, {info['nproc']} CPUs ({info['cpu']}), {info['date']}, "
        f"load average {' '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}"
    )
    load = grammar_load_seconds()
    print(f"parser build (parse of `x`, min of 20): {load * 1e3:.2f} ms, included in every parse below")
    print(f"repeats: {args.repeats}; times in ms, min / median; ratios: median over repeats\n")

    header = (
        f"{'program':<13}{'nodes':>8} {'parse':>19} {'forward':>19} {'partials':>19} {'reverse':>19} "
        f"{'api evaluate()':>19} {'warnings':>19} {'rev/fwd':>8} {'(par+rev)/fwd':>14} {'adj!=0':>8}"
    )
    print(header)
    print("-" * len(header))
    results = []
    for size in args.sizes:
        for shape in args.shapes:
            source, point = GENERATORS[shape](size)
            r = measure(source, point, args.repeats)
            r.update(shape=shape, target_nodes=size)
            results.append(r)
            s = r["seconds"]
            cells = " ".join(
                (f"{_ms(s[k]['min'])} /{_ms(s[k]['median'])}" if k in s else "n/a").rjust(19)
                for k in ("parse", "forward", "partials", "reverse", "api", "warnings")
            )
            print(
                f"{shape + ' ' + f'{size:.0e}'.replace('+0', ''):<13}{r['nodes']:>8} {cells} "
                f"{r['ratio_reverse_over_forward']['median']:>8.2f} "
                f"{r['ratio_partials_reverse_over_forward']['median']:>14.2f} {r['nonzero_adjoints']:>8}"
            )
            sys.stdout.flush()

    memory = {}
    if not args.no_memory:
        print("\npeak memory (tracemalloc, separate run), largest size:")
        biggest = max(args.sizes)
        for shape in args.shapes:
            source, point = GENERATORS[shape](biggest)
            m = peak_memory(source, point)
            memory[shape] = m
            print(
                f"  {shape:<5} {m['nodes']:>7} nodes: parse peak {m['parse_peak_bytes'] / 2**20:7.1f} MiB "
                f"({m['parse_peak_per_node']:.0f} B/node), graph kept {m['graph_retained_per_node']:.0f} B/node; "
                f"evaluate() peak {m['api_peak_bytes'] / 2**20:7.1f} MiB ({m['api_peak_per_node']:.0f} B/node), "
                f"result kept {m['evaluation_retained_per_node']:.0f} B/node"
            )

    breakdown = {}
    if not args.no_breakdown:
        biggest = max(args.sizes)
        print(f"\nwhere parse time goes, largest size (min of {args.repeats}, no profiler):")
        for shape in args.shapes:
            source, point = GENERATORS[shape](biggest)
            b = parse_breakdown(source, args.repeats)
            breakdown[shape] = b
            lex, lalr, full = b["lex"], b["lalr_null_callbacks"], b["gradcli_parse"]
            print(
                f"  {shape:<5} {b['tokens']:>7} tokens: lexer {lex * 1e3:7.1f} ms ({lex / full:4.0%}; "
                f"Lark's own lexer: {b['lark_lex'] * 1e3:.1f} ms), "
                f"Lark LALR + callback dispatch {(lalr - lex) * 1e3:7.1f} ms ({(lalr - lex) / full:4.0%}), "
                f"gradcli callbacks + parser build {(full - lalr) * 1e3:7.1f} ms ({(full - lalr) / full:4.0%}); "
                f"gradcli.parse {full * 1e3:7.1f} ms = {full / b['tokens'] * 1e6:.1f} us/token"
            )

    print("\ntargets:")
    for r in results:
        if r["target_nodes"] != 100_000:
            continue
        api, core = r["seconds"]["api"], r["seconds"]["core_total"]

        def verdict(t: float) -> str:
            return "met" if t < TARGET_TOTAL_S else f"MISSED by {t / TARGET_TOTAL_S:.2f}x"

        print(
            f"  {r['shape']} 1e5 under {TARGET_TOTAL_S:g} s: evaluate() min {api['min']:.2f} s ({verdict(api['min'])}), "
            f"median {api['median']:.2f} s ({verdict(api['median'])}); "
            f"parse+forward+partials+reverse min {core['min']:.2f} s, median {core['median']:.2f} s"
        )
    for r in results:
        rev = r["ratio_reverse_over_forward"]["median"]
        grad = r["ratio_partials_reverse_over_forward"]["median"]
        print(
            f"  {r['shape']} {r['target_nodes']:.0e}: reverse/forward {rev:.2f} "
            f"({'met' if rev <= TARGET_REVERSE_RATIO else 'MISSED'}), "
            f"(partials+reverse)/forward {grad:.2f} ({'met' if grad <= TARGET_REVERSE_RATIO else 'MISSED'})"
        )

    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(
                {"machine": info, "grammar_load_seconds": load, "results": results, "memory": memory,
                 "parse_breakdown": breakdown,
                 "targets": {"total_seconds": TARGET_TOTAL_S, "reverse_over_forward": TARGET_REVERSE_RATIO}},
                handle,
                indent=2,
            )
        print(f"\nwrote {args.json_out}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
