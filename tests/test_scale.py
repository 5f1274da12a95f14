"""Large programs: gradcli's size limits, and its fast passes against plain loops.

The limits (README, "Limits") are tested with their environment variables set
low, so that the tests stay fast. The passes over the graph are written for
speed (bench/bench_scale.py); here they must give exactly what the plain loops
below give, the loops gradcli had before: the same numbers bit for bit, the
same errors, the same warnings in the same order. Nothing here is timed.
"""

from __future__ import annotations

import gc
import json
import math
import random

import pytest

import gradcli
from gradcli import parser
from gradcli.cli import main
from gradcli.errors import DomainError, InputError, NonFiniteError, ProgramSyntaxError, ProgramTooLargeError
from gradcli.evaluation import GradWarning
from gradcli.graph import (
    Node,
    depends_on,
    feeds_output,
    forward_values,
    kinks,
    local_partials,
    reverse_sweep,
    tangent_sweep,
    values_and_partials,
)

# --------------------------------------------------------------------------------------
# Size limits
# --------------------------------------------------------------------------------------


def test_a_source_over_the_limit_is_refused_before_it_is_parsed(monkeypatch):
    monkeypatch.setenv("GRADCLI_MAX_SOURCE_CHARS", "100")
    program = "x + " * 25 + ")"  # 101 characters, and a syntax error if it were parsed
    with pytest.raises(ProgramTooLargeError) as info:
        gradcli.parse(program)
    error = info.value
    assert isinstance(error, InputError) and error.kind == "input" and error.exit_code == 2
    assert "101 characters" in error.message and "limit of 100" in error.message
    assert "GRADCLI_MAX_SOURCE_CHARS=" in error.hint
    assert error.details == {"unit": "characters", "size": 101, "limit": 100, "variable": "GRADCLI_MAX_SOURCE_CHARS"}


def test_a_source_at_the_limit_is_parsed(monkeypatch):
    monkeypatch.setenv("GRADCLI_MAX_SOURCE_CHARS", "100")
    program = "x" + "+1" * 49 + " "  # 100 characters
    assert len(program) == 100
    assert len(gradcli.parse(program).nodes) == 99


def test_a_graph_at_the_node_limit_is_built_and_one_node_more_is_refused(monkeypatch):
    monkeypatch.setenv("GRADCLI_MAX_NODES", "41")
    assert len(gradcli.parse("x" + "+1" * 20).nodes) == 41  # x, then a 1 and a + per term
    with pytest.raises(ProgramTooLargeError) as info:
        gradcli.parse("x" + "+1" * 20 + "+y")
    error = info.value
    assert "more than the limit of 41 nodes" in error.message
    assert "GRADCLI_MAX_NODES=" in error.hint
    assert error.details["limit"] == 41 and error.details["variable"] == "GRADCLI_MAX_NODES"
    assert error.source[error.span[0] : error.span[1]] == "y"  # the node past the limit


def test_the_node_limit_stops_the_parse_where_it_is_reached(monkeypatch):
    monkeypatch.setenv("GRADCLI_MAX_NODES", "300")
    statements = [f"t{i} = t{i - 1} * x{i % 5} + 1" for i in range(1, 1000)]  # 3 nodes each
    program = "\n".join(statements) + "\n)"  # a syntax error at the very end
    with pytest.raises(ProgramTooLargeError) as info:
        gradcli.parse(program)  # not ProgramSyntaxError: the end is never reached
    error = info.value
    line = program.count("\n", 0, error.span[0]) + 1
    assert 95 <= line <= 105  # about 300 / 3 statements in
    assert 1500 <= error.details["estimated_size"] <= 6000  # about 3,000 nodes in all
    assert "in all" in error.message


@pytest.mark.parametrize("variable", ["GRADCLI_MAX_NODES", "GRADCLI_MAX_SOURCE_CHARS"])
@pytest.mark.parametrize("value", ["lots", "0", "-3", "1.5", "1e6"])
def test_a_malformed_limit_is_an_input_error_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(InputError) as info:
        gradcli.parse("x + 1")
    assert not isinstance(info.value, ProgramTooLargeError)
    assert variable in info.value.message and repr(value) in info.value.message
    assert variable in info.value.hint


