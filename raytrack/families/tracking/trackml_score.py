"""The TrackML challenge score of one event, vectorised.

Definition (the challenge's, as implemented by the official ``trackml-library``,
``trackml/score.py``: ``score_event`` and ``_analyze_tracks``):

1. Every reconstructed track (hits sharing a ``track_id`` in the submission) gets its *majority
   particle*: the ``particle_id`` with the most hits in the track. Ties go to the smallest
   ``particle_id`` (the official code walks the hits sorted by ``(track_id, particle_id)`` and only
   replaces the running majority on a strictly larger count). A tie can never make a track count
   (two particles with ``c`` hits each in a track of ``n`` hits means ``c / n <= 0.5``), so the tie
   rule only shows in :func:`analyze_tracks`, never in the score.
2. A track is *good* when more than half of its hits belong to its majority particle **and** more
   than half of that particle's hits (counted over the whole truth table) are in the track.
3. The score is the sum, over good tracks, of the weights of the track's hits that belong to its
   majority particle, divided by the total weight of the event's hits.

Conventions of this implementation, each the official behaviour unless said otherwise:

- ``particle_id == 0`` is noise. The challenge gives noise hits weight 0 (``trackml.weights``:
  "hits w/ invalid particle ids, e.g. noise hits, have zero weight"); here noise weights are
  *treated* as 0 whatever the truth table says, so an event whose generator gave noise hits a
  weight is scored as the challenge defines it. (The real event in ``../shared/data/trackml``
  already has weight 0 on all its 829 noise hits; its weights sum to 0.0513, not 1, because it
  is a subsample of a full event, and they are normalised by their total here.)
- Hits of the truth table that the submission leaves out (or gives a missing ``track_id``)
  count as unassigned: each is its own one-hit track. The official code does the same (its
  left merge makes their ``track_id`` NaN, and no NaN equals the next).
- ``track_id`` values are opaque labels: any integers (negative ones included) or strings; all
  hits with the same value are one track.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NOISE_PARTICLE_ID = 0
"""``particle_id`` of noise hits (TrackML convention)."""

TRUTH_COLUMNS = ("hit_id", "particle_id", "weight")
SUBMISSION_COLUMNS = ("hit_id", "track_id")


def _require_frame(frame: object, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {missing}; it needs {list(columns)} "
            f"(has {list(frame.columns)})"
        )
    return frame


def _require_unique_hits(hit_id: pd.Series, name: str) -> None:
    dup = hit_id.duplicated(keep=False)
    if dup.any():
        examples = pd.unique(hit_id[dup])[:5].tolist()
        raise ValueError(
            f"{name} has {int(dup.sum())} rows with a duplicated hit_id "
            f"({len(pd.unique(hit_id[dup]))} distinct hit ids, e.g. {examples}); "
            "every hit must appear once"
        )


def _merged(truth: pd.DataFrame, submission: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Validate the inputs; one row per truth hit (track code, particle, weight) and the
    submission's distinct ``track_id`` values (code ``i`` is ``uniques[i]``; codes past the end
    are the one-hit tracks of unassigned hits)."""
    truth = _require_frame(truth, "truth", TRUTH_COLUMNS)
    submission = _require_frame(submission, "submission", SUBMISSION_COLUMNS)
    if truth["hit_id"].isna().any() or submission["hit_id"].isna().any():
        raise ValueError("hit_id must not be missing (NaN) in truth or submission")
    if truth["particle_id"].isna().any():
        raise ValueError("truth has missing (NaN) particle_id values")
    _require_unique_hits(truth["hit_id"], "truth")
    _require_unique_hits(submission["hit_id"], "submission")

    weight = pd.to_numeric(truth["weight"], errors="raise").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(weight)):
        raise ValueError("truth weights must be finite numbers")
    if np.any(weight < 0):
        raise ValueError("truth weights must be non-negative")

    unknown = ~submission["hit_id"].isin(truth["hit_id"])
    if unknown.any():
        examples = submission["hit_id"][unknown].head(5).tolist()
        raise ValueError(
            f"submission has {int(unknown.sum())} hit id(s) that are not in truth, e.g. {examples}"
        )

    # Position of each truth hit in the submission (-1: not submitted).
    sub_hits = pd.Index(submission["hit_id"])
    pos = sub_hits.get_indexer(truth["hit_id"])
    codes, uniques = pd.factorize(submission["track_id"], use_na_sentinel=True)
    track = np.full(len(truth), -1, dtype=np.int64)
    submitted = pos >= 0
    track[submitted] = codes[pos[submitted]]
    # Unassigned hits (not submitted, or NaN track_id): each its own track.
    unassigned = track < 0
    track[unassigned] = len(uniques) + np.arange(int(unassigned.sum()), dtype=np.int64)

    particle = truth["particle_id"].to_numpy()
    weight = np.where(particle == NOISE_PARTICLE_ID, 0.0, weight)
    event = pd.DataFrame({"track": track, "particle_id": particle, "weight": weight})
    return event, np.asarray(uniques, dtype=object)


