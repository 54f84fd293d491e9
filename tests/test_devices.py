"""Device independence without a GPU: every op of the registry, forward and gradient, and training
steps run on a fake device whose arrays refuse to become NumPy arrays, and refuse what CuPy lacks
(tests/foreign_array.py, tests/cupy_api.json); the same results as on the CPU. The real GPU's tests are
marked `gpu` and skip without CuPy and a device."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.device import to_host
from tinygrad_edu.ops import REGISTRY

from .foreign_array import API, ForeignArray, namespace, register
from .numeric import assert_close
from .test_ops_registry import ALL_OPS, SETTINGS, _draw_case

register()


def _cuda_available() -> bool:
    try:
        tg.device.get_device("cuda")
    except RuntimeError:
        return False
    return True


# every test runs on the fake device, and on a real GPU where there is one (marked `gpu`: -m gpu runs them)
GPU = pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not _cuda_available(), reason="needs CuPy and a GPU")])
DEVICES = ["foreign", GPU]


def _host(x: Any) -> np.ndarray:
    assert type(x) is not np.ndarray and tg.device.is_array(x), f"expected an array of the device, got {type(x).__name__}"
    return to_host(x)


def _params_to_device(call: Any, device: str) -> None:
    """Array params a case made on the host (max-pool's window index) moved to the device, as the
    forward that makes them in a model would have them: found in the case's closure."""
    for cell in call.__closure__ or ():
        params = cell.cell_contents
        if isinstance(params, dict) and isinstance(params.get("index"), np.ndarray):
            params["index"] = Tensor(params["index"], device=device).data


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ALL_OPS)
@settings(SETTINGS, max_examples=6)
@given(data=st.data())
def test_every_op_runs_on_a_device(name: str, device: str, data: st.DataObject) -> None:
    case, rng = _draw_case(name, data)
    cpu = [Tensor(a, requires_grad=True) for a in case.inputs]
    dev = [Tensor(a, requires_grad=True, device=device) for a in case.inputs]
    out_cpu = case.call(*cpu)
    _params_to_device(case.call, device)
    out_dev = case.call(*dev)
    assert out_dev.op is REGISTRY[name] and out_dev.device == device
    assert_close(_host(out_dev.data), out_cpu.data, f"{name}: forward on the device")
    cotangent = rng.normal(size=out_cpu.shape).astype(out_cpu.dtype)
    out_cpu.backward(cotangent)
    out_dev.backward(Tensor(cotangent, device=device))
    for i, (c, d) in enumerate(zip(cpu, dev)):
        assert d.grad.dtype == c.grad.dtype
        assert_close(_host(d.grad), c.grad, f"{name}: gradient of input {i} on the device")


def _train(model: tg.nn.Module, make_optimizer: Any, x: np.ndarray, y: np.ndarray, device: str,
           steps: int = 3) -> tuple[list[float], dict[str, np.ndarray]]:
    """A few steps of training on `device`: the losses and the final parameters, on the host."""
    model.to(device)
    opt = make_optimizer(model.parameters())
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    xs, losses = Tensor(x, device=device), []
    for _ in range(steps):
        opt.zero_grad()
        loss = tg.cross_entropy(model(xs), y)
        loss.backward()
        tg.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    for p in model.parameters():
        assert p.device == device and (p.grad is None or type(p.grad) is type(p.data)), "a parameter left its device"
    return losses, {k: tg.device.to_host(v) for k, v in model.state_dict().items()}


def _mlp() -> tg.nn.Module:
    return tg.nn.Sequential(tg.nn.Linear(6, 8, rng=0), tg.nn.ReLU(), tg.nn.Linear(8, 3, rng=1))


def _cnn() -> tg.nn.Module:
    return tg.nn.Sequential(tg.nn.Conv2d(1, 3, 3, padding=1, rng=0), tg.nn.ReLU(), tg.nn.MaxPool2d(2),
                            tg.nn.Flatten(), tg.nn.Linear(12, 3, rng=1))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("make_model, shape", [(_mlp, (5, 6)), (_cnn, (5, 1, 4, 4))], ids=["mlp", "cnn"])
