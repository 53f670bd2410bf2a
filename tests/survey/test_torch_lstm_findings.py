"""The torch-lstm finding (implementations/expectations/torch-lstm.yaml) reproduced with torch
alone (no lstm_conformance import), so it can go into an upstream issue as it is. It asserts the
defect: when PyTorch fixes it, this test fails and the entry goes."""
import pytest

torch = pytest.importorskip("torch", reason="the torch-lstm finding needs torch")
rnn = torch.nn.utils.rnn


def _packed_run(features, lengths, dtype):
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 4, dtype=dtype)  # input_size 3
    x = torch.randn(4, len(lengths), features, dtype=dtype)
    return module(rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False))


@pytest.mark.parametrize("lengths", [[4, 4, 4], [1, 1, 1]])
def test_packed_input_with_wrong_feature_size_is_accepted_in_float32_when_lengths_are_equal(lengths):
    """nn.LSTM docs: input of shape (L, N, H_in) 'or a packed variable length sequence', H_in =
    input_size; a tensor input of the wrong size raises 'input.size(-1) must be equal to
    input_size'. A PackedSequence of 4 features for input_size 3 is accepted in float32 when every
    row has the same length, and returns outputs (float64, or unequal lengths, raise a matrix-shape
    error: the packed path skips the input check, pytorch/pytorch#195803)."""
    output, _state = _packed_run(4, lengths, torch.float32)  # must raise, and does not
    # the outputs are read past the input's rows, so their values vary from run to run (NaN at
    # times: a fresh CI run saw it); that an output of the layer's shape comes back is the defect
    assert output.data.shape == (sum(lengths), 4)
    with pytest.raises(RuntimeError):
        _packed_run(4, lengths, torch.float64)  # float64 rejects it (a matrix-shape error)
    with pytest.raises(RuntimeError):
        _packed_run(4, [4, 3, 2], torch.float32)  # so do unequal lengths
