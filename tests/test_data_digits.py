"""tg.data.digits: the shipped file read without pickles, its known facts (1,797 images, the class counts,
the UCI test set as scikit-learn bundles it when scikit-learn is there to compare), and the split's sizes,
disjointness and determinism, each checked from the arrays themselves.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

from tinygrad_edu.data import digits

# Images per digit 0..9 in the UCI optdigits test set (what sklearn.datasets.load_digits returns).
KNOWN_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
# SHA-256 of the arrays' bytes, as recorded in tinygrad_edu/_data/README.md
IMAGES_SHA256 = "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3"
LABELS_SHA256 = "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0"


def raw_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The file as shipped, opened the way a wheel would be, refusing pickles."""
    with (resources.files("tinygrad_edu") / "_data" / "digits.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as archive:
            assert sorted(archive.files) == ["images", "labels"]
            return archive["images"], archive["labels"]


# ----------------------------------------------------------------------------- the file


def test_the_file_holds_two_uint8_arrays_and_loads_without_pickles() -> None:
    images, labels = raw_arrays()
    assert images.dtype == np.uint8 and images.shape == (1797, 8, 8)
    assert labels.dtype == np.uint8 and labels.shape == (1797,)
    assert images.min() == 0 and images.max() == 16  # on-pixel counts in 4x4 blocks
    assert set(np.unique(labels).tolist()) == set(range(10))


def test_the_file_matches_the_checksums_in_its_readme() -> None:
    images, labels = raw_arrays()
    assert hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest() == IMAGES_SHA256
    assert hashlib.sha256(np.ascontiguousarray(labels).tobytes()).hexdigest() == LABELS_SHA256
    readme = (resources.files("tinygrad_edu") / "_data" / "README.md").read_text(encoding="utf-8")
    assert IMAGES_SHA256 in readme and LABELS_SHA256 in readme


def test_class_counts_are_the_known_ones() -> None:
    _, y = digits()
    counts = np.bincount(y, minlength=10)
    assert counts.tolist() == KNOWN_COUNTS
    assert all(170 <= n <= 190 for n in counts)  # every digit is about a tenth of the images
    assert counts.sum() == 1797


def test_same_data_as_scikit_learn_when_it_is_installed() -> None:
    datasets = pytest.importorskip("sklearn.datasets")  # a tool of the extraction, not a dependency
    reference = datasets.load_digits()
    X, y = digits(scale=False, flatten=False)
    assert np.array_equal(X, reference.images) and np.array_equal(y, reference.target)
    assert np.bincount(reference.target).tolist() == KNOWN_COUNTS


# ----------------------------------------------------------------------------- what digits() returns


def test_all_images_flattened_and_scaled_by_default() -> None:
    X, y = digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    images, labels = raw_arrays()
    assert np.array_equal(X, images.reshape(1797, 64) / 16.0)  # row by row, in the file's order
    assert np.array_equal(y, labels)


def test_unscaled_images_keep_their_counts_and_shape() -> None:
    X, _ = digits(flatten=False, scale=False)
    images, _ = raw_arrays()
    assert X.shape == (1797, 8, 8) and X.dtype == np.float64
    assert np.array_equal(X, images) and set(np.unique(X)) <= set(range(17))


def test_each_call_returns_new_arrays() -> None:
    X, y = digits()
    X[:] = -1.0
    y[:] = -1
    X2, y2 = digits()
    assert X2.min() == 0.0 and y2.min() == 0


# ----------------------------------------------------------------------------- the split


@pytest.mark.parametrize("test_fraction", [0.2, 0.1, 0.5, 0.75])
def test_train_and_test_are_disjoint_cover_everything_and_are_stratified(test_fraction: float) -> None:
    X_all, y_all = digits()
    X_train, y_train = digits("train", test_fraction=test_fraction, seed=3)
    X_test, y_test = digits("test", test_fraction=test_fraction, seed=3)
    expected_test = [round(test_fraction * n) for n in KNOWN_COUNTS]  # that share of every digit
    assert np.bincount(y_test, minlength=10).tolist() == expected_test
    assert np.bincount(y_train, minlength=10).tolist() == [n - t for n, t in zip(KNOWN_COUNTS, expected_test)]
    # train + test, as multisets of (pixels, label) rows, is the whole set: so they are disjoint and cover it
    assert np.array_equal(
        sorted_rows(np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])), sorted_rows(X_all, y_all)
    )


def sorted_rows(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The rows of [X | y] in lexicographic order: equal for two arrays holding the same rows, in any order."""
    rows = np.column_stack([X, y])
    return rows[np.lexsort(rows.T[::-1])]


def test_the_default_split_sizes() -> None:
    X_train, y_train = digits("train")
    X_test, y_test = digits("test")
    assert X_train.shape == (1438, 64) and y_train.shape == (1438,)
    assert X_test.shape == (359, 64) and y_test.shape == (359,)
    assert digits("test", flatten=False)[0].shape == (359, 8, 8)


def test_the_split_is_deterministic_for_a_seed_and_changes_with_it() -> None:
    a, b = digits("test", seed=7), digits("test", seed=7)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = digits("test", seed=8)
    assert not np.array_equal(a[0], c[0])


def test_the_split_rows_come_in_a_mixed_order() -> None:
    _, y_train = digits("train")
    assert not np.all(np.diff(y_train) >= 0)  # not sorted by digit: unshuffled minibatches still mix digits
    assert len(set(y_train[:32].tolist())) >= 5


# ----------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"split": "validation"}, ValueError, ["split", "'validation'"]),
        ({"split": "Train"}, ValueError, ["split", "'Train'"]),
        ({"test_fraction": 0.0}, ValueError, ["test_fraction", "0.0"]),
        ({"test_fraction": 1.0}, ValueError, ["test_fraction", "1.0"]),
        ({"test_fraction": float("nan")}, ValueError, ["test_fraction", "nan"]),
        ({"test_fraction": "0.2"}, TypeError, ["test_fraction", "'0.2'"]),
        ({"test_fraction": True}, TypeError, ["test_fraction", "True"]),
        ({"split": "test", "test_fraction": 0.001}, ValueError, ["test_fraction=0.001", "test set empty"]),
        ({"split": "train", "test_fraction": 0.999}, ValueError, ["test_fraction=0.999", "train set empty"]),
        ({"seed": -1}, ValueError, ["seed", "-1"]),
        ({"seed": 1.5}, TypeError, ["seed", "1.5"]),
        ({"seed": None}, TypeError, ["seed", "None"]),
        ({"seed": np.random.default_rng(0)}, TypeError, ["seed", "Generator"]),
        ({"flatten": 1}, TypeError, ["flatten", "1"]),
        ({"scale": "yes"}, TypeError, ["scale", "'yes'"]),
    ],
)
def test_bad_arguments_are_named_with_their_value(kwargs: dict, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        digits(**kwargs)
    message = str(info.value)
    assert message.startswith("digits: ")
    for word in words:
        assert word in message
