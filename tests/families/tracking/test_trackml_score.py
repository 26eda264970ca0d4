"""The TrackML score: the challenge's definition on the real event and on hand-made events."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest

from raytrack.families.tracking.track_building import (
    connected_components_tracks,
    labels_to_submission,
)
from raytrack.families.tracking.trackml_score import analyze_tracks, trackml_score
from raytrack.families.tracking.walkthrough import walkthrough_tracks


def _truth(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "trackml" / "event000000001-truth.csv.gz")


# ---------------------------------------------------------------- the real event


def test_truth_assignment_scores_one(shared_data):
    truth = _truth(shared_data)
    # The subsample's weights are the full event's (sum 0.0513): normalised, they still give 1.
    assert truth["weight"].sum() == pytest.approx(0.0513, abs=1e-4)
    submission = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": truth["particle_id"]})
    assert trackml_score(truth, submission) == pytest.approx(1.0, abs=1e-12)


def test_truth_assignment_with_noise_as_singletons_scores_one(shared_data):
    truth = _truth(shared_data)
    track = truth["particle_id"].to_numpy().copy()
    noise = track == 0
    track[noise] = -1 - np.arange(noise.sum())  # every noise hit on its own (negative ids)
    submission = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": track})
    assert trackml_score(truth, submission) == pytest.approx(1.0, abs=1e-12)


def test_one_hit_per_track_scores_zero(shared_data):
    truth = _truth(shared_data)
    submission = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": np.arange(len(truth))})
    # A one-hit track is good only for a one-hit particle, and those weigh 0 (order weight needs
    # at least 4 hits): the score is exactly 0.
    assert trackml_score(truth, submission) == 0.0


def test_empty_submission_scores_zero(shared_data):
    truth = _truth(shared_data)
    submission = pd.DataFrame({"hit_id": np.zeros(0, np.int64), "track_id": np.zeros(0, np.int64)})
    assert trackml_score(truth, submission) == 0.0


def test_row_order_does_not_matter(shared_data):
    truth = _truth(shared_data)
    sub = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": truth["particle_id"] % 97})
    a = trackml_score(truth, sub)
    b = trackml_score(truth.sample(frac=1.0, random_state=1), sub.sample(frac=1.0, random_state=2))
    assert a == pytest.approx(b, abs=1e-12)


def _reference_score(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The challenge definition written out plainly, one track at a time (for cross-checks)."""
    track_of = dict(zip(submission["hit_id"], submission["track_id"]))
    particle_hits = Counter(truth["particle_id"])
    weights = {
        h: (0.0 if p == 0 else w)
        for h, p, w in zip(truth["hit_id"], truth["particle_id"], truth["weight"])
    }
    total = sum(weights.values())
    tracks: dict[object, list[tuple[int, int]]] = defaultdict(list)
    for i, (h, p) in enumerate(zip(truth["hit_id"], truth["particle_id"])):
        t = track_of.get(h, ("unassigned", i))
        tracks[t].append((h, p))
    score = 0.0
    for hits in tracks.values():
        counts = Counter(p for _, p in hits)
        best = max(counts.values())
        major = min(p for p, c in counts.items() if c == best)
        if 2 * best > len(hits) and 2 * best > particle_hits[major]:
            score += sum(weights[h] for h, p in hits if p == major)
    return score / total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_plain_reference_on_perturbed_real_submissions(shared_data, seed):
    truth = _truth(shared_data)
    rng = np.random.default_rng(seed)
    track = truth["particle_id"].to_numpy().copy()
    # Reassign a random 20% of the hits to random tracks, split some particles in two and merge
    # some pairs: every kind of good and bad track occurs.
    move = rng.random(len(track)) < 0.2
    track[move] = rng.choice(track, move.sum())
    split = rng.random(len(track)) < 0.1
    track[split] = track[split] + 1
    submission = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": track})
    # Leave a few hits out of the submission (they count as unassigned).
    submission = submission.sample(frac=0.97, random_state=seed)
    expected = _reference_score(truth, submission)
    assert 0.05 < expected < 0.95
    assert trackml_score(truth, submission) == pytest.approx(expected, abs=1e-12)


