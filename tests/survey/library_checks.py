"""What the survey adapters' tests share: run an adapter over some library cases, assert that
it passes them, and assert that the same adapter with its conversion broken on purpose fails
them (so the cases can tell a right mapping from a wrong one).

Each test module keeps its own pytest.importorskip (with the install hint) at its top, before
importing its adapter, so that it skips saying why when its library is missing."""
import numpy as np

from lstm_conformance import run


def library_records(adapter, cases, checks, dtypes) -> list:
    """The records of `adapter` on the cases matching `cases`, less those it declares unsupported."""
    records = run([adapter], filters=list(cases), checks=list(checks), dtypes=list(dtypes), diagnose=False)
    return [r for r in records if r["status"] != "unsupported"]


def assert_passes(records, at_least: int, allowed=("pass",)) -> None:
    """At least `at_least` records ran, and every one has a status in `allowed`."""
    assert len(records) >= at_least, [(r["case"], r["check"], r["dtype"]) for r in records]
    bad = [(r["case"], r["check"], r["dtype"], r["status"], r.get("message", "")[:200]) for r in records
           if r["status"] not in allowed]
    assert not bad, bad


def assert_fails(records, at_least: int) -> None:
    """At least `at_least` records failed (a broken conversion must be caught)."""
    failed = [r for r in records if r["status"] == "fail"]
    assert len(failed) >= at_least, [(r["case"], r["status"]) for r in records]


def swap_input_and_forget(array) -> np.ndarray:
    """The i and f blocks of a (4H, ...) array exchanged: PyTorch's gate order misread."""
    i, f, g, o = np.split(np.asarray(array), 4)
    return np.concatenate([f, i, g, o])


def input_and_forget_swapped(*keys):
    """A breaker for broken_adapter: the converter's output with the i and f blocks of `keys`
    exchanged (of every array it returns when no keys are named)."""
    def breaker(convert):
        def swapped(*args, **kwargs):
            out = dict(convert(*args, **kwargs))
            for key in keys or list(out):
                out[key] = swap_input_and_forget(out[key])
            return out
        return swapped
    return breaker


def broken_adapter(adapter_class, module, converter: str, breaker):
    """An adapter_class whose prepare runs with module.<converter> replaced by
    breaker(the original converter), and restored afterwards."""
    class Broken(adapter_class):
        def prepare(self, problem):
            original = getattr(module, converter)
            setattr(module, converter, breaker(original))
            try:
                return super().prepare(problem)
            finally:
                setattr(module, converter, original)

    return Broken()
