"""The digits example: with its fixed seed, the full training reaches 95% test accuracy, and every number
it reports (accuracy, confusion matrix, printed text) agrees with what is recomputed here from the
returned model and the data.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import digits

from .test_examples import EXAMPLES, load_example

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """The full (not quick) run with the default seed 0, and what it printed."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        results = load_example("digits").run(quick=False, out=tmp_path_factory.mktemp("digits"), seed=0)
    return buffer.getvalue(), results


def test_full_training_reaches_95_percent_on_the_test_set(full: tuple[str, dict[str, Any]]) -> None:
    _, results = full
    assert results["test_accuracy"] >= 0.95


def test_reported_accuracy_is_the_models_own_on_the_test_split(full: tuple[str, dict[str, Any]]) -> None:
    _, results = full
    X_test, y_test = digits("test", seed=0)
    assert np.array_equal(results["labels"], y_test)
    with tg.no_grad():
        logits = results["model"](tg.Tensor(X_test)).numpy()
    predictions = logits.argmax(axis=1)
    assert np.array_equal(results["predictions"], predictions)
    assert results["test_accuracy"] == np.count_nonzero(predictions == y_test) / len(y_test)
    assert results["test_accuracies"][-1] == results["test_accuracy"]  # the last epoch's measurement


def test_confusion_matrix_counts_every_test_image_once(full: tuple[str, dict[str, Any]]) -> None:
    _, results = full
    counts = results["confusion"]
    labels, predictions = results["labels"], results["predictions"]
    assert counts.shape == (10, 10)
    assert counts.sum() == len(labels) == 359
    assert np.trace(counts) / counts.sum() == pytest.approx(results["test_accuracy"], abs=1e-15)
    expected = np.zeros((10, 10), dtype=int)
    for true, predicted in zip(labels, predictions):
        expected[true, predicted] += 1
    assert np.array_equal(counts, expected)
    assert counts.sum(axis=1).tolist() == np.bincount(labels, minlength=10).tolist()  # rows: the true digit


def test_training_history_has_one_entry_per_epoch_and_the_loss_falls(full: tuple[str, dict[str, Any]]) -> None:
    _, results = full
    losses, accuracies = results["losses"], results["test_accuracies"]
    assert len(losses) == len(accuracies) == load_example("digits").EPOCHS
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.1 * losses[0]
    assert results["train_accuracy"] >= results["test_accuracy"] - 0.01


def test_printed_accuracy_and_confusion_matrix_match_the_results(full: tuple[str, dict[str, Any]]) -> None:
    text, results = full
    (printed,) = re.findall(r"^test accuracy (\d+\.\d+)%", text, re.M)
    assert float(printed) == pytest.approx(100 * results["test_accuracy"], abs=0.005)
    rows = re.findall(r"^\s+(\d)((?:\s+\d+){10})$", text, re.M)
    assert [int(digit) for digit, _ in rows] == list(range(10))
    assert np.array_equal(np.array([row.split() for _, row in rows], dtype=int), results["confusion"])


def test_pictures_are_png_files(full: tuple[str, dict[str, Any]]) -> None:
    _, results = full
    names = sorted(pathlib.Path(p).name for p in results["pictures"])
    assert names == ["confusion.png", "mistakes.png", "training.png"]
    for picture in results["pictures"]:
        assert pathlib.Path(picture).read_bytes()[:8] == PNG_SIGNATURE


def test_quick_run_is_shorter_and_deterministic(tmp_path: pathlib.Path) -> None:
    example = load_example("digits")
    with contextlib.redirect_stdout(io.StringIO()):
        first = example.run(quick=True, out=tmp_path / "a", seed=1)
        second = example.run(quick=True, out=tmp_path / "b", seed=1)
    assert len(first["losses"]) == example.QUICK_EPOCHS < example.EPOCHS
    assert first["losses"] == second["losses"]
    assert np.array_equal(first["predictions"], second["predictions"])


def test_command_line_writes_the_pictures_to_out(tmp_path: pathlib.Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "digits.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert "test accuracy" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion.png", "mistakes.png", "training.png"]
