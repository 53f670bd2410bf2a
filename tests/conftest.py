import os

# One thread per library: on 2 cores, torch's OpenMP threads and OpenBLAS's spinning threads
# in the same process starve each other and make the tests many times slower. Set before
# numpy or torch is imported by any test module.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Keep the tests hermetic: reference results are cached in a folder of this run only.
import tempfile  # noqa: E402

os.environ["LSTM_CONFORMANCE_CACHE"] = tempfile.mkdtemp(prefix="lstm-conformance-cache-")

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def library():
    """The built-in spec case library, loaded once."""
    from lstm_conformance.spec.loader import load_cases
    return load_cases()
