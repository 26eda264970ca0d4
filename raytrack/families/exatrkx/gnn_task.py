"""Training task of the Exa.TrkX interaction GNN: candidate edges, labels, loss and metrics.

Per event (:meth:`InteractionGNNTask.prepare`): apply the dataset options (pT and noise
selection), compute node features as the reference does (``r/1000, φ/π, z/1000``, preceded by
``cell_channels`` cell features), build candidate edges with the geometric constructor
(:mod:`raytrack.families.exatrkx.geometric_graph`) or take the graph a previous stage stored in the
event (``input_graph="stored"``), and label them. :meth:`InteractionGNNTask.infer` writes the
edges and their scores back into the event for track building.

Labels (the training target ``y``): membership of the edge in the truth graph chosen by the
``true_edges`` dataset option (either direction counts), or, in the ``pid`` regime, "both hits
belong to the same particle" (noise hits never match). *Signal* edges are true edges whose
particle has ``pT > pt_signal_cut``; signal metrics ignore true edges that are not signal.

Loss: binary cross-entropy with logits with ``pos_weight = weight`` (the reference's ``weight``;
unset: negatives/positives of the event), averaged over each event's edges, then over the events
of the batch (so DDP over workers equals training on the union). An undirected model is trained
on both directions of every edge, as the reference does. In the ``weighting`` regime each true
edge is weighted by the mean TrackML weight of its two hits, normalised to mean 1 over the
event's true edges (the reference's ``edge_weight_norm``); false edges weigh 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.exatrkx.edge_labels import (
    edge_labels,
    node_features,
    truth_weights,
)
from raytrack.families.exatrkx.geometric_graph import GeometricGraphBuilder
from raytrack.families.exatrkx.hparams import CellChannels, SpatialChannels
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
from raytrack.tasks.base import Needs, Row, Task

Regime = Literal["pid", "weighting"]
"""``pid``: target = same particle; ``weighting``: per-edge loss weights from hit weights."""


class InteractionGNNTask(Task):
    """Edge classification on geometric candidate graphs (see the module documentation).

    Args:
        edge_cut: score above which an edge counts as predicted true (efficiency, purity).
        weight: positive-class weight of the BCE loss; ``None``: negatives/positives per event.
        regime: any of ``pid``, ``weighting`` (see :data:`Regime`).
        spatial_channels: node position features (the first of ``r, φ, z``).
        cell_channels: cell features before the position features (0: none).
        phi_slope_max, z0_max, deta_max: windows of the candidate-edge constructor.
        layer_pairs: ``[inner, outer]`` layer keys (``volume_id * 100 + layer_id``) the
            constructor connects; ``None``: the map learned from simulated TrackML-layout events
            (:data:`~raytrack.families.exatrkx.geometric_graph.TRACKML_LAYER_PAIRS`).
        input_graph: ``geometric`` builds candidate edges with the constructor; ``stored`` takes
            the graph a previous stage wrote into the event (``e_src, e_dst``, e.g. the filter's
            output), keeping the edges whose hits survive the dataset options.
    """

    Options = ExaTrkXDataOptions
    needs = {
        name: Needs("input_graph", "geometric")
        for name in ("phi_slope_max", "z0_max", "deta_max", "layer_pairs")
    }
    """The constructor's windows act only when it builds the graph (a stored graph is kept)."""
    metrics = ("loss", *EDGE_CLASSIFIER_METRICS)
    options: ExaTrkXDataOptions

    @validate_call
    def __init__(
        self,
        *,
        edge_cut: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5,
        weight: Annotated[float, Field(gt=0.0)] | None = None,
        regime: tuple[Regime, ...] = (),
        spatial_channels: SpatialChannels = 3,
        cell_channels: CellChannels = 0,
        phi_slope_max: Annotated[float, Field(gt=0.0)] = 0.0008,
        z0_max: Annotated[float, Field(gt=0.0)] = 250.0,
        deta_max: Annotated[float, Field(gt=0.0)] | None = None,
        layer_pairs: list[tuple[int, int]] | None = None,
        input_graph: Literal["geometric", "stored"] = "geometric",
    ) -> None:
        self.edge_cut = float(edge_cut)
        self.weight = None if weight is None else float(weight)
        self.regime = tuple(regime)
        self.spatial_channels = spatial_channels
        self.cell_channels = cell_channels
        self.input_graph = input_graph
        self.builder = GeometricGraphBuilder(
            layer_pairs, phi_slope_max=phi_slope_max, z0_max=z0_max, deta_max=deta_max
        )
        self.options = ExaTrkXDataOptions()

    # -- data --------------------------------------------------------------------------------

    def node_features(self, event: Event) -> np.ndarray:
        """``(N, cell_channels + spatial_channels)`` float32 (see :mod:`.edge_labels`)."""
        return node_features(event, self.spatial_channels, self.cell_channels)

    def prepare(self, row: Row) -> dict[str, np.ndarray]:
        event, edges = self._event_and_edges(row)
        y, signal = edge_labels(event, edges, self.options, pid="pid" in self.regime)
        sample = {"x": self.node_features(event), "edge_index": edges, "y": y, "signal": signal}
        if "weighting" in self.regime:
            sample["edge_weight"] = truth_weights(event, edges, y)
        return sample

    def _event_and_edges(self, row: Row) -> tuple[Event, np.ndarray]:
        """The event after the dataset options, and its candidate edges (``(2, E)`` int64)."""
        event = Event.from_row(row)
        if self.input_graph == "geometric":
            event = apply_options(event, self.options)
            return event, self.builder(event)
        if event.edge_index is None:
            raise ValueError(
                f"input_graph='stored' needs events with a stored graph (e_src, e_dst columns, "
                f"written by a previous stage's `raytrack infer`), but event {event.event_id} has none"
            )
        event = apply_options(event, self.options)  # keeps the stored graph on the kept hits
        return event, event.edge_index

    @torch.no_grad()
    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Row:
        """The event's row with its candidate edges and their GNN scores (``e_src, e_dst, e_score``)."""
        event, edges = self._event_and_edges(row)
        x = torch.as_tensor(self.node_features(event), device=device)
        model.eval()
        logits = model(x, torch.as_tensor(edges, device=device))["edge_logits"]
        score = torch.sigmoid(logits.float()).cpu().numpy().astype(np.float32)
        graph = {"src": edges[0], "dst": edges[1], "score": score}
        return Event(event.event_id, event.hits, event.particles, edges=graph).to_row()

    def output_columns(self, row: Row) -> tuple[Column, ...]:
        return GRAPH_COLUMNS

    def collate(self, samples: Sequence[Mapping[str, np.ndarray]]) -> dict[str, torch.Tensor]:
        """One disjoint union of the events' graphs (a single forward pass per batch).

        ``edge_event`` gives each edge's event (0 … B-1); ``num_events`` the batch size.
        """
        xs, edges, ys, signals, weights, edge_event = [], [], [], [], [], []
        offset = 0
        for i, sample in enumerate(samples):
            xs.append(torch.as_tensor(sample["x"], dtype=torch.float32))
            edges.append(torch.as_tensor(sample["edge_index"], dtype=torch.long) + offset)
            ys.append(torch.as_tensor(sample["y"], dtype=torch.bool))
            signals.append(torch.as_tensor(sample["signal"], dtype=torch.bool))
            if "edge_weight" in sample:
                weights.append(torch.as_tensor(sample["edge_weight"], dtype=torch.float32))
            n_edges = int(sample["edge_index"].shape[1])
            edge_event.append(torch.full((n_edges,), i, dtype=torch.long))
            offset += int(sample["x"].shape[0])
        batch = {
            "x": torch.cat(xs),
            "edge_index": torch.cat(edges, dim=1),
            "y": torch.cat(ys),
            "signal": torch.cat(signals),
            "edge_event": torch.cat(edge_event),
            "num_events": torch.tensor(len(samples)),
        }
        if weights:
            batch["edge_weight"] = torch.cat(weights)
        return batch

    # -- loss and metrics -------------------------------------------------------------------

    def _event_losses(
        self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]
    ) -> torch.Tensor:
        """``(B,)`` mean (weighted) BCE of each event's edges."""
        y = batch["y"].float()
        event = batch["edge_event"]
        n_events = int(batch["num_events"])
        logits = output.get("edge_logits_both")
        directions = 2 if logits is not None else 1
        if logits is None:
            logits = output["edge_logits"].unsqueeze(0)
        n_edges = torch.bincount(event, minlength=n_events).to(logits.dtype)
        if self.weight is not None:
            pos_weight = logits.new_full((n_events,), self.weight)
        else:  # the reference's fallback: negatives / positives
            positives = torch.zeros(n_events, dtype=logits.dtype, device=logits.device)
            positives.index_add_(0, event, y.to(logits.dtype))
            pos_weight = (n_edges - positives) / positives.clamp(min=1)
        # BCE with logits and pos_weight p: p·y·softplus(-s) + (1 - y)·softplus(s), per edge
        per_edge = pos_weight[event] * y * F.softplus(-logits) + (1.0 - y) * F.softplus(logits)
        if batch.get("edge_weight") is not None:
            per_edge = per_edge * batch["edge_weight"]
        per_event = torch.zeros(n_events, dtype=logits.dtype, device=logits.device)
        per_event.index_add_(0, event, per_edge.sum(0))
        return per_event / (directions * n_edges.clamp(min=1))

    def training_step(self, model: nn.Module, batch: Mapping[str, Any]) -> torch.Tensor:
        output = model(batch["x"], batch["edge_index"])
        return self._event_losses(output, batch).mean()

    def validation_step(
        self, model: nn.Module, batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        output = model(batch["x"], batch["edge_index"])
        losses = self._event_losses(output, batch).detach()
        scores = torch.sigmoid(output["edge_logits"].detach().float())
        y, signal = batch["y"], batch["signal"]
        return {
            "loss_sum": losses.sum().double(),
            "events": torch.tensor(float(losses.numel()), dtype=torch.float64),
            **edge_classifier_statistics(scores, y, signal, self.edge_cut),
        }

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        events = float(totals["events"])
        return {
            "loss": float(totals["loss_sum"]) / events if events else float("nan"),
            **edge_classifier_metrics(totals),
        }
