"""Run infrastructure below every trainer (`keisei train`, `keisei sl`, the search learner next).

What any trainer needs and nothing algorithm-specific: the run directory and its lock (``lock``), the
session (device, seed, torch threads, config.toml, train.log: ``session``), thread settings (``threads``),
the progress counters (``counters``), checkpoint files (``checkpoints``), TensorBoard metrics (``metrics``),
the callback interface (``callbacks``) and timers (``timing``). It imports neither ``keisei.training`` nor
``keisei.evaluation`` nor ``keisei.sl``: they all build on it.

Kept import-free so ``keisei.run.threads`` can be imported before torch (the CLI sets OpenMP's env first).
"""
