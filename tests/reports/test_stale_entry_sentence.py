"""A passing result against an xfail entry names the entry's file as a reader finds it: a
shipped file by its place in the package, not the absolute path of the machine that ran."""
from lstm_conformance.report.summary import problem_sentence


def _xpass(file):
    return {"status": "xpass", "check": "forward",
            "expected_failure": {"pattern": "padding-carry-reverse", "file": file, "reason": "r"}}


def test_a_shipped_file_is_named_by_its_place_in_the_package():
    text = problem_sentence(_xpass("/home/ci/venv/site-packages/lstm_conformance/implementations/expectations/"
                                   "keras-jax.yaml"))
    assert "of implementations/expectations/keras-jax.yaml expects a failure" in text
    assert "/home/ci" not in text


def test_a_users_file_is_named_as_given():
    assert "of ci/expectations/my-lstm.yaml expects" in problem_sentence(_xpass("ci/expectations/my-lstm.yaml"))