@pytest.mark.parametrize("value", ["", "   ", "1_000_000", " 5000 "])
def test_a_blank_or_readable_limit_is_accepted(monkeypatch, value):
    monkeypatch.setenv("GRADCLI_MAX_NODES", value)
    assert gradcli.evaluate("x * y", {"x": 2, "y": 3}).value == 6


def test_the_default_limits_are_the_documented_ones(monkeypatch):
    monkeypatch.delenv("GRADCLI_MAX_NODES", raising=False)
    monkeypatch.delenv("GRADCLI_MAX_SOURCE_CHARS", raising=False)
    assert (parser.MAX_NODES, parser.MAX_SOURCE_CHARS) == (2_000_000, 50_000_000)
    assert parser._limit("GRADCLI_MAX_NODES", parser.MAX_NODES) == 2_000_000


def test_a_limit_through_the_command_line_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("GRADCLI_MAX_NODES", "10")
    code = main(["eval", "a = x * y; b = a + x; c = b * b - a; d = c / (1 + c^2)", "x=1", "y=2", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    error = json.loads(captured.out)["error"]
    assert error["type"] == "input"
    assert "too large" in error["message"] and "10 nodes" in error["message"]
    assert error["details"]["variable"] == "GRADCLI_MAX_NODES"
    assert "GRADCLI_MAX_NODES=" in captured.err and "Traceback" not in captured.err


def test_evaluate_from_source_applies_the_limits(monkeypatch):
    monkeypatch.setenv("GRADCLI_MAX_NODES", "3")
    with pytest.raises(ProgramTooLargeError):
        gradcli.evaluate("x * y + 1", {"x": 1, "y": 2})


# --------------------------------------------------------------------------------------
# The passes against the plain loops gradcli had before
# --------------------------------------------------------------------------------------


def plain_forward_values(graph, point):
    values = [0.0] * len(graph.nodes)
    names = {node_id: name for name, node_id in graph.inputs.items()}
    for node in graph.nodes:
        if node.op.forward is None:
            values[node.id] = point[names[node.id]] if node.constant is None else node.constant
        else:
            values[node.id] = node.op.forward(*[values[i] for i in node.args])
    return values


def plain_local_partials(graph, values):
    result = [()] * len(graph.nodes)
    for node in graph.nodes:
        if node.op.partials is not None:
            result[node.id] = node.op.partials([values[i] for i in node.args], values[node.id])
    return result


def plain_reverse_sweep(graph, partials):
    adjoints = [0.0] * len(graph.nodes)
    adjoints[graph.output] = 1.0
    for node_id in range(graph.output, -1, -1):
        if adjoints[node_id] != 0.0:
            for arg, partial in zip(graph.nodes[node_id].args, partials[node_id]):
                adjoints[arg] += adjoints[node_id] * partial
    return adjoints


def plain_depends_on(graph, sources=None):
    depends = [False] * len(graph.nodes)
    for node in graph.nodes:
        source = node.op.name == "input" if sources is None else node.id in sources
        depends[node.id] = source or any(depends[a] for a in node.args)
    return depends


def plain_feeds_output(graph):
    feeds = [False] * len(graph.nodes)
    feeds[graph.output] = True
    for node in reversed(graph.nodes):
        if feeds[node.id]:
            for arg in node.args:
                feeds[arg] = True
    return feeds


def plain_kinks(graph, values):
    found = []
    for node in graph.nodes:
        if node.op.kink is not None:
            description = node.op.kink([values[i] for i in node.args])
            if description is not None:
                found.append((node.id, description))
    return found


def plain_warnings(evaluation):
    """The kink and non-finite warnings, computed for every node."""
    graph = evaluation.graph
    relevant = [a and b for a, b in zip(plain_depends_on(graph), plain_feeds_output(graph))]
    warnings = []
    for node_id, description in plain_kinks(graph, evaluation.values):
        if relevant[node_id]:
            text = graph.text(graph.nodes[node_id], 40)
            warnings.append(GradWarning("kink", f"node {node_id} `{text}`: {description}", node_id))
    kink_nodes = {w.node for w in warnings}
    for node in graph.nodes:
        if relevant[node.id] and node.id not in kink_nodes:
            for arg, partial in zip(node.args, evaluation.partials[node.id]):
                if relevant[arg] and not math.isfinite(partial):
                    warnings.append(GradWarning(
                        "non-finite-partial",
                        f"node {node.id} `{graph.text(node, 40)}`: its derivative with respect to "
                        f"`{graph.label(graph.nodes[arg], 30)}` is {partial!r}",
                        node.id,
                    ))
    for name, value in evaluation.gradient.items():
        if not math.isfinite(value):
            warnings.append(GradWarning("non-finite-gradient", f"the derivative with respect to {name} is {value!r}"))
    return warnings


def same_numbers(a, b) -> bool:
    """Equal bit for bit, NaN included (repr tells -0.0 from 0.0 and keeps NaN equal to NaN)."""
    return [repr(x) for x in a] == [repr(x) for x in b]


def same_partials(a, b) -> bool:
    return [[repr(x) for x in p] for p in a] == [[repr(x) for x in p] for p in b]


# Programs with what the fast paths treat specially: kinks, ties, non-finite
# partials towards inputs and towards constants, statements the output does
# not use, constant subexpressions, calls of one, two and more arguments.
PROGRAMS = [
    ("(a+b)*(b+1)", {"a": 2, "b": 1}),
    ("abs(x) + relu(y) + max(x, y, 0) * min(y, x)", {"x": 0, "y": 0}),
    ("t = x^2 + (x + 3)^3; u = sqrt(t) + x^(y + 2) + z^0.5", {"x": -1.5, "y": 0, "z": 0}),
    ("a = x^y; b = (-2)^3 * x; c = atan2(y, x); a + b + c", {"x": 0, "y": 0}),
    # A kink the output does not use, kinks of constants, a kink whose adjoint is 0:
    ("unused = abs(x - 4); k = abs(2 - 2) + relu(0); z = k * x + log(x, 2) + relu(-x) * abs(x - 4)", {"x": 4}),
    ("w = max(2, 2) * x; v = 2^0.5 * sqrt(0) + w; v", {"x": 1}),
    ("a = x; b = a; b *= 3; b -= x; b /= 2; b += 1; -b + -2 + +x", {"x": 5}),
    ("acos(x) + asin(y) + atan2(x, y) + log10(y) + log2(y) + tanh(x) + sigmoid(y)", {"x": 1, "y": 1}),
    ("a = 1/(x - 1); b = exp(x) * a; c = pow(x, 3) + min(a, b, x, 2); c", {"x": 0.5}),
    ("a = x * y + abs(y); b = sin(x) * 3 + abs(x); a", {"x": 0, "y": 2}),  # the output is not the last node
]


def random_program(rng: random.Random, statements: int) -> tuple[str, dict[str, float]]:
    names = ["x", "y", "z"]
    lines = []
    for i in range(statements):
        a, b, c = (rng.choice(names) for _ in range(3))
        form = rng.choice([
            f"{a} * {b} + {c}", f"sin({a}) - {b}^2", f"max({a}, {b}, 1) / (1 + {c}^2)", f"abs({a}) * relu({b})",
            f"-({a} + {b})", f"log(1 + {a}^2) * sqrt(1 + {b}^2)", f"{a}^3 - min({b}, {c})", f"exp(-{a}^2) + {c}",
        ])
        lines.append(f"v{i} = {form}")
        names.append(f"v{i}")
    return "\n".join(lines), {"x": rng.choice([0.0, 0.5, -1.0]), "y": rng.choice([0.0, 2.0, -0.5]), "z": 1.0}


def all_programs():
    rng = random.Random(6)
    return PROGRAMS + [random_program(rng, rng.randrange(1, 40)) for _ in range(40)]


@pytest.mark.parametrize("program, point", all_programs())
def test_the_passes_give_what_the_plain_loops_give(program, point):
    graph = gradcli.parse(program)
    point = {name: float(value) for name, value in point.items()}
    values = plain_forward_values(graph, point)
    partials = plain_local_partials(graph, values)
    assert same_numbers(forward_values(graph, point), values)
    assert same_partials(local_partials(graph, values), partials)
    fused_values, fused_partials = values_and_partials(graph, point)
    assert same_numbers(fused_values, values) and same_partials(fused_partials, partials)
    assert same_numbers(reverse_sweep(graph, partials), plain_reverse_sweep(graph, partials))
    assert depends_on(graph) == plain_depends_on(graph)
    assert depends_on(graph, {0}) == plain_depends_on(graph, {0})
    assert feeds_output(graph) == plain_feeds_output(graph)
    assert kinks(graph, values) == plain_kinks(graph, values)
    for mode in ("reverse", "forward"):
        evaluation = gradcli.evaluate(graph, point, mode=mode)
        assert [w for w in evaluation.warnings if w.kind != "unused-value"] == plain_warnings(evaluation)


def test_the_sweeps_agree_on_a_program_with_every_kind_of_node():
    rng = random.Random(7)
    program, point = random_program(rng, 300)
    graph = gradcli.parse(program)
    reverse = gradcli.evaluate(graph, point)
    partials = reverse.partials
    for name, node_id in graph.inputs.items():
        tangents = tangent_sweep(graph, partials, name)
        assert tangents[node_id] == 1.0
        assert math.isclose(tangents[graph.output], reverse.gradient[name], rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize(
    "program, point, error, text",
    [
        ("a = log(x); b = exp(y); a + b", {"x": 0, "y": 1000}, DomainError, "log(x)"),
        ("a = exp(y); b = log(x); a + b", {"x": 0, "y": 1000}, NonFiniteError, "exp(y)"),
        ("a = x * 1e300; b = a * a; c = sqrt(-x); c", {"x": 10}, NonFiniteError, "a * a"),
        ("max(x, 1) / (x - 1)", {"x": 1}, DomainError, "max(x, 1) / (x - 1)"),
    ],
)
def test_the_first_node_that_fails_is_named_by_every_pass(program, point, error, text):
    graph = gradcli.parse(program)
    raised = []
    for compute in (lambda: forward_values(graph, point), lambda: values_and_partials(graph, point),
                    lambda: gradcli.evaluate(graph, point)):
        with pytest.raises(error) as info:
            compute()
        raised.append((info.value.message, info.value.node, info.value.span))
    assert raised[0] == raised[1] == raised[2]
    assert f"`{text}`" in raised[0][0]


# --------------------------------------------------------------------------------------
# Nodes, tokens, the collector
# --------------------------------------------------------------------------------------


def test_a_node_keeps_its_span_as_two_offsets():
    graph = gradcli.parse("y = sin(x) * 2")
    node = graph.nodes[graph.output]
    assert node.span == (node.start, node.end) == (4, 14)
    assert not hasattr(node, "__dict__")  # slots: no dictionary per node
    node.span = (5, 13)
    assert (node.start, node.end) == (5, 13)
    made = Node(7, node.op, (1, 2), (3, 9), "z", None)  # the constructor takes a span, as before
    assert (made.span, made.name, made.args) == ((3, 9), "z", (1, 2))


@pytest.mark.parametrize("collecting", [True, False])
def test_the_cycle_collector_is_left_as_it_was(collecting):
    was = gc.isenabled()
    try:
        gc.enable() if collecting else gc.disable()
        gradcli.evaluate("sin(x) * y", {"x": 1, "y": 2})
        with pytest.raises(ProgramSyntaxError):
            gradcli.parse("x +* y")
        with pytest.raises(DomainError):
            gradcli.evaluate("log(x)", {"x": 0})
        assert gc.isenabled() is collecting
    finally:
        gc.enable() if was else gc.disable()


def test_many_inputs_each_get_their_exact_derivative():
    # 2,000 inputs and about 12,000 nodes: v_i = v_(i-1) + c_i * x_j, so d/dx_j is the sum of its c_i.
    rng = random.Random(10_000)
    lines, expected = ["v0 = x0"], {"x0": 1.0}
    for i in range(1, 4001):
        j, c = (i - 1) % 2000, rng.randrange(1, 9)
        lines.append(f"v{i} = v{i - 1} + {c} * x{j}")
        expected[f"x{j}"] = expected.get(f"x{j}", 0.0) + c
    point = {f"x{j}": float(j % 7) for j in range(2000)}
    result = gradcli.evaluate("\n".join(lines), point)
    assert list(result.gradient) == [f"x{j}" for j in range(2000)]  # order of first appearance
    assert result.gradient == expected
    assert result.warnings == []


# --------------------------------------------------------------------------------------
# The per-node JSON, built a column at a time, against the plain loop
# --------------------------------------------------------------------------------------


def plain_node_entries(evaluation):
    """evaluation_to_dict's nodes as the plain per-node loop built them."""
    from gradcli.render.json import TEXT_LIMIT, number

    graph, adjoints = evaluation.graph, evaluation.adjoints
    tangent_items = list(evaluation.tangents.items())
    labels = evaluation.output_labels
    output_adjoints = evaluation.output_adjoints if len(labels) > 1 else None
    entries = []
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
        if tangent_items:
            entry["tangent"] = {wrt: number(tangents[node.id]) for wrt, tangents in tangent_items}
        if output_adjoints is not None:
            entry["adjoints"] = {label: number(a[node.id]) for label, a in zip(labels, output_adjoints)}
        if evaluation.cotangent_adjoints is not None:
            entry["cotangent_adjoint"] = number(evaluation.cotangent_adjoints[node.id])
        entries.append(entry)
    return entries


def typed(data):
    """JSON-like data with every number tagged by its type and repr (so 1 != 1.0, -0.0 != 0, NaN == NaN)."""
    if isinstance(data, dict):
        return {key: typed(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [typed(value) for value in data]
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return (type(data).__name__, repr(data))
    return data


JSON_PROGRAMS = [
    # Integral and non-integral doubles, -0.0, 2^53 and beyond, tiny and huge numbers, a long text.
    ("a = x * 0; b = -0.0 * x; c = 2^53 + x; d = 2^60 * y + 1e17; e = x * 1e-7 + 1e-300 * y; a + b + c + d + e",
     {"x": -0.0, "y": 3}),
    ("sqrt(y) + abs(x) + log(y + 1) + (x + y)^0.5", {"x": 0.0, "y": 0.0}),  # inf and NaN partials
    ("long_name_number_one = x * y + " + " + ".join(f"sin(x * {i})" for i in range(30)), {"x": 0.25, "y": 2}),
    ("t = x\n\tu = t * 2 # π, a tab and a comment in the source\nu", {"x": 1.5}),
]


@pytest.mark.parametrize("program, point", JSON_PROGRAMS + PROGRAMS + all_programs()[len(PROGRAMS) : len(PROGRAMS) + 10])
@pytest.mark.parametrize("options", [{}, {"mode": "forward"}, {"wrt": "x"}])
def test_node_entries_give_what_the_plain_loop_gives(program, point, options):
    from gradcli.render.json import node_entries

    graph = gradcli.parse(program)
    if "wrt" in options and options["wrt"] not in graph.inputs:
        options = {}
    evaluation = gradcli.evaluate(graph, point, **options)
    assert typed(node_entries(evaluation)) == typed(plain_node_entries(evaluation))


def test_numbers_in_bulk_are_number_one_at_a_time():
    from gradcli.render.json import _numbers, number

    special = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0**53, -(2.0**53), 2.0**53 - 1, 1e300, -1e-300, 5e-324, math.inf,
               -math.inf, math.nan, 1e16, 1e-5, 3.0, -7.25]
    rng = random.Random(3)
    numbers = special + [rng.choice(special) * rng.choice([1, -1, 0.5, 3]) for _ in range(500)]
    assert typed(_numbers(numbers)) == typed([number(x) for x in numbers])
    assert typed(_numbers([1, 2.5, True, -0.0])) == typed([number(x) for x in [1, 2.5, True, -0.0]])  # not all floats


@pytest.mark.parametrize("program, point", JSON_PROGRAMS + PROGRAMS[:4])
def test_dumps_through_orjson_is_the_same_strict_json(monkeypatch, program, point):
    pytest.importorskip("orjson")
    from gradcli.render import json as render_json

    data = render_json.evaluation_to_dict(gradcli.evaluate(program, point))
    plain = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    assert render_json.dumps(data) == plain  # small: json itself
    monkeypatch.setattr(render_json, "ORJSON_FROM", 1)
    text = render_json.dumps(data)
    assert typed(json.loads(text)) == typed(json.loads(plain))
    assert text.split('"nodes":')[0] == plain.split('"nodes":')[0]  # the rest is json's own text

    def no_constants(name):
        raise AssertionError(f"bare {name} in the output")

    json.loads(text, parse_constant=no_constants)


def test_dumps_still_refuses_a_bare_nan_outside_the_nodes(monkeypatch):
    pytest.importorskip("orjson")
    from gradcli.render import json as render_json

    monkeypatch.setattr(render_json, "ORJSON_FROM", 1)
    data = render_json.evaluation_to_dict(gradcli.evaluate("x * 2", {"x": 1}))
    data["extra"] = math.nan
    with pytest.raises(ValueError):
        render_json.dumps(data)
