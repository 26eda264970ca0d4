"""Every mode trains in both directions on the real Fe set (one epoch, tiny sizes) through the
one training loop; k-fold, the GAN's two optimizers, scaling, checks and the pipeline stage."""

from __future__ import annotations

import pytest
import torch

from raytrack.registry import get_model
from raytrack.store.sample_store import SampleStore
from raytrack.tasks.base import TaskContext
from tests.families.xanesnet.conftest import TINY_SIZES, train_locally

TINY = {
    "mlp": {"hidden_size": 8, "num_hidden_layers": 2},
    "cnn": {"hidden_size": 8, "out_channel": 2, "num_conv_layers": 2},
    "lstm": {"hidden_size": 4, "hidden_out_size": 4},
    "ae_mlp": {"hidden_size": 8, "num_hidden_layers": 2},
    "ae_cnn": {"hidden_size": 8, "out_channel": 2, "num_conv_layers": 2},
    "aegan_mlp": {"hidden_size": 8, "n_hl_gen": 1, "n_hl_shared": 1, "n_hl_dis": 1},
}


@pytest.mark.parametrize("direction", ["xyz_to_xanes", "xanes_to_xyz"])
@pytest.mark.parametrize("mode", list(TINY))
def test_every_mode_trains_one_epoch_in_both_directions(mode, direction, tiny_fe_store, tmp_path):
    hparams = {**TINY_SIZES, **TINY[mode], "direction": direction, "weight_init_seed": 0}
    metrics, session = train_locally(tiny_fe_store, mode, hparams, tmp_path / "run")
    assert metrics["epoch"] == 1 and metrics["train_items"] == 79
    for name in ("train_loss", "val_loss", "val_mse", "val_mae", "val_cv_mse"):
        assert metrics[name] == metrics[name] and metrics[name] >= 0  # finite, not NaN
    assert metrics["val_cv_mse"] == metrics["val_mse"]  # without kfold: the validation split's
    if mode == "aegan_mlp":
        assert {"lr_generator", "lr_discriminator", "train_loss_adversarial"} <= set(metrics)
    if mode.startswith("ae_"):
        assert metrics["val_loss"] == pytest.approx(
            metrics["val_prediction"] + metrics["val_reconstruction"]
        )
    assert len(session.checkpoints) == 1


def test_kfold_trains_fold_members_and_reports_the_fold_average(tiny_fe_store, tmp_path):
    hparams = {**TINY_SIZES, **TINY["mlp"], "kfold": True, "n_splits": 3, "weight_init_seed": 0}
    metrics, session = train_locally(tiny_fe_store, "mlp", hparams, tmp_path / "run", epochs=2)
    assert metrics["val_cv_mse"] != metrics["val_mse"]  # held-out folds, not the validation split
    assert all(r["val_cv_mse"] > 0 for r in session.reports)
    state = torch.load(session.checkpoints[-1] / "state.pt", weights_only=True)["model"]
    assert {key.split(".")[1] for key in state} == {"0", "1", "2"}  # members.<m>...


def test_kfold_needs_one_worker(tiny_fe_store):
    _, task = get_model("mlp").build({**TINY_SIZES, **TINY["mlp"], "kfold": True})
    ids = SampleStore(tiny_fe_store).ids()
    context = TaskContext(str(tiny_fe_store), {"train": ids[:80], "val": ids[80:]}, world_size=2)
    with pytest.raises(ValueError, match="set train.workers: 1"):
        task.setup(context)


def test_the_gan_steps_both_optimizers(tiny_fe_store, tmp_path):
    hparams = {**TINY_SIZES, **TINY["aegan_mlp"], "weight_init_seed": 0}
    _, session = train_locally(tiny_fe_store, "aegan_mlp", hparams, tmp_path / "run")
    model, _ = get_model("aegan_mlp").build(hparams)
    trained = torch.load(session.checkpoints[-1] / "state.pt", weights_only=True)["model"]
    for prefix in ("gen_a.", "shared_encoder.", "dis_a.", "dis_b."):
        key = next(k for k in trained if k.startswith(prefix) and k.endswith("weight"))
        assert not torch.equal(trained[key], model.state_dict()[key]), key


def _context(store):
    ids = SampleStore(store).ids()
    return TaskContext(str(store), {"train": ids[:80], "val": ids[80:]})


def test_rows_of_another_kind_of_store_are_a_clear_error():
    _, task = get_model("mlp").build(TINY_SIZES)
    with pytest.raises(ValueError, match=r"reads rows of xyz_xanes stores, but this row has no"):
        task.prepare({"event_id": 0, "x": [1.0]})


