"""torch's top-level functions (tg.sum, tg.max, tg.softmax, tg.transpose, tg.sort, tg.topk, tg.from_numpy, ...):
the same call made on tg and on torch (they share torch's signatures), compared on values, float64
gradients, return types and shapes where torch is installed; closed forms, finite differences and the
errors without it. The Tensor methods sort, argsort, topk, dot and outer are tested here too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.tensor import ValuesAndIndices

from .numeric import assert_close, central_differences

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 4, 5))  # distinct elements (with probability 1): sorts and maxima without ties
M = RNG.normal(size=(4, 5))
A, B = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2))
A3, B3 = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 4, 5))
U, V = RNG.normal(size=4), RNG.normal(size=4)
TIES = np.array([[1.0, 5.0, 5.0, -2.0], [7.0, 2.0, 7.0, 2.0], [0.0, 0.0, 0.0, 0.0]])

# name -> (the call, made with m = tg or m = torch on tensors of the arrays, the arrays)
CASES: dict[str, tuple[Callable[..., Any], list[np.ndarray]]] = {
    "sum": (lambda m, x: m.sum(x), [X]),
    "sum_dim": (lambda m, x: m.sum(x, 1), [X]),
    "sum_dims_keepdim": (lambda m, x: m.sum(x, (0, 2), keepdim=True), [X]),
    "mean": (lambda m, x: m.mean(x), [X]),
    "mean_dim_keepdim": (lambda m, x: m.mean(x, -1, keepdim=True), [X]),
    "prod": (lambda m, x: m.prod(x), [M[:2]]),
    "prod_dim": (lambda m, x: m.prod(x, 1, keepdim=True), [M]),
    "max": (lambda m, x: m.max(x), [TIES]),  # ties: both share the gradient
    "max_dim": (lambda m, x: m.max(x, 1), [X]),
    "max_dim_ties": (lambda m, x: m.max(x, 1), [TIES]),  # the first largest gets it all
    "max_dim_keepdim": (lambda m, x: m.max(x, -1, keepdim=True), [X]),
    "max_other": (lambda m, x, y: m.max(x, y), [A, A.T.copy().reshape(3, 4)]),
    "min": (lambda m, x: m.min(x), [TIES]),
    "min_dim": (lambda m, x: m.min(x, dim=0), [X]),
    "min_dim_ties": (lambda m, x: m.min(x, 1, True), [TIES]),
    "min_other": (lambda m, x, y: m.min(x, y), [A, B.T.copy().reshape(2, 4)[:1]]),
    "std": (lambda m, x: m.std(x), [X]),
    "std_dim": (lambda m, x: m.std(x, 1, correction=0, keepdim=True), [X]),
    "std_unbiased": (lambda m, x: m.std(x, (0, 2), unbiased=False), [X]),
    "var": (lambda m, x: m.var(x), [X]),
    "var_dim": (lambda m, x: m.var(x, dim=-1), [X]),
    "norm": (lambda m, x: m.norm(x), [X]),
    "norm_p": (lambda m, x: m.norm(x, 3, dim=1), [X]),
    "norm_1": (lambda m, x: m.norm(x, 1, 2, True), [X]),
    "norm_inf": (lambda m, x: m.norm(x, float("inf"), dim=0), [M]),
    "norm_fro_dims": (lambda m, x: m.norm(x, dim=(1, 2)), [X]),
    "logsumexp": (lambda m, x: m.logsumexp(x, 1), [X]),
    "logsumexp_dims": (lambda m, x: m.logsumexp(x, (0, 2), keepdim=True), [X]),
    "cumsum": (lambda m, x: m.cumsum(x, 1), [X]),
    "argmax": (lambda m, x: m.argmax(x), [X]),
    "argmax_dim": (lambda m, x: m.argmax(x, 1, keepdim=True), [TIES]),
    "argmin_dim": (lambda m, x: m.argmin(x, dim=-1), [TIES]),
    "softmax": (lambda m, x: m.softmax(x, 1), [X]),
    "log_softmax": (lambda m, x: m.log_softmax(x, dim=-1), [X]),
    "matmul": (lambda m, a, b: m.matmul(a, b), [A, B]),
    "matmul_batched": (lambda m, a, b: m.matmul(a, b), [A3, RNG.normal(size=(4, 5))]),
    "mm": (lambda m, a, b: m.mm(a, b), [A, B]),
    "bmm": (lambda m, a, b: m.bmm(a, b), [A3, B3]),
    "dot": (lambda m, u, v: m.dot(u, v), [U, V]),
    "outer": (lambda m, u, v: m.outer(u, v), [U, V[:3]]),
    "t": (lambda m, a: m.t(a), [A]),
    "t_vector": (lambda m, u: m.t(u), [U]),
    "transpose": (lambda m, x: m.transpose(x, 0, 2), [X]),
    "transpose_negative": (lambda m, x: m.transpose(x, -1, 1), [X]),
    "reshape": (lambda m, x: m.reshape(x, (4, -1)), [X]),
    "sort": (lambda m, x: m.sort(x), [X]),
    "sort_descending": (lambda m, x: m.sort(x, 0, True), [X]),
    "sort_stable_ties": (lambda m, x: m.sort(x, dim=1, stable=True), [TIES]),
    "sort_stable_ties_descending": (lambda m, x: m.sort(x, dim=1, descending=True, stable=True), [TIES]),
    "argsort": (lambda m, x: m.argsort(x, 1, descending=True), [X]),
    "argsort_stable_ties": (lambda m, x: m.argsort(x, stable=True), [TIES]),
    "topk": (lambda m, x: m.topk(x, 2), [X]),
    "topk_smallest": (lambda m, x: m.topk(x, 3, dim=0, largest=False), [X]),
    "topk_positional": (lambda m, x: m.topk(x, 1, 1, True, True), [X]),
    "topk_all": (lambda m, x: m.topk(x, 5), [M]),
    "numel": (lambda m, x: m.numel(x), [X]),
    "allclose": (lambda m, x, y: m.allclose(x, y), [X, X + 1e-9]),
    "allclose_not": (lambda m, x, y: m.allclose(x, y, atol=0.0, rtol=1e-12), [X, X + 1e-9]),
    "allclose_broadcasts": (lambda m, x, y: m.allclose(x, y), [X, X[:1]]),
}


def _torch() -> Any:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _compare(ours: Any, theirs: Any, torch: Any, what: str) -> None:
    """Values, dtype, shape and type of one result against torch's."""
    if isinstance(theirs, torch.Tensor):
        assert type(ours) is Tensor, f"{what}: got a {type(ours).__name__}"
        assert ours.shape == tuple(theirs.shape), f"{what}: shape {ours.shape}, torch's {tuple(theirs.shape)}"
        assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch.")), f"{what}: dtype {ours.dtype}, {theirs.dtype}"
        assert_close(ours.data, theirs.detach().numpy(), what, atol=1e-12, rtol=1e-12)
    elif isinstance(theirs, tuple):  # torch.return_types.xxx: a named (values, indices)
        assert type(ours) is ValuesAndIndices, f"{what}: got a {type(ours).__name__}"
        assert ours.values is ours[0] and ours.indices is ours[1]
        _compare(ours.values, theirs.values, torch, f"{what}: values")
        _compare(ours.indices, theirs.indices, torch, f"{what}: indices")
        assert not ours.indices.requires_grad
    else:  # numel, allclose
        assert type(ours) is type(theirs) and ours == theirs, f"{what}: {ours!r}, torch's {theirs!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_gradients_and_return_types_match_torch(name: str) -> None:
    torch = _torch()
    call, arrays = CASES[name]
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    tts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = call(tg, *ts), call(torch, *tts)
    _compare(ours, theirs, torch, name)
    out, out_t = (ours.values, theirs.values) if isinstance(theirs, tuple) else (ours, theirs)
    if not isinstance(out_t, torch.Tensor) or not out_t.requires_grad:
        return
    g = np.cos(np.arange(out.size)).reshape(out.shape) + 0.5
    out.backward(g)
    out_t.backward(torch.tensor(g))
    for i, (t, tt) in enumerate(zip(ts, tts)):
        assert_close(t.grad, tt.grad.numpy(), f"{name}: gradient of input {i}", atol=1e-12, rtol=1e-10)


