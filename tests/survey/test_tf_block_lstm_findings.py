"""Reproducer of the tf.raw_ops.BlockLSTMV2 finding (implementations/expectations/tf-block-lstm.yaml),
with TensorFlow and NumPy only: a seq_len_max outside 0..timelen aborts the process (a CHECK in
Tensor::Slice) instead of raising InvalidArgumentError. TensorFlow 2.21.0; fixed upstream by
tensorflow/tensorflow#125400 (for #124974). When this test fails, TensorFlow rejects it now:
update the expectations file. The op runs in a child process so that the abort cannot take
pytest down."""
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tensorflow", reason="tensorflow not installed (pip install lstm-conformance[tensorflow])")

CHILD = textwrap.dedent("""
    import sys
    import numpy as np, tensorflow as tf
    T, B, I, H = 3, 2, 4, 5
    f = lambda *shape: tf.constant(np.random.default_rng(0).uniform(-1, 1, shape), tf.float32)
    try:
        out = tf.raw_ops.BlockLSTMV2(seq_len_max=tf.constant(int(sys.argv[1]), tf.int64), x=f(T, B, I),
                                     cs_prev=f(B, H), h_prev=f(B, H), w=f(I + H, 4 * H), wci=f(H), wcf=f(H),
                                     wco=f(H), b=f(4 * H))
        print("RAN", out.h.shape)
    except tf.errors.InvalidArgumentError as err:
        print("REJECTED", err.message)
""")


def run_op(seq_len_max: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, str(seq_len_max)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


@pytest.mark.parametrize("seq_len_max", [4, -1])
def test_seq_len_max_outside_the_input_aborts(seq_len_max):
    result = run_op(seq_len_max)
    assert "REJECTED" not in result.stdout, "TensorFlow rejects it now: update implementations/expectations/tf-block-lstm.yaml"
    assert result.returncode < 0 and "Check failed" in result.stderr, (result.returncode, result.stderr[-1500:])


def test_seq_len_max_within_the_input_runs():
    result = run_op(3)
    assert result.returncode == 0 and "RAN" in result.stdout, result.stderr[-1500:]


def _block_lstm_loss_and_grads(op, x, w, b, batch):
    import numpy as np
    import tensorflow as tf

    hidden = b.shape[0] // 4
    xs, ws, bs = (tf.constant(a, tf.float32) for a in (x, w, b))
    zeros, zeros_h = tf.zeros((batch, hidden)), tf.zeros(hidden)

    def loss(xs, ws, bs):
        out = op(seq_len_max=tf.constant(x.shape[0], tf.int64), x=xs, cs_prev=zeros, h_prev=zeros, w=ws,
                 wci=zeros_h, wcf=zeros_h, wco=zeros_h, b=bs)
        return tf.reduce_sum(out.h)

    with tf.GradientTape() as tape:
        tape.watch([xs, ws, bs])
        value = loss(xs, ws, bs)
    return loss, (xs, ws, bs), [np.asarray(g) for g in tape.gradient(value, [xs, ws, bs])]


def test_block_lstm_v2_gradient_uses_the_v1_gate_layout():
    """The tape gradient of BlockLSTMV2 w.r.t. its bias b against central differences of the op:
    the forget (block 1) and cell-input (block 2) gradients come out swapped (over more steps
the mix-up spreads to every gradient through h_prev). BlockLSTM (ICFO)
    agrees with its own central differences, which shows the method works."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    T, B, I, H = 1, 2, 3, 4  # one step from zero states: b's gradient is the gate gradients themselves
    x, w, b = rng.uniform(-1, 1, (T, B, I)), rng.uniform(-1, 1, (I + H, 4 * H)), rng.uniform(-1, 1, 4 * H)
    v1 = lambda **k: tf.raw_ops.BlockLSTM(forget_bias=0.0, cell_clip=0.0, **k)  # noqa: E731
    for op, should_agree in ((tf.raw_ops.BlockLSTMV2, False), (v1, True)):
        loss, (xs, ws, _), (_, _, grad_b) = _block_lstm_loss_and_grads(op, x, w, b, B)
        numeric = np.zeros_like(b)
        for k in range(4 * H):
            step = np.zeros_like(b)
            step[k] = 1e-2
            numeric[k] = (loss(xs, ws, tf.constant(b + step, tf.float32)).numpy()
                          - loss(xs, ws, tf.constant(b - step, tf.float32)).numpy()) / 2e-2
        error = np.abs(grad_b - numeric).reshape(4, H).max(axis=1)
        if should_agree:
            assert error.max() < 2e-3, error
        else:
            swapped = grad_b.reshape(4, H)[[0, 2, 1, 3]].ravel()  # f and c blocks exchanged
            assert error[1] > 0.1 and error[2] > 0.1, ("TensorFlow fixed BlockLSTMV2's gradient: update "
                                                       "implementations/expectations/tf-block-lstm.yaml", error)
            assert np.abs(swapped - numeric).max() < 2e-3  # the layout mix-up explains all of it


def test_weight_gradient_of_an_empty_batch_is_garbage():
    """With batch_size 0 the gradient w.r.t. w should be zeros (a sum over no rows); the kernel
    leaves its buffer uninitialised."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(1)
    T, I, H = 3, 3, 4
    nonzero = 0
    for _ in range(3):  # uninitialised memory may happen to be zeros once: try a few buffers
        _, _, (_, grad_w, grad_b) = _block_lstm_loss_and_grads(
            tf.raw_ops.BlockLSTMV2, np.zeros((T, 0, I)), rng.uniform(-1, 1, (I + H, 4 * H)), rng.uniform(-1, 1, 4 * H), 0)
        assert not np.any(grad_b)  # b's gradient is right
        nonzero += int(np.any(grad_w))
    assert nonzero, "TensorFlow zeroes the weight gradient of an empty batch now: update the expectations"
