"""Data sets for training and evaluating the zoo: scikit-learn digits and MNIST IDX files.

Every image array here is NHWC float32 with pixels scaled to [0, 1] before
normalisation; labels are int64. Nothing is downloaded: digits ships inside
scikit-learn, MNIST is read from a folder the user already has.

The digits split is fixed so that accuracy numbers are comparable between runs
and machines: the 1797 images are shuffled once with ``default_rng(DIGITS_SPLIT_SEED)``;
the first 360 are the test split, the next 180 the validation split and the
remaining 1257 the training split. The MNIST split keeps the official 10 000
test images and holds out the last 5 000 of the 60 000 training images for
validation.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cnnc.errors import DataError

DIGITS_SPLIT_SEED = 20240513
DIGITS_TEST = 360
DIGITS_VAL = 180
MNIST_VAL = 5000
SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """Images NHWC float32 in [0, 1] and int64 labels for each split."""

    name: str  # "digits" | "mnist"
    x_train: np.ndarray  # [N, S, S, 1]
    y_train: np.ndarray  # [N]
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int = 10

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    @property
    def input_size(self) -> int:
        return int(self.x_train.shape[1])


# ---------------------------------------------------------------------------- resizing


def interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] bilinear weights with aligned pixel centres (half-pixel convention)."""
    centres = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    centres = np.clip(centres, 0.0, n_in - 1)
    lo = np.floor(centres).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = centres - lo
    m = np.zeros((n_out, n_in), dtype=np.float64)
    m[np.arange(n_out), lo] += 1.0 - frac
    m[np.arange(n_out), hi] += frac
    return m


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of NHWC images [N, H, W, C] to [N, size, size, C]."""
    n, h, w, c = images.shape
    if (h, w) == (size, size):
        return images.astype(np.float32, copy=False)
    rows = interpolation_matrix(h, size)  # [S, H]
    cols = interpolation_matrix(w, size)  # [S, W]
    out = np.einsum("sh,nhwc,tw->nstc", rows, images.astype(np.float64), cols)
    return out.astype(np.float32)


# ---------------------------------------------------------------------------- digits


def load_digits(input_size: int = 8) -> Dataset:
    """scikit-learn's 8x8 digits, split as the module docstring says, upsampled to input_size."""
    from sklearn.datasets import load_digits as sk_load_digits

    if input_size < 8:
        raise DataError(f"digits input size must be >= 8, got {input_size}")
    bunch = sk_load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[..., None]  # [1797, 8, 8, 1]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(labels))
    test = order[:DIGITS_TEST]
    val = order[DIGITS_TEST : DIGITS_TEST + DIGITS_VAL]
    train = order[DIGITS_TEST + DIGITS_VAL :]
    images = resize(images, input_size)
    return Dataset(
        "digits",
        images[train], labels[train],
        images[val], labels[val],
        images[test], labels[test],
    )  # fmt: skip


# ---------------------------------------------------------------------------- MNIST IDX

IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def find_idx_file(folder: Path, stem: str) -> Path:
    """The file for ``stem`` in folder: raw or .gz, with '-' or '.' before 'idx'."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: missing MNIST file {stem} (or {stem}.gz)")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (raw or gzip) into a uint8 array.

    Layout: 2 zero bytes, type code 0x08 (ubyte), number of dimensions, then one
    big-endian uint32 per dimension, then the data in row-major order.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, zlib.error) as err:  # OSError includes gzip.BadGzipFile (bad CRC)
        raise DataError(f"{path}: cannot read IDX file ({err})") from None
    except EOFError:
        raise DataError(f"{path}: truncated gzip stream") from None
    if len(raw) < 4:
        raise DataError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(
            f"{path}: bad IDX magic {raw[:4].hex()} at offset 0 (expected 000008xx, ubyte data)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: IDX header declares {ndim} dimensions but the file is shorter")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != count:
        raise DataError(
            f"{path}: IDX header at offset 4 declares shape {dims} ({count} bytes of data) "
            f"but the file holds {len(raw) - header} bytes after the {header}-byte header"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist(folder: str | Path, input_size: int = 28) -> Dataset:
    """MNIST from the four IDX files in folder (as distributed, .gz or not)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"MNIST folder {folder} does not exist or is not a folder")
    arrays = {key: read_idx(find_idx_file(folder, stem)) for key, stem in MNIST_FILES.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{folder}: {part} images have shape {images.shape} but labels {labels.shape}; "
                "expected [N, H, W] images and [N] labels"
            )
        if labels.size and labels.max() > 9:
            raise DataError(f"{folder}: {part} labels hold {labels.max()}, expected 0..9")
    train_x = resize(arrays["train_images"].astype(np.float32)[..., None] / 255.0, input_size)
    test_x = resize(arrays["test_images"].astype(np.float32)[..., None] / 255.0, input_size)
    train_y = arrays["train_labels"].astype(np.int64)
    test_y = arrays["test_labels"].astype(np.int64)
    n_val = min(MNIST_VAL, len(train_y) // 10)
    cut = len(train_y) - n_val
    return Dataset(
        "mnist",
        train_x[:cut], train_y[:cut],
        train_x[cut:], train_y[cut:],
        test_x, test_y,
    )  # fmt: skip


# ---------------------------------------------------------------------------- specs


def parse_dataset_spec(spec: str) -> tuple[str, Path | None]:
    """'digits' -> ('digits', None); 'mnist:DIR' -> ('mnist', DIR)."""
    if spec == "digits":
        return "digits", None
    if spec.startswith("mnist:") and len(spec) > len("mnist:"):
        return "mnist", Path(spec[len("mnist:") :])
    raise DataError(f"unknown data set {spec!r}; expected 'digits' or 'mnist:DIR'")


def load(spec: str, input_size: int | None = None) -> Dataset:
    """Load a data set by its CLI spec at the given input size (native size when None)."""
    name, folder = parse_dataset_spec(spec)
    if name == "digits":
        return load_digits(input_size or 8)
    return load_mnist(folder, input_size or 28)


# ---------------------------------------------------------------------------- preprocessing


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of NHWC images, float32 [C] each."""
    mean = x.mean(axis=(0, 1, 2), dtype=np.float64)
    std = x.std(axis=(0, 1, 2), dtype=np.float64)
    return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)


def normalize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(x - mean) / std per channel (last axis)."""
    return ((x - mean) / std).astype(np.float32)


def random_shift(x: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift each NHWC image by its own random (dy, dx) in [-max_shift, max_shift], zero fill.

    Zero is the value the images had before normalisation only if x is
    unnormalised; callers shift the [0, 1] images and normalise afterwards.
    """
    if max_shift <= 0:
        return x
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
    oy = rng.integers(0, 2 * max_shift + 1, size=n)
    ox = rng.integers(0, 2 * max_shift + 1, size=n)
    rows = oy[:, None] + np.arange(h)  # [N, H]
    cols = ox[:, None] + np.arange(w)  # [N, W]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def inputs_for_model(
    metadata: dict[str, str], dataset: str, split: str = "test"
) -> tuple[np.ndarray, np.ndarray]:
    """The split of ``dataset`` preprocessed exactly as the exported model was trained.

    Reads ``cnnc.input_size``, ``cnnc.norm_mean`` and ``cnnc.norm_std`` from the
    ONNX metadata; returns x float32 NCHW and y int64.
    """
    try:
        size = int(metadata["cnnc.input_size"])
        mean = np.asarray(json.loads(metadata["cnnc.norm_mean"]), dtype=np.float32)
        std = np.asarray(json.loads(metadata["cnnc.norm_std"]), dtype=np.float32)
    except KeyError as err:
        raise DataError(f"model metadata lacks {err.args[0]!r}; was it exported by cnnc?") from None
    except (ValueError, TypeError) as err:
        raise DataError(f"model metadata holds a malformed preprocessing entry ({err})") from None
    data = load(dataset, size)
    x, y = data.split(split)
    if mean.shape != (x.shape[3],) or std.shape != (x.shape[3],):
        raise DataError(
            f"model metadata normalises {mean.size} channel(s) but {dataset} has {x.shape[3]}"
        )
    x = normalize(x, mean, std)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), y
