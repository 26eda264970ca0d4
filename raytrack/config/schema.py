"""The experiment file: one YAML document per sweep, validated by these pydantic models.

Every section forbids unknown keys. Model hyperparameters (``model.hparams``) and dataset
options (``data.options``) are open mappings here: their names and types come from the model's
builder and task signatures (see :mod:`raytrack.registry`) and are checked by
:mod:`raytrack.config.validate`, which also checks the search space against them.

Paths (``data.store``, ``storage``) expand ``~`` and environment variables; relative paths are
taken from the directory the command runs in.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(Section):
    name: str
    """Registry name of the model, e.g. ``exatrkx_gnn``."""
    hparams: dict[str, Any] = Field(default_factory=dict)
    """Fixed hyperparameters under the reference code's names (searched ones go in ``search``)."""


class GenerateSection(Section):
    """Simulate the store on first use when ``data.store`` does not exist yet."""

    events: int = Field(ge=1)
    seed: int = 0
    settings: dict[str, Any] = Field(default_factory=dict)
    """Detector-simulation settings (``rfactor``, ``noise_ratio``, ...) by their CLI names."""


class DataSection(Section):
    store: str
    """Path of the Parquet event store."""
    generate: Optional[GenerateSection] = None
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    """Fractions of the store's events for training, validation and test (sum to 1)."""
    split_seed: int = 0
    max_events: Optional[int] = Field(None, ge=1)
    """Use only the first ``max_events`` events of the store (before splitting)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The family's dataset options (``pt_signal_cut``, ``true_edges``, ``node2node``, ...)."""

    @field_validator("split")
    @classmethod
    def _split_sums_to_one(cls, split: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(f < 0 for f in split) or abs(sum(split) - 1.0) > 1e-6:
            raise ValueError(
                f"split must be three non-negative fractions (train, val, test) summing to 1, "
                f"but got {list(split)}"
            )
        if split[0] == 0 or split[1] == 0:
            raise ValueError(f"split needs training and validation events, but got {list(split)}")
        return split


class OptimizerSection(Section):
    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.0, ge=0)
    """SGD and RMSprop only."""
    betas: tuple[float, float] = (0.9, 0.999)
    """Adam and AdamW only."""
    amsgrad: bool = False


class SchedulerSection(Section):
    """Learning-rate schedule stepped once per epoch (after warmup).

    ``plateau``: multiply by ``factor`` after ``patience`` epochs without improvement of the
    tuned metric. ``step``: multiply by ``factor`` every ``patience`` epochs (Exa.TrkX's StepLR).
    ``warmcos``: cosine decay to ``min_lr`` over ``max_epochs``.
    """

    name: Literal["none", "plateau", "step", "warmcos"] = "none"
    patience: int = Field(10, ge=1)
    factor: float = Field(0.3, gt=0, lt=1)
    min_lr: float = Field(0.0, ge=0)


class TrainSection(Section):
    max_epochs: int = Field(10, ge=1)
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection)
    warmup: int = Field(0, ge=0)
    """Optimizer steps of linear learning-rate warmup (Exa.TrkX ``warmup``)."""
    scheduler: SchedulerSection = Field(default_factory=SchedulerSection)
    batch_size: int = Field(1, ge=1)
    """Items (events, windows, spectra) per optimizer step and worker."""
    workers: int = Field(1, ge=1)
    """DDP workers per trial; 1 runs the loop inside the trial without a worker group."""
    cpus_per_worker: float = Field(1.0, ge=0)
    gpus_per_worker: float = Field(0.0, ge=0)
    grad_clip: Optional[float] = Field(None, gt=0)
    seed: int = 0
    num_threads: Optional[int] = Field(None, ge=1)
    """torch threads per worker; default: ``cpus_per_worker`` rounded up."""


class SearchParam(Section):
    """One searched setting. The kind is ``type`` or inferred from the keys given:

    - ``{low, high}``: a range, integer for integer settings (``high`` included), float for
      float settings, by the bounds' type for untyped ones; ``log``; ``step`` (``low`` and
      ``high`` must be multiples of it);
    - ``{choices: [...]}`` → categorical (choices may be lists, e.g. regimes);
    - ``{grid: [...]}`` → every value is tried (grid and random searchers only).

    :mod:`raytrack.config.search` checks the grammar and translates it to Ray Tune.
    """

    type: Optional[Literal["float", "int", "choice", "grid"]] = None
    low: Optional[float | int] = None
    high: Optional[float | int] = None
    log: bool = False
    step: Optional[float | int] = None
    choices: Optional[list[Any]] = None
    grid: Optional[list[Any]] = None


class TuneSchedulerSection(Section):
    name: Literal["asha", "fifo"] = "asha"
    grace_period: int = Field(1, ge=1)
    """Epochs every trial runs before ASHA may stop it."""
    reduction_factor: float = Field(2.0, gt=1)
    brackets: int = Field(1, ge=1)
    max_t: Optional[int] = Field(None, ge=1)
    """Epochs at which ASHA's top rung sits; default ``train.max_epochs``."""


class TuneSection(Section):
    metric: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    num_samples: int = Field(1, ge=1)
    searcher: Literal["random", "grid", "optuna"] = "random"
    seed: Optional[int] = 0
    scheduler: TuneSchedulerSection = Field(default_factory=TuneSchedulerSection)
    max_concurrent_trials: Optional[int] = Field(None, ge=1)
    time_budget_s: Optional[float] = Field(None, gt=0)


class WandbSection(Section):
    enabled: bool = False
    project: str = "raytrack"
    entity: Optional[str] = None
    group: Optional[str] = None
    mode: Optional[Literal["online", "offline", "disabled"]] = None
    """Default: ``online`` when ``WANDB_API_KEY`` is set, else ``offline``."""


class MlflowSection(Section):
    enabled: bool = False
    tracking_uri: Optional[str] = None
    """Default: ``sqlite:///<storage>/mlflow.db``."""
    experiment_name: Optional[str] = None
    """Default: the experiment's ``name``."""


class LoggingSection(Section):
    wandb: WandbSection = Field(default_factory=WandbSection)
    mlflow: MlflowSection = Field(default_factory=MlflowSection)


class Experiment(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    model: ModelSection
    data: DataSection
    train: TrainSection = Field(default_factory=TrainSection)
    search: dict[str, SearchParam] = Field(default_factory=dict)
    """Bare model hyperparameter names (``hidden``), per-keyword toggles of a regime list
    (``regime.pid``: ``{choices: [true, false]}`` adds or removes ``pid`` from the fixed list), or
    dotted paths from the root (``train.optimizer.lr``, ``data.options.pt_signal_cut``)."""
    tune: TuneSection = Field(default_factory=TuneSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)
    storage: str = "raytrack_results"
    """Where Ray Tune keeps trials, checkpoints and results: a filesystem path, on a multi-node
    cluster one that every node mounts (cloud URIs are not supported yet)."""
