"""An implementation that allocates far too much on one case (loaded by path, also inside
isolated workers): it keeps allocating 64 MiB blocks, up to GREEDY_BYTES, on the case whose
T is 1, and is a correct LSTM otherwise. Under a worker memory limit below GREEDY_BYTES it
fails with a MemoryError; never give it more."""
import numpy as np

from lstm_conformance.adapter import Capabilities
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter

GREEDY_BYTES = 1536 * 2**20  # the most this adapter ever takes (a test's memory budget)
BLOCK = 64 * 2**20


class AllocatesTooMuch(NumpyAdapter):
    name = "allocates-too-much"

    def capabilities(self):
        return Capabilities(dtypes={"float32", "float64"}, features={"bias", "initial_state"})

    def prepare(self, problem):
        if problem.seq_len == 1:
            blocks = [np.ones(BLOCK // 8) for _ in range(GREEDY_BYTES // BLOCK)]  # written to: really used
            raise AssertionError(f"allocated {len(blocks) * BLOCK} bytes without hitting the memory limit")
        return super().prepare(problem)
