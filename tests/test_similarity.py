"""F.normalize, F.cosine_similarity and nn.CosineSimilarity, nn.Embedding.from_pretrained, Tensor.unbind and
SGD's default step size: against torch where it is installed (values, gradients), closed forms without it."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import CosineSimilarity, Embedding
from tinygrad_edu.nn import functional as F

from .numeric import assert_close, central_differences

RNG = np.random.default_rng(5)
A, B = RNG.normal(size=(4, 3)), RNG.normal(size=(1, 3))


def test_normalize_by_its_closed_form_and_torch() -> None:
    x = Tensor(A, requires_grad=True)
    y = F.normalize(x, dim=1)
    np.testing.assert_allclose(y.numpy(), A / np.sqrt((A**2).sum(1, keepdims=True)), rtol=1e-14)
    np.testing.assert_allclose(F.normalize(Tensor(A), p=1, dim=0).numpy(), A / np.abs(A).sum(0), rtol=1e-14)
    assert F.normalize(Tensor(np.zeros((2, 3)))).tolist() == [[0.0] * 3] * 2  # eps: a zero vector stays zero
    w = np.cos(np.arange(12)).reshape(4, 3)
    (y * Tensor(w)).sum().backward()
    (fd,) = central_differences(lambda a: float((a[0] / np.sqrt((a[0] ** 2).sum(1, keepdims=True)) * w).sum()), [A])
    assert_close(x.grad, fd, "normalize: gradient", atol=1e-8)
    torch = pytest.importorskip("torch")
    for p, dim in ((2.0, 1), (1.0, 0), (3.0, -1)):
        ours, theirs = F.normalize(Tensor(A), p=p, dim=dim), torch.nn.functional.normalize(torch.tensor(A), p=p, dim=dim)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13)


def test_cosine_similarity_against_torch() -> None:
    x1, x2 = Tensor(A, requires_grad=True), Tensor(B, requires_grad=True)
    out = F.cosine_similarity(x1, x2)
    expected = (A @ B[0]) / (np.linalg.norm(A, axis=1) * np.linalg.norm(B[0]))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-13)
    np.testing.assert_allclose(CosineSimilarity(dim=0)(Tensor(A), Tensor(A[::-1].copy())).numpy(),
                               (A * A[::-1]).sum(0) / (np.linalg.norm(A, axis=0) ** 2), rtol=1e-13)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        F.cosine_similarity(Tensor(A), Tensor(np.ones((2, 3))))
    torch = pytest.importorskip("torch")
    t1, t2 = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
    ref = torch.nn.functional.cosine_similarity(t1, t2)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-13)
    w = np.arange(1.0, 5.0)
    (out * Tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    assert_close(x1.grad, t1.grad.numpy(), "cosine_similarity: gradient of x1", atol=1e-12)
    assert_close(x2.grad, t2.grad.numpy(), "cosine_similarity: gradient of x2", atol=1e-12)
    zeros = np.zeros((2, 3))
    np.testing.assert_array_equal(F.cosine_similarity(Tensor(zeros), Tensor(B)).numpy(),
                                  torch.nn.functional.cosine_similarity(torch.tensor(zeros), torch.tensor(B)).numpy())


def test_embedding_from_pretrained() -> None:
    table = RNG.normal(size=(5, 2))
    frozen = Embedding.from_pretrained(table)
    assert frozen([3, 0]).tolist() == [table[3].tolist(), table[0].tolist()]
    assert not frozen.weight.requires_grad and [n for n, _ in frozen.named_parameters()] == ["weight"]
    assert frozen.weight.data is not table  # a copy: the table given is not trained in place
    trained = Embedding.from_pretrained(Tensor(table.astype(np.float32)), freeze=False, padding_idx=1)
    assert trained.weight.requires_grad and trained.weight.dtype == np.float32 and trained.padding_idx == 1
    trained([1, 2, 2]).sum().backward()
    assert trained.weight.grad[1].tolist() == [0.0, 0.0] and trained.weight.grad[2].tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="must be 2-D"):
        Embedding.from_pretrained(np.zeros(3))
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table))
    ids = np.array([[4, 1], [0, 0]])
    np.testing.assert_array_equal(frozen(ids).numpy(), theirs(torch.tensor(ids)).numpy())
    assert theirs.weight.requires_grad == frozen.weight.requires_grad
    assert list(theirs.state_dict()) == list(frozen.state_dict())


def test_unbind_against_torch() -> None:
    x = Tensor(A, requires_grad=True)
    rows = x.unbind()
    assert len(rows) == 4 and [r.tolist() for r in rows] == A.tolist()
    cols = tg.unbind(x, dim=-1)
    (cols[0] * 2 + cols[2]).sum().backward()
    assert x.grad.tolist() == [[2.0, 0.0, 1.0]] * 4
    with pytest.raises(IndexError):
        x.unbind(2)
    torch = pytest.importorskip("torch")
    assert [c.tolist() for c in cols] == [c.tolist() for c in torch.tensor(A).unbind(-1)]


def test_sgd_has_torch_s_default_step_size() -> None:
    w = Tensor([1.0], requires_grad=True)
    opt = tg.optim.SGD([w])
    (w * 3).sum().backward()
    opt.step()
    assert w.tolist() == [1.0 - 1e-3 * 3]
    torch = pytest.importorskip("torch")
    assert torch.optim.SGD([torch.zeros(1, requires_grad=True)]).defaults["lr"] == opt.defaults["lr"]