def test_sizes_that_differ_from_the_store_name_the_hyperparameter(tiny_fe_store):
    _, task = get_model("mlp").build({"n_descriptor": 10, "n_points": 24})
    with pytest.raises(
        ValueError, match=r"model.hparams.n_descriptor is 10, .* set n_descriptor: 9"
    ):
        task.setup(_context(tiny_fe_store))


def test_bce_needs_targets_in_the_unit_interval(tiny_fe_store, fe_stores):
    _, task = get_model("mlp").build({**TINY_SIZES, "loss_fn": "bce"})
    with pytest.raises(
        ValueError, match=r"loss_fn: bce needs targets in \[0, 1\], but the training"
    ):
        task.setup(_context(tiny_fe_store))  # raw Fe spectra peak above 1
    _, task = get_model("mlp").build({**TINY_SIZES, "loss_fn": "bce", "direction": "xanes_to_xyz"},
                                     {"standardise_descriptor": True})  # fmt: skip
    with pytest.raises(ValueError, match="standardise_descriptor scales the descriptor"):
        task.setup(_context(tiny_fe_store))


def test_scaling_is_fitted_on_the_training_split_and_kept(tiny_fe_store):
    _, task = get_model("mlp").build(TINY_SIZES, {"standardise_spectrum": True})
    task.setup(_context(tiny_fe_store))
    state = task.state_dict()
    assert state["scaler"]["kinds"] == ["descriptor", "spectrum"]
    assert state["data"]["grid"] == {"e_min": 7100.0, "e_max": 7160.0, "n_points": 24}
    sample = task.prepare(SampleStore(tiny_fe_store).row(0))
    _, fresh = get_model("mlp").build(TINY_SIZES)
    fresh.load_state_dict(state)
    assert (
        fresh.prepare(SampleStore(tiny_fe_store).row(0))["spectrum"] == sample["spectrum"]
    ).all()


@pytest.mark.parametrize(
    "hparams",
    [{"loss_fn": fn} for fn in ("bce", "emd", "cosine", "l1", "wcc")]
    + [{"loss_fn": "wcc", "loss_args": 3.0}, {"loss_reg_type": "L1"}, {"loss_reg_type": "L2"},
       {"loss_reg_type": "L2", "loss_reg_param": 0.1}],
    ids=str,
)  # fmt: skip
def test_every_loss_and_regulariser_changes_the_training_loss(hparams, tiny_fe_store):
    def loss_of(extra):
        model, task = get_model("mlp").build(
            {**TINY_SIZES, **TINY["mlp"], "weight_init_seed": 0, **extra}
        )
        rows = list(SampleStore(tiny_fe_store).iter_rows(ids=range(8)))
        batch = task.collate([task.prepare(r) for r in rows])
        return task.training_step(model.train(), batch)["loss"].item()

    torch.manual_seed(0)
    default = loss_of({})
    torch.manual_seed(0)
    assert loss_of(hparams) != pytest.approx(default, rel=1e-6)


def test_infer_writes_each_prediction_as_a_stage_output(tiny_fe_store, tmp_path):
    from raytrack.pipeline.infer import infer_store

    hparams = {**TINY_SIZES, **TINY["mlp"], "weight_init_seed": 0}
    _, session = train_locally(tiny_fe_store, "mlp", hparams, tmp_path / "run")
    out = infer_store(session.checkpoints[-1], tiny_fe_store, tmp_path / "predicted")
    row = out.row(0)
    assert row["predicted_spectrum"].shape == (24,) and row["stem"] == "ABEMAX_C33H60FeN4Si4"
    assert len(out) == 99


def test_folds_are_balanced_and_each_sample_is_held_out_once_per_repeat():
    from raytrack.families.xanesnet.kfold import FoldAssignment

    folds = FoldAssignment(range(10), n_splits=3, n_repeats=2, seed=0)
    ids = torch.arange(10)
    held = torch.stack([folds.fold_of(ids, m) for m in range(folds.members)])  # (6, 10)
    assert sorted(held[:3].sum(1).tolist()) == [3, 3, 4]
    assert (held[:3].sum(0) == 1).all() and (held[3:].sum(0) == 1).all()
    assert not torch.equal(held[:3], held[3:])  # the second repeat deals other folds
    with pytest.raises(ValueError, match="n_splits=5 folds need at least as many"):
        FoldAssignment(range(3), n_splits=5, n_repeats=1, seed=0)
