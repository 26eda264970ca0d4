"""Video frames with PyAV (FFmpeg's decoders), and instance crops cut from them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np


def _av():
    try:
        import av
    except ImportError as err:
        raise ImportError(
            "reading video frames needs PyAV: pip install 'raytrack[gtr]' (or pip install av)"
        ) from err
    return av


class VideoReader:
    """A video file's frame count, size and frames (decoded in order, uint8 ``(H, W, C)``).

    ``channels`` 1 decodes gray levels, 3 RGB.
    """

    def __init__(self, path: str | Path, channels: int = 1) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no video file {self.path}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, but got {channels}")
        self.channels = channels
        av = _av()
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                self.width = int(stream.codec_context.width)
                self.height = int(stream.codec_context.height)
                frames = int(stream.frames or 0)
                if frames == 0:  # some containers do not record it: count by decoding
                    frames = sum(1 for _ in container.decode(video=0))
        except (av.error.FFmpegError, IndexError) as err:
            raise ValueError(f"{self.path} is not a video PyAV can decode: {err}") from None
        self.frames = frames

    def read(self, wanted: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, image)`` of the ``wanted`` frames, in increasing order (one pass)."""
        targets = sorted(set(int(i) for i in wanted))
        if not targets:
            return
        if targets[0] < 0 or targets[-1] >= self.frames:
            raise IndexError(
                f"{self.path} has frames 0..{self.frames - 1}, but frame {targets[-1]} was asked for"
            )
        av = _av()
        fmt = "gray" if self.channels == 1 else "rgb24"
        position = 0
        with av.open(str(self.path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index == targets[position]:
                    image = frame.to_ndarray(format=fmt)
                    yield index, image.reshape(self.height, self.width, self.channels)
                    position += 1
                    if position == len(targets):
                        return
        raise IndexError(f"{self.path} ended before frame {targets[position]}")


def square_box(centre: np.ndarray, side: int) -> np.ndarray:
    """``x1 y1 x2 y2`` of the ``side``-pixel square centred on ``centre`` (NaN in, NaN out).

    Shapes:
        ``centre``: ``(*, 2)`` → ``(*, 4)``.
    """
    centre = np.asarray(centre, np.float64)
    half = side / 2.0
    return np.concatenate([centre - half, centre + half], axis=-1)


def cut_crop(image: np.ndarray, box: np.ndarray, side: int) -> np.ndarray:
    """The ``side``×``side`` pixels of ``image`` from the box's top-left corner (rounded), zeros
    outside the image; a box with NaN gives a black crop.

    Shapes:
        ``image``: ``(H, W, C)`` uint8, ``box``: ``(4,)`` → ``(side, side, C)`` uint8.
    """
    height, width, channels = image.shape
    crop = np.zeros((side, side, channels), dtype=image.dtype)
    if not np.isfinite(box).all():
        return crop
    x0, y0 = int(round(box[0])), int(round(box[1]))
    xs, ys = max(x0, 0), max(y0, 0)
    xe, ye = min(x0 + side, width), min(y0 + side, height)
    if xe > xs and ye > ys:
        crop[ys - y0 : ye - y0, xs - x0 : xe - x0] = image[ys:ye, xs:xe]
    return crop
