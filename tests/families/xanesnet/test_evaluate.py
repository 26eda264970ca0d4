"""The xanes_spectra evaluator on real held-out Fe structures: figures, baselines, tests, plot,
ensembles, and the stores it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raytrack.families.xanesnet.baselines import mean_baseline, nearest_neighbour, paired_test
from raytrack.families.xanesnet.spectrum_figures import edge_positions, peak_positions
from raytrack.pipeline.evaluate import evaluate_checkpoint
from tests.families.xanesnet.conftest import TINY_SIZES, build, train_locally

PNG = b"\x89PNG\r\n\x1a\n"
HPARAMS = {**TINY_SIZES, "hidden_size": 16, "num_hidden_layers": 2}


@pytest.fixture(scope="module")
def trained(tiny_fe_store, tmp_path_factory):
    """Two tiny MLPs (seeds 0 and 1) trained 3 epochs, as two trials of one sweep directory."""
    sweep = tmp_path_factory.mktemp("sweep")
    checkpoints = []
    for seed in (0, 1):
        _, session = train_locally(tiny_fe_store, "mlp", {**HPARAMS, "weight_init_seed": seed},
                                   sweep / f"trial_{seed}", epochs=3)  # fmt: skip
        checkpoints.append(str(session.checkpoints[-1]))
    pd.DataFrame({"trial_id": ["a", "b"], "checkpoint": checkpoints}).to_parquet(
        sweep / "trials.parquet"
    )
    return checkpoints


def test_edges_and_peaks_of_known_spectra():
    energy = np.arange(10.0)
    spectra = np.array([[0, 0, 0, 1, 2, 3, 2, 2, 2, 2], [0, 1, 1, 1, 1, 1, 1, 4, 1, 1.0]])
    assert list(edge_positions(energy, spectra)) == [
        3.0,
        6.0,
    ]  # steepest rise (central differences)
    assert list(peak_positions(energy, spectra)) == [5.0, 7.0]


def test_baselines_and_the_paired_test():
    train_x = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 100.0]])
    train_y = np.array([[1.0], [2.0], [3.0]])
    assert np.allclose(mean_baseline(train_y, 2), [[2.0], [2.0]])
    # standardised per feature: (9, 1) is nearest to (10, 0), (1, 90) to (0, 100)
    assert list(nearest_neighbour(train_x, np.array([[9.0, 1.0], [1.0, 90.0]]))) == [1, 2]
    better = paired_test(np.array([0.1, 0.2, 0.1, 0.15]), np.array([0.5, 0.6, 0.4, 0.7]))
    assert better["t_p"] < 0.01 and better["wilcoxon_p"] == pytest.approx(1 / 16)
    worse = paired_test(np.array([0.5, 0.6, 0.4, 0.7]), np.array([0.1, 0.2, 0.1, 0.15]))
    assert worse["t_p"] > 0.99 and worse["mean_difference"] > 0


def test_evaluation_of_held_out_structures(trained, tiny_fe_test_store, tmp_path):
    plot = tmp_path / "plots" / "spectra.png"
    name, evaluation = evaluate_checkpoint(trained[0], tiny_fe_test_store,
                                           settings={"plot": str(plot), "plot_items": 4})  # fmt: skip
    summary = evaluation.summary
    assert name == "xanes_spectra" and summary["samples"] == 10 and summary["ensemble"] == 1
    for key in ("mse", "mae", "mse_mean_baseline", "mse_nn_baseline", "p_mean_t", "p_nn_wilcoxon",
                "edge_error_ev_mean", "peak_error_ev_mean", "edge_error_ev_nn_baseline"):  # fmt: skip
        assert np.isfinite(summary[key]), key
    assert isinstance(summary["beats_mean_baseline"], bool)
    per_item = evaluation.per_item
    assert list(per_item["stem"])[0] == "ACOMUA_C36H39FeP6(1+)" and len(per_item) == 10
    assert np.allclose(
        per_item["edge_error_ev"], per_item["edge_predicted_ev"] - per_item["edge_true_ev"]
    )
    assert plot.read_bytes().startswith(PNG) and summary["plot"] == str(plot.resolve())
    written = evaluation.write(tmp_path / "out", prefix=name)
    assert (written / "xanes_spectra_spectra.png").read_bytes().startswith(PNG)
    per_point = pd.read_csv(written / "xanes_spectra_per_point.csv")
    assert len(per_point) == 24 and per_point["energy_ev"].iloc[0] == pytest.approx(7100.0)


def test_raytrack_evaluate_writes_the_plot(trained, tiny_fe_test_store, tmp_path, capsys):
    from raytrack.cli import main

    assert main(["evaluate", trained[0], str(tiny_fe_test_store), "--out", str(tmp_path)]) == 0
    assert "edge_error_ev_mean" in capsys.readouterr().out
    assert (tmp_path / "xanes_spectra_spectra.png").read_bytes().startswith(PNG)


def test_an_ensemble_of_the_sweeps_best_trials(trained, tiny_fe_test_store):
    _, one = evaluate_checkpoint(trained[0], tiny_fe_test_store)
    _, two = evaluate_checkpoint(trained[0], tiny_fe_test_store, settings={"ensemble": 2})
    assert two.summary["ensemble"] == 2 and two.summary["mse"] != one.summary["mse"]
    with pytest.raises(ValueError, match="ensemble: 3 models asked, but the sweep .* has 2"):
        evaluate_checkpoint(trained[0], tiny_fe_test_store, settings={"ensemble": 3})


def test_a_store_built_otherwise_is_refused_naming_what_differs(
    trained, fe_dir, fe_stores, tmp_path
):
    shifted = build(tmp_path / "shifted", path=str(fe_dir), xyz_path="xyz_test",
                    xanes_path="xanes_test", e_min=7101.0, e_max=7161.0, n_points=24,
                    descriptor={"type": "wacsf", "params": {"n_g2": 4, "n_g4": 4}})  # fmt: skip
    with pytest.raises(ValueError, match="was built with grid .* but the model was trained on"):
        evaluate_checkpoint(trained[0], shifted)
    with pytest.raises(ValueError, match="model.hparams.n_descriptor is 9, but the store"):
        evaluate_checkpoint(trained[0], fe_stores["test"])