def test_dtype_casts_the_input_first_as_torch() -> None:
    torch = _torch()
    for fn in ("sum", "mean", "prod", "cumsum", "softmax", "log_softmax", "norm"):
        args = (1,) if fn in ("cumsum", "softmax", "log_softmax") else ()
        single = M.astype(np.float32)  # (torch's norm refuses a dtype that narrows)
        ours = getattr(tg, fn)(Tensor(single), *args, dtype=np.float64)
        theirs = getattr(torch, fn)(torch.tensor(single), *args, dtype=torch.float64)
        assert ours.dtype == np.float64 and theirs.dtype == torch.float64, fn
        assert_close(ours.data, theirs.numpy(), fn, atol=1e-12)


# --------------------------------------------------------------------------- without torch: closed forms


def test_max_with_a_dim_gives_values_and_indices_where_the_method_gives_values() -> None:
    x = Tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]], requires_grad=True)
    values, indices = tg.max(x, 1)
    assert values.data.tolist() == [5.0, 7.0] and indices.data.tolist() == [1, 0] and indices.dtype == np.int64
    (values * Tensor([1.0, 10.0])).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [10.0, 0.0, 0.0]]  # the first of the tied, alone
    x.grad = None
    method = x.max(1)  # the method is unchanged: values only, ties sharing
    assert type(method) is Tensor and method.data.tolist() == [5.0, 7.0]
    (method * Tensor([1.0, 10.0])).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [5.0, 0.0, 5.0]]
    x.grad = None
    tg.max(x).backward()  # no dim: the largest element, ties sharing (as torch.max(x))
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.5, 0.0, 0.5]]
    low = tg.min(x, 0, keepdim=True)
    assert low.values.data.tolist() == [[1.0, 2.0, 5.0]] and low.indices.data.tolist() == [[0, 1, 0]]
    assert tg.max(x, Tensor([6.0, 0.0, 6.0])).data.tolist() == [[6.0, 5.0, 6.0], [7.0, 2.0, 7.0]]
    assert tg.min(x, Tensor(3.0)).data.tolist() == [[1.0, 3.0, 3.0], [3.0, 2.0, 3.0]]


