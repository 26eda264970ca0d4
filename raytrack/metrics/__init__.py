"""Stage metrics, track building from scored hit graphs, track-level metrics and the TrackML score.

- :mod:`raytrack.metrics.edges`: edge-level (stage) metrics;
- :mod:`raytrack.metrics.track_building`: track candidates from GNN edge scores (connected
  components above ``edge_cut``), ``build_tracks`` and TrackML submissions;
- :mod:`raytrack.metrics.walkthrough`: connected components + walk-through (acorn's CCandWalk);
- :mod:`raytrack.metrics.matching`: candidate-to-particle matching (ATLAS, one-way, two-way /
  double majority), tracking efficiency, fake and duplicate rates;
- :mod:`raytrack.metrics.trackml_score`: the TrackML challenge score,
  ``trackml_score(truth, submission)``.
"""

from raytrack.metrics import edges
from raytrack.metrics.edges import *  # noqa: F403  (its __all__)
from raytrack.metrics.matching import (
    MATCHING_STYLES,
    TrackingMetrics,
    match_tracks,
    tracking_metrics,
)
from raytrack.metrics.track_building import (
    build_tracks,
    connected_components_tracks,
    labels_to_submission,
    orient_edges,
    topological_order,
)
from raytrack.metrics.trackml_score import analyze_tracks, trackml_score
from raytrack.metrics.walkthrough import walkthrough_tracks

__all__ = [
    "MATCHING_STYLES",
    "TrackingMetrics",
    "analyze_tracks",
    "build_tracks",
    "connected_components_tracks",
    "labels_to_submission",
    "match_tracks",
    "orient_edges",
    "topological_order",
    "trackml_score",
    "tracking_metrics",
    "walkthrough_tracks",
    *edges.__all__,
]
