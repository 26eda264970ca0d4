"""The object condensation loss against values computed by hand on a 6-hit, 2-object event."""

from __future__ import annotations

import math

import pytest
import torch

from raytrack.families.gravnet.object_condensation import event_terms
from raytrack.families.gravnet.oc_loss import LossOptions

# Hits 0-2 are object A (t_idx 0), hits 3-4 object B (t_idx 1), hit 5 is noise; a 2-D
# clustering space, distance scale 1, no spectators, object weights 1, q_min 0.5.
BETA = [0.8, 0.4, 0.1, 0.6, 0.2, 0.3]
X = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (3.0, 0.0), (3.0, 1.0), (1.0, 1.0)]
T_IDX = [0, 0, 0, 1, 1, -1]
Q_MIN = 0.5


def q(beta: float) -> float:
    return math.atanh(beta / 1.01) ** 2 + Q_MIN


def d2(i: int, j: int) -> float:
    return ((X[i][0] - X[j][0]) ** 2 + (X[i][1] - X[j][1]) ** 2) / (1.0 + 1e-4)


def att(i: int, alpha: int) -> float:
    return math.log(math.e * d2(i, alpha) / 2 + 1)


def hand_terms(payload: list[float]) -> dict[str, float]:
    """The terms written out for this event (condensation points: hit 0 for A, hit 3 for B)."""
    a, b = [0, 1, 2], [3, 4]
    v_att_a = q(0.8) * sum(q(BETA[j]) * att(j, 0) for j in a) / (3 + 1e-3)
    v_att_b = q(0.6) * sum(q(BETA[j]) * att(j, 3) for j in b) / (2 + 1e-3)
    v_rep_a = q(0.8) * sum(q(BETA[j]) * math.exp(-d2(j, 0) / 2) for j in (3, 4, 5)) / (3 + 1e-3)
    v_rep_b = q(0.6) * sum(q(BETA[j]) * math.exp(-d2(j, 3) / 2) for j in (0, 1, 2, 5)) / (4 + 1e-3)
    b_a = (1 - 0.8) + (1 - min(0.8 + 0.4 + 0.1, 1.0))  # soft max of β is its max here
    b_b = (1 - 0.6) + (1 - min(0.6 + 0.2, 1.0))
    exceed_a = math.log((1 - 1.3) ** 2 + 1)
    exceed_b = math.log((1 - 0.8) ** 2 + 1)
    pw = [BETA[j] ** 2 + 1e-6 for j in range(5)]
    pll_a = sum(pw[j] * payload[j] for j in a) / sum(pw[j] for j in a)
    pll_b = sum(pw[j] * payload[j] for j in b) / sum(pw[j] for j in b)
    return {
        "attractive": (v_att_a + v_att_b) / 2,
        "repulsive": (v_rep_a + v_rep_b) / 2,
        "min_beta": (b_a + b_b) / 2,
        "noise": 1.0 * 0.3 / (1 + 1e-3),  # s_b · mean β of the noise hits
        "exceed_beta": (exceed_a + exceed_b) / 2,
        "payload": (pll_a + pll_b) / 2,
    }


def computed(payload: list[float], **options):
    t = torch.tensor
    return event_terms(
        t(BETA, dtype=torch.float64), t(X, dtype=torch.float64), torch.ones(6, dtype=torch.float64),
        t(payload, dtype=torch.float64)[:, None], t(T_IDX), torch.ones(6, dtype=torch.float64),
        torch.zeros(6, dtype=torch.float64), q_min=Q_MIN, **options,
    )  # fmt: skip


def test_the_terms_equal_the_hand_computed_values():
    payload = [1.0, 2.0, 3.0, 4.0, 5.0, 100.0]
    terms, hand = computed(payload), hand_terms(payload)
    for name in ("attractive", "repulsive", "min_beta", "noise", "exceed_beta"):
        assert float(getattr(terms, name)) == pytest.approx(hand[name], rel=1e-6), name
    assert float(terms.payload[0]) == pytest.approx(hand["payload"], rel=1e-6)
    # The same numbers written down once, so that a change of the formulas above shows too.
    assert float(terms.attractive) == pytest.approx(0.393478, abs=1e-6)
    assert float(terms.repulsive) == pytest.approx(0.084002, abs=1e-6)
    assert float(terms.min_beta) == pytest.approx(0.4, abs=1e-9)  # (0.2 + 0) and (0.4 + 0.2)
    assert float(terms.payload[0]) == pytest.approx(2.661114, abs=1e-6)


def test_the_hinge_repulses_only_within_unit_distance():
    terms = computed([0.0] * 6, implementation="hinge")
    # only the noise hit 5 lies within distance 1 of a condensation point (sqrt(2) from 0: no)
    assert float(terms.repulsive) == pytest.approx(0.0, abs=1e-12)
    moved = list(X)
    X[5] = (0.5, 0.0)
    try:
        near = computed([0.0] * 6, implementation="hinge")
    finally:
        X[:] = moved
    expected = q(0.8) * q(0.3) * (1 - 0.5 / math.sqrt(1 + 1e-4)) / (3 + 1e-3) / 2
    assert float(near.repulsive) == pytest.approx(expected, rel=1e-4)


def test_average_centre_and_gradients():
    terms = computed([0.0] * 6, use_average_cc_pos=1.0)
    assert float(terms.attractive) != pytest.approx(float(computed([0.0] * 6).attractive))
    beta = torch.tensor(BETA, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    out = event_terms(beta, x, torch.ones(6, dtype=torch.float64),
                      torch.zeros(6, 1, dtype=torch.float64), torch.tensor(T_IDX),
                      torch.ones(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64),
                      q_min=Q_MIN)  # fmt: skip
    (out.attractive + out.repulsive + out.min_beta + out.noise).backward()
    assert torch.isfinite(beta.grad).all() and beta.grad[5] > 0  # noise β pushed down
    assert x.grad.abs().sum() > 0


def test_an_event_without_objects_has_only_the_noise_term():
    t = torch.tensor
    terms = event_terms(t([0.2, 0.4]), t([[0.0], [1.0]]), torch.ones(2), torch.zeros(2, 1),
                        t([-1, -1]), torch.ones(2), torch.zeros(2), q_min=Q_MIN)  # fmt: skip
    assert float(terms.noise) == pytest.approx(0.6 / (2 + 1e-3))
    assert float(terms.attractive) == float(terms.repulsive) == float(terms.min_beta) == 0.0


def test_q_min_must_be_positive():
    with pytest.raises(ValueError, match="q_min must be positive"):
        LossOptions(q_min=0.0)
