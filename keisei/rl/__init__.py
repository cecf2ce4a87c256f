"""Reinforcement learning: rollout storage, negamax GAE, the Learner seam and the PPO learner."""

from keisei.rl.buffer import RolloutBuffer
from keisei.rl.gae import compute_gae
from keisei.rl.learner import Experience, GradientSync, Learner
from keisei.rl.losses import PPOLosses, explained_variance, normalize_advantages, ppo_losses
from keisei.rl.ppo import PPOLearner
from keisei.rl.schedule import lr_lambda

__all__ = [
    "Experience",
    "GradientSync",
    "Learner",
    "PPOLearner",
    "PPOLosses",
    "RolloutBuffer",
    "compute_gae",
    "explained_variance",
    "lr_lambda",
    "normalize_advantages",
    "ppo_losses",
]
