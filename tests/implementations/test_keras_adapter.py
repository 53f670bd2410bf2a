"""The keras adapters (implementations/keras_lstm.py): which backend each name runs on and why
one is skipped, the case library through the Keras LSTM layer, adapters with a deliberately
wrong mapping failing. The Keras behaviour shipped as known findings is reproduced with Keras
alone in tests/survey/test_keras_*_findings.py.

The backend choice is tested without Keras; the rest needs keras and a backend (skipped with
the install hint without them). One process runs one Keras backend: the tests that need
another backend than this process's run in a subprocess.
"""
import json
import os
import subprocess
import sys
import textwrap
import types
from importlib import metadata

import pytest

from lstm_conformance import api
from lstm_conformance.implementations import keras_lstm
from lstm_conformance.implementations.keras_lstm import (BIDIRECTIONAL_CARRY, KerasAdapter, KerasJaxAdapter,
                                                        KerasTensorflowAdapter)

BACKEND = keras_lstm.default_backend()
REASON = keras_lstm.backend_reason(BACKEND)
NEEDS_KERAS = pytest.mark.skipif(REASON is not None, reason=f"keras cannot run here: {REASON}")


@pytest.fixture
def clean_keras_env(monkeypatch, tmp_path):
    """No KERAS_BACKEND, an empty KERAS_HOME, and Keras not imported (as seen by the adapter)."""
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_lstm.sys, "modules", {k: v for k, v in sys.modules.items() if k != "keras"})
    return tmp_path


def only_installed(monkeypatch, *packages):
    monkeypatch.setattr(keras_lstm, "installed", lambda name: name in packages)


