"""Shared fixtures of the checks' tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: these tests run many tiny problems, for which a second OpenMP
    thread only adds contention (100× slower on a loaded 2-core CI machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def cases(library):
    """The library by case id."""
    return {case.id: case for case in library}
