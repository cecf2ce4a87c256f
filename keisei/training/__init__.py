"""Self-play PPO training: `keisei.training.trainer.Trainer` composes the parts in this package.

Kept import-free so `keisei.run.callbacks` (the interface evaluation plugs into) stays light.
"""