def test_tracks_built_from_the_true_graph_score_one(shared_data):
    """End to end: true edges -> track building -> submission -> score 1."""
    truth = _truth(shared_data)
    hits = pd.read_csv(shared_data / "trackml" / "event000000001-hits.csv.gz")
    ev = truth.merge(hits[["hit_id", "x", "y", "z"]], on="hit_id")
    dist = ev.x**2 + ev.y**2 + ev.z**2
    ev = ev.assign(d=dist, node=np.arange(len(ev)))
    real = ev[ev.particle_id != 0].sort_values(["particle_id", "d"])
    same = real.particle_id.to_numpy()[1:] == real.particle_id.to_numpy()[:-1]
    nodes = real.node.to_numpy()
    edge_index = np.stack([nodes[:-1][same], nodes[1:][same]])
    scores = np.full(edge_index.shape[1], 0.99)
    n = len(ev)

    cc = connected_components_tracks(edge_index, scores, n, edge_cut=0.5)
    assert trackml_score(ev, labels_to_submission(ev.hit_id, cc)) == pytest.approx(1.0, abs=1e-12)

    # The walk-through drops 2-hit paths; those particles weigh 0 (fewer than 4 hits).
    walk = walkthrough_tracks(edge_index, scores, n, node_order=dist.to_numpy())
    assert (walk >= 0).sum() > 0.8 * (ev.particle_id != 0).sum()
    assert trackml_score(ev, labels_to_submission(ev.hit_id, walk)) == pytest.approx(1.0, abs=1e-12)


# ---------------------------------------------------------------- a hand-made event

# Hits 1-4: particle 1 (weights .4 .3 .3 .2), hits 5-7: particle 2 (.2 .2 .2),
# hits 8-9: particle 3 (.1 .1), hits 10-11: noise (weight 0). Total weight 2.0.
HAND_TRUTH = pd.DataFrame(
    {
        "hit_id": np.arange(1, 12),
        "particle_id": [1, 1, 1, 1, 2, 2, 2, 3, 3, 0, 0],
        "weight": [0.4, 0.3, 0.3, 0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.0, 0.0],
    }
)
# Track 10 = hits 1 2 3 10: majority particle 1 with 3/4 hits (> 1/2), holding 3 of particle 1's
#   4 hits (> 1/2): good, contributes .4 + .3 + .3 = 1.0.
# Track 11 = hits 4 5 6: majority particle 2 with 2/3, holding 2 of its 3 hits: good, .2 + .2 = .4.
# Track 12 = hits 7 8: particles 2 and 3 tie 1-1, majority = the smaller id, 2; 1/2 is not more
#   than half: not good.
# Track 13 = hits 9 11: particle 3 and noise tie; majority noise (id 0); not good.
# Score = (1.0 + 0.4) / 2.0 = 0.7.
HAND_SUBMISSION = pd.DataFrame(
    {
        "hit_id": [1, 2, 3, 10, 4, 5, 6, 7, 8, 9, 11],
        "track_id": [10, 10, 10, 10, 11, 11, 11, 12, 12, 13, 13],
    }
)


def test_hand_made_event():
    assert trackml_score(HAND_TRUTH, HAND_SUBMISSION) == pytest.approx(0.7, abs=1e-12)


def test_hand_made_event_track_table():
    table = analyze_tracks(HAND_TRUTH, HAND_SUBMISSION).set_index("track_id")
    columns = ["nhits", "major_particle_id", "major_nhits", "major_particle_nhits"]
    assert table.loc[10, columns].tolist() == [4, 1, 3, 4]
    assert table.loc[11, "major_particle_id"] == 2
    assert table.loc[11, "major_weight"] == pytest.approx(0.2)
    assert table.loc[12, "major_particle_id"] == 2  # tie -> smaller particle id
    assert table.loc[13, "major_particle_id"] == 0  # tie with noise -> noise (id 0)
    assert table["good"].tolist() == [True, True, False, False]


