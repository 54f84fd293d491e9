"""Module: a container of parameters and submodules, found from its attributes.

A parameter is a leaf `Tensor` or `Value` that requires grad (or did, until `requires_grad_(False)`
froze it); a submodule is a `Module`. Both may sit directly in an attribute or inside lists, tuples
and dicts (list indices and dict keys become parts of the name, as in "layers.0.weight"). Attributes
are visited in definition order, so names and the order of `parameters()` are deterministic. A layer
or tensor reached twice is counted once: the first name wins.

A buffer is state that is not a parameter (BatchNorm's running statistics): a Tensor that requires no
grad, declared with `register_buffer` so that `state_dict` saves it and `load_state_dict` restores it.

Calling a module notes, on the node(s) it returns, which module made them from which arguments (see
`module_calls`): drawings read that to box a graph by module. Nothing is added to the ops themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..device import device_of, is_array, move_to, to_host
from ..engine import Node, is_frozen, zero_grads
from ..tensor import Tensor, _device_and_dtype
from ..value import Value

Parameter = Tensor | Value  # a leaf that requires grad; there is no separate Parameter class


def is_parameter(x: Any) -> bool:
    """Whether x is a parameter: a leaf Tensor or Value that requires grad, or one frozen by
    requires_grad_(False) (still a parameter, as a frozen torch Parameter is).

    >>> is_parameter(Value(1.0)), is_parameter(Tensor([1.0])), is_parameter(Value(1.0) * 2)
    (True, False, False)
    >>> is_parameter(Value(1.0).requires_grad_(False))
    True
    """
    return isinstance(x, (Tensor, Value)) and x.op is None and (x.requires_grad or is_frozen(x))


def _forward_unimplemented(self: Module, *args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError(f"{type(self).__name__} does not define forward()")


class LoadResult(NamedTuple):
    """What `load_state_dict(strict=False)` left alone: the model's missing keys, the state's unexpected ones."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models: parameters and submodules are found from the attributes.

    Subclasses define `forward`; calling the module calls it. No `super().__init__()` is needed.

    >>> class Affine(Module):
    ...     def __init__(self) -> None:
    ...         self.scale, self.shift = Value(2.0), Value(1.0)
    ...     def forward(self, x: Value) -> Value:
    ...         return self.scale * x + self.shift
    >>> m = Affine(); m(Value(3.0)).data, [name for name, _ in m.named_parameters()]
    (7.0, ['scale', 'shift'])
    """

    training: bool = True  # set on every submodule by train() and eval()
    forward: Callable[..., Any] = _forward_unimplemented  # subclasses give it their own signature

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.forward(*args, **kwargs)
        if type(out) is Tensor and out.op is not None and not (args and args[0] is out):  # the usual case
            note = (self, args, kwargs)
            if id(out) == _last_noted[0]:  # returned by an inner call too (as a Sequential's last layer)
                out._module_calls = (*getattr(out, "_module_calls", ()), note)
            else:  # a new node: its slot is empty (reading an empty slot would cost more than the rest)
                out._module_calls = (note,)
                _last_noted[0] = id(out)
        else:
            _note_call(self, args, kwargs, out)
        return out

    # ---- discovery
    def _fields(self) -> Iterable[tuple[str, Any]]:
        """The (name, value) pairs searched for parameters and submodules, in definition order."""
        return vars(self).items()

    def _walk(self, seen: set[int] | None = None) -> Iterator[tuple[str, Any]]:
        """Every parameter and submodule below this one, pre-order, each object once (first name wins)."""
        seen = {id(self)} if seen is None else seen
        for name, value in self._fields():
            yield from _walk_value(name, value, seen)

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) pairs in definition order, each parameter once."""
        for name, obj in self._walk():
            if not isinstance(obj, Module):
                yield name, obj

    def parameters(self) -> list[Parameter]:
        """Every parameter once, in definition order (what an optimizer updates)."""
        return [p for _, p in self.named_parameters()]

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Keep `tensor` (an array, or None for an empty slot) as the attribute `name`: a Tensor that
        requires no grad, in `named_buffers()` and, when `persistent`, in `state_dict()`.

        >>> m = Module(); m.register_buffer("count", np.zeros(2)); m.count, m.state_dict()
        (Tensor([0., 0.]), {'count': array([0., 0.])})
        """
        where = f"register_buffer on {type(self).__name__}"
        if not isinstance(name, str) or not name.isidentifier():
            raise KeyError(f"{where}: a buffer name must be a Python identifier without dots, got {name!r}")
        buffers = self.__dict__.setdefault("_buffer_names", {})
        if name not in buffers and (name in vars(self) or hasattr(type(self), name)):
            raise KeyError(f"{where}: attribute {name!r} already exists and is not a buffer")
        if tensor is not None:
            if isinstance(tensor, Value) or (isinstance(tensor, Module)):
                raise TypeError(f"{where}: buffer {name!r} must be an array or a Tensor, got a {type(tensor).__name__}")
            if isinstance(tensor, Tensor) and tensor.requires_grad:
                raise ValueError(
                    f"{where}: buffer {name!r} requires grad, which would make it a parameter; "
                    "pass tensor.detach() (a buffer is state that is not trained)"
                )
            if not isinstance(tensor, Tensor):
                tensor = Tensor(np.asarray(tensor))  # arrays keep their dtype (an int counter stays int)
        buffers[name] = bool(persistent)
        setattr(self, name, tensor)

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        """(name, buffer) pairs of this module and its submodules, pre-order, each buffer once."""
        seen: set[int] = set()
        for prefix, m in self.named_modules():
            for name, buffer in m._own_buffers(persistent_only=False):
                if id(buffer) not in seen:
                    seen.add(id(buffer))
                    yield (f"{prefix}.{name}" if prefix else name), buffer

    def buffers(self) -> list[Tensor]:
        """Every buffer once (running statistics and other state that is not trained)."""
        return [b for _, b in self.named_buffers()]

    def _own_buffers(self, persistent_only: bool) -> Iterator[tuple[str, Tensor]]:
        """This module's own buffers that hold a Tensor, in registration order."""
        for name, persistent in vars(self).get("_buffer_names", {}).items():
            buffer = getattr(self, name, None)
            if isinstance(buffer, Tensor) and (persistent or not persistent_only):
                yield name, buffer

    def _named_state(self, prefix: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, Parameter]]:
        """What state_dict holds, each object once: parameters in definition order, as named_parameters();
        a module's persistent buffers after its own parameters, before its first submodule (PyTorch's
        order, where parameters come before submodules)."""
        seen = {id(self)} if seen is None else seen
        pending = [(name, b) for name, b in self._own_buffers(persistent_only=True) if id(b) not in seen]
        seen.update(id(b) for _, b in pending)
        for field, value in self._fields():
            for path, obj in _walk_value(field, value, seen, descend=False):
                if isinstance(obj, Module):
                    yield from ((prefix + name, b) for name, b in pending)
                    pending = []
                    yield from obj._named_state(f"{prefix}{path}.", seen)
                else:
                    yield prefix + path, obj
        yield from ((prefix + name, b) for name, b in pending)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules (also those inside lists, tuples and dicts), each once."""
        seen: set[int] = {id(self)}
        for name, value in self._fields():
            for path, obj in _walk_value(name, value, seen, descend=False):
                if isinstance(obj, Module):
                    yield path, obj

    def children(self) -> list[Module]:
        """The direct submodules, each once."""
        return [m for _, m in self.named_children()]

    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """This module (named "") and every submodule below it, pre-order, each once."""
        yield "", self
        for name, obj in self._walk():
            if isinstance(obj, Module):
                yield name, obj

    def modules(self) -> list[Module]:
        """This module and every submodule below it, pre-order, each once."""
        return [m for _, m in self.named_modules()]

    # ---- adding and finding by name (PyTorch's names); what they add is an attribute, found as any other
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Set the attribute `name` to `param`, a parameter (a leaf that requires grad), or None for an
        empty slot; as an attribute, it takes its place in parameters() and state_dict() by definition order.

        >>> m = Module(); m.register_parameter("scale", Value(2.0)); [n for n, _ in m.named_parameters()]
        ['scale']
        """
        self._check_new_attribute(name, "parameter")
        if param is not None and not is_parameter(param):
            made = f"computed by '{param.op.name}'" if isinstance(param, Node) and param.op is not None else (
                "does not require grad" if isinstance(param, Node) else f"is a {type(param).__name__}")
            raise TypeError(f"register_parameter {name!r} on {type(self).__name__}: a parameter is a leaf Tensor or "
                            f"Value that requires grad (or None), this one {made}")
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Set the attribute `name` to `module` (or None), a submodule as any Module attribute is.

        >>> m = Module(); m.add_module("head", Module()); [n for n, _ in m.named_children()]
        ['head']
        """
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module {name!r} on {type(self).__name__}: expected a Module or None, "
                            f"got a {type(module).__name__}")
        self._check_new_attribute(name, "module")
        setattr(self, name, module)

    register_module = add_module

    def _check_new_attribute(self, name: Any, kind: str) -> None:
        """The checks PyTorch makes on a name before register_parameter or add_module sets it: a string
        without dots, and no other attribute of that name (one of the same kind, or None, is replaced)."""
        where = f"{'register_parameter' if kind == 'parameter' else 'add_module'} on {type(self).__name__}"
        if not isinstance(name, str):
            raise TypeError(f"{where}: the {kind} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{where}: the {kind} name must be non-empty and without dots, got {name!r}")
        if type(self)._fields is not Module._fields:  # (Sequential's layers, a NeuronNetwork's weights)
            raise TypeError(f"{where}: a {type(self).__name__} finds its parameters and submodules its own way, "
                            f"not in its attributes, so {kind} {name!r} would not be found")
        old = vars(self).get(name)
        same_kind = old is None or (isinstance(old, Module) if kind == "module" else is_parameter(old))
        if (name in vars(self) and not same_kind) or name in vars(self).get("_buffer_names", {}) or (
                name not in vars(self) and hasattr(type(self), name)):
            raise KeyError(f"{where}: attribute {name!r} already exists and is not a {kind}")

    def get_submodule(self, target: str) -> Module:
        """The submodule named `target` as named_modules() names it ("blocks.0.lin"); "" is this module.

        >>> from tinygrad_edu.nn import Linear, Sequential
        >>> net = Sequential(Linear(2, 2), Sequential(Linear(2, 1))); type(net.get_submodule("1.0")).__name__
        'Linear'
        """
        found = self._find(target, "get_submodule")
        if not isinstance(found, Module):
            raise AttributeError(f"get_submodule on {type(self).__name__}: {target!r} is a {type(found).__name__}, not a Module")
        return found

    def get_parameter(self, target: str) -> Parameter:
        """The parameter named `target` as named_parameters() names it ("blocks.0.lin.weight")."""
        found = self._find(target, "get_parameter")
        if not is_parameter(found):
            what = type(found).__name__ if not isinstance(found, Node) else f"{type(found).__name__} that is not a parameter"
            raise AttributeError(f"get_parameter on {type(self).__name__}: {target!r} is a {what}")
        return found  # type: ignore[no-any-return]

    def _find(self, target: str, where: str) -> Any:
        """What the dotted name `target` names: each part an attribute of a module (one of its _fields),
        a list index or a dict key, as the names of named_modules() and named_parameters() are made."""
        if not isinstance(target, str):
            raise TypeError(f"{where} on {type(self).__name__}: target must be a string, got {type(target).__name__}")
        found: Any = self
        parts = target.split(".") if target else []
        for depth, part in enumerate(parts):
            if isinstance(found, Module):
                fields = dict(found._fields())
            elif isinstance(found, (list, tuple)):
                fields = {str(i): v for i, v in enumerate(found)}
            else:
                fields = {str(k): v for k, v in found.items()} if isinstance(found, dict) else {}
            if part not in fields:
                owner = ".".join(parts[:depth]) or "the module"
                raise AttributeError(f"{where} on {type(self).__name__}: {owner} ({type(found).__name__}) has no "
                                     f"attribute {part!r} (looking up {target!r})")
            found = fields[part]
        return found

    # ---- training
    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call fn on every submodule (children first, each child's own below it first) and then on this
        module, as PyTorch does (to initialise weights); returns self.

        >>> from tinygrad_edu.nn import Linear, Sequential
        >>> seen = []; _ = Sequential(Linear(1, 1), Linear(1, 1)).apply(lambda m: seen.append(type(m).__name__)); seen
        ['Linear', 'Linear', 'Sequential']
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set requires_grad of every parameter (freeze with False: they stay parameters, saved by
        state_dict(), taken and left alone by an optimizer); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: None for a Tensor, 0.0 for a Value. With set_to_none=False a
        Tensor's gradient array is filled with zeros instead (PyTorch's option)."""
        zero_grads(self.parameters(), set_to_none)

    def to(self, *args: Any, device: Any = None, dtype: Any = None) -> Module:
        """Move every parameter and buffer (and its gradient) to `device` ("cpu", "cuda"), and/or cast
        the float ones to `dtype`, in place: the same Tensor objects get new data (PyTorch's arguments:
        `to("cuda")`, `to(np.float64)`, `to("cuda", np.float32)`, `to(tensor)`). Move before the
        optimizer's first step (its state arrays are made on the parameters' device then, and do not
        move), as in PyTorch. Returns self.

        >>> m = Module(); m.register_buffer("count", np.zeros(2)); str(m.to("cpu").count.device)
        'cpu'
        """
        target, dtype = _device_and_dtype("Module.to", args, device, dtype)
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"Module.to: only float dtypes are taken (parameters must carry gradients), got {dtype}")
        for t in [*self.parameters(), *self.buffers()]:
            if not isinstance(t, Tensor):
                continue
            if target is not None and device_of(t.data) is not target:
                t.data = move_to(t.data, target)
                if is_array(t.grad):
                    t.grad = move_to(t.grad, target)
            if dtype is not None and t.dtype.kind == "f" and t.dtype != dtype:  # (integer buffers stay: counts)
                t.data = t.data.astype(dtype)
                if is_array(t.grad):
                    t.grad = t.grad.astype(dtype)
        return self

    def cpu(self) -> Module:
        """Every parameter and buffer on the CPU (see `to`)."""
        return self.to("cpu")

    def cuda(self) -> Module:
        """Every parameter and buffer on the GPU (see `to`; needs CuPy)."""
        return self.to("cuda")

    def train(self, mode: bool = True) -> Module:
        """Set the `training` flag of this module and all its submodules; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Same as train(False); returns self."""
        return self.train(False)

    def num_parameters(self) -> int:
        """How many numbers the parameters hold (a Value counts 1)."""
        return sum(p.data.size if isinstance(p, Tensor) else 1 for p in self.parameters())

    # ---- saving and loading
    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameter or buffer name -> a copy of its data (a Value's as a 0-d float64 array): parameters in
        definition order, each module's buffers after its own parameters (see `_named_state`)."""
        return {
            name: p.data.copy() if isinstance(p, Tensor) else np.array(p.data, dtype=np.float64)
            for name, p in self._named_state()
        }

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy the values of `state` into the parameters and buffers, in place, keeping their dtype.

        Every key is checked before anything is copied. With `strict`, a key the model has and the state
        lacks (missing) or the other way round (unexpected) raises KeyError; a shape mismatch always
        raises ValueError. Returns the missing and unexpected keys.
        """
        own = dict(self._named_state())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            parts = [f"missing key {k!r} (the model's {_kind(own[k])} has shape {_shape(own[k])})" for k in missing]
            parts += [f"unexpected key {k!r} (shape {np.shape(_data(state[k]))})" for k in unexpected]
            raise KeyError(f"load_state_dict into {type(self).__name__}: " + "; ".join(parts))
        arrays = {}
        for name, p in own.items():
            if name not in state:
                continue
            value = state[name]
            array = _data(value)  # a Tensor or Value stands for its data
            array = to_host(array) if is_array(array) else np.asarray(array)
            if array.shape != _shape(p):
                raise ValueError(
                    f"load_state_dict into {type(self).__name__}: shape mismatch for {name!r}: the model's "
                    f"{_kind(p)} has shape {_shape(p)}, the state has shape {array.shape}"
                )
            if array.dtype.kind not in "fiub":
                raise TypeError(f"load_state_dict: {name!r} holds non-numeric data of dtype {array.dtype}")
            arrays[name] = array
        for name, array in arrays.items():
            p = own[name]
            if isinstance(p, Tensor):
                if type(p.data) is np.ndarray:
                    np.copyto(p.data, array, casting="unsafe")  # same array object: views and optimizers see it
                else:  # a device's array: the host values copied there, then into it
                    p.data[...] = device_of(p.data).to_device(array.astype(p.data.dtype))
            else:
                p.data = float(array)
        return LoadResult(missing, unexpected)

    # ---- printing
    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        return self._repr({}, "")

    def _repr(self, shown: dict[int, str], where: str) -> str:
        """The nested, indented picture; `shown` maps modules already printed to their full names."""
        shown[id(self)] = where
        n = self.num_parameters()
        count = f"  # {n:,} parameter{'s' if n != 1 else ''}" if n else ""
        extra = self.extra_repr()
        lines = self._child_lines(shown, where)
        if not lines and "\n" not in extra:
            return f"{type(self).__name__}({extra}){count}"
        body = "\n".join(([extra] if extra else []) + lines)
        return f"{type(self).__name__}({count}\n  " + body.replace("\n", "\n  ") + "\n)"

    def _child_lines(self, shown: dict[int, str], where: str) -> list[str]:
        """One "(name): repr" line (or block) per submodule, as __repr__ shows them."""
        lines = []
        for name, value in self._fields():
            for path, obj in _walk_value(name, value, None, descend=False):
                if not isinstance(obj, Module):
                    continue
                full = f"{where}.{path}" if where else path
                if id(obj) in shown:  # a shared module is printed once, then referred to by name
                    first = f"({shown[id(obj)]})" if shown[id(obj)] else "the whole module"
                    lines.append(f"({path}): the same {type(obj).__name__} as {first}")
                else:
                    lines.append(f"({path}): {obj._repr(shown, full)}")
        return lines

    # ---- PyTorch's casts. Last in the class: from here on, `float` names the method
    def double(self) -> Module:
        """Every float parameter and buffer as float64, in place (`to(np.float64)`)."""
        return self.to(dtype=np.float64)

    def float(self) -> Module:
        """Every float parameter and buffer as float32, in place (`to(np.float32)`)."""
        return self.to(dtype=np.float32)

    def half(self) -> Module:
        """Every float parameter and buffer as float16, in place (`to(np.float16)`)."""
        return self.to(dtype=np.float16)


# --------------------------------------------------------------------------- which module made a node
# A drawing boxes a graph by module from notes taken when a module returns: the call (module, args,
# kwargs) is noted on each Tensor it returned that an op made, innermost call first (a Sequential
# returns its last layer's output), in a slot of the Tensor: a tuple on the node, cheap enough for
# every call. An outer call adds its note to those of the node the latest call noted (reading an
# empty slot costs more than all the rest); a node noted earlier and returned again after other calls
# keeps only the newest note (y = self.a(x); self.b(y); return y). Values are not noted: scalar
# graphs are drawn op by op, and a note per neuron would slow them down.
_last_noted = [0]  # the id of the Tensor the latest call noted


class ModuleCall(NamedTuple):
    """One call of a module, as noted on what it returned."""

    module: Module
    inputs: frozenset[int]  # ids of the nodes among its arguments: where the call's own work begins
    key: int  # the same for every Tensor one call returned (its (h, c), its (output, weights))


def module_calls(node: Node) -> list[ModuleCall]:
    """The module calls that returned `node` (a Tensor), innermost first.

    >>> class Double(Module):
    ...     def forward(self, x: Tensor) -> Tensor:
    ...         return x * 2
    >>> m = Double(); y = m(Tensor([1.0], requires_grad=True))
    >>> [(type(c.module).__name__, len(c.inputs)) for c in module_calls(y)]
    [('Double', 1)]
    """
    return [ModuleCall(note[0], frozenset(map(id, _nodes_in(note[1:]))), id(note))
            for note in getattr(node, "_module_calls", ())]


def _note_call(module: Module, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
    """Note a call on the Tensors it returned (Module.__call__ notes a single one itself)."""
    if not isinstance(out, (Tensor, tuple, list)):
        return
    outputs = [n for n in _nodes_in((out,)) if isinstance(n, Tensor) and n.op is not None]
    inputs = {id(n) for n in _nodes_in((args, kwargs))} if outputs else set()
    note = (module, args, kwargs)
    for node in outputs:
        if id(node) not in inputs:  # (an argument returned as it came is not the call's work)
            node._module_calls = (*getattr(node, "_module_calls", ()), note)
    if outputs:
        _last_noted[0] = id(outputs[0])  # (an outer call may return it: out, weights = self.attn(...))


def _nodes_in(values: Iterable[Any]) -> Iterator[Node]:
    """The nodes among `values`, also inside tuples, lists and dicts."""
    for v in values:
        if isinstance(v, Node):
            yield v
        elif isinstance(v, (tuple, list)):
            yield from _nodes_in(v)
        elif isinstance(v, dict):
            yield from _nodes_in(v.values())


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Node) else x


def _kind(p: Parameter) -> str:
    return "parameter" if is_parameter(p) else "buffer"


def _shape(p: Parameter) -> tuple[int, ...]:
    return p.data.shape if isinstance(p, Tensor) else ()


def _walk_value(name: str, value: Any, seen: set[int] | None, descend: bool = True) -> Iterator[tuple[str, Any]]:
    """The parameters and modules in one attribute value (recursing into containers and, if `descend`,
    into modules): each once, not already in `seen`, or every occurrence when seen is None."""
    if isinstance(value, Module):
        if seen is not None:
            if id(value) in seen:
                return
            seen.add(id(value))
        yield name, value
        if descend:
            for sub, v in value._fields():
                yield from _walk_value(f"{name}.{sub}", v, seen)
    elif isinstance(value, Node):
        if is_parameter(value) and (seen is None or id(value) not in seen):
            if seen is not None:
                seen.add(id(value))
            yield name, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk_value(f"{name}.{i}", v, seen, descend)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_value(f"{name}.{k}", v, seen, descend)
