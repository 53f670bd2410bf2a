"""The known findings (implementations/expectations/*.yaml) reproduced with the implementation alone, so an
entry cannot outlive the defect: when PyTorch fixes it, this test fails and the entry goes."""
from pathlib import Path

import pytest
import torch

from lstm_conformance.harness import expectations
from lstm_conformance.implementations.torch_lstm import TorchLSTMAdapter
from lstm_conformance.harness.runner import run_case

FINDINGS = Path(__file__).resolve().parents[2] / "implementations" / "expectations"


def _packed_run(features, lengths, dtype):
    rnn = torch.nn.utils.rnn
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 4, dtype=dtype)
    x = torch.randn(4, len(lengths), features, dtype=dtype)
    packed = rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    return module(packed)


@pytest.mark.parametrize("lengths", [[4, 4, 4], [1, 1, 1]])
def test_torch_lstm_accepts_a_too_wide_packed_input_in_float32_when_lengths_are_equal(lengths):
    _packed_run(4, lengths, torch.float32)  # input_size is 3: this must raise, and does not
    with pytest.raises(RuntimeError):
        _packed_run(4, lengths, torch.float64)  # float64 rejects it
    with pytest.raises(RuntimeError):
        _packed_run(4, [4, 3, 2], torch.float32)  # so do unequal lengths


def test_the_finding_is_what_the_errors_check_reports(cases):
    known = expectations.load(FINDINGS / "torch-lstm.yaml")
    for entry in known.entries:
        record = run_case(cases[entry.pattern], entry.dtype, TorchLSTMAdapter(), check=entry.check)
        assert record["status"] == "fail" and "features for input_size" in record["message"]
        assert expectations.apply([record], [known])[0]["status"] == "xfail"
