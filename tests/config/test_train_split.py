"""``data.train_split``: the Exa.TrkX reference's sample counts, mapped onto the platform's split."""

from __future__ import annotations

import pytest

from raytrack.config import ConfigError, load_experiment
from raytrack.config.schema import DataSection
from raytrack.data.build import splits_of
from raytrack.store.sample_store import SampleStore
from raytrack.store.stream import split_ids


@pytest.mark.parametrize(
    "counts",
    [(80, 10, 10), (900, 50, 50), (100, 25, 25), (1000, 10, 10), (250, 20, 10), (7, 2, 1),
     (3, 3, 3), (400, 50, 0)],
)  # fmt: skip
def test_counts_become_exactly_these_counts_of_the_first_samples(counts):
    data = DataSection(store="s", train_split=list(counts))
    assert data.max_events == sum(counts)
    assert data.split == pytest.approx(tuple(c / sum(counts) for c in counts))
    store_ids = list(range(5000, 5000 + 2 * sum(counts)))  # more samples than asked for
    first = store_ids[: data.max_events]
    parts = split_ids(first, data.split, data.split_seed)
    assert tuple(len(p) for p in parts) == counts
    assert sorted(sum(parts, [])) == first


def test_the_reference_grid_form_holds_one_split():
    assert DataSection(store="s", train_split=[[80, 10, 10]]).train_split == (80, 10, 10)
    with pytest.raises(ValueError, match="run one sweep per split"):
        DataSection(store="s", train_split=[[500, 20, 20], [1300, 20, 20]])


def test_a_dumped_section_reads_back_equal():
    data = DataSection(store="s", train_split=[80, 10, 10])
    dumped = data.model_dump(mode="json")
    assert dumped["train_split"] == [80, 10, 10] and "split" not in dumped  # counts only
    assert DataSection.model_validate(dumped) == data
    changed = DataSection.model_validate({**dumped, "train_split": [50, 5, 5]})
    assert changed.max_events == 60 and changed.split == pytest.approx((50 / 60, 5 / 60, 5 / 60))


@pytest.mark.timeout(120)
def test_splits_of_a_real_store(simulated_store):
    store = SampleStore(simulated_store(12, seed=3, rfactor=0.001))
    splits = splits_of(DataSection(store=str(store.path), train_split=[8, 2, 1]), store)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (8, 2, 1)
    assert set(splits.train + splits.val + splits.test) <= set(list(store.ids())[:11])
    with pytest.raises(ValueError, match=r"train_split \[10, 2, 1\] needs 13 samples.*holds 12"):
        splits_of(DataSection(store=str(store.path), train_split=[10, 2, 1]), store)


@pytest.mark.parametrize(
    "extra, message",
    [("split: [0.5, 0.5, 0.0]", "train_split [80, 10, 10] and split [0.5, 0.5, 0.0] disagree"),
     ("max_events: 50", "uses the first 100 samples, but max_events is 50"),
     ("", None)],
)  # fmt: skip
def test_train_split_in_an_experiment_file(tmp_path, extra, message):
    path = tmp_path / "e.yaml"
    path.write_text(
        "name: e\nmodel:\n  name: exatrkx_gnn\n  hparams: {hidden: 8}\n"
        f"data:\n  store: s\n  train_split: [80, 10, 10]\n  {extra}\n"
    )
    if message is None:
        experiment = load_experiment(path)
        assert experiment.data.split == pytest.approx((0.8, 0.1, 0.1))
        assert experiment.data.max_events == 100
        return
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    (problem,) = caught.value.problems
    assert problem.path == "data.train_split" and problem.line == 7
    assert message in problem.message
