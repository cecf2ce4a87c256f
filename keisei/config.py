"""Keisei's typed configuration schema (pydantic v2), presets and `--set` overrides.

Every attribute any component reads is declared here with a default; unknown keys are errors naming their
dotted path. Layering: defaults <- preset (keisei/presets/NAME.toml) <- config file (TOML) <- overrides.
"""

from __future__ import annotations

import logging
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from keisei.atomic import atomic_write_text
from keisei.errors import KeiseiError

PRESETS = ("tiny", "small", "base")

logger = logging.getLogger(__name__)


class ConfigError(KeiseiError, ValueError):
    """A config problem; the message names the dotted field path."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class EnvConfig(_Section):
    num_envs: int = Field(16, ge=1, le=65536, description="parallel self-play games per rollout")
    max_plies: int = Field(256, ge=2, le=10000, description="plies after which a game is truncated")
    openings: list[str] = Field(default_factory=list, description="SFENs or USI move sequences")
    impasse_points: Literal[24, 27] = Field(27, description="entering-king declaration rule")


class ModelConfig(_Section):
    name: str = Field("resnet", description="registered model name")
    blocks: int = Field(4, ge=1, le=64, description="residual blocks in the tower")
    channels: int = Field(64, ge=8, le=1024, description="channels of every convolution in the tower")
    se: bool = Field(True, description="squeeze-and-excitation in residual blocks")
    se_ratio: int = Field(4, ge=1, le=64, description="squeeze-and-excitation reduction ratio")
    value_hidden: int = Field(128, ge=8, le=4096, description="hidden units of the value head")


ALGORITHMS = ("ppo", "alphazero")  # keisei.training.algorithms registers each


class TrainingConfig(_Section):
    """Run settings of any learner: what to train for how long, where, with which seed, threads, checkpoints."""

    algorithm: Literal["ppo", "alphazero"] = Field(
        "ppo", description="the learner and its self-play collector: ppo ([ppo]) or alphazero ([selfplay], [alphazero])")
    total_timesteps: int = Field(1_000_000, ge=1, description="stop after this many env steps")
    seed: int = Field(1, ge=0, description="seed of a new run's random streams (`keisei train --seed N`)")
    deterministic: bool = Field(False, description="torch deterministic algorithms (bit-exact resume on CPU)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda when available, else cpu")
    torch_threads: Annotated[int, Field(ge=0, le=1024)] | Literal["auto"] = Field(
        "auto", description="intra-op CPU threads: auto = $OMP_NUM_THREADS, else every core (<= 4) when "
                            "OMP_WAIT_POLICY is PASSIVE, else half the cores; 0 = torch default"
    )
    interop_threads: int = Field(1, ge=0, le=1024, description="torch inter-op threads; 0 = torch default")
    amp: Literal["off", "bf16", "fp16"] = Field("off", description="mixed precision on CUDA only")
    compile: bool = Field(False, description="torch.compile the model")
    checkpoint_interval_timesteps: int = Field(50_000, ge=1, description="save a checkpoint this often")
    keep_checkpoints: int = Field(5, ge=1, description="checkpoints kept besides the best ones")
    max_wall_seconds: float = Field(0.0, ge=0.0, description="stop (and checkpoint) after this long; 0 = no limit")


class PPOConfig(_Section):
    """PPO (`training.algorithm = "ppo"`): rollouts, the clipped-surrogate update and self-play reward shaping."""

    num_steps: int = Field(32, ge=1, description="rollout length per env; rollout = num_steps * num_envs")
    learning_rate: float = Field(3e-4, gt=0.0, le=1.0, description="Adam step size")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field("linear", description="decay over the run")
    gamma: float = Field(0.99, ge=0.0, le=1.0, description="< 1 makes faster wins worth more than slow ones")
    gae_lambda: float = Field(0.95, ge=0.0, le=1.0, description="GAE's bias-variance trade-off")
    update_epochs: int = Field(4, ge=1, le=100, description="passes over each rollout")
    num_minibatches: int = Field(4, ge=1, description="minibatches per pass")
    clip_coef: float = Field(0.2, gt=0.0, le=10.0, description="policy ratio (and value) clip range")
    clip_vloss: bool = Field(True, description="clip the value loss as the policy's")
    vf_coef: float = Field(0.5, ge=0.0, description="weight of the value loss")
    ent_coef: float = Field(0.01, ge=0.0, description="weight of the entropy bonus")
    max_grad_norm: float = Field(0.5, gt=0.0, description="gradient clipping norm")
    target_kl: float | None = Field(None, gt=0.0, description="stop an update's epochs past this KL; unset = off")
    norm_adv: bool = Field(True, description="normalise advantages per minibatch")
    weight_decay: float = Field(0.0, ge=0.0, description="Adam weight decay")
    material_reward_coef: float = Field(
        0.0, ge=0.0, le=1.0, description="shaping: reward += coef * value of the piece captured (pawn = 1); 0 = off"
    )
    material_anneal_timesteps: int = Field(
        0, ge=0, description="shaping coefficient decays linearly to 0 over this many timesteps; 0 = constant"
    )


#: keys that moved from [training] to [ppo]; old files, --set overrides and checkpoints still load (see _migrate)
MOVED_TO_PPO = tuple(PPOConfig.model_fields)


class SelfPlayConfig(_Section):
    """Search self-play of `training.algorithm = "alphazero"`: how each move is searched and chosen, and when a
    game ends early. Games are played env.num_envs at a time, to env.max_plies, from env.openings. The search
    uses [search] for everything else (batch_size, c_puct, fpu_reduction, mate_depth, max_nodes, Dirichlet
    noise); these fields take the place of its algorithm, simulations, gumbel_considered, value_scale and
    maxvisit_init in self-play."""

    root: Literal["gumbel", "puct"] = Field(
        "gumbel", description="gumbel: completed-Q policy targets; puct: visit-count targets with Dirichlet noise")
    simulations: int = Field(32, ge=1, le=100_000, description="simulations of a full search (a policy target)")
    considered: int = Field(16, ge=1, le=600, description="Gumbel: root actions considered, m = min(this, legal)")
    value_scale: float = Field(
        0.1, gt=0.0, le=10.0,
        description="Gumbel: c_scale of sigma(completed Q) (mctx's default; the sweep against 1.0: docs/alphazero.md)")
    maxvisit_init: float = Field(50.0, ge=0.0, description="Gumbel: c_visit of sigma(completed Q)")
    full_search_share: float = Field(
        0.5, gt=0.0, le=1.0, description="playout cap: share of moves searched fully and kept as training targets")
    cheap_simulations: int = Field(
        8, ge=1, le=100_000, description="playout cap: simulations of the other moves (played, not recorded)")
    sample_plies: int = Field(
        16, ge=0, le=1000, description="opening randomness: the first plies sample from the improved policy")
    resign_threshold: float = Field(
        0.95, ge=0.0, lt=1.0, description="resign when the root value < -this; 0 = never resign")
    resign_playout_share: float = Field(
        0.1, ge=0.0, le=1.0, description="share of games played out despite a resign (measures false resigns)")
    false_resign_target: float = Field(
        0.05, gt=0.0, lt=1.0, description="the threshold tightens so that about this share of resigns would be false")
    collect_plies: int = Field(
        16, ge=1, le=100_000, description="plies of every game per loop iteration (then the learner trains)")


class AlphaZeroConfig(_Section):
    """The policy-value learner of `training.algorithm = "alphazero"` and its replay window on disk
    (<run>/replay; see docs/alphazero.md). The window is KataGo's power law: all positions up to window_min,
    then window_min * (1 + growth * ((N / window_min) ** exponent - 1) / exponent) of the N written."""

    batch_size: int = Field(256, ge=1, le=65536, description="positions per update step")
    optimizer: Literal["adamw", "sgd"] = Field("adamw", description="AdamW, or SGD with momentum")
    learning_rate: float = Field(1e-3, gt=0.0, le=10.0, description="step size")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(
        "constant", description="decay over training.total_timesteps")
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD momentum")
    weight_decay: float = Field(1e-4, ge=0.0, description="decoupled (AdamW) or L2 (SGD) weight decay")
    max_grad_norm: float = Field(1.0, ge=0.0, description="gradient clipping norm; 0 = off")
    value_coef: float = Field(1.0, ge=0.0, description="weight of the value loss (the policy loss weighs 1)")
    value_mix: float = Field(
        0.0, ge=0.0, le=1.0, description="value target = (1 - mix) * game outcome + mix * root search value")
    train_per_data: float = Field(
        4.0, gt=0.0, le=1000.0, description="reuse cap: positions trained per position written")
    min_positions: int = Field(2000, ge=1, description="positions written before the first update")
    window_min: int = Field(20_000, ge=1, description="replay window: every position up to this many")
    window_exponent: float = Field(0.75, gt=0.0, le=1.0, description="replay window growth exponent (alpha)")
    window_growth: float = Field(0.4, ge=0.0, le=10.0, description="replay window growth factor (beta)")
    val_every: int = Field(20, ge=0, description="every this-th game is held out for validation; 0 = none")
    duplicate_plies: int = Field(12, ge=0, description="positions up to this ply count as opening duplicates")
    duplicate_cap: int = Field(4, ge=1, description="copies of one opening position kept in the window")


class EvaluationConfig(_Section):
    enable_periodic_evaluation: bool = Field(
        True, description="`keisei train` evaluates in the background every interval_timesteps (EvaluationCallback)"
    )
    interval_timesteps: int = Field(50_000, ge=1, description="periodic evaluation every this many timesteps")
    num_games: int = Field(20, ge=2, description="games per opponent (colour-balanced pairs)")
    strategy: Literal["single_opponent", "tournament", "ladder", "benchmark", "custom"] = Field(
        "custom", description="which matchups: custom = the agent against every opponent listed"
    )
    opponents: list[str] = Field(
        default_factory=lambda: ["random", "greedy"],
        description="opponent specs: random, greedy, checkpoint:PATH[?sims=N], usi:ENGINE?opts, pool[:K], engine names",
    )
    engines: dict[str, str] = Field(default_factory=dict, description="named engine specs, e.g. fsf0 = 'usi:...'")
    max_in_flight: int = Field(1, ge=1, le=16, description="background evaluations at once; a due one beyond is skipped")
    max_plies: int = Field(256, ge=2, le=10000, description="evaluation games are drawn at this many plies")
    opening_suite: str = Field("v1", description="versioned opening suite for colour-balanced pairs")
    deterministic: bool = Field(False, description="agent plays argmax instead of sampling")
    seed: int | None = Field(None, ge=0, description="base seed of the evaluation players; unset = training.seed")
    device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="where evaluation networks run")
    engine_move_timeout: float = Field(10.0, gt=0.0, description="seconds a USI engine may take per move beyond its limit")
    engine_start_timeout: float = Field(15.0, gt=0.0, description="seconds a USI engine may take to answer usiok/readyok")
    save_games: bool = Field(False, description="write every evaluation game as a record under the run directory")
    anchor: str = Field("random", description="the player fixed at anchor Elo in rating fits")
    anchor_elo: dict[str, float] = Field(default_factory=dict, description="more players fixed at these Elo")
    keep_best: bool = Field(
        True, description="periodic evaluation keeps checkpoints/best.pt: a version replaces it only when the "
        "lower end of its rating's 95% interval is above the best's rating (a weaker later net never does)")
    rating_scale: Literal["calibrated", "joint"] = Field(
        "calibrated", description="calibrated: the reference players fixed at their shipped ratings "
        "(keisei/evaluation/calibration.json), so Elo compares across runs; joint: only the anchor fixed")
    elo0: float = Field(0.0, description="SPRT null hypothesis: Elo difference H0")
    elo1: float = Field(10.0, description="SPRT alternative: Elo difference H1")
    sprt_alpha: float = Field(0.05, gt=0.0, lt=0.5, description="SPRT false-positive rate")
    sprt_beta: float = Field(0.05, gt=0.0, lt=0.5, description="SPRT false-negative rate")
    pool_size: int = Field(10, ge=1, description="checkpoints kept in the opponent pool")
    pool_keep_best: int = Field(3, ge=0, description="highest-rated pool members never pruned")
    pool_sampling: Literal["uniform", "recent", "rating"] = Field(
        "recent", description="how `pool:K` opponents are drawn from the pool"
    )
    weight_cache_entries: int = Field(8, ge=1, description="weight snapshots kept in memory")
    weight_cache_bytes: int = Field(512 * 1024 * 1024, ge=1, description="bytes of weight snapshots kept in memory")


class ParallelConfig(_Section):
    """Actor processes (keisei.training.parallel): each plays its slice of env.num_envs on a CPU policy copy."""

    enabled: bool = Field(False, description="collect self-play in num_workers actor processes")
    num_workers: int = Field(2, ge=1, le=256, description="actor processes; env.num_envs is split among them")
    sync_interval_updates: int = Field(1, ge=1, description="publish weights to the actors every N updates")
    max_policy_lag: int = Field(
        2, ge=0, le=1000, description="drop segments made by a policy more than this many versions old"
    )
    slots_per_worker: int = Field(
        2, ge=1, le=16, description="shared-memory segments a worker may fill ahead of the learner"
    )
    heartbeat_timeout_s: float = Field(60.0, gt=0.0, description="a worker silent this long is killed and restarted")
    start_timeout_s: float = Field(180.0, gt=0.0, description="time a (re)started worker has to report in")
    eval_sync_timeout_s: float = Field(
        30.0, ge=0.0, description="an evaluation waits this long for all workers to play one published version"
    )
    learner_threads: int = Field(
        0, ge=0, le=1024, description="torch threads of the learner; 0 = cores left by the workers (>= 1)"
    )
    worker_device: Literal["cpu", "cuda"] = Field(
        "cpu", description="where actors run their policy copy; cuda: worker w on GPU w mod device count"
    )
    dist_backend: Literal["auto", "gloo", "nccl"] = Field(
        "auto", description="torchrun process group: auto = nccl on CUDA, gloo on CPU"
    )
    dist_timeout_seconds: float = Field(
        1800.0, gt=0.0, le=86400.0,
        description="torchrun: a collective waiting this long (a rank died or hangs) stops every rank; "
                    "must exceed the longest evaluation, which rank 0 runs while the others wait",
    )


class LoggingConfig(_Section):
    run_root: str = Field("runs", description="directory new runs are created in")
    run_name: str = Field("", description="empty = timestamped name")
    tensorboard: bool = Field(True, description="TensorBoard event files in the run directory")
    wandb: bool = Field(False, description="also log to Weights & Biases (needs wandb installed)")
    wandb_project: str = Field("keisei", description="W&B project name")
    log_interval_updates: int = Field(1, ge=1, description="log game statistics every this many updates")
    save_selfplay_games_every: int = Field(
        200, ge=0, description="save every Nth finished self-play game in run_dir/games/ (a small sample); 0 = off"
    )
    game_format: Literal["kif", "kifu", "csa", "usi"] = Field(
        "kif", description="record format: kif (Shift_JIS), kifu (KIF in UTF-8), csa or usi"
    )
    live_state: bool = Field(
        True, description="write run_dir/live.json (progress and a few current games) for `keisei dashboard`"
    )
    live_every_seconds: float = Field(1.0, ge=0.1, description="live.json is rewritten at most this often")
    live_games: int = Field(4, ge=0, le=16, description="current self-play games shown in live.json (in-process collection)")


class DisplayConfig(_Section):
    mode: Literal["auto", "rich", "plain"] = Field("auto", description="rich panel on a terminal, plain lines otherwise")
    refresh_seconds: float = Field(1.0, gt=0.0, description="rich panel refresh period")
    log_every_seconds: float = Field(
        10.0, gt=0.0, description="progress line to train.log this often (and to stdout without the rich panel)"
    )


class SLConfig(_Section):
    """Supervised learning from game records (`keisei sl`); device, amp, compile, seed come from [training]."""

    min_plies: int = Field(20, ge=0, description="drop games shorter than this (not applied to hcpe)")
    min_rating: float = Field(0.0, ge=0.0, description="drop games where a recorded player rating is lower; 0 = off")
    keep_draws: bool = Field(True, description="keep drawn games (value target 0)")
    dedup: bool = Field(True, description="keep only the first occurrence of each position (zobrist hash)")
    val_fraction: float = Field(0.05, ge=0.0, lt=1.0, description="games (not positions) held out for validation")
    shard_positions: int = Field(65536, ge=16, description="positions per on-disk shard (bounds build memory)")
    batch_size: int = Field(256, ge=1, description="positions per update")
    epochs: int = Field(1, ge=1, description="passes over the training positions")
    max_steps: int = Field(0, ge=0, description="stop after this many updates; 0 = run all epochs")
    max_wall_seconds: float = Field(0.0, ge=0.0, description="stop (and checkpoint) after this long; 0 = no limit")
    learning_rate: float = Field(1e-3, gt=0.0, le=1.0, description="AdamW step size (cosine decay)")
    weight_decay: float = Field(1e-4, ge=0.0, description="AdamW weight decay")
    value_coef: float = Field(0.1, ge=0.0, description="weight of the value loss (policy loss weight is 1)")
    eval_mix: float = Field(0.5, ge=0.0, le=1.0, description="share of the value target from the engine eval, when the record has one")
    eval_scale: float = Field(756.0, gt=0.0, description="eval target = tanh(eval / (2 * scale)), dlshogi's sigmoid scale")
    val_interval_steps: int = Field(500, ge=1, description="validate every this many updates")
    val_max_positions: int = Field(20000, ge=1, description="validation positions scored per evaluation")
    checkpoint_interval_steps: int = Field(2000, ge=1, description="checkpoint every this many updates")
    log_interval_steps: int = Field(50, ge=1, description="log training losses every this many updates")
    loader_workers: int = Field(0, ge=0, le=64, description="processes decoding batches ahead; 0 = in the trainer")


class SearchConfig(_Section):
    """Tree search (keisei.search.BatchedMCTS), one settings type for every searcher: evaluation players
    (`keisei evaluate --sims N`, `checkpoint:PATH?sims=N`), the USI engine (`keisei usi --set search.x=...`;
    its SearchAlgorithm and BatchSize options default to these, `setoption` overrides), `keisei play` and
    `keisei analyse`."""

    algorithm: Literal["puct", "gumbel"] = Field("puct", description="root selection: PUCT visits or Gumbel")
    simulations: int = Field(
        128, ge=1, le=100_000_000,
        description="simulations per move when the caller gives none (play/analyse --nodes default when set)",
    )
    batch_size: int = Field(16, ge=1, le=1024, description="leaves per tree per network call (virtual loss)")
    c_puct: float = Field(1.5, gt=0.0, description="PUCT exploration constant")
    fpu_reduction: float = Field(0.2, ge=0.0, le=2.0, description="unvisited child Q = parent value - this")
    gumbel_considered: int = Field(16, ge=1, le=600, description="Gumbel: actions considered at the root")
    value_scale: float = Field(0.1, gt=0.0, le=10.0, description="Gumbel: sigma(Q) scale")
    maxvisit_init: float = Field(50.0, ge=0.0, description="Gumbel: sigma(Q) visit offset")
    mate_depth: Literal[0, 1, 3] = Field(3, description="mate-in-N check at new nodes and the root; 0 = off")
    draw_value: float = Field(
        0.0, ge=-1.0, le=1.0,
        description="a draw (repetition, ply limit) for the searching side; < 0 (contempt) makes it avoid draws",
    )
    max_nodes: int = Field(200_000, ge=1024, le=50_000_000, description="node rows per tree")
    dirichlet_alpha: float = Field(0.15, gt=0.0, le=10.0, description="PUCT root noise (self-play only) concentration")
    dirichlet_epsilon: float = Field(0.25, ge=0.0, le=1.0, description="PUCT root noise weight (self-play only)")
    seed: int = Field(0, ge=0, description="seed of the search's random choices (Gumbel noise, root noise)")
    backend: Literal["torch", "onnx", "auto"] = Field(
        "auto",
        description="network calls: torch; onnx (onnxruntime, CPU); auto = on CUDA torch, on a CPU onnxruntime for "
        "batches up to onnx_max_batch and torch above (the faster of the two at each size, `keisei bench search`)",
    )
    onnx_max_batch: int = Field(8, ge=0, le=4096, description="auto: the largest batch sent to onnxruntime; 0 = torch only")

    def __init__(self, **data: Any) -> None:
        """Built directly (not as a config section): a bad field is one ValueError naming ``search.<field>``."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ValueError(_format_validation(exc, "search", prefix="search.")) from None


