"""ModuleList, ModuleDict, ParameterList and ParameterDict: torch.nn's containers.

A Module already finds modules and parameters kept in plain lists and dicts of its attributes; these
classes are for code written for PyTorch, where a plain list hides them. Each is a Module whose
children are its items (its `_fields`, as Sequential's), named by index ("layers.0.weight") or by key
("heads.a.bias"), so that names, `state_dict` keys and `load_state_dict` agree with torch's. None of
them has a forward: a model calls its items itself.
"""

from __future__ import annotations

import operator
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, overload

from ..engine import Node
from ..tensor import Tensor
from .module import Module, Parameter, is_parameter

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList"]


# --------------------------------------------------------------------------- what an item may be


def _module(container: Module, value: Any, where: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{type(container).__name__}: {where} is a {type(value).__name__}, not a Module")
    return value


def _parameter(container: Module, value: Any, where: str) -> Parameter:
    """A parameter as it is; another Tensor as torch's Parameter(tensor) makes one: the same data, a leaf
    that requires grad."""
    if is_parameter(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, Tensor):
        if value.dtype.kind != "f":
            raise TypeError(f"{type(container).__name__}: {where} is a {value.dtype} Tensor of shape {value.shape}; "
                            "only float tensors can be parameters (they carry gradients)")
        return value.detach().requires_grad_()
    made = "a Value that is not a leaf requiring grad" if isinstance(value, Node) else f"a {type(value).__name__}"
    raise TypeError(f"{type(container).__name__}: {where} is {made}, not a parameter "
                    "(wrap numbers as Tensor(data, requires_grad=True))")


def _parameter_lines(items: Iterable[tuple[str, Parameter]]) -> str:
    """torch's listing of a parameter container: "(0): Parameter containing: [Tensor float64 of size 2x3]"."""
    lines = []
    for key, p in items:
        what = f"Tensor {p.dtype} of size {'x'.join(map(str, p.shape))}" if isinstance(p, Tensor) else type(p).__name__
        lines.append(f"({key}): Parameter containing: [{what}]")
    return "\n".join(lines)


# --------------------------------------------------------------------------- lists


class _ItemList(Module):
    """A Module holding a list of items (children "0", "1", ...), indexable as a Python list."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        self._items: list[Any] = []
        if values is not None:
            self.extend(values)

    def _checked(self, value: Any, where: str) -> Any:
        raise NotImplementedError

    def _fields(self) -> Iterator[tuple[str, Any]]:
        return ((str(i), v) for i, v in enumerate(self._items))

    def _index(self, index: Any) -> int:
        """An int index in range (negative ones count from the end), as a list's."""
        i = operator.index(index)
        if not -len(self._items) <= i < len(self._items):
            raise IndexError(f"{type(self).__name__}: index {i} is out of range for {len(self._items)} items")
        return i % len(self._items)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(self._items[index])
        return self._items[self._index(index)]

    def __setitem__(self, index: int, value: Any) -> None:
        i = self._index(index)
        self._items[i] = self._checked(value, f"item {i}")

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __iadd__(self, values: Iterable[Any]) -> Any:
        return self.extend(values)

    def append(self, value: Any) -> Any:
        """Add `value` at the end; returns self."""
        self._items.append(self._checked(value, f"item {len(self._items)}"))
        return self

    def extend(self, values: Iterable[Any]) -> Any:
        """Add each of `values` at the end; returns self."""
        if not isinstance(values, Iterable):
            raise TypeError(f"{type(self).__name__}.extend should be called with an iterable, "
                            f"but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self


class ModuleList(_ItemList):
    """Modules in a list, as torch.nn.ModuleList: indexed, sliced, appended, inserted and deleted as a
    Python list; each is a submodule named by its index.

    >>> from tinygrad_edu.nn import Linear, ReLU
    >>> layers = ModuleList([Linear(2, 2, rng=0) for _ in range(2)]); layers.append(ReLU())
    ModuleList(  # 12 parameters
      (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)  # 6 parameters
      (2): ReLU()
    )
    >>> [name for name, _ in layers.named_parameters()][:2], type(layers[:2]).__name__
    (['0.weight', '0.bias'], 'ModuleList')
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__(modules)

    def _checked(self, value: Any, where: str) -> Module:
        return _module(self, value, where)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        return super().__getitem__(index)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items)

    def __delitem__(self, index: int | slice) -> None:
        del self._items[index if isinstance(index, slice) else self._index(index)]  # the rest are renumbered

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self._items, *other])

    def insert(self, index: int, module: Module) -> None:
        """Put `module` before position `index`, as list.insert."""
        self._items.insert(operator.index(index), self._checked(module, f"the module inserted at {index}"))

    def pop(self, index: int | slice = -1) -> Module | ModuleList:
        """Remove and return the module at `index` (or a ModuleList of the modules of a slice)."""
        taken = self[index]
        del self[index]
        return taken

    def _child_lines(self, shown: dict[int, str], where: str) -> list[str]:
        """Runs of equal children shown once, as torch prints them: "(0-3): 4 x Linear(...)"."""
        runs: list[list[Any]] = []  # [first index, last index, text]
        for line in super()._child_lines(shown, where):
            index, text = line[1:].split("): ", 1)
            if runs and runs[-1][2] == text:
                runs[-1][1] = index
            else:
                runs.append([index, index, text])
        return [f"({first}): {text}" if first == last else f"({first}-{last}): {int(last) - int(first) + 1} x {text}"
                for first, last, text in runs]


class ParameterList(_ItemList):
    """Parameters in a list, as torch.nn.ParameterList, named by index ("0", "1", ...). A Tensor that is
    not yet a parameter becomes one (the same data, requiring grad), as torch's Parameter(tensor).

    >>> import numpy as np
    >>> params = ParameterList([Tensor(np.zeros(3)), Tensor(np.ones((2, 2)))])
    >>> params[0].requires_grad, [name for name, _ in params.named_parameters()]
    (True, ['0', '1'])
    """

    def __init__(self, values: Iterable[Parameter] | None = None) -> None:
        super().__init__(values)

    def _checked(self, value: Any, where: str) -> Parameter:
        return _parameter(self, value, where)

    @overload
    def __getitem__(self, index: int) -> Parameter: ...

    @overload
    def __getitem__(self, index: slice) -> ParameterList: ...

    def __getitem__(self, index: int | slice) -> Parameter | ParameterList:
        return super().__getitem__(index)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._items)

    def extra_repr(self) -> str:
        return _parameter_lines(self._fields())


# --------------------------------------------------------------------------- dicts


class _ItemDict(Module):
    """A Module holding items by string key (children named by their keys), used as a dict. As in torch,
    an item can also be read as an attribute (`heads.a` for `heads["a"]`)."""

    def __init__(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        self._items: dict[str, Any] = {}
        if values is not None:
            self.update(values)

    def _checked(self, value: Any, where: str) -> Any:
        raise NotImplementedError

    def _fields(self) -> Iterator[tuple[str, Any]]:
        return iter(self._items.items())

    def __getattr__(self, name: str) -> Any:  # only called where no attribute is found
        items = self.__dict__.get("_items")  # (absent while copy or pickle rebuild the object)
        if items is None or name not in items:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute or key {name!r}")
        return items[name]

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        name = type(self).__name__
        if not isinstance(key, str):
            raise TypeError(f"{name}: keys must be strings, got {key!r} (a {type(key).__name__})")
        if not key or "." in key:
            raise KeyError(f"{name}: a key must be non-empty and without dots (it is part of the names "
                           f"in state_dict), got {key!r}")
        if hasattr(type(self), key) or key in vars(self):
            raise KeyError(f"{name}: key {key!r} is the name of an attribute of {name}, which torch does not allow")
        self._items[key] = self._checked(value, f"the value of key {key!r}")

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def keys(self) -> KeysView[str]:
        """The keys, in insertion order."""
        return self._items.keys()

    def values(self) -> ValuesView[Any]:
        """The items, in insertion order."""
        return self._items.values()

    def items(self) -> ItemsView[str, Any]:
        """(key, item) pairs, in insertion order."""
        return self._items.items()

    def pop(self, key: str) -> Any:
        """Remove the item of `key` and return it."""
        return self._items.pop(key)

    def clear(self) -> None:
        """Remove every item."""
        self._items.clear()

    def update(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Set an item for each key of a mapping, or each (key, value) pair of an iterable, in their order."""
        name = type(self).__name__
        if isinstance(values, (Mapping, _ItemDict)):
            pairs: Iterable[Any] = values.items()
        elif isinstance(values, Iterable):
            pairs = values
        else:
            raise TypeError(f"{name}.update should be called with an iterable of key/value pairs, "
                            f"but got {type(values).__name__}")
        for j, pair in enumerate(pairs):
            if not isinstance(pair, Iterable):
                raise TypeError(f"{name}.update: sequence element #{j} should be a (key, value) pair; "
                                f"is a {type(pair).__name__}")
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(f"{name}.update: sequence element #{j} has length {len(pair)}; 2 is required")
            self[pair[0]] = pair[1]


class ModuleDict(_ItemDict):
    """Modules by string key, as torch.nn.ModuleDict: a dict (keys, values, items, update, pop, `in`),
    each module a submodule named by its key.

    >>> from tinygrad_edu.nn import Linear, Tanh
    >>> heads = ModuleDict({"a": Linear(2, 1, rng=0), "act": Tanh()})
    >>> [name for name, _ in heads.named_parameters()], "act" in heads, heads.act is heads["act"]
    (['a.weight', 'a.bias'], True, True)
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__(modules)

    def _checked(self, value: Any, where: str) -> Module:
        return _module(self, value, where)

    def __getitem__(self, key: str) -> Module:
        return self._items[key]  # type: ignore[no-any-return]

    def values(self) -> ValuesView[Module]:
        """The modules, in insertion order."""
        return self._items.values()

    def items(self) -> ItemsView[str, Module]:
        """(key, module) pairs, in insertion order."""
        return self._items.items()

    def pop(self, key: str) -> Module:
        """Remove the module of `key` and return it."""
        return self._items.pop(key)  # type: ignore[no-any-return]


class ParameterDict(_ItemDict):
    """Parameters by string key, as torch.nn.ParameterDict, named by their keys. A Tensor that is not yet
    a parameter becomes one (the same data, requiring grad), as torch's Parameter(tensor).

    >>> import numpy as np
    >>> scales = ParameterDict({"gain": Tensor(np.ones(2)), "shift": Tensor(np.zeros(2))})
    >>> list(scales.state_dict()), scales.get("gain").requires_grad
    (['gain', 'shift'], True)
    """

    def __init__(self, parameters: Mapping[str, Parameter] | Iterable[tuple[str, Parameter]] | None = None) -> None:
        super().__init__(parameters)

    def _checked(self, value: Any, where: str) -> Parameter:
        return _parameter(self, value, where)

    def __getitem__(self, key: str) -> Parameter:
        return self._items[key]  # type: ignore[no-any-return]

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter of `key`, or `default` where there is none."""
        return self._items.get(key, default)

    def extra_repr(self) -> str:
        return _parameter_lines(self._items.items())
