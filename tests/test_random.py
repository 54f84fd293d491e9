"""One default generator, seeded by tg.manual_seed, for everything given no seed of its own (as
torch.manual_seed); ints and Generators keep their meaning."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn


def _everything_unseeded() -> list[np.ndarray]:
    """One draw from each thing that takes rng=None (or seed=None, generator=None)."""
    x = Tensor(np.ones((4, 6)))
    mha = nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True)
    q = Tensor(np.ones((1, 3, 4)))
    return [
        nn.Linear(3, 2).weight.data, nn.Conv2d(1, 2, 3).weight.data, nn.Embedding(5, 2).weight.data,
        nn.LSTM(2, 3).weight_hh_l0.data, nn.MLP([2, 3, 1]).layers[0].weight.data, mha.in_proj_weight.data,
        mha(q, q, q)[0].data, nn.Dropout(0.5)(x).data, nn.functional.dropout(x, 0.5).data,
        nn.GRU(2, 3, num_layers=2, dropout=0.5)(Tensor(np.ones((2, 1, 2))))[0].data,
        tg.randn(3).data, tg.rand(3).data, tg.randint(10, size=5).data, tg.randn_like(x).data,
        nn.init.normal_(Tensor(np.zeros(4))).data, np.array([w.data for w in nn.Neuron(3).parameters()]),
        next(iter(tg.data.batches(np.arange(10.0), batch_size=10, shuffle=True, seed=None))).data,
        tg.data.two_moons(8, seed=None)[0],
    ]


def test_manual_seed_makes_every_unseeded_draw_repeat() -> None:
    tg.manual_seed(123)
    first = _everything_unseeded()
    tg.manual_seed(123)
    again = _everything_unseeded()
    tg.manual_seed(124)
    other = _everything_unseeded()
    for k, (a, b, c) in enumerate(zip(first, again, other)):
        np.testing.assert_array_equal(a, b, err_msg=f"draw {k} did not repeat after the same seed")
        assert not np.array_equal(a, c) or a.size <= 1, f"draw {k} ignored the seed"


def test_draws_after_one_seed_follow_each_other_as_torch_s_do() -> None:
    tg.manual_seed(0)
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    assert not np.array_equal(a.weight.data, b.weight.data)  # one stream: the second layer draws on


def test_a_layer_made_before_the_seed_draws_its_dropout_from_the_seeded_generator() -> None:
    layer, x = nn.Dropout(0.5), Tensor(np.ones(50))
    tg.manual_seed(7)
    first = layer(x).data
    tg.manual_seed(7)
    np.testing.assert_array_equal(layer(x).data, first)


def test_ints_and_generators_keep_their_meaning() -> None:
    tg.manual_seed(1)
    a = nn.Linear(3, 2, rng=0).weight.data
    tg.manual_seed(2)
    np.testing.assert_array_equal(nn.Linear(3, 2, rng=0).weight.data, a)  # a seed of its own: the seed is ignored
    g = np.random.default_rng(5)
    assert tg.random.generator(g, "test") is g
    seeded = tg.manual_seed(3)
    assert tg.random.generator(None, "test") is seeded


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_bad_seeds_are_refused_naming_who_asked(seed: Any) -> None:
    with pytest.raises(TypeError, match="manual_seed: seed must be a non-negative int"):
        tg.manual_seed(seed)
    if seed is not None:
        with pytest.raises(TypeError, match="Linear: rng must be a non-negative int, a numpy.random.Generator or None"):
            nn.Linear(2, 2, rng=seed)
        with pytest.raises(TypeError, match="batches: seed must be"):
            tg.data.batches(np.arange(4.0), shuffle=True, seed=seed)
