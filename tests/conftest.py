import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def library():
    """The built-in spec case library, loaded once."""
    from lstm_conformance.spec.loader import load_cases
    return load_cases()
