"""PyTorch's names for Tensor and Module that people carry over (numel, mm, new_zeros, requires_grad_,
apply, register_parameter, get_submodule, ...): each against torch on the same inputs where torch is
installed (values, shapes, gradients and the exception types), and against closed forms without it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import Linear, Module, ReLU, Sequential, is_parameter

from .numeric import assert_close

RNG = np.random.default_rng(0)
A2, B2 = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4))
A3, B3 = RNG.normal(size=(5, 2, 3)), RNG.normal(size=(5, 3, 4))


def _raises(f: Callable[[], Any]) -> type[BaseException] | None:
    try:
        f()
    except Exception as e:  # noqa: BLE001 (the type is what is compared)
        return type(e)
    return None


# --------------------------------------------------------------------------- Tensor, closed forms


def test_sizes_under_torchs_names() -> None:
    t = Tensor(np.zeros((2, 3, 4), dtype=np.float32))
    assert (t.numel(), t.nelement(), t.dim(), t.ndimension(), t.element_size()) == (24, 24, 3, 3, 4)
    assert Tensor(3.0).numel() == 1 and Tensor(3.0).dim() == 0 and Tensor(3.0).element_size() == 8
    assert Tensor(np.zeros(2, dtype=bool)).element_size() == 1


def test_is_leaf() -> None:
    x = Tensor([1.0], requires_grad=True)
    y = x * 2
    with tg.no_grad():
        z = x * 2
    assert x.is_leaf and not y.is_leaf and z.is_leaf and y.detach().is_leaf and Tensor([1.0]).is_leaf


def test_neg_and_negative_are_minus_x_with_gradient_minus_one() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    for name in ("neg", "negative"):
        x.grad = None
        y = getattr(x, name)()
        assert y.data.tolist() == [-1.0, 2.0] and y.op is tg.REGISTRY["neg"]
        y.sum().backward()
        assert x.grad.tolist() == [-1.0, -1.0]


def test_mm_bmm_matmul_values() -> None:
    a, b = Tensor([[1.0, 2.0]]), Tensor([[3.0], [4.0]])
    assert a.mm(b).data.tolist() == [[11.0]] and a.matmul(b).data.tolist() == [[11.0]]
    assert Tensor(A3).bmm(Tensor(B3)).shape == (5, 2, 4)
    assert_close(Tensor(A3).bmm(Tensor(B3)).data, np.einsum("bij,bjk->bik", A3, B3), "bmm", atol=1e-12)
    assert Tensor([1.0, 2.0]).matmul(Tensor([3.0, 4.0])).item() == 11.0  # matmul takes vectors; mm does not


@pytest.mark.parametrize("call, message", [
    (lambda: Tensor(A2).mm(Tensor([1.0, 2.0, 3.0])), r"mm: expected two 2-D tensors, got shapes \(2, 3\) and \(3,\)"),
    (lambda: Tensor(A2).mm(Tensor(A2)), r"mm: shapes \(2, 3\) and \(2, 3\) cannot be multiplied \(3 columns against 2 rows\)"),
    (lambda: Tensor(A2).bmm(Tensor(B3)), r"bmm: expected two 3-D tensors, got shapes \(2, 3\) and \(5, 3, 4\)"),
    (lambda: Tensor(A3).bmm(Tensor(B3[:4])), r"bmm: shapes \(5, 2, 3\) and \(4, 3, 4\) cannot be multiplied \(batch sizes differ\)"),
    (lambda: Tensor(np.zeros((2, 2, 2))).t(), r"t: expects a tensor of at most 2 dims, got shape \(2, 2, 2\)"),
    (lambda: Tensor([1.0]).mT, r"mT: expects a matrix or a batch of matrices, got shape \(1,\)"),
    (lambda: (Tensor([1.0], requires_grad=True) * 2).requires_grad_(False), r"computed by 'mul'"),
    (lambda: Tensor(np.array([1, 2])).requires_grad_(), r"floating-point .* shape \(2,\) is int64"),
])
def test_errors_name_the_operation_and_the_shapes(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        call()


def test_t_and_mT() -> None:
    assert Tensor(A2).t().data.tolist() == A2.T.tolist()
    assert Tensor([1.0, 2.0]).t().data.tolist() == [1.0, 2.0] and Tensor(5.0).t().item() == 5.0
    assert Tensor(A3).mT.data.tolist() == np.swapaxes(A3, 1, 2).tolist()
    assert Tensor(A2).mT.data.tolist() == A2.T.tolist()


def test_new_factories_take_dtype_and_device_from_self() -> None:
    src = Tensor(np.ones(3, dtype=np.float32))
    for t in (src.new_zeros(2, 3), src.new_zeros((2, 3)), src.new_ones([2, 3]), src.new_empty(2, 3), src.new_full((2, 3), 7)):
        assert t.shape == (2, 3) and t.dtype == np.float32 and t.device == "cpu" and t.is_leaf and not t.requires_grad
    assert src.new_zeros(2).data.tolist() == [0.0, 0.0] and src.new_ones(2).data.tolist() == [1.0, 1.0]
    assert src.new_full((2,), 7).data.tolist() == [7.0, 7.0]
    assert src.new_zeros(2, dtype=np.int64).dtype == np.int64
    assert src.new_ones(2, requires_grad=True).requires_grad
    data = np.array([1, 2])
    copy = src.new_tensor(data)
    data[0] = 9  # a copy: the new tensor does not see it
    assert copy.dtype == np.float32 and copy.data.tolist() == [1.0, 2.0]
    from_tensor = src.new_tensor(Tensor([1.0], requires_grad=True))
    assert from_tensor.is_leaf and not from_tensor.requires_grad


def test_requires_grad_on_leaves() -> None:
    x = Tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad and x.is_leaf
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    y = x * 2
    assert y.requires_grad_(True) is y  # a computed tensor may keep requires_grad (nothing changes)
    x.grad = None
    x.requires_grad_(False)
    assert not (x * x).requires_grad and x.grad is None and x.is_leaf


# --------------------------------------------------------------------------- Module, closed forms


class Block(Module):
    def __init__(self) -> None:  # (parameters before submodules: the order where ours and torch's agree)
        self.gain = Value(1.5)
        self.lin = Linear(2, 2, rng=0)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(x) * self.gain.data


class Net(Module):
    def __init__(self) -> None:
        self.first = Linear(2, 2, rng=1)
        self.blocks = [Block(), Block()]
        self.heads = {"a": Linear(2, 1, rng=2)}
        self.register_buffer("steps", np.zeros(1))


def test_apply_visits_children_first_and_returns_self() -> None:
    net = Net()
    seen: list[Module] = []
    assert net.apply(seen.append) is net
    assert seen == [net.first, net.blocks[0].lin, net.blocks[0], net.blocks[1].lin, net.blocks[1], net.heads["a"], net]


def test_requires_grad_false_freezes_and_keeps_the_parameters() -> None:
    net = Net()
    names, state = [n for n, _ in net.named_parameters()], list(net.state_dict())
    assert net.blocks[0].requires_grad_(False) is net.blocks[0]
    assert [n for n, _ in net.named_parameters()] == names and list(net.state_dict()) == state
    assert not any(p.requires_grad for p in net.blocks[0].parameters())
    assert all(is_parameter(p) for p in net.blocks[0].parameters())
    assert net.load_state_dict(net.state_dict()) == ([], [])
    net.requires_grad_(True)
    assert all(p.requires_grad for p in net.parameters())


def test_an_optimizer_takes_frozen_parameters_and_leaves_them_alone() -> None:
    net = Net()
    net.blocks[0].requires_grad_(False)
    frozen = {id(p): np.array(p.data, copy=True) for p in net.blocks[0].parameters()}
    opt = tg.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.5)  # decay would move a Value
    for _ in range(2):
        opt.zero_grad()
        net.first(Tensor(np.ones((1, 2)))).sum().backward()
        opt.step()
    assert all(np.array_equal(p.data, frozen[id(p)]) for p in net.blocks[0].parameters())
    assert net.blocks[1].gain.data != 1.5  # (weight decay moved the one that is not frozen)
    with pytest.raises(ValueError, match="does not require grad"):  # a tensor that never required grad
        tg.optim.SGD([Tensor([1.0])], lr=0.1)


def test_check_module_grads_checks_and_names_only_the_parameters_not_frozen() -> None:
    net = Sequential(Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1))
    net[0].requires_grad_(False)
    x, y = Tensor(RNG.normal(size=(4, 2))), Tensor(np.zeros((4, 1)))
    report = tg.check_module_grads(net, lambda out, target: ((out - target) ** 2).mean(), x, y, report=True)
    assert [(i.name, i.shape) for i in report.inputs] == [("2.weight", (1, 3)), ("2.bias", (1,))]


def test_register_parameter_and_add_module_set_attributes_found_in_order() -> None:
    m = Module()
    m.register_parameter("w", Tensor([1.0], requires_grad=True))
    m.register_parameter("empty", None)
    m.add_module("child", Linear(1, 1, rng=0))
    m.register_module("nothing", None)
    m.register_parameter("w", Tensor([2.0], requires_grad=True))  # replaced in its place
    assert [n for n, _ in m.named_parameters()] == ["w", "child.weight", "child.bias"]
    assert list(m.state_dict()) == ["w", "child.weight", "child.bias"] and m.w.data.tolist() == [2.0]
    assert m.empty is None and m.nothing is None and m.children() == [m.child]
    m.register_parameter("empty", Value(1.0))  # an empty slot filled, in its place
    assert [n for n, _ in m.named_parameters()] == ["w", "empty", "child.weight", "child.bias"]
    m.register_parameter("late", Value(1.0))  # after a submodule: definition order (torch puts it before)
    assert list(m.state_dict())[-1] == "late"


@pytest.mark.parametrize("call, error, message", [
    (lambda m: m.register_parameter("x", Tensor([1.0])), TypeError, "this one does not require grad"),
    (lambda m: m.register_parameter("x", Tensor([1.0], requires_grad=True) * 2), TypeError, "computed by 'mul'"),
    (lambda m: m.register_parameter("x", 1.0), TypeError, "is a float"),
    (lambda m: m.register_parameter("a.b", None), KeyError, "without dots, got 'a.b'"),
    (lambda m: m.register_parameter("", None), KeyError, "non-empty"),
    (lambda m: m.register_parameter(3, None), TypeError, "must be a string, got int"),
    (lambda m: m.register_parameter("forward", None), KeyError, "'forward' already exists"),
    (lambda m: m.register_parameter("lin", None), KeyError, "'lin' already exists and is not a parameter"),
    (lambda m: m.register_parameter("steps", None), KeyError, "'steps' already exists"),
    (lambda m: m.add_module("x", 3), TypeError, "expected a Module or None, got a int"),
    (lambda m: m.add_module("gain", ReLU()), KeyError, "'gain' already exists and is not a module"),
    (lambda m: Sequential(ReLU()).add_module("extra", ReLU()), TypeError, "Sequential finds its parameters"),
])
def test_registering_refuses_what_would_not_be_found(call: Callable[[Module], Any], error: type, message: str) -> None:
    m = Block()
    m.register_buffer("steps", np.zeros(1))
    with pytest.raises(error, match=message):
        call(m)


def test_get_submodule_and_get_parameter_follow_the_names_of_named_modules() -> None:
    net = Net()
    for name, module in net.named_modules():
        assert net.get_submodule(name) is module
    for name, p in net.named_parameters():
        assert net.get_parameter(name) is p
    seq = Sequential(Linear(1, 1, rng=0), Sequential(ReLU(), Linear(1, 1, rng=1)))
    assert seq.get_submodule("1.1") is seq[1][1] and seq.get_parameter("1.1.bias") is seq[1][1].bias  # type: ignore[index]
    for call, message in [
        (lambda: net.get_submodule("blocks.2"), r"blocks \(list\) has no attribute '2'"),
        (lambda: net.get_submodule("nope.lin"), r"the module \(Net\) has no attribute 'nope'"),
        (lambda: net.get_submodule("first.weight"), "'first.weight' is a Tensor, not a Module"),
        (lambda: net.get_parameter("steps"), "'steps' is a Tensor that is not a parameter"),
        (lambda: net.get_parameter("blocks.0"), "'blocks.0' is a Block"),
    ]:
        with pytest.raises(AttributeError, match=message):
            call()


def test_python_protocols_under_pytorch_s_meaning() -> None:
    loss, ids, grid = Tensor(0.123456), Tensor(np.array(2)), Tensor(np.arange(6.0).reshape(2, 3))
    assert f"{loss:.3f}" == "0.123" and f"{grid}" == str(grid)  # a 0-d tensor formats as its number
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{grid:.2f}"
    assert int(Tensor(2.7)) == 2 and int(Tensor([[-3.9]])) == -3 and ["a", "b", "c"][ids] == "c"
    assert list(range(ids)) == [0, 1]
    with pytest.raises(TypeError, match="only an integer Tensor of one element can be an index, this one is float64"):
        ["a", "b", "c"][Tensor(1.0)]
    assert 4.0 in grid and 3 in grid and 7.0 not in grid and Tensor(5.0) in grid  # any element, not a row
    with pytest.raises(TypeError, match="cannot look for a str"):
        "a" in grid
    assert +grid is grid


def test_transpose_with_two_dims_swaps_them_and_otherwise_permutes() -> None:
    x = RNG.normal(size=(2, 3, 4))
    assert_close(Tensor(x).transpose(-2, -1).data, x.swapaxes(1, 2), "transpose(-2, -1)", atol=0)
    assert_close(Tensor(x).transpose(2, 0).data, x.swapaxes(0, 2), "transpose(2, 0)", atol=0)
    assert_close(Tensor(A2).transpose(0, 1).data, A2.T, "a matrix's transpose(0, 1)", atol=0)  # not NumPy's identity
    assert_close(Tensor(A2).transpose(1, 0).data, A2.T, "a matrix's transpose(1, 0)", atol=0)
    assert Tensor(3.0).transpose(0, -1).shape == () and Tensor(np.zeros(3)).transpose(0, 0).shape == (3,)
    assert_close(Tensor(x).transpose(1, 2, 0).data, x.transpose(1, 2, 0), "NumPy's permutation", atol=0)
    assert_close(Tensor(A2).transpose((0, 1)).data, A2, "a permutation as a tuple: NumPy's", atol=0)
    assert Tensor(x).transpose().shape == (4, 3, 2)
    with pytest.raises(IndexError, match="transpose"):
        Tensor(x).transpose(0, 3)
    t = Tensor(x, requires_grad=True)
    (t.transpose(0, -1) * Tensor(np.arange(24.0).reshape(4, 3, 2))).sum().backward()
    assert_close(t.grad, np.arange(24.0).reshape(4, 3, 2).swapaxes(0, 2), "its gradient", atol=0)


# --------------------------------------------------------------------------- against torch


@pytest.fixture
def torch() -> Any:
    return pytest.importorskip("torch")


def _same(ours: Tensor, theirs: Any, what: str) -> None:
    assert ours.shape == tuple(theirs.shape), what
    assert_close(ours.data, theirs.detach().numpy(), what, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_sizes_as_torch(torch: Any, dtype: str) -> None:
    for shape in [(), (3,), (2, 3, 4), (2, 0)]:
        ours, theirs = Tensor(np.zeros(shape, dtype=dtype)), torch.zeros(shape, dtype=getattr(torch, dtype))
        for name in ("numel", "nelement", "dim", "ndimension", "element_size"):
            assert getattr(ours, name)() == getattr(theirs, name)(), (name, shape, dtype)


def test_is_leaf_as_torch(torch: Any) -> None:
    def cases(lib: Any, make: Callable[..., Any]) -> list[bool]:
        x = make([1.0], requires_grad=True)
        with lib.no_grad():
            z = x * 2
        return [x.is_leaf, (x * 2).is_leaf, make([1.0]).is_leaf, z.is_leaf, (x * 2).detach().is_leaf]

    assert cases(tg, Tensor) == cases(torch, lambda d, **k: torch.tensor(d, **k)) == [True, False, True, True, True]


@pytest.mark.parametrize("name, a, b", [
    ("mm", A2, B2), ("bmm", A3, B3), ("matmul", A3, B2), ("matmul", A2[0], B2), ("matmul", A2, B2[:, 0]),
])
def test_products_and_their_gradients_as_torch(torch: Any, name: str, a: np.ndarray, b: np.ndarray) -> None:
    xo, yo = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out_o, out_t = getattr(xo, name)(yo), getattr(xt, name)(yt)
    _same(out_o, out_t, name)
    g = RNG.normal(size=out_o.shape)
    out_o.backward(g)
    out_t.backward(torch.tensor(g))
    _same(Tensor(xo.grad), xt.grad, f"{name}: d/da")
    _same(Tensor(yo.grad), yt.grad, f"{name}: d/db")


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (4, 2, 3)])
@pytest.mark.filterwarnings("ignore:Tensor.mT is deprecated on 0-D")  # (torch: the identity, for now; ours raises)
def test_neg_t_and_mT_as_torch(torch: Any, shape: tuple[int, ...]) -> None:
    a = RNG.normal(size=shape)
    for name in ("neg", "negative", "t", "mT"):
        call: Callable[[Any], Any] = (lambda x: x.mT) if name == "mT" else (lambda x: getattr(x, name)())
        xo, xt = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        raised = RuntimeError if name == "mT" and not shape else _raises(lambda: call(xt))
        if raised is not None:
            assert _raises(lambda: call(xo)) is raised, (name, shape)
            continue
        out_o, out_t = call(xo), call(xt)
        _same(out_o, out_t, f"{name} of {shape}")
        g = RNG.normal(size=out_o.shape)
        out_o.backward(g)
        out_t.backward(torch.tensor(g))
        _same(Tensor(xo.grad), xt.grad, f"{name} of {shape}: gradient")


@pytest.mark.parametrize("a, b", [
    (A2, A2[0]), (A2, A2), (A3, B2), (A2, B3), (A3, B3[:4]), (A3, np.zeros((5, 4, 4))),
])
def test_mm_and_bmm_refuse_what_torch_refuses(torch: Any, a: np.ndarray, b: np.ndarray) -> None:
    for name in ("mm", "bmm"):
        theirs = _raises(lambda: getattr(torch.tensor(a), name)(torch.tensor(b)))
        assert _raises(lambda: getattr(Tensor(a), name)(Tensor(b))) is theirs, (name, a.shape, b.shape)


@pytest.mark.parametrize("src_dtype", ["float32", "float64", "int64"])
def test_new_factories_as_torch(torch: Any, src_dtype: str) -> None:
    ours, theirs = Tensor(np.ones(2, dtype=src_dtype)), torch.ones(2, dtype=getattr(torch, src_dtype))
    calls: list[Callable[[Any], Any]] = [
        lambda t: t.new_zeros(2, 3), lambda t: t.new_zeros((2, 3)), lambda t: t.new_ones([3]),
        lambda t: t.new_full((2,), 3), lambda t: t.new_full((2,), 2.5), lambda t: t.new_tensor([1, 2]),
        lambda t: t.new_tensor([[1.5, -2.0]]), lambda t: t.new_empty(2, 3),
    ]
    for k, call in enumerate(calls):
        o, t = call(ours), call(theirs)
        assert (o.shape, str(o.dtype)) == (tuple(t.shape), str(t.dtype).removeprefix("torch.")), k
        if k != len(calls) - 1:  # (new_empty's values are unspecified)
            assert o.data.tolist() == t.tolist(), k
    for name in ("new_zeros", "new_ones", "new_empty"):
        o, t = getattr(ours, name)(2, dtype=np.float64, requires_grad=True), getattr(theirs, name)(
            2, dtype=torch.float64, requires_grad=True)
        assert (o.dtype, o.requires_grad, o.is_leaf) == (np.float64, t.requires_grad, t.is_leaf)


def test_requires_grad_as_torch(torch: Any) -> None:
    def cases(make: Callable[..., Any], ints: Any) -> list[Any]:
        x = make([1.0])
        y = make([1.0], requires_grad=True) * 2
        return [x.requires_grad_() is x, x.requires_grad, x.requires_grad_(False).requires_grad,
                y.requires_grad_(True) is y, _raises(lambda: y.requires_grad_(False)), _raises(lambda: ints.requires_grad_())]

    assert cases(Tensor, Tensor(np.array([1]))) == cases(lambda d, **k: torch.tensor(d, **k), torch.tensor([1]))


def _torch_net(torch: Any) -> Any:
    nn = torch.nn

    class TorchBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gain = nn.Parameter(torch.tensor(1.5))
            self.lin = nn.Linear(2, 2)

    class TorchNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = nn.Linear(2, 2)
            self.blocks = nn.ModuleList([TorchBlock(), TorchBlock()])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
            self.register_buffer("steps", torch.zeros(1))

    return TorchNet().double()


def test_module_names_apply_order_and_lookups_as_torch(torch: Any) -> None:
    ours, theirs = Net(), _torch_net(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    order: dict[str, list[str]] = {"ours": [], "theirs": []}
    for key, net in (("ours", ours), ("theirs", theirs)):
        names = {id(m): n for n, m in net.named_modules()}
        net.apply(lambda m, key=key, names=names: order[key].append(names[id(m)]))
    assert order["ours"] == [n for n in order["theirs"] if n not in ("blocks", "heads")]  # (torch's containers are modules)
    for name in ["first", "blocks.1.lin", "heads.a", ""]:
        assert type(ours.get_submodule(name)).__name__ == type(theirs.get_submodule(name)).__name__.removeprefix("Torch")
    for name in ["first.bias", "blocks.0.gain", "heads.a.weight"]:
        assert np.shape(ours.get_parameter(name).data) == tuple(theirs.get_parameter(name).shape)
    for lookup in [lambda n: n.get_submodule("first.nope"), lambda n: n.get_submodule("first.weight"),
                   lambda n: n.get_parameter("steps"), lambda n: n.get_parameter("first")]:
        assert _raises(lambda: lookup(ours)) is _raises(lambda: lookup(theirs)) is AttributeError


def test_register_parameter_and_add_module_as_torch(torch: Any) -> None:
    def build(lib: Any, make: Callable[[], Any], linear: Callable[[], Any]) -> tuple[list[str], list[Any]]:
        m = lib.Module()
        m.register_parameter("w", make())
        m.register_buffer("buf", np.zeros(1) if lib is tg.nn else torch.zeros(1))
        m.register_parameter("empty", None)
        m.register_parameter("late", make())
        m.add_module("child", linear())
        m.register_parameter("w", make())  # replaced in place
        errors = [
            _raises(lambda: m.register_parameter("x", (make() * 2))),
            _raises(lambda: m.register_parameter("a.b", None)),
            _raises(lambda: m.register_parameter("", None)),
            _raises(lambda: m.register_parameter(1, None)),
            _raises(lambda: m.register_parameter("forward", None)),
            _raises(lambda: m.register_parameter("buf", None)),
            _raises(lambda: m.register_parameter("child", None)),
            _raises(lambda: m.add_module("w", linear())),
            _raises(lambda: m.add_module("x", 3)),
            _raises(lambda: m.add_module("a.b", None)),
        ]
        return list(m.state_dict()), errors

    ours = build(tg.nn, lambda: Tensor([1.0], requires_grad=True), lambda: Linear(1, 1, rng=0))
    theirs = build(torch.nn, lambda: torch.nn.Parameter(torch.ones(1)), lambda: torch.nn.Linear(1, 1))
    assert ours[0] == theirs[0] == ["w", "late", "buf", "child.weight", "child.bias"]
    assert ours[1] == theirs[1]


def test_freezing_and_a_step_as_torch(torch: Any) -> None:
    """Freeze the first layer, then two SGD steps with momentum and weight decay over every parameter:
    the frozen layer is saved and left alone, the rest moves as torch's does."""
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)).double()
    ours = Sequential(Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs[0].requires_grad_(False)
    ours[0].requires_grad_(False)
    assert [p.requires_grad for p in ours.parameters()] == [p.requires_grad for p in theirs.parameters()]
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    opt_o = tg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    x = RNG.normal(size=(4, 2))
    for _ in range(2):
        opt_t.zero_grad()
        opt_o.zero_grad()
        theirs(torch.tensor(x)).pow(2).sum().backward()
        (ours(Tensor(x)) ** 2).sum().backward()
        opt_t.step()
        opt_o.step()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, o), t in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert_close(o, t.numpy(), name, atol=1e-12)
    ours.requires_grad_()
    theirs.requires_grad_()
    assert [p.requires_grad for p in ours.parameters()] == [p.requires_grad for p in theirs.parameters()] == [True] * 4


