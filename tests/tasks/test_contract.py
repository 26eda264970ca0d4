"""The task contract (:mod:`raytrack.tasks.contract`) holds for every installed model.

Every model of every family an installed package declares (raytrack's own and any plug-in's
entry point) runs every check; plug-ins named in ``plugins:`` are checked the same way in
``tests/plugin``.
"""

from __future__ import annotations

import pytest

from raytrack.registry import get_model, installed_families
from raytrack.tasks.contract import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", sorted(m.name for f in installed_families() for m in f.models))
def test_every_registered_model_keeps_the_contract(name: str, check) -> None:
    check(get_model(name))


def test_the_contract_catches_a_task_that_breaks_it() -> None:
    """A task whose statistics are means (not sums) fails the additivity check."""
    import torch

    from raytrack.family import ContractExample, Family, ModelSpec
    from raytrack.registry import register_family, unregister_family
    from raytrack.tasks.base import Task
    from raytrack.tasks.contract import check_summarize, check_validation_is_additive

    class MeanTask(Task):
        metrics = ("loss", "error")

        def prepare(self, row):
            return torch.tensor([row["x"]], dtype=torch.float32)

        def collate(self, samples):
            return torch.stack(samples)

        def training_step(self, model, batch):
            return model(batch).pow(2).mean()

        def validation_step(self, model, batch):
            return {"loss": model(batch).pow(2).mean()}  # a mean: halves do not add up

        def summarize(self, totals):
            return {"loss": float(totals["loss"])}  # and "error" is missing

    rows = [{"sample_id": i, "x": float(i)} for i in range(4)]
    spec = ModelSpec("mean_model", lambda: torch.nn.Linear(1, 1), MeanTask,
                     example=lambda: ContractExample({}, rows))  # fmt: skip
    register_family(Family("broken", models=(spec,)))
    try:
        with pytest.raises(AssertionError, match="'loss' is not additive"):
            check_validation_is_additive(get_model("mean_model"))
        with pytest.raises(
            AssertionError, match=r"summarize returned \['loss'\], but the task declares"
        ):
            check_summarize(get_model("mean_model"))
    finally:
        unregister_family("broken")
