"""Reproducers of the keras-jax findings (implementations/expectations/keras-jax.yaml), with
Keras, JAX, torch and NumPy only (Keras 3.15.1, jax 0.10.2):

* with JAX's x64 mode on, ops.tanh of a float64 tensor returns float32, so a float64 LSTM
  layer on JAX has float32 error (keras-team/keras#23223 covers the torch backend's arithmetic);
* the JAX backend's masked loop outputs the initial state h0 at masked steps before any
  computed step, where the torch backend outputs zeros.

When a test fails, Keras behaves as the spec says now: update the expectations file. Keras
reads KERAS_BACKEND once, at import, so each snippet runs in a child process with the backend
it needs, whatever backend this pytest process may have imported."""
import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest


def missing(*packages):
    return [p for p in packages if importlib.util.find_spec(p) is None]


def run_with_backend(backend: str, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "KERAS_BACKEND": backend})


TANH_OF_FLOAT64 = """
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np, keras
    x = keras.ops.convert_to_tensor(np.array([3.0, 0.5]), "float64")
    print(keras.ops.convert_to_numpy(keras.ops.tanh(x)).dtype, keras.ops.convert_to_numpy(keras.ops.sigmoid(x)).dtype)
"""


@pytest.mark.skipif(bool(missing("keras", "jax")), reason="keras or jax not installed (pip install keras jax)")
def test_finding_keras_on_jax_computes_tanh_of_float64_in_float32():
    # dtypes.result_type(float64, float) is float32 on every backend but tensorflow; the JAX
    # backend's tanh casts to it (sigmoid does not)
    done = run_with_backend("jax", TANH_OF_FLOAT64)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["float32", "float64"]


CARRY_BEFORE_ANY_STEP = """
    import numpy as np, keras
    # one row whose first step is masked, with an initial state: the output there is what
    # the masked loop carries before any step was computed
    layer = keras.layers.LSTM(2, return_sequences=True)
    x = keras.ops.convert_to_tensor(np.ones((1, 3, 1)), "float32")
    h0 = keras.ops.convert_to_tensor(np.array([[0.5, -0.25]]), "float32")
    mask = keras.ops.convert_to_tensor(np.array([[False, True, True]]))
    y = layer(x, initial_state=[h0, keras.ops.zeros((1, 2))], mask=mask)
    print(*keras.ops.convert_to_numpy(y)[0, 0])
"""


@pytest.mark.skipif(bool(missing("keras", "jax", "torch")),
                    reason="needs keras with both jax and torch (pip install keras jax torch)")
def test_finding_keras_on_jax_carries_the_initial_state_as_output_before_any_step():
    # Masked steps output the previous step's output (zero_output_for_mask=False); before any
    # step the torch and tensorflow backends output zeros (their loops start the carried output
    # at zeros), the JAX backend outputs its first state, h0 (jax/rnn.py: "Assume the first
    # state is the previous output"). A reverse direction meets the padding first
    # (padding-carry-reverse).
    outputs = {}
    for backend in ("jax", "torch"):
        done = run_with_backend(backend, CARRY_BEFORE_ANY_STEP)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs[backend] = [float(v) for v in done.stdout.split()]
    assert outputs == {"jax": [0.5, -0.25], "torch": [0.0, 0.0]}
