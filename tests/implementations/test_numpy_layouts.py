"""numpy's standard LSTM has two fast loops, feature-major and batch-major in column blocks
(implementations/numpy_lstm_forward.py), and gemm_block picks one from the batch and hidden size. The
library's small cases mostly pick the feature-major loop, so here every standard case, and
every combination of the options the fast loops handle, runs through both loops and several
block widths against the float64 reference."""
import itertools

import numpy as np
import pytest

from lstm_conformance.implementations.numpy_lstm import (NumpyAdapter, gemm_block, is_standard, lstm_numpy,
                                                         pack_weights)
from lstm_conformance.reference.forward import lstm_forward
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.spec.model import LSTMConfig, Problem, input_shape, parameter_shapes, state_shapes


def block_widths(hidden):
    """Feature-major (None), one unit per block, one block per gate and a width in between."""
    middle = max(r for r in range(1, min(hidden, 64) + 1) if hidden % r == 0 and r < hidden) if hidden > 1 else 1
    return [None, 1, middle, hidden]


def assert_agrees_in_every_layout(config, x, params, h0, c0, lengths, label):
    ref = lstm_forward(config, x, params, h0, c0, lengths).as_dict()
    for block in block_widths(config.hidden_size):
        packed = pack_weights(config, params, np.float64, block=block)
        assert packed.block == block
        got = lstm_numpy(config, x, params, h0, c0, lengths, np.float64, packed=packed)
        for key in ("y", "h_n", "c_n", "c"):
            np.testing.assert_allclose(got[key], ref[key], rtol=1e-12, atol=1e-12,
                                       err_msg=f"{label}, block {block}: {key}")


def test_every_standard_library_case_agrees_with_the_reference_in_both_loops(library):
    checked = 0
    for case in library:
        if case.expect_error or not is_standard(case.config):
            continue
        p = materialize(case, "float64")
        assert_agrees_in_every_layout(p.config, p.x, p.params, p.h0, p.c0, p.lengths, case.id)
        checked += 1
    assert checked >= 20


OPTIONS = [dict(num_layers=layers, bidirectional=bi, proj_size=proj, batch_first=bf, unbatched=ub)
           for layers, bi, proj, bf, ub in itertools.product((1, 2), (False, True), (0, 3), (False, True), (False, True))
           if not (ub and bf)]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("with_states_and_lengths", [False, True])
def test_option_combinations_agree_with_the_reference_in_both_loops(options, with_states_and_lengths):
    config = LSTMConfig(5, 8, **options)
    T, B = 4, (1 if config.unbatched else 3)
    rng = np.random.default_rng(11)
    x = rng.normal(size=input_shape(config, T, B))
    params = {k: rng.normal(size=s) * 0.5 for k, s in parameter_shapes(config).items()}
    h0 = c0 = lengths = None
    if with_states_and_lengths:
        states = state_shapes(config, B)
        squeeze = (lambda s: (s[0], s[-1])) if config.unbatched else (lambda s: s)
        h0, c0 = rng.normal(size=squeeze(states["h0"])), rng.normal(size=squeeze(states["c0"]))
        lengths = None if config.unbatched else np.array([4, 1, 3])
    assert_agrees_in_every_layout(config, x, params, h0, c0, lengths, str(options))


def test_block_width_rule():
    """Blocks of 64 or 32 while one block's product stays within OpenBLAS's small-matrix limit
    (M·N·K ≤ 100³); otherwise, and for a single sequence, feature-major."""
    assert gemm_block(16, 512, 512) == 64
    assert gemm_block(4, 1024, 1024) == 64
    assert gemm_block(32, 512, 512) == 32
    assert gemm_block(16, 1024, 1024) == 32
    assert gemm_block(16, 1024, 128) == 64  # the product's K is the projection's width
    assert gemm_block(64, 512, 512) is None
    assert gemm_block(1, 512, 512) is None
    assert gemm_block(16, 40, 40) is None  # no width of 32 or 64 divides H


def test_block_widths_that_break_the_gate_blocks_are_rejected():
    config = LSTMConfig(3, 6)
    params = {k: np.zeros(s) for k, s in parameter_shapes(config).items()}
    with pytest.raises(ValueError, match="block width 4: .* divides hidden_size 6"):
        pack_weights(config, params, np.float64, block=4)
    with pytest.raises(ValueError, match="standard LSTM"):
        pack_weights(LSTMConfig(3, 6, peepholes=True), {**params, "peephole_l0": np.zeros((3, 6))}, np.float64,
                     block=2)


def test_the_adapter_runs_the_benchmarked_small_batch_shapes_batch_major(monkeypatch):
    """prepare packs for the problem's batch, so B = 16, H = 128 (the ci set) takes the
    batch-major loop and B = 64, H = 512 the feature-major one."""
    seen = []
    import lstm_conformance.implementations.numpy_lstm_forward as numpy_lstm_forward
    original = numpy_lstm_forward.run_layers_blocked
    monkeypatch.setattr(numpy_lstm_forward, "run_layers_blocked", lambda *a: seen.append(a[1].block) or original(*a))
    for B, H, expected in ((16, 128, [64]), (64, 512, [])):
        seen.clear()
        config = LSTMConfig(H, H)
        rng = np.random.default_rng(0)
        problem = Problem(case_id="shape", dtype="float32", config=config, x=rng.normal(size=(3, B, H)),
                          params={k: rng.normal(size=s) * 0.05 for k, s in parameter_shapes(config).items()})
        NumpyAdapter().prepare(problem)()
        assert seen == expected