def test_a_0d_tensor_is_the_vector_of_its_one_element() -> None:
    x = Tensor(3.0)
    for result in (tg.max(x, 0), tg.min(x, -1, keepdim=True), x.sort(), x.topk(1), tg.sort(x, 0)):
        assert result.values.shape == () == result.indices.shape
        assert result.values.item() == 3.0 and result.indices.item() == 0
    assert x.argsort().shape == () and tg.transpose(x, 0, -1).item() == 3.0


def test_sort_closed_forms_with_ties_and_nan() -> None:
    x = Tensor([3.0, 1.0, 2.0, 1.0])
    assert x.sort().values.data.tolist() == [1.0, 1.0, 2.0, 3.0] and x.sort().indices.data.tolist() == [1, 3, 2, 0]
    down = x.sort(descending=True)
    assert down.values.data.tolist() == [3.0, 2.0, 1.0, 1.0] and down.indices.data.tolist() == [0, 2, 1, 3]
    nan = Tensor([1.0, np.nan, 0.0, np.nan])  # NaN counts as the largest, as in torch
    assert nan.argsort().data.tolist() == [2, 0, 1, 3] and nan.argsort(descending=True).data.tolist() == [1, 3, 0, 2]
    for dtype in (np.uint8, np.int32, np.bool_):  # descending also where -x would not reverse the order
        data = np.array([1, 0, 1, 0], dtype=dtype)
        assert Tensor(data).sort(descending=True).indices.data.tolist() == [0, 2, 1, 3], dtype
        assert Tensor(data).sort(descending=True).values.dtype == dtype
    rows = Tensor([[2.0, 1.0], [0.0, 3.0]])
    assert rows.sort(0).values.data.tolist() == [[0.0, 1.0], [2.0, 3.0]] and rows.sort(0).indices.data.tolist() == [[1, 0], [0, 1]]


