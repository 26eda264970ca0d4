"""HyperTrackNet with the reference's parameter blocks, and the transformer learning to cluster."""

from __future__ import annotations

import pytest
import torch

from raytrack.families.hypertrack.cluster_losses import cluster_losses
from raytrack.families.hypertrack.losses import edge_bce_loss, total_loss
from raytrack.families.hypertrack.measures import cluster_metrics, majority_match
from raytrack.families.hypertrack.model import HyperTrackNet, cluster_hits
from raytrack.families.hypertrack.set_transformer import ClusterTransformer

SMALL_GRAPH = {"nstack": 2, "h_dim": 16, "z_dim": 8, "SuperEdgeConv": {"m_dim": 16}}
SMALL_CLUSTER = {"h_dim": 16, "nstack_dec": 1}


def test_reference_sizes_and_blocks():
    net = HyperTrackNet()
    assert len(net.gnn.convs) == 5 and net.gnn.z_dim == 61
    assert net.transformer.in_dim == 64 and len(net.transformer.sabs) == 4
    net = HyperTrackNet(
        {**SMALL_GRAPH, "SuperEdgeConv": {"m_dim": 16, "aggr": ["mean", "max"]}}, SMALL_CLUSTER
    )
    assert [c.aggr for c in net.gnn.convs] == ["mean", "max"]
    out = net(torch.randn(6, 3), torch.tensor([[0, 1, 2], [1, 2, 3]]))
    assert out["z"].shape == (6, 8) and out["edge_prob"].shape == (3,)
    torch.testing.assert_close(out["edge_prob"], torch.sigmoid(out["edge_logits"]))


@pytest.mark.parametrize(
    "graph, cluster, message",
    [
        ({"zdim": 3}, None, "graph_block_param: unknown key"),
        ({"SuperEdgeConv": {"mdim": 3}}, None, "graph_block_param.SuperEdgeConv: unknown key"),
        (None, {"in_dim": 10}, "in_dim must be z_dim \\+ coord_dim = 64"),
        (None, {"heads": 2}, "cluster_block_param: unknown key"),
    ],
)
def test_bad_blocks_name_the_key(graph, cluster, message):
    with pytest.raises(ValueError, match=message):
        HyperTrackNet(graph, cluster)


def test_training_forward_reaches_both_blocks_and_clusters_are_scored(event, one_thread):
    torch.manual_seed(0)
    net = HyperTrackNet(SMALL_GRAPH, SMALL_CLUSTER)
    out = net(event["x"], event["edge_index"])
    res = cluster_hits(
        "transformer", event["x"], event["edge_index"], out["edge_prob"], edge_threshold=0.3,
        z=out["z"], transformer=net.transformer, cluster_param={"transformer": {"min_cluster_size": 1}},
    )  # fmt: skip
    attempts = res.clusters + res.rejected
    assert attempts and res.trials > 0
    terms = {"edge_BCE": edge_bce_loss(out["edge_logits"], event["edge_label"])}
    terms.update(cluster_losses(attempts, event["labels"]))
    total_loss(terms).backward()
    assert net.gnn.convs[0].nn[0][0].weight.grad.abs().sum() > 0
    assert net.transformer.mask_decoder[-1].weight.grad.abs().sum() > 0
    with torch.no_grad():
        labels = cluster_hits("cut", event["x"], event["edge_index"], out["edge_prob"]).labels
    pid = torch.where(event["labels"] < 0, 0, event["labels"] + 1)
    metrics = cluster_metrics(labels, pid, event["weight"])
    assert labels.shape == event["labels"].shape
    assert set(metrics) == {"efficiency", "purity", "majority_score", "trackml_score"}


def two_tracks_in_one_component():
    """Two 6-hit tracks whose edges (p 0.9 within, 0.6 across) make one component; the latents
    tell the tracks apart, the edges do not."""
    n, truth = 12, torch.tensor([0] * 6 + [1] * 6)
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = src != dst
    ei = torch.stack([src[keep], dst[keep]])
    prob = torch.where(truth[ei[0]] == truth[ei[1]], 0.9, 0.6)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    z = torch.cat(
        [torch.nn.functional.one_hot(truth, 2).float(), 0.3 * torch.randn(n, 2, generator=g)], 1
    )
    return x, z, ei, prob, truth


def _train(steps: int, with_rejected: bool) -> tuple[ClusterTransformer, dict]:
    x, z, ei, prob, truth = two_tracks_in_one_component()
    torch.manual_seed(0)
    model = ClusterTransformer(in_dim=7, h_dim=16, nstack_dec=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    params = {"micrograph_mode": "full"}
    for step in range(steps):
        gen = torch.Generator().manual_seed(step)
        res = cluster_hits("transformer", x, ei, prob, z=z, transformer=model,
                           cluster_param={"transformer": params}, generator=gen)  # fmt: skip
        attempts = res.clusters + (res.rejected if with_rejected else [])
        if attempts:
            loss = total_loss(cluster_losses(attempts, truth), {"cluster_BCE": 1.0})
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        res = cluster_hits("transformer", x, ei, prob, z=z, transformer=model,
                           cluster_param={"transformer": params},
                           generator=torch.Generator().manual_seed(99))  # fmt: skip
    return model, majority_match(res.labels, truth)


def test_the_transformer_learns_to_split_a_component(one_thread):
    _, before = _train(0, with_rejected=True)
    assert before["efficiency"] == 0.0  # one cluster of all 12 hits
    _, after = _train(120, with_rejected=True)
    assert after["efficiency"] == 1.0 and after["purity"] == 1.0


def test_scoring_accepted_clusters_only_can_stall(one_thread):
    # the reference's choice: once every attempt is rejected, no loss is left to learn from
    _, stalled = _train(40, with_rejected=False)
    assert stalled["n_clusters"] == 0


def test_losses_of_bfloat16_outputs_are_computed_in_float32(event, one_thread):
    from raytrack.families.hypertrack.losses import edge_contrastive_loss

    torch.manual_seed(0)
    net = HyperTrackNet(SMALL_GRAPH, SMALL_CLUSTER)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(event["x"], event["edge_index"])
        res = cluster_hits(
            "transformer", event["x"], event["edge_index"], out["edge_prob"], edge_threshold=0.3,
            z=out["z"], transformer=net.transformer,
        )  # fmt: skip
    assert out["edge_logits"].dtype == torch.bfloat16
    terms = {
        "edge_BCE": edge_bce_loss(out["edge_logits"], event["edge_label"]),
        "edge_contrastive": edge_contrastive_loss(
            out["edge_logits"], event["edge_index"], event["labels"], event["weight"]
        ),
    }
    weightless = torch.zeros_like(event["weight"])  # normalised weights fall back to uniform
    terms.update(
        cluster_losses(
            res.clusters + res.rejected,
            event["labels"],
            weightless,
            cluster_BCE={"weights": True},
            cluster_contrastive={"weights": True},
        )  # fmt: skip
    )
    for name, value in terms.items():
        assert value.dtype == torch.float32 and torch.isfinite(value), name
    total_loss(terms).backward()
