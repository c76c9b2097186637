"""Data sets: the fixed digits split, resizing, shift augmentation, the MNIST IDX reader."""

import gzip
import json

import numpy as np
import pytest
from cnnc.errors import DataError
from cnnc.models import data


@pytest.fixture(scope="module")
def digits8():
    return data.load_digits(8)


def test_digits_split_sizes_disjoint_and_complete(digits8):
    from sklearn.datasets import load_digits

    ref = load_digits()
    assert (len(digits8.y_train), len(digits8.y_val), len(digits8.y_test)) == (1257, 180, 360)
    # every original image appears in exactly one split (match by pixel content + label)
    keys = {
        (img.astype(np.float32).tobytes(), int(lab))
        for img, lab in zip(ref.images / 16.0, ref.target, strict=True)
    }
    seen = []
    for split in data.SPLITS:
        x, y = digits8.split(split)
        seen += [
            (img[..., 0].astype(np.float32).tobytes(), int(lab))
            for img, lab in zip(x, y, strict=True)
        ]
    assert len(seen) == 1797
    assert set(seen) <= keys
    # the test split holds every class, each at least 20 times
    assert np.bincount(digits8.y_test, minlength=10).min() >= 20


def test_digits_split_is_fixed_across_calls(digits8):
    again = data.load_digits(8)
    np.testing.assert_array_equal(again.y_test, digits8.y_test)
    np.testing.assert_array_equal(again.x_val, digits8.x_val)
    # the documented recipe: default_rng(DIGITS_SPLIT_SEED).permutation, test first
    from sklearn.datasets import load_digits

    order = np.random.default_rng(data.DIGITS_SPLIT_SEED).permutation(1797)
    np.testing.assert_array_equal(digits8.y_test, load_digits().target[order[:360]])


def test_pixels_scaled_to_unit_range(digits8):
    assert digits8.x_train.dtype == np.float32
    assert digits8.x_train.min() == 0.0 and digits8.x_train.max() == 1.0


def bilinear_loop(img: np.ndarray, size: int) -> np.ndarray:
    """Independent per-pixel bilinear resize (half-pixel centres, edge clamp) of [H, W]."""
    h, w = img.shape
    out = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            y = min(max((i + 0.5) * h / size - 0.5, 0), h - 1)
            x = min(max((j + 0.5) * w / size - 0.5, 0), w - 1)
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            fy, fx = y - y0, x - x0
            out[i, j] = (
                img[y0, x0] * (1 - fy) * (1 - fx)
                + img[y0, x1] * (1 - fy) * fx
                + img[y1, x0] * fy * (1 - fx)
                + img[y1, x1] * fy * fx
            )
    return out


@pytest.mark.parametrize("size", [8, 16, 17, 32], ids=lambda s: f"to{s}")
@pytest.mark.parametrize("src", [8, 7], ids=lambda s: f"from{s}")
def test_resize_matches_per_pixel_bilinear(rng, src, size):
    imgs = rng.random((3, src, src, 2)).astype(np.float32)
    out = data.resize(imgs, size)
    assert out.shape == (3, size, size, 2)
    for n in range(3):
        for c in range(2):
            np.testing.assert_allclose(
                out[n, :, :, c],
                bilinear_loop(imgs[n, :, :, c], size),
                rtol=0,
                atol=1e-6,
                err_msg=f"image {n} channel {c}",
            )


def test_digits_upsampled_keeps_labels_and_split(digits8):
    d32 = data.load_digits(32)
    assert d32.x_test.shape == (360, 32, 32, 1)
    np.testing.assert_array_equal(d32.y_test, digits8.y_test)


def test_digits_input_size_too_small():
    with pytest.raises(DataError, match="at least|>= 8"):
        data.load_digits(4)


@pytest.mark.parametrize("max_shift", [1, 2, 3], ids=lambda s: f"shift{s}")
def test_random_shift_is_a_zero_filled_translation(rng, max_shift):
    x = rng.random((9, 7, 11, 2)).astype(np.float32) + 0.5  # no zeros inside the images
    y = data.random_shift(x, max_shift, rng)
    assert y.shape == x.shape
    seen = set()
    for n in range(len(x)):
        matches = []
        for dy in range(-max_shift, max_shift + 1):
            for dx in range(-max_shift, max_shift + 1):
                # independent construction: output pixel (i, j) = input (i - dy, j - dx) or 0
                ref = np.zeros_like(x[n])
                src = x[n][max(0, -dy) : 7 - max(0, dy), max(0, -dx) : 11 - max(0, dx)]
                ref[
                    max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]
                ] = src
                if np.array_equal(ref, y[n]):
                    matches.append((dy, dx))
        assert len(matches) == 1, f"image {n} is no single shift of its input"
        seen.add(matches[0])
    assert len(seen) > 1, "all images got the same shift"


def test_channel_stats_and_normalize(rng):
    x = rng.normal([1.0, -2.0], [0.5, 3.0], size=(50, 5, 5, 2)).astype(np.float32)
    mean, std = data.channel_stats(x)
    z = data.normalize(x, mean, std)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 1, 2)), 1, atol=1e-5)


