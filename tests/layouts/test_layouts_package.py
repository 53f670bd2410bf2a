"""The converters are pure NumPy: importing them loads no framework."""
import subprocess
import sys


def test_layouts_import_no_framework():
    code = ("import sys, lstm_conformance.reference.layouts; "
            "loaded = [m for m in ('torch', 'onnx', 'onnxruntime', 'jax', 'flax', 'keras', 'tensorflow') "
            "if m in sys.modules]; assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
