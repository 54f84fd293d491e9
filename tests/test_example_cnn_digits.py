"""What examples/cnn_digits.py shows, at the quick size: the CNN reads digits far above chance, its
pictures are PNG files, graph_stats counts its convolutions' multiply-adds as the closed form does,
check_module_grads passes on it, and the drawn convolution's gradients are those of direct loops.

The full run (98.61% with seed 0, about 15 s of training) runs only with TG_FULL_EXAMPLES=1.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import pathlib
import re
import subprocess
import sys
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg

from .test_examples import EXAMPLES, load_example

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PICTURES = ["conv_backward.png", "feature_maps.png", "filters.png", "mistakes.png", "training.png"]


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example("cnn_digits")


@pytest.fixture(scope="module")
def quick(example: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """The quick run with seed 0, and what it printed."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        results = example.run(quick=True, out=tmp_path_factory.mktemp("cnn_digits"), seed=0)
    return buffer.getvalue(), results


def test_quick_training_reads_digits_far_above_chance(quick: tuple[str, dict[str, Any]], example: ModuleType) -> None:
    text, results = quick
    assert len(results["losses"]) == len(results["test_accuracies"]) == example.QUICK_EPOCHS
    assert results["losses"][-1] < 0.5 * results["losses"][0]
    assert results["test_accuracy"] >= 0.9  # chance is 0.1; two epochs give about 0.97
    X_test, y_test = tg.data.digits("test", seed=0, flatten=False)
    with tg.no_grad():
        predictions = results["model"](tg.Tensor(X_test[:, np.newaxis])).numpy().argmax(axis=1)
    assert np.array_equal(results["predictions"], predictions)
    assert results["test_accuracy"] == np.count_nonzero(predictions == y_test) / len(y_test)
    (printed,) = re.findall(r"^\s+test accuracy (\d+\.\d+)%", text, re.M)
    assert float(printed) == pytest.approx(100 * results["test_accuracy"], abs=0.005)


def test_pictures_are_png_files(quick: tuple[str, dict[str, Any]]) -> None:
    _, results = quick
    assert sorted(pathlib.Path(p).name for p in results["pictures"]) == PICTURES
    for picture in results["pictures"]:
        assert pathlib.Path(picture).read_bytes()[:8] == PNG_SIGNATURE


def test_graph_stats_counts_the_convolutions_multiply_adds_as_the_closed_form(quick: tuple[str, dict[str, Any]],
                                                                              example: ModuleType) -> None:
    _, results = quick
    stats, model, batch = results["stats"], results["model"], example.STATS_BATCH
    convs = [layer for layer in model if isinstance(layer, tg.nn.Conv2d)]
    assert [c.weight.shape for c in convs] == [(16, 1, 3, 3), (32, 16, 3, 3)]
    # each output element (batch x C_out x 8 x 8, padding 1 keeps the size) takes C_in x 3 x 3 products
    per_conv = [batch * c.out_channels * 8 * 8 * c.in_channels * 3 * 3 for c in convs]
    assert stats.forward_macs_by_op["conv2d"] == sum(per_conv) == 9_732_096
    # backward: the kernels' gradient for both, the input's only for the second (the first reads the data)
    assert stats.backward_macs_by_op["conv2d"] == per_conv[0] + 2 * per_conv[1]
    assert results["conv_macs_closed_form"] == (sum(per_conv), per_conv[0] + 2 * per_conv[1])
    assert stats.forward_macs_by_op["linear"] == batch * (512 * 64 + 64 * 10)  # the two Linear layers
    assert stats.parameters == model.num_parameters() == 38_282


def test_check_module_grads_passes_on_the_cnn(quick: tuple[str, dict[str, Any]], example: ModuleType) -> None:
    text, results = quick
    checks = results["gradcheck"]
    assert checks["twin"].passed and checks["model"].passed
    assert not checks["twin"].fast_mode and checks["model"].fast_mode
    assert checks["twin_parameters"] == 2 * 9 + 2 + 4 * 2 * 9 + 4 + 64 * 8 + 8 + 8 * 10 + 10
    assert "passes entry by entry" in text and "passes by random projections" in text
    # and independently here: the same architecture, another seed, nudged entry by entry in float64
    X, y = tg.data.digits("train", seed=0, flatten=False)
    twin = example.build_model(channels=(2, 3), hidden=5, seed=7)
    assert tg.check_module_grads(twin, tg.cross_entropy, tg.Tensor(X[5:8, np.newaxis]), y[5:8])


