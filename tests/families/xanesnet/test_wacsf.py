"""wACSF against the published formulas, evaluated by hand for a three-atom molecule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from raytrack.families.xanesnet.structure import Structure
from raytrack.families.xanesnet.wacsf import WACSF, WacsfParams

# Fe at the origin, O on x at 2 Å, C on y at 3 Å: one pair (j, k) at 90°, r_jk = sqrt(13) Å.
MOLECULE = Structure("FeOC", np.array([26, 8, 6]), np.array([[0, 0, 0], [2, 0, 0], [0, 3, 0.0]]))


def fc(r, r_max=6.0):
    return 0.5 * (math.cos(math.pi * r / r_max) + 1.0) if r < r_max else 0.0


def test_g1_g2_and_g4_match_a_hand_computation():
    params = WacsfParams(r_min=1.0, r_max=6.0, n_g2=2, n_g4=2)  # l = [1, -1], z = [1]
    features = WACSF(params)(MOLECULE, 0)
    assert features.shape == (5,)
    assert features[0] == pytest.approx(fc(2.0) + fc(3.0))  # G1
    # G2, shifted: centres 1.5 and 5.5 Å, width eta = 1 / (2 * 4^2)
    eta = 1.0 / 32.0
    for index, mu in enumerate((1.5, 5.5)):
        expected = sum(
            0.1 * z * math.exp(-eta * (r - mu) ** 2) * fc(r) for z, r in ((8, 2.0), (6, 3.0))
        )
        assert features[1 + index] == pytest.approx(expected)
    # G4, centred: one radial function (n_g4 / 2 pairs of lambda), r_s = 2 Å → eta = 1/8, mu = 0
    eta, r_jk = 1.0 / 8.0, math.sqrt(13.0)
    radial = 0.8 * 0.6 * math.prod(math.exp(-eta * r * r) * fc(r) for r in (2.0, 3.0, r_jk))
    cos = 0.0  # 90 degrees
    assert features[3] == pytest.approx(radial * (1 + cos))  # lambda = +1, zeta = 1: 2^0
    assert features[4] == pytest.approx(radial * (1 - cos))  # lambda = -1


def test_the_cutoff_is_zero_beyond_r_max_for_every_pair():
    far = Structure("far", np.array([26, 8, 8]), np.array([[0, 0, 0], [1.9, 0, 0], [-1.9, 0, 0.0]]))
    # r_jk = 3.8 Å > r_max = 3.5: Behler's cutoff removes the pair (the reference's does not)
    features = WACSF(WacsfParams(r_min=0.0, r_max=3.5, n_g2=2, n_g4=2))(far, 0)
    assert features[0] == pytest.approx(2 * fc(1.9, 3.5))
    assert np.all(features[3:] == 0.0)


def test_an_isolated_atom_and_the_feature_count():
    alone = Structure("Fe", np.array([26]), np.zeros((1, 3)))
    wacsf = WACSF(WacsfParams())
    assert wacsf.n_features == 49 and np.all(wacsf(alone, 0) == 0.0)


def test_parameters_are_checked_with_their_names():
    with pytest.raises(ValidationError, match="n_g4 must be a multiple of len"):
        WacsfParams(n_g4=5)
    with pytest.raises(ValidationError, match="n_g2: shifted radial functions need at least 2"):
        WacsfParams(n_g2=1)
    with pytest.raises(ValidationError, match="r_max - 0.5 Å, which is empty"):
        WacsfParams(r_min=2.0, r_max=2.5)
    with pytest.raises(ValidationError, match=r"lambda \(l\) must lie in \[-1, 1\]"):
        WacsfParams(l=[2.0, -1.0])
