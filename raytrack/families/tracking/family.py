"""The shared tracking package's declaration: its data sources, evaluators and commands."""

from raytrack.family import DataSource, Evaluator, Family

_HERE = "raytrack.families.tracking"

family = Family(
    name="tracking",
    description="Particle-tracking events: TrackML-like simulation and reader, track evaluation",
    sources=(
        DataSource(
            "detector_sim",
            settings=f"{_HERE}.sim_settings:SimulationSettings",
            produce=f"{_HERE}.sources:simulated_events",
            kind="simulator",
            description="TrackML-like events: helices in a solenoid field through a barrel and "
            "endcap silicon tracker, with multiple scattering, resolution, noise and pile-up "
            "scaled by rfactor",
            describe=f"{_HERE}.sources:describe_store",
        ),
        DataSource(
            "trackml",
            settings=f"{_HERE}.sources:TrackMLSettings",
            produce=f"{_HERE}.sources:trackml_events",
            kind="reader",
            description="TrackML (or ACTS) CSV events: eventNNN-{hits,truth,particles,cells}"
            ".csv[.gz]; a detectors.csv[.gz] beside them adds the Exa.TrkX cell features",
            describe=f"{_HERE}.sources:describe_store",
        ),
    ),
    evaluators=(
        Evaluator(
            "tracks",
            settings=f"{_HERE}.track_settings:TrackSettings",
            evaluate=f"{_HERE}.tracks:evaluate_tracks",
            description="tracks from an edge classifier's scores (connected components or "
            "walk-through): efficiency, fake and duplicate rates, TrackML score",
        ),
        Evaluator(
            "graph",
            settings=f"{_HERE}.graph_evaluation:GraphSettings",
            evaluate=f"{_HERE}.graph_evaluation:evaluate_graph",
            description="truth-edge efficiency and purity of a graph stage's output graphs",
        ),
    ),
    commands=(f"{_HERE}.commands:add_commands",),
)
