"""`cuda`: torch.nn.LSTM on a CUDA device (cuDNN). Skipped, with the reason, without a GPU."""
from __future__ import annotations

import torch

from .torch_lstm import TorchLSTMAdapter


class CudaLSTMAdapter(TorchLSTMAdapter):
    name = "cuda"
    description = "torch.nn.LSTM on a CUDA device (cuDNN)"
    device = "cuda"

    def skip_reason(self):
        if not torch.cuda.is_available():
            return "no CUDA device (torch.cuda.is_available() is False)"
        return None

    def synchronize(self):
        torch.cuda.synchronize()
