"""The lab family's declaration (imports nothing heavy)."""

from raytrack.family import DataSource, Evaluator, Family, ModelSpec

family = Family(
    name="lab",
    description="Two Gaussian blobs in a few dimensions, told apart by an MLP",
    models=(
        ModelSpec(
            "lab_mlp",
            builder="labfamily.model:BlobMLP",
            task="labfamily.task:BlobTask",
            sources=("lab_blobs",),
            evaluators=("lab_accuracy",),
            example="labfamily.task:example",
        ),
    ),
    sources=(
        DataSource(
            "lab_blobs", settings="labfamily.source:BlobSettings", produce="labfamily.source:blobs"
        ),
    ),
    evaluators=(
        Evaluator(
            "lab_accuracy",
            settings="labfamily.evaluate:AccuracySettings",
            evaluate="labfamily.evaluate:accuracy",
        ),
    ),
)
