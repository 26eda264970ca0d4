"""The gtr family's declaration: the global tracking transformer, its data sources and evaluator."""

from raytrack.family import DataSource, Evaluator, Family, ModelSpec

_HERE = "raytrack.families.gtr"
_PAPER = "(Zhou et al. 2022, arXiv:2203.13250; biogtr/DREEM, talmolab)"

family = Family(
    name="gtr",
    description=f"Global tracking transformers for animals and cells {_PAPER}",
    models=(
        ModelSpec(
            "gtr",
            builder=f"{_HERE}.global_tracking_transformer:GlobalTrackingTransformer",
            task=f"{_HERE}.gtr_task:GTRTask",
            description="global tracking transformer: associates the detections of a window of "
            f"frames; sliding-window tracker, MOT metrics {_PAPER}",
            sources=("moving_objects", "sleap", "isbi", "motchallenge"),
            evaluators=("mot",),
            example=f"{_HERE}.examples:gtr_example",
        ),
    ),
    sources=(
        DataSource(
            "moving_objects",
            settings=f"{_HERE}.sim_settings:MovingObjectsSettings",
            produce=f"{_HERE}.simulator:moving_objects",
            kind="simulator",
            description="clips of simulated moving objects (constant velocity and random walks) "
            "with births, deaths, occlusions, crossings, detection noise and rendered crops",
        ),
        DataSource(
            "sleap",
            settings=f"{_HERE}.sleap_source:SleapSettings",
            produce=f"{_HERE}.sleap_source:sleap_clips",
            kind="reader",
            description="SLEAP pose labels (.slp, sleap-io) and their videos (PyAV): anchor "
            "boxes and image crops per instance",
        ),
        DataSource(
            "isbi",
            settings=f"{_HERE}.isbi_source:IsbiSettings",
            produce=f"{_HERE}.isbi_source:isbi_clips",
            kind="reader",
            description="ISBI 2012 particle-tracking challenge XML: spots over frames",
        ),
        DataSource(
            "motchallenge",
            settings=f"{_HERE}.mot_source:MotSettings",
            produce=f"{_HERE}.mot_source:mot_clips",
            kind="reader",
            description="MOTChallenge text (frame,id,x,y,w,h,conf,...): the true boxes of gt.txt",
        ),
    ),
    evaluators=(
        Evaluator(
            "mot",
            settings=f"{_HERE}.evaluate_settings:MotEvaluationSettings",
            evaluate=f"{_HERE}.evaluate:evaluate_mot",
            description="track clips with the trained transformer and with the baseline "
            "(Hungarian on IoU or centre distance); MOTA, MOTP, IDF1, ID switches, ... of both "
            "(py-motmetrics)",
        ),
    ),
    commands=(f"{_HERE}.commands:add_commands",),
)
