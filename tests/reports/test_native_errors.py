"""Native errors (chained C++ exceptions, Rust backtraces) are one line in the console and the
tables, with the meaningful line; the whole text stays in the record."""
from lstm_conformance.harness.runner import _short_error
from lstm_conformance.report.summary import FULL_TEXT_NOTE, condensed, render

CPP = "\n".join(["RuntimeError: [ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while running LSTM node.",
                 "Exception raised from Compute at /src/lstm.cc:120 (most recent call first):",
                 *[f"frame #{k}: 0x7f{k:04x} in libonnxruntime.so" for k in range(3000)],
                 "[E:onnxruntime:, sequential_executor.cc:516] ExecuteKernel",
                 "Input X has a dimension of 5, expected 4 (input_size)"])
RUST = "\n".join(["thread 'main' panicked at src/lstm.rs:88:9:", "stack backtrace:",
                  *[f"  {k}: lstm::cell::forward" for k in range(500)],
                  "note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.",
                  "index out of bounds: the len is 4 but the index is 4"])


def test_the_meaningful_line_of_a_native_error_is_shown():
    line = condensed(CPP)
    assert "\n" not in line and line.endswith(FULL_TEXT_NOTE)
    assert line.startswith("RuntimeError: Input X has a dimension of 5, expected 4")
    assert condensed(RUST).startswith("index out of bounds: the len is 4 but the index is 4")


def test_the_suites_own_messages_keep_their_first_located_deviation():
    message = "y[t=5, b=0, unit=0]: expected 0.96, got 0.64 (abs error 0.32 > atol 1e-10); h_n[b=0]: expected 1, got 2"
    assert condensed(message) == "y[t=5, b=0, unit=0]: expected 0.96, got 0.64 (abs error 0.32 > atol 1e-10)"


def test_the_console_summary_is_short_however_long_the_error():
    records = [{"case": "c", "group": "g", "dtype": "float32", "impl": "native", "check": check, "status": "error",
                "message": CPP} for check in ("forward", "errors", "strided")]
    lines = render(records)
    assert len(lines) <= 5 and max(len(line) for line in lines) < 300
    assert sum("Input X has a dimension of 5" in line for line in lines) == 1  # once, not once per check


def test_the_record_keeps_the_meaningful_tail_of_a_huge_error():
    text = _short_error(RuntimeError(CPP * 5))
    assert len(text) < 25_000 and "characters cut" in text
    assert text.rstrip().endswith("Input X has a dimension of 5, expected 4 (input_size)")
