"""The README's adapter, copied verbatim around a correct LSTM, passes the whole case library.

The adapter is taken from README.md as printed, written to a folder beside a `my_package.py`
holding a correct LSTM with the interface the README assumes, loaded through the real loader
and run through the runner with every check. Deliberately broken copies of it must fail, so
a pass here is not vacuous.
"""
import re
import sys
import textwrap
from pathlib import Path

import pytest

from lstm_conformance.harness.registry import load_adapter
from lstm_conformance.harness.runner import run_suite

ROOT = Path(__file__).resolve().parents[1]

# The implementation the README imports: `MyLSTM(input_size, hidden_size)` with right-multiplied
# W (I, 4H), U (H, 4H), one bias b (4H), gates i, f, g, o; forward(x (T, B, I), (h, c) each (B, H) or None).
MY_PACKAGE = textwrap.dedent('''
    import torch


    class MyLSTM(torch.nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.W = torch.nn.Parameter(torch.empty(input_size, 4 * hidden_size))
            self.U = torch.nn.Parameter(torch.empty(hidden_size, 4 * hidden_size))
            self.b = torch.nn.Parameter(torch.empty(4 * hidden_size))

        def forward(self, x, state=None):
            zeros = x.new_zeros(x.shape[1], self.U.shape[0])
            h, c = state if state is not None else (zeros, zeros)
            ys, U = [], self.U  # (U read once: a module attribute is looked up slowly)
            xw = x @ self.W + self.b  # every step's input term at once: only h @ U waits for the previous step
            for xw_t in xw:  # torch.stack below rejects T = 0, as the spec requires
                i, f, g, o = (xw_t + h @ U).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                ys.append(h)
            return torch.stack(ys), (h, c)
''')


def readme_adapter_code() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"```python\n(# my_adapter\.py\n.+?)```", readme, re.S).group(1)


@pytest.fixture
def load_readme_adapter(tmp_path, monkeypatch):
    """Writes (a variant of) the README adapter beside my_package.py and loads it by file path."""
    # The loader puts the adapter's folder on sys.path (that is how it finds my_package);
    # keep that, and the imported my_package, from leaking into other tests.
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_package", raising=False)

    def load(code: str):
        (tmp_path / "my_package.py").write_text(MY_PACKAGE)
        (tmp_path / "my_adapter.py").write_text(code)
        return load_adapter(f"{tmp_path / 'my_adapter.py'}:MyLSTMAdapter")

    yield load
    sys.modules.pop("my_package", None)


def run_library(adapter, library, diagnose=True):
    """Every case of the library, every check, in the dtypes the adapter declares."""
    return run_suite(library, [adapter], dtypes=sorted(adapter.capabilities().dtypes), diagnose=diagnose)


def bad_records(records):
    return [f"{r['case']} [{r['dtype']}] {r['check']}: {r['status']}: {r['message']}"
            for r in records if r["status"] in ("fail", "error")]


def test_readme_adapter_passes_the_whole_library(load_readme_adapter, library):
    records = run_library(load_readme_adapter(readme_adapter_code()), library)
    bad = bad_records(records)
    assert not bad, f"{len(bad)} failures and errors:\n" + "\n".join(bad)

    passed = [r for r in records if r["status"] == "pass"]
    assert len(passed) >= 100, len(passed)
    passed_forward = {r["case"] for r in passed if r["check"] == "forward"}
    # the cases the README once got wrong: no bias, only one of h0 and c0, both dtypes
    for case in ("no-bias", "h0-only", "c0-only", "initial-state-distinct", "toy-memory-tanh"):
        assert case in passed_forward, f"{case} did not pass its forward check"
    # an h0 with two layer slices must be rejected, not cut to the first
    assert {"err-h0-layers", "err-c0-hidden", "err-seq-len-zero"} <= {r["case"] for r in passed}


# Each breakage re-introduces one mistake the README adapter once made: (README text, replacement).
BREAKAGES = {
    "bias dropped": ('p["bias_ih_l0"] + p["bias_hh_l0"] if cfg.bias else ', ""),
    "c0 ignored": ("for s in (problem.h0, problem.c0):", "for s in (problem.h0, None):"),
    "state shape unchecked": ("if s.shape != shape:", "if False:"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_readme_adapter_fails(breakage, load_readme_adapter, library):
    old, new = BREAKAGES[breakage]
    code = readme_adapter_code()
    assert old in code, f"the README adapter changed: update BREAKAGES[{breakage!r}]"
    # case by case through the library, up to the first failure: only whether the suite notices
    # matters here (no diagnosis either: diagnosing a failure is slow)
    adapter = load_readme_adapter(code.replace(old, new))
    noticed = next((bad for case in library for bad in bad_records(run_library(adapter, [case], diagnose=False))),
                   None)
    assert noticed, f"the suite did not notice: {breakage}"