@pytest.mark.parametrize("optimizer", ["SGD", "AdamW"])
def test_training_steps_on_a_device_match_the_cpu(make_model: Any, shape: Any, optimizer: str, device: str) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=shape), rng.integers(0, 3, shape[0])
    make = (lambda ps: tg.optim.SGD(ps, lr=0.1, momentum=0.9)) if optimizer == "SGD" else \
        (lambda ps: tg.optim.AdamW(ps, lr=0.01, weight_decay=0.1))
    cpu_losses, cpu_state = _train(make_model(), make, x, y, "cpu")
    dev_losses, dev_state = _train(make_model(), make, x, y, device)
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=1e-12)
    for k in cpu_state:
        np.testing.assert_allclose(dev_state[k], cpu_state[k], rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["matmul", "conv2d", "max_pool2d", "log_softmax", "cross_entropy", "einsum", "erf",
                                  "getitem", "pad", "where"])
@settings(SETTINGS, max_examples=2)
@given(data=st.data())
def test_gradcheck_and_gradgradcheck_in_float64_on_a_device(name: str, device: str, data: st.DataObject) -> None:
    case, _ = _draw_case(name, data)
    _params_to_device(case.call, device)
    inputs = [Tensor(a, requires_grad=True, device=device) for a in case.inputs]
    assert tg.gradcheck(case.call, inputs)
    assert tg.gradgradcheck(case.call, inputs)


@pytest.mark.parametrize("device", DEVICES)
def test_the_char_gpt_trains_on_a_device_as_on_the_cpu(device: str) -> None:
    from .test_examples import load_example

    gpt = load_example("char_gpt")
    config = gpt.SIZES["quick"]
    X, Y = tg.data.name_sequences("train")
    losses = {}
    for where in ("cpu", device):
        model = gpt.GPT(config, len(gpt.VOCAB), X.shape[1]).to(where)
        opt, schedule = gpt.configure_optimizer(model, config)
        losses[where] = []
        for step in range(2):
            loss = gpt.loss_of(model, X[8 * step:8 * step + 8], Y[8 * step:8 * step + 8])
            opt.zero_grad()
            loss.backward()
            tg.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            schedule.step()
            losses[where].append(loss.item())
        assert all(p.device == where for p in model.parameters())
    np.testing.assert_allclose(losses[device], losses["cpu"], rtol=1e-5)  # (float32: BLAS sums in other orders)


@pytest.mark.parametrize("device", DEVICES)
def test_drawings_and_explanations_show_a_device_tensors_values(device: str) -> None:
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device, label="x")
    y = (x * x).tanh().sum()
    y.backward()
    assert "x" in tg.draw_graph(y).source
    assert "0.8399" in str(tg.explain(x))
    assert "device=" in repr(x) and repr(x.device).startswith("device(")


