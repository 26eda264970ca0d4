"""Tiny real inputs for the contract suite (:mod:`raytrack.tasks.contract`) of every mode.

Four Fe K-edge structures and spectra of XANESNET's own data set (``shared/data/xanes/fe``
beside the project, or ``$RAYTRACK_SHARED_DATA/xanes/fe``), read by the ``xyz_xanes`` reader
with a small wACSF (``n_g2: 4, n_g4: 4``: 9 features) onto a 24-point grid, so that every mode
runs in a fraction of a second. Where that data is absent (an installed package), four ideal
Fe complexes (octahedral, tetrahedral, square planar, square pyramidal) with model spectra (an
arctangent edge and a Lorentzian white line placed by coordination) are written to a temporary
folder and read by the same reader.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from raytrack.family import ContractExample

N_DESCRIPTOR, N_POINTS = 9, 24
SETTINGS = {
    "xyz_path": "xyz_train", "xanes_path": "xanes_train", "unpaired": "drop",
    "e_min": 7100.0, "e_max": 7160.0, "n_points": N_POINTS,
    "descriptor": {"type": "wacsf", "params": {"n_g2": 4, "n_g4": 4}},
}  # fmt: skip
SIZES = {"n_descriptor": N_DESCRIPTOR, "n_points": N_POINTS}


def fe_data_dir() -> Path | None:
    """XANESNET's Fe K-edge data, where the project's shared data lies; None elsewhere."""
    roots = [
        os.environ.get("RAYTRACK_SHARED_DATA"),
        Path(__file__).resolve().parents[3].parent / "shared" / "data",
    ]
    for root in roots:
        if root and (Path(root) / "xanes" / "fe" / "xyz_train").is_dir():
            return Path(root) / "xanes" / "fe"
    return None


def _ideal_complexes(folder: Path) -> Path:
    shapes = {
        "octahedral": (
            8,
            2.00,
            [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)],
        ),
        "tetrahedral": (17, 2.20, [(1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)]),
        "square_planar": (7, 1.95, [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0)]),
        "square_pyramidal": (8, 2.05, [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1)]),
    }
    (folder / "xyz_train").mkdir()
    (folder / "xanes_train").mkdir()
    energy = np.linspace(7097.0, 7172.0, 226)
    for stem, (z, bond, directions) in shapes.items():
        unit = np.asarray(directions, float) / np.linalg.norm(directions, axis=1, keepdims=True)
        lines = [f"{1 + len(unit)}", stem, "26 0.0 0.0 0.0"]
        lines += [f"{z} {x:.6f} {y:.6f} {w:.6f}" for x, y, w in bond * unit]
        (folder / "xyz_train" / f"{stem}.xyz").write_text("\n".join(lines) + "\n")
        edge = 7118.0 + 2.0 * len(unit)
        mu = (
            0.5
            + np.arctan((energy - edge) / 1.5) / np.pi
            + 0.6 / (1 + ((energy - edge - 6) / 3) ** 2)
        )
        body = "\n".join(f"{e:.2f} {m:.7e}" for e, m in zip(energy, mu))
        (folder / "xanes_train" / f"{stem}.txt").write_text(f"FDMNES\nenergy <xanes>\n{body}\n")
    return folder


@lru_cache(maxsize=1)
def example_rows() -> tuple[dict, ...]:
    """Four rows of an ``xyz_xanes`` store (real Fe data where present)."""
    from raytrack.families.xanesnet.source import XyzXanesSettings, xyz_xanes

    data = fe_data_dir()
    with tempfile.TemporaryDirectory(prefix="xanesnet-example-") as tmp:
        path = data if data is not None else _ideal_complexes(Path(tmp))
        output = xyz_xanes(XyzXanesSettings(path=str(path), **SETTINGS))
        rows = []
        for row in output.rows:
            rows.append({k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in row.items()})
            if len(rows) == 4:
                break
    return tuple(rows)


def _example(**hparams) -> ContractExample:
    return ContractExample({**SIZES, **hparams}, list(example_rows()))


def mlp_example() -> ContractExample:
    return _example(hidden_size=8, num_hidden_layers=2, shrink_rate=0.5, loss_reg_type="L2")


def cnn_example() -> ContractExample:
    return _example(hidden_size=8, out_channel=2, channel_mul=2, num_conv_layers=2)


def ae_mlp_example() -> ContractExample:
    return _example(hidden_size=8, num_hidden_layers=2, shrink_rate=0.5, direction="xanes_to_xyz")


def ae_cnn_example() -> ContractExample:
    return _example(hidden_size=8, out_channel=2, channel_mul=2, num_conv_layers=2)


def lstm_example() -> ContractExample:
    return _example(hidden_size=4, hidden_out_size=4, num_layers=1, loss_fn="wcc", loss_args=3.0)


def aegan_mlp_example() -> ContractExample:
    return _example(hidden_size=8, n_hl_gen=1, n_hl_shared=1, n_hl_dis=1)
