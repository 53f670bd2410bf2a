"""The progress bar (shown at a terminal, quiet in CI) and the plots' data."""
import io

import numpy as np
import pytest

from lstm_conformance.report import plots
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.harness.progress import Progress, progress_wanted
from lstm_conformance.bench import batch_sweep
from lstm_conformance.harness.runner import run_case


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


def test_forward_records_hold_the_error_profile_and_the_plot_reads_only_them(library):
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

    records = [run_case(case, "float32", adapter) for adapter in (NumpyAdapter(), LateDefect())]
    good, bad = (r["error_by_step"] for r in records)
    assert len(good["y"]) == len(good["allowed"]) == 20 and max(good["y"]) < 1e-5
    assert max(bad["y"][:12]) < 1e-5 and min(bad["y"][12:]) > 5e-4
    assert all(v == float(f"{v:.3g}") for v in good["y"] + good["allowed"])  # compact: 3 significant digits
    data = plots.error_by_step_data(records)
    assert data["case"] == case.id and data["seq_len"] == 20
    assert data["series"] == {"numpy": good["y"], "late-defect": bad["y"]}
    assert plots.plot_error_by_step(data).startswith(b"\x89PNG")


def test_error_plot_takes_the_longest_profiled_case_and_notes_missing_lines():
    def record(case, impl, steps, status="pass", message=""):
        r = {"case": case, "dtype": "float32", "impl": impl, "check": "forward", "status": status, "message": message}
        if steps:
            r["error_by_step"] = {"y": [1e-7] * steps, "allowed": [1e-4] * steps}
        return r

    records = [record("short", "numpy", 3), record("long", "numpy", 9),
               record("long", "torch-lstm", 0, "unsupported", "nn.LSTM has fixed activations"),
               dict(record("long", "numpy", 0), check="gradients")]
    data = plots.error_by_step_data(records)
    assert data["case"] == "long" and list(data["series"]) == ["numpy"]
    assert "fixed activations" in data["notes"]["torch-lstm"]
    assert plots.error_by_step_data([record("x", "numpy", 0)]) is None


def test_plots_do_not_import_the_reference_or_adapters():
    assert not hasattr(plots, "error_by_step") and not hasattr(plots, "longest_case")


def test_inf_and_zero_errors_still_plot():
    data = {"case": "c", "dtype": "float32", "allowed": [1e-4] * 3,
            "series": {"a": [0.0, "inf", 1e-6], "b": ["nan", 1e-7, 1e-8]}}
    assert plots.plot_error_by_step(data).startswith(b"\x89PNG")


def speed(shape, impl, median, **extra):
    return {"shape": shape, "mode": "forward", "impl": impl, "dtype": "float32", "status": "ok", "median": median,
            "iqr": median / 10, **extra}


def test_batch_groups_need_shapes_differing_only_in_batch():
    entries = [speed("t20b1i32h32", "numpy", 1e-4), speed("t20b4i32h32", "numpy", 3e-4),
               speed("t20b4i32h32", "torch-lstm", 2e-4), speed("t50b8i64h64", "numpy", 1e-3),
               {"shape": "t20b16i32h32", "impl": "numpy", "status": "not measured"},
               speed("t20b8i32h32", "numpy", 9.0, reliable=False)]  # the noise guard's verdict: not drawn
    groups = plots.batch_groups(entries)
    assert len(groups) == 1 and groups[0]["label"] == "T=20, I=32, H=32"
    points = groups[0]["series"]["numpy"]  # (batch, median, q1, q3): IQR bars around the median
    assert [p[0] for p in points] == [1, 4]
    assert [v for p in points for v in p[1:]] == pytest.approx([1e-4, 0.95e-4, 1.05e-4, 3e-4, 2.85e-4, 3.15e-4])
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
