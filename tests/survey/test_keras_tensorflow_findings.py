"""Reproducer of the keras-tensorflow finding (implementations/expectations/keras-tensorflow.yaml
and keras.yaml), with Keras, TensorFlow and NumPy only: on the TensorFlow backend (Keras 3.15.1,
TensorFlow 2.21.0) an LSTM layer raises InvalidArgumentError on a batch of 0 rows, because
keras.ops.add takes a (0, N) tensor for a bias and calls tf.nn.bias_add. SPEC.md §8: B = 0 is
valid. When this test fails, Keras runs it now: update the expectations files. Keras reads
KERAS_BACKEND once, at import, so the code runs in a child process with the TensorFlow backend."""
import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("keras") is None or importlib.util.find_spec("tensorflow") is None,
    reason="keras or tensorflow not installed (pip install lstm-conformance[keras] tensorflow)")

CHILD = textwrap.dedent("""
    import sys
    import numpy as np, keras
    rows = int(sys.argv[1])
    def attempt(name, run):
        try:
            print(name, "RAN", tuple(run().shape))
        except Exception as err:
            print(name, "RAISED", type(err).__name__, " ".join(str(err).split())[:300])
    layer = keras.layers.LSTM(5, return_sequences=True)
    attempt("lstm", lambda: layer(np.zeros((rows, 3, 4), "float32")))
    a = keras.ops.zeros((rows, 20))
    attempt("ops.add", lambda: keras.ops.add(a, a))
    attempt("plus", lambda: a + a)
""")


def run_child(rows: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(rows)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return {line.split()[0]: line.split(maxsplit=1)[1] for line in done.stdout.splitlines()
            if line.split()[:1] in (["lstm"], ["ops.add"], ["plus"])}


def test_finding_keras_on_tensorflow_fails_on_a_batch_of_zero_rows():
    outcome = run_child(0)
    assert outcome["lstm"].startswith("RAISED InvalidArgumentError"), outcome
    assert "Exception encountered when calling LSTMCell.call()" in outcome["lstm"], outcome
    assert "Biases must be 1D: [0,20]" in outcome["lstm"], outcome
    # the cause: ops.add of two (0, 20) tensors goes to BiasAdd; TensorFlow's own + does not
    assert outcome["ops.add"].startswith("RAISED InvalidArgumentError") and "BiasAdd" in outcome["ops.add"], outcome
    assert outcome["plus"] == "RAN (0, 20)", outcome


def test_the_same_layer_runs_on_a_batch_of_one_row():
    assert run_child(1) == {"lstm": "RAN (1, 3, 5)", "ops.add": "RAN (1, 20)", "plus": "RAN (1, 20)"}
