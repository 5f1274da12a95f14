"""Scaling benchmark: parse, evaluate and differentiate generated programs.

Programs are generated with a fixed seed, in three shapes, at about 10^3, 10^4
and 10^5 graph nodes (and 10^6 with --huge):

  wide  a staged program with one input per 100 nodes, one assignment per line,
        e.g. `t17 = sin(t16) * x5 + t12` (every statement uses the previous
        one, so every node feeds the output and the reverse sweep skips nothing)
  many  the same with one input per 10 nodes: 10^4 inputs at 10^5 nodes
  deep  one expression nested as deep as it has nodes,
        e.g. `tan(atan((x3 - log(exp(-(sqrt((... x0 ...)^2)))))))`, built so
        that its gradient neither vanishes nor explodes (see deep_program)

For each program and repeat it times, in one process, back to back:

  parse        gradcli.parse(source): Lark's LALR parser, gradcli's lexer and
               graph-building callbacks, and building the parser from its cached tables
  forward      gradcli.graph.forward_values(graph, point): every node's value
  partials     gradcli.graph.local_partials(graph, values): every edge's local derivative
  fwd+par      gradcli.graph.values_and_partials(graph, point), the one loop that
               evaluate() runs for both (where it exists; else forward + partials)
  reverse      gradcli.graph.reverse_sweep(graph, partials): every adjoint
  eval(graph)  gradcli.evaluate(graph, point): everything evaluate() does after
               parsing: bind the point, values, partials, the reverse sweep, the
               gradient and the warning passes
  api          gradcli.evaluate(source, point): the same from the source text
  warnings     the warning passes alone (gradcli.evaluation._differentiability_warnings,
               private: n/a if renamed)

and reports rev/eval, the reverse sweep against the evaluation it differentiates
(fwd+par), and rev/fwd, against the forward values alone. Each repeat runs in a
fresh process (a worker: this script with --worker), so repeats do not share a
heap; ratios are computed within each repeat and their median is reported;
times are given as min / median. The garbage collector stays enabled, as in real
use, with gc.collect() before each timed step.

Then, for the largest size:

  memory       tracemalloc peaks per node: during parse, the graph kept, during
               evaluate(), the Evaluation kept
  end to end   whole processes on the `many` program (10^4 inputs), interleaved:
               `gradcli eval -f FILE x0=... x9999=... --json` (every node as JSON),
               `gradcli eval -f FILE --points point.csv` (value and gradient,
               the point from a file), and a Python one-liner calling
               gradcli.evaluate and printing the value and gradient as JSON;
               and, in one process, where the first of these spends its time
  breakdown    where parse time goes, without a profiler: gradcli's lexer alone,
               Lark's LALR parser with callbacks that do nothing, gradcli.parse

--huge adds 10^6-node programs: parse and evaluate(graph) time and the peak
resident memory of the process (ru_maxrss), one process per shape.

--baseline DIR runs every measurement also with the gradcli found in DIR (a
checkout or `git worktree` of an earlier commit), interleaved with the current
one repeat by repeat, so that both see the same machine load:

    python bench/bench_scale.py                      # about 4 minutes (15 with --baseline --huge)
    python bench/bench_scale.py --sizes 1000 10000 --repeats 3 --no-memory --no-breakdown --no-e2e
    python bench/bench_scale.py --baseline /tmp/gradcli-before --huge --json-out /tmp/scale.json
    python bench/bench_scale.py --profile many:100000   # cProfile of one evaluate()

Only the standard library and gradcli (with its dependencies) are needed.
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
import subprocess
import sys
import tempfile
import time
import tracemalloc

from machine_info import host

import gradcli

SEED = 20261123
# Issue 6 targets, for the `many` program of 10^5 nodes and 10^4 inputs.
TARGET_END_TO_END_S = 1.5  # `gradcli eval -f ... --json`, the whole process
TARGET_EVALUATE_S = 0.100  # evaluate(graph): everything after parsing
TARGET_REVERSE_RATIO = 1.5  # reverse sweep / (values + partials)
# Issue 2 targets, still checked: 10^5 nodes parsed, evaluated and differentiated
# in under 2 s (api), the reverse sweep at most 3x the forward values.
TARGET_API_S = 2.0
TARGET_REVERSE_FORWARD_RATIO = 3.0

E2E_JSON = "gradcli eval -f FILE NAME=VALUE... --json"
STEPS = ("parse", "forward", "partials", "fwd+par", "reverse", "eval(graph)", "api", "warnings")

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


def wide_program(target_nodes: int, seed: int = SEED, inputs: int | None = None) -> tuple[str, dict[str, float]]:
    """A staged program of about `target_nodes` nodes with `inputs` inputs (default: one per 100 nodes)."""
    rng = random.Random(seed)
    n_inputs = inputs if inputs is not None else max(10, target_nodes // 100)
    point = {f"x{j}": round(rng.uniform(-1.0, 1.0), 6) for j in range(n_inputs)}
    lines = [f"t0 = x0 * x{n_inputs - 1} + 1"]
    used = {"x0", f"x{n_inputs - 1}"}
    fresh = 0  # every input below this one is used
    nodes = 5
    i = 0
    while nodes < target_nodes or len(used) < n_inputs:
        i += 1
        template, cost = rng.choice(_WIDE_TEMPLATES)
        x = f"x{rng.randrange(n_inputs)}" if len(used) == n_inputs or rng.random() < 0.5 else None
        if x is None:  # introduce every input at least once
            while f"x{fresh}" in used:
                fresh += 1
            x = f"x{fresh}"
        if x not in used and "{x}" in template:  # (one template has no input)
            used.add(x)
            cost += 1
        p = f"t{i - 1}"  # the chain: every statement feeds the next one
        r = f"t{rng.randrange(max(0, i - 51), max(1, i - 1))}"  # plus an earlier one
        lines.append(template.format(i=i, p=p, r=r, x=x))
        nodes += cost
        if i % 97 == 0:
            lines.append(f"# stage {i // 97}")
    return "\n".join(lines) + "\n", point


def many_program(target_nodes: int, seed: int = SEED) -> tuple[str, dict[str, float]]:
    """A wide program with one input per 10 nodes: 10^4 inputs at 10^5 nodes."""
    return wide_program(target_nodes, seed, inputs=max(10, target_nodes // 10))


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


GENERATORS = {"wide": wide_program, "many": many_program, "deep": deep_program}

# -- measurements, run in a worker process with the gradcli under test ---------------------


def _timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def measure_once(source: str, point: dict[str, float]) -> dict:
    """One repeat of every step (seconds), side by side."""
    from gradcli import evaluation, graph as graph_module

    gradcli.parse("x")  # the parser's tables loaded, as in any later parse
    seconds = {}
    seconds["parse"], graph = _timed(gradcli.parse, source)
    seconds["forward"], values = _timed(graph_module.forward_values, graph, point)
    seconds["partials"], partials = _timed(graph_module.local_partials, graph, values)
    fused = getattr(graph_module, "values_and_partials", None)
    seconds["fwd+par"] = _timed(fused, graph, point)[0] if fused else seconds["forward"] + seconds["partials"]
    seconds["reverse"], adjoints = _timed(graph_module.reverse_sweep, graph, partials)
    seconds["eval(graph)"], result = _timed(gradcli.evaluate, graph, point)
    seconds["api"], _ = _timed(gradcli.evaluate, source, point)
    warning_passes = getattr(evaluation, "_differentiability_warnings", None)
    if warning_passes is not None:
        seconds["warnings"] = _timed(warning_passes, result)[0]
    # The passes and the API agree, and the sweep visited the whole graph.
    assert result.gradient == {name: adjoints[i] for name, i in graph.inputs.items()}
    return {
        "seconds": seconds,
        "nodes": len(graph.nodes),
        "inputs": len(graph.inputs),
        "nonzero_adjoints": sum(1 for a in adjoints if a != 0.0),
        "gradient_sample": dict(list(result.gradient.items())[:3]),
    }


def peak_memory(source: str, point: dict[str, float]) -> dict:
    """tracemalloc peaks (bytes) for parse alone and for the whole API call."""
    gradcli.parse("x")
    gc.collect()
    tracemalloc.start()
    graph = gradcli.parse(source)
    graph_size, parse_peak = tracemalloc.get_traced_memory()
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


def huge(source: str, point: dict[str, float]) -> dict:
    """Parse and evaluate once; the process's peak resident memory (the source is read before)."""
    import resource

    gradcli.parse("x")
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    parse_s, graph = _timed(gradcli.parse, source)
    evaluate_s, result = _timed(gradcli.evaluate, graph, point)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "nodes": len(graph.nodes),
        "parse_s": parse_s,
        "evaluate_s": evaluate_s,
        "peak_rss_bytes": peak,
        "rss_before_bytes": before,
        "value": result.value,
    }


