"""Training task of the Exa.TrkX filter: the stored graph, labels, training step, metrics.

:class:`FilterTask` is the ``Task`` the training loop calls; its pieces live beside it: the
model inputs and batches in :mod:`raytrack.families.exatrkx.filter_inputs`, the training-edge
sampling (hard negatives) and the loss in :mod:`raytrack.families.exatrkx.filter_training`.

The filter's input graph is the graph the previous pipeline stage stored with the event
(``Event.edges``; the embedding stage's radius graph, oriented inner → outer). Events without a
stored graph are an error: the filter never invents one (run ``raytrack infer`` with the
embedding stage first and train on the store it writes).

Per event (:meth:`FilterTask.prepare`): apply the dataset options (pT and noise selection; the
stored graph is restricted to the kept hits and renumbered), compute the hit features (the
shared :func:`~raytrack.families.exatrkx.edge_labels.node_features`: ``r/1000, φ/π, z/1000``,
preceded by ``cell_channels`` cell features under ``ci``), read ``emb_channels`` embedding
coordinates if asked, and label the edges with the shared
:func:`~raytrack.families.exatrkx.edge_labels.edge_labels`.

Training samples the edges of each event (``subset``, then ``ratio``: every true edge plus hard
and random negatives, then ``edges_per_batch``) and applies a BCE loss with ``pos_weight``,
averaged per event, then over the batch; both are described and implemented in
:mod:`raytrack.families.exatrkx.filter_training`. Target: truth-graph membership (either
direction), or, with ``pid``, "both hits belong to the same particle".

Validation scores every edge of the graph (``n_chunks`` chunks) and reports, as the reference
does, the BCE without ``pos_weight`` (with the ``weighting`` weights), per event then averaged;
the ROC AUC; efficiency and purity at ``filter_cut`` for all and for signal edges; and
``kept_fraction``, the fraction of the input edges kept. :meth:`FilterTask.infer` keeps the
edges scored above ``filter_cut`` and passes them on, with their scores, to the GNN.

Shapes: ``N`` hits, ``E`` edges of the stored graph, ``B`` events per batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.exatrkx.edge_labels import edge_labels, truth_weights
from raytrack.families.exatrkx.filter_inputs import (  # noqa: F401 (embedding_* re-exported)
    EMBEDDING_PREFIX,
    collate_graphs,
    embedding_columns,
    embedding_features,
    model_inputs,
)
from raytrack.families.exatrkx.filter_training import (
    balanced_sample,
    cap_edges,
    chunked_logits,
    event_losses,
    positive_weights,
    signal_hit_edges,
)
from raytrack.families.exatrkx.hparams import CellChannels, EmbChannels, InChannels, SpatialChannels
from raytrack.families.exatrkx.options import ExaTrkXDataOptions
from raytrack.families.tracking.edge_metrics import (
    EDGE_CLASSIFIER_METRICS,
    edge_classifier_metrics,
    edge_classifier_statistics,
)
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.event_store import GRAPH_COLUMNS
from raytrack.families.tracking.truth import apply_options
from raytrack.store.columns import Column
from raytrack.tasks.base import Row, Task

Regime = Literal["subset", "ci", "weighting", "pid"]
"""``subset``: train on edges touching signal hits; ``ci``: cell features in the input;
``weighting``: per-edge loss weights from hit weights; ``pid``: target = same particle."""

REGIMES: tuple[str, ...] = ("subset", "ci", "weighting", "pid")
NO_GRAPH = (
    "event {event_id} has no stored graph (no e_src/e_dst columns): the filter classifies the "
    "edges of the previous stage's graph; run `raytrack infer` with the embedding stage first "
    "and train the filter on the store it writes"
)


class FilterTask(Task):
    """Edge filtering of the stored graph (see the module documentation).

    Args:
        filter_cut: score above which an edge is kept (metrics, hard negatives, inference).
        ratio: negatives per true edge in training, half hard and half random; 0: every edge.
        weight: positive-class weight of the BCE loss; ``None``: ``ratio`` (or
            negatives/positives of the event when ``ratio = 0``).
        n_chunks: pieces an event's edges are scored in (validation, hard negatives, inference).
        edges_per_batch: at most this many training edges per batch (random); ``None``: all.
        regime: any of ``subset``, ``ci``, ``weighting``, ``pid`` (see :data:`Regime`).
        in_channels: the model's features per hit, checked against the two below (the name is
            shared with the model builder).
        emb_channels: embedding coordinates read from the hit columns ``emb_0 …`` (shared with
            the model builder; 0: none).
        spatial_channels: position features per hit (the first of ``r, φ, z``).
        cell_channels: cell features per hit under ``ci`` (the reference's 9 with cells).
    """

    Options = ExaTrkXDataOptions
    metrics = ("loss", *EDGE_CLASSIFIER_METRICS, "kept_fraction")
    options: ExaTrkXDataOptions

    @validate_call
    def __init__(
        self,
        *,
        filter_cut: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15,
        ratio: Annotated[float, Field(ge=0.0)] = 2.0,
        weight: Annotated[float, Field(gt=0.0)] | None = None,
        n_chunks: Annotated[int, Field(ge=1)] = 8,
        edges_per_batch: Annotated[int, Field(ge=1)] | None = None,
        regime: tuple[Regime, ...] = (),
        in_channels: InChannels = 3,
        emb_channels: EmbChannels = 0,
        spatial_channels: SpatialChannels = 3,
        cell_channels: CellChannels = 0,
    ) -> None:
        ci = "ci" in regime
        if ci and cell_channels < 1:
            raise ValueError("the ci regime puts cell features in the input: cell_channels >= 1")
        if not ci and cell_channels > 0:
            raise ValueError(
                f"cell_channels={cell_channels} without the ci regime: cell features enter the "
                f"filter's input only under ci (add ci to regime or set cell_channels: 0)"
            )
        expected = spatial_channels + (cell_channels if ci else 0)
        if in_channels != expected:
            raise ValueError(
                f"in_channels must be spatial_channels + cell_channels under ci = {expected}, "
                f"but got in_channels={in_channels}"
            )
        self.filter_cut = float(filter_cut)
        self.ratio = float(ratio)
        self.weight = None if weight is None else float(weight)
        self.n_chunks = int(n_chunks)
        self.edges_per_batch = edges_per_batch
        self.regime = tuple(regime)
        self.in_channels = in_channels
        self.emb_channels = emb_channels
        self.spatial_channels = spatial_channels
        self.cell_channels = cell_channels if ci else 0
        self.options = ExaTrkXDataOptions()

    # -- data --------------------------------------------------------------------------------

    def event_with_graph(self, row: Row) -> Event:
        """The stored event with the dataset options applied (error if it has no graph)."""
        event = Event.from_row(row)
        if event.edge_index is None:
            raise ValueError(NO_GRAPH.format(event_id=event.event_id))
        return apply_options(event, self.options)

    def inputs(self, event: Event) -> dict[str, np.ndarray]:
        """The model's inputs: ``x`` ``(N, in_channels)``, ``edge_index`` and ``emb`` if any."""
        return model_inputs(event, self.spatial_channels, self.cell_channels, self.emb_channels)

    def prepare(self, row: Row) -> dict[str, np.ndarray]:
        return self.prepare_event(self.event_with_graph(row))

    def prepare_event(self, event: Event) -> dict[str, np.ndarray]:
        """:meth:`prepare` of an event whose options are applied and which has a graph."""
        sample = self.inputs(event)
        edges = sample["edge_index"]
        y, signal = edge_labels(event, edges, self.options, pid="pid" in self.regime)
        sample.update(y=y, signal=signal)
        if "weighting" in self.regime:
            sample["edge_weight"] = truth_weights(event, edges, y)
        if "subset" in self.regime:
            sample["subset"] = signal_hit_edges(event, edges, self.options)
        return sample

    def collate(self, samples: Sequence[Mapping[str, np.ndarray]]) -> dict[str, torch.Tensor]:
        """One disjoint union of the events' graphs; ``edge_event`` gives each edge's event."""
        return collate_graphs(samples)

    # -- training ----------------------------------------------------------------------------

    def score(
        self, model: nn.Module, batch: Mapping[str, Any], index: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits of the edges ``index`` (all if None): eval mode, ``n_chunks`` chunks, no grad."""
        module = getattr(model, "module", model)  # DDP: score with the plain module, no collectives
        edges = batch["edge_index"] if index is None else batch["edge_index"][:, index]
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                return chunked_logits(module, batch["x"], edges, batch.get("emb"), self.n_chunks)
        finally:
            module.train(was_training)

    def training_edges(self, model: nn.Module, batch: Mapping[str, Any]) -> torch.Tensor:
        """Positions (in the batch) of the edges this step trains on (see
        :mod:`~raytrack.families.exatrkx.filter_training`)."""
        candidates = torch.arange(batch["y"].numel(), device=batch["y"].device)
        if "subset" in self.regime:
            candidates = candidates[batch["subset"]]
        if self.ratio > 0:
            y, event = batch["y"][candidates], batch["edge_event"][candidates]
            kept = torch.sigmoid(self.score(model, batch, candidates)) > self.filter_cut
            candidates = balanced_sample(
                candidates, y, event, kept, int(batch["num_events"]), self.ratio
            )
        return cap_edges(candidates, self.edges_per_batch)

    event_losses = staticmethod(event_losses)
    """``(B,)`` mean BCE of each event (:func:`~raytrack.families.exatrkx.filter_training.event_losses`)."""

    def training_step(self, model: nn.Module, batch: Mapping[str, Any]) -> torch.Tensor:
        index = self.training_edges(model, batch)
        n_events = int(batch["num_events"])
        logits = model(batch["x"], batch["edge_index"][:, index], batch.get("emb"))["edge_logits"]
        y, event = batch["y"][index], batch["edge_event"][index]
        weight = batch["edge_weight"][index] if "edge_weight" in batch else None
        pos_weight = positive_weights(y, event, n_events, logits.dtype, self.weight, self.ratio)
        return self.event_losses(logits, y, event, n_events, pos_weight, weight).mean()

    # -- validation ----------------------------------------------------------------------------

    def validation_step(
        self, model: nn.Module, batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        logits = self.score(model, batch).float()
        y, signal = batch["y"], batch["signal"]
        losses = self.event_losses(
            logits, y, batch["edge_event"], int(batch["num_events"]), None, batch.get("edge_weight")
        )
        scores = torch.sigmoid(logits)
        return {
            "loss_sum": losses.sum().double(),
            "events": torch.tensor(float(losses.numel()), dtype=torch.float64),
            "edges": torch.tensor(float(y.numel()), dtype=torch.float64),
            **edge_classifier_statistics(scores, y, signal, self.filter_cut),
        }

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        events, edges = float(totals["events"]), float(totals["edges"])
        return {
            "loss": float(totals["loss_sum"]) / events if events else float("nan"),
            **edge_classifier_metrics(totals),
            "kept_fraction": float(totals["counts"][1]) / edges if edges else float("nan"),
        }

    # -- the pipeline stage -------------------------------------------------------------------

    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Row:
        """The event's row with the edges scored above ``filter_cut`` (``e_src, e_dst, e_score``).

        ``model`` must already be on ``device``; hits are those the dataset options keep.
        """
        event = self.event_with_graph(row)
        sample = self.inputs(event)
        batch = {
            "x": torch.as_tensor(sample["x"], device=device),
            "edge_index": torch.as_tensor(sample["edge_index"], device=device),
        }
        if "emb" in sample:
            batch["emb"] = torch.as_tensor(sample["emb"], device=device)
        scores = torch.sigmoid(self.score(model, batch).float()).cpu().numpy()
        keep = scores > self.filter_cut
        edges = sample["edge_index"][:, keep]
        graph = {
            "src": edges[0].copy(),
            "dst": edges[1].copy(),
            "score": scores[keep].astype(np.float32),
        }
        return Event(event.event_id, event.hits, event.particles, graph).to_row()

    def output_columns(self, row: Row) -> tuple[Column, ...]:
        return GRAPH_COLUMNS
