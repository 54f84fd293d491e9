"""What examples/char_lstm.py shows, at the quick size: trained recurrent models beat the bigram counts,
samples are names of a-z, the pictures are PNG files, and the gradients through time it reports are
those of a NumPy LSTM / tanh RNN written here from the equations, by central differences."""

from __future__ import annotations

import pathlib
import re
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg

from .test_examples import load_example

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example("char_lstm")


@pytest.fixture(scope="module")
def results(example: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return example.run(quick=True, out=tmp_path_factory.mktemp("char_lstm"))  # type: ignore[no-any-return]


def test_trained_models_beat_the_bigram_and_their_untrained_selves(results: dict[str, Any]) -> None:
    bigram = results["bigram_val_loss"]
    assert 2.2 < bigram < 2.7  # counts over a few thousand names: about 2.4 nats per character
    for kind, loss in results["val_loss"].items():
        start = results["histories"][kind]["val"][0]
        assert abs(start - np.log(27)) < 0.15, kind  # untrained: about a uniform guess
        assert loss < start - 0.8, kind
        assert loss < bigram - 0.05, kind


def test_the_bigram_loss_is_the_mean_negative_log_probability(example: ModuleType) -> None:
    X, Y = np.array([[0, 1, 2, 0], [0, 2, 0, 0]]), np.array([[1, 2, 0, -100], [2, 0, -100, -100]])
    counts = example.bigram_counts(X, Y)
    # pairs seen: .a ab b. .b b. -> counts (plus one everywhere)
    assert counts[0, 1] == 2 and counts[1, 2] == 2 and counts[2, 0] == 3 and counts[0, 2] == 2
    assert counts.sum() == 27 * 27 + 5
    p = counts / counts.sum(axis=1, keepdims=True)
    expected = -np.mean(np.log([p[0, 1], p[1, 2], p[2, 0], p[0, 2], p[2, 0]]))
    assert example.bigram_loss(counts, X, Y) == pytest.approx(expected, rel=1e-12)


def test_samples_are_names_of_a_to_z(results: dict[str, Any]) -> None:
    lists = [results["bigram_samples"]]
    for kind in results["samples"]:
        lists += [results["samples"][kind]["before"], results["samples"][kind]["after"]]
    for samples in lists:
        assert len(samples) == 12
        assert all(isinstance(s, str) and re.fullmatch("[a-z]*", s) and len(s) <= 20 for s in samples)
    for kind in results["samples"]:
        after = results["samples"][kind]["after"]
        assert sum(1 <= len(s) <= 12 for s in after) >= 9, (kind, after)  # mostly name-sized


def test_the_pictures_are_png_files(results: dict[str, Any]) -> None:
    assert len(results["pictures"]) == 3
    for picture in results["pictures"]:
        path = pathlib.Path(picture)
        assert path.suffix == ".png" and path.read_bytes()[:8] == PNG_MAGIC


# ----------------------------------------------------------------------------- gradients through time


def test_streams_are_windows_of_the_names_written_one_after_another(example: ModuleType) -> None:
    X, Y = np.array([[0, 1, 14, 14], [0, 2, 15, 0]]), np.array([[1, 14, 14, 0], [2, 15, 0, -100]])
    text = "".join(chr(ord("@") + i) if i else "." for i in [0, 1, 14, 14, 0, 2, 15])  # ".ANN.BO"
    ids, targets = example.stream(X, Y, length=3, count=20, seed=0)
    assert ids.shape == (20, 3) and targets.shape == (20,)
    for window, target in zip(ids, targets):
        piece = "".join(chr(ord("@") + i) if i else "." for i in [*window, target])
        assert piece in text, piece


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def float64_copy(example: ModuleType, model: Any) -> Any:
    """The same model in float64, through state_dict and load_state_dict."""
    copy = example.CharModel(model.kind, dtype=np.float64)
    copy.load_state_dict({k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()})
    return copy


class NumpyModel:
    """The model's equations written out in NumPy (PyTorch's gate order), from its weights only."""

    def __init__(self, model: Any) -> None:
        weights = {k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()}
        self.kind = model.kind
        self.E = weights["embedding.weight"]
        self.W_ih, self.W_hh = weights["rnn.weight_ih_l0"], weights["rnn.weight_hh_l0"]
        self.b = weights["rnn.bias_ih_l0"] + weights["rnn.bias_hh_l0"]
        self.W_out, self.b_out = weights["head.weight"], weights["head.bias"]
        self.H = self.W_hh.shape[1]

    def step(self, token: int, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pre = self.W_ih @ self.E[token] + self.W_hh @ h + self.b
        if self.kind == "rnn":
            return np.tanh(pre), c
        H = self.H
        i, f, g, o = sigmoid(pre[:H]), sigmoid(pre[H : 2 * H]), np.tanh(pre[2 * H : 3 * H]), sigmoid(pre[3 * H :])
        c = f * c + i * g
        return o * np.tanh(c), c

    def states(self, tokens: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(h_k, c_k) for k = 0..t, from zeros."""
        h = c = np.zeros(self.H)
        out = [(h, c)]
        for token in tokens:
            h, c = self.step(int(token), h, c)
            out.append((h, c))
        return out

    def output_gate(self, token: int, h: np.ndarray) -> np.ndarray:
        """o of the LSTM step that reads `token` from state h."""
        pre = self.W_ih @ self.E[token] + self.W_hh @ h + self.b
        return sigmoid(pre[3 * self.H :])

    def loss_from_cell(self, tokens: np.ndarray, k: int, c: np.ndarray, target: int) -> float:
        """L_t with c_k set to c and everything computed from c_k after it: h_k = o_k tanh(c_k) (o_k as
        computed from h_(k-1)), then steps k+1..t. (h_0 is an input, not computed from c_0.)"""
        states = self.states(tokens[:k])
        h = states[k][0] if k == 0 else self.output_gate(int(tokens[k - 1]), states[k - 1][0]) * np.tanh(c)
        return self.loss_from(tokens, k, h, c, target)

    def loss_from(self, tokens: np.ndarray, k: int, h: np.ndarray, c: np.ndarray, target: int) -> float:
        """L_t: run steps k+1..t from (h_k, c_k) = (h, c), then the cross-entropy of the last prediction."""
        for token in tokens[k:]:
            h, c = self.step(int(token), h, c)
        z = self.W_out @ h + self.b_out
        return float(np.log(np.sum(np.exp(z - z.max()))) + z.max() - z[target])


def central_differences(f: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = eps
        grad[j] = (f(x + e) - f(x - e)) / (2 * eps)
    return grad


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_gradients_through_time_match_central_differences_of_a_numpy_model(
    example: ModuleType, results: dict[str, Any], kind: str
) -> None:
    ids, targets = results["stream"]
    t = ids.shape[1]
    model = float64_copy(example, results["models"][kind])
    reference = NumpyModel(model)
    seq = 3
    tokens, target = ids[seq], int(targets[seq])
    states = reference.states(tokens)
    # the engine's forward is the NumPy one
    hs, cs = example.unroll(model, ids[seq : seq + 1])
    for k in range(t + 1):
        assert np.allclose(hs[k].data[0], states[k][0], rtol=0, atol=1e-12)
    # the engine's gradients, float64, one backward pass (the norms, and the vectors they come from)
    engine = example.gradients_through_time(model, ids[seq : seq + 1], targets[seq : seq + 1])
    wanted = hs + (cs if kind == "lstm" else [])
    grads = tg.grad(example.last_step_loss(model, hs, targets[seq : seq + 1]), wanted)
    for k in (t, t - 1, t - 4, t // 2, 0):
        h_k, c_k = states[k]
        dh = central_differences(lambda h: reference.loss_from(tokens, k, h, c_k, target), h_k)
        assert np.allclose(grads[k][0], dh, rtol=1e-5, atol=1e-9), (kind, k)
        assert engine["h"][t - k, 0] == pytest.approx(np.linalg.norm(dh), rel=1e-5, abs=1e-9)
        # what the example reported from its float32 run, for the same sequence
        reported = results["gradient_norms"][kind]["h"][t - k, seq]
        assert reported == pytest.approx(np.linalg.norm(dh), rel=2e-3, abs=1e-7)
        if kind == "lstm":
            # dL_t/dc_k counts every path from c_k: into h_k = o_k tanh(c_k), and into c_(k+1)
            dc = central_differences(lambda c: reference.loss_from_cell(tokens, k, c, target), c_k)
            assert np.allclose(grads[t + 1 + k][0], dc, rtol=1e-5, atol=1e-9), k
            reported = results["gradient_norms"][kind]["c"][t - k, seq]
            assert reported == pytest.approx(np.linalg.norm(dc), rel=2e-3, abs=1e-7)


def test_the_tanh_rnn_jacobian_is_the_product_of_diag_one_minus_h_squared_times_W(
    example: ModuleType, results: dict[str, Any]
) -> None:
    ids, targets = results["stream"]
    t = ids.shape[1]
    model = float64_copy(example, results["models"]["rnn"])
    reference = NumpyModel(model)
    states = reference.states(ids[0])
    h_t = states[t][0]
    z = reference.W_out @ h_t + reference.b_out
    p = np.exp(z - z.max())
    p /= p.sum()
    g = reference.W_out.T @ (p - np.eye(27)[targets[0]])  # dL_t/dh_t
    engine = example.gradients_through_time(model, ids[:1], targets[:1])["h"][:, 0]
    for k in range(t, -1, -1):
        assert engine[t - k] == pytest.approx(np.linalg.norm(g), rel=1e-9), k
        g = reference.W_hh.T @ ((1 - states[k][0] ** 2) * g)  # dL_t/dh_(k-1), back through step k


def test_the_reported_decay_rates_and_envelopes(results: dict[str, Any]) -> None:
    for key in ("decay_rates", "decay_rates_untrained"):
        assert all(0 < r < 1.2 for r in results[key].values())
    untrained = results["decay_rates_untrained"]
    assert untrained["rnn"] < 0.7  # rho(W_hh) about 0.57 at PyTorch's initialisation: fast vanishing
    rho, slope = results["rnn_envelope_parts"]["untrained"]
    assert 0.4 < rho < 0.8 and 0.5 < slope <= 1
    assert results["rnn_envelopes"]["untrained"] == pytest.approx(untrained["rnn"], rel=0.15)
    for kind, values in results["factors"].items():
        assert values.min() >= 0 and values.max() <= 1, kind


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_the_models_train_and_are_measured_where_they_are(example: ModuleType, kind: str) -> None:
    """--device: a model on a device (the tests' fake one) trains, samples and gives the gradients through
    time, the gate factors and the spectral radius of the same model on the CPU."""
    from .foreign_array import register

    register()
    X, Y = tg.data.name_sequences("train", seed=0)
    X_val, Y_val = tg.data.name_sequences("val", seed=0)
    X, Y, X_val, Y_val = X[:200], Y[:200], X_val[:50], Y_val[:50]
    ids, targets = example.stream(X_val, Y_val, 6, count=8, seed=0)
    measured = {}
    for device in ("cpu", "foreign"):
        model = example.CharModel(kind, seed=0).to(device)
        assert model.rnn.weight_hh_l0.device == device
        history = example.train(model, X, Y, X_val, Y_val, steps=3, seed=0)
        measured[device] = {
            "losses": np.array(history["train"] + history["val"]),
            "gradients": example.gradients_through_time(model, ids, targets)["h"],
            "factors": example.direct_path_factors(model, ids),
        }
        if kind == "rnn":  # (W_hh is square for the tanh RNN only)
            measured[device]["radius"] = np.array(example.spectral_radius(model))
        measured[device]["samples"] = example.sample_model(model, 4, seed=0)
    assert measured["foreign"].pop("samples") == measured["cpu"].pop("samples")
    for name, value in measured["cpu"].items():
        np.testing.assert_allclose(measured["foreign"][name], value, rtol=1e-5, err_msg=name)
