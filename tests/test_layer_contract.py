"""Layers: hooks never silently off, names unambiguous, handles weak, weights independent."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from gradscope.core.errors import ConfigError
from gradscope.nn.layers import Activation, Dense, Layer, Residual, Sequential
from gradscope.recording.recorder import GradientRecorder


class ScaleMixin:
    """forward/backward from a class that is not a Layer."""

    def forward(self, x):
        return 3.0 * x

    def backward(self, grad_out):
        return 3.0 * grad_out


class MixedScale(ScaleMixin, Layer):
    pass


class MixedDense(ScaleMixin, Dense):  # the mixin's methods come first in the MRO
    pass


@pytest.mark.parametrize("cls", [MixedScale, lambda: MixedDense(2, 2, seed=0)],
                         ids=["mixin+Layer", "mixin+Dense"])
def test_hooks_fire_on_methods_inherited_from_a_mixin(cls) -> None:
    layer = cls()
    calls: list[str] = []
    layer.register_forward_pre_hook(lambda *a: calls.append("pre"))
    layer.register_forward_hook(lambda *a: calls.append("fwd"))
    layer.register_backward_pre_hook(lambda *a: calls.append("bpre"))
    layer.register_backward_hook(lambda *a: calls.append("bwd"))
    out = layer(np.ones((2, 2)))
    np.testing.assert_array_equal(out, 3.0)
    grad = layer.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(grad, 3.0)
    assert calls == ["pre", "fwd", "bpre", "bwd"]


def test_a_mixin_dense_is_recorded() -> None:
    class Twice:
        def forward(self, x):
            self._x = x
            return x @ self.params["W"]

        def backward(self, grad_out):
            self.grads["W"] = self._x.T @ grad_out
            return grad_out @ self.params["W"].T

    class MyDense(Twice, Layer):
        def __init__(self):
            self.params = {"W": np.eye(2)}

    net = Sequential([MyDense(), Activation("tanh"), MyDense()])
    rec = GradientRecorder(net)
    net.backward(np.ones_like(net.forward(np.ones((3, 2)))))
    frame = rec.to_frame()
    assert sorted(frame["layer"]) == [0, 1]
    assert frame["grad_norm"].gt(0).all()


def test_nested_layers_get_their_full_path_as_name() -> None:
    rng = np.random.default_rng(0)
    inner = Sequential([Dense(2, 2, rng=rng), Activation("tanh")])
    net = Sequential([Residual(inner), Dense(2, 1, rng=rng)])
    names = [layer.name for path, layer in net.named_layers() if path]
    assert names == ["0", "0.block", "0.block.0", "0.block.1", "1"]
    assert len(set(names)) == len(names)


def test_a_user_given_name_is_kept() -> None:
    dense = Dense(2, 2, seed=0)
    dense.name = "encoder"
    Sequential([dense])
    assert dense.name == "encoder"


@pytest.mark.parametrize("hook", [42, "print", None])
def test_a_hook_that_is_not_callable_is_refused_when_registered(hook) -> None:
    layer = Dense(2, 2, seed=0)
    for register in (layer.register_forward_hook, layer.register_forward_pre_hook,
                     layer.register_backward_hook, layer.register_backward_pre_hook):
        with pytest.raises(TypeError, match="callable"):
            register(hook)
    layer(np.ones((1, 2)))  # nothing half-registered


def test_a_handle_keeps_neither_the_layer_nor_its_hooks_alive() -> None:
    class Probe:
        """Something a hook closes over (e.g. a recorder's buffers)."""

    probe = Probe()
    layer = Dense(200, 200, seed=0)
    handle = layer.register_forward_hook(lambda *a, keep=probe: None)
    layer_ref, probe_ref = weakref.ref(layer), weakref.ref(probe)
    del layer, probe
    gc.collect()
    assert layer_ref() is None and probe_ref() is None  # the handle alone holds nothing
    handle.remove()  # harmless once the layer is gone


def test_handle_remove_still_detaches() -> None:
    layer = Dense(2, 2, seed=0)
    calls: list[int] = []
    handle = layer.register_forward_hook(lambda *a: calls.append(1))
    layer(np.ones((1, 2)))
    handle.remove()
    handle.remove()
    layer(np.ones((1, 2)))
    assert calls == [1]


def test_dense_needs_an_rng_or_a_seed_and_layers_sharing_an_rng_differ() -> None:
    with pytest.raises(ConfigError, match="rng"):
        Dense(4, 4)
    with pytest.raises(ConfigError):
        Dense(4, 4, seed=-1)
    with pytest.raises(TypeError):
        Dense(4, 4, rng=0)
    rng = np.random.default_rng(0)
    a, b = Dense(4, 4, rng=rng), Dense(4, 4, rng=rng)
    assert not np.allclose(a.params["W"], b.params["W"])
    np.testing.assert_array_equal(Dense(4, 4, seed=3).params["W"],
                                  Dense(4, 4, seed=3).params["W"])  # reproducible
