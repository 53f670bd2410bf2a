"""JUnit XML: one suite per implementation, the right element per status, valid XML whatever
the adapters' messages contain."""
import xml.etree.ElementTree as ET

from lstm_conformance.report import junit
from lstm_conformance.cli import main


def rec(case, status, impl="numpy", message="", check="forward", **extra):
    return {"case": case, "group": "toy", "dtype": "float32", "impl": impl, "check": check, "status": status,
            "message": message, "seconds": 0.5, **extra}


RECORDS = [
    rec("a", "pass"),
    rec("b", "fail", message="y[t=5, b=0, unit=0]: expected 0.96, got 0.64",
        outputs=[{"output": "y", "passed": False, "max_abs": 0.32, "worst": {"index": {"t": 5}}}],
        diagnosis={"summary": "gate blocks i and f swapped"}),
    rec("c", "error", message="RuntimeError: kernel exploded", traceback="Traceback ...\nRuntimeError"),
    rec("d", "unsupported", message="nn.LSTM has fixed activations"),
    rec("e", "xfail", message="expected fail (issue 1): boom"),
    rec("f", "xpass", message="passed, but expected to fail"),
    rec("a", "pass", impl="torch-lstm", check="gradients"),
]


def parse(text):
    return ET.fromstring(text.encode("utf-8"))


def test_suites_counts_and_elements():
    root = parse(junit.to_xml(RECORDS, {"torch": "2.13.0", "gpu": None}))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("7", "1", "1", "2")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"numpy", "torch-lstm"}
    props = {p.get("name"): p.get("value") for p in suites["numpy"].find("properties")}
    assert props == {"torch": "2.13.0"}  # None values are left out
    cases = {c.get("name"): c for c in suites["numpy"].findall("testcase")}
    assert cases["a[float32]"].get("classname") == "lstm_conformance.numpy.toy"
    assert cases["a[float32]"].get("time") == "0.500000" and len(cases["a[float32]"]) == 0
    failure = cases["b[float32]"].find("failure")
    assert failure.get("message") == "diagnosis: gate blocks i and f swapped; y[t=5, b=0, unit=0]: expected 0.96, got 0.64"
    assert "max_abs=0.32" in failure.text and "gate blocks i and f swapped" in failure.text
    assert "Traceback" in cases["c[float32]"].find("error").text
    assert cases["d[float32]"].find("skipped").get("message") == "unsupported: nn.LSTM has fixed activations"
    assert cases["e[float32]"].find("skipped").get("message").startswith("xfail: ")
    assert len(cases["f[float32]"]) == 0  # xpass is a pass without --strict
    gradients = suites["torch-lstm"].find("testcase")
    assert gradients.get("name") == "a[float32]::gradients"


def test_a_long_failure_message_keeps_its_diagnosis():
    deviations = "; ".join(f"y[t={t}, b=0, unit=0]: expected 0.96, got 0.64 (abs error 0.32)" for t in range(40))
    summary = "reproduced by: gate blocks i and f swapped"
    record = rec("b", "fail", message=f"{deviations} — diagnosis: {summary}", diagnosis={"summary": summary})
    message = parse(junit.to_xml([record])).find("testsuite/testcase/failure").get("message")
    assert message.startswith(f"diagnosis: {summary}; y[t=0, b=0, unit=0]") and message.endswith(" ...")
    assert len(message) <= junit.MAX_MESSAGE


def test_strict_makes_xpass_a_failure():
    root = parse(junit.to_xml(RECORDS, strict=True))
    assert root.get("failures") == "2"
    xpass = next(c for c in root.iter("testcase") if c.get("name") == "f[float32]")
    assert xpass.find("failure").get("type") == "xpass"


def test_control_characters_in_messages_keep_the_xml_valid():
    nasty = rec("g", "error", message="bad\x00byte \x1b[31mred\x1b[0m <tag> & \"quotes\" \ud800")
    root = parse(junit.to_xml([nasty]))
    error = root.find("testsuite/testcase/error")
    assert "<tag> & \"quotes\"" in error.get("message") and "\x00" not in error.get("message")


def test_unknown_status_is_reported_as_an_error_not_a_pass():
    root = parse(junit.to_xml([rec("h", "exploded")]))
    assert root.get("errors") == "1"


def test_cli_run_writes_junit(tmp_path, capsys):
    target = tmp_path / "reports" / "junit.xml"
    assert main(["run", "--impl", "numpy", "-k", "toy-memory-tanh", "--junit", str(target)]) == 0
    root = ET.parse(target).getroot()
    assert int(root.get("tests")) > 0 and root.get("failures") == "0"
    assert {c.get("name") for c in root.iter("testcase")} >= {"toy-memory-tanh[float64]", "toy-memory-tanh[float32]"}
