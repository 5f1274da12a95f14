"""The expression and program language, through gradcli.parse and gradcli.evaluate.

Expected numbers are computed here by Python from the meaning the
specification (issue 2, "The language") gives each program, never by
running gradcli.
"""

from __future__ import annotations

import math
import re

import pytest

import gradcli
from gradcli.errors import ArityError, BindingError, GradcliError, ProgramSyntaxError, UnknownNameError, line_col


A, B, C, X, Y = 5.0, 3.0, 2.0, 3.0, 2.0
POINT = {"a": A, "b": B, "c": C, "x": X, "y": Y}


def value_of(program: str, point: dict | None = None) -> float:
    graph = gradcli.parse(program)
    used = {name: value for name, value in (point or {}).items() if name in graph.inputs}
    return gradcli.evaluate(graph, used).value


def gradient_of(program: str, point: dict, mode: str = "reverse") -> dict:
    return gradcli.evaluate(program, point, mode=mode).gradient


def node_texts(graph) -> list[tuple[str, str]]:
    """(op, source text) of every node, in graph order, sliced from the spans."""
    return [(node.op.name, graph.source[node.span[0] : node.span[1]]) for node in graph.nodes]


# --------------------------------------------------------------------------------------
# Precedence and associativity
# --------------------------------------------------------------------------------------

PRECEDENCE = [
    # power binds tighter than unary minus
    ("-x^2", -(X**2)),
    ("-x**2", -(X**2)),
    ("-2^2", -(2.0**2)),
    ("(-2)^2", (-2.0) ** 2),
    ("-(a+b)^2", -((A + B) ** 2)),
    ("-sin(x)^2", -(math.sin(X) ** 2)),
    ("sin(x)^2", math.sin(X) ** 2),
    # the exponent may carry a unary minus
    ("2^-1", 0.5),
    ("2^-x", 2.0 ** (-X)),
    ("-x^-y", -(X ** (-Y))),
    ("x^-y^2", X ** (-(Y**2))),
    ("x*-y^2", X * (-(Y**2))),
    ("-a^-b^-c", -(A ** (-(B ** (-C))))),
    # power is right-associative, ^ and ** interchangeable
    ("2^3^2", 512.0),
    ("2**3**2", 512.0),
    ("2^3**2", 512.0),
    ("2**3^2", 512.0),
    ("(2^3)^2", 64.0),
    ("a^b^c", A ** (B**C)),
    ("x^2^-1", X ** (2.0**-1)),
    # the other binary operators are left-associative
    ("a-b-c", (A - B) - C),
    ("a/b/c", (A / B) / C),
    ("a-b+c", (A - B) + C),
    ("a*b/c", (A * B) / C),
    ("a/b*c", (A / B) * C),
    ("2 - 3 - 4", (2.0 - 3.0) - 4.0),
    # * / bind tighter than + -, ^ tighter than * /
    ("a-b*c", A - (B * C)),
    ("(a-b)*c", (A - B) * C),
    ("a+b*c^2", A + (B * (C**2))),
    ("a/b^c", A / (B**C)),
    ("a-b^c", A - (B**C)),
    ("2*3+4*5", (2.0 * 3.0) + (4.0 * 5.0)),
    ("(a+b)*(b+1)", (A + B) * (B + 1.0)),
    # unary operators
    ("-a*b", (-A) * B),
    ("-b^c*a", (-(B**C)) * A),
    ("--x", X),
    ("+x", X),
    ("+-x", -X),
    ("-+x", -X),
    ("2*-x", 2.0 * (-X)),
    ("a/-b", A / (-B)),
    ("a - -b", A - (-B)),
    ("1 - -1", 1.0 - (-1.0)),
    ("-1 - 1", (-1.0) - 1.0),
    ("x -1", X - 1.0),
    ("x-1", X - 1.0),
]


