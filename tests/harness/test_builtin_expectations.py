"""`--expectations builtin:NAME`: the shipped file of adapter NAME, else the one file of
implementation NAME; a name that several files share as their implementation only is an error
listing them."""
from pathlib import Path

import pytest

from lstm_conformance.harness import expectations as exp


def _file_of(name: str) -> str:
    return Path(exp.shipped(name)).name


def test_an_adapter_name_chooses_its_own_file_among_those_of_one_implementation():
    # four shipped files say implementation: keras; each Keras adapter has its own
    assert _file_of("keras") == "keras.yaml"
    for backend in ("jax", "torch", "tensorflow"):
        loaded = exp.load(f"builtin:keras-{backend}")
        assert (Path(loaded.file).name, loaded.adapter, loaded.implementation) == \
            (f"keras-{backend}.yaml", f"keras-{backend}", "keras")


def test_an_implementation_name_finds_the_one_file_about_it():
    assert _file_of("tensorflow") == "tf-block-lstm.yaml"  # adapter tf-block-lstm
    assert _file_of("paddlepaddle") == "paddle.yaml"


def _write(folder: Path, name: str, adapter: str, implementation: str) -> Path:
    path = folder / name
    path.write_text(f"adapter: {adapter}\nimplementation: {implementation}\nxfail: []\n")
    return path


def test_a_name_shared_by_several_files_as_their_implementation_is_an_error_listing_them(tmp_path, monkeypatch):
    files = [_write(tmp_path, "k-jax.yaml", "k-jax", "k"), _write(tmp_path, "k-torch.yaml", "k-torch", "k"),
             _write(tmp_path, "solo.yaml", "solo-adapter", "solo")]
    monkeypatch.setattr(exp, "_shipped_files", lambda: files)
    with pytest.raises(exp.ExpectationsError, match=r"^builtin:k: 2 shipped files are about k, none is the file of "
                                                    r"adapter k; name one by its adapter: builtin:k-jax \(k-jax.yaml\), "
                                                    r"builtin:k-torch \(k-torch.yaml\)$"):
        exp.load("builtin:k")
    assert exp.load("builtin:k-torch").adapter == "k-torch"
    assert exp.load("builtin:solo").adapter == "solo-adapter"
    with pytest.raises(exp.ExpectationsError, match=r"no shipped expectations file; known: k, k-jax, k-torch, solo, "
                                                    r"solo-adapter$"):
        exp.load("builtin:nothing")
