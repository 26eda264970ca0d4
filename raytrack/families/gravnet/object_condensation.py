"""The object condensation loss of one event (Kieseler 2020), as HGCalML computes it.

J. Kieseler, "Object condensation: one-stage grid-free multi-object reconstruction in
physics detectors, graph, and image data", Eur. Phys. J. C 80 (2020) 886, arXiv:2002.03605;
HGCalML's ``Basic_OC_per_sample`` (``modules/object_condensation.py``) with the options of
``LLFullObjectCondensation``. For an event of ``N`` hits (``t_idx = −1``: noise) and ``K``
truth objects ``k`` with member sets ``M_k``:

- charge ``q_j = (arctanh²(β_j / 1.01) + q_min)·(1 − s_j)`` (``s_j`` the spectator weight; the
  1.01 keeps it finite at β = 1); the condensation point ``α_k = argmax_{j ∈ M_k} q_j``;
- the object's centre ``x_k = (1 − u)·x_{α_k} + u·Σ_{M_k} q_j x_j / (Σ_{M_k} q_j + 10⁻⁴)``
  (``u = use_average_cc_pos``) and distance scale ``σ_k = dist_{α_k}``; ``d²_jk = |x_j −
  x_k|² / (σ_k² + 10⁻⁴)``;
- attraction ``V_att,k = q_{α_k} Σ_{j ∈ M_k} q_j ln(e·d²_jk / 2 + 1) / (|M_k| + 10⁻³)``;
- repulsion ``V_rep,k = q_{α_k} Σ_{j ∉ M_k} q_j φ(d²_jk) / (N − |M_k| + 10⁻³)`` with
  ``φ(d²) = exp(−d²/2)`` (``std``) or ``relu(1 − d)`` (``hinge``, the paper's hinge);
- β terms: ``B_k = (1 − ε LSE_{M_k}(β/ε)) + (1 − clip(Σ_{M_k} β, 0, 1))`` (a soft maximum,
  ε = 10⁻³, plus a push while the object's β are all small), and the noise term
  ``s_b · mean_{noise} β + mean_{spectators} β`` (means over hits with weights +10⁻³);
- ``exceed_beta``: ``ln((1 − Σ_{M_k} β)² + 1)`` (the earlier HGCalML implementation's
  "too much β" penalty, scaled by ``too_much_beta_scale``; the current one computes zero);
- payload: each per-hit loss (:mod:`.payload`) averaged over ``M_k`` with weights ``β_j²`` on
  hits that are neither noise nor spectators (+10⁻⁶).

Object terms are averaged over objects with the objects' weights ``w_k`` (the shower weight at
``α_k``): ``Σ_k w_k T_k / K``. An event without objects has only the noise term.

Shapes:
    - inputs: ``beta, dist, t_idx, object_weight, spectator`` ``(N,)``; ``ccoords`` ``(N, C)``;
      ``payload`` ``(N, P)``
    - output: :class:`OCTerms` of scalars (payload ``(P,)``)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

Implementation = Literal["std", "hinge"]
"""HGCalML's ``oc_implementation``: the repulsion of ``Basic_OC_per_sample`` or the hinge."""

LSE_EPS = 1e-3


@dataclass(frozen=True)
class OCTerms:
    """The unscaled terms of one event."""

    attractive: torch.Tensor
    repulsive: torch.Tensor
    min_beta: torch.Tensor
    noise: torch.Tensor
    exceed_beta: torch.Tensor
    payload: torch.Tensor


def charge(beta: torch.Tensor, q_min: float, spectator: torch.Tensor) -> torch.Tensor:
    """``(arctanh²(β / 1.01) + q_min)·clip(1 − s, 0, 1)``."""
    return (torch.atanh(beta / 1.01) ** 2 + q_min) * torch.clamp(1.0 - spectator, 0.0, 1.0)


def _masked_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (values * weights).sum() / (weights.sum() + 1e-3)


def event_terms(
    beta: torch.Tensor, ccoords: torch.Tensor, dist: torch.Tensor, payload: torch.Tensor,
    t_idx: torch.Tensor, object_weight: torch.Tensor, spectator: torch.Tensor, *,
    q_min: float, s_b: float = 1.0, use_average_cc_pos: float = 0.0,
    implementation: Implementation = "std",
) -> OCTerms:  # fmt: skip
    """The object condensation terms of one event (see the module documentation)."""
    noise = (t_idx < 0).to(beta.dtype)
    noise_term = s_b * _masked_mean(beta, noise) + _masked_mean(beta, spectator)
    objects = torch.unique(t_idx[t_idx >= 0])
    zero = beta.sum() * 0.0
    if len(objects) == 0:
        return OCTerms(zero, zero, zero, noise_term, zero, payload.sum(0) * 0.0)
    q = charge(beta, q_min, spectator)
    member = t_idx[None, :] == objects[:, None]  # (K, N)
    m = member.to(beta.dtype)
    count = m.sum(1)
    alpha = torch.argmax(q[None, :] * m, dim=1)
    q_alpha, w_alpha = q[alpha], object_weight[alpha]
    x_alpha = ccoords[alpha]
    if use_average_cc_pos > 0:
        qm = q[None, :] * m
        x_mean = (qm @ ccoords) / (qm.sum(1, keepdim=True) + 1e-4)
        x_alpha = use_average_cc_pos * x_mean + (1.0 - use_average_cc_pos) * x_alpha
    sigma2 = dist[alpha].pow(2)[:, None]
    d2 = (ccoords[None, :, :] - x_alpha[:, None, :]).pow(2).sum(-1) / (sigma2 + 1e-4)  # (K, N)
    attraction = torch.log(math.e * d2 / 2.0 + 1.0)
    v_att = q_alpha * (attraction * q[None, :] * m).sum(1) / (count + 1e-3)
    if implementation == "hinge":
        repulsion = torch.relu(1.0 - torch.sqrt(d2 + 1e-6))
    else:
        repulsion = torch.exp(-d2 / 2.0)
    others = 1.0 - m
    v_rep = q_alpha * (repulsion * q[None, :] * others).sum(1) / (others.sum(1) + 1e-3)
    beta_m = torch.where(member, beta[None, :], beta.new_tensor(-1.0 / LSE_EPS))
    soft_max = LSE_EPS * torch.logsumexp(beta_m / LSE_EPS, dim=1)
    beta_sum = (beta[None, :] * m).sum(1)
    b_pen = (1.0 - soft_max) + (1.0 - torch.clamp(beta_sum, 0.0, 1.0))
    exceed = torch.log((1.0 - beta_sum) ** 2 + 1.0)
    pw = beta**2 * torch.clamp(1.0 - torch.clamp(noise + spectator, 0.0, 1.0), 0.0, 1.0) + 1e-6
    pw_m = pw[None, :] * m
    pw_sum = pw_m.sum(1, keepdim=True)
    pw_sum = torch.where(pw_sum <= 0, torch.full_like(pw_sum, 1e-2), pw_sum)
    pll = (pw_m @ payload) / pw_sum  # (K, P)
    k = float(len(objects))
    return OCTerms(
        attractive=(w_alpha * v_att).sum() / k,
        repulsive=(w_alpha * v_rep).sum() / k,
        min_beta=(w_alpha * b_pen).sum() / k,
        noise=noise_term,
        exceed_beta=(w_alpha * exceed).sum() / k,
        payload=(w_alpha[:, None] * pll).sum(0) / k,
    )