_CALLBACKS = ("number", "name", "call", "group", "add", "sub", "mul", "div", "pow", "neg", "pos",
              "assign", "augassign", "expr_stmt", "start", "same", "statements")


class _NullBuilder:
    """Lark callbacks that build nothing: Lark's own parsing cost, without gradcli's."""


for _name in _CALLBACKS:
    setattr(_NullBuilder, _name, lambda self, children: None)


def parse_breakdown(source: str, repeats: int) -> dict:
    """Where parse time goes, measured without a profiler (min over repeats, seconds).

    lex       the lexer gradcli installs (through Lark's _plugins hook) alone
    lalr      that lexer + Lark's LALR parser with callbacks that do nothing
    gradcli   gradcli.parse(source): the same plus gradcli's graph-building
              callbacks and building the parser from the loaded tables
    """
    from gradcli import parser as gradcli_parser

    standalone = gradcli_parser._parser_module()
    plugins = gradcli_parser._plugins
    lexer = plugins["BasicLexer"](standalone.Lark_StandAlone().lexer_conf)

    def lex_all():
        return sum(1 for _ in lexer.lex(standalone.LexerState(standalone.TextSlice.cast_from(source)), None))

    null = standalone.Lark_StandAlone(transformer=_NullBuilder(), _plugins=plugins)
    lex, lalr, full = [], [], []
    for _ in range(repeats):  # interleaved, so that the three see the same machine load
        t, tokens = _timed(lex_all)
        lex.append(t)
        lalr.append(_timed(null.parse, source)[0])
        full.append(_timed(gradcli.parse, source)[0])
    return {"tokens": tokens, "lex": min(lex), "lalr_null_callbacks": min(lalr), "gradcli_parse": min(full)}