def test_sorted_values_carry_the_gradient_of_the_place_each_moved_to() -> None:
    x = Tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = x.sort()
    assert not indices.requires_grad and indices.op is None
    (values * Tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]  # 3 went to place 2, 1 to place 0, 2 to place 1


def test_topk_closed_forms() -> None:
    x = Tensor([[1.0, 4.0, 4.0, 0.0], [2.0, 2.0, 9.0, 2.0]], requires_grad=True)
    top = x.topk(2)
    assert top.values.data.tolist() == [[4.0, 4.0], [9.0, 2.0]] and top.indices.data.tolist() == [[1, 2], [2, 0]]
    low = tg.topk(x, 3, dim=1, largest=False, sorted=False)  # always sorted here
    assert low.values.data.tolist() == [[0.0, 1.0, 4.0], [2.0, 2.0, 2.0]] and low.indices.data.tolist() == [[3, 0, 1], [0, 1, 3]]
    top.values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]]
    assert x.topk(0).values.shape == (2, 0) and x.topk(4, dim=None).indices.shape == (2, 4)
    assert tg.topk(x, 1, 0).indices.data.tolist() == [[1, 0, 1, 1]]


@pytest.mark.parametrize("which", ["sort", "sort_descending", "topk", "topk_smallest", "max_dim", "min_dim"])
def test_sort_topk_and_max_gradients_match_finite_differences(which: str) -> None:
    x = RNG.normal(size=(3, 5))
    w = RNG.normal(size=(3, 5))

    def pick(t: Tensor) -> Tensor:
        return {"sort": lambda: t.sort(1).values, "sort_descending": lambda: t.sort(0, descending=True).values,
                "topk": lambda: t.topk(3).values, "topk_smallest": lambda: t.topk(2, 0, largest=False).values,
                "max_dim": lambda: tg.max(t, 1, keepdim=True).values, "min_dim": lambda: tg.min(t, 0).values}[which]()

    def f(arrays: list[np.ndarray]) -> float:
        out = pick(Tensor(arrays[0]))
        return float((out.data * w[tuple(slice(n) for n in out.shape)]).sum())

    t = Tensor(x, requires_grad=True)
    out = pick(t)
    (out * Tensor(w[tuple(slice(n) for n in out.shape)])).sum().backward()
    (expected,) = central_differences(f, [x])
    assert_close(t.grad, expected, which, atol=1e-7)