class KeiseiConfig(_Section):
    env: EnvConfig = Field(default_factory=EnvConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    ppo: PPOConfig = Field(default_factory=PPOConfig)
    selfplay: SelfPlayConfig = Field(default_factory=SelfPlayConfig)
    alphazero: AlphaZeroConfig = Field(default_factory=AlphaZeroConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    parallel: ParallelConfig = Field(default_factory=ParallelConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    display: DisplayConfig = Field(default_factory=DisplayConfig)
    sl: SLConfig = Field(default_factory=SLConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)

    @model_validator(mode="after")
    def _check_parallel(self) -> KeiseiConfig:
        """Fields that make no sense together (checked whether or not parallel.enabled is set)."""
        p = self.parallel
        if p.enabled and p.num_workers > self.env.num_envs:
            raise ValueError(f"parallel.num_workers ({p.num_workers}) exceeds env.num_envs ({self.env.num_envs}): "
                             "each worker plays at least one env")
        if p.max_policy_lag < p.sync_interval_updates - 1:
            raise ValueError(f"parallel.max_policy_lag ({p.max_policy_lag}) must be >= parallel.sync_interval_updates"
                             f" - 1 ({p.sync_interval_updates - 1}): actors play each version that long")
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_toml(self) -> str:
        return tomli_w.dumps(_drop_none(self.to_dict()))


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def known_keys(model: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
    """Every dotted config key (``training.total_timesteps``, ...), sections included."""
    keys = []
    for name, info in (model or KeiseiConfig).model_fields.items():
        keys.append(prefix + name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += known_keys(annotation, f"{prefix}{name}.")
    return keys


def _suggestion(path: str) -> str:
    """`` (did you mean X?)`` for the closest known key, and where every key is listed."""
    import difflib

    close = difflib.get_close_matches(path, known_keys(), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{hint}; `keisei config --reference` lists every key"


def _format_validation(exc: ValidationError, source: str, prefix: str = "") -> str:
    parts = []
    for err in exc.errors():
        path = prefix + (".".join(str(p) for p in err["loc"]) or "<root>")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _suggestion(path)
        if err["type"] == "value_error" and not err["loc"]:  # a cross-field check: its message names the fields
            parts.append(msg.removeprefix("Value error, "))
            continue
        parts.append(f"{path}: {msg}")
    return f"invalid config ({source}): " + "; ".join(parts)


def _migrate(data: dict, source: str, note: bool = True) -> dict:
    """Move PPO's keys that an older config wrote under [training] to [ppo] (one deprecation line when
    ``note``); a key set in both places is a ConfigError naming both."""
    training = data.get("training")
    if not isinstance(training, dict):
        return data
    moved = [k for k in MOVED_TO_PPO if k in training]
    if not moved:
        return data
    ppo = data.get("ppo") if isinstance(data.get("ppo"), dict) else {}
    both = [k for k in moved if k in ppo]
    if both:
        raise ConfigError(f"invalid config ({source}): " + "; ".join(
            f"training.{k} and ppo.{k} are both set: training.{k} is the old name of ppo.{k}; keep ppo.{k}"
            for k in both))
    data = {**data, "training": {k: v for k, v in training.items() if k not in moved},
            "ppo": {**ppo, **{k: training[k] for k in moved}}}
    if note:
        _note_moved(source, moved)
    return data


def _note_moved(source: str, keys: list[str]) -> None:
    """The one deprecation line for old [training] names of PPO's keys."""
    logger.warning("config (%s): %s moved to [ppo]; read as %s (rename them: the old names will stop working)",
                   source, ", ".join(f"training.{k}" for k in keys), ", ".join(f"ppo.{k}" for k in keys))


def _deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def preset_dict(name: str) -> dict:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    text = resources.files("keisei").joinpath("presets", f"{name}.toml").read_text()
    return tomllib.loads(text)


def _parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw  # a bare string such as cuda or usi:/path?x=1


def parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.key=value")
    key, raw = item.split("=", 1)
    path = [p for p in key.strip().split(".")]
    if len(path) < 2 or not all(path):
        raise ConfigError(f"override key {key!r} must be a dotted path like training.learning_rate")
    return path, _parse_value(raw.strip())


def _apply_override(data: dict, path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {'.'.join(path)}: {part} is not a section")
        node = child
    node[path[-1]] = value


def load_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
) -> KeiseiConfig:
    """Build a validated config from optional preset, TOML file and `a.b=value` overrides (in that order)."""
    data: dict = preset_dict(preset) if preset else {}
    source = f"preset {preset}" if preset else "defaults"
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            file_data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
        data = _deep_merge(data, _migrate(file_data, str(p)))
        source = str(p)
    items = overrides.items() if isinstance(overrides, dict) else [parse_override(o) for o in overrides or []]
    old = []
    for key, value in items:
        key_path = key.split(".") if isinstance(key, str) else list(key)
        if len(key_path) == 2 and key_path[0] == "training" and key_path[1] in MOVED_TO_PPO:
            old.append(key_path[1])
            key_path = ["ppo", key_path[1]]
        _apply_override(data, key_path, value)
    if old:
        _note_moved("--set", old)
    if overrides:
        source += " + overrides"
    try:
        return KeiseiConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source)) from None


def config_from_dict(data: dict, source: str = "checkpoint") -> KeiseiConfig:
    """A config saved by Keisei (a checkpoint's, rank 0's); older layouts are migrated without a note."""
    try:
        return KeiseiConfig.model_validate(_migrate(data, source, note=False))
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source)) from None


def save_config(cfg: KeiseiConfig, path: str | Path) -> Path:
    return atomic_write_text(path, cfg.to_toml())
