"""Model registry: names -> factories taking a ModelConfig; rebuilds architectures stored in checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from torch import nn

from keisei.config import ModelConfig

ModelFactory = Callable[[ModelConfig], nn.Module]
F = TypeVar("F", bound=ModelFactory)

MODEL_REGISTRY: dict[str, ModelFactory] = {}


def register_model(name: str) -> Callable[[F], F]:
    """Decorator registering a class or function `factory(model_cfg) -> nn.Module` under `name`."""

    def decorator(factory: F) -> F:
        if name in MODEL_REGISTRY:
            raise ValueError(f"model name {name!r} is already registered")
        MODEL_REGISTRY[name] = factory
        return factory

    return decorator


def build_model(model_cfg: ModelConfig | dict[str, Any]) -> nn.Module:
    """Build the registered model named by `model_cfg.name` (a ModelConfig or its model_dump() dict)."""
    if isinstance(model_cfg, dict):
        try:
            model_cfg = ModelConfig.model_validate(model_cfg)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"invalid model architecture: {problems}") from None
    elif not isinstance(model_cfg, ModelConfig):
        raise TypeError(f"build_model expects a ModelConfig or dict, got {type(model_cfg).__name__}")
    factory = MODEL_REGISTRY.get(model_cfg.name)
    if factory is None:
        known = ", ".join(sorted(MODEL_REGISTRY)) or "(none)"
        raise ValueError(f"unknown model {model_cfg.name!r}; known models: {known}")
    return factory(model_cfg)
