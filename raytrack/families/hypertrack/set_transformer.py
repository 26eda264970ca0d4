"""The set transformer of HyperTrack's clustering: MAB and SAB blocks and the mask decoder.

Set Transformer: J. Lee et al., arXiv:1810.00825. HyperTrack (arXiv:2309.14113) uses it to
decide which hits of a micrograph belong with a few *pivot* hits: the micrograph's hits attend
to the pivots (one MAB), then to each other (``nstack_dec`` SABs), and an MLP gives each hit a
membership logit.

``MAB(Q, K)``::

    H = LN0(Q + W_o · MultiHead(W_q Q, W_k K, W_v K))      attention: softmax(q·k / sqrt(dim_V))
    Y = LN1(H + MLP(H))

``SAB(X) = MAB(X, X)``. Padded set elements are left out as keys by boolean masks
(``True`` = a real element).

Shapes (:class:`ClusterTransformer`):
    X: ``[B, N, in_dim]``, X_pivot: ``[B, P, in_dim]``, X_mask: ``[B, N]``,
    X_pivot_mask: ``[B, P]`` → logits ``[B, N, output_dim]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from raytrack.families.hypertrack.mlp import make_mlp, mlp_options

_ENC = {"act": "silu", "bn": False, "dropout": 0.0, "last_act": False}
_ATTN = {"act": "silu", "bn": False, "dropout": 0.0, "last_act": True}
_MASK = {"act": "silu", "bn": False, "dropout": 0.0, "last_act": False}


class MAB(nn.Module):
    """Multihead attention block: queries ``Q`` ``[B, Nq, dim_V]`` attend to keys ``K``."""

    def __init__(
        self,
        dim_Q: int,
        dim_K: int,
        dim_V: int,
        num_heads: int = 4,
        ln: bool = True,
        dropout: float = 0.0,
        MLP_param: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if num_heads < 1 or dim_V % num_heads:
            raise ValueError(
                f"dim_V must be divisible by num_heads, but got dim_V={dim_V}, num_heads={num_heads}"
            )
        if dim_Q != dim_V:
            raise ValueError(f"MAB's residual needs dim_Q == dim_V, but got {dim_Q} and {dim_V}")
        self.dim_V, self.num_heads = dim_V, num_heads
        self.W_q = nn.Linear(dim_Q, dim_V)
        self.W_k = nn.Linear(dim_K, dim_V)
        self.W_v = nn.Linear(dim_K, dim_V)
        self.W_o = nn.Linear(dim_V, dim_V)
        self.ln0 = nn.LayerNorm(dim_V) if ln else nn.Identity()
        self.ln1 = nn.LayerNorm(dim_V) if ln else nn.Identity()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        opts = mlp_options({**_ATTN, **(MLP_param or {})}, "MLP_param")
        self.mlp = make_mlp([dim_V, dim_V, dim_V], **opts)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.view(b, n, self.num_heads, self.dim_V // self.num_heads).transpose(1, 2)

    def forward(
        self, Q: torch.Tensor, K: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        q, k, v = self._heads(self.W_q(Q)), self._heads(self.W_k(K)), self._heads(self.W_v(K))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.dim_V)  # [B, heads, Nq, Nk]
        if key_mask is not None:
            scores = scores.masked_fill(~key_mask[:, None, None, :], torch.finfo(scores.dtype).min)
        attn = torch.softmax(scores, dim=-1) @ v  # [B, heads, Nq, dim_V / heads]
        attn = attn.transpose(1, 2).reshape(Q.shape[0], Q.shape[1], self.dim_V)
        h = self.drop(self.ln0(Q + self.W_o(attn)))
        return self.drop(self.ln1(h + self.mlp(h)))


class SAB(nn.Module):
    """Self-attention block ``MAB(X, X)``."""

    def __init__(self, dim: int, **mab_kwargs: Any) -> None:
        super().__init__()
        self.mab = MAB(dim, dim, dim, **mab_kwargs)

    def forward(self, X: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.mab(X, X, key_mask=mask)


ATTENTION_KEYS = ("num_heads", "ln", "dropout", "MLP_param")


def attention_options(params: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """Check a ``MAB_dec`` / ``SAB_dec`` block (``num_heads``, ``ln``, ``dropout``,
    ``MLP_param``) and fill the reference's values (4, true, 0.0, silu MLP with last_act)."""
    unknown = sorted(set(params or {}) - set(ATTENTION_KEYS))
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown}; allowed: {list(ATTENTION_KEYS)}")
    out = {"num_heads": 4, "ln": True, "dropout": 0.0, **(params or {})}
    out["MLP_param"] = mlp_options({**_ATTN, **(out.get("MLP_param") or {})}, f"{name}.MLP_param")
    return out


class ClusterTransformer(nn.Module):
    """Membership logits of micrograph hits for the cluster of their pivots (the reference's
    ``cluster_block_param``).

    Args:
        in_dim: input width per hit (the GNN's ``z_dim`` + ``coord_dim``: latent and coordinates).
        h_dim: attention width (divisible by ``num_heads``, at least 4).
        output_dim: logits per hit (1).
        nstack_dec: number of SABs after the pivot cross-attention.
        MLP_enc: the encoder MLP ``[in, in, h]``.
        MAB_dec, SAB_dec: the pivot cross-attention and the self-attention blocks' ``num_heads``,
            ``ln``, ``dropout`` and feed-forward ``MLP_param``.
        MLP_mask: the mask decoder ``[h, h/2, h/4, output_dim]``.

    Also holds ``thr``, the learnable node-mask threshold of ``threshold_algo: soft`` (0.5).
    """

    def __init__(
        self,
        in_dim: int = 64,
        h_dim: int = 64,
        output_dim: int = 1,
        nstack_dec: int = 4,
        MLP_enc: Mapping[str, Any] | None = None,
        MAB_dec: Mapping[str, Any] | None = None,
        SAB_dec: Mapping[str, Any] | None = None,
        MLP_mask: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if nstack_dec < 0:
            raise ValueError(f"nstack_dec must be at least 0, but got nstack_dec={nstack_dec}")
        if h_dim < 4:
            raise ValueError(f"h_dim must be at least 4, but got h_dim={h_dim}")
        self.in_dim = in_dim
        self.encoder = make_mlp(
            [in_dim, in_dim, h_dim], **mlp_options({**_ENC, **(MLP_enc or {})}, "MLP_enc")
        )
        self.mab = MAB(h_dim, h_dim, h_dim, **attention_options(MAB_dec, "MAB_dec"))
        sab = attention_options(SAB_dec, "SAB_dec")
        self.sabs = nn.ModuleList(SAB(h_dim, **sab) for _ in range(nstack_dec))
        self.mask_decoder = make_mlp(
            [h_dim, h_dim // 2, h_dim // 4, output_dim],
            **mlp_options({**_MASK, **(MLP_mask or {})}, "MLP_mask"),
        )
        self.thr = nn.Parameter(torch.tensor(0.5))

    def forward(
        self,
        X: torch.Tensor,
        X_pivot: torch.Tensor,
        X_mask: torch.Tensor | None = None,
        X_pivot_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if X.shape[-1] != self.in_dim or X_pivot.shape[-1] != self.in_dim:
            raise ValueError(
                f"ClusterTransformer was built for in_dim={self.in_dim}, but got "
                f"X {tuple(X.shape)} and X_pivot {tuple(X_pivot.shape)}"
            )
        h = self.mab(self.encoder(X), self.encoder(X_pivot), key_mask=X_pivot_mask)
        for sab in self.sabs:
            h = sab(h, X_mask)
        return self.mask_decoder(h)