def e2e_breakdown(source_path: str, point: dict[str, float]) -> dict:
    """Where `gradcli eval -f FILE NAME=VALUE... --json` spends its time, step by step in one process."""
    from gradcli.cli import read_program
    from gradcli.point import parse_assignments
    from gradcli.render.json import dumps, evaluation_to_dict

    gradcli.parse("x")
    steps = {}
    steps["read"], (source, assignments) = _timed(read_program, (), source_path)
    arguments = [f"{name}={value!r}" for name, value in point.items()]
    steps["NAME=VALUE"], values = _timed(parse_assignments, arguments)
    steps["parse"], graph = _timed(gradcli.parse, source)
    steps["evaluate(graph)"], result = _timed(gradcli.evaluate, graph, values)
    steps["to dict"], data = _timed(evaluation_to_dict, result)
    steps["json dumps"], text = _timed(dumps, data)
    return {"seconds": steps, "output_bytes": len(text.encode())}


def worker(kind: str, program_path: str, repeats: int) -> dict:
    with open(program_path, encoding="utf-8") as handle:
        source = handle.read()
    with open(program_path + ".point.json", encoding="utf-8") as handle:
        point = json.load(handle)
    if kind == "measure":
        return measure_once(source, point)
    if kind == "memory":
        return peak_memory(source, point)
    if kind == "huge":
        return huge(source, point)
    if kind == "breakdown":
        return parse_breakdown(source, repeats)
    if kind == "e2e":
        return e2e_breakdown(program_path, point)
    raise SystemExit(f"unknown worker kind {kind}")