def test_size_is_numpy_s_count_and_pytorch_s_method() -> None:
    t = Tensor(np.zeros((2, 3, 4)))
    assert t.size == 24 == t.numel() and isinstance(t.size, int)  # NumPy: the number of elements
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4  # PyTorch: the shape, one dim
    with pytest.raises(IndexError, match=r"size: dim 3 is out of range for shape \(2, 3, 4\)"):
        t.size(3)
    torch = pytest.importorskip("torch")
    theirs = torch.zeros((2, 3, 4))
    assert t.size() == tuple(theirs.size()) and [t.size(d) for d in range(-3, 3)] == [theirs.size(d) for d in range(-3, 3)]


def test_python_protocols_as_torch(torch: Any) -> None:
    def cases(make: Callable[..., Any]) -> list[Any]:
        loss, grid = make(0.123456, dtype="float64"), make(np.arange(6.0).reshape(2, 3), dtype="float64")
        ids = make(np.array(2), dtype="int64")
        return [f"{loss:.3f}", f"{loss:e}", int(make(-2.5, dtype="float64")), ["a", "b", "c"][ids], list(range(ids)),
                4.0 in grid, 7 in grid, (+grid).shape == grid.shape]

    ours = cases(lambda data, dtype: Tensor(np.asarray(data, dtype=dtype)))
    theirs = cases(lambda data, dtype: torch.tensor(data, dtype=getattr(torch, dtype)))
    assert [list(x) if isinstance(x, tuple) else x for x in ours] == [list(x) if isinstance(x, tuple) else x for x in theirs]


@pytest.mark.parametrize("shape, dims", [((), (0, -1)), ((3,), (0, 0)), ((2, 3), (0, 1)), ((2, 3), (1, 0)),
                                         ((2, 3), (-1, -2)), ((2, 3, 4), (-2, -1)), ((2, 3, 4, 5), (1, 3))])
def test_transpose_with_two_dims_as_torch(torch: Any, shape: tuple[int, ...], dims: tuple[int, int]) -> None:
    x = RNG.normal(size=shape)
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a, b = ours.transpose(*dims), theirs.transpose(*dims)
    _same(a, b, f"transpose{dims} of {shape}")
    w = RNG.normal(size=a.shape)
    (a * Tensor(w)).sum().backward()
    (b * torch.tensor(w)).sum().backward()
    assert_close(ours.grad, theirs.grad.numpy(), f"the gradient of transpose{dims}", atol=0)
