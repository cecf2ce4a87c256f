"""Optional material reward shaping: declared, annealed to zero, off by default."""

import pytest

from keisei.config import load_config
from keisei.training.step_manager import material_coef


def test_off_by_default():
    assert load_config().ppo.material_reward_coef == 0.0


def test_anneals_linearly_to_zero():
    assert material_coef(0.1, 0, 10_000) == 0.1
    assert material_coef(0.1, 1000, 0) == 0.1
    assert material_coef(0.1, 1000, 500) == pytest.approx(0.05)
    assert material_coef(0.1, 1000, 1000) == 0.0
    assert material_coef(0.1, 1000, 5000) == 0.0
