"""tg.data.names and name_sequences: the shipped file (10,000 distinct a-z names, the checksum in its
README), and the sequences' encoding, padding and seeded split, each checked from the data itself."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

from tinygrad_edu.data import NAMES_VOCAB, name_sequences, names

NAMES_SHA256 = "a41c9312fe54e8d2e5dbc5d5d7026a372651ddede43242210324f4b60c3a2653"  # as in _data/README.md


def decode(row: np.ndarray) -> str:
    return "".join(NAMES_VOCAB[i] for i in row if i >= 0)


def test_the_file_is_10000_distinct_lowercase_names_and_matches_its_readme() -> None:
    raw = (resources.files("tinygrad_edu") / "_data" / "names.txt").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == NAMES_SHA256
    readme = (resources.files("tinygrad_edu") / "_data" / "README.md").read_text(encoding="utf-8")
    assert NAMES_SHA256 in readme
    assert len(raw) < 80_000 and raw.endswith(b"\n") and b"\r" not in raw
    words = names()
    assert len(words) == len(set(words)) == 10_000
    assert all(w.isascii() and w.isalpha() and w.islower() for w in words)
    assert words[:5] == ["james", "john", "robert", "michael", "william"]  # the most common first
    assert {"mary", "emma", "olivia", "liam", "noah"} <= set(words)
    assert 2 <= min(map(len, words)) and max(map(len, words)) <= 15  # the SSA files' limits


def test_names_returns_a_new_list_each_call() -> None:
    words = names()
    words.clear()
    assert len(names()) == 10_000


def test_sequences_are_dot_then_name_and_name_then_dot() -> None:
    X, Y = name_sequences(words=["emma", "al"])
    assert X.dtype == np.int64 and Y.dtype == np.int64 and X.shape == Y.shape == (2, 5)
    assert X.tolist() == [[0, 5, 13, 13, 1], [0, 1, 12, 0, 0]]
    assert Y.tolist() == [[5, 13, 13, 1, 0], [1, 12, 0, -100, -100]]
    assert NAMES_VOCAB == ".abcdefghijklmnopqrstuvwxyz" and len(NAMES_VOCAB) == 27


def test_every_target_is_the_next_token_of_the_context() -> None:
    X, Y = name_sequences()
    words = names()
    assert X.shape == (10_000, max(map(len, words)) + 1)
    for i in (0, 1, 999, 5_000, 9_999):
        n = len(words[i])
        assert decode(X[i, 1 : n + 1]) == words[i] and X[i, 0] == 0 and np.all(X[i, n + 1 :] == 0)
        assert decode(Y[i, :n]) == words[i] and Y[i, n] == 0 and np.all(Y[i, n + 1 :] == -100)
        assert np.array_equal(X[i, 1 : n + 1], Y[i, :n])  # Y is X shifted left by one
    assert np.sum(Y != -100) == sum(len(w) + 1 for w in words)  # each character and one end per name


def test_the_split_is_seeded_disjoint_and_complete() -> None:
    X_train, Y_train = name_sequences("train", seed=3)
    X_val, Y_val = name_sequences("val", seed=3)
    assert len(X_train) == 9_000 and len(X_val) == 1_000
    assert X_train.shape[1] == X_val.shape[1] == 14  # the same width for both
    train = {decode(y[y > 0]) for y in Y_train}
    val = {decode(y[y > 0]) for y in Y_val}
    assert train.isdisjoint(val) and train | val == set(names())
    again, _ = name_sequences("val", seed=3)
    assert np.array_equal(again, X_val)
    other, _ = name_sequences("val", seed=4)
    assert not np.array_equal(other, X_val)
    assert len(name_sequences("val", val_fraction=0.25, words=["ab", "cd", "ef", "gh"])[0]) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"split": "test"}, ValueError, "split must be None, 'train' or 'val'"),
        ({"val_fraction": 1.0}, ValueError, "between 0 and 1"),
        ({"val_fraction": "0.1"}, TypeError, "val_fraction must be a real number"),
        ({"seed": -1}, TypeError, "seed must be an int"),
        ({"words": ["Anna"]}, ValueError, "string of a-z, got 'Anna'"),
        ({"words": []}, ValueError, "words is empty"),
        ({"split": "val", "val_fraction": 0.1, "words": ["ab", "cd"]}, ValueError, "leaves the val set empty"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        name_sequences(**kwargs)  # type: ignore[arg-type]