def analyze_tracks(truth: pd.DataFrame, submission: pd.DataFrame) -> pd.DataFrame:
    """Per reconstructed track: its majority particle and the counts the score is made of.

    Returns one row per track with columns ``track_id`` (the submission's value; NaN for the
    one-hit tracks of unassigned hits), ``nhits``, ``major_particle_id``,
    ``major_particle_nhits`` (that particle's hits in the whole truth table), ``major_nhits``
    (its hits in the track), ``major_weight`` (their normalised weight) and ``good`` (the
    double-majority condition of the score). Same columns as the official ``_analyze_tracks``,
    plus ``good``.
    """
    event, uniques = _merged(truth, submission)
    total = float(event["weight"].sum())
    if not total > 0:
        raise ValueError(
            "the total weight of the non-noise truth hits is zero; the TrackML score is undefined"
        )

    particle_nhits = event.groupby("particle_id", sort=False).size()
    pairs = (
        event.groupby(["track", "particle_id"], sort=False)["weight"]
        .agg(["size", "sum"])
        .reset_index()
    )
    track_nhits = pairs.groupby("track", sort=False)["size"].sum()
    # Majority particle per track: most hits, ties to the smallest particle_id.
    pairs = pairs.sort_values(["track", "size", "particle_id"], ascending=[True, False, True])
    major = pairs.drop_duplicates("track", keep="first").set_index("track")

    out = pd.DataFrame(
        {
            "nhits": track_nhits.reindex(major.index).to_numpy(),
            "major_particle_id": major["particle_id"].to_numpy(),
            "major_particle_nhits": particle_nhits.reindex(major["particle_id"]).to_numpy(),
            "major_nhits": major["size"].to_numpy(),
            "major_weight": major["sum"].to_numpy() / total,
        },
        index=major.index,
    )
    out["good"] = (2 * out["major_nhits"] > out["nhits"]) & (
        2 * out["major_nhits"] > out["major_particle_nhits"]
    )

    # Map the internal track codes back to the submission's track_id values.
    out.insert(0, "track_id", pd.Series(uniques, dtype=object).reindex(out.index).to_numpy())
    return out.reset_index(drop=True)


def trackml_score(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The TrackML score of one event (1.0 for a perfect reconstruction, 0.0 for none).

    Args:
        truth: one row per hit with ``hit_id``, ``particle_id`` (0 for noise) and ``weight``
            (any non-negative scale; normalised by the total here).
        submission: one row per hit with ``hit_id`` and ``track_id``. Hits of ``truth`` that it
            leaves out count as unassigned (each its own one-hit track).

    Raises:
        ValueError: a column is missing, a ``hit_id`` repeats within either frame, the
            submission names a hit that ``truth`` lacks, weights are negative or not finite, or
            the non-noise weights sum to zero.
        TypeError: an argument is not a DataFrame.

    See the module docstring for the exact definition and its conventions.
    """
    tracks = analyze_tracks(truth, submission)
    return float(tracks.loc[tracks["good"], "major_weight"].sum())
