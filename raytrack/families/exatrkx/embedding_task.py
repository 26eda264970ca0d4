"""Training task of the Exa.TrkX metric-learning embedding: training pairs, hinge loss, graphs.

Follows the reference's ``EmbeddingBase`` (``LightningModules/Embedding/embedding_base.py`` of
Exa.TrkX / HSF ``Tracking-ML-Exa.TrkX``; acorn's ``metric_learning``). Per event:

1. **Positives** are the *signal* truth pairs: edges of the truth graph chosen by the
   ``true_edges`` dataset option whose particle has ``pT > pt_signal_cut`` (every truth edge
   with the default cut 0), in both directions.
2. **Queries**: hits of the signal truth edges; with ``query_all_points`` all hits; with
   ``query_noise_points`` the noise hits (``particle_id == 0``) *and* the hits of signal truth
   edges, exactly as the reference code does (its documentation table says "only noise hits",
   its code queries both; ``query_all_points`` shadows it). A random ``points_per_batch`` of
   them are kept.
3. **Candidate pairs** around the queries, labelled true when the unordered pair is a signal
   truth pair (:func:`~raytrack.families.exatrkx.edge_labels.edges_in`): ``hnm`` (hard negative
   mining) adds each query's at most ``knn`` nearest hits within ``r_train`` in the *current*
   embedding (computed without gradient); with ``low_purity`` that search takes up to 500
   neighbours and keeps a random ``int(r_train * n_queries)`` of the pairs, the reference's
   definition; ``rp`` adds ``int(randomisation * n_queries)`` random pairs (a random query, a
   random hit). Self pairs and repeated pairs are dropped.
4. **Loss**: the embeddings of every hit in a pair are recomputed with gradient; with ``d`` the
   *squared* Euclidean distance, the hinge loss is
   ``mean_negatives(max(0, margin² - d)) + weight · mean_positives(d)``, the reference's
   ``hinge_embedding_loss(..., margin=margin**2)`` split by sign. Events are averaged.

Validation and inference build the graph every pipeline stage after this one starts from: for
every hit its at most ``knn_val`` nearest hits within ``r_val`` in the embedding space (the
reference's validation uses ``k = 150``; inference ``r_test`` and ``k = 1000``), as unordered
pairs. Metrics, from additive statistics: ``loss`` (the hinge loss over the graph's pairs),
``efficiency`` / ``purity`` against the whole truth graph, ``signal_efficiency`` /
``signal_purity`` against the signal truth pairs (true pairs that are not signal count neither
as found nor as fake), and ``edges_per_event``. Like the reference's ``EmbeddingTelemetry``
and ``embedding_model_evaluation`` (purity at the radius of a fixed efficiency), the task also
reports ``target_radius``, the smallest radius (in steps of ``r_val / 200``) at which the
signal efficiency reaches ``target_efficiency``, and ``target_purity``, the signal purity
there (0 when ``r_val`` does not reach the target), a single number to tune on, with
``target_edges_per_event``, the graph size there. ``target_radius`` is the ``r_test`` the
next stage's graphs are built with: when ``r_test`` is not set, a loaded checkpoint's
``val_target_radius`` becomes it (:meth:`EmbeddingTask.use_checkpoint_metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

import numpy as np
import torch
from pydantic import Field, validate_call
from torch import nn

from raytrack.families.exatrkx.edge_labels import edges_in, node_features
from raytrack.families.exatrkx.filter_inputs import EMBEDDING_PREFIX
from raytrack.families.exatrkx.hparams import CellChannels, SpatialChannels
from raytrack.families.exatrkx.neighbors import radius_knn, unique_pairs
from raytrack.families.exatrkx.options import ExaTrkXDataOptions
from raytrack.families.tracking.edge_metrics import efficiency_purity
from raytrack.families.tracking.event import Event
from raytrack.families.tracking.event_store import GRAPH_COLUMNS
from raytrack.families.tracking.truth import apply_options, signal_edges, true_edges
from raytrack.store.columns import Column
from raytrack.tasks.base import Needs, Row, Task

Regime = Literal["ci", "norm", "query_all_points", "query_noise_points", "hnm", "low_purity", "rp"]
"""Regime keywords of the embedding stage (see the module documentation and the model)."""

LOW_PURITY_KNN = 500  # the reference's neighbour count of the low_purity search
RADIUS_BINS = 200  # resolution of the efficiency / purity versus radius curves (r_val / 200)


def check_regime(regime: Sequence[str], cell_channels: int) -> None:
    """Raise ``ValueError`` for unknown keywords and for keywords that would do nothing."""
    allowed = get_args(Regime)
    unknown = sorted(set(regime) - set(allowed))
    if unknown:
        raise ValueError(f"unknown regime keyword(s) {unknown} (choices: {', '.join(allowed)})")
    if "low_purity" in regime and "hnm" not in regime:
        raise ValueError("regime low_purity changes the hnm pairs: it needs hnm in the regime too")
    if "ci" in regime and cell_channels < 1:
        raise ValueError(
            f"regime ci adds cell features: it needs cell_channels >= 1, but got {cell_channels}"
        )


class EmbeddingTask(Task):
    """Metric learning of hit embeddings (see the module documentation).

    Args:
        spatial_channels, cell_channels, regime: as the model's (shared hyperparameters).
        margin: hinge margin, a Euclidean distance (the loss uses ``margin²``).
        weight: weight of the positive (true pair) term of the loss.
        points_per_batch: most queries per event.
        randomisation: random pairs per query (``rp``), the reference's spelling;
            ``randomization`` is accepted as an alias (set at most one).
        r_train, knn: radius and neighbour limit of the hard-negative search (``hnm``; with
            ``low_purity`` the search takes 500 neighbours and ``knn`` is not used).

    :attr:`needs` lists the settings that act only under a regime keyword (``cell_channels``
    under ``ci``, ``randomisation`` under ``rp``, ``r_train`` and ``knn`` under ``hnm``):
    validation warns when one is set without it and refuses a search that varies it there.
        r_val, knn_val: the graph built for validation and, by default, inference.
        r_test, knn_test: the graph of :meth:`infer` (``None``: the trained checkpoint's
            ``val_target_radius`` when it has one, else ``r_val``; ``knn_val``).
        target_efficiency: signal efficiency at which ``target_radius`` and ``target_purity``
            are measured.
    """

    Options = ExaTrkXDataOptions
    needs = {
        "cell_channels": Needs("regime", "ci", inert=(0,)),
        "randomisation": Needs("regime", "rp"),
        "randomization": Needs("regime", "rp"),
        "r_train": Needs("regime", "hnm"),
        "knn": Needs("regime", "hnm", unless=("low_purity",)),  # low_purity searches 500
    }
    metrics = (
        "loss",
        "efficiency",
        "purity",
        "signal_efficiency",
        "signal_purity",
        "edges_per_event",
        "target_radius",
        "target_purity",
        "target_edges_per_event",
    )
    options: ExaTrkXDataOptions

    @validate_call
    def __init__(
        self,
        *,
        spatial_channels: SpatialChannels = 3,
        cell_channels: CellChannels = 0,
        regime: tuple[Regime, ...] = ("rp", "hnm", "norm"),
        margin: Annotated[float, Field(gt=0.0)] = 0.1,
        weight: Annotated[float, Field(ge=0.0)] = 2.0,
        points_per_batch: Annotated[int, Field(ge=1)] = 100_000,
        randomisation: Annotated[float, Field(ge=0.0)] = 1.0,
        randomization: Annotated[float, Field(ge=0.0)] | None = None,
        r_train: Annotated[float, Field(gt=0.0)] = 0.1,
        knn: Annotated[int, Field(ge=1)] = 100,
        r_val: Annotated[float, Field(gt=0.0)] = 0.1,
        knn_val: Annotated[int, Field(ge=1)] = 150,
        r_test: Annotated[float, Field(gt=0.0)] | None = None,
        knn_test: Annotated[int, Field(ge=1)] | None = None,
        target_efficiency: Annotated[float, Field(gt=0.0, le=1.0)] = 0.98,
    ) -> None:
        check_regime(regime, cell_channels)
        if randomization is not None:
            if randomisation != 1.0 and randomisation != randomization:
                raise ValueError(
                    f"randomization is an alias of randomisation: set one, but got "
                    f"randomisation={randomisation}, randomization={randomization}"
                )
            randomisation = randomization
        self.regime = frozenset(regime)
        self.spatial_channels = spatial_channels
        self.cell_channels = cell_channels if "ci" in self.regime else 0
        self.margin, self.weight = float(margin), float(weight)
        self.points_per_batch, self.randomisation = int(points_per_batch), float(randomisation)
        self.r_train, self.knn = float(r_train), int(knn)
        self.r_val, self.knn_val = float(r_val), int(knn_val)
        self.r_test = float(r_val if r_test is None else r_test)
        self.r_test_given = r_test is not None
        self.knn_test = int(knn_val if knn_test is None else knn_test)
        if not 0.0 < target_efficiency <= 1.0:
            raise ValueError(
                f"target_efficiency must be within (0, 1], but got {target_efficiency}"
            )
        self.target_efficiency = float(target_efficiency)
        self.options = ExaTrkXDataOptions()

    # -- data --------------------------------------------------------------------------------

    def prepare(self, row: Row) -> dict[str, np.ndarray]:
        return self.prepare_event(apply_options(Event.from_row(row), self.options))

    def prepare_event(self, event: Event) -> dict[str, np.ndarray]:
        """:meth:`prepare` of an event whose dataset options are already applied."""
        truth = true_edges(event, self.options.true_edges)
        return {
            "x": node_features(event, self.spatial_channels, self.cell_channels),
            "truth": truth,
            "signal": signal_edges(event, truth, self.options.pt_signal_cut),
            "noise": np.asarray(event.hits["particle_id"]) == 0,
        }

    def collate(self, samples: Sequence[Mapping[str, np.ndarray]]) -> dict[str, torch.Tensor]:
        """Events stacked: hits of event ``b`` are rows ``hit_ptr[b]:hit_ptr[b+1]`` of ``x``."""
        hit_ptr = np.cumsum([0] + [len(s["x"]) for s in samples])
        truth_ptr = np.cumsum([0] + [s["truth"].shape[1] for s in samples])
        return {
            "x": torch.as_tensor(np.concatenate([s["x"] for s in samples]), dtype=torch.float32),
            "truth": torch.as_tensor(np.concatenate([s["truth"] for s in samples], axis=1)),
            "signal": torch.as_tensor(np.concatenate([s["signal"] for s in samples])),
            "noise": torch.as_tensor(np.concatenate([s["noise"] for s in samples])),
            "hit_ptr": torch.as_tensor(hit_ptr, dtype=torch.long),
            "truth_ptr": torch.as_tensor(truth_ptr, dtype=torch.long),
        }

    @staticmethod
    def _events(
        batch: Mapping[str, Any],
    ) -> Iterator[tuple[int, int, torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Per event: ``(hit offset, hit count, local truth edges, signal mask, noise mask)``."""
        hit_ptr, truth_ptr = batch["hit_ptr"].tolist(), batch["truth_ptr"].tolist()
        for b in range(len(hit_ptr) - 1):
            lo, hi, t0, t1 = hit_ptr[b], hit_ptr[b + 1], truth_ptr[b], truth_ptr[b + 1]
            yield (
                lo,
                hi - lo,
                batch["truth"][:, t0:t1],
                batch["signal"][t0:t1],
                batch["noise"][lo:hi],
            )

    # -- training pairs ----------------------------------------------------------------------

    def query_points(self, positives: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Local indices of this event's queries (see the module documentation, step 2)."""
        n = noise.numel()
        if "query_all_points" in self.regime:
            candidates = torch.arange(n, device=noise.device)
        elif "query_noise_points" in self.regime:
            candidates = torch.cat([torch.nonzero(noise).flatten(), positives.flatten().unique()])
        else:
            candidates = positives.flatten().unique()
        order = torch.randperm(candidates.numel(), device=candidates.device)
        return candidates[order[: self.points_per_batch]]

    def candidate_pairs(
        self, spatial: torch.Tensor | None, queries: torch.Tensor, n: int
    ) -> torch.Tensor:
        """``(2, P)`` hnm and rp pairs of one event (local indices, self pairs dropped)."""
        device = queries.device
        pairs = [torch.zeros((2, 0), dtype=torch.long, device=device)]
        if "hnm" in self.regime and queries.numel():
            k = LOW_PURITY_KNN if "low_purity" in self.regime else self.knn
            hnm, _ = radius_knn(spatial[queries], spatial, self.r_train, k, query_index=queries)
            if "low_purity" in self.regime:
                keep = int(self.r_train * queries.numel())
                hnm = hnm[:, torch.randperm(hnm.shape[1], device=device)[:keep]]
            pairs.append(hnm.to(device))
        if "rp" in self.regime and queries.numel():
            n_random = int(self.randomisation * queries.numel())
            src = queries[torch.randint(0, queries.numel(), (n_random,), device=device)]
            pairs.append(torch.stack([src, torch.randint(0, n, (n_random,), device=device)]))
        pairs = torch.cat(pairs, dim=1)
        pairs = pairs[:, pairs[0] != pairs[1]]
        code = torch.unique(pairs[0] * n + pairs[1])
        return torch.stack([code // n, code % n])

    def training_pairs(
        self, model: nn.Module, batch: Mapping[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(pairs (2, P) global, y (P,) bool, event (P,))`` of the batch (steps 1 to 3)."""
        spatial = None
        if "hnm" in self.regime:
            with torch.no_grad():
                spatial = model(batch["x"])["embedding"]
        out_pairs, out_y, out_event = [], [], []
        for b, (lo, n, truth, signal, noise) in enumerate(self._events(batch)):
            positives = truth[:, signal]
            queries = self.query_points(positives, noise)
            local = None if spatial is None else spatial[lo : lo + n]
            cand = self.candidate_pairs(local, queries, n)
            y = edges_in(cand.cpu().numpy(), positives.cpu().numpy(), n)
            pairs = torch.cat([cand, positives, positives.flip(0)], dim=1)
            out_pairs.append(pairs + lo)
            out_y.append(
                torch.cat(
                    [
                        torch.as_tensor(y, device=pairs.device),
                        torch.ones(2 * positives.shape[1], dtype=torch.bool, device=pairs.device),
                    ]
                )
            )
            out_event.append(
                torch.full((pairs.shape[1],), b, dtype=torch.long, device=pairs.device)
            )
        return torch.cat(out_pairs, dim=1), torch.cat(out_y), torch.cat(out_event)

    # -- loss and metrics --------------------------------------------------------------------

    def _hinge(
        self, d2: torch.Tensor, y: torch.Tensor, event: torch.Tensor, n_events: int, split: bool
    ) -> torch.Tensor:
        """``(B,)`` hinge loss per event; ``split``: negative and weighted positive means apart."""
        per_pair = torch.where(y, d2, torch.relu(self.margin**2 - d2))
        if not split:
            total = d2.new_zeros(n_events).index_add_(0, event, per_pair)
            count = torch.bincount(event, minlength=n_events).to(d2.dtype)
            return total / count.clamp(min=1)
        losses = []
        for mask, scale in ((~y, 1.0), (y, self.weight)):
            total = d2.new_zeros(n_events).index_add_(0, event[mask], per_pair[mask])
            count = torch.bincount(event[mask], minlength=n_events).to(d2.dtype)
            losses.append(scale * total / count.clamp(min=1))
        return losses[0] + losses[1]

    def training_step(self, model: nn.Module, batch: Mapping[str, Any]) -> torch.Tensor:
        pairs, y, event = self.training_pairs(model, batch)
        n_events = batch["hit_ptr"].numel() - 1
        included, local = torch.unique(pairs, return_inverse=True)
        if included.numel() == 0:  # no pairs at all: a zero loss that still reaches every weight
            return model(batch["x"][:1])["embedding"].sum() * 0.0
        z = model(batch["x"][included])["embedding"]
        d2 = (z[local[0]] - z[local[1]]).pow(2).sum(1)
        return self._hinge(d2, y, event, n_events, split=True).mean()

    def build_graph(
        self, spatial: torch.Tensor, r: float, k: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Unordered pairs ``(2, E)`` (row 0 < row 1) of the radius + kNN graph and their ``d²``."""
        edges, _ = radius_knn(spatial, spatial, r, k)
        pairs = unique_pairs(edges.to(spatial.device), spatial.shape[0])
        return pairs, (spatial[pairs[0]] - spatial[pairs[1]]).pow(2).sum(1)

    def validation_step(
        self, model: nn.Module, batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        spatial = model(batch["x"])["embedding"].detach()
        stats = torch.zeros(8, dtype=torch.float64)
        hist = torch.zeros(3, RADIUS_BINS, dtype=torch.float64)
        for lo, n, truth, signal, _ in self._events(batch):
            pairs, d2 = self.build_graph(spatial[lo : lo + n], self.r_val, self.knn_val)
            p, t = pairs.cpu().numpy(), truth.cpu().numpy()
            y = torch.as_tensor(edges_in(p, t, n))
            y_sig = torch.as_tensor(edges_in(p, t[:, signal.cpu().numpy()], n))
            d2 = d2.cpu().double()
            loss = self._hinge(d2, y_sig, torch.zeros_like(y, dtype=torch.long), 1, split=False)
            stats += torch.tensor(
                [
                    float(loss),
                    1.0,  # loss sum, events
                    float(y.sum()),
                    float(p.shape[1]),
                    float(t.shape[1]),  # all: tp, predicted, true
                    float(y_sig.sum()),
                    float(p.shape[1] - (y & ~y_sig).sum()),
                    float(signal.sum()),
                ],
                dtype=torch.float64,
            )
            # distance histograms of the graph's pairs: all, signal, true but not signal
            index = (d2.sqrt() / self.r_val * RADIUS_BINS).long().clamp_(0, RADIUS_BINS - 1)
            for row, mask in enumerate((torch.ones_like(y), y_sig, y & ~y_sig)):
                hist[row] += torch.bincount(index[mask], minlength=RADIUS_BINS).double()
        return {"stats": stats, "radius_histograms": hist}

    def summarize(self, totals: Mapping[str, torch.Tensor]) -> dict[str, float]:
        s = totals["stats"].tolist()
        events = s[1]
        efficiency, purity = efficiency_purity(s[2], s[3], s[4])
        signal_efficiency, signal_purity = efficiency_purity(s[5], s[6], s[7])
        # the graph at a smaller radius r is the r_val graph pruned to d <= r (same kNN cap)
        cumulative = totals["radius_histograms"].cumsum(1)
        found, predicted = cumulative[1], cumulative[0] - cumulative[2]
        reached = torch.nonzero(found >= self.target_efficiency * s[7]).flatten() if s[7] else []
        if len(reached):
            j = int(reached[0])
            target_radius = self.r_val * (j + 1) / RADIUS_BINS
            target_purity = float(found[j] / predicted[j]) if predicted[j] else float("nan")
            target_edges = float(cumulative[0, j]) / events
        else:  # the target is not reached within r_val: no usable radius
            target_radius, target_purity, target_edges = float("nan"), 0.0, float("nan")
        return {
            "loss": s[0] / events if events else float("nan"),
            "efficiency": efficiency,
            "purity": purity,
            "signal_efficiency": signal_efficiency,
            "signal_purity": signal_purity,
            "edges_per_event": s[3] / events if events else float("nan"),
            "target_radius": target_radius,
            "target_purity": target_purity,
            "target_edges_per_event": target_edges,
        }

    # -- pipeline output ---------------------------------------------------------------------

    def use_checkpoint_metrics(self, metrics: Mapping[str, Any]) -> list[str]:
        """``r_test``: the user's, else the checkpoint's ``val_target_radius`` (the radius that
        keeps ``target_efficiency`` of the signal pairs), else ``r_val`` (no finite radius)."""
        if self.r_test_given:
            return [f"r_test = {self.r_test:g} (set in model.hparams)"]
        radius = metrics.get("val_target_radius")
        if isinstance(radius, (int, float)) and math.isfinite(radius) and radius > 0:
            self.r_test = float(radius)
            why = (
                f"the checkpoint's val_target_radius, {self.target_efficiency:g} signal efficiency"
            )
            return [f"r_test = {self.r_test:g} ({why})"]
        return [f"r_test = {self.r_test:g} (r_val: the checkpoint has no finite val_target_radius)"]

    @torch.no_grad()
    def infer(self, model: nn.Module, row: Row, device: torch.device | str = "cpu") -> Row:
        """The event's row (options applied) with its embedding graph (``e_src, e_dst, e_score``).

        The graph joins each hit to its at most ``knn_test`` nearest hits within ``r_test``;
        every pair appears once, oriented from the hit nearer the origin to the farther one by
        ``r² + z²`` (ties: lower position first), as Exa.TrkX orders edges before the filter.
        ``score = 1 - d / r_test`` (``d`` the embedding distance): 1 for coincident hits,
        0 at the radius. Each hit's embedding coordinates are stored with it as hit columns
        ``emb_0 … emb_{emb_dim-1}``: the filter reads the first ``emb_channels`` of them, as the
        reference filter appends the embedding to its input.
        """
        event = apply_options(Event.from_row(row), self.options)
        model.eval()
        x = torch.as_tensor(node_features(event, self.spatial_channels, self.cell_channels))
        spatial = model(x.to(device))["embedding"].float()
        pairs, d2 = self.build_graph(spatial, self.r_test, self.knn_test)
        a, b = pairs.cpu().numpy()
        dist = (
            np.asarray(event.hits["r"], np.float64) ** 2
            + np.asarray(event.hits["z"], np.float64) ** 2
        )
        flip = dist[a] > dist[b]  # a < b already breaks ties
        score = 1.0 - torch.sqrt(d2).cpu().numpy() / self.r_test
        edges = {
            "src": np.where(flip, b, a).astype(np.int64),
            "dst": np.where(flip, a, b).astype(np.int64),
            "score": np.clip(score, 0.0, 1.0).astype(np.float32),
        }
        coordinates = spatial.detach().cpu().numpy().astype(np.float32)
        hits = dict(event.hits)
        hits.update(
            {f"{EMBEDDING_PREFIX}{i}": coordinates[:, i] for i in range(coordinates.shape[1])}
        )
        return Event(event.event_id, hits, event.particles, edges=edges).to_row()

    def output_columns(self, row: Row) -> tuple[Column, ...]:
        """The graph and the hits' embedding coordinates ``emb_0 …`` (float32, one per dimension)."""
        coordinates = [n for n in row if n.startswith(EMBEDDING_PREFIX)]
        return (*GRAPH_COLUMNS, *(Column(n, "float32", (None,), "hit") for n in coordinates))