def test_drawn_convolution_carries_the_gradients_of_direct_loops(quick: tuple[str, dict[str, Any]]) -> None:
    _, results = quick
    tiny = results["tiny_convolution"]
    x, w, t = (tiny[k].numpy() for k in ("x", "w", "t"))
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for c in range(w.shape[0]):  # L = Σ t·z: dL/dz = t; each output pixel read one 3x3 window
        for i in range(2):
            for j in range(2):
                dx[0, 0, i:i + 3, j:j + 3] += t[0, c, i, j] * w[c, 0]
                dw[c, 0] += t[0, c, i, j] * x[0, 0, i:i + 3, j:j + 3]
    assert np.array_equal(tiny["x"].grad, dx) and np.array_equal(tiny["w"].grad, dw)
    source = tg.draw_graph(tiny["loss"]).source
    edge = next(line for line in source.splitlines() if "convᵀ(g, w)" in line)
    assert "carries\\n[1, 0, -1, 0]\\n[2, 0, -1, 0]\\n[1, 1, -5, 1]\\n[0, 0, 1, 0]" in edge  # dx in full


def test_shifted_copies_move_each_image_by_one_pixel(example: ModuleType) -> None:
    X = np.arange(2 * 64, dtype=float).reshape(2, 1, 8, 8) + 1
    original, down, up, right, left = np.split(example.shifted_copies(X), 5)
    assert np.array_equal(original, X)
    assert np.array_equal(down[..., 1:, :], X[..., :-1, :]) and not down[..., 0, :].any()
    assert np.array_equal(up[..., :-1, :], X[..., 1:, :]) and not up[..., -1, :].any()
    assert np.array_equal(right[..., :, 1:], X[..., :, :-1]) and not right[..., :, 0].any()
    assert np.array_equal(left[..., :, :-1], X[..., :, 1:]) and not left[..., :, -1].any()


@pytest.mark.skipif(not os.environ.get("TG_FULL_EXAMPLES"), reason="the full run trains ~15 s; TG_FULL_EXAMPLES=1")
def test_full_run_from_the_command_line_beats_the_mlp(tmp_path: pathlib.Path, example: ModuleType) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "cnn_digits.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    (printed,) = re.findall(r"^\s+test accuracy (\d+\.\d+)% \((\d+) of 359", done.stdout, re.M)
    assert float(printed[0]) >= 98.0 and int(printed[1]) == 354  # the docstring's figure
    assert sorted(p.name for p in tmp_path.iterdir()) == PICTURES
    with contextlib.redirect_stdout(io.StringIO()):  # the MLP line drawn in the curves is the digits example's
        mlp = load_example("digits").run(quick=False, out=tmp_path / "mlp", seed=0)
    assert math.isclose(mlp["test_accuracy"], example.MLP_TEST_ACCURACY)


def test_the_cnn_s_checks_and_pictures_run_where_the_model_is(example: ModuleType) -> None:
    """--device: a model on a device (the tests' fake one) gives the CPU's predictions, feature maps,
    counts and gradient checks; the training goes through fit, which takes the data there."""
    from .foreign_array import register

    register()
    X, y = tg.data.digits("train", seed=0, flatten=False)
    X, y = X[:example.STATS_BATCH, np.newaxis], y[:example.STATS_BATCH]
    cpu, dev = example.build_model(seed=0), example.build_model(seed=0).to("foreign")
    assert example.model_device(dev) == "foreign"
    np.testing.assert_array_equal(example.predict(dev, X), example.predict(cpu, X))
    for a, b in zip(example.feature_maps(dev, X[0]), example.feature_maps(cpu, X[0])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert example.step_stats(dev, X, y).forward_macs == example.step_stats(cpu, X, y).forward_macs
    checks = example.check_gradients(dev, X, y, seed=0)
    assert checks["twin"].passed and checks["model"].passed