def test_the_configured_backend_comes_from_the_environment_then_keras_json(clean_keras_env, monkeypatch):
    assert keras_lstm.configured_backend() == "tensorflow"
    (clean_keras_env / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert keras_lstm.configured_backend() == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert keras_lstm.configured_backend() == "jax"


def test_keras_falls_back_to_jax_then_torch_only_when_the_backend_is_not_chosen(clean_keras_env, monkeypatch):
    only_installed(monkeypatch, "keras", "jax", "torch")
    assert keras_lstm.default_backend() == "jax"
    only_installed(monkeypatch, "keras", "torch")
    assert keras_lstm.default_backend() == "torch"
    only_installed(monkeypatch, "keras", "tensorflow", "jax")
    assert keras_lstm.default_backend() == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # chosen: kept, and skipped with the reason
    only_installed(monkeypatch, "keras", "jax")
    assert keras_lstm.default_backend() == "tensorflow"
    assert KerasAdapter().skip_reason() == "the Keras backend tensorflow is not installed (pip install tensorflow)"


def test_skip_reasons(clean_keras_env, monkeypatch):
    only_installed(monkeypatch, "jax")
    assert KerasJaxAdapter().skip_reason() == "keras not installed (pip install lstm-conformance[keras])"
    only_installed(monkeypatch, "keras", "jax", "torch")
    assert KerasJaxAdapter().skip_reason() is None
    fake = types.SimpleNamespace(backend=types.SimpleNamespace(backend=lambda: "torch"))
    keras_lstm.sys.modules["keras"] = fake  # Keras already imported here, on torch
    reason = KerasJaxAdapter().skip_reason()
    assert "already imported in this process with the torch backend" in reason
    assert "keras-jax" not in reason and "run jax in a process of its own" in reason
    assert KerasAdapter().skip_reason() is None  # `keras` takes the backend Keras has
    assert "on the torch backend" in KerasAdapter().description


def fake_metadata(versions: dict, modules: dict):
    """importlib.metadata as the adapter sees it, with these distributions (name -> version) and
    import packages (module -> distributions)."""
    def version(distribution):
        if distribution not in versions:
            raise metadata.PackageNotFoundError(distribution)
        return versions[distribution]
    return types.SimpleNamespace(version=version, packages_distributions=lambda: modules,
                                 PackageNotFoundError=metadata.PackageNotFoundError)


def test_description_names_the_distribution_that_installs_the_backend(monkeypatch):
    # TensorFlow's CPU wheel: the distribution tensorflow-cpu installs the module tensorflow
    monkeypatch.setattr(keras_lstm, "metadata", fake_metadata(
        {"keras": "3.15.1", "tensorflow-cpu": "2.21.0"}, {"keras": ["keras"], "tensorflow": ["tensorflow-cpu"]}))
    text = KerasTensorflowAdapter().description
    assert text.endswith("keras 3.15.1, tensorflow-cpu 2.21.0"), text
    monkeypatch.setattr(keras_lstm, "metadata", fake_metadata(
        {"keras": "3.15.1", "jax": "0.10.2"}, {"keras": ["keras"], "jax": ["jax"]}))
    assert KerasTensorflowAdapter().description.endswith("keras 3.15.1, tensorflow not installed")
    assert KerasJaxAdapter().description.endswith("keras 3.15.1, jax 0.10.2")


def bad_records(records):
    return [f"{r['case']} [{r['dtype']}] {r['check']}: {r['status']}: {r['message']}"
            for r in records if r["status"] in ("fail", "error")]


@NEEDS_KERAS
def test_every_applicable_case_of_the_library_passes():
    # the pinned name of this process's backend (the same adapter as `keras`), so that the
    # shipped expectations of that backend apply (expectations/keras-jax.yaml)
    records = api.run(f"keras-{BACKEND}")
    assert not bad_records(records), "\n".join(bad_records(records))
    passed = [r for r in records if r["status"] == "pass"]
    assert len(passed) >= 250
    ran = {(r["case"], r["check"]) for r in passed}
    for case in ("padding-carry", "lengths-bidirectional/unsorted", "reverse-lengths",
                 "layout-grid/unbatched/bidirectional", "multi-layer/l3"):
        assert (case, "forward") in ran, case
    for r in records:
        if r["status"] == "unsupported":
            assert r["message"], "an unsupported case must say why"


@NEEDS_KERAS
def test_bidirectional_padding_carry_is_unsupported_with_the_keras_reason():
    records = api.run("keras", filters=["padding-carry-bidirectional"], checks=["forward"])
    assert records and all(r["status"] == "unsupported" and r["message"] == BIDIRECTIONAL_CARRY for r in records)


def swap_i_f(weights):
    out = []
    for w in weights:  # kernel, recurrent_kernel, bias (per direction): gate blocks along the last axis
        i, f, c, o = (w[..., k * (w.shape[-1] // 4):(k + 1) * (w.shape[-1] // 4)] for k in range(4))
        out.append(__import__("numpy").concatenate([f, i, c, o], axis=-1))
    return out


def forget_bias_plus_one(weights):
    kernel, recurrent, bias = weights
    units = bias.shape[0] // 4
    bias = bias.copy()
    bias[units:2 * units] += 1  # what unit_forget_bias=True leaves when the weights are not all set
    return [kernel, recurrent, bias]


class GatesSwapped(KerasAdapter):
    name = "keras-gates-swapped"

    def keras_weights(self, problem):  # the weights each layer's stateless_call gets
        return [swap_i_f(layer) for layer in super().keras_weights(problem)]


class UnitForgetBias(KerasAdapter):
    name = "keras-unit-forget-bias"

    def keras_weights(self, problem):
        return [forget_bias_plus_one(layer) for layer in super().keras_weights(problem)]


@NEEDS_KERAS
@pytest.mark.parametrize("broken, diagnosis", [(GatesSwapped, "gate blocks i and f swapped"),
                                               (UnitForgetBias, None)])
def test_a_wrong_mapping_fails(broken, diagnosis):
    records = api.run(broken(), filters=["random/t5b3i4h7/bias/given-state"], checks=["forward"], dtypes=["float32"])
    assert records and all(r["status"] == "fail" for r in records), [(r["status"], r["message"]) for r in records]
    if diagnosis:
        assert diagnosis in records[0]["message"]


def run_with_backend(backend: str, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.skipif(keras_lstm.backend_reason("torch") is not None and "already imported" not in
                    str(keras_lstm.backend_reason("torch")), reason="keras or torch not installed")
def test_keras_torch_passes_the_library_in_its_own_process():
    # forward, errors and dtypes over the whole library (the other checks run above on this process's backend)
    done = run_with_backend("torch", """
        from lstm_conformance import api
        records = api.run("keras-torch", checks=["forward", "errors", "dtypes"])
        bad = [(r["case"], r["dtype"], r["check"], r["message"][:200]) for r in records if r["status"] in ("fail", "error")]
        print(sum(r["status"] == "pass" for r in records), "pass")
        assert not bad, bad
    """)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert int(done.stdout.split()[-2]) >= 150