@pytest.mark.parametrize("program, expected", PRECEDENCE, ids=[p for p, _ in PRECEDENCE])
def test_precedence_and_associativity(program, expected):
    assert value_of(program, POINT) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "program, point, expected_gradient",
    [
        ("-x^2", {"x": 3.0}, {"x": -6.0}),  # d/dx -(x^2) = -2x
        ("2^-x", {"x": 3.0}, {"x": -(2.0**-3.0) * math.log(2.0)}),
        ("-a*b", {"a": 5.0, "b": 3.0}, {"a": -3.0, "b": -5.0}),
        ("a-b-c", {"a": 5.0, "b": 3.0, "c": 2.0}, {"a": 1.0, "b": -1.0, "c": -1.0}),
        ("a/b/c", {"a": 5.0, "b": 3.0, "c": 2.0}, {"a": 1 / 6, "b": -5 / 18, "c": -5 / 12}),
        ("x^-y^2", {"x": 3.0, "y": 2.0}, {"x": -4.0 * 3.0**-5.0, "y": 3.0**-4.0 * math.log(3.0) * -4.0}),
        ("--x", {"x": 3.0}, {"x": 1.0}),
        ("2*-x", {"x": 3.0}, {"x": -2.0}),
    ],
)
def test_precedence_gradients(program, point, expected_gradient):
    for mode in ("reverse", "forward"):
        gradient = gradient_of(program, point, mode)
        assert list(gradient) == list(expected_gradient)
        for name, expected in expected_gradient.items():
            assert gradient[name] == pytest.approx(expected, rel=1e-12), (mode, name)


# --------------------------------------------------------------------------------------
# Numbers, names, constants, functions
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal, expected",
    [
        ("2", 2.0),
        ("2.5", 2.5),
        (".5", 0.5),
        ("1e-3", 1e-3),
        ("2.5E+10", 2.5e10),
        ("5.", 5.0),
        ("1E3", 1000.0),
        ("0.125e1", 1.25),
        ("007", 7.0),
        ("-3", -3.0),
    ],
)
def test_number_forms(literal, expected):
    graph = gradcli.parse(literal)
    assert len(graph.nodes) == 1  # a literal (with its sign) is one constant node
    assert graph.nodes[0].op.name == "const"
    assert graph.inputs == {}
    assert gradcli.evaluate(graph).value == expected
    assert gradcli.evaluate(f"x * {literal}", {"x": 2.0}).value == 2.0 * expected


def test_names_are_case_sensitive():
    result = gradcli.evaluate("X*x", {"X": 2.0, "x": 3.0})
    assert list(result.graph.inputs) == ["X", "x"]
    assert result.value == 6.0
    assert result.gradient == {"X": 3.0, "x": 2.0}


def test_names_with_underscores_and_digits():
    result = gradcli.evaluate("_a1 * A_1 + a_1", {"_a1": 2.0, "A_1": 3.0, "a_1": 4.0})
    assert list(result.gradient) == ["_a1", "A_1", "a_1"]
    assert result.value == 10.0
    assert result.gradient == {"_a1": 3.0, "A_1": 2.0, "a_1": 1.0}


def test_a_case_variant_of_a_constant_is_an_input():
    result = gradcli.evaluate("PI * E", {"PI": 2.0, "E": 5.0})
    assert result.value == 10.0
    assert list(result.gradient) == ["PI", "E"]


@pytest.mark.parametrize("program, expected", [("pi", math.pi), ("e", math.e), ("2*pi", 2 * math.pi), ("e^2", math.e**2)])
def test_constants(program, expected):
    result = gradcli.evaluate(program)
    assert result.graph.inputs == {}
    assert result.gradient == {}
    assert result.value == pytest.approx(expected, rel=1e-15)


def test_constants_are_not_inputs():
    result = gradcli.evaluate("2*pi*r + e^x", {"r": 1.5, "x": 1.0})
    assert list(result.gradient) == ["r", "x"]
    assert result.value == pytest.approx(2 * math.pi * 1.5 + math.e, rel=1e-14)
    assert result.gradient["r"] == pytest.approx(2 * math.pi, rel=1e-14)
    assert result.gradient["x"] == pytest.approx(math.e, rel=1e-14)


