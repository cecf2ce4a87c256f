"""Reinforcement learning: rollout storage, negamax GAE, the Learner seam and the PPO learner."""

from keisei.rl.buffer import PPOBatch, RolloutBuffer
from keisei.rl.gae import compute_gae
from keisei.rl.learner import Batch, GradientSync, Learner
from keisei.rl.losses import PPOLosses, explained_variance, normalize_advantages, ppo_losses
from keisei.rl.ppo import PPOLearner
from keisei.rl.schedule import lr_lambda

__all__ = [
    "Batch",
    "GradientSync",
    "Learner",
    "PPOBatch",
    "PPOLearner",
    "PPOLosses",
    "RolloutBuffer",
    "compute_gae",
    "explained_variance",
    "lr_lambda",
    "normalize_advantages",
    "ppo_losses",
]