# -- the parent: programs on disk, workers per version, interleaved -------------------------


class Version:
    """A gradcli to measure: the importable one, or a checkout given by --baseline."""

    def __init__(self, label: str, root: str, scratch: str):
        self.label = label
        self.root = root
        # Each version keeps its own parser cache: their grammars may differ.
        self.env = dict(os.environ, PYTHONPATH=root, GRADCLI_CACHE_DIR=os.path.join(scratch, f"cache-{label}"),
                        NO_COLOR="1")

    def run(self, kind: str, program_path: str, repeats: int = 1) -> dict:
        argv = [sys.executable, os.path.abspath(__file__), "--worker", kind, program_path, "--repeats", str(repeats)]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"worker {kind} for {self.label} failed:\n{done.stderr}")
        return json.loads(done.stdout)

    def gradcli_command(self) -> list[str]:
        script = os.path.join(os.path.dirname(sys.executable), "gradcli")
        # The console script imports gradcli from PYTHONPATH, i.e. this version.
        return [script] if os.path.isfile(script) else [sys.executable, "-m", "gradcli"]


def write_program(directory: str, shape: str, size: int) -> tuple[str, dict[str, float]]:
    source, point = GENERATORS[shape](size)
    path = os.path.join(directory, f"{shape}-{size}.grad")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source)
    with open(path + ".point.json", "w", encoding="utf-8") as handle:
        json.dump(point, handle)
    with open(path + ".point.csv", "w", encoding="utf-8") as handle:
        handle.write(",".join(point) + "\n" + ",".join(repr(v) for v in point.values()) + "\n")
    return path, point


def measure(versions: list[Version], path: str, repeats: int) -> dict[str, dict]:
    runs = {v.label: [] for v in versions}
    for _ in range(repeats):
        for version in versions:
            runs[version.label].append(version.run("measure", path))
    return {label: summarise(r) for label, r in runs.items()}


def summarise(runs: list[dict]) -> dict:
    steps = [k for k in STEPS if all(k in r["seconds"] for r in runs)]
    seconds = {k: [r["seconds"][k] for r in runs] for k in steps}
    ratio_eval = [r["seconds"]["reverse"] / r["seconds"]["fwd+par"] for r in runs]
    ratio_fwd = [r["seconds"]["reverse"] / r["seconds"]["forward"] for r in runs]
    return {
        **{k: runs[0][k] for k in ("nodes", "inputs", "nonzero_adjoints", "gradient_sample")},
        "repeats": len(runs),
        "seconds": {k: {"min": min(v), "median": statistics.median(v), "all": v} for k, v in seconds.items()},
        "reverse_over_eval": statistics.median(ratio_eval),
        "reverse_over_forward": statistics.median(ratio_fwd),
    }


