"""Keisei: a deep reinforcement learning trainer for Shogi."""

__version__ = "0.1.0"
