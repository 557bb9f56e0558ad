"""Images + a CSV for a model with several inputs (docs/data.md#images-and-a-csv): a
one-column group of an image-shaped input names image files (relative to the CSV), read
with Pillow as pixel values 0..255, channels first, beside the numeric column groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from specc.analysis import analyze
from specc.data import DataError, load
from specc.data.dataset import Inputs
from specc.lowering.capabilities import features

MODEL = """model photos {
    input image SHAPE
    input meta 2
    branch img from=image { flatten; dense 4 }
    concat img meta
    dense 2
}
"""
DATA = """data csv "t.csv" target=label {
    columns image [file]
    columns meta [age, dose]
    scale 1/255 input=image
}
train { loss sparse_categorical_crossentropy }
"""


def _spec(shape: str = "1x4x4") -> object:
    analysis = analyze(MODEL.replace("SHAPE", shape) + DATA, "<test>")
    assert analysis.ok, [d.message for d in analysis.errors]
    return analysis.spec


def _files(folder: Path, mode: str = "L", size: tuple[int, int] = (4, 4)) -> list[np.ndarray]:
    """Three images in folder/img and t.csv naming them (with a blank line to skip)."""
    (folder / "img").mkdir()
    pixels = []
    for i in range(3):
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
        array = (np.arange(np.prod(shape)).reshape(shape) * (i + 1) % 256).astype(np.uint8)
        Image.fromarray(array, mode).save(folder / "img" / f"{i}.png")
        pixels.append(array)
    rows = ["label,file,age,dose", "0,img/0.png,1.5,2", "", "1,img/1.png,-1,3", "1,img/2.png,0,4"]
    (folder / "t.csv").write_text("\n".join(rows) + "\n")
    return pixels


def test_the_file_column_gives_the_pixels_beside_the_numbers(tmp_path: Path) -> None:
    pixels = _files(tmp_path)
    spec = _spec()
    got = load(spec.data, spec_dir=tmp_path, inputs={"image": (1, 4, 4), "meta": (2,)})  # type: ignore[attr-defined]
    assert isinstance(got.x_train, Inputs) and got.x_train.shapes == {
        "image": (1, 4, 4),
        "meta": (2,),
    }
    expected = np.stack(pixels)[:, None].astype(np.float32) / 255  # `scale 1/255 input=image`
    np.testing.assert_allclose(got.x_train.arrays["image"], expected, rtol=1e-6)
    np.testing.assert_array_equal(got.x_train.arrays["meta"], [[1.5, 2], [-1, 3], [0, 4]])
    np.testing.assert_array_equal(got.y_train, [0, 1, 1])


def test_rgb_inputs_and_other_sizes_are_converted_and_resized(tmp_path: Path) -> None:
    _files(tmp_path, mode="L", size=(8, 6))
    spec = _spec("3x4x4")
    got = load(spec.data, spec_dir=tmp_path, inputs={"image": (3, 4, 4), "meta": (2,)})  # type: ignore[attr-defined]
    image = got.x_train.arrays["image"]  # type: ignore[union-attr]
    assert image.shape == (3, 3, 4, 4)
    np.testing.assert_array_equal(image[:, 0], image[:, 2])  # grey made RGB: equal channels
    with Image.open(tmp_path / "img" / "1.png") as opened:
        resized = opened.convert("RGB").resize((4, 4), Image.Resampling.BILINEAR)
    want = np.transpose(np.asarray(resized, dtype=np.float32), (2, 0, 1)) / 255
    np.testing.assert_allclose(image[1], want, rtol=1e-6)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["label,file,age,dose", "0,img/0.png,1,2", "1,img/9.png,1,2"], ":3: column `file`: {}"),
        (["label,file,age,dose", "0,,1,2"], ":2: column `file` is empty"),
        (["label,file,age,dose", "0,t.csv,1,2"], ":2: column `file`: {} is not a readable image"),
    ],
)
def test_a_bad_file_is_named_with_its_line(tmp_path: Path, rows: list[str], message: str) -> None:
    _files(tmp_path)
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    spec = _spec()
    with pytest.raises(DataError) as err:
        load(spec.data, spec_dir=tmp_path, inputs={"image": (1, 4, 4), "meta": (2,)})  # type: ignore[attr-defined]
    named = rows[-1].split(",")[1]
    where = message.format(tmp_path / named)
    assert err.value.message.startswith(f"{tmp_path / 't.csv'}{where}"), err.value.message
    if "9.png" in named:
        assert err.value.message.endswith("does not exist")


def test_only_a_one_column_group_of_an_image_input_names_files() -> None:
    """A numeric group (a flat input, or several columns) stays numbers; emit targets
    refuse the file column (E600, `csv.image_files`) until scripts read images."""
    spec = _spec()
    model = spec.models[0]  # type: ignore[attr-defined]
    keys = [key for key, _, _ in features(spec, model)]  # type: ignore[arg-type]
    assert keys.count("csv.image_files") == 1
    flat = analyze(MODEL.replace("SHAPE", "16") + DATA.replace("[file]", "[a]"), "<t>").spec
    assert "csv.image_files" not in [k for k, _, _ in features(flat, flat.models[0])]
