"""Actor-critic models: the interface, the registry and the built-in ResNet."""

from keisei.models.base import ActorCriticBase, ActorCriticProtocol
from keisei.models.constants import NUM_ACTIONS, OBS_SHAPE
from keisei.models.precision import AMP_DTYPES, amp_dtype
from keisei.models.registry import MODEL_REGISTRY, build_model, register_model
from keisei.models.resnet import ResNetActorCritic
from keisei.models.wrapping import state_dict_for_save, unwrap_model

__all__ = [
    "AMP_DTYPES",
    "MODEL_REGISTRY",
    "NUM_ACTIONS",
    "OBS_SHAPE",
    "ActorCriticBase",
    "ActorCriticProtocol",
    "ResNetActorCritic",
    "amp_dtype",
    "build_model",
    "register_model",
    "state_dict_for_save",
    "unwrap_model",
]
