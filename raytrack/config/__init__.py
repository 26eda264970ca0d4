"""The experiment file: schema, validation, the search grammar and its Ray Tune translation.

Importing this package imports neither torch nor ray: the model registry (torch) is loaded when
a file names its model, and ray only by :func:`tune_search_space`.
"""

from raytrack.config.errors import ConfigError, ConfigWarning, Problem
from raytrack.config.loader import dump_experiment, load_experiment
from raytrack.config.resolve import apply_trial_config, experiment_to_dict, fixed_experiment
from raytrack.config.schema import Experiment, SearchParam
from raytrack.config.search import epoch_budget, search_keys, trial_epochs, tune_search_space
from raytrack.config.validate import check_experiment, validate_experiment

__all__ = [
    "ConfigError",
    "ConfigWarning",
    "Experiment",
    "Problem",
    "SearchParam",
    "apply_trial_config",
    "check_experiment",
    "dump_experiment",
    "epoch_budget",
    "experiment_to_dict",
    "fixed_experiment",
    "load_experiment",
    "search_keys",
    "trial_epochs",
    "tune_search_space",
    "validate_experiment",
]
