"""`Layer`: the base of every layer, with PyTorch-style forward/backward hooks.

A subclass writes plain `forward(x)` and `backward(grad_out)`; `__init_subclass__` wraps both so
that hooks run whether the layer is called as `layer(x)` or `layer.forward(x)`, and so that shapes
are checked (a user's layer returning a wrong shape gets a clear `ShapeError`). Methods inherited
from a mixin class that is not itself a Layer are wrapped too (hooks never silently skip).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from gradscope.core.errors import ShapeError
from gradscope.nn.layers.hooks import HOOK_KINDS, HookDict, RemovableHandle

ForwardPreHook = Callable[["Layer", tuple], Any]
ForwardHook = Callable[["Layer", tuple, np.ndarray], Any]
BackwardPreHook = Callable[["Layer", tuple], Any]
BackwardHook = Callable[["Layer", tuple, tuple], Any]


_HOOK_ATTR = {kind: f"_{kind}_hooks" for kind in HOOK_KINDS}


def _hooks(state: dict, attr: str) -> list[Callable[..., Any]]:
    """A snapshot of the hooks stored under `attr` (empty, and cheap, when there are none)."""
    hooks = state.get(attr)
    return list(hooks.values()) if hooks else []


def _as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _describe(layer: Layer) -> str:
    name = layer.__dict__.get("name")
    return f"{type(layer).__name__} ({name})" if name else type(layer).__name__


def _check_array(layer: Layer, what: str, value: Any, shape: tuple | None) -> None:
    if not isinstance(value, np.ndarray):
        raise ShapeError(
            f"Layer {_describe(layer)} returned {type(value).__name__} as its {what}; it must "
            "return a numpy array."
        )
    if shape is not None and value.shape != shape:
        raise ShapeError(
            f"Layer {_describe(layer)} returned {what} of shape {value.shape}, but "
            f"{shape} was expected. A layer's backward must return dL/dx with the shape of its "
            "input x, and a hook that replaces a value must keep its shape."
        )


def _forward_hooked(fn: Callable[..., np.ndarray], self: Layer, x: Any, args: tuple,
                    kwargs: dict) -> np.ndarray:
    """A forward pass through the layer's forward pre-hooks and forward hooks."""
    state = self.__dict__
    inputs: tuple = (x,)
    for hook in _hooks(state, "_forward_pre_hooks"):
        result = hook(self, inputs)
        if result is not None:
            inputs = _as_tuple(result)
    out = fn(self, *inputs, *args, **kwargs)
    _check_forward(self, np.shape(inputs[0]), out)
    for hook in _hooks(state, "_forward_hooks"):
        result = hook(self, inputs, out)
        if result is not None:
            _check_array(self, "forward output (from a forward hook)", result, out.shape)
            out = result
    state["_input_shape"] = np.shape(inputs[0])
    state["_output_shape"] = out.shape
    return out


def _check_forward(layer: Layer, in_shape: tuple, out: Any) -> None:
    """A forward output must be an array that keeps the batch axis of the input."""
    _check_array(layer, "forward output", out, None)
    if out.ndim < 1 or out.shape[0] != in_shape[0]:
        raise ShapeError(
            f"Layer {_describe(layer)} returned a forward output of shape {out.shape} for "
            f"an input of shape {in_shape}; the first (batch) axis must be kept."
        )