def test_constants_cannot_be_given_values():
    with pytest.raises(BindingError):
        gradcli.evaluate("pi*x", {"x": 1.0, "pi": 3.0})
    with pytest.raises(BindingError):
        gradcli.evaluate("e*x", {"x": 1.0, "e": 3.0})


@pytest.mark.parametrize(
    "program, expected",
    [("log(8, 2)", 3.0), ("log(100, 10)", 2.0), ("log(e)", 1.0), ("log(1/8, 2)", -3.0), ("log(2, 4)", 0.5)],
)
def test_log_with_base(program, expected):
    assert value_of(program) == pytest.approx(expected, rel=1e-14)


def test_log_with_base_gradient():
    # log_b x = ln x / ln b: d/dx = 1/(x ln b), d/db = -ln x / (b (ln b)^2)
    x, b = 8.0, 2.0
    for mode in ("reverse", "forward"):
        result = gradcli.evaluate("log(x, b)", {"x": x, "b": b}, mode=mode)
        assert result.value == pytest.approx(3.0, rel=1e-14)
        assert result.gradient["x"] == pytest.approx(1 / (x * math.log(b)), rel=1e-12)
        assert result.gradient["b"] == pytest.approx(-math.log(x) / (b * math.log(b) ** 2), rel=1e-12)


def test_pow_and_atan2_functions():
    assert value_of("pow(2, 10)") == 1024.0
    assert value_of("pow(x, y) - x^y", {"x": 1.7, "y": 2.3}) == 0.0
    assert value_of("atan2(1, 1)") == pytest.approx(math.pi / 4, rel=1e-15)
    assert value_of("atan2(1, -1)") == pytest.approx(3 * math.pi / 4, rel=1e-15)


MAX_MIN_VALUES = [3.0, -1.0, 7.0, 2.0, 5.0, 6.5]


@pytest.mark.parametrize("function", ["max", "min"])
@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
def test_max_min_with_several_arguments(function, count):
    values = MAX_MIN_VALUES[:count]
    names = [f"x{i}" for i in range(count)]
    program = f"{function}({', '.join(names)})"
    pick = max if function == "max" else min
    winner = values.index(pick(values))
    for mode in ("reverse", "forward"):
        result = gradcli.evaluate(program, dict(zip(names, values)), mode=mode)
        assert result.value == pick(values)
        assert result.gradient == {name: (1.0 if i == winner else 0.0) for i, name in enumerate(names)}


@pytest.mark.parametrize("function", ["max", "min"])
def test_max_min_of_literals(function):
    assert value_of(f"{function}(1, -2, 3.5, 0, 2)") == (3.5 if function == "max" else -2.0)


# --------------------------------------------------------------------------------------
# Programs
# --------------------------------------------------------------------------------------


def test_statements_separated_by_semicolons_and_newlines():
    by_semicolon = gradcli.evaluate("u = x * 2; v = u + 1; v * u", {"x": 3.0})
    by_newline = gradcli.evaluate("u = x * 2\nv = u + 1\nv * u\n", {"x": 3.0})
    mixed = gradcli.evaluate("u = x * 2; v = u + 1\nv * u", {"x": 3.0})
    for result in (by_semicolon, by_newline, mixed):
        # (2x+1) * 2x at x=3: 42, derivative 8x + 2 = 26
        assert result.value == 42.0
        assert result.gradient == {"x": 26.0}


def test_comments_blank_lines_and_empty_statements():
    program = (
        "# a program with comments\n"
        "\n"
        "   u = x * 2   # double it\n"
        ";;\n"
        "\n"
        "\t v = u + y # add y; the ';' here is inside a comment\n"
        "# the output:\n"
        "v * 3  # last statement\n"
        "\n"
        "# trailing comment, no newline"
    )
    result = gradcli.evaluate(program, {"x": 1.5, "y": 4.0})
    assert result.value == (2 * 1.5 + 4.0) * 3
    assert result.gradient == {"x": 6.0, "y": 3.0}


