"""Fixtures shared across test packages."""

import pytest

from keisei.config import ModelConfig


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    """The smallest useful ResNet: fast enough for unit tests on 2 cores."""
    return ModelConfig(name="resnet", blocks=1, channels=8, se=True, se_ratio=4, value_hidden=8)