def _wrap_forward(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    @functools.wraps(fn)
    def forward(self: Layer, x: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        state = self.__dict__
        # a super().forward() call inside a subclass's forward (this is not the class's own
        # wrapper), or a call from inside this layer's hooks: the plain method
        if type(self).forward is not forward or state.get("_in_forward"):
            return fn(self, x, *args, **kwargs)
        if state.get("_forward_pre_hooks") or state.get("_forward_hooks"):
            state["_in_forward"] = True
            try:
                return _forward_hooked(fn, self, x, args, kwargs)
            finally:
                state["_in_forward"] = False
        # no hook (the hot path): the same checks, inlined
        out = fn(self, x, *args, **kwargs) if args or kwargs else fn(self, x)
        in_shape = x.shape if isinstance(x, np.ndarray) else np.shape(x)
        if not isinstance(out, np.ndarray) or out.ndim < 1 or out.shape[0] != in_shape[0]:
            _check_forward(self, in_shape, out)
        state["_input_shape"] = in_shape
        state["_output_shape"] = out.shape
        return out

    forward.__gradscope_wrapped__ = True  # type: ignore[attr-defined]
    return forward


def _backward_hooked(fn: Callable[..., np.ndarray], self: Layer, grad_out: Any, args: tuple,
                     kwargs: dict) -> np.ndarray:
    """A backward pass through the layer's backward pre-hooks and backward hooks."""
    state = self.__dict__
    grad_output: tuple = (grad_out,)
    for hook in _hooks(state, "_backward_pre_hooks"):
        result = hook(self, grad_output)
        if result is not None:
            grad_output = _as_tuple(result)
            _check_array(
                self, "grad_output (from a backward pre-hook)", grad_output[0],
                state["_output_shape"],
            )
    grad_in = fn(self, grad_output[0], *args, **kwargs)
    _check_array(self, "grad_input from backward", grad_in, state["_input_shape"])
    grad_input: tuple = (grad_in,)
    for hook in _hooks(state, "_backward_hooks"):
        result = hook(self, grad_input, grad_output)
        if result is not None:
            grad_input = _as_tuple(result)
            _check_array(
                self, "grad_input (from a backward hook)", grad_input[0],
                state["_input_shape"],
            )
    return grad_input[0]


def _wrap_backward(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    @functools.wraps(fn)
    def backward(self: Layer, grad_out: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        state = self.__dict__
        if type(self).backward is not backward or state.get("_in_backward"):
            return fn(self, grad_out, *args, **kwargs)  # as in forward
        input_shape = state.get("_input_shape")
        if input_shape is None:
            raise RuntimeError(
                f"{_describe(self)}.backward() was called before forward(); run a forward pass "
                "first."
            )
        if state.get("_backward_pre_hooks") or state.get("_backward_hooks"):
            state["_in_backward"] = True
            try:
                return _backward_hooked(fn, self, grad_out, args, kwargs)
            finally:
                state["_in_backward"] = False
        # no hook (the hot path)
        grad_in = fn(self, grad_out, *args, **kwargs) if args or kwargs else fn(self, grad_out)
        if not isinstance(grad_in, np.ndarray) or grad_in.shape != input_shape:
            _check_array(self, "grad_input from backward", grad_in, input_shape)
        return grad_in

    backward.__gradscope_wrapped__ = True  # type: ignore[attr-defined]
    return backward


class Layer:
    """Base class of every layer: `forward(x)`, `backward(grad_out) -> grad_in`, `params`, `grads`.

    `params` and `grads` are dicts of arrays with the same keys; `backward` overwrites `grads`
    (it does not accumulate). Subclass it and write `forward`/`backward`; hooks, the recorder and
    every container then work with your layer, with no registration step.
    """

    kind: str = "layer"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr, wrap in (("forward", _wrap_forward), ("backward", _wrap_backward)):
            # the method this class will use, wherever it comes from: its own body, a base
            # Layer (already wrapped) or a mixin class that is not a Layer (not wrapped yet)
            fn = getattr(cls, attr, None)
            if (fn is not None and not getattr(fn, "__gradscope_wrapped__", False)
                    and fn is not getattr(Layer, attr)):
                setattr(cls, attr, wrap(fn))

    # -- state created lazily, so a subclass that forgets super().__init__() still works ------
    #: Trainable arrays by name (e.g. {"W": (fan_in, fan_out), "b": (fan_out,)}).
    params: dict[str, np.ndarray]
    #: Gradients of the loss w.r.t. `params`, same keys, set by the last backward pass.
    grads: dict[str, np.ndarray]

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: `params`/`grads` default to an empty dict
        if name in ("params", "grads"):
            value: dict[str, np.ndarray] = {}
            self.__dict__[name] = value
            return value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def training(self) -> bool:
        """True in training mode (batch statistics in BatchNorm), False in eval mode."""
        return self.__dict__.get("_training", True)

    def _hook_dict(self, kind: str) -> HookDict:
        hooks = self.__dict__.get(_HOOK_ATTR[kind])
        if hooks is None:
            hooks = self.__dict__[_HOOK_ATTR[kind]] = HookDict()
        return hooks

    def _register(self, kind: str, hook: Callable[..., Any], prepend: bool) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(
                f"register_{kind}_hook needs a callable hook(layer, ...), got "
                f"{type(hook).__name__} {hook!r:.60}. Pass a function, e.g. "
                f"`def hook(layer, inputs, output): ...`.")
        hooks = self._hook_dict(kind)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks_items = list(hooks.items())
            hooks.clear()
            hooks[handle.id] = hook
            hooks.update((k, v) for k, v in hooks_items if k != handle.id)
        return handle

    # -- the computation (subclasses override) --------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for a batch `x` of shape (batch, features)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Given dL/d(output), set `self.grads` and return dL/d(input)."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_out)")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- hooks (PyTorch semantics) ---------------------------------------------------------------
    def register_forward_pre_hook(
        self, hook: ForwardPreHook, *, prepend: bool = False
    ) -> RemovableHandle:
        """`hook(layer, inputs) -> None | new inputs`, run before `forward`."""
        return self._register("forward_pre", hook, prepend)

    def register_forward_hook(self, hook: ForwardHook, *, prepend: bool = False) -> RemovableHandle:
        """`hook(layer, inputs, output) -> None | new output`, run after `forward`."""
        return self._register("forward", hook, prepend)

    def register_backward_pre_hook(
        self, hook: BackwardPreHook, *, prepend: bool = False
    ) -> RemovableHandle:
        """`hook(layer, grad_output) -> None | new grad_output`, run before `backward`."""
        return self._register("backward_pre", hook, prepend)

    def register_backward_hook(
        self, hook: BackwardHook, *, prepend: bool = False
    ) -> RemovableHandle:
        """`hook(layer, grad_input, grad_output) -> None | new grad_input`, run after `backward`
        (when `grads` are already set). grad_input and grad_output are 1-tuples of arrays."""
        return self._register("backward", hook, prepend)

    register_full_backward_hook = register_backward_hook
    register_full_backward_pre_hook = register_backward_pre_hook

    # -- structure ---------------------------------------------------------------------------------
    def children(self) -> list[Layer]:
        """Direct sub-layers (empty for a leaf layer)."""
        return []

    def named_layers(self, prefix: str = "") -> Iterator[tuple[str, Layer]]:
        """(path, layer) for this layer and every sub-layer, depth-first in forward order."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_layers(f"{prefix}.{name}" if prefix else name)

    def named_children(self) -> Iterator[tuple[str, Layer]]:
        """(name, child) pairs; containers override this."""
        for i, child in enumerate(self.children()):
            yield str(i), child

    def train(self, mode: bool = True) -> Layer:
        """Set training mode on this layer and every sub-layer; returns self."""
        for _, layer in self.named_layers():
            layer.__dict__["_training"] = mode
        return self

    def eval(self) -> Layer:
        """Set eval mode (BatchNorm then uses its running statistics); returns self."""
        return self.train(False)

    def parameters(self) -> Iterator[tuple[Layer, str, np.ndarray]]:
        """(layer, key, array) for every trainable array in the network."""
        for _, layer in self.named_layers():
            for key, value in layer.params.items():
                yield layer, key, value

    def extra_repr(self) -> str:
        """Extra text shown inside the layer's repr."""
        return ""

    def __repr__(self) -> str:
        kids = self.children()
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        inner = "\n".join(
            f"  ({name}): " + repr(child).replace("\n", "\n  ")
            for name, child in self.named_children()
        )
        return f"{type(self).__name__}(\n{inner}\n)"
