"""acorn's ``InteractionGNN2`` built from a local acorn checkout, for benchmarks/gnn_parity.py.

acorn (ATLAS GNN4ITk, gitlab.cern.ch/gnn4itkteam/acorn; mirrors on GitHub, e.g.
github.com/alinutzal/acorn) is not pip-installable here and its code is not part of raytrack.
:func:`load_acorn_class` imports ``acorn/stages/edge_classifier/models/interaction_gnn.py`` and
``acorn/utils/ml_utils.py`` (``make_mlp``) from the checkout unchanged. Three of their
dependencies are missing here and are replaced, outside acorn's code:

- the package ``__init__`` files (they import every stage, Lightning, plotting...) are skipped:
  the packages are empty shells whose ``__path__`` is the checkout's folder;
- ``EdgeClassifierStage`` (a Lightning module: data loading, training loop, logging) becomes a
  plain ``nn.Module`` holding ``hparams``; the model's ``__init__`` and ``forward`` only use
  ``self.hparams`` from it;
- ``torch_scatter`` (not built for this torch) gets ``scatter_add``/``scatter_sum`` computed as
  torch_scatter computes them on CPU (``scatter_add_`` with the index broadcast to the source's
  shape); ``scatter_mean``/``scatter_max`` (imported by modules ``InteractionGNN2`` does not use)
  raise if called.

:data:`CTD_2023` is acorn's ``examples/CTD_2023/gnn_train.yaml`` (model part).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

CTD_2023 = {
    "node_features": [
        "r", "phi", "z", "eta",
        "cluster_r_1", "cluster_phi_1", "cluster_z_1", "cluster_eta_1",
        "cluster_r_2", "cluster_phi_2", "cluster_z_2", "cluster_eta_2",
    ],
    "edge_features": ["dr", "dphi", "dz", "deta", "phislope", "rphislope"],
    "hidden": 128, "n_graph_iters": 8,
    "n_node_encoder_layers": 3, "n_edge_encoder_layers": 3,
    "n_node_net_layers": 3, "n_edge_net_layers": 3,
    "n_node_decoder_layers": 3, "n_edge_decoder_layers": 3,
    "layernorm": False, "output_layer_norm": False,
    "edge_output_transform_final_layer_norm": False,
    "batchnorm": True, "output_batch_norm": False,
    "edge_output_transform_final_batch_norm": False, "bn_track_running_stats": False,
    "hidden_activation": "ReLU", "output_activation": "ReLU",
    "edge_output_transform_final_activation": None,
    "concat": True, "node_net_recurrent": False, "edge_net_recurrent": False,
    "in_out_diff_agg": True, "checkpointing": True,
    "undirected": False, "edge_cut": 0.5,
}  # fmt: skip

RAYTRACK_OF_CTD_2023 = {
    "spatial_channels": 3, "cell_channels": 9, "edge_channels": 6,
    "hidden": 128, "n_graph_iters": 8,
    "n_node_net_layers": 3, "n_edge_net_layers": 3, "n_edge_decoder_layers": 3,
    "hidden_activation": "ReLU", "output_activation": "ReLU",
    "edge_output_transform_final_activation": None,
    "layernorm": False, "batchnorm": True, "output_batch_norm": False,
    "edge_output_transform_final_batch_norm": False, "track_running_stats": False,
    "concat": True, "in_out_diff_agg": True,
    "node_net_recurrent": False, "edge_net_recurrent": False,
}  # fmt: skip
"""The same model in raytrack's :class:`InteractionGNN2` (12 hit features = 3 + 9 cell ones)."""

_MODULE = "acorn.stages.edge_classifier.models.interaction_gnn"


def _shell(name: str, path: Path) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [str(path)]
    sys.modules[name] = module
    return module


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _torch_scatter_stand_in() -> types.ModuleType:
    def scatter_sum(src, index, dim=-1, out=None, dim_size=None):
        dim = dim % src.dim()
        shape = [1] * src.dim()
        shape[dim] = -1
        index = index.view(shape).expand_as(src)
        if out is None:
            size = list(src.shape)
            size[dim] = int(index.max()) + 1 if dim_size is None else dim_size
            out = src.new_zeros(size)
        return out.scatter_add_(dim, index, src)

    def missing(*args, **kwargs):
        raise NotImplementedError("not needed by InteractionGNN2")

    module = types.ModuleType("torch_scatter")
    module.scatter_add = module.scatter_sum = scatter_sum
    module.scatter_mean = module.scatter_max = missing
    return module


def load_acorn_class(acorn_src: Path | str):
    """acorn's ``InteractionGNN2`` class from the checkout at ``acorn_src``."""
    if _MODULE in sys.modules:
        return sys.modules[_MODULE].InteractionGNN2
    import torch_geometric.nn  # noqa: F401  (before the stand-in: PyG probes torch_scatter)
    from torch import nn

    root = Path(acorn_src) / "acorn"
    source = root / "stages/edge_classifier/models/interaction_gnn.py"
    if not source.exists():
        raise FileNotFoundError(f"--acorn-src {acorn_src} is not an acorn checkout ({source})")
    _shell("acorn", root)
    utils = _shell("acorn.utils", root / "utils")
    utils.make_mlp = _load("acorn.utils.ml_utils", root / "utils/ml_utils.py").make_mlp
    _shell("acorn.stages", root / "stages")
    _shell("acorn.stages.edge_classifier", root / "stages/edge_classifier")
    _shell("acorn.stages.edge_classifier.models", root / "stages/edge_classifier/models")
    _shell(
        "acorn.stages.edge_classifier.models.gnn_submodule",
        root / "stages/edge_classifier/models/gnn_submodule",
    )

    class EdgeClassifierStage(nn.Module):
        """Stand-in for acorn's Lightning base class: only ``hparams``."""

        def __init__(self, hparams):
            super().__init__()
            self.hparams = dict(hparams)

        def save_hyperparameters(self, hparams):
            self.hparams.update(hparams)

    stage = types.ModuleType("acorn.stages.edge_classifier.edge_classifier_stage")
    stage.EdgeClassifierStage = EdgeClassifierStage
    sys.modules[stage.__name__] = stage
    sys.modules.setdefault("torch_scatter", _torch_scatter_stand_in())
    return _load(_MODULE, source).InteractionGNN2


def acorn_batch(x, edge_index, edge_attr):
    """The PyG ``Data`` acorn's forward reads: one attribute per named feature, ``region``."""
    import torch
    from torch_geometric.data import Data

    batch = Data(edge_index=edge_index)
    for k, name in enumerate(CTD_2023["node_features"]):
        batch[name] = x[:, k].clone()
    for k, name in enumerate(CTD_2023["edge_features"]):
        batch[name] = edge_attr[:, k].clone()
    batch.region = torch.zeros(x.shape[0], dtype=torch.long)  # no strip end-cap hits
    return batch


def copy_acorn_weights(raytrack_model, acorn_model) -> None:
    """acorn's parameters into raytrack's :class:`InteractionGNN2` (first layers split)."""
    split = ("edge_encoder", "edge_network", "node_network")
    state = {}
    for name, tensor in acorn_model.state_dict().items():
        parts = name.split(".")
        if parts[0] in split:
            *prefix, layer, param = parts
            where = "first" if layer == "0" else f"rest.{int(layer) - 1}"
            name = ".".join([*prefix, where, param])
        state[name] = tensor
    raytrack_model.load_state_dict(state)