def test_crlf_line_endings_and_line_continuation():
    assert gradcli.evaluate("u = x + 1\r\nv = u * 2\r\n", {"x": 2.0}).value == 6.0
    assert gradcli.evaluate("x +\\\n 1", {"x": 2.0}).value == 3.0


def test_augmented_assignment():
    program = "y = x\ny += 2\ny *= 3\ny -= 1\ny /= 2"
    for mode in ("reverse", "forward"):
        result = gradcli.evaluate(program, {"x": 1.0}, mode=mode)
        assert result.value == ((1.0 + 2) * 3 - 1) / 2  # 4
        assert result.gradient == {"x": 1.5}


def test_augmented_assignment_of_an_unassigned_name_reads_an_input():
    result = gradcli.evaluate("z += 1; z * w", {"z": 2.0, "w": 5.0})
    assert list(result.graph.inputs) == ["z", "w"]
    assert result.value == 15.0
    assert result.gradient == {"z": 5.0, "w": 3.0}


def test_each_augmented_assignment_is_one_new_node():
    graph = gradcli.parse("y = x * 2; y += 1; y -= 1; y *= 3; y /= 3")
    ops = [node.op.name for node in graph.nodes if node.name == "y"]
    assert ops == ["mul", "add", "sub", "mul", "div"]
    assert graph.output == graph.nodes[-1].id


def test_reassignment_makes_a_new_node_and_the_old_one_keeps_its_place():
    program = "y = x * 2\nz = y + 1\ny = x * 3\ny + z"
    graph = gradcli.parse(program)
    named_y = [node for node in graph.nodes if node.name == "y"]
    assert len(named_y) == 2
    old, new = named_y
    z = next(node for node in graph.nodes if node.name == "z")
    assert old.id < z.id < new.id
    assert old.id in z.args  # z was built from the old y
    assert graph.source[old.span[0] : old.span[1]] == "x * 2"
    assert graph.source[new.span[0] : new.span[1]] == "x * 3"
    output = graph.nodes[graph.output]
    assert new.id in output.args and z.id in output.args
    result = gradcli.evaluate(graph, {"x": 1.0})
    # old y = 2, z = 3, new y = 3: output 6; d/dx = 3 + 2 = 5
    assert result.value == 6.0
    assert result.gradient == {"x": 5.0}
    assert result.values[old.id] == 2.0
    assert result.values[new.id] == 3.0


def test_olah_program_assigning_e():
    result = gradcli.evaluate("c = a + b; d = b + 1; e = c * d", {"a": 2.0, "b": 1.0})
    assert result.value == 6.0
    assert result.gradient == {"a": 2.0, "b": 5.0}
    assert list(result.graph.inputs) == ["a", "b"]
    by_name = {node.name: node.id for node in result.graph.nodes if node.name and node.op.name != "input"}
    assert by_name.keys() == {"c", "d", "e"}
    assert result.graph.output == by_name["e"]
    assert result.adjoints[by_name["c"]] == 2.0  # de/dc = d
    assert result.adjoints[by_name["d"]] == 3.0  # de/dd = c


def test_e_means_the_constant_until_assigned_and_the_node_afterwards():
    program = "f = e * x\ne = x + 1\ng = e * 2\nf + g"
    result = gradcli.evaluate(program, {"x": 2.0})
    assert list(result.graph.inputs) == ["x"]
    # f = e*x, then e is x+1 = 3, g = 6: output 2e + 6, derivative e + 2
    assert result.value == pytest.approx(2 * math.e + 6.0, rel=1e-15)
    assert result.gradient["x"] == pytest.approx(math.e + 2.0, rel=1e-15)


def test_pi_may_be_assigned():
    result = gradcli.evaluate("pi = 3\npi * r", {"r": 2.0})
    assert result.value == 6.0
    assert result.gradient == {"r": 3.0}


def test_inputs_in_order_of_first_appearance():
    assert list(gradcli.parse("z*y + x*w - y + z").inputs) == ["z", "y", "x", "w"]
    assert list(gradcli.parse("t = b * a\nt + c + a").inputs) == ["b", "a", "c"]
    result = gradcli.evaluate("q*p + p", {"p": 1.0, "q": 2.0})
    assert list(result.gradient) == ["q", "p"]


