"""Image files named by a CSV column, for a model input shaped like an image
(docs/data.md#images-and-a-csv): each file is read with Pillow, converted to grey (1
channel) or RGB (3) as the input's shape says, resized (bilinear) to its height and width
when it differs, and given as pixel values 0..255, channels first, as MNIST's raw data are.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np

from specc.data.errors import DataError


def image_layout(shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """(C, H, W) of an input that takes images (1xHxW, 3xHxW or HxW), else None."""
    if len(shape) == 3 and shape[0] in (1, 3):
        return shape[0], shape[1], shape[2]
    if len(shape) == 2:
        return 1, shape[0], shape[1]
    return None


def load_image(path: Path, layout: tuple[int, int, int], where: str) -> np.ndarray:
    """One image file as float32 (C, H, W) pixel values 0..255; `where` locates the mistake."""
    if not path.is_file():
        raise DataError(f"{where}: {path} does not exist", "name image files relative to the CSV")
    return decode_image(
        path, layout, lambda err: DataError(f"{where}: {path} is not a readable image ({err})")
    )


def decode_image(
    path: Path, layout: tuple[int, int, int], unreadable: Callable[[Exception], DataError]
) -> np.ndarray:
    """An existing image file as float32 (C, H, W) pixel values 0..255, converted to grey
    or RGB and resized (bilinear) as `layout` says; `unreadable(err)` is the error raised
    for a file Pillow cannot read (`specc predict` words it for its INPUT argument)."""
    from PIL import Image, UnidentifiedImageError

    channels, height, width = layout
    try:
        with Image.open(path) as opened:
            image = opened.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise unreadable(err) from None
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    return pixels[None] if pixels.ndim == 2 else np.transpose(pixels, (2, 0, 1))


def read_image_column(
    path: Path, column: str, shape: tuple[int, ...], lines: list[int]
) -> np.ndarray:
    """The images the CSV's `column` names, one per data row (`lines`: the rows the table
    reader kept, by line number), as float32 (N, *shape); file names are relative to the
    CSV's folder."""
    layout = image_layout(shape)
    assert layout is not None  # only image-shaped inputs read files (`Columns.file_column`)
    keep = set(lines)
    images = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        if column not in header:
            raise DataError(
                f"{path}: no column `{column}`; the columns are: {', '.join(header)}",
                "list the column that names the image files in `columns NAME [...]`",
            )
        at = header.index(column)
        for row in reader:
            if reader.line_num not in keep:
                continue
            name = row[at].strip()
            where = f"{path}:{reader.line_num}: column `{column}`"
            if not name:
                raise DataError(f"{where} is empty", "give every row an image file")
            images.append(load_image(path.parent / name, layout, where).reshape(shape))
    return np.stack(images).astype(np.float32)
