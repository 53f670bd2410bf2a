"""The equinox adapter: eqx.nn.LSTMCell under jax.lax.scan passes a few dozen library cases in
float32 and float64, gradients (jax.vjp) included, and a deliberately broken conversion
fails them."""
import pytest

pytest.importorskip("equinox", reason="equinox not installed (pip install lstm-conformance[equinox])")

from library_checks import assert_fails, assert_passes, broken_adapter, input_and_forget_swapped, library_records  # noqa: E402

from lstm_conformance import run  # noqa: E402
from lstm_conformance.implementations import equinox_lstm  # noqa: E402
from lstm_conformance.implementations.equinox_lstm import EquinoxLSTMAdapter  # noqa: E402

CASES = ["random/t5b3i4h7/*", "h0-only", "c0-only", "batch-first", "unbatched-with-state", "no-bias",
         "distinct-biases", "gate-blocks-distinguishable", "batch-0"]


def test_equinox_passes():
    records = library_records(EquinoxLSTMAdapter(), CASES, ("forward", "errors", "gradients"), ("float32", "float64"))
    assert_passes(records, at_least=30)
    assert {"forward", "errors", "gradients"} <= {r["check"] for r in records}
    assert {"float32", "float64"} <= {r["dtype"] for r in records}


def test_a_broken_conversion_fails():
    """The cell's fields with the i and f blocks exchanged (a gate order misread)."""
    adapter = broken_adapter(EquinoxLSTMAdapter, equinox_lstm, "to_equinox", input_and_forget_swapped())
    assert_fails(library_records(adapter, CASES, ("forward",), ("float32",)), at_least=8)


def test_float64_runs_in_float64_without_switching_jax_to_64_bit_for_the_process():
    import jax

    records = run([EquinoxLSTMAdapter()], filters=["float64-only-precision"], checks=["forward"], diagnose=False)
    assert [r["status"] for r in records] == ["pass"], records  # float32 arithmetic fails this case
    assert not jax.config.jax_enable_x64  # other JAX adapters of the same run keep their defaults
