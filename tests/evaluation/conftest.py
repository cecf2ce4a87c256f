import sys
from pathlib import Path

import pytest
import torch

# tests/engines.py (real-engine lookup, fake engine for faults) is a shared helper: make ``import engines`` work.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)