def test_a_name_used_before_its_assignment_is_an_input():
    result = gradcli.evaluate("y = x + 1\nx = 5\nx * y", {"x": 2.0})
    assert list(result.graph.inputs) == ["x"]
    # y = 3 from the input x = 2; then x is the constant 5: output 15, d/dx = 5
    assert result.value == 15.0
    assert result.gradient == {"x": 5.0}


def test_assigned_names_are_not_inputs():
    result = gradcli.evaluate("k = 4\nk * x", {"x": 2.0})
    assert list(result.graph.inputs) == ["x"]
    assert result.value == 8.0


@pytest.mark.parametrize(
    "program, expected",
    [
        ("u = x*2; w = x*3", 9.0),  # the value assigned by the last statement
        ("u = x*2\nx + 1", 4.0),
        ("x*2; x*3", 9.0),
        ("x*3; u = x*2", 6.0),
        ("x*3\n\n# end\n", 9.0),
        ("u = x*5\nu", 15.0),
    ],
)
def test_the_output_is_the_last_statement(program, expected):
    assert gradcli.evaluate(program, {"x": 3.0}).value == expected


def test_assigning_a_name_to_a_named_node_keeps_both():
    result = gradcli.evaluate("y = x\nz = y\nz * 2", {"x": 4.0})
    names = [node.name for node in result.graph.nodes]
    assert "x" in names and "y" in names and "z" in names
    assert result.value == 8.0
    assert result.gradient == {"x": 2.0}


# --------------------------------------------------------------------------------------
# Diamonds and re-use
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_diamond_doubling(mode):
    result = gradcli.evaluate("b = a + a; c = b + b", {"a": 1.0}, mode=mode)
    assert result.value == 4.0
    assert result.gradient == {"a": 4.0}


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_double_diamond(mode):
    program = "c = a + b; d = a * b; e = c + d; f = c * d; y = e + f"
    result = gradcli.evaluate(program, {"a": 2.0, "b": 3.0}, mode=mode)
    # c = 5, d = 6, e = 11, f = 30, y = 41; dy/dc = 1 + d = 7, dy/dd = 1 + c = 6
    assert result.value == 41.0
    assert result.gradient == {"a": 7 + 6 * 3.0, "b": 7 + 6 * 2.0}
    assert result.gradient == {"a": 25.0, "b": 19.0}


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_name_used_twice_in_one_operation(mode):
    result = gradcli.evaluate("x*x", {"x": 3.0}, mode=mode)
    assert result.value == 9.0
    assert result.gradient == {"x": 6.0}  # both uses contribute, not 3


def test_reuse_in_many_places_accumulates():
    # x appears 5 times: d/dx (x + x*x + sin(x) + x) = 2 + 2x + cos x
    result = gradcli.evaluate("x + x*x + sin(x) + x", {"x": 0.7})
    assert result.gradient["x"] == pytest.approx(2 + 2 * 0.7 + math.cos(0.7), rel=1e-14)
    graph = result.graph
    assert sum(1 for node in graph.nodes if node.op.name == "input") == 1


def test_branches_the_output_does_not_use_have_zero_adjoint():
    result = gradcli.evaluate("u = x * 3; v = y * 2; u + 1", {"x": 1.0, "y": 1.0})
    assert result.gradient == {"x": 3.0, "y": 0.0}


# --------------------------------------------------------------------------------------
# Spans: every node points at the text the user wrote
# --------------------------------------------------------------------------------------

