"""Reproducer of the keras-torch finding (implementations/expectations/keras-torch.yaml), with
Keras, torch and NumPy only: on the torch backend (Keras 3.15.1, torch 2.13.0), ops.matmul of
two float64 tensors computes and returns float32, so a float64 LSTM layer given a mask (which
runs Keras's generic loop through LSTMCell.call) has float32 error. Upstream:
keras-team/keras#23704. When this test fails, Keras computes in float64 now: update the
expectations file. Keras reads KERAS_BACKEND once, at import, so the code runs in a child
process with the torch backend, whatever backend this pytest process may have imported."""
import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None,
    reason="keras or torch not installed (pip install lstm-conformance[keras] torch)")

CHILD = textwrap.dedent("""
    import numpy as np, keras
    ops = keras.ops
    rng = np.random.default_rng(0)
    a, b = (ops.convert_to_tensor(rng.uniform(-1, 1, (3, 3)), "float64") for _ in range(2))
    print("matmul", ops.convert_to_numpy(ops.matmul(a, b)).dtype, "tanh", ops.convert_to_numpy(ops.tanh(a)).dtype)
    # the same float64 layer with and without an all-True mask: the same computation in exact
    # arithmetic; only the masked run goes through LSTMCell.call (and its ops.matmul)
    B, T, I, H = 2, 4, 3, 5
    layer = keras.layers.LSTM(H, return_sequences=True, dtype="float64")
    layer.build((None, None, I))
    layer.set_weights([rng.uniform(-1, 1, (I, 4 * H)), rng.uniform(-1, 1, (H, 4 * H)), rng.uniform(-1, 1, 4 * H)])
    x = rng.uniform(-1, 1, (B, T, I))
    plain = ops.convert_to_numpy(layer(x))
    masked = ops.convert_to_numpy(layer(x, mask=np.ones((B, T), bool)))
    print("outputs", plain.dtype, masked.dtype, "difference", float(np.abs(plain - masked).max()))
""")


def test_finding_keras_on_torch_computes_float64_matmul_in_float32():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "KERAS_BACKEND": "torch"})
    assert done.returncode == 0, done.stderr[-3000:]
    matmul_line, outputs_line = done.stdout.splitlines()[-2:]
    assert matmul_line.split() == ["matmul", "float32", "tanh", "float64"], matmul_line
    words = outputs_line.split()
    assert words[1:3] == ["float64", "float64"], outputs_line
    # float32 products: ~1e-8 apart; float64 arithmetic would agree to ~1e-16
    assert 1e-10 < float(words[-1]) < 1e-5, outputs_line
