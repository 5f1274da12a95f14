"""Reports of `gradcli test` (issue 5): JUnit XML, GitHub Actions annotations and step summary, JSON Lines.

The results are real: case files written here are loaded and run by
gradcli.cases and gradcli.suite. They hold a passing case (with the
finite-difference check and random points), a recorded one, planted
regressions (a wrong expected partial in a [[case.point]], a wrong one in an
inline `point =`, an expected NaN), a program with a syntax error, random
points that all fall outside the domain, and a case whose name is hostile to
XML, GitHub's workflow commands and Markdown alike.

The JUnit output is checked against JUNIT_XSD, the Jenkins xunit-plugin
junit-10.xsd (the schema pytest's xunit2 targets) without the rerun/flaky
elements gradcli never writes, twice: by `xmlschema` where it is installed,
and always by a small validator here that reads the same XSD (this schema
has only unordered choices and optional elements, so allowed children,
attributes, required attributes, mixed content and the time pattern are all
it takes).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest

from gradcli import cases, suite
from gradcli.render import github, junit, suite_json

GOOD = """\
[suite]
rtol = 1e-9
seed = 3

[[case]]
name = "olah"
program = "(a+b)*(b+1)"
check = true
samples = 4

[[case.point]]
at = { a = 2, b = 1 }
value = 6
gradient = { a = 2, b = 5 }

[[case.point]]
at = { a = -1, b = 0.5 }
value = -0.75
gradient = { a = 1.5, b = 1 }

[[case]]
name = "new"
program = "a*a"
point = { a = 3 }
"""

HOSTILE_NAME = 'x<&"]]>%,:|\\\nsecond line\x1b[31m red'
HOSTILE_CLEAN = 'x<&"]]>%,:|\\\nsecond line red'  # what the reports may show of it

REGRESS = """\
[[case]]
name = "planted"
program = "x*y + x*x"

[[case.point]]
at = { x = 1, y = 2 }
value = 3
gradient = { x = 4, y = 1 }

[[case.point]]   # planted regression
at = { x = 2, y = -1 }
value = 2
gradient = { x = 3, y = 2.5 }

[[case]]
name = "inline wrong"
program = "3*t"
point = { t = 1 }   # planted inline
value = 3
gradient = { t = 4 }

[[case]]
name = "broken"
program = "(a+"
point = { a = 1 }   # syntax error

[[case]]
name = "nan expected"
program = "a*a"
point = { a = 2 }
value = nan
gradient = { a = 4 }

