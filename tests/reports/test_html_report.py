"""report.html: self-contained, and holding every section the issue asks for, rendered from
results.json alone."""
import base64
import json
import re


from lstm_conformance.report import html as html_report
from lstm_conformance.report import results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def images(page: str) -> dict:
    return {m.group(1): base64.b64decode(m.group(2))
            for m in re.finditer(r'<img class="plot" id="([\w-]+)"[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"',
                                 page)}


def test_report_command_writes_every_file(generated_report):
    assert generated_report.exit_status == 1  # the defective adapter fails
    names = {p.name for p in generated_report.folder.iterdir()}
    assert {"results.json", "correctness.md", "speed.md", "report.html", "junit.xml"} <= names


def test_page_is_self_contained(generated_report):
    page = generated_report.html
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page), "no resource may come from the network"
    assert "<script" not in page and "<link" not in page and "@import" not in page


def test_both_plots_are_embedded_pngs(generated_report):
    found = images(generated_report.html)
    assert set(found) == {"plot-error-by-step", "plot-time-by-batch"}
    assert all(png.startswith(PNG_SIGNATURE) and len(png) > 5000 for png in found.values())


def test_correctness_matrix_is_coloured_by_status(generated_report):
    page = generated_report.html
    matrix = page[page.index('id=correctness'):page.index('id=coverage')]
    for status in ("pass", "fail"):
        colour = html_report.STATUS_COLOURS[status][0]
        assert f'class="badge status-{status}" style="background:{colour}' in matrix
    assert "textbook-swapped-rows" in matrix and "random/t20b4i16h32/bias/given-state" in matrix


def test_coverage_matrix_gives_reasons(generated_report):
    page = generated_report.html
    coverage = page[page.index('id=coverage'):page.index('id=failures')]
    assert "peepholes" in coverage and "nn.LSTM has no peephole connections" in coverage


def test_failures_are_grouped_by_diagnosis_with_one_located_example(generated_report):
    page = generated_report.html
    failures = page[page.index('id=failures'):page.index('id=speed')]
    failing = [r for r in generated_report.document["records"]
               if r["impl"] == "textbook-swapped-rows" and r["status"] == "fail" and r.get("diagnosis")]
    assert {r["case"] for r in failing} == {"toy-memory-tanh", "random/t20b4i16h32/bias/given-state"}
    assert failures.count('class="failure') == 1  # one diagnosis: one group, its cases listed
    assert "toy-memory-tanh [float32] forward" in failures and "given-state [float32] forward" in failures
    assert "a known defect reproduces it" in failures and "<table><tr><th>where" not in failures  # a sentence
    example = failing[0]
    index = ", ".join(f"{k}={v}" for k, v in example["outputs"][0]["worst"]["index"].items())
    assert "worst element" in failures and index in failures
    assert html_report.esc(example["diagnosis"]["patterns"][0]) in failures


def test_unsupported_and_skipped_badges_differ():
    unsupported, skipped = (html_report.badge(s) for s in ("unsupported", "skipped"))
    assert html_report.STATUS_COLOURS["unsupported"] != html_report.STATUS_COLOURS["skipped"]
    assert "status-skipped" in skipped and ".status-skipped { border: 1px dashed" in html_report.CSS


def test_speed_table_lists_every_implementation(generated_report):
    page = generated_report.html
    speed = page[page.index('id=speed'):page.index('id=plots')]
    for impl in ("numpy", "torch-lstm", "textbook-swapped-rows"):
        assert f"<td>{impl}</td>" in speed
    assert "t3b2i4h5" in speed and "t3b1i4h5" in speed  # the batch sweep for the plot


def test_the_page_is_rendered_from_results_json_alone(generated_report):
    again = html_report.render(generated_report.document)
    assert images(again).keys() == images(generated_report.html).keys()
    assert again.count("class=\"failure") == generated_report.html.count("class=\"failure")
    stored_document = results.read(generated_report.folder / "results.json")  # the stored, brief form
    # ... is the document rendered above (the fixture reads the file the same way), so its page is
    # that page: no second render (half a second of plotting)
    assert json.dumps(stored_document, sort_keys=True) == json.dumps(generated_report.document, sort_keys=True)
    stored = again
    assert images(stored).keys() == images(generated_report.html).keys()
    assert stored.count("class=\"failure") == generated_report.html.count("class=\"failure")


def test_messages_are_escaped():
    document = {"records": [{"case": "<b>x</b>", "group": "g", "dtype": "float32", "impl": "evil<script>",
                             "check": "forward", "status": "error", "message": "<img src=x onerror=alert(1)>"}],
                "environment": {}, "speed": []}
    page = html_report.render(document)
    assert "<script>" not in page and "<img src=x" not in page and "&lt;img src=x" in page


def test_an_interrupted_run_says_so():
    page = html_report.render({"records": [], "environment": {}, "speed": [], "settings": {"interrupted": True}})
    assert "This run was interrupted" in page
