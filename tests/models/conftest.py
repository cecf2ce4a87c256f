import pytest
import torch

from keisei.config import ModelConfig


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return ModelConfig(name="resnet", blocks=1, channels=8, se=True, se_ratio=4, value_hidden=8)
