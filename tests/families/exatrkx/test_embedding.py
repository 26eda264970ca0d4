"""The Exa.TrkX embedding stage: model, regimes, training pairs, loss, metrics, loop, infer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raytrack.config.schema import Experiment
from raytrack.families.exatrkx.embedding import LayerlessEmbedding
from raytrack.families.exatrkx.embedding_task import EmbeddingTask
from raytrack.families.exatrkx.neighbors import radius_knn
from raytrack.families.tracking.event import CELL_COLUMNS, Event
from raytrack.registry import get_model
from raytrack.train.loop import run_training
from raytrack.train.session import LocalSession
from tests.conftest import simulated_events
from tests.families.tracking.test_truth import make_event, straight_track

OPTIONS = {"pt_signal_cut": 1.0, "true_edges": "layerwise"}


def with_cylindrical(event: Event) -> Event:
    hits = dict(event.hits)
    hits["r"] = np.hypot(hits["x"], hits["y"]).astype(np.float32)
    hits["phi"] = np.arctan2(hits["y"], hits["x"]).astype(np.float32)
    return Event(event.event_id, hits, event.particles)


@pytest.fixture
def noisy_event() -> Event:
    """Tracks of 6 (pT 2), 5 (pT 3) and 4 (pT 0.5) hits, and 4 noise hits."""
    hits = straight_track(11, 6, 0.3) + straight_track(22, 5, 2.0) + straight_track(33, 4, -1.5)
    hits += [
        (0, 5.0, 5.0, 1.0, 8, 2, 9),
        (0, -30.0, 1.0, 2.0, 8, 6, 9),
        (0, 0.0, 40.0, -3.0, 8, 8, 9),
        (0, 25.0, -25.0, 4.0, 8, 10, 9),
    ]
    particles = [(11, 0, 0, 0, 2.0), (22, 0, 0, 0, 3.0), (33, 0, 0, 0, 0.5)]
    return with_cylindrical(make_event(hits, particles))


def build(regime=("rp", "hnm", "norm"), options=OPTIONS, **hparams):
    hp = {"emb_hidden": 32, "nb_layer": 2, "emb_dim": 4, "regime": list(regime), **hparams}
    return get_model("exatrkx_embedding").build(hp, options)


def test_registered_with_the_reference_hyperparameter_names():
    entry = get_model("exatrkx_embedding")
    assert entry.family == "exatrkx" and entry.task is EmbeddingTask
    names = set(entry.hyperparameters())
    assert {
        "spatial_channels",
        "cell_channels",
        "emb_hidden",
        "emb_dim",
        "nb_layer",
        "activation",
        "layernorm",
        "margin",
        "weight",
        "points_per_batch",
        "randomisation",
        "randomization",
        "r_train",
        "knn",
        "r_val",
        "knn_val",
        "r_test",
        "knn_test",
        "regime",
    } <= names
    _, task = build(randomization=3.0)
    assert task.randomisation == 3.0
    with pytest.raises(ValueError, match="alias"):
        build(randomisation=2.0, randomization=3.0)
    with pytest.raises(ValueError, match=r"regime\.1\n  Input should be 'ci'"):
        build(regime=("rp", "subset"))
    with pytest.raises(ValueError, match="low_purity .* needs hnm"):
        build(regime=("rp", "low_purity"))


def test_norm_regime_gives_unit_vectors():
    x = torch.randn(50, 3)
    normed = LayerlessEmbedding(emb_hidden=16, emb_dim=6, nb_layer=2, regime=("norm",))(x)[
        "embedding"
    ]
    plain = LayerlessEmbedding(emb_hidden=16, emb_dim=6, nb_layer=2, regime=())(x)["embedding"]
    assert normed.shape == (50, 6)
    assert torch.allclose(normed.norm(dim=1), torch.ones(50), atol=1e-5)
    assert not torch.allclose(plain.norm(dim=1), torch.ones(50), atol=1e-2)


def test_ci_regime_feeds_cell_features_and_fails_clearly_without_them(noisy_event):
    model, task = build(regime=("ci", "hnm"), cell_channels=4)
    assert model.in_channels == 3 + 4
    with pytest.raises(KeyError, match="cell_channels=4 needs the hit column 'cell_count'"):
        task.prepare(noisy_event.to_row())
    hits = dict(noisy_event.hits)
    hits.update(
        {
            name: np.full(noisy_event.num_hits, i + 1.0, np.float32)
            for i, name in enumerate(CELL_COLUMNS)
        }
    )
    x = task.prepare(Event(1, hits, noisy_event.particles).to_row())["x"]
    assert x.shape == (noisy_event.num_hits, 7) and np.all(x[:, :4] == [1, 2, 3, 4])
    assert model(torch.as_tensor(x))["embedding"].shape == (noisy_event.num_hits, 4)
    plain_model, plain_task = build(regime=("hnm",), cell_channels=4)  # no ci: cells unused
    assert (
        plain_model.in_channels == 3 and plain_task.prepare(noisy_event.to_row())["x"].shape[1] == 3
    )
    with pytest.raises(ValueError, match="ci .* needs cell_channels >= 1"):
        build(regime=("ci",), cell_channels=0)
    with pytest.raises(ValueError, match=r"expects \(N, 7\)"):
        model(torch.zeros(5, 3))


def queries_of(regime, event, **kw) -> set[int]:
    _, task = build(regime=regime, **kw)
    sample = task.prepare(event.to_row())
    positives = torch.as_tensor(sample["truth"][:, sample["signal"]])
    return set(task.query_points(positives, torch.as_tensor(sample["noise"])).tolist())


def test_query_regimes(noisy_event):
    pid = noisy_event.hits["particle_id"]
    noise = set(np.flatnonzero(pid == 0).tolist())
    signal = set(np.flatnonzero((pid == 11) | (pid == 22)).tolist())  # pT > 1 GeV
    assert queries_of(("hnm",), noisy_event) == signal
    # query_noise_points: the noise hits are queried too (the reference code: noise + signal)
    assert queries_of(("hnm", "query_noise_points"), noisy_event) == noise | signal
    assert queries_of(("hnm", "query_all_points"), noisy_event) == set(range(noisy_event.num_hits))
    few = queries_of(("hnm", "query_noise_points"), noisy_event, points_per_batch=5)
    assert len(few) == 5 and few <= noise | signal


def test_hnm_pairs_are_the_embedding_neighbourhood_of_the_queries():
    _, task = build(regime=("hnm",), r_train=0.3, knn=4)
    g = torch.Generator().manual_seed(0)
    spatial = torch.rand(60, 3, generator=g)
    queries = torch.tensor([3, 10, 33, 59])
    pairs = task.candidate_pairs(spatial, queries, 60)
    expected, _ = radius_knn(
        spatial[queries], spatial, 0.3, 4, query_index=queries, backend="torch"
    )
    assert pairs.shape[1] > 4
    assert {tuple(p) for p in pairs.t().tolist()} == {tuple(p) for p in expected.t().tolist()}
    assert bool(((spatial[pairs[0]] - spatial[pairs[1]]).norm(dim=1) <= 0.3).all())
    _, lp_task = build(regime=("hnm", "low_purity"), r_train=0.3)
    low = lp_task.candidate_pairs(spatial, torch.arange(60), 60)
    assert low.shape[1] == int(0.3 * 60)  # the reference keeps int(r_train * n_queries) pairs
    # low_purity searches 500 neighbours, not knn: 2 queries x 59 hits in reach, 40 kept
    _, lp_few = build(regime=("hnm", "low_purity"), r_train=20.0, knn=3)
    wide = lp_few.candidate_pairs(spatial, torch.tensor([0, 1]), 60)
    assert wide.shape[1] == 40 and set(wide[0].tolist()) <= {0, 1}
    _, nothing = build(regime=())
    assert nothing.candidate_pairs(spatial, queries, 60).shape[1] == 0


def test_rp_adds_random_pairs_from_the_queries():
    _, task = build(regime=("rp",), randomisation=5.0)
    torch.manual_seed(0)
    queries = torch.tensor([1, 2, 3, 4])
    pairs = task.candidate_pairs(None, queries, 1000)
    assert 15 <= pairs.shape[1] <= 20  # 5 per query, less self and repeated pairs
    assert set(pairs[0].tolist()) <= {1, 2, 3, 4}
    assert int(pairs[1].max()) > 100  # partners anywhere in the event, not near the queries


def test_loss_is_the_reference_hinge_on_the_training_pairs(noisy_event):
    model, task = build(regime=("rp", "hnm"), margin=0.5, weight=3.0, r_train=1.0)
    batch = task.collate([task.prepare(noisy_event.to_row())])
    torch.manual_seed(5)
    pairs, y, _ = task.training_pairs(model, batch)
    z = model(batch["x"])["embedding"]
    d = (z[pairs[0]] - z[pairs[1]]).pow(2).sum(1)
    expected = torch.relu(0.25 - d[~y]).mean() + 3.0 * d[y].mean()
    assert y.any() and (~y).any()
    positives = batch["truth"][:, batch["signal"]]
    assert int(y.sum()) >= 2 * positives.shape[1]  # every true pair, both directions
    torch.manual_seed(5)
    assert torch.allclose(task.training_step(model, batch), expected, atol=1e-6)


def test_validation_statistics_add_up_over_batches():
    model, task = build(r_val=0.5, knn_val=20)
    rows = [e.to_row() for e in simulated_events(2, seed=3, rfactor=0.003)]
    samples = [task.prepare(r) for r in rows]
    with torch.no_grad():
        both = task.validation_step(model, task.collate(samples))
        parts = [task.validation_step(model, task.collate([s])) for s in samples]
    summed = {k: parts[0][k] + parts[1][k] for k in both}
    assert all(torch.allclose(both[k], summed[k]) for k in both)
    metrics = task.summarize(summed)
    assert set(metrics) == set(task.metrics)
    assert 0 <= metrics["signal_efficiency"] <= 1 and metrics["edges_per_event"] > 0


def test_the_loop_trains_the_embedding(tmp_path):
    rows = {
        "train": [e.to_row() for e in simulated_events(8, seed=11)],
        "val": [e.to_row() for e in simulated_events(2, seed=12)],
    }
    experiment = Experiment.model_validate(
        {
            "name": "embedding-test",
            "model": {
                "name": "exatrkx_embedding",
                "hparams": {
                    "emb_hidden": 64,
                    "nb_layer": 2,
                    "emb_dim": 8,
                    "r_train": 0.1,
                    "knn": 20,
                    "r_val": 0.1,
                    "knn_val": 50,
                    "regime": ["rp", "hnm", "norm"],
                },
            },
            "data": {"store": "unused", "options": OPTIONS},
            "train": {
                "max_epochs": 5,
                "batch_size": 2,
                "optimizer": {"name": "adamw", "lr": 0.003},
                "seed": 1,
            },
            "tune": {"metric": "val_target_purity", "mode": "max"},
        }
    )
    model, task = get_model("exatrkx_embedding").build(
        experiment.model.hparams, experiment.data.options
    )
    torch.manual_seed(1)
    with torch.no_grad():
        before = task.summarize(
            task.validation_step(model, task.collate([task.prepare(r) for r in rows["val"]]))
        )
    session = LocalSession(lambda split, epoch: iter(rows[split]), tmp_path)
    run_training(experiment, session)
    first, last = session.reports[0], session.reports[-1]
    assert last["train_loss"] < first["train_loss"]
    assert last["val_signal_efficiency"] > before["signal_efficiency"]
    assert last["val_signal_efficiency"] > 0.9
    assert last["val_target_purity"] > max(before["target_purity"], 0.0)  # 98% now reached


def test_infer_returns_an_inner_to_outer_graph_of_the_selected_hits(noisy_event):
    model, task = build(regime=("norm",), r_val=0.5, knn_val=8, options={**OPTIONS, "noise": False})
    out = Event.from_row(task.infer(model, noisy_event.to_row()))
    assert out.num_hits == noisy_event.num_hits - 4 and (out.hits["particle_id"] != 0).all()
    src, dst, score = out.edges["src"], out.edges["dst"], out.edges["score"]
    assert src.dtype == np.int64 and score.dtype == np.float32 and src.size > 0
    assert (src >= 0).all() and (dst < out.num_hits).all() and (src != dst).all()
    r2z2 = out.hits["r"].astype(np.float64) ** 2 + out.hits["z"].astype(np.float64) ** 2
    assert (r2z2[src] <= r2z2[dst]).all()
    pairs = set(zip(np.minimum(src, dst).tolist(), np.maximum(src, dst).tolist()))
    assert len(pairs) == src.size  # every hit pair once
    assert ((score >= 0) & (score <= 1)).all()
    again = Event.from_row(out.to_row())
    assert again.edge_index.shape == (2, src.size)