def test_reductions_and_movement_against_numpy() -> None:
    x = Tensor(X)
    assert_close(tg.sum(x, (0, 2)).data, X.sum((0, 2)), "sum", atol=1e-12)
    assert tg.sum(x, 1, dtype=np.float32).dtype == np.float32
    assert_close(tg.mean(x, 1, keepdim=True).data, X.mean(1, keepdims=True), "mean", atol=1e-12)
    assert_close(tg.var(x, 1).data, X.var(1, ddof=1), "var", atol=1e-12)
    assert_close(tg.std(x, correction=0).data, X.std(), "std", atol=1e-12)
    assert_close(tg.norm(x, dim=2).data, np.sqrt((X**2).sum(2)), "norm", atol=1e-12)
    assert_close(tg.logsumexp(x, 0).data, np.log(np.exp(X).sum(0)), "logsumexp", atol=1e-12)
    assert_close(tg.softmax(x, 0).data, np.exp(X) / np.exp(X).sum(0), "softmax", atol=1e-12)
    assert_close(tg.cumsum(x, 2).data, X.cumsum(2), "cumsum", atol=1e-12)
    assert tg.argmax(x).item() == X.argmax() and tg.argmin(x, 1).data.tolist() == X.argmin(1).tolist()
    assert tg.transpose(x, 0, 2).data.tolist() == np.swapaxes(X, 0, 2).tolist()
    assert tg.t(Tensor(A)).shape == (4, 3) and tg.reshape(x, (-1,)).shape == (60,)
    assert_close(tg.bmm(Tensor(A3), Tensor(B3)).data, A3 @ B3, "bmm", atol=1e-12)
    assert tg.numel(x) == 60 and type(tg.numel(x)) is int
    assert tg.allclose(x, X + 1e-9) is True and tg.allclose(x, X + 1e-3) is False
    assert tg.sum([1.0, 2.0]).item() == 3.0  # lists and arrays become constants


def test_dot_and_outer_values_and_gradients() -> None:
    u, v = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([4.0, 5.0, 6.0], requires_grad=True)
    d = tg.dot(u, v)
    assert d.shape == () and d.item() == 32.0
    d.backward()
    assert u.grad.tolist() == [4.0, 5.0, 6.0] and v.grad.tolist() == [1.0, 2.0, 3.0]
    u.grad = v.grad = None
    o = u.outer(v[:2])
    assert o.data.tolist() == [[4.0, 5.0], [8.0, 10.0], [12.0, 15.0]]
    (o * Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])).sum().backward()
    assert u.grad.tolist() == [4.0, 5.0, 9.0] and v.grad.tolist() == [4.0, 5.0, 0.0]


def test_from_numpy_shares_the_arrays_memory() -> None:
    a = np.arange(3.0, dtype=np.float32)
    t = tg.from_numpy(a)
    assert t.dtype == np.float32 and not t.requires_grad and np.shares_memory(t.data, a)
    a[0] = 7.0
    assert t.data[0] == 7.0
    t[1] = 8.0
    assert a[1] == 8.0
    assert tg.from_numpy(np.array([1, 2])).dtype == np.int64  # no cast to float, unlike Tensor([1, 2])
    assert Tensor(a).data is not a and not np.shares_memory(Tensor(a).data, a)  # Tensor copies


def test_a_tracked_change_through_a_shared_array_refuses_a_stale_backward() -> None:
    a = np.array([1.0, 2.0])
    w = tg.from_numpy(a)
    tail = tg.from_numpy(a[1:])  # the same memory, through another tensor
    scale = Tensor([3.0], requires_grad=True)
    y = (tail * scale).sum()  # the mul saves tail for scale's gradient
    w -= 1.0  # tracked, as an optimizer step is: it changes the array, and so what tail holds
    assert a.tolist() == [0.0, 1.0] and tail.data.tolist() == [1.0]
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