SPANS = [
    (
        "(a+b)*(b+1)",
        [("input", "a"), ("input", "b"), ("add", "a+b"), ("const", "1"), ("add", "b+1"), ("mul", "(a+b)*(b+1)")],
    ),
    ("-x^2", [("input", "x"), ("const", "2"), ("pow", "x^2"), ("neg", "-x^2")]),
    ("x * -3", [("input", "x"), ("const", "-3"), ("mul", "x * -3")]),
    ("sin( x + 1 )*2", [("input", "x"), ("const", "1"), ("add", "x + 1"), ("sin", "sin( x + 1 )"), ("const", "2"), ("mul", "sin( x + 1 )*2")]),
    ("((x)) * 2", [("input", "x"), ("const", "2"), ("mul", "((x)) * 2")]),
    ("-(x)", [("input", "x"), ("neg", "-(x)")]),
    ("2 * pi", [("const", "2"), ("const", "pi"), ("mul", "2 * pi")]),
    ("log(x, 2)  # base two", [("input", "x"), ("const", "2"), ("log", "log(x, 2)")]),
    ("max(a, b, 1.5)", [("input", "a"), ("input", "b"), ("const", "1.5"), ("max", "max(a, b, 1.5)")]),
    ("b*a + a*b", [("input", "b"), ("input", "a"), ("mul", "b*a"), ("mul", "a*b"), ("add", "b*a + a*b")]),
    ("2 ** -x", [("const", "2"), ("input", "x"), ("neg", "-x"), ("pow", "2 ** -x")]),
]


@pytest.mark.parametrize("program, expected", SPANS, ids=[p for p, _ in SPANS])
def test_node_spans_slice_the_source(program, expected):
    assert node_texts(gradcli.parse(program)) == expected


def test_spans_in_a_multi_line_program():
    program = "y = (x + 1)\n  z = y * 2   # comment\nz - y"
    graph = gradcli.parse(program)
    texts = {node.name: graph.source[node.span[0] : node.span[1]] for node in graph.nodes if node.name}
    assert texts == {"x": "x", "y": "x + 1", "z": "y * 2"}
    output = graph.nodes[graph.output]
    assert graph.source[output.span[0] : output.span[1]] == "z - y"
    z = next(node for node in graph.nodes if node.name == "z")
    assert line_col(program, z.span[0]) == (2, 7)


def test_every_span_lies_inside_the_source_and_around_its_arguments():
    program = "u = sin(a*b) + (c - a)^2\nv = max(u, a, -b) / log(c + 3, 2)\nv * -u"
    graph = gradcli.parse(program)
    for node in graph.nodes:
        start, end = node.span
        assert 0 <= start < end <= len(program)
        for arg in node.args:
            arg_start, arg_end = graph.nodes[arg].span
            if graph.nodes[arg].op.name not in ("input",) and graph.nodes[arg].name is None:
                # an unnamed argument is written inside the node that uses it
                assert start <= arg_start and arg_end <= end, (node, graph.nodes[arg])


# --------------------------------------------------------------------------------------
# Depth and size at the default recursion limit
# --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_100000_deep_parenthesised_sum(default_recursion_limit):
    depth = 100_000
    program = "(" * depth + "x" + "+1)" * depth
    graph = gradcli.parse(program)
    assert len(graph.nodes) == 2 * depth + 1  # x, and a 1 and a + per level
    for mode in ("reverse", "forward"):
        result = gradcli.evaluate(graph, {"x": 0.5}, mode=mode)
        assert result.value == depth + 0.5
        assert result.gradient == {"x": 1.0}
    output = graph.nodes[graph.output]
    assert graph.source[output.span[0] : output.span[1]] == program[1:-1]


@pytest.mark.parametrize("depth, sign", [(100_000, 1.0), (100_001, -1.0)])
def test_100000_deep_unary_minus(default_recursion_limit, depth, sign):
    result = gradcli.evaluate("-" * depth + "x", {"x": 0.5})
    assert result.value == sign * 0.5
    assert result.gradient == {"x": sign}


def test_100000_deep_unary_minus_on_a_literal(default_recursion_limit):
    depth = 100_001
    assert gradcli.evaluate("-" * depth + "2").value == -2.0


@pytest.mark.slow
def test_50000_deep_function_calls(default_recursion_limit):
    depth = 50_000
    program = "sin(" * depth + "x" + ")" * depth
    x = 0.5
    value, derivative = x, 1.0
    for _ in range(depth):  # chain rule: d sin(u) = cos(u) du
        derivative *= math.cos(value)
        value = math.sin(value)
    for mode in ("reverse", "forward"):
        result = gradcli.evaluate(program, {"x": x}, mode=mode)
        assert result.value == pytest.approx(value, rel=1e-12)
        assert result.gradient["x"] == pytest.approx(derivative, rel=1e-9)


