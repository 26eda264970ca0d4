"""The experiment file: one YAML document per sweep, validated by these pydantic models.

Every section forbids unknown keys. Model hyperparameters (``model.hparams``) and dataset
options (``data.options``) are open mappings here: their names and types come from the model's
builder and task signatures (see :mod:`raytrack.registry`) and are checked by
:mod:`raytrack.config.validate`, which also checks the search space against them.

Paths (``data.store``, ``storage``) expand ``~`` and environment variables; relative paths are
taken from the directory the command runs in.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from raytrack.config.sections import raise_problems
from raytrack.config.training import (  # noqa: F401  (the train section lives in its own module)
    OptimizerSection,
    SchedulerSection,
    Section,
    StageSection,
    TrainSection,
    UntilSection,
)


class ModelSection(Section):
    name: str
    """Registry name of the model (`raytrack validate` lists the registered ones on a miss)."""
    hparams: dict[str, Any] = Field(default_factory=dict)
    """Fixed hyperparameters under the reference code's names (searched ones go in ``search``)."""


class GenerateSection(Section):
    """Build the store on first use, when ``data.store`` does not exist yet, from ``data.source``.

    A simulator needs ``events`` (and takes a ``seed``); a reader takes neither and finds its
    files through its settings (e.g. ``settings: {path: ...}``). ``settings`` are validated
    against the data source's own settings model.
    """

    events: int | None = Field(None, ge=1)
    seed: int | None = None
    """Default 0 for simulators."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """The data source's settings (for the detector simulation: ``rfactor``, ``noise_ratio``, ...)."""


class DataSection(Section):
    store: str
    """Path of the Parquet sample store."""
    source: str | None = None
    """The data source the store comes from (``raytrack validate`` lists them); default: the
    model's first source. Builds the store from ``generate`` when it does not exist, and must
    agree with the source an existing store records."""
    generate: GenerateSection | None = None
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    """Fractions of the store's samples for training, validation and test (sum to 1)."""
    split_seed: int = 0
    max_events: int | None = Field(None, ge=1)
    """Use only the first ``max_events`` samples of the store (before splitting)."""
    train_split: tuple[int, int, int] | None = None
    """Exa.TrkX's ``train_split``: numbers of training, validation and test samples, drawn at
    random (``split_seed``) from the store's first ``sum(train_split)`` samples, as the
    reference splits its first events. It sets ``max_events`` to the sum and ``split`` to the
    fractions; the store must hold that many samples. The reference's one-split grid form
    ``[[80, 10, 10]]`` is read too."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The model's dataset options (for tracking models: ``pt_signal_cut``, ``true_edges``, ...)."""

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

    @field_validator("train_split", mode="before")
    @classmethod
    def _one_split(cls, value: Any) -> Any:
        """The reference's grid form ``[[80, 10, 10]]`` holds one split here; several are a
        search (one sweep per split)."""
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
            if len(value) != 1:
                raise ValueError(
                    f"train_split takes one [train, val, test] of sample counts, but got "
                    f"{len(value)} (the reference's grid of splits): run one sweep per split"
                )
            return value[0]
        return value

    @model_validator(mode="after")
    def _counts_to_split(self) -> DataSection:
        if self.train_split is None:
            return self
        counts, at = self.train_split, ("train_split",)
        total = sum(counts)
        if min(counts) < 0 or counts[0] == 0 or counts[1] == 0:
            why = f"train_split needs training and validation samples, but got {list(counts)}"
            raise_problems(type(self).__name__, [(at, why)])
        fractions = tuple(c / total for c in counts)
        given, problems = self.model_fields_set, []
        if "split" in given and any(abs(a - b) > 1e-9 for a, b in zip(self.split, fractions)):
            why = f"train_split {list(counts)} and split {list(self.split)} disagree: give one"
            problems.append((at, why))
        if "max_events" in given and self.max_events != total:
            problems.append((at, f"train_split {list(counts)} uses the first {total} samples, "
                             f"but max_events is {self.max_events}: give one"))  # fmt: skip
        raise_problems(type(self).__name__, problems)
        self.split, self.max_events = fractions, total  # type: ignore[assignment]
        return self

    @model_serializer(mode="wrap")
    def _counts_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """With ``train_split``, a dump keeps the counts, not the split and max_events derived
        from them (so that a later change of the counts, e.g. a search, is not contradicted)."""
        data = handler(self)
        if self.train_split is not None:
            data.pop("split", None)
            data.pop("max_events", None)
        return data


