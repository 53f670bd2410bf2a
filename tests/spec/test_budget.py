"""The memory estimate of spec/budget.py: an honest upper bound (checked against tracemalloc's
peak for real cases), and the limit it is held to by the loader, validate and materialize."""
import tracemalloc

import numpy as np
import pytest

from lstm_conformance.reference import lstm_backward, lstm_forward
from lstm_conformance.spec import budget
from lstm_conformance.spec.loader import SpecError, load_text
from lstm_conformance.spec.materialize import materialize

FILE = "budget.yaml"
CASES = {
    "medium": "shape: {seq_len: 50, batch: 16, input_size: 64, hidden_size: 64}",
    # Python objects dominate: ~2.3 KB a step, over 90% of the peak from T = 1000 on, where the ratio
    # estimate/peak (1.74 to 1.88) is that of T = 3000 (1.83 to 1.85) at a third of the tracemalloc time
    "long-and-tiny": "shape: {seq_len: 1000, batch: 1, input_size: 1, hidden_size: 1}",
    "wide": "shape: {seq_len: 4, batch: 8, input_size: 512, hidden_size: 512}",  # parameters dominate
    "every-option": "shape: {seq_len: 20, batch: 8, input_size: 16, hidden_size: 32}\n"
                    "    options: {num_layers: 3, bidirectional: true, proj_size: 8, peepholes: true, forget_bias: 1.0}",
    "lengths": "shape: {seq_len: 30, batch: 4, input_size: 8, hidden_size: 16}\n    inputs: {lengths: [30, 10, 5, 1]}",
    "big-batch": "shape: {seq_len: 10, batch: 256, input_size: 32, hidden_size: 32}",
}


def one_case(body, dtypes="[float32]", **kwargs):
    return load_text(f"cases:\n  - id: c\n    about: x\n    {body}\n    dtypes: {dtypes}\n", FILE, **kwargs)[0]


def measured_peak(case, dtype) -> int:
    """tracemalloc's peak over materialize + the reference's forward and backward passes."""
    tracemalloc.start()
    try:
        p = materialize(case, dtype)
        out = lstm_forward(p.config, p.x, p.params, p.h0, p.c0, p.lengths)
        lstm_backward(p.config, p.x, p.params, p.h0, p.c0, p.lengths, grad_y=np.ones_like(out.y),
                      grad_h_n=np.ones_like(out.h_n), grad_c_n=np.ones_like(out.c_n))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_estimate_is_an_upper_bound_within_a_sane_factor(name, dtype):
    case = one_case(CASES[name], f"[{dtype}]")
    estimate, peak = budget.case_estimate(case, dtype), measured_peak(case, dtype)
    # at least the peak; at most 3x (the estimate also counts the adapter's outputs and gradients)
    assert peak <= estimate <= 3 * peak, (name, dtype, peak, estimate)


def test_the_closed_form_parameter_count_matches_the_shapes():
    from lstm_conformance.spec.model import LSTMConfig, parameter_shapes
    for config in (LSTMConfig(3, 5), LSTMConfig(3, 5, num_layers=3, bidirectional=True, proj_size=2, peepholes=True),
                   LSTMConfig(7, 4, bias=False, num_layers=2)):
        shapes = parameter_shapes(config).values()
        assert budget.parameter_elements(config) == (sum(int(np.prod(s)) for s in shapes), len(shapes))
        assert budget.largest_parameter(config) == max(int(np.prod(s)) for s in shapes)


def test_absurd_sizes_are_estimated_without_overflow():
    from lstm_conformance.spec.model import LSTMConfig
    n = 2**31 - 1  # Python integers: about 3e33 bytes, exactly, where int64 would have wrapped
    assert budget.estimate(LSTMConfig(n, n, num_layers=1024, bidirectional=True), n, n, "bfloat16") > 2**110
    assert "e+" in budget.format_size(2**110)


def test_a_case_over_the_limit_names_file_case_estimate_and_limit():
    with pytest.raises(SpecError) as info:
        one_case("shape: {seq_len: 7, batch: 6, input_size: 2147483647, hidden_size: 4}")
    text = str(info.value)
    assert FILE in text and "case 'c'" in text and "key 'shape'" in text
    assert "needs about" in text and "GiB" in text and "more than the limit of" in text and "--max-case-memory" in text


def test_the_limit_is_a_parameter_and_a_process_setting():
    body = CASES["medium"]
    needed = budget.case_estimate(one_case(body), "float32")
    with pytest.raises(SpecError, match=r"limit of 1 MiB"):
        one_case(body, max_memory=2**20)
    assert one_case(body, max_memory=needed).id == "c"
    budget.set_max_case_memory(2**20)
    try:
        with pytest.raises(SpecError, match="more than the limit"):
            one_case(body)
    finally:
        budget.set_max_case_memory(None)
    assert budget.max_case_memory() == budget.default_max_case_memory()


def test_the_most_demanding_dtype_decides():
    body = CASES["wide"]
    f64, bf16 = (budget.case_estimate(one_case(body, f"[{d}]"), d) for d in ("float64", "bfloat16"))
    assert bf16 > f64
    one_case(body, "[float64]", max_memory=f64)
    with pytest.raises(SpecError, match="in bfloat16"):
        one_case(body, "[float64, bfloat16]", max_memory=f64)


def test_explicit_shapes_of_expect_error_cases_are_counted():
    body = ("shape: {seq_len: 2, batch: 1, input_size: 1, hidden_size: 1}\n    expect_error: wrong shape\n"
            "    parameters: {weight_ih_l0: {uniform: [-1, 1], shape: [2147483647, 2147483647]}}")
    with pytest.raises(SpecError, match="more than the limit"):
        one_case(body)


def test_materialize_refuses_before_allocating():
    case = one_case(CASES["wide"])
    with pytest.raises(SpecError, match="more than the limit of 1 MiB"):
        materialize(case, "float32", max_memory=2**20)
    case.shape = dict(case.shape, batch=2**31 - 1)  # a case changed after loading
    with pytest.raises(SpecError, match="more than the limit"):
        materialize(case, "float32")


def test_the_default_limit_is_a_share_of_the_machine(monkeypatch):
    assert budget.total_memory() > 2**28
    assert budget.default_max_case_memory() == int(budget.total_memory() * budget.DEFAULT_SHARE)

    def no_sysconf(name):
        raise ValueError(name)
    monkeypatch.setattr(budget.os, "sysconf", no_sysconf)
    assert budget.total_memory() == budget.FALLBACK_TOTAL


@pytest.mark.parametrize("text, value", [("2GiB", 2 * 2**30), ("512MiB", 512 * 2**20), ("1.5GB", 1_500_000_000),
                                         ("4096", 4096), (" 3 kib ", 3072), ("1TiB", 2**40)])
def test_parse_size(text, value):
    assert budget.parse_size(text) == value


@pytest.mark.parametrize("text", ["", "GiB", "-1GiB", "2 parsecs", "0", "1e3GiB", "0.1B"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError, match="expected a"):
        budget.parse_size(text)


def test_the_whole_library_fits_a_small_limit():
    from lstm_conformance.spec.loader import load_cases
    assert len(load_cases(max_memory=64 * 2**20)) > 100
