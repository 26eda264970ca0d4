"""The XANESNET family's declaration: six modes between structures and X-ray absorption spectra.

XANESNET (NewcastleRSE/XANESNET; C. D. Rankine, M. M. M. Madkhali and T. J. Penfold, J. Phys.
Chem. A 124 (2020) 4263) predicts an X-ray absorption near-edge spectrum from a descriptor of
the absorbing atom's environment, or that descriptor from a spectrum. Each mode keeps the
reference's name and hyperparameter names; ``direction`` picks the way.
"""

from raytrack.family import DataSource, Evaluator, Family, ModelSpec

_HERE = "raytrack.families.xanesnet"
_MODES = {
    "mlp": ("multilayer perceptron", "task:XanesTask"),
    "cnn": ("1-D convolutions and two dense layers", "task:XanesTask"),
    "lstm": ("bidirectional LSTM and a dense head", "task:XanesTask"),
    "ae_mlp": ("dense autoencoder of the input with a prediction head", "ae_task:AutoencoderTask"),
    "ae_cnn": ("convolutional autoencoder with a prediction head", "ae_task:AutoencoderTask"),
    "aegan_mlp": ("autoencoding GAN learning both directions (two optimizers)",
                  "aegan_task:AEGANTask"),
}  # fmt: skip

family = Family(
    name="xanesnet",
    description="XANESNET: structure <-> X-ray absorption spectrum (Rankine et al. 2020)",
    models=tuple(
        ModelSpec(
            name,
            builder=f"{_HERE}.builders:build_{name}",
            task=f"{_HERE}.{task}",
            description=f"XANESNET {name}: {what}",
            sources=("xyz_xanes",),
            evaluators=("xanes_spectra",),
            example=f"{_HERE}.examples:{name}_example",
        )
        for name, (what, task) in _MODES.items()
    ),
    sources=(
        DataSource(
            "xyz_xanes",
            settings=f"{_HERE}.source:XyzXanesSettings",
            produce=f"{_HERE}.source:xyz_xanes",
            kind="reader",
            description="a folder of .xyz structures and a folder of FDMNES spectra, paired by "
            "file stem; descriptors (wACSF or SOAP) computed, spectra on one energy grid",
            describe=f"{_HERE}.source:describe_store",
        ),
    ),
    evaluators=(
        Evaluator(
            "xanes_spectra",
            settings=f"{_HERE}.evaluate:SpectraSettings",
            evaluate=f"{_HERE}.evaluate:evaluate_spectra",
            description="held-out MSE, edge and peak positions (eV), baselines (mean training "
            "spectrum, nearest neighbour) with a one-sided paired test, a PNG of the spectra",
        ),
    ),
)
