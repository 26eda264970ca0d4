"""SLEAP pose labels (``.slp``, read with sleap-io) and their videos as GTR clips.

biogtr's ``SleapDataset``: each labelled instance is an animal's pose; its *anchors* (skeleton
nodes, or ``centroid``: the mean of its visible nodes) give one box of ``crop_size + 2 padding``
pixels each, centred on the anchor, and one crop of that box from the video frame (decoded with
PyAV). A track id is the index of the instance's track in the file (-1: untracked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from raytrack.families.gtr.clip import clip_schema
from raytrack.families.gtr.clip_rows import ClipSettings, VideoTable, clip_rows, plan_clips
from raytrack.families.gtr.video import VideoReader, cut_crop, square_box
from raytrack.family import SourceOutput

CENTROID_ANCHORS = ("centroid", "midpoint")


class DirSettings(BaseModel):
    """dreem's ``dir``: every labels file in a folder, with the video of the same stem."""

    model_config = ConfigDict(extra="forbid")

    path: str
    labels_suffix: str = ".slp"
    vid_suffix: str = ".mp4"


class SleapSettings(ClipSettings):
    """A SLEAP source: ``slp_files`` (with ``video_files``, or the videos the files name) or a
    ``dir`` of them."""

    slp_files: list[str] = Field(default_factory=list, description="SLEAP labels files")
    video_files: list[str] = Field(default_factory=list, description="their videos, in the "
                                   "same order (default: the video each .slp names)")  # fmt: skip
    dir: DirSettings | None = Field(None, description="a folder of labels files and videos")
    padding: int = Field(5, ge=0, description="pixels added around every crop_size box")
    crop_size: int = Field(128, ge=1, description="side of the box around each anchor (pixels)")
    anchors: str | list[str] = Field("centroid", description="skeleton node(s) the boxes and "
                                     "crops centre on; centroid: the mean of the visible nodes")  # fmt: skip
    handle_missing: Literal["drop", "ignore", "centroid"] = Field(
        "centroid", description="an anchor node not labelled: drop the instance, keep it "
        "absent (NaN box, black crop), or use the centroid instead",
    )  # fmt: skip
    crops: bool = Field(True, description="store image crops (needed by use_vis_feats)")
    channels: Literal[1, 3] | None = Field(None, description="crop channels: 1 gray, 3 RGB "
                                           "(default: what the videos are)")  # fmt: skip

    @model_validator(mode="after")
    def _files_or_dir(self) -> SleapSettings:
        if bool(self.slp_files) == (self.dir is not None):
            raise ValueError("give slp_files or dir (exactly one of them)")
        if self.video_files and len(self.video_files) != len(self.slp_files):
            raise ValueError(
                f"video_files must pair with slp_files, but there are {len(self.video_files)} "
                f"videos for {len(self.slp_files)} labels files"
            )
        if isinstance(self.anchors, list) and not self.anchors:
            raise ValueError("anchors must name at least one node (or centroid)")
        return self

    def anchor_list(self) -> list[str]:
        return [self.anchors] if isinstance(self.anchors, str) else list(self.anchors)

    def pairs(self) -> list[tuple[Path, Path | None]]:
        """``(labels file, video file or None)`` of every video."""
        if self.dir is None:
            videos = self.video_files or [None] * len(self.slp_files)
            return [(Path(s), Path(v) if v else None) for s, v in zip(self.slp_files, videos)]
        folder = Path(self.dir.path).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"dir.path: no folder {folder}")
        labels = sorted(folder.glob(f"*{self.dir.labels_suffix}"))
        if not labels:
            raise FileNotFoundError(f"dir.path: no *{self.dir.labels_suffix} file in {folder}")
        suffix = self.dir.vid_suffix
        return [(f, f.with_name(f.name[: -len(self.dir.labels_suffix)] + suffix)) for f in labels]


def _sleap_io():
    try:
        import sleap_io
    except ImportError as err:
        raise ImportError("the sleap source needs sleap-io: pip install 'raytrack[gtr]'") from err
    return sleap_io


def resolve_video(slp: Path, labels, given: Path | None) -> Path:
    """The video of ``labels``: ``given``, or the file it names (beside the .slp too)."""
    if given is not None:
        if not given.is_file():
            raise FileNotFoundError(f"video_files: {given} (the video of {slp}) does not exist")
        return given
    if len(labels.videos) != 1:
        raise ValueError(f"{slp} labels {len(labels.videos)} videos; raytrack reads one per file")
    named = Path(labels.videos[0].filename)
    tried = [named, slp.parent / named, slp.parent / named.name]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"the video of {slp} is missing: it names {named}, and none of "
        f"{[str(t) for t in dict.fromkeys(tried)]} exists (give video_files)"
    )


def _anchor_points(
    points: np.ndarray, names: list[str], anchors: list[str], missing: str
) -> np.ndarray | None:
    """``(A, 2)`` anchor points of one pose (NaN: absent), or None to drop the instance."""
    visible = ~np.isnan(points).any(axis=1)
    centroid = points[visible].mean(axis=0)
    out = []
    for anchor in anchors:
        if anchor in CENTROID_ANCHORS:
            out.append(centroid)
            continue
        point = points[names.index(anchor)]
        if np.isfinite(point).all():
            out.append(point)
        elif missing == "drop":
            return None
        elif missing == "centroid":
            out.append(centroid)
        else:
            out.append(np.full(2, np.nan))
    return np.asarray(out, np.float64)


