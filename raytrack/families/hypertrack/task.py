"""Training task of the ``hypertrack`` model: voxdyn graphs, edge and cluster losses, metrics.

Setup, checkpoint state and the preflight check of ``ncell``: the trial's Voxel-Dynamics
constructor (:mod:`.voxdyn_setup`).

Per event (:meth:`HyperTrackTask.prepare`): the dataset options, then the reference's
re-sampling (``rfactor``: each particle's hits kept with probability ``rfactor``, drawn uniformly
in [``rfactor_start``, ``rfactor_end``] per event and epoch, on top of the store's own pile-up;
``noise_ratio``: noise hits kept so that they are about that fraction of the hits, ``-1`` keeps
them all); node features ``x, y, z`` in millimetres; candidate edges of the voxdyn graph, labelled by
the ``node2node`` truth.

Losses (``loss_terms``, each weighted by the reference's ``beta``): ``edge_BCE``,
``edge_contrastive``, ``cluster_BCE``, ``cluster_contrastive`` (:mod:`.losses`,
:mod:`.cluster_losses`). The cluster terms need the transformer: they are computed only while
the transformer trains (in the reference's first phase it is frozen: ``freeze: [transformer]``
and the stage ends ``until: {metric: val_auc, above: hparams.auc_threshold}``); otherwise they
are 0.

Metrics: the edge classifier's (``auc``, ``efficiency``, ``purity`` at ``edge_threshold``, and
their signal versions), the voxdyn graph's (``graph_efficiency``, ``graph_purity``,
``edges_per_event``), and the clusters' (``cluster_efficiency``, ``cluster_purity``,
``trackml_score``: HyperTrack's majority-matched definitions, per event then averaged) from
the ``cluster`` algorithm (``transformer`` falls back to ``cut`` while the transformer is frozen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.hypertrack import resample
from raytrack.families.hypertrack.cluster_losses import cluster_losses
from raytrack.families.hypertrack.inference import OUTPUT_COLUMNS, infer_event
from raytrack.families.hypertrack.losses import (
    BETA_DEFAULTS,
    edge_bce_loss,
    edge_contrastive_loss,
    options,
)
from raytrack.families.hypertrack.measures import cluster_metrics
from raytrack.families.hypertrack.model import cluster_hits
from raytrack.families.hypertrack.voxdyn_edges import candidate_edges, labels_and_true_edges
from raytrack.families.hypertrack.voxdyn_setup import DEFAULT_NCELL, VoxdynGraphs
from raytrack.families.tracking.edge_metrics import (
    EDGE_CLASSIFIER_METRICS,
    edge_classifier_metrics,
    edge_classifier_statistics,
)
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.options import TrackingDataOptions
from raytrack.families.tracking.truth import apply_options
from raytrack.store.columns import Column
from raytrack.tasks.base import Row

GRAPH_METRICS = ("graph_efficiency", "graph_purity", "edges_per_event")
CLUSTER_METRICS = ("cluster_efficiency", "cluster_purity", "trackml_score")
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]


class HyperTrackTask(VoxdynGraphs):
    """HyperTrack's training (see the module documentation).

    Args:
        ncell: Voronoi cells of the voxdyn graph constructor.
        auc_threshold: validation edge AUC after which the transformer trains (read by the
            first stage's ``until: {metric: val_auc, above: hparams.auc_threshold}``).
        cluster: ``transformer``, ``cut``, ``dbscan``, ``hdbscan`` or ``none``.
        edge_threshold: edge probability cut of the clustering and of the edge metrics.
        cluster_param: the reference's ``cluster_param`` block (``min_graph``, ``transformer``,
            ``dbscan``, ``hdbscan``, ...).
        beta: weights of the four loss terms (default: the reference's 0.2, 1.0, 0.2, 0.2).
        edge_BCE, edge_contrastive, cluster_BCE, cluster_contrastive: each term's parameters.
        rfactor_start, rfactor_end: range of the fraction of each event's particles kept.
        noise_ratio: fraction of noise hits kept relative to all hits (``-1``: all kept).
        max_edges: an event with more candidate edges is an error naming ``ncell``.
    """

    Options = TrackingDataOptions
    metrics = ("loss", *EDGE_CLASSIFIER_METRICS, *GRAPH_METRICS, *CLUSTER_METRICS)
    loss_terms = {name: "model" for name in BETA_DEFAULTS}
    options: TrackingDataOptions

    @validate_call
    def __init__(
        self,
        *,
        ncell: Annotated[int, Field(ge=2)] = DEFAULT_NCELL,
        auc_threshold: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.998,
        cluster: Literal["transformer", "cut", "dbscan", "hdbscan", "none"] = "transformer",
        edge_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.55,
        cluster_param: dict[str, Any] | None = None,
        beta: dict[str, Annotated[float, Field(ge=0.0)]] | None = None,
        edge_BCE: dict[str, Any] | None = None,  # noqa: N803 - the reference's names
        edge_contrastive: dict[str, Any] | None = None,
        cluster_BCE: dict[str, Any] | None = None,  # noqa: N803
        cluster_contrastive: dict[str, Any] | None = None,
        rfactor_start: Fraction = 1.0,
        rfactor_end: Fraction = 1.0,
        noise_ratio: Annotated[float, Field(ge=-1.0, le=1.0)] = -1.0,
        max_edges: Annotated[int, Field(ge=1)] = 2_000_000,
    ) -> None:
        if rfactor_end < rfactor_start:
            raise ValueError(
                f"rfactor_end ({rfactor_end}) is below rfactor_start ({rfactor_start})"
            )
        self.ncell, self.auc_threshold = ncell, auc_threshold
        self.cluster, self.edge_threshold = cluster, edge_threshold
        self.cluster_param = dict(cluster_param or {})
        self.beta = options(beta, BETA_DEFAULTS, "beta")
        self.losses = {"edge_BCE": edge_BCE, "edge_contrastive": edge_contrastive,
                       "cluster_BCE": cluster_BCE, "cluster_contrastive": cluster_contrastive}  # fmt: skip
        self.rfactor = (rfactor_start, rfactor_end)
        self.noise_ratio, self.max_edges = noise_ratio, max_edges
        self.epoch = 0
        self.options = TrackingDataOptions()
        super().__init__()

    # -- setup and data ------------------------------------------------------------------------

    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Row:
        """The event with its voxdyn graph, edge scores and clusters (:mod:`.inference`)."""
        return infer_event(self, model, row, device)

    def output_columns(self, row: Row) -> tuple[Column, ...]:
        return OUTPUT_COLUMNS

    @property
    def edge_cut(self) -> float:
        """The edge-score cut of connected-component tracks: ``edge_threshold``."""
        return self.edge_threshold

    def start_epoch(self, epoch: int, max_epochs: int) -> None:
        self.epoch = epoch

    def prepare(self, row: Row) -> dict[str, np.ndarray]:
        if self.constructor is None:
            raise RuntimeError("HyperTrackTask.prepare before setup: no voxdyn constructor")
        event = apply_options(Event.from_row(row), self.options)
        rng = np.random.default_rng([int(event.event_id), self.epoch, 7])
        event = resample.resample_event(event, self.rfactor, self.noise_ratio, rng)
        edges = candidate_edges(self.constructor, event, max_edges=self.max_edges)
        labels, true_edges = labels_and_true_edges(event, edges, self.options.node2node)
        particle = np.asarray(event.hits["particle_id"], np.int64)
        return {
            "x": resample.node_features(event),
            "edge_index": edges.astype(np.int64),
            "y": labels.astype(bool),
            "signal": resample.edge_signal(event, edges, labels, self.options.pt_signal_cut),
            "particle_id": particle,
            "weight": np.asarray(event.hits.get("weight", np.ones(len(particle))), np.float32),
            "true_edges": np.asarray(true_edges),
        }

    def collate(self, samples: Sequence[Mapping[str, np.ndarray]]) -> list[dict[str, torch.Tensor]]:
        """The events as they are: HyperTrack clusters event by event."""
        return [{k: torch.tensor(v) for k, v in sample.items()} for sample in samples]

    # -- losses --------------------------------------------------------------------------------

    def _transformer_on(self, model: nn.Module) -> bool:
        if self.cluster != "transformer":
            return False
        return any(p.requires_grad for p in _module(model).transformer.parameters())

    def training_step(
        self, model: nn.Module, batch: list[dict[str, torch.Tensor]]
    ) -> dict[str, torch.Tensor]:
        clustering = self._transformer_on(model)
        # 0 × every transformer weight joins the cluster terms: under DDP every trainable
        # parameter is then used in each step, also when no cluster formed
        anchor = 0.0 * sum(p.sum() for p in _module(model).transformer.parameters())
        totals: dict[str, torch.Tensor] = {}
        for event in batch:
            out = model(event["x"].float(), event["edge_index"])
            labels = _object_labels(event["particle_id"])
            terms = {
                "edge_BCE": edge_bce_loss(out["edge_logits"], event["y"], event["edge_index"],
                                          self.losses["edge_BCE"]),
                "edge_contrastive": edge_contrastive_loss(
                    out["edge_logits"], event["edge_index"], labels, event["weight"],
                    self.losses["edge_contrastive"]),
            }  # fmt: skip
            zero = out["edge_logits"].float().sum() * 0.0 + anchor
            terms["cluster_BCE"] = terms["cluster_contrastive"] = zero
            if clustering:
                found = cluster_hits("transformer", event["x"].float(), event["edge_index"],
                                     out["edge_prob"], edge_threshold=self.edge_threshold,
                                     cluster_param=self.cluster_param, z=out["z"],
                                     transformer=_module(model).transformer)  # fmt: skip
                cluster = cluster_losses(found.clusters + found.rejected, labels, event["weight"],
                                         self.losses["cluster_BCE"],
                                         self.losses["cluster_contrastive"])  # fmt: skip
                terms.update({name: value + zero for name, value in cluster.items()})
            for name, value in terms.items():
                weighted = self.beta[name] * value.float() / len(batch)
                totals[name] = totals[name] + weighted if name in totals else weighted
        return totals

    # -- validation ----------------------------------------------------------------------------

    @torch.no_grad()
    def validation_step(
        self, model: nn.Module, batch: list[dict[str, torch.Tensor]]
    ) -> dict[str, torch.Tensor]:
        # while the transformer is frozen (the first phase) its clusters mean nothing: cut
        frozen = self.cluster == "transformer" and not self._transformer_on(model)
        clustering = "cut" if frozen else self.cluster
        stats: dict[str, torch.Tensor] = {}

        def add(key: str, value: torch.Tensor) -> None:
            value = value.detach().double().cpu()
            stats[key] = stats[key] + value if key in stats else value

        for event in batch:
            out = model(event["x"].float(), event["edge_index"])
            y = event["y"]
            loss = edge_bce_loss(
                out["edge_logits"], y, event["edge_index"], self.losses["edge_BCE"]
            )
            add("loss", self.beta["edge_BCE"] * loss.float())
            prob = out["edge_prob"].float()
            for key, value in edge_classifier_statistics(
                prob, y, event["signal"], self.edge_threshold
            ).items():
                add(key, value)
            add(
                "graph",
                torch.tensor([float(y.sum()), float(y.numel()), float(event["true_edges"])]),
            )
            found = cluster_hits(clustering, event["x"].float(), event["edge_index"], prob,
                                 edge_threshold=self.edge_threshold, cluster_param=self.cluster_param,
                                 z=out["z"], transformer=_module(model).transformer)  # fmt: skip
            figures = cluster_metrics(found.labels.cpu().numpy(), event["particle_id"].cpu().numpy(),
                                      event["weight"].cpu().numpy())  # fmt: skip
            add(
                "clusters",
                torch.tensor([figures["efficiency"], figures["purity"], figures["trackml_score"]]),
            )
            add("events", torch.tensor(1.0))
        return stats

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        events = max(float(totals["events"]), 1.0)
        tp, candidates, true = totals["graph"].tolist()
        clusters = (totals["clusters"] / events).tolist()
        return {
            "loss": float(totals["loss"]) / events,
            **edge_classifier_metrics(dict(totals)),
            "graph_efficiency": tp / true if true else float("nan"),
            "graph_purity": tp / candidates if candidates else float("nan"),
            "edges_per_event": candidates / events,
            "cluster_efficiency": clusters[0],
            "cluster_purity": clusters[1],
            "trackml_score": clusters[2],
        }


def _module(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)


def _object_labels(particle_id: torch.Tensor) -> torch.Tensor:
    """Truth labels of the hits for the losses: the particle id, ``-1`` for noise (id 0)."""
    return torch.where(particle_id == 0, torch.full_like(particle_id, -1), particle_id)
