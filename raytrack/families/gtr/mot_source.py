"""MOTChallenge ground truth (``gt.txt``) as GTR clips of boxes.

Every true box (``conf >= 1``, as py-motmetrics' MOTChallenge evaluation keeps) becomes a
``box`` instance with its track id; boxes match the truth at IoU >= ``data.options.iou_threshold``.
The image size comes from the sequence's ``seqinfo.ini`` when it has one, else from
``image_size``, else from the largest box corner (recorded in the store's provenance). The
frames' images are not read: these stores hold no crops (``use_vis_feats: false``).
"""

from __future__ import annotations

import configparser
import math
from pathlib import Path

import numpy as np
from pydantic import Field

from raytrack.families.gtr.clip import clip_schema
from raytrack.families.gtr.clip_rows import ClipSettings, VideoTable, clip_rows, plan_clips
from raytrack.families.gtr.motchallenge import corners, read_mot
from raytrack.family import SourceOutput


class MotSettings(ClipSettings):
    """MOTChallenge sequences."""

    path: str = Field(description="a gt.txt file, a sequence folder (gt.txt or gt/gt.txt), or "
                      "a folder of sequence folders")  # fmt: skip
    image_size: tuple[int, int] | None = Field(None, description="width, height (pixels) when "
                                               "a sequence has no seqinfo.ini")  # fmt: skip


def sequence_files(path: Path) -> list[tuple[str, Path]]:
    """``(sequence name, gt file)`` of every sequence at ``path``."""
    if path.is_file():
        folder = path.parent.parent if path.parent.name == "gt" else path.parent
        return [(folder.name, path)]
    if not path.is_dir():
        raise FileNotFoundError(f"path: no MOTChallenge file or folder {path}")
    found = []
    for folder in [path, *sorted(p for p in path.iterdir() if p.is_dir())]:
        for candidate in (folder / "gt.txt", folder / "gt" / "gt.txt"):
            if candidate.is_file():
                found.append((folder.name, candidate))
                break
    if not found:
        raise FileNotFoundError(f"path: no gt.txt (or gt/gt.txt) in {path} or its folders")
    return found


def _image_size(
    folder: Path, given: tuple[int, int] | None, boxes: np.ndarray
) -> tuple[tuple[int, int], str]:
    info = folder / "seqinfo.ini"
    if info.is_file():
        parser = configparser.ConfigParser()
        parser.read(info)
        section = parser["Sequence"]
        return (int(section["imWidth"]), int(section["imHeight"])), "seqinfo.ini"
    if given is not None:
        return given, "image_size"
    width = max(1, math.ceil(float(boxes[:, 2].max())))
    height = max(1, math.ceil(float(boxes[:, 3].max())))
    return (width, height), "largest box corner"


def mot_clips(settings: MotSettings, *, count: None = None, seed: None = None) -> SourceOutput:
    """Every clip of the MOTChallenge sequence(s) at ``settings.path``."""
    tables, files, sizes = [], [], {}
    for index, (name, gt_file) in enumerate(sequence_files(Path(settings.path).expanduser())):
        boxes = read_mot(gt_file, min_confidence=1)
        if boxes.empty:
            raise ValueError(f"{gt_file} holds no box with conf >= 1")
        boxes = boxes.sort_values(["frame", "id"], kind="stable")
        xyxy = corners(boxes)
        folder = gt_file.parent.parent if gt_file.parent.name == "gt" else gt_file.parent
        size, origin = _image_size(folder, settings.image_size, xyxy)
        frames = boxes["frame"].to_numpy(np.int64)
        tables.append(
            VideoTable(
                name=name, index=index, source=str(gt_file), image_size=size, geometry="box",
                frame_ids=np.arange(frames.min(), frames.max() + 1), frame=frames,
                track_id=boxes["id"].to_numpy(np.int64), box=xyxy[:, None, :],
                centroid=(xyxy[:, :2] + xyxy[:, 2:]) / 2,
            )
        )  # fmt: skip
        files.append(str(gt_file.resolve()))
        sizes[name] = {"image_size": list(size), "from": origin}
    plan = plan_clips(tables, settings)
    provenance = {"reader": "raytrack gtr motchallenge", "files": files, "sequences": sizes,
                  "clips": len(plan), "geometry": "box"}  # fmt: skip
    return SourceOutput(clip_rows(tables, plan), clip_schema(1, None), provenance)
