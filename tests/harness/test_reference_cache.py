"""Reference results are cached by content: a second run recomputes nothing, and a change of
any input (or a derived problem that keeps the case id) never reuses a stale result."""
import dataclasses

import numpy as np
import pytest

from lstm_conformance.checks import reference_cache
from lstm_conformance.checks.reference_cache import ReferenceCache, content_key
from lstm_conformance.spec.materialize import materialize


def problem_of(library, case_id="random/t5b3i4h7/bias/given-state", dtype="float32"):
    return materialize(next(c for c in library if c.id == case_id), dtype)


def test_second_cache_on_the_same_folder_recomputes_nothing(library, tmp_path):
    problems = [problem_of(library, c.id) for c in library[:6] if not c.expect_error]
    first = ReferenceCache(tmp_path)
    results = [first.get(p) for p in problems]
    assert first.computed == len(problems)
    second = ReferenceCache(tmp_path)
    again = [second.get(p) for p in problems]
    assert second.computed == 0
    for a, b in zip(results, again):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_any_change_of_content_changes_the_key(library):
    p = problem_of(library)
    base = content_key(p, "forward")
    x = p.x.copy()
    x[0, 0, 0] = np.nextafter(x[0, 0, 0], 2.0)
    assert content_key(dataclasses.replace(p, x=x), "forward") != base
    params = dict(p.params, bias_hh_l0=p.params["bias_hh_l0"] * 2)
    assert content_key(dataclasses.replace(p, params=params), "forward") != base
    assert content_key(dataclasses.replace(p, h0=None), "forward") != base
    assert content_key(dataclasses.replace(p, config=p.config.with_options(batch_first=True)), "forward") != base
    assert content_key(p, "grad-y", {"upstream": np.ones(3)}) != content_key(p, "grad-y", {"upstream": np.zeros(3)})
    assert content_key(p, "forward") == base  # and nothing else moves it


def test_a_derived_problem_with_the_same_id_gets_its_own_result(library):
    cache = ReferenceCache(use_disk=False)
    p = problem_of(library)
    first_row = dataclasses.replace(p, x=p.x[:, :1], h0=p.h0[:, :1], c0=p.c0[:, :1])
    assert cache.get(first_row)["y"].shape[1] == 1 and cache.get(p)["y"].shape[1] == 3
    assert cache.computed == 2


def test_editing_the_reference_invalidates(library, monkeypatch):
    p = problem_of(library)
    before = content_key(p, "forward")
    reference_cache.reference_fingerprint.cache_clear()
    monkeypatch.setattr(reference_cache, "reference_fingerprint", lambda: "edited")
    assert content_key(p, "forward") != before


@pytest.mark.parametrize("damage", ["replaced", "truncated", "extended"])
def test_a_damaged_cache_file_is_recomputed(library, tmp_path, damage):
    p = problem_of(library)
    expected = ReferenceCache(tmp_path).get(p)
    files = list(tmp_path.rglob(f"*{reference_cache.ARRAYS_SUFFIX}"))
    assert len(files) == 1
    data = files[0].read_bytes()
    files[0].write_bytes({"replaced": b"not a cache file", "truncated": data[:-1], "extended": data + b"\0"}[damage])
    cache = ReferenceCache(tmp_path)
    got = cache.get(p)
    assert cache.computed == 1
    np.testing.assert_array_equal(got["y"], expected["y"])


def test_the_cache_file_keeps_every_bit_dtype_and_shape(tmp_path):
    arrays = {"y": np.array([[-0.0, np.nan], [np.inf, 5e-324]]), "empty": np.zeros((0, 3)), "scalar": np.array(2.5),
              "half": np.array([1.5, -2.0], dtype=np.float16), "lengths": np.array([3, 1], dtype=np.int64),
              "strided": np.arange(12.0).reshape(3, 4)[:, ::2], "param:weight_ih_l0": np.ones((4, 2), order="F")}
    with open(tmp_path / "result.arrays", "wb") as handle:
        reference_cache.write_arrays(handle, arrays)
    back = reference_cache.read_arrays(tmp_path / "result.arrays")
    assert list(back) == list(arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape, name
        assert back[name].tobytes() == np.ascontiguousarray(array).tobytes(), name
        assert back[name].flags.writeable, name


def test_only_numbers_are_written(tmp_path):
    with pytest.raises(ValueError, match="numeric"):
        with open(tmp_path / "result.arrays", "wb") as handle:
            reference_cache.write_arrays(handle, {"y": np.array([None, 1.0], dtype=object)})


def test_cache_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(reference_cache.CACHE_ENV, "off")
    assert ReferenceCache().folder is None