def test_hand_made_event_variants():
    sub = HAND_SUBMISSION.copy()
    # Put particle 3's two hits together (hits 8 and 9): 2/2 and 2/2, good: + .2 / 2.0 = .1.
    sub.loc[sub.hit_id == 9, "track_id"] = 12
    sub.loc[sub.hit_id == 7, "track_id"] = 14
    # Track 12 = hits 8 9 -> 0.7 + 0.1; track 14 = hit 7 alone (1 of particle 2's 3 hits): no.
    assert trackml_score(HAND_TRUTH, sub) == pytest.approx(0.8, abs=1e-12)
    # String track ids are labels like any other.
    sub_str = sub.assign(track_id=sub.track_id.map(lambda t: f"trk{t}"))
    assert trackml_score(HAND_TRUTH, sub_str) == pytest.approx(0.8, abs=1e-12)


def test_hits_left_out_of_the_submission_are_one_hit_tracks():
    truth = pd.concat(
        [HAND_TRUTH, pd.DataFrame({"hit_id": [12], "particle_id": [4], "weight": [0.5]})],
        ignore_index=True,
    )
    # Hit 12 (particle 4's only hit, weight .5) is not submitted: as its own track it is good.
    # Total weight 2.5; score = (1.0 + 0.4 + 0.5) / 2.5.
    assert trackml_score(truth, HAND_SUBMISSION) == pytest.approx(1.9 / 2.5, abs=1e-12)
    # Same when it is submitted with a missing track id.
    sub = pd.concat(
        [HAND_SUBMISSION, pd.DataFrame({"hit_id": [12], "track_id": [np.nan]})], ignore_index=True
    )
    assert trackml_score(truth, sub) == pytest.approx(1.9 / 2.5, abs=1e-12)


def test_noise_weight_is_ignored_as_the_challenge_defines():
    noisy = HAND_TRUTH.copy()
    noisy.loc[noisy.particle_id == 0, "weight"] = 5.0
    assert trackml_score(noisy, HAND_SUBMISSION) == pytest.approx(0.7, abs=1e-12)
    noise_track = pd.DataFrame({"hit_id": noisy.hit_id, "track_id": noisy.particle_id})
    assert trackml_score(noisy, noise_track) == pytest.approx(1.0, abs=1e-12)


# ---------------------------------------------------------------- validation


def test_missing_columns():
    with pytest.raises(ValueError, match=r"truth is missing column\(s\) \['weight'\]"):
        trackml_score(HAND_TRUTH.drop(columns="weight"), HAND_SUBMISSION)
    with pytest.raises(ValueError, match=r"submission is missing column\(s\) \['track_id'\]"):
        trackml_score(HAND_TRUTH, HAND_SUBMISSION.rename(columns={"track_id": "track"}))


def test_duplicate_hit_ids():
    dup_truth = pd.concat([HAND_TRUTH, HAND_TRUTH.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="truth has 2 rows with a duplicated hit_id"):
        trackml_score(dup_truth, HAND_SUBMISSION)
    dup_sub = pd.concat([HAND_SUBMISSION, HAND_SUBMISSION.iloc[[2]]], ignore_index=True)
    with pytest.raises(ValueError, match="submission has 2 rows with a duplicated hit_id"):
        trackml_score(HAND_TRUTH, dup_sub)


def test_submission_hits_not_in_truth():
    sub = pd.concat(
        [HAND_SUBMISSION, pd.DataFrame({"hit_id": [99, 98], "track_id": [1, 1]})], ignore_index=True
    )
    with pytest.raises(ValueError, match=r"2 hit id\(s\) that are not in truth, e.g. \[99, 98\]"):
        trackml_score(HAND_TRUTH, sub)


def test_bad_weights_and_types():
    with pytest.raises(ValueError, match="non-negative"):
        trackml_score(HAND_TRUTH.assign(weight=-HAND_TRUTH.weight), HAND_SUBMISSION)
    with pytest.raises(ValueError, match="total weight"):
        trackml_score(HAND_TRUTH.assign(weight=0.0), HAND_SUBMISSION)
    with pytest.raises(TypeError, match="DataFrame"):
        trackml_score(HAND_TRUTH.to_dict(), HAND_SUBMISSION)