[[case]]   # hostile case
name = "x<&\\"]]>%,:|\\\\\\nsecond line\\u001b[31m red"
program = "u + 1"
point = { u = 1 }
value = 5
gradient = { u = 1 }

[[case]]   # samples nowhere
name = "nowhere"
program = "log(a)"
samples = 3
range = { a = [-2, -1] }
point = { a = 1 }
value = 0
gradient = { a = 1 }
"""

EXPECTED_STATUS = {"olah": "pass", "new": "recorded", "planted": "fail", "inline wrong": "fail", "broken": "error",
                   "nan expected": "fail", HOSTILE_NAME: "fail", "nowhere": "fail"}

# Jenkins xunit-plugin junit-10.xsd (MIT, (c) 2014 Gregory Boissinot), less rerunFailure/rerunError/
# flakyFailure/flakyError. {testcase_extra} is empty for the exact schema.
JUNIT_XSD = """\
<?xml version="1.0" encoding="UTF-8" ?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
    <xs:simpleType name="SUREFIRE_TIME">
        <xs:restriction base="xs:string">
            <xs:pattern value="(([0-9]{{0,3}},)*[0-9]{{3}}|[0-9]{{0,3}})*(\\.[0-9]*)?"/>
        </xs:restriction>
    </xs:simpleType>
    <xs:element name="failure">
        <xs:complexType mixed="true">
            <xs:attribute name="type" type="xs:string"/>
            <xs:attribute name="message" type="xs:string"/>
        </xs:complexType>
    </xs:element>
    <xs:element name="error">
        <xs:complexType mixed="true">
            <xs:attribute name="type" type="xs:string"/>
            <xs:attribute name="message" type="xs:string"/>
        </xs:complexType>
    </xs:element>
    <xs:element name="skipped">
        <xs:complexType mixed="true">
            <xs:attribute name="type" type="xs:string"/>
            <xs:attribute name="message" type="xs:string"/>
        </xs:complexType>
    </xs:element>
    <xs:element name="properties">
        <xs:complexType>
            <xs:sequence>
                <xs:element ref="property" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence>
        </xs:complexType>
    </xs:element>
    <xs:element name="property">
        <xs:complexType>
            <xs:attribute name="name" type="xs:string" use="required"/>
            <xs:attribute name="value" type="xs:string" use="required"/>
        </xs:complexType>
    </xs:element>
    <xs:element name="system-err" type="xs:string"/>
    <xs:element name="system-out" type="xs:string"/>
    <xs:element name="testcase">
        <xs:complexType>
            <xs:sequence>
                <xs:choice minOccurs="0" maxOccurs="unbounded">
                    <xs:element ref="skipped"/>
                    <xs:element ref="error"/>
                    <xs:element ref="failure"/>
                    <xs:element ref="system-out"/>
                    <xs:element ref="system-err"/>
                </xs:choice>
            </xs:sequence>
            <xs:attribute name="name" type="xs:string" use="required"/>
            <xs:attribute name="time" type="xs:string"/>
            <xs:attribute name="classname" type="xs:string"/>
            <xs:attribute name="group" type="xs:string"/>{testcase_extra}
        </xs:complexType>
    </xs:element>
    <xs:element name="testsuite">
        <xs:complexType>
            <xs:choice minOccurs="0" maxOccurs="unbounded">
                <xs:element ref="testsuite"/>
                <xs:element ref="properties"/>
                <xs:element ref="testcase"/>
                <xs:element ref="system-out"/>
                <xs:element ref="system-err"/>
            </xs:choice>
            <xs:attribute name="name" type="xs:string" use="required"/>
            <xs:attribute name="tests" type="xs:string" use="required"/>
            <xs:attribute name="failures" type="xs:string" use="required"/>
            <xs:attribute name="errors" type="xs:string" use="required"/>
            <xs:attribute name="group" type="xs:string" />
            <xs:attribute name="time" type="SUREFIRE_TIME"/>
            <xs:attribute name="skipped" type="xs:string" />
            <xs:attribute name="timestamp" type="xs:string" />
            <xs:attribute name="hostname" type="xs:string" />
            <xs:attribute name="id" type="xs:string" />
            <xs:attribute name="package" type="xs:string" />
            <xs:attribute name="file" type="xs:string"/>
            <xs:attribute name="log" type="xs:string"/>
            <xs:attribute name="url" type="xs:string"/>
        </xs:complexType>
    </xs:element>
    <xs:element name="testsuites">
        <xs:complexType>
            <xs:sequence>
                <xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded" />
            </xs:sequence>
            <xs:attribute name="name" type="xs:string" />
            <xs:attribute name="time" type="SUREFIRE_TIME"/>
            <xs:attribute name="tests" type="xs:string" />
            <xs:attribute name="failures" type="xs:string" />
            <xs:attribute name="errors" type="xs:string" />
        </xs:complexType>
    </xs:element>
</xs:schema>
"""
LOCATION_ATTRIBUTES = '\n            <xs:attribute name="file" type="xs:string"/>' \
                      '\n            <xs:attribute name="line" type="xs:string"/>'
STRICT_XSD = JUNIT_XSD.format(testcase_extra="")
LOCATIONS_XSD = JUNIT_XSD.format(testcase_extra=LOCATION_ATTRIBUTES)
XS = "{http://www.w3.org/2001/XMLSchema}"
XML_CHAR = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def mini_validate(xml: str, xsd: str) -> list[str]:
    """Problems of `xml` under `xsd`, for schemas made of unordered optional children (as junit-10.xsd)."""
    schema = ET.fromstring(xsd)
    patterns = {t.get("name"): t.find(f"{XS}restriction/{XS}pattern").get("value") for t in schema.iter(f"{XS}simpleType")}
    rules = {}
    for element in schema.findall(f"{XS}element"):
        complex_type = element.find(f"{XS}complexType")
        if complex_type is None:
            rules[element.get("name")] = ({}, set(), set(), True)
            continue
        attributes = {a.get("name"): a for a in complex_type.iter(f"{XS}attribute")}
        required = {name for name, a in attributes.items() if a.get("use") == "required"}
        children = {e.get("ref") for e in complex_type.iter(f"{XS}element")}
        rules[element.get("name")] = (attributes, required, children, complex_type.get("mixed") == "true")
    problems = []

    def visit(node, path):
        if node.tag not in rules:
            return problems.append(f"{path}: element <{node.tag}> is not declared")
        attributes, required, children, mixed = rules[node.tag]
        for name, value in node.attrib.items():
            if name not in attributes:
                problems.append(f"{path}: attribute {name!r} is not allowed")
            elif attributes[name].get("type") in patterns and not re.fullmatch(patterns[attributes[name].get("type")], value):
                problems.append(f"{path}: {name}={value!r} does not match its pattern")
        problems.extend(f"{path}: required attribute {name!r} missing" for name in sorted(required - set(node.attrib)))
        if not mixed and any((text or "").strip() for text in [node.text] + [c.tail for c in node]):
            problems.append(f"{path}: text is not allowed here")
        for child in node:
            if child.tag not in children:
                problems.append(f"{path}: <{child.tag}> is not allowed in <{node.tag}>")
            visit(child, f"{path}/{child.tag}")

    root = ET.fromstring(xml)
    if root.tag not in rules:
        problems.append(f"root <{root.tag}> is not declared")
    visit(root, root.tag)
    return problems


def line_of(text: str, marker: str) -> int:
    (number,) = [n for n, line in enumerate(text.splitlines(), start=1) if marker in line]
    return number


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    odd = root / "re,gress:dir"
    odd.mkdir()
    (root / "good.grad.toml").write_text(GOOD, encoding="utf-8")
    (odd / "regress.grad.toml").write_text(REGRESS, encoding="utf-8")
    results = []
    for path in (root / "good.grad.toml", odd / "regress.grad.toml"):
        spec = cases.load(str(path))
        results += [suite.run_case(case, spec.path) for case in spec.cases]
    return {"results": results, "good": str(root / "good.grad.toml"), "regress": str(odd / "regress.grad.toml")}


@pytest.fixture(scope="module")
def results(run):
    return run["results"]


def by_name(results, name):
    (result,) = [r for r in results if r.name == name]
    return result


def test_the_planted_cases_come_out_as_planted(results):
    assert {r.name: r.status for r in results} == EXPECTED_STATUS
    assert [p.status for p in by_name(results, "planted").points] == ["pass", "fail"]
    assert by_name(results, "olah").samples.ok and by_name(results, "nowhere").samples.results == []


# --- JUnit XML --------------------------------------------------------------------------------------------------


def test_junit_parses_with_the_right_counts(run, results):
    root = ET.fromstring(junit.to_junit_xml(results, suite_name="regressions"))
    assert root.tag == "testsuites" and root.get("name") == "regressions"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "5", "1")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [run["good"], run["regress"]]
    assert [(s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")) for s in suites] == [
        ("2", "0", "0", "0"), ("6", "5", "1", "0")]
    assert [s.get("file") for s in suites] == [run["good"], run["regress"]]
    names = [c.get("name") for c in root.iter("testcase")]
    assert names == [n.replace("\x1b[31m", "") for n in EXPECTED_STATUS]
    assert float(root.get("time")) == pytest.approx(sum(r.seconds for r in results), abs=0.002)


def test_junit_failure_and_error_sit_at_the_right_cases(run, results):
    root = ET.fromstring(junit.to_junit_xml(results))
    for case in root.iter("testcase"):
        expected = {junit.clean(name): status for name, status in EXPECTED_STATUS.items()}[case.get("name")]
        kinds = [child.tag for child in case]
        assert kinds == {"pass": [], "recorded": ["system-out"], "fail": ["failure"], "error": ["error"]}[expected]
        assert case.get("classname") == junit.classname(case.get("file"))
    planted = root.find(".//testcase[@name='planted']")
    assert planted.get("line") == str(line_of(REGRESS, 'name = "planted"') - 1)
    assert planted.get("file") == run["regress"]
    failure = planted.find("failure")
    assert failure.get("type") == "fail" and failure.get("message").startswith("d/dy is 2.0, expected 2.5")
    error = root.find(".//testcase[@name='broken']/error")
    assert error.get("type") == "error" and "never closed" in error.get("message") and "never closed" in error.text
    recorded = root.find(".//testcase[@name='new']/system-out").text
    assert recorded.startswith("recorded: point 1") and "value 9, gradient a=6" in recorded


def test_junit_failure_body_has_every_point_and_an_aligned_table(results):
    root = ET.fromstring(junit.to_junit_xml(results))
    body = root.find(".//testcase[@name='planted']/failure").text
    lines = body.splitlines()
    planted_line = line_of(REGRESS, "# planted regression")
    assert f"point 1 (line {planted_line - 5}) at x=1, y=2: pass" in lines
    assert f"point 2 (line {planted_line}) at x=2, y=-1: fail" in lines
    assert "  d/dy is 2.0, expected 2.5 (relative error 0.2, rtol 1e-09)" in lines
    headers = [n for n, line in enumerate(lines) if line.split() == ["what", "expected", "actual", "rel", "error", "ok"]]
    assert len(headers) == 2
    header = lines[headers[1]]
    rows = lines[headers[1] + 1: headers[1] + 4]
    columns = [header.index(word) for word in ("what", "expected", "actual", "rel error", "ok")]
    for row in rows:
        for column in columns:
            assert row[column] != " " and row[column - 1] == " ", (row, column)
    assert [row.split() for row in rows] == [["value", "2", "2", "0", "ok"], ["x", "3", "3", "0", "ok"],
                                             ["y", "2.5", "2", "0.2", "FAIL"]]


def test_junit_has_no_escape_codes_markup_or_forbidden_characters(results):
    xml = junit.to_junit_xml(results)
    assert "\x1b" not in xml and "[31m" not in xml
    assert not re.search(r"\[/?(bold|red|green|yellow|dim)\b", xml)
    assert XML_CHAR.fullmatch(xml)
    # the hostile name survives, less its escape sequence, in the attribute and in the failure text
    root = ET.fromstring(xml)
    (case,) = [c for c in root.iter("testcase") if c.get("name") == HOSTILE_CLEAN]
    assert case.find("failure").text.startswith('case "x<&"]]>%,:|\\ second line red" (')
    assert xml.count("]]>") == 0  # escaped as ]]&gt;


def test_clean_strips_what_xml_forbids():
    assert junit.clean("a\x1b[1;31mb\x1b[0m\x00c\x08\x0bd\x7f\ufffee\tf\ng") == "abcde\tf\ng"


def test_classname_from_the_case_file_path():
    assert junit.classname("cases/sub/olah.grad.toml") == "cases.sub.olah"
    assert junit.classname("./cases\\win.grad.toml") == "cases.win"
    assert junit.classname("/abs/x.grad.toml") == "abs.x"


def test_junit_is_valid_against_junit_10_xsd(results):
    strict = junit.to_junit_xml(results, locations=False, timestamp=datetime(2026, 1, 2, 3, 4, 5))
    assert mini_validate(strict, STRICT_XSD) == []
    assert 'timestamp="2026-01-02T03:04:05"' in strict
    located = junit.to_junit_xml(results)
    assert mini_validate(located, LOCATIONS_XSD) == []
    # file/line on <testcase> are the one departure from junit-10.xsd
    problems = mini_validate(located, STRICT_XSD)
    assert problems and all("attribute 'file'" in p or "attribute 'line'" in p for p in problems)


INVALID = [
    ('<testsuites><testsuite name="s" failures="0" errors="0"/></testsuites>', "required attribute 'tests'"),
    ('<testsuites><testsuite name="s" tests="1" failures="0" errors="0" time="1e-05"/></testsuites>', "pattern"),
    ('<testsuites><testsuite name="s" tests="0" failures="0" errors="0"><failure/></testsuite></testsuites>',
     "<failure> is not allowed"),
    ('<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c" line="3"/>'
     "</testsuite></testsuites>", "attribute 'line'"),
    ("<testsuites>text<testsuite name='s' tests='0' failures='0' errors='0'/></testsuites>", "text is not allowed"),
]


@pytest.mark.parametrize("broken, expected", INVALID)
def test_the_mini_validator_rejects_what_the_schema_rejects(broken, expected):
    problems = mini_validate(broken, STRICT_XSD)
    assert any(expected in p for p in problems), problems


def test_junit_is_valid_by_xmlschema(results):
    xmlschema = pytest.importorskip("xmlschema", reason="xmlschema not installed; mini_validate covers the XSD")
    xmlschema.XMLSchema(STRICT_XSD).validate(junit.to_junit_xml(results, locations=False, timestamp=datetime.now()))
    xmlschema.XMLSchema(LOCATIONS_XSD).validate(junit.to_junit_xml(results))
    assert not xmlschema.XMLSchema(STRICT_XSD).is_valid(junit.to_junit_xml(results))
    assert not any(xmlschema.XMLSchema(STRICT_XSD).is_valid(broken) for broken, _ in INVALID)


def test_junit_times_are_plain_decimals(results):
    odd = [r._replace(seconds=s) for r, s in zip(results, [2e-6, 1234.5678, float("nan"), -1.0, float("inf")])]
    root = ET.fromstring(junit.to_junit_xml(odd))
    assert [c.get("time") for c in root.iter("testcase")] == ["0.000", "1234.568", "0.000", "0.000", "0.000"]
    assert mini_validate(junit.to_junit_xml(odd, locations=False), STRICT_XSD) == []


def test_junit_of_no_results_is_valid():
    xml = junit.to_junit_xml([])
    assert mini_validate(xml, STRICT_XSD) == []
    assert ET.fromstring(xml).get("tests") == "0"


# --- GitHub Actions ---------------------------------------------------------------------------------------------

COMMAND = re.compile(r"::error file=(?P<file>[^,:\r\n]*),line=(?P<line>[0-9]+),title=(?P<title>[^,:\r\n]*)"
                     r"::(?P<message>[^\r\n]*)")


def unescape(text: str) -> str:
    for code, char in (("%3A", ":"), ("%2C", ","), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")):
        text = text.replace(code, char)
    return text


def test_annotations_have_the_workflow_command_format_and_point_at_the_failing_lines(run, results):
    lines = github.annotations(results)
    assert all(COMMAND.fullmatch(line) for line in lines), lines
    found = [COMMAND.fullmatch(line).groupdict() for line in lines]
    assert {unescape(f["file"]) for f in found} == {run["regress"]}
    where = {unescape(f["title"]): int(f["line"]) for f in found}
    assert where == {
        "gradcli test: planted, point 2": line_of(REGRESS, "# planted regression"),
        "gradcli test: inline wrong, point 1": line_of(REGRESS, "# planted inline"),
        "gradcli test: broken, point 1": line_of(REGRESS, "# syntax error"),
        "gradcli test: nan expected, point 1": line_of(REGRESS, "value = nan") - 1,
        f"gradcli test: {HOSTILE_CLEAN}, point 1": line_of(REGRESS, "# hostile case") + 3,
        "gradcli test: nowhere": line_of(REGRESS, "# samples nowhere"),  # random points only: the case's line
    }
    messages = {unescape(f["title"]): unescape(f["message"]) for f in found}
    assert messages["gradcli test: planted, point 2"] == (
        "fail: d/dy is 2.0, expected 2.5 (relative error 0.2, rtol 1e-09) (at x=2, y=-1)")
    assert messages["gradcli test: nowhere"].startswith("fail: samples: none of 3 random points")
    assert github.annotations([r for r in results if r.status in ("pass", "recorded")]) == []


def test_annotations_escape_a_hostile_message_and_title(results):
    hostile = by_name(results, HOSTILE_NAME)
    point = hostile.points[0]._replace(message="50% off\r\nnext: a,b\x1b[0m", at={"u": 1.0})
    (line,) = github.annotations([hostile._replace(file="d,ir:x/c.grad.toml", points=[point])])
    assert line == ("::error file=d%2Cir%3Ax/c.grad.toml,line=" + str(point.line)
                    + ",title=gradcli test%3A x<&\"]]>%25%2C%3A|\\%0Asecond line red%2C point 1"
                    + "::fail: 50%25 off%0D%0Anext: a,b (at u=1)")
    assert github.escape_data("%\r\n:,") == "%25%0D%0A:,"
    assert github.escape_property("%\r\n:,") == "%25%0D%0A%3A%2C"


# --- step summary -----------------------------------------------------------------------------------------------


def split_row(row: str) -> list[str]:
    """Cells of a Markdown table row, honouring backslash escapes."""
    cells, current, i = [], "", 0
    body = row.strip()
    assert body.startswith("|") and body.endswith("|") and not body.endswith("\\|"), row
    body = body[1:-1]
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            current += body[i: i + 2]
            i += 2
            continue
        if body[i] == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += body[i]
        i += 1
    return cells + [current.strip()]


def unmarkdown(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell)


def test_step_summary_is_a_heading_a_table_with_a_row_per_point_and_details(results):
    text = github.step_summary(results)
    lines = text.splitlines()
    assert lines[0].startswith("## ") and "8 case(s), 10 point(s)" in lines[0] and "5 fail" in lines[0]
    start = lines.index("| case | point | status | worst error |")
    assert lines[start + 1] == "| --- | --- | --- | --- |"
    rows = []
    for line in lines[start + 2:]:
        if not line:
            break
        rows.append(split_row(line))
    assert all(len(row) == 4 for row in rows), rows
    expected_rows = sum(len(r.points) + (r.samples is not None) for r in results)
    assert len(rows) == expected_rows == 12
    expected_statuses = []
    for r in results:
        expected_statuses += [p.status for p in r.points] + ([] if r.samples is None else [r.samples.ok and "pass" or "fail"])
    assert [row[2].split()[-1] for row in rows] == expected_statuses
    hostile = [row for row in rows if unmarkdown(row[0]).startswith("x<&")]
    assert len(hostile) == 1
    assert unmarkdown(hostile[0][0]) == " ".join(HOSTILE_CLEAN.split()) + f" ({by_name(results, HOSTILE_NAME).file}" \
        f":{by_name(results, HOSTILE_NAME).line})"
    assert "\\|" in hostile[0][0] and "\\<" in hostile[0][0] and "\\&" in hostile[0][0]
    planted = [row for row in rows if row[0].startswith("planted")]
    assert [row[3] for row in planted] == ["0", "0.2"]
    assert text.count("<details>") == text.count("</details>") == 6
    assert "<summary>x&lt;&amp;&quot;]]&gt;%,:|\\ second line red (" in text
    assert '```text\ncase "planted"' in text and "\x1b" not in text


def test_step_summary_of_passing_results_has_no_failure_section(results):
    text = github.step_summary([r for r in results if r.status in ("pass", "recorded")])
    assert text.startswith("## ✅") and "<details>" not in text and "Failures" not in text


# --- JSON Lines -------------------------------------------------------------------------------------------------

CASE_KEYS = {"type", "schema_version", "file", "name", "line", "status", "message", "seconds", "points", "samples"}
POINT_KEYS = {"index", "at", "line", "status", "message", "value", "gradient", "worst", "comparisons", "check"}


def strict_loads(text: str):
    def reject(constant):
        raise AssertionError(f"non-strict JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def test_case_lines_are_strict_and_complete(results):
    for result in results:
        line = json.dumps(suite_json.case_to_dict(result), allow_nan=False)
        data = strict_loads(line)
        assert set(data) == CASE_KEYS and data["type"] == "case"
        assert (data["file"], data["name"], data["line"], data["status"], data["message"]) == (
            result.file, result.name, result.line, result.status, result.message)
        assert len(data["points"]) == len(result.points)
        for point, expected in zip(data["points"], result.points):
            assert set(point) == POINT_KEYS
            assert (point["index"], point["line"], point["status"], point["message"]) == (
                expected.index, expected.line, expected.status, expected.message)
            assert [c["what"] for c in point["comparisons"]] == [c.what for c in expected.comparisons]
            assert all(set(c) == {"what", "expected", "actual", "abs_error", "rel_error", "ok"} for c in point["comparisons"])


def test_case_json_numbers(results):
    olah = suite_json.case_to_dict(by_name(results, "olah"))
    assert olah["points"][1]["at"] == {"a": -1, "b": 0.5}
    assert olah["points"][1]["value"] == -0.75 and olah["points"][1]["gradient"] == {"a": 1.5, "b": 1}
    assert [p["input"] for p in olah["points"][0]["check"]["partials"]] == ["a", "b"]
    assert olah["points"][0]["check"]["ok"] is True
    assert olah["samples"] == {"ok": True, "seed": 3, "requested": 4, "checked": 4, "failed": 0, "skipped": 0}
    planted = suite_json.case_to_dict(by_name(results, "planted"))["points"][1]
    assert planted["worst"] == pytest.approx(0.2)
    assert planted["comparisons"][2] == {"what": "y", "expected": 2.5, "actual": 2, "abs_error": 0.5,
                                         "rel_error": pytest.approx(0.2), "ok": False}
    nan = suite_json.case_to_dict(by_name(results, "nan expected"))["points"][0]["comparisons"][0]
    assert (nan["expected"], nan["actual"], nan["abs_error"], nan["rel_error"]) == ("NaN", 4, "Infinity", "Infinity")
    broken = suite_json.case_to_dict(by_name(results, "broken"))["points"][0]
    assert (broken["value"], broken["gradient"], broken["worst"], broken["check"]) == (None, None, None, None)
    new = suite_json.case_to_dict(by_name(results, "new"))
    assert new["points"][0]["value"] == 9 and new["samples"] is None
    nowhere = suite_json.case_to_dict(by_name(results, "nowhere"))["samples"]
    assert nowhere["ok"] is False and nowhere["checked"] == 0 and nowhere["skipped"] > 0


def test_summary_counts(results):
    data = strict_loads(json.dumps(suite_json.summary_to_dict(results), allow_nan=False))
    assert data["type"] == "summary"
    assert data["cases"] == {"total": 8, "pass": 1, "recorded": 1, "fail": 5, "error": 1}
    assert data["points"] == {"total": 10, "pass": 4, "recorded": 1, "fail": 4, "error": 1}
    assert data["files"] == 2 and data["ok"] is False
    good = suite_json.summary_to_dict([r for r in results if r.status in ("pass", "recorded")])
    assert good["ok"] is True and good["cases"]["total"] == 2


def test_json_survives_non_finite_seconds_and_worst(results):
    result = by_name(results, "planted")
    odd = result._replace(seconds=float("inf"), points=[p._replace(worst=float("nan")) for p in result.points])
    data = strict_loads(json.dumps(suite_json.case_to_dict(odd), allow_nan=False))
    assert data["seconds"] == "Infinity" and {p["worst"] for p in data["points"]} == {"NaN"}
