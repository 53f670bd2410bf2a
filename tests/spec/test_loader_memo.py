"""A case file loaded again in one process is not parsed again (spec/loader.py keeps the parsed
cases of a file's text), yet each load is independent: its own copy, the file's text of now,
the memory limit of now, and an invalid file fails every time."""
import pytest

from lstm_conformance.spec import loader

CASE = """
cases:
  - id: memo-{n}
    about: a small case
    shape: {{seq_len: 3, batch: 2, input_size: 4, hidden_size: 5}}
"""


def test_each_load_gets_its_own_copy(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(CASE.format(n=1))
    first = loader.load_file(path)
    first[0].options["cell_clip"] = 1.0  # a caller changing its cases
    first[0].id = "changed"
    second = loader.load_file(path)
    assert second[0].id == "memo-1" and "cell_clip" not in second[0].options
    assert second[0] is not first[0]


def test_an_edited_file_is_read_again(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(CASE.format(n=1))
    assert [c.id for c in loader.load_file(path)] == ["memo-1"]
    path.write_text(CASE.format(n=2))  # the same length: only the text tells them apart
    assert [c.id for c in loader.load_file(path)] == ["memo-2"]


def test_an_invalid_file_fails_every_time(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(CASE.format(n=1).replace("hidden_size: 5", "hidden_size: -5"))
    for _ in range(2):
        with pytest.raises(loader.SpecError, match="hidden_size"):
            loader.load_file(path)


def test_the_memory_limit_of_each_load_applies(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(CASE.format(n=1))
    assert loader.load_file(path, max_memory=10**9)
    with pytest.raises(loader.SpecError, match="memory"):
        loader.load_file(path, max_memory=10)
    assert loader.load_file(path, max_memory=10**9)
