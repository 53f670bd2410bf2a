"""report.html in a real headless browser (Debian's chromium): it loads without the network,
both plots decode and are displayed, the sections are there and the statuses are coloured.

A copy of the page gets a probe script that, once the page has loaded, writes what the
browser sees into the DOM; `--dump-dom` prints that DOM. Skipped when no Chromium is
installed, unless LSTM_CONFORMANCE_REQUIRE_BROWSER=1 (CI sets it, so it cannot skip there).
"""
import html
import json
import os
import re
import shutil
import subprocess

import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
REQUIRED = os.environ.get("LSTM_CONFORMANCE_REQUIRE_BROWSER") == "1"

PROBE = """<pre id="probe"></pre><script>
window.addEventListener("load", () => {
  const images = [...document.images].map(i => ({id: i.id, complete: i.complete, width: i.naturalWidth,
                                                  height: i.naturalHeight, shown: i.getBoundingClientRect().width}));
  const fail = document.querySelector(".status-fail");
  document.getElementById("probe").textContent = JSON.stringify({
    images, resources: performance.getEntriesByType("resource").map(r => r.name),
    sections: [...document.querySelectorAll("h2")].map(h => h.textContent),
    failColour: fail ? getComputedStyle(fail).backgroundColor : null,
    rows: document.querySelectorAll("table.matrix tbody tr").length});
});
</script>"""


def browser_view(page_path, tmp_path) -> dict:
    probed = tmp_path / "probed.html"
    probed.write_text(page_path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
               probed.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match and match.group(1), f"the probe did not run (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.mark.skipif(CHROMIUM is None and not REQUIRED,
                    reason="needs Chromium (Debian: apt-get install -y chromium); set "
                           "LSTM_CONFORMANCE_REQUIRE_BROWSER=1 to make its absence a failure")
def test_report_renders_in_headless_chromium(generated_report, tmp_path):
    assert CHROMIUM is not None, "LSTM_CONFORMANCE_REQUIRE_BROWSER=1 but no chromium on PATH"
    view = browser_view(generated_report.folder / "report.html", tmp_path)
    assert view["resources"] == [], "the page must not load anything from the network"
    plots = {i["id"]: i for i in view["images"]}
    assert set(plots) == {"plot-error-by-step", "plot-time-by-batch"}
    for image in plots.values():
        assert image["complete"] and image["width"] > 200 and image["height"] > 100 and image["shown"] > 0, image
    for section in ("Summary", "Correctness matrix", "Coverage matrix", "Failures and errors", "Speed", "Plots"):
        assert section in view["sections"]
    assert view["failColour"] == "rgb(255, 205, 210)"  # #ffcdd2: failures are red
    assert view["rows"] >= 4  # two groups, a row per case and dtype
