"""The environment block of results.json: what ran where, so results can be compared."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import __version__
from ..bench import blas
from ..bench.cpuinfo import cpuinfo_value


def _cpu_model() -> str:
    return cpuinfo_value("model name") or platform.processor() or platform.machine()


def _blas() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy without mode="dicts"
        return "unknown"


def _git_revision() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _torch_info() -> dict:
    """torch's version, and its runtime settings (threads, TF32, cuDNN, the GPU) when this
    process loaded torch. A run that never imported it (NumPy-only adapters) is not made to
    (about 2 s): its settings cannot have affected the results."""
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            version = metadata.version("torch")
        except metadata.PackageNotFoundError:
            version = None
        return {"torch": version, "torch_loaded": False}
    info = {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
        "cudnn_enabled": torch.backends.cudnn.enabled,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
    }
    if torch.cuda.is_available():
        info.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    return info


def _blas_kernels() -> dict:
    core = blas.openblas_core()
    info = {"blas_core": core}
    warning = blas.current_mismatch(core)
    if warning:
        info["blas_warning"] = warning
    return info


def collect() -> dict:
    return {
        "lstm_conformance": __version__,
        "git_revision": _git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "blas": _blas(),
        **_blas_kernels(),
        **_torch_info(),
    }
