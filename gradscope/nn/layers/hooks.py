"""Hook handles and the helper that attaches one hook to every layer of a network."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradscope.nn.layers.base import Layer


class HookDict(dict):
    """A layer's hooks of one kind, by handle id (a dict that handles can reference weakly)."""


class RemovableHandle:
    """Returned by every `register_*_hook`; `.remove()` detaches the hook (idempotent).

    Like PyTorch's, a handle holds only a weak reference to the layer's hooks, so a handle kept
    around does not keep a deleted layer (and its arrays) alive.
    """

    _next_id = 0

    def __init__(self, hooks: HookDict) -> None:
        self._hooks = weakref.ref(hooks)
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        """Detach the hook; removing twice (or after the layer is gone) is harmless."""
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class HandleGroup:
    """Several handles removed together (what `register_hooks` returns)."""

    def __init__(self, handles: Iterable[RemovableHandle] = ()) -> None:
        self.handles = list(handles)

    def add(self, handle: RemovableHandle) -> None:
        """Keep `handle` so that `.remove()` removes it too."""
        self.handles.append(handle)

    def remove(self) -> None:
        """Detach every hook of the group."""
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def __len__(self) -> int:
        return len(self.handles)

    def __enter__(self) -> HandleGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


HOOK_KINDS = ("forward_pre", "forward", "backward_pre", "backward")


def register_hooks(
    net: Layer, fn: Callable[..., Any], kind: str = "forward", *, leaves_only: bool = True
) -> HandleGroup:
    """Attach `fn` as a `kind` hook (forward_pre | forward | backward_pre | backward) to every
    layer of `net` (only the leaves, i.e. layers without children, unless leaves_only=False)."""
    if kind not in HOOK_KINDS:
        raise ValueError(f"hook kind must be one of {', '.join(HOOK_KINDS)}, got {kind!r}")
    group = HandleGroup()
    for _, layer in net.named_layers():
        if leaves_only and layer.children():
            continue
        group.add(getattr(layer, f"register_{kind}_hook")(fn))
    return group
