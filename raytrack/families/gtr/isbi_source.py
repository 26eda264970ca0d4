"""ISBI 2012 particle-tracking challenge ground truth (XML) as GTR clips.

Chenouard et al., "Objective comparison of particle tracking methods", Nature Methods 11 (2014)
281: ``<TrackContestISBI2012><particle><detection t x y z/>...</particle>...``, one
``particle`` per track. Each spot becomes a point instance with a box of ``crop_size + 2
padding`` pixels around it (biogtr's ``MicroscopyDataset`` sizes); the challenge's images are
not part of the files, so these stores hold no crops (``use_vis_feats: false``).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from pydantic import Field

from raytrack.families.gtr.clip import clip_schema
from raytrack.families.gtr.clip_rows import ClipSettings, VideoTable, clip_rows, plan_clips
from raytrack.families.gtr.video import square_box
from raytrack.family import SourceOutput


class IsbiSettings(ClipSettings):
    """ISBI 2012 challenge XML files."""

    path: str = Field(description="an ISBI 2012 XML file, or a folder of them")
    clip_length: int = Field(10, ge=1, description="frames per clip (chunk: true)")
    crop_size: int = Field(20, ge=1, description="side of the box around each spot (pixels)")
    padding: int = Field(5, ge=0, description="pixels added around every crop_size box")
    image_size: tuple[int, int] = Field((512, 512), description="width, height of the "
                                        "challenge's images (pixels)")  # fmt: skip


def read_isbi(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(track ids (n,), frames (n,), positions x y (n, 2))`` of one ISBI XML file."""
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as err:
        raise ValueError(f"{path} is not XML: {err}") from None
    contest = root if root.tag == "TrackContestISBI2012" else root.find("TrackContestISBI2012")
    if contest is None:
        raise ValueError(f"{path} has no TrackContestISBI2012 element: not ISBI 2012 tracks")
    tracks, frames, points = [], [], []
    for track, particle in enumerate(contest.iter("particle")):
        for detection in particle.iter("detection"):
            try:
                frames.append(int(float(detection.attrib["t"])))
                points.append((float(detection.attrib["x"]), float(detection.attrib["y"])))
            except (KeyError, ValueError) as err:
                raise ValueError(
                    f"{path}: a detection of particle {track} lacks t, x or y ({err})"
                ) from None
            tracks.append(track)
    if not frames:
        raise ValueError(f"{path} holds no detection")
    return np.asarray(tracks), np.asarray(frames), np.asarray(points, np.float64)


def isbi_clips(settings: IsbiSettings, *, count: None = None, seed: None = None) -> SourceOutput:
    """Every clip of the ISBI XML file(s) at ``settings.path``."""
    path = Path(settings.path).expanduser()
    files = sorted(path.glob("*.xml")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise FileNotFoundError(f"path: no ISBI XML file at {path}")
    side = settings.crop_size + 2 * settings.padding
    tables = []
    for index, file in enumerate(files):
        tracks, frames, points = read_isbi(file)
        order = np.lexsort((tracks, frames))
        tables.append(
            VideoTable(
                name=file.stem, index=index, source=str(file), image_size=settings.image_size,
                geometry="point", frame_ids=np.arange(frames.min(), frames.max() + 1),
                frame=frames[order], track_id=tracks[order],
                box=square_box(points[order], side)[:, None, :], centroid=points[order],
            )
        )  # fmt: skip
    plan = plan_clips(tables, settings)
    provenance = {"reader": "raytrack gtr isbi", "files": [str(f.resolve()) for f in files],
                  "clips": len(plan), "geometry": "point"}  # fmt: skip
    return SourceOutput(clip_rows(tables, plan), clip_schema(1, None), provenance)