# ---------------------------------------------------------------------------- MNIST IDX


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file built from the format description, independent of the reader."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_mnist(folder, rng, n_train=40, n_test=13, gz=True, dotted=False):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    for stem, arr in arrays.items():
        name = stem.replace("-idx", ".idx") if dotted else stem
        raw = idx_bytes(arr)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("shape", [(17,), (3, 5, 7), (1, 28, 28)], ids=str)
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_round_trip(tmp_path, rng, shape, gz):
    arr = rng.integers(0, 256, shape).astype(np.uint8)
    raw = idx_bytes(arr)
    path = tmp_path / "f.idx"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    np.testing.assert_array_equal(data.read_idx(path), arr)


def flip_middle(raw: bytes) -> bytes:
    """Invert the bytes after the gzip header so the deflate stream or its CRC is wrong."""
    return raw[:12] + bytes(b ^ 0xFF for b in raw[12:-8]) + raw[-8:]


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda raw: raw[:-3], "declares shape"),
        (lambda raw: raw + b"\x00", "declares shape"),
        (lambda raw: b"\x00\x00\x0d" + raw[3:], "bad IDX magic"),
        (lambda raw: raw[:2], "too short"),
        (lambda raw: raw[:6], "shorter"),
        (lambda raw: gzip.compress(raw)[:-9], "truncated gzip"),
        (lambda raw: flip_middle(gzip.compress(raw)), "cannot read IDX file"),
    ],
    ids=["truncated", "trailing", "float-type", "tiny", "header-cut", "gzip-cut", "gzip-flipped"],
)
def test_read_idx_rejects_corrupt_files(tmp_path, rng, corrupt, message):
    raw = idx_bytes(rng.integers(0, 256, (4, 3, 3)))
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(corrupt(raw))
    with pytest.raises(DataError, match=message) as err:
        data.read_idx(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("gz, dotted", [(True, False), (False, True)], ids=["gz", "raw-dotted"])
def test_load_mnist_from_folder(tmp_path, rng, gz, dotted):
    arrays = write_mnist(tmp_path / "mnist", rng, gz=gz, dotted=dotted)
    ds = data.load_mnist(tmp_path / "mnist", 28)
    # the last tenth (at most MNIST_VAL) of the training images is the validation split
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (36, 4, 13)
    np.testing.assert_array_equal(ds.y_val, arrays["train-labels-idx1-ubyte"][36:])
    np.testing.assert_allclose(
        ds.x_test[..., 0], arrays["t10k-images-idx3-ubyte"] / 255.0, rtol=0, atol=1e-7
    )
    assert data.load(f"mnist:{tmp_path / 'mnist'}", 32).x_train.shape == (36, 32, 32, 1)


def test_load_mnist_missing_folder_and_file(tmp_path, rng):
    with pytest.raises(DataError, match="does not exist"):
        data.load(f"mnist:{tmp_path / 'nowhere'}")
    write_mnist(tmp_path / "m", rng)
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing MNIST file t10k-labels-idx1-ubyte"):
        data.load_mnist(tmp_path / "m")


def test_load_mnist_label_count_mismatch(tmp_path, rng):
    write_mnist(tmp_path / "m", rng)
    (tmp_path / "m" / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(rng.integers(0, 10, 39)))
    )
    with pytest.raises(DataError, match="train images have shape"):
        data.load_mnist(tmp_path / "m")


@pytest.mark.parametrize("spec", ["cifar", "mnist:", "Digits", ""], ids=repr)
def test_bad_dataset_spec(spec):
    with pytest.raises(DataError, match="unknown data set"):
        data.load(spec)


# ---------------------------------------------------------------------------- inputs_for_model


def test_inputs_for_model_preprocesses_like_training(digits8):
    meta = {"cnnc.input_size": "16", "cnnc.norm_mean": "[0.25]", "cnnc.norm_std": "[0.5]"}
    x, y = data.inputs_for_model(meta, "digits", "val")
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape == (180, 1, 16, 16)
    # independent: resize the raw 8x8 validation images and normalise by hand
    ref = np.stack([bilinear_loop(img[..., 0], 16) for img in digits8.x_val])
    np.testing.assert_allclose(x[:, 0], (ref - 0.25) / 0.5, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(y, digits8.y_val)


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"cnnc.norm_mean": "[0]", "cnnc.norm_std": "[1]"}, "cnnc.input_size"),
        ({"cnnc.input_size": "8", "cnnc.norm_mean": "[0", "cnnc.norm_std": "[1]"}, "malformed"),
        (
            {"cnnc.input_size": "8", "cnnc.norm_mean": "[0, 0]", "cnnc.norm_std": "[1, 1]"},
            "2 channel",
        ),
    ],
    ids=["missing-key", "bad-json", "channels"],
)
def test_inputs_for_model_bad_metadata(meta, message):
    with pytest.raises(DataError, match=message):
        data.inputs_for_model(meta, "digits", "test")


def test_inputs_for_model_bad_split():
    meta = {"cnnc.input_size": "8", "cnnc.norm_mean": json.dumps([0.0]), "cnnc.norm_std": "[1]"}
    with pytest.raises(DataError, match="unknown split"):
        data.inputs_for_model(meta, "digits", "holdout")