def end_to_end(versions: list[Version], path: str, point: dict[str, float], repeats: int) -> dict:
    """Whole processes, interleaved: --json with the point as arguments, --points from a file, the API."""
    arguments = [f"{name}={value!r}" for name, value in point.items()]
    api = (
        "import json, sys, gradcli\n"
        f"source = open({path!r}).read(); point = json.load(open({path + '.point.json'!r}))\n"
        "result = gradcli.evaluate(source, point)\n"
        "sys.stdout.write(json.dumps({'value': result.value, 'gradient': result.gradient}))\n"
    )
    commands = {
        E2E_JSON: lambda v: v.gradcli_command() + ["eval", "-f", path, *arguments, "--json"],
        "gradcli eval -f FILE --points point.csv": lambda v: v.gradcli_command() + [
            "eval", "-f", path, "--points", path + ".point.csv"],
        "python -c: gradcli.evaluate, json.dumps": lambda v: [sys.executable, "-c", api],
    }
    times: dict = {(v.label, c): [] for v in versions for c in commands}
    failed = set()
    for _ in range(repeats):
        for version in versions:
            for name, command in commands.items():
                if (version.label, name) in failed:
                    continue
                start = time.perf_counter()
                done = subprocess.run(command(version), env=version.env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
                elapsed = time.perf_counter() - start
                if done.returncode != 0:  # e.g. --points in a version without it
                    failed.add((version.label, name))
                    continue
                times[version.label, name].append(elapsed)
    result = {}
    for (label, name), values in times.items():
        if values:
            summary = {"min": min(values), "median": statistics.median(values), "all": values}
            result.setdefault(label, {})[name] = summary
    for version in versions:
        result.setdefault(version.label, {})["breakdown"] = version.run("e2e", path)
    return result


def machine() -> dict:
    return {
        **host(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "gradcli": gradcli.__version__,
        "gradcli_path": os.path.dirname(gradcli.__file__),
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


def floors(spec: str, repeats: int) -> None:
    """What evaluate(graph) cannot go below in CPython here: the bare loops, best of `repeats`.

    - a loop calling each computed node's forward and partial rule once on
      gathered arguments, and nothing else (no error handling, no finiteness check);
    - the reverse sweep (one pass of multiply-adds, as gradcli runs it);
    - an empty `for` loop of as many iterations as nodes (the interpreter's speed).
    """
    from gradcli.graph import reverse_sweep, values_and_partials

    shape, size = spec.split(":")
    source, point = GENERATORS[shape](int(size))
    graph = gradcli.parse(source)
    nodes = graph.nodes

    def bare_forward_and_partials():
        values = [node.constant for node in nodes]
        partials = [()] * len(nodes)
        for name, node_id in graph.inputs.items():
            values[node_id] = point[name]
        for node in nodes:
            op = node.op
            if op.forward is not None:
                a = node.args
                args = (values[a[0]], values[a[1]]) if len(a) == 2 else tuple([values[i] for i in a])
                value = values[node.id] = op.forward(*args)
                partials[node.id] = op.partials(args, value)

    def empty_loop():
        for _ in range(len(nodes)):
            pass

    _, partials = values_and_partials(graph, point)
    timed = {
        "bare forward + partials loop": bare_forward_and_partials,
        "reverse sweep": lambda: reverse_sweep(graph, partials),
        f"empty loop of {len(nodes):,} iterations": empty_loop,
        "gradcli values_and_partials": lambda: values_and_partials(graph, point),
        "gradcli evaluate(graph)": lambda: gradcli.evaluate(graph, point),
    }
    best = dict.fromkeys(timed, float("inf"))
    gc.disable()
    for _ in range(repeats):  # interleaved: every loop sees the same load
        for name, function in timed.items():
            started = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - started)
    gc.enable()
    print(f"floors for the {shape} program of {len(nodes):,} nodes ({len(graph.inputs):,} inputs), "
          f"best of {repeats}, ms:")
    for name, seconds in best.items():
        print(f"  {name:<40} {_ms(seconds):>8}")
    floor = best["bare forward + partials loop"] + best["reverse sweep"]
    print(f"  forward, partials and one reverse sweep, bare: {_ms(floor)} ms")


# -- output ----------------------------------------------------------------------------------


def _ms(x: float) -> str:
    return f"{x * 1e3:.1f}"


def _cell(seconds: dict, key: str) -> str:
    return f"{_ms(seconds[key]['min'])} / {_ms(seconds[key]['median'])}" if key in seconds else "n/a"


def table_header() -> None:
    header = f"{'program':<10} {'version':<9} {'nodes':>8} {'inputs':>6} " + " ".join(
        f"{k:>17}" for k in STEPS
    ) + f" {'rev/eval':>8} {'rev/fwd':>7} {'adj!=0':>8}"
    print(header)
    print("-" * len(header))


def table_row(row: dict) -> None:
    name = f"{row['shape']} {row['size']:.0e}".replace("+0", "")
    for label, r in row["versions"].items():
        print(
            f"{name:<10} {label:<9} {r['nodes']:>8} {r['inputs']:>6} "
            + " ".join(f"{_cell(r['seconds'], k):>17}" for k in STEPS)
            + f" {r['reverse_over_eval']:>8.2f} {r['reverse_over_forward']:>7.2f} {r['nonzero_adjoints']:>8}"
        )
    sys.stdout.flush()


def print_targets(rows: list[dict], e2e: dict, current: str) -> None:
    biggest = max(row["size"] for row in rows)
    print(f"\ntargets (current version, {biggest:.0e} nodes):")

    def verdict(value: float, target: float) -> str:
        return "met" if value <= target else f"MISSED ({value / target:.2f}x the target)"

    for row in rows:
        if row["size"] != biggest:
            continue
        r = row["versions"][current]
        s = r["seconds"]
        if row["shape"] == "many":
            t = s["eval(graph)"]["min"]
            print(f"  many: evaluate(graph) min {_ms(t)} ms (median {_ms(s['eval(graph)']['median'])}), "
                  f"target {_ms(TARGET_EVALUATE_S)} ms: {verdict(t, TARGET_EVALUATE_S)}")
            if E2E_JSON in e2e.get(current, {}):
                t = e2e[current][E2E_JSON]["min"]
                print(f"  many: end to end `{E2E_JSON}` min {t:.2f} s, target {TARGET_END_TO_END_S} s: "
                      f"{verdict(t, TARGET_END_TO_END_S)}")
        print(f"  {row['shape']}: reverse / (values + partials) {r['reverse_over_eval']:.2f}, target "
              f"{TARGET_REVERSE_RATIO}: {verdict(r['reverse_over_eval'], TARGET_REVERSE_RATIO)}; "
              f"reverse / forward {r['reverse_over_forward']:.2f}, issue 2 target {TARGET_REVERSE_FORWARD_RATIO:g}: "
              f"{verdict(r['reverse_over_forward'], TARGET_REVERSE_FORWARD_RATIO)}; api evaluate() min "
              f"{s['api']['min']:.2f} s, issue 2 target {TARGET_API_S:g} s (at 10^5): "
              f"{verdict(s['api']['min'], TARGET_API_S)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--shapes", nargs="+", choices=sorted(GENERATORS), default=["wide", "many", "deep"])
    parser.add_argument("--repeats", type=int, default=5, help="repeats per size (default 5)")
    parser.add_argument("--baseline", metavar="DIR", help="also measure the gradcli in DIR (a checkout), interleaved")
    parser.add_argument("--huge", action="store_true", help="also 10^6-node programs: time and peak memory")
    parser.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the parse-time breakdown")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end processes")
    parser.add_argument("--profile", metavar="SHAPE:SIZE", help="only print a cProfile of one evaluate() call")
    parser.add_argument("--top", type=int, default=25, help="lines of profile output (default 25)")
    parser.add_argument("--floors", metavar="SHAPE:SIZE",
                        help="only time the bare loops evaluate() cannot go below (with --repeats)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "PROGRAM"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        json.dump(worker(*args.worker, args.repeats), sys.stdout)
        return 0
    if args.profile:
        profile(args.profile, args.top)
        return 0
    if args.floors:
        floors(args.floors, args.repeats)
        return 0

    sys.stdout.reconfigure(line_buffering=True)  # progress shows in a log file too
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:  # programs, parser caches
        return run(args, scratch)


def run(args: argparse.Namespace, scratch: str) -> int:
    current_root = os.path.dirname(os.path.dirname(os.path.abspath(gradcli.__file__)))
    versions = [Version("current", current_root, scratch)]
    if args.baseline:
        versions.insert(0, Version("baseline", os.path.abspath(args.baseline), scratch))
    info = machine()
    print(
        f"gradcli {info['gradcli']} ({info['gradcli_path']}), Python {info['python']} on {info['machine']}, "
        f"{info['nproc']} CPUs ({info['cpu']}), {info['date']}, "
        f"load average {' '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}"
    )
    for version in versions:
        print(f"  {version.label}: gradcli from {version.root}")
    print(f"repeats: {args.repeats}, each in a fresh process; times in ms, min / median; ratios: median over repeats\n")

    rows = []
    paths = {}
    table_header()
    for size in args.sizes:
        for shape in args.shapes:
            path, point = write_program(scratch, shape, size)
            paths[shape, size] = path, point
            rows.append({"shape": shape, "size": size, "versions": measure(versions, path, args.repeats)})
            table_row(rows[-1])

    biggest = max(args.sizes)
    memory = {}
    if not args.no_memory:
        print("\npeak memory (tracemalloc), largest size, per node:")
        for shape in args.shapes:
            for version in versions:
                m = version.run("memory", paths[shape, biggest][0])
                memory.setdefault(shape, {})[version.label] = m
                print(
                    f"  {shape:<5} {version.label:<9} {m['nodes']:>7} nodes: "
                    f"parse peak {m['parse_peak_per_node']:.0f} B, "
                    f"graph kept {m['graph_retained_per_node']:.0f} B; evaluate() peak {m['api_peak_per_node']:.0f} B, "
                    f"Evaluation kept {m['evaluation_retained_per_node']:.0f} B"
                )

    e2e = {}
    if not args.no_e2e and "many" in args.shapes:
        path, point = paths["many", biggest]
        print(f"\nend to end, `many` program of {biggest:.0e} nodes ({len(point)} inputs), "
              f"whole processes (min / median of {args.repeats}, ms):")
        e2e = end_to_end(versions, path, point, args.repeats)
        for label, commands in e2e.items():
            for name, t in commands.items():
                if name != "breakdown":
                    print(f"  {label:<9} {name:<42} {_ms(t['min']):>8} / {_ms(t['median']):>8}")
            b = commands["breakdown"]
            print(f"  {label:<9} in one process: " + ", ".join(f"{k} {_ms(v)}" for k, v in b["seconds"].items())
                  + f" ms; {b['output_bytes'] / 2**20:.1f} MiB of JSON")

    breakdown = {}
    if not args.no_breakdown:
        print(f"\nwhere parse time goes, largest size (min of {args.repeats}, no profiler):")
        for shape in args.shapes:
            for version in versions:
                b = version.run("breakdown", paths[shape, biggest][0], args.repeats)
                breakdown.setdefault(shape, {})[version.label] = b
                lex, lalr, full = b["lex"], b["lalr_null_callbacks"], b["gradcli_parse"]
                print(
                    f"  {shape:<5} {version.label:<9} {b['tokens']:>7} tokens: lexer {_ms(lex)} ms, "
                    f"Lark LALR + callback dispatch {_ms(lalr - lex)} ms, gradcli callbacks + parser build "
                    f"{_ms(full - lalr)} ms; gradcli.parse {_ms(full)} ms = {full / b['tokens'] * 1e6:.2f} us/token"
                )

    huge_results = {}
    if args.huge:
        print("\n10^6 nodes, one process each: parse, evaluate(graph), peak resident memory:")
        for shape in args.shapes:
            path, _ = write_program(scratch, shape, 1_000_000)
            for version in versions:
                h = version.run("huge", path)
                huge_results.setdefault(shape, {})[version.label] = h
                print(
                    f"  {shape:<5} {version.label:<9} {h['nodes']:>8} nodes: parse {h['parse_s']:.2f} s, "
                    f"evaluate(graph) {h['evaluate_s']:.2f} s, peak RSS {h['peak_rss_bytes'] / 2**20:.0f} MiB "
                    f"({h['rss_before_bytes'] / 2**20:.0f} MiB with the source read, before parsing)"
                )

    print_targets(rows, e2e, "current")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(
                {"machine": info, "versions": {v.label: v.root for v in versions}, "results": rows, "memory": memory,
                 "end_to_end": e2e, "parse_breakdown": breakdown, "huge": huge_results,
                 "targets": {"end_to_end_s": TARGET_END_TO_END_S, "evaluate_s": TARGET_EVALUATE_S,
                             "reverse_over_eval": TARGET_REVERSE_RATIO, "api_s": TARGET_API_S,
                             "reverse_over_forward": TARGET_REVERSE_FORWARD_RATIO}},
                handle,
                indent=2,
            )
        print(f"\nwrote {args.json_out}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
