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