def video_table(
    slp: Path, labels, video: VideoReader, index: int, settings: SleapSettings
) -> VideoTable:
    """The instances of one labels file, with an anchor box per anchor."""
    sio = _sleap_io()
    names = list(labels.skeletons[0].node_names)
    anchors = settings.anchor_list()
    unknown = [a for a in anchors if a not in names and a not in CENTROID_ANCHORS]
    if unknown:
        raise ValueError(
            f"anchors: {unknown} are not nodes of the skeleton of {slp} (choices: "
            f"{', '.join([*names, 'centroid'])})"
        )
    side = settings.crop_size + 2 * settings.padding
    tracks = list(labels.tracks)
    frame_ids, frame, track_id, box, centroid = [], [], [], [], []
    for labeled in sorted(labels.labeled_frames, key=lambda lf: lf.frame_idx):
        if labeled.frame_idx >= video.frames:
            raise ValueError(
                f"{slp} labels frame {labeled.frame_idx}, but its video {video.path} has "
                f"{video.frames} frames"
            )
        frame_ids.append(labeled.frame_idx)
        user = [i for i in labeled.instances if not isinstance(i, sio.PredictedInstance)]
        for instance in user or list(labeled.instances):
            points = np.asarray(instance.numpy(), np.float64)
            if np.isnan(points).all():
                continue
            anchored = _anchor_points(points, names, anchors, settings.handle_missing)
            if anchored is None:
                continue
            frame.append(labeled.frame_idx)
            track_id.append(tracks.index(instance.track) if instance.track is not None else -1)
            box.append(square_box(anchored, side))
            first = (
                anchored[0]
                if np.isfinite(anchored[0]).all()
                else points[~np.isnan(points).any(axis=1)].mean(axis=0)
            )
            centroid.append(first)
    count = len(frame)
    return VideoTable(
        name=slp.stem, index=index, source=str(slp), image_size=(video.width, video.height),
        geometry="point", frame_ids=np.asarray(sorted(set(frame_ids)), np.int64),
        frame=np.asarray(frame, np.int64), track_id=np.asarray(track_id, np.int64),
        box=np.asarray(box, np.float64).reshape(count, len(anchors), 4),
        centroid=np.asarray(centroid, np.float64).reshape(count, 2),
    )  # fmt: skip


class VideoCropper:
    """Cuts the crops of planned clips, decoding each video once, in order."""

    def __init__(self, readers: list[VideoReader], plan: list[tuple[int, np.ndarray]], side: int):
        self.readers, self.side = readers, side
        self.needed = {
            p: np.unique(np.concatenate([f for q, f in plan if q == p])) for p, _ in plan
        }
        self.streams: dict[int, object] = {}
        self.images: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, video: VideoTable, members: np.ndarray) -> np.ndarray:
        reader = self.readers[video.index]
        stream = self.streams.setdefault(video.index, reader.read(self.needed[video.index]))
        wanted = set(int(f) for f in video.frame[members])
        self.images = {
            k: v for k, v in self.images.items() if k[0] == video.index and k[1] in wanted
        }
        while not all((video.index, f) in self.images for f in wanted):
            index, image = next(stream)  # type: ignore[call-overload]
            self.images[(video.index, index)] = image
        anchors = video.box.shape[1]
        crops = np.zeros((len(members), anchors, self.side, self.side, reader.channels), np.uint8)
        for k, i in enumerate(members):
            image = self.images[(video.index, int(video.frame[i]))]
            for a in range(anchors):
                crops[k, a] = cut_crop(image, video.box[i, a], self.side)
        return crops


def sleap_clips(settings: SleapSettings, *, count: None = None, seed: None = None) -> SourceOutput:
    """Every clip of the SLEAP labels files of ``settings``."""
    sio = _sleap_io()
    tables, readers, files = [], [], []
    for index, (slp, given) in enumerate(settings.pairs()):
        if not slp.is_file():
            raise FileNotFoundError(f"slp_files: no SLEAP labels file {slp}")
        labels = sio.load_slp(str(slp), open_videos=False)
        path = resolve_video(slp, labels, given)
        grayscale = labels.videos[0].backend_metadata.get("grayscale", True)
        channels = settings.channels or (1 if grayscale else 3)
        reader = VideoReader(path, channels)
        tables.append(video_table(slp, labels, reader, index, settings))
        readers.append(reader)
        files.append({"labels": str(slp.resolve()), "video": str(path.resolve())})
    channel_set = {r.channels for r in readers}
    if settings.crops and len(channel_set) > 1:
        raise ValueError("the videos differ in channels (gray and color): set channels: 1 or 3")
    plan = plan_clips(tables, settings)
    side = settings.crop_size + 2 * settings.padding
    cropper = VideoCropper(readers, plan, side) if settings.crops else None
    crop_shape = (side, side, readers[0].channels) if settings.crops else None
    schema = clip_schema(len(settings.anchor_list()), crop_shape)
    provenance = {"reader": "raytrack gtr sleap (sleap-io, PyAV)", "files": files,
                  "clips": len(plan), "geometry": "point"}  # fmt: skip
    return SourceOutput(clip_rows(tables, plan, cropper), schema, provenance)
