"""Re-export of :mod:`keisei.weights` (weight snapshots and the weight manager moved there so training and
evaluation share one ``ModelWeightManager``); kept so ``keisei.evaluation.weights`` imports keep working."""

from keisei.weights import (
    DEFAULT_MAX_BYTES,
    WRAPPER_PREFIXES,
    ModelWeightManager,
    WeightSnapshot,
    state_nbytes,
    strip_wrapper_prefixes,
    tensors_sha256,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "WRAPPER_PREFIXES",
    "ModelWeightManager",
    "WeightSnapshot",
    "state_nbytes",
    "strip_wrapper_prefixes",
    "tensors_sha256",
]
