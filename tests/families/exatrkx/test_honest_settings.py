"""No silent settings in the Exa.TrkX experiments (issue 15, item 1).

Each setting that used to be accepted and then ignored is now a validation error, or, where it
is dormant only under the experiment's regime, a warning naming the regime it needs; a search
that varies a dormant value is an error. Every message names the key and its YAML line.
"""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

from raytrack.cli import main
from raytrack.config import ConfigError, ConfigWarning, load_experiment


def experiment_file(
    tmp_path: Path,
    model: str,
    hparams: str,
    *,
    search: str = "",
    options: str = "true_edges: layerwise",
    train: str = "max_epochs: 2",
) -> Path:
    """A small experiment file (the store need not exist: validation reads no data)."""

    def block(text: str, indent: int) -> str:
        return textwrap.indent(textwrap.dedent(text).strip(), " " * indent)

    text = f"""\
name: honest
model:
  name: {model}
  hparams:
{block(hparams, 4)}
data:
  store: {tmp_path / "store"}
  options:
{block(options, 4)}
train:
{block(train, 2)}
"""
    if search:
        text += f"search:\n{block(search, 2)}\n"
    path = tmp_path / "experiment.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, text: str) -> int:
    """The (1-based) line of the first line of ``path`` that contains ``text``."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def load_warnings(path: Path) -> list:
    """The experiment's warnings (problems), failing on any error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        load_experiment(path)
    return [w.message.problem for w in caught if w.category is ConfigWarning]


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    return caught.value


# -- options of another family -------------------------------------------------------------


@pytest.mark.parametrize(
    "model, hparams",
    [("exatrkx_embedding", "emb_hidden: 16"), ("exatrkx_filter", "hidden: 16"),
     ("exatrkx_gnn", "hidden: 16")],
)  # fmt: skip
def test_node2node_is_an_error_for_every_exatrkx_stage(tmp_path, model, hparams):
    path = experiment_file(
        tmp_path, model, hparams, options="true_edges: layerwise\nnode2node: eom"
    )
    (problem,) = load_error(path).problems
    assert problem.path == "data.options.node2node"
    assert problem.line == line_of(path, "node2node: eom")
    assert "HyperTrack" in problem.message and "no Exa.TrkX stage reads it" in problem.message


def test_searching_node2node_is_an_error_too(tmp_path):
    path = experiment_file(
        tmp_path, "exatrkx_gnn", "hidden: 16",
        search="data.options.node2node: {choices: [eom, hyper]}",
    )  # fmt: skip
    problems = load_error(path).problems
    assert {p.path for p in problems} == {
        "search.data.options.node2node.choices[0]",
        "search.data.options.node2node.choices[1]",
    }
    assert all(p.line == line_of(path, "node2node: {choices") for p in problems)


# -- dormant under the regime: warnings ------------------------------------------------------

DORMANT = [
    # (model, hparams, the dormant key, what the warning names as needed)
    ("exatrkx_embedding", "cell_channels: 3\nregime: [rp, hnm, norm]", "cell_channels",
     "the regime keyword ci"),
    ("exatrkx_embedding", "randomisation: 2.0\nregime: [hnm, norm]", "randomisation",
     "the regime keyword rp"),
    ("exatrkx_embedding", "randomization: 2.0\nregime: [hnm, norm]", "randomization",
     "the regime keyword rp"),
    ("exatrkx_embedding", "r_train: 0.2\nregime: [rp, norm]", "r_train",
     "the regime keyword hnm"),
    ("exatrkx_embedding", "knn: 20\nregime: [rp, norm]", "knn", "the regime keyword hnm"),
    ("exatrkx_embedding", "knn: 20\nregime: [rp, hnm, low_purity, norm]", "knn",
     "the regime keyword hnm and none of low_purity"),
    ("exatrkx_gnn", "input_graph: stored\nphi_slope_max: 0.001", "phi_slope_max",
     "input_graph: geometric"),
    ("exatrkx_gnn", "input_graph: stored\nz0_max: 200", "z0_max", "input_graph: geometric"),
    ("exatrkx_gnn", "input_graph: stored\ndeta_max: 0.5", "deta_max", "input_graph: geometric"),
    ("exatrkx_gnn", "input_graph: stored\nlayer_pairs: [[802, 804]]", "layer_pairs",
     "input_graph: geometric"),
]  # fmt: skip


@pytest.mark.parametrize("model, hparams, key, needed", DORMANT, ids=lambda v: str(v)[:24])
def test_a_value_dormant_under_the_regime_is_a_warning_with_its_line(
    tmp_path, model, hparams, key, needed
):
    path = experiment_file(tmp_path, model, hparams)
    (warning,) = load_warnings(path)
    assert warning.path == f"model.hparams.{key}"
    assert warning.line == line_of(path, f"{key}:")
    assert f"{key} is dormant: it acts only with {needed}" in warning.message


@pytest.mark.parametrize(
    "model, hparams",
    [
        ("exatrkx_embedding", "cell_channels: 0\nregime: [hnm, norm]"),  # 0: no cells, as used
        ("exatrkx_embedding", "cell_channels: 3\nregime: [ci, rp, hnm, norm]"),
        ("exatrkx_embedding", "randomisation: 2.0\nr_train: 0.2\nknn: 20\nregime: [rp, hnm]"),
        ("exatrkx_embedding", "r_train: 0.2\nregime: [hnm, low_purity]"),
        ("exatrkx_gnn", "phi_slope_max: 0.001\nz0_max: 200\nlayer_pairs: [[802, 804]]"),
    ],
)
def test_settings_that_act_give_no_warning(tmp_path, model, hparams):
    assert load_warnings(experiment_file(tmp_path, model, hparams)) == []


# -- searches that vary a dormant value: errors ---------------------------------------------