class SearchParam(Section):
    """One searched setting. The kind is ``type`` or inferred from the keys given:

    - ``{low, high}``: a range, integer for integer settings (``high`` included), float for
      float settings, by the bounds' type for untyped ones; ``log``; ``step`` (``low`` and
      ``high`` must be multiples of it);
    - ``{choices: [...]}`` → categorical (choices may be lists, e.g. regimes);
    - ``{grid: [...]}`` → every value is tried (grid and random searchers only).

    :mod:`raytrack.config.search` checks the grammar and translates it to Ray Tune.
    """

    type: Literal["float", "int", "choice", "grid"] | None = None
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: list[Any] | None = None
    grid: list[Any] | None = None


class TuneSchedulerSection(Section):
    name: Literal["asha", "fifo"] = "asha"
    grace_period: int = Field(1, ge=1)
    """Epochs every trial runs before ASHA may stop it."""
    reduction_factor: float = Field(4.0, gt=1)
    """Rung to rung, ASHA keeps the best ``1 / reduction_factor`` of the trials. 4 is Ray Tune's
    and Optuna's default. Against full-budget random search on the same 32 trials of 16 epochs
    (``benchmarks/asha_vs_random.py``, 3 seeds) 4 spent 0.24 of its trial-epochs, raytrack's
    former default 2 spent 0.29, with the same or a better best metric (see benchmarks/README.md:
    neither kept a trial that ranked low early and best late)."""
    brackets: int = Field(1, ge=1)
    max_t: int | None = Field(None, ge=1)
    """Epochs at which ASHA's top rung sits; default ``train.max_epochs``."""


class TuneSection(Section):
    metric: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    num_samples: int = Field(1, ge=1)
    searcher: Literal["random", "grid", "optuna"] = "random"
    seed: int | None = 0
    scheduler: TuneSchedulerSection = Field(default_factory=TuneSchedulerSection)
    max_concurrent_trials: int | None = Field(None, ge=1)
    time_budget_s: float | None = Field(None, gt=0)


class WandbSection(Section):
    enabled: bool = False
    project: str = "raytrack"
    entity: str | None = None
    group: str | None = None
    mode: Literal["online", "offline", "disabled"] | None = None
    """Default: ``online`` when ``WANDB_API_KEY`` is set, else ``offline``."""


class MlflowSection(Section):
    enabled: bool = False
    tracking_uri: str | None = None
    """Default: ``sqlite:///<storage>/mlflow.db``."""
    experiment_name: str | None = None
    """Default: the experiment's ``name``."""

    @field_validator("tracking_uri")
    @classmethod
    def _no_credentials(cls, uri: str | None) -> str | None:
        from raytrack.redact import redact_uri

        if uri is not None and redact_uri(uri) != uri:
            raise ValueError(
                f"the tracking URI {redact_uri(uri)} holds a password or token, which would be "
                "saved with the sweep; give it in the environment instead (MLFLOW_TRACKING_TOKEN, "
                "or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
            )
        return uri


class LoggingSection(Section):
    wandb: WandbSection = Field(default_factory=WandbSection)
    mlflow: MlflowSection = Field(default_factory=MlflowSection)


class Experiment(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    plugins: list[str] = Field(default_factory=list)
    """Modules imported before the model is looked up, each exposing a ``family``
    (:class:`raytrack.family.Family`): a lab's own models, data sources and evaluators."""
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
