"""Shared by the particle-tracking families (Exa.TrkX, HyperTrack, GravNet).

Events (:mod:`.event`) and their store layout (:mod:`.event_store`); truth graphs
(:mod:`.truth`: modulewise, layerwise, node2node) and the dataset options (:mod:`.options`); the
TrackML-like detector simulation (:mod:`.simulate`) and the TrackML/ACTS reader
(:mod:`.trackml`), declared as the data sources ``detector_sim`` and ``trackml``
(:mod:`.sources`); edge metrics (:mod:`.edge_metrics`); track building (:mod:`.track_building`,
:mod:`.walkthrough`), matching (:mod:`.matching`) and the TrackML score
(:mod:`.trackml_score`), declared as the evaluators ``tracks`` and ``graph``.
"""