@pytest.mark.parametrize("device", DEVICES)
def test_moving_tensors_and_modules(device: str) -> None:
    t = Tensor([1.0, 2.0], requires_grad=True)
    d = t.to(device)
    assert d.device == device and d.requires_grad and d.op is None  # a new leaf on the device
    assert t.to("cpu") is t and d.to(device) is d
    host = d.numpy()
    assert type(host) is np.ndarray and host.tolist() == [1.0, 2.0]
    host[0] = 5.0  # a copy: the device's data is unchanged
    assert d.cpu().data.tolist() == [1.0, 2.0] and d.cpu().device == "cpu"
    assert tg.zeros(2, 3, device=device).device == device and tg.randn(4, rng=0, device=device).device == device
    assert tg.zeros_like(d).device == device and tg.arange(3, device=device).data.dtype == np.int64
    model = tg.nn.Linear(2, 3, rng=0)
    assert model.to(device) is model and all(p.device == device for p in model.parameters())
    out = model(Tensor(np.ones((4, 2)), device=device))
    assert out.device == device and type(out.data) is type(model.weight.data)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clipping_by_every_norm_on_a_device_matches_the_cpu(dtype: Any, device: str) -> None:
    grads = [np.array([3.0, 0.0, -4.0]), np.array([[0.5, -1.0], [0.0, 2.0]])]
    for norm_type in (0.0, 1.0, 2.0, 3.0, np.inf, -np.inf):
        result = {}
        for where in ("cpu", device):
            params = [Tensor(np.zeros_like(g), dtype=dtype, requires_grad=True, device=where) for g in grads]
            for p, g in zip(params, grads):
                p.grad = Tensor(g, dtype=dtype, device=where).data
            total = tg.nn.utils.clip_grad_norm_(params, 1.0, norm_type=norm_type)
            result[where] = [total.numpy()] + [to_host(p.grad) for p in params]
        for d, c in zip(result[device], result["cpu"]):
            assert d.dtype == c.dtype == dtype, norm_type
            np.testing.assert_allclose(d, c, rtol=1e-6, err_msg=f"norm {norm_type}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_recurrent_layers_start_from_zeros_on_their_device(layer: str, device: str) -> None:
    x = np.random.default_rng(0).normal(size=(4, 2, 3) if "Cell" not in layer else (2, 3))
    outs = {}
    for where in ("cpu", device):
        out = getattr(tg.nn, layer)(3, 5, rng=0).to(where)(Tensor(x, device=where))  # no hx: zeros
        out = out[0] if isinstance(out, tuple) else out
        assert out.device == where
        outs[where] = out.numpy()
    np.testing.assert_allclose(outs[device], outs["cpu"], rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_one_hot_of_labels_on_a_device(device: str) -> None:
    labels = Tensor(np.array([[0, 2], [1, 0]]), device=device)
    out = tg.nn.functional.one_hot(labels, 3)
    assert out.device == device and out.numpy().tolist() == [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [1, 0, 0]]]


# ----------------------------------------------------------------------------- the fake refuses what CuPy lacks


def _foreign() -> ForeignArray:
    return Tensor(np.arange(6.0).reshape(2, 3), device="foreign").data


def test_the_fake_refuses_a_numpy_function_that_cupy_lacks() -> None:
    x = _foreign()
    assert API["functions"]["numpy.insert"] is None and API["functions"]["numpy.concatenate"] is not None
    assert type(np.concatenate([x, x])) is ForeignArray
    with pytest.raises(TypeError, match="CuPy 14 has no numpy.insert"):
        np.insert(x, 0, 1.0)
    with pytest.raises(AttributeError, match="CuPy 14 has no numpy.insert"):  # as cupy.insert would
        namespace.insert
    with pytest.raises(TypeError, match=r"CuPy 14 has it for \['add', 'multiply'\] only"):
        np.maximum.reduce(x)  # (cupy.maximum.reduce exists, and raises NotImplementedError)
    with pytest.raises(AttributeError, match="has no attribute 'resize'"):
        x.resize((3, 2))
    with pytest.raises(TypeError, match="unhashable"):
        hash(x)
    with pytest.raises(TypeError):
        range(x[0, 1])  # no __index__ on cupy.ndarray


def test_the_fake_refuses_a_keyword_that_cupy_does_not_take() -> None:
    x = _foreign()
    assert "where" not in API["functions"]["numpy.sum"] and "where" not in API["ufuncs"]["add"]["keywords"]
    assert type(np.sum(x, axis=0, keepdims=True)) is ForeignArray
    for call in (lambda: np.sum(x, where=x > 1), lambda: x.sum(where=x > 1), lambda: np.add(x, 1.0, where=x > 1),
                 lambda: np.add.reduce(x, initial=0.0), lambda: namespace.zeros(3, device="cuda")):
        with pytest.raises(TypeError, match="CuPy 14's .*does not take keyword '(where|initial|device)'"):
            call()
    with pytest.raises(TypeError, match="refuses these arguments"):
        x.sum(0, None, None, False, True)  # one positional argument too many


def test_the_fake_refuses_a_numpy_array_even_a_0d_one_except_in_comparisons() -> None:
    x = _foreign()
    with pytest.raises(TypeError, match="a NumPy array of shape \\(\\)"):
        x * np.asarray(2.0)  # CuPy 14 takes NumPy scalars as kernel arguments, not arrays
    assert type(x * np.float64(2.0)) is ForeignArray and type(x > np.asarray(1.0)) is ForeignArray
    with pytest.raises(TypeError, match="take arrays and scalars, not list"):
        np.add(x, [1.0, 2.0, 3.0])


def test_the_fakes_own_special_methods_are_cupys() -> None:
    own = {name for name in dir(ForeignArray) if name.startswith("__")
           and getattr(ForeignArray, name) is not None}  # (__hash__ = None on both: arrays are not hashable)
    # its lookup of the rest, its weak references, and an @= that declines (so Python computes a @ b, as for CuPy)
    assert own - set(API["ndarray"]) == {"__getattr__", "__weakref__", "__imatmul__"}


@pytest.mark.parametrize("device", DEVICES)
def test_mixing_devices_in_one_op_raises_naming_the_op_and_both(device: str) -> None:
    a, b = Tensor([1.0, 2.0], device=device), Tensor([3.0, 4.0])
    for op, call in [("add", lambda: a + b), ("matmul", lambda: b @ a), ("mul", lambda: b * a),
                     ("concatenate", lambda: tg.concatenate([a, b]))]:
        with pytest.raises(RuntimeError, match=f"{op}: expected all tensors on the same device, got .*(cpu|{device})"):
            call()
    assert (a * 2.0 + np.array([1.0, 1.0])).device == device  # numbers and NumPy constants go where the tensor is


@pytest.mark.parametrize("device", DEVICES)
def test_save_writes_host_arrays_and_load_state_dict_fills_device_parameters(device: str, tmp_path: Any) -> None:
    model = tg.nn.Linear(2, 3, rng=0).to(device)
    tg.save(model.state_dict(), tmp_path / "m.tg")
    state = tg.load(tmp_path / "m.tg")
    assert all(type(v) is np.ndarray for v in state.values())
    other = tg.nn.Linear(2, 3, rng=1).to(device)
    other.load_state_dict(state)
    assert other.weight.device == device
    np.testing.assert_array_equal(other.weight.numpy(), model.weight.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_training_resumes_on_a_device_from_a_saved_optimizer(device: str, tmp_path: Any) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 6)), rng.integers(0, 3, 5)

    def step(model: tg.nn.Module, opt: tg.optim.Optimizer) -> float:
        opt.zero_grad()
        loss = tg.cross_entropy(model(Tensor(x, device=device)), y)
        loss.backward()
        opt.step()
        return loss.item()

    model = _mlp().to(device)
    opt = tg.optim.AdamW(model.parameters(), lr=0.01)
    step(model, opt)
    tg.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "run.tg")
    expected = step(model, opt)
    again = _mlp().to(device)
    opt2 = tg.optim.AdamW(again.parameters(), lr=0.01)
    tg.load(tmp_path / "run.tg", into={"model": again, "opt": opt2})  # host arrays from the file, to the device
    assert all(type(v) is type(p.data) for p, s in opt2.state.items() for k, v in s.items() if k != "step")
    assert step(again, opt2) == pytest.approx(expected, rel=1e-12)


def test_asking_for_cuda_without_cupy_says_what_to_install(monkeypatch: Any) -> None:
    import builtins

    if _cuda_available():
        pytest.skip("CuPy and a GPU are here")
    real_import = builtins.__import__

    def no_cupy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "cupy" or name.startswith("cupy."):
            raise ImportError("no cupy")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cupy)
    with pytest.raises(RuntimeError, match=r"pip install 'tinygrad_edu\[gpu\]'"):
        Tensor([1.0], device="cuda")
    with pytest.raises(RuntimeError, match="unknown device 'tpu'"):
        Tensor([1.0]).to("tpu")
