"""Supervised warm start: a training set built from game records, and supervised policy/value training.

``keisei.sl.dataset`` (torch-free) builds the on-disk set from CSA/KIF/hcpe/hcpe3 files read by
``keisei.shogi.record_sources``; ``keisei.sl.train`` trains a network on it and saves RL-format checkpoints.
"""
