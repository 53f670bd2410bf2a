"""The environment block of results.json: a NumPy-only run is not made to import torch (2 s of
every such run) and still names the installed torch; a run that loaded torch records its
runtime settings."""
import json
import subprocess
import sys

from lstm_conformance.harness import environment

NUMPY_ONLY_RUN = """
import json, sys
from lstm_conformance.cli import main
try:
    main(["run", "--impl", "numpy", "-k", "toy-memory-tanh", "-q", "--out", sys.argv[1]])
except SystemExit:
    pass
print(json.dumps({"torch_imported": "torch" in sys.modules}))
"""


def test_a_numpy_only_run_does_not_import_torch_and_names_its_version(tmp_path):
    out = subprocess.run([sys.executable, "-c", NUMPY_ONLY_RUN, str(tmp_path)], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == {"torch_imported": False}
    env = json.loads((tmp_path / "results.json").read_text())["environment"]
    import torch
    assert env["torch"] == torch.__version__ and env["torch_loaded"] is False
    assert "matmul_allow_tf32" not in env


def test_a_process_that_loaded_torch_records_its_settings():
    import torch
    env = environment.collect()
    assert env["torch"] == torch.__version__ and "torch_loaded" not in env
    assert env["torch_threads"] == torch.get_num_threads()
    assert env["matmul_allow_tf32"] == torch.backends.cuda.matmul.allow_tf32