def test_20000_deep_mixed_calls(default_recursion_limit):
    depth = 10_000  # 20,000 calls: log(exp(log(exp(...))))
    program = "log(exp(" * depth + "x" + "))" * depth
    result = gradcli.evaluate(program, {"x": 0.75})
    assert result.value == pytest.approx(0.75, rel=1e-12)
    assert result.gradient["x"] == pytest.approx(1.0, rel=1e-9)


def test_100000_deep_power_tower(default_recursion_limit):
    # x^x^...^x is right-associative; at x = 1 every level is 1 and its derivative 1
    depth = 100_000
    result = gradcli.evaluate("x^" * depth + "x", {"x": 1.0})
    assert result.value == 1.0
    assert result.gradient == {"x": 1.0}


def test_deep_syntax_errors_do_not_recurse(default_recursion_limit):
    depth = 100_000
    unclosed = "(" * depth + "x"
    with pytest.raises(ProgramSyntaxError) as info:
        gradcli.parse(unclosed)
    assert unclosed[info.value.span[0]] == "("
    unmatched = "(" * depth + "x" + ")" * (depth + 1)
    with pytest.raises(ProgramSyntaxError) as info:
        gradcli.parse(unmatched)
    assert info.value.span[0] == len(unmatched) - 1


def _megabyte_program():
    lines = ["v0 = x0  # start"]
    value_terms = [(1, 0)]  # (coefficient, input index)
    i, size = 0, len(lines[0]) + 1
    while size < 1_000_000:
        i += 1
        coefficient, j = i % 7 + 1, i % 16
        lines.append(f"v{i} = v{i - 1} + {coefficient} * x{j}  # step {i}")
        value_terms.append((coefficient, j))
        size += len(lines[-1]) + 1
    return "\n".join(lines) + "\n", value_terms


@pytest.mark.slow
def test_one_megabyte_program(default_recursion_limit):
    program, terms = _megabyte_program()
    assert len(program) >= 1_000_000
    point = {f"x{j}": float(j + 1) for j in range(16)}
    expected_gradient = {f"x{j}": 0.0 for j in range(16)}
    for coefficient, j in terms:
        expected_gradient[f"x{j}"] += coefficient
    expected_value = sum(coefficient * point[f"x{j}"] for coefficient, j in terms)
    result = gradcli.evaluate(program, point)
    assert result.value == expected_value
    assert result.gradient == expected_gradient
    assert list(result.gradient) == [f"x{j}" for j in range(16)]


# --------------------------------------------------------------------------------------
# Errors: the right class, pointing at the right place, in plain words
# --------------------------------------------------------------------------------------

# Lark's names for the grammar's terminals: users must never see them.
TERMINAL_NAMES = re.compile(
    r"\b(NAME|NUMBER|LPAR|RPAR|_SEP|STAR|SLASH|POW|MINUS|PLUS|COMMA|EQUAL|AUGOP|COMMENT|__ANON_\d+)\b|\$END|Token\("
)


def _raises(program, cls):
    with pytest.raises(cls) as info:
        gradcli.parse(program)
    error = info.value
    assert error.source == program
    for text in (error.message, error.hint or ""):
        assert not TERMINAL_NAMES.search(text), text
    return error


@pytest.mark.parametrize(
    "program, opening",
    [
        ("(a + b", 0),
        ("sin(x + (y * 2)", 3),
        ("x * (y + 1", 4),
        ("((x)", 0),
        ("max(x, (y)", 3),
        ("a = 1\nb = (a + 2\n", 10),
        ("a = (1 +\n2)", 4),
        ("(", 0),
    ],
)
def test_unclosed_parenthesis_points_at_it(program, opening):
    error = _raises(program, ProgramSyntaxError)
    assert program[opening] == "("
    assert error.span[0] == opening