@pytest.mark.parametrize("call, error, message", [
    (lambda: tg.max(Tensor(X), 3), IndexError, r"max: dim 3 is out of range for a tensor of shape \(3, 4, 5\)"),
    (lambda: tg.min(Tensor(X), 1.5), TypeError, r"min: dim must be an int"),
    (lambda: tg.sort(Tensor(M), 2), IndexError, r"sort: dim 2 is out of range for a tensor of shape \(4, 5\)"),
    (lambda: tg.argsort(Tensor(M), -3), IndexError, r"argsort: dim -3 is out of range .* shape \(4, 5\)"),
    (lambda: tg.topk(Tensor(M), 6), RuntimeError, r"topk: k=6 is out of range for dim 1 of size 5 \(shape \(4, 5\)\)"),
    (lambda: tg.topk(Tensor(M), -1), RuntimeError, r"topk: k=-1 is out of range"),
    (lambda: tg.topk(Tensor(M), 2, 2), IndexError, r"topk: dim 2 is out of range .* shape \(4, 5\)"),
    (lambda: tg.transpose(Tensor(M), 0, 2), IndexError, r"transpose: dim 2 is out of range .* shape \(4, 5\)"),
    (lambda: tg.dot(Tensor(U), Tensor(V[:3])), RuntimeError, r"dot: expected two 1-D tensors of the same size, got shapes \(4,\) and \(3,\)"),
    (lambda: tg.dot(Tensor(M), Tensor(M)), RuntimeError, r"dot: .* got shapes \(4, 5\) and \(4, 5\)"),
    (lambda: tg.outer(Tensor(M), Tensor(U)), RuntimeError, r"outer: expected two 1-D tensors, got shapes \(4, 5\) and \(4,\)"),
    (lambda: tg.mm(Tensor(A), Tensor(A)), RuntimeError, r"mm: shapes \(3, 4\) and \(3, 4\) cannot be multiplied"),
    (lambda: tg.matmul(Tensor(A), Tensor(A)), RuntimeError, r"matmul on shapes \(3, 4\) and \(3, 4\)"),
    (lambda: tg.t(Tensor(X)), RuntimeError, r"t: expects a tensor of at most 2 dims, got shape \(3, 4, 5\)"),
    (lambda: tg.reshape(Tensor(M), (3, -1)), RuntimeError, r"reshape on shape \(4, 5\)"),
    (lambda: tg.allclose(Tensor(M), Tensor(U)), RuntimeError, r"allclose: shapes \(4, 5\) and \(4,\) do not broadcast"),
    (lambda: tg.sum(Tensor(M), 2), IndexError, r"sum: axis 2 is out of range for shape \(4, 5\)"),
    (lambda: tg.std(Tensor(M), 2), IndexError, r"std: axis 2 is out of range for shape \(4, 5\)"),
    (lambda: tg.var(Tensor(M), 2), IndexError, r"var: axis 2 is out of range for shape \(4, 5\)"),
    (lambda: tg.norm(Tensor(M), dim=2), IndexError, r"norm: axis 2 is out of range for shape \(4, 5\)"),
    (lambda: tg.logsumexp(Tensor(M), 2), IndexError, r"logsumexp: axis 2 is out of range for shape \(4, 5\)"),
    (lambda: tg.softmax(Tensor(M), 2), IndexError, r"softmax: axis 2 is out of range for shape \(4, 5\)"),
    (lambda: tg.cumsum(Tensor(M), 2), IndexError, r"cumsum: axis 2 is out of range for shape \(4, 5\)"),
    (lambda: tg.argmax(Tensor(M), 2), IndexError, r"argmax: axis 2 is out of range for shape \(4, 5\)"),
    (lambda: tg.from_numpy([1.0, 2.0]), TypeError, r"from_numpy: expected a numpy.ndarray, got list"),
    (lambda: tg.from_numpy(np.array(["a"])), TypeError, r"from_numpy: .* shape \(1,\) is <U1"),
])
def test_errors_name_the_function_and_the_shapes(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_the_functions_are_public_and_sum_max_min_stay_out_of_star_imports() -> None:
    names = ("allclose argmax argmin argsort bmm cumsum dot from_numpy log_softmax logsumexp matmul mean mm norm "
             "numel outer prod reshape softmax sort std t topk transpose var").split()
    for name in names:
        assert name in tg.__all__ and getattr(tg, name).__module__ == "tinygrad_edu.functions", name
    for name in ("sum", "max", "min"):  # as abs and round: a star import would hide Python's own
        assert name not in tg.__all__ and getattr(tg, name).__module__ == "tinygrad_edu.functions", name
