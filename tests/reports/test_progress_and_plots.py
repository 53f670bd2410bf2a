"""The progress bar (shown at a terminal, quiet in CI) and the plots' data."""
import io
import math

import numpy as np
import pytest

from lstm_conformance.report import plots
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.harness.progress import Progress, progress_wanted
from lstm_conformance.bench import batch_sweep


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream, env, wanted", [
    (Terminal(), {}, True),
    (io.StringIO(), {}, False),                                   # a pipe or a log file
    (Terminal(), {"CI": "true"}, False),                          # GitHub Actions, GitLab, ...
    (Terminal(), {"CI": "0"}, True),
    (Terminal(), {"LSTM_CONFORMANCE_PROGRESS": "0"}, False),
])
def test_progress_only_for_a_person_at_a_terminal(stream, env, wanted):
    assert progress_wanted(stream, env) is wanted


def records(n):
    return [{"case": f"c{i}", "dtype": "float32", "impl": "numpy", "check": check, "status": "pass"}
            for i in range(n) for check in ("forward", "gradients")]


def test_bar_counts_case_runs_not_records(capsys):
    terminal = Terminal()
    with Progress(3, stream=terminal, env={}) as progress:
        for r in records(3):
            progress.record(r)
        progress.write("PASS line")
        assert progress._bar.n == 3  # six records, three case runs
    assert "cases:" in terminal.getvalue() and "/3 [" in terminal.getvalue()  # the bar was drawn
    assert "PASS line" in capsys.readouterr().out


def test_quiet_in_ci_prints_lines_only(capsys):
    stream = Terminal()
    with Progress(3, stream=stream, env={"CI": "1"}) as progress:
        for r in records(3):
            progress.record(r)
        progress.write("PASS line")
    assert stream.getvalue() == ""
    assert capsys.readouterr().out == "PASS line\n"


def test_error_by_step_is_small_for_a_correct_adapter_and_locates_a_defect(library):
    case = next(c for c in library if c.id == "random/t20b4i16h32/bias/given-state")

    class LateDefect(NumpyAdapter):
        name = "late-defect"

        def prepare(self, problem):
            run = super().prepare(problem)

            def wrong():
                out = dict(run())
                out["y"] = np.array(out["y"], copy=True)
                out["y"][12:] += 1e-3  # wrong from step 12 on
                return out
            return wrong

    data = plots.error_by_step(case, [NumpyAdapter(), LateDefect()], "float32")
    assert data["seq_len"] == 20 and len(data["allowed"]) == 20
    good, bad = data["series"]["numpy"], data["series"]["late-defect"]
    assert max(good) < 1e-5 and len(good) == 20
    assert max(bad[:12]) < 1e-5 and min(bad[12:]) > 5e-4
    assert plots.plot_error_by_step(data).startswith(b"\x89PNG")


def test_error_by_step_notes_why_a_line_is_missing(library):
    case = next(c for c in library if c.id == "toy-memory-linear")
    from lstm_conformance.implementations.torch_lstm import TorchLSTMAdapter
    data = plots.error_by_step(case, [TorchLSTMAdapter()])
    assert data["series"] == {} and "fixed activations" in data["notes"]["torch-lstm"]
    assert plots.plot_error_by_step(data) is None


def test_inf_and_zero_errors_still_plot():
    data = {"case": "c", "dtype": "float32", "allowed": [1e-4] * 3,
            "series": {"a": [0.0, "inf", 1e-6], "b": ["nan", 1e-7, 1e-8]}}
    assert plots.plot_error_by_step(data).startswith(b"\x89PNG")


def speed(shape, impl, median):
    return {"shape": shape, "mode": "forward", "impl": impl, "dtype": "float32", "status": "ok", "median": median}


def test_batch_groups_need_shapes_differing_only_in_batch():
    entries = [speed("t20b1i32h32", "numpy", 1e-4), speed("t20b4i32h32", "numpy", 3e-4),
               speed("t20b4i32h32", "torch-lstm", 2e-4), speed("t50b8i64h64", "numpy", 1e-3),
               {"shape": "t20b16i32h32", "impl": "numpy", "status": "not measured"}]
    groups = plots.batch_groups(entries)
    assert len(groups) == 1 and groups[0]["label"] == "T=20, I=32, H=32"
    assert groups[0]["series"]["numpy"] == [(1, 1e-4), (4, 3e-4)]
    assert plots.plot_time_by_batch(entries).startswith(b"\x89PNG")
    assert plots.plot_time_by_batch([speed("t50b8i64h64", "numpy", 1e-3)]) is None


@pytest.mark.parametrize("shapes, sizes, added", [
    (["t20b4i32h32", "t50b8i64h64"], (1, 4, 16), ["t20b1i32h32", "t20b16i32h32"]),
    (["t20b4i32h32l2bi"], (2,), ["t20b2i32h32l2bi"]),
    (["t20b1i32h32", "t20b4i32h32"], (1, 4, 16), []),   # the set already varies the batch
    (["t20b4i32h32"], (), []),
])
def test_batch_sweep(shapes, sizes, added):
    assert batch_sweep(shapes, sizes) == added


def test_longest_case_skips_expected_errors(library):
    longest = plots.longest_case(library)
    assert longest.expect_error is None
    assert longest.shape["seq_len"] == max(c.shape["seq_len"] for c in library if c.expect_error is None)
    assert not math.isnan(longest.shape["seq_len"])