DORMANT_SEARCHES = [
    # (hparams, search, the error's search key, where the dormant regime comes from)
    ("regime: [hnm, norm]", "randomisation: {low: 0.5, high: 3.0}", "randomisation",
     "(model.hparams.regime)"),
    ("regime: [rp, hnm, norm]",
     "randomisation: {low: 0.5, high: 3.0}\nregime: {choices: [[rp, hnm, norm], [hnm, norm]]}",
     "randomisation", "(search.regime.choices[1])"),
    ("regime: [rp, hnm, norm]",
     "randomisation: {low: 0.5, high: 3.0}\nregime.rp: {choices: [true, false]}",
     "randomisation", "with search.regime.rp: False"),
    ("regime: [rp, norm]", "knn: {choices: [10, 20]}", "knn", "(model.hparams.regime)"),
    ("regime: [rp, hnm, norm]", "cell_channels: {choices: [3, 9]}", "cell_channels",
     "(model.hparams.regime)"),
]  # fmt: skip


@pytest.mark.parametrize("hparams, search, key, origin", DORMANT_SEARCHES)
def test_a_search_that_varies_a_dormant_value_is_an_error(tmp_path, hparams, search, key, origin):
    path = experiment_file(tmp_path, "exatrkx_embedding", hparams, search=search)
    (problem,) = load_error(path).problems
    assert problem.path == f"search.{key}"
    assert problem.line == line_of(path, f"  {key}: {{")
    assert f"the search varies {key}, but {key} acts only with" in problem.message
    assert origin in problem.message


def test_a_search_of_the_gnn_windows_with_a_stored_graph_is_an_error(tmp_path):
    path = experiment_file(
        tmp_path, "exatrkx_gnn", "hidden: 16",
        search="phi_slope_max: {low: 0.0005, high: 0.002}\n"
               "input_graph: {choices: [geometric, stored]}",
    )  # fmt: skip
    (problem,) = load_error(path).problems
    assert problem.path == "search.phi_slope_max"
    assert problem.line == line_of(path, "phi_slope_max: {")
    assert "input_graph is stored (search.input_graph.choices[1])" in problem.message


def test_a_search_where_the_value_always_acts_is_valid(tmp_path):
    path = experiment_file(
        tmp_path, "exatrkx_embedding", "regime: [rp, hnm, norm]",
        search="randomisation: {low: 0.0, high: 3.0}\nknn: {choices: [50, 100]}\n"
               "regime.query_noise_points: {choices: [false, true]}",
    )  # fmt: skip
    assert load_warnings(path) == []


# -- training settings of another optimizer or scheduler: errors ------------------------------


@pytest.mark.parametrize(
    "train, key",
    [
        ("scheduler: {name: none, patience: 5}", "scheduler.patience"),
        ("scheduler: {name: none, factor: 0.5}", "scheduler.factor"),
        ("scheduler: {name: none, min_lr: 1.0e-5}", "scheduler.min_lr"),
        ("optimizer: {name: adam, momentum: 0.9}", "optimizer.momentum"),
        ("optimizer: {name: adamw, momentum: 0.9}", "optimizer.momentum"),
        ("optimizer: {name: sgd, betas: [0.9, 0.99]}", "optimizer.betas"),
    ],
)
def test_a_training_setting_its_optimizer_or_scheduler_lacks_is_an_error(tmp_path, train, key):
    path = experiment_file(tmp_path, "exatrkx_gnn", "hidden: 16", train=train)
    (problem,) = load_error(path).problems
    assert problem.path == f"train.{key}"
    assert problem.line == line_of(path, train.split(":")[0] + ":")
    name = key.split(".")[1]
    assert name in problem.message and ("not a setting" in problem.message
                                        or "unknown key" in problem.message)  # fmt: skip


# -- what `raytrack validate` prints ----------------------------------------------------------


def test_raytrack_validate_lists_errors_and_warnings_with_their_lines(tmp_path, capsys):
    path = experiment_file(
        tmp_path, "exatrkx_embedding", "randomisation: 2.0\nregime: [hnm, norm]",
        options="true_edges: layerwise\nnode2node: hyper",
    )  # fmt: skip
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    error = f"{path}:{line_of(path, 'node2node')}: data.options.node2node: node2node is HyperTrack"
    warning = (
        f"{path}:{line_of(path, 'randomisation')}: model.hparams.randomisation: warning: "
        "randomisation is dormant"
    )
    assert error in out and warning in out
    path.write_text(path.read_text().replace("    node2node: hyper\n", ""))
    main(["validate", str(path)])  # the store is absent: that is its only problem now
    out = capsys.readouterr().out
    assert warning in out and "node2node" not in out and "no sample store" in out


def test_shipped_exatrkx_experiments_have_no_dormant_settings():
    root = Path(__file__).resolve().parents[3]
    shipped = [
        *(root / "search_spaces").glob("exatrkx*.yaml"),
        root / "search_spaces/quickstart.yaml",
    ]
    for path in sorted(shipped):
        assert load_warnings(path) == [], path.name


@pytest.mark.parametrize(
    "options, error",
    [("pt_background_cut: 1.0\nnoise: true", True), ("pt_background_cut: 1.0\nnoise: false", False),
     ("pt_background_cut: 1.0", False), ("pt_background_cut: 0.0\nnoise: true", False)],
)  # fmt: skip
def test_noise_asked_for_beside_a_background_cut_is_an_error(tmp_path, options, error):
    path = experiment_file(tmp_path, "exatrkx_filter", "hidden: 16", options=options)
    if not error:
        assert load_warnings(path) == []
        return
    (problem,) = load_error(path).problems
    assert problem.path == "data.options.noise" and problem.line == line_of(path, "noise: true")
    assert "removes the noise hits too" in problem.message
