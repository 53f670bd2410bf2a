"""The round-trip assertions the layout tests share."""
import numpy as np


def assert_same_arrays(got: dict, expected: dict) -> None:
    """got has exactly expected's names, each array equal to the bit (nested dicts, such as
    Flax's one dict per Dense layer, compared the same way)."""
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for name, value in expected.items():
        if isinstance(value, dict):
            assert_same_arrays(got[name], value)
        else:
            np.testing.assert_array_equal(got[name], value, err_msg=name)


def assert_weights_and_bias_sum_kept(back: dict, cell: dict, sum_in: str = "bias_ih", atol: float = 0.0) -> None:
    """A canonical cell that went through a one-bias layout and back: every array but the biases
    unchanged, the sum b_ih + b_hh in `sum_in` (within atol, where the layout adds and takes
    away a constant) and zeros in the other bias."""
    assert set(back) == set(cell), (sorted(back), sorted(cell))
    for name in cell:
        if not name.startswith("bias_"):
            np.testing.assert_array_equal(back[name], cell[name], err_msg=name)
    other = "bias_hh" if sum_in == "bias_ih" else "bias_ih"
    np.testing.assert_allclose(back[sum_in], cell["bias_ih"] + cell["bias_hh"], rtol=0, atol=atol)
    np.testing.assert_array_equal(back[other], np.zeros_like(cell[other]))
