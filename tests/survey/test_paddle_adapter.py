"""The paddle adapter: paddle.nn.LSTM passes a few dozen library cases with its shipped
expectations applied, and a deliberately broken conversion fails them."""
import dataclasses

import numpy as np
import pytest

pytest.importorskip("paddle", reason="paddlepaddle not installed (pip install lstm-conformance[paddle])")

from lstm_conformance import run  # noqa: E402
from lstm_conformance.implementations import paddle_lstm  # noqa: E402
from lstm_conformance.implementations.paddle_lstm import PaddleLSTMAdapter  # noqa: E402

# gate order, two biases, projection, bidirect, layers, batch_first, lengths, states, and a
# no-bias case that the shipped expectations mark as a paddle crash
CASES = ["random/t5b3i4h7/*", "bidirectional-two-layers*", "projection*", "lengths-*", "h0-only", "c0-only",
         "batch-first*", "gate-blocks-distinguishable", "no-bias"]


def statuses(adapter, checks=("forward", "errors")):
    records = run([adapter], filters=CASES, checks=list(checks), dtypes=["float32", "float64"], diagnose=False)
    return [r for r in records if r["status"] != "unsupported"]


def test_paddle_passes_with_its_expectations():
    records = statuses(PaddleLSTMAdapter())
    assert len(records) >= 30
    bad = [(r["case"], r["check"], r["status"], r.get("message", "")[:200]) for r in records
           if r["status"] not in ("pass", "xfail")]
    assert not bad, bad
    assert any(r["status"] == "xfail" and r["case"] == "no-bias" for r in records)
    assert sum(r["status"] == "pass" for r in records) >= 30


class SwappedBias(PaddleLSTMAdapter):
    """The input and forget blocks of bias_ih swapped: a wrong conversion to paddle's layout."""

    def prepare(self, problem):
        params = dict(problem.params)
        for name in [n for n in params if n.startswith("bias_ih")]:
            i, f, g, o = np.split(params[name], 4)
            params[name] = np.concatenate([f, i, g, o])
        return super().prepare(dataclasses.replace(problem, params=params))


def test_a_broken_conversion_fails():
    records = statuses(SwappedBias(), checks=("forward",))
    failed = [r for r in records if r["status"] == "fail"]
    assert len(failed) >= 20, [(r["case"], r["status"]) for r in records]


def test_the_adapter_refuses_what_would_crash_paddle():
    assert "bias_ih_attr=False" in paddle_lstm.NO_BIAS_CRASH
    assert "T = 0" in paddle_lstm.SEQ_LEN_0_CRASH