def test_unclosed_nested_parentheses_point_at_an_unclosed_one():
    program = "(((x)"
    error = _raises(program, ProgramSyntaxError)
    assert error.span[0] in (0, 1)  # both are never closed


@pytest.mark.parametrize("program, position", [("a + b)", 5), ("(a))", 3), (")", 0), ("sin(x))", 6), ("a\n)", 2)])
def test_unmatched_closing_parenthesis(program, position):
    error = _raises(program, ProgramSyntaxError)
    assert error.span[0] == position


@pytest.mark.parametrize(
    "program, position",
    [
        ("1 +", 3),  # at the end of the program
        ("1 + ", 3),
        ("x = ", 3),
        ("x += ", 4),
        ("2 3", 2),
        ("2x", 1),
        ("sin x", 4),
        ("a $ b", 2),
        ("x ** * 2", 5),
        ("x ^ ^ 2", 4),
        ("max(1 2)", 6),
        ("sin(x,)", 6),
        ("3 = x", 2),
        ("x = = 1", 4),
        ("x = y = 2", 6),
        ("x +\ny = 2", 3),
        ("u = 1\nv = 2 3\n", 12),
    ],
)
def test_syntax_errors_point_at_the_offending_column(program, position):
    error = _raises(program, ProgramSyntaxError)
    assert error.span[0] == position


def test_syntax_error_messages_say_what_was_found_and_expected():
    error = _raises("1 +", ProgramSyntaxError)
    assert "end" in error.message and "expected" in error.message
    error = _raises("2 3", ProgramSyntaxError)
    assert "3" in error.message and "expected" in error.message
    error = _raises("a $ b", ProgramSyntaxError)
    assert "$" in error.message


@pytest.mark.parametrize("program", ["", "   ", "\n\n", "# only a comment", ";;", " ; \n # c\n;"])
def test_empty_program_is_a_syntax_error(program):
    _raises(program, ProgramSyntaxError)


@pytest.mark.parametrize(
    "program, span, suggestion",
    [
        ("sn(x)", (0, 2), "sin"),
        ("expp(x)", (0, 4), "exp"),
        ("y = 2 * sqr(x)", (8, 11), "sqrt"),
        ("sigmod(x)", (0, 6), "sigmoid"),
    ],
)
def test_unknown_function_with_did_you_mean(program, span, suggestion):
    error = _raises(program, UnknownNameError)
    assert tuple(error.span) == span
    assert program[span[0] : span[1]] in error.message
    assert re.search(rf"\b{suggestion}\b", (error.hint or "") + error.message)


@pytest.mark.parametrize("program, span", [("sin + 1", (0, 3)), ("2 * exp", (4, 7)), ("y = log", (4, 7)), ("max", (0, 3))])
def test_a_function_used_as_a_value(program, span):
    error = _raises(program, UnknownNameError)
    assert tuple(error.span) == span
    assert "function" in error.message


@pytest.mark.parametrize("program, span", [("exp = 3", (0, 3)), ("y = 1\nlog += y", (6, 9)), ("max = x", (0, 3))])
def test_assigning_to_a_function_name(program, span):
    error = _raises(program, UnknownNameError)
    assert tuple(error.span) == span
    assert error.hint


@pytest.mark.parametrize(
    "program, function",
    [
        ("sin(x, y)", "sin"),
        ("atan2(x)", "atan2"),
        ("max(x)", "max"),
        ("min(1)", "min"),
        ("pow(x)", "pow"),
        ("pow(x, y, z)", "pow"),
        ("log(x, y, z)", "log"),
        ("y = 1 + exp(1, 2)", "exp"),
    ],
)
def test_wrong_argument_count(program, function):
    error = _raises(program, ArityError)
    assert program[error.span[0] :].startswith(function + "(")
    assert function in error.message


def test_errors_are_gradcli_errors_with_exit_code_2():
    for program in ["1 +", "sn(x)", "sin(1, 2)", "exp = 1"]:
        with pytest.raises(GradcliError) as info:
            gradcli.parse(program)
        assert info.value.exit_code == 2
