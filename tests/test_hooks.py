"""Hook semantics (PyTorch's): order, removal, replacement, user layers, shape errors."""

from __future__ import annotations

import numpy as np
import pytest

from gradscope import Activation, Dense, Layer, Sequential, ShapeError, mlp, register_hooks


class Scale(Layer):
    """A user's own layer: y = s · x with a learnable scalar s (no registration step)."""

    def __init__(self, s: float = 2.0) -> None:
        self.params = {"s": np.array(s)}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return self.params["s"] * x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grads["s"] = np.array(np.sum(grad_out * self._x))
        return self.params["s"] * grad_out


def _net(rng: np.random.Generator) -> Sequential:
    return Sequential([Dense(3, 4, rng=rng), Activation("tanh"), Scale(), Dense(4, 2, rng=rng)])


def test_forward_hooks_run_in_forward_order_backward_in_reverse(rng) -> None:
    net = _net(rng)
    calls: list[tuple[str, int]] = []
    register_hooks(net, lambda layer, i, o: calls.append(("f", net.layers.index(layer))))
    register_hooks(net, lambda layer, gi, go: calls.append(("b", net.layers.index(layer))),
                   kind="backward")
    out = net(rng.standard_normal((5, 3)))
    net.backward(np.ones_like(out))
    assert calls == [("f", 0), ("f", 1), ("f", 2), ("f", 3), ("b", 3), ("b", 2), ("b", 1),
                     ("b", 0)]


def test_hooks_on_one_layer_run_in_registration_order_and_prepend(rng) -> None:
    layer = Dense(2, 2, rng=rng)
    calls: list[str] = []
    layer.register_forward_hook(lambda *a: calls.append("first"))
    layer.register_forward_hook(lambda *a: calls.append("second"))
    layer.register_forward_hook(lambda *a: calls.append("zeroth"), prepend=True)
    layer(np.ones((1, 2)))
    assert calls == ["zeroth", "first", "second"]


def test_hook_arguments_are_tuples_with_the_right_arrays(rng) -> None:
    layer = Dense(3, 2, rng=rng)
    seen: dict = {}
    layer.register_forward_hook(lambda m, i, o: seen.update(inputs=i, output=o, layer=m))
    layer.register_backward_hook(lambda m, gi, go: seen.update(gi=gi, go=go, gW=m.grads["W"]))
    x = rng.standard_normal((4, 3))
    out = layer(x)
    g = rng.standard_normal(out.shape)
    gx = layer.backward(g)
    assert seen["layer"] is layer and isinstance(seen["inputs"], tuple)
    assert seen["inputs"][0] is x and seen["output"] is out
    assert seen["go"][0] is g and seen["gi"][0] is gx
    np.testing.assert_array_equal(seen["gW"], x.T @ g)  # grads are set before the hook runs


def test_removed_hook_no_longer_runs_and_remove_is_idempotent(rng) -> None:
    layer = Dense(2, 2, rng=rng)
    calls: list[int] = []
    handle = layer.register_forward_hook(lambda *a: calls.append(1))
    layer(np.ones((1, 2)))
    handle.remove()
    handle.remove()
    layer(np.ones((1, 2)))
    assert calls == [1]
    with layer.register_backward_hook(lambda *a: calls.append(2)):
        layer.backward(np.ones((1, 2)))
    layer.backward(np.ones((1, 2)))
    assert calls == [1, 2]


def test_forward_hook_return_replaces_output(rng) -> None:
    net = Sequential([Dense(2, 3, rng=rng), Activation("relu")])
    net.layers[0].register_forward_hook(lambda m, i, o: np.zeros_like(o) - 1.0)
    assert np.all(net(np.ones((2, 2))) == 0.0)  # relu sees the replaced, negative output


def test_forward_pre_hook_replaces_input(rng) -> None:
    layer = Dense(2, 2, rng=rng)
    layer.register_forward_pre_hook(lambda m, inputs: (inputs[0] * 0.0,))
    np.testing.assert_array_equal(layer(np.ones((3, 2))), np.zeros((3, 2)))


def test_backward_hook_return_replaces_grad_input(rng) -> None:
    net = Sequential([Dense(2, 3, rng=rng), Activation("tanh"), Dense(3, 1, rng=rng)])
    x = rng.standard_normal((4, 2))
    out = net(x)
    net.backward(np.ones_like(out))
    reference = net.layers[0].grads["W"].copy()
    # a gradient-clipping style hook: halve the signal leaving the activation
    net.layers[1].register_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
    net(x)
    gx = net.backward(np.ones_like(out))
    np.testing.assert_allclose(net.layers[0].grads["W"], 0.5 * reference)
    assert gx.shape == x.shape


def test_backward_pre_hook_replaces_grad_output(rng) -> None:
    layer = Dense(2, 2, rng=rng)
    layer(np.ones((1, 2)))
    layer.register_backward_pre_hook(lambda m, go: (go[0] * 0.0,))
    layer.backward(np.ones((1, 2)))
    assert np.all(layer.grads["W"] == 0.0)


def test_hooks_fire_once_for_a_subclass_calling_super(rng) -> None:
    class DoubleDense(Dense):
        def forward(self, x):
            return 2.0 * super().forward(x)

        def backward(self, grad_out):
            return super().backward(2.0 * grad_out)

    layer = DoubleDense(2, 2, rng=rng)
    calls: list[str] = []
    layer.register_forward_hook(lambda *a: calls.append("f"))
    layer.register_backward_hook(lambda *a: calls.append("b"))
    layer.backward(np.ones_like(layer(np.ones((1, 2)))))
    assert calls == ["f", "b"]


def test_user_layer_works_in_sequential_with_hooks_and_gradients(rng) -> None:
    from gradcheck import check_layer

    net = _net(rng)
    names = [n for n, m in net.named_layers() if isinstance(m, Scale)]
    assert names == ["2"]
    check_layer(net, rng.standard_normal((3, 3)), rng)
    seen = []
    net.layers[2].register_backward_hook(lambda m, gi, go: seen.append(m.grads["s"].item()))
    net.backward(np.ones((3, 2)))
    assert len(seen) == 1


def test_net_level_hooks_see_the_whole_pass(rng) -> None:
    net = mlp(3, 2, depth=2, width=4, seed=0)
    seen: list[str] = []
    net.register_forward_hook(lambda m, i, o: seen.append(f"forward {o.shape}"))
    net.register_backward_hook(lambda m, gi, go: seen.append(f"backward {gi[0].shape}"))
    out = net.forward(np.ones((5, 3)))  # .forward and __call__ both run hooks
    net.backward(np.ones_like(out))
    assert seen == ["forward (5, 2)", "backward (5, 3)"]


def test_user_layer_returning_a_wrong_shape_gets_a_clear_error(rng) -> None:
    class BadBackward(Layer):
        def forward(self, x):
            return x

        def backward(self, grad_out):
            return grad_out[:, :1]

    class DropsBatch(Layer):
        def forward(self, x):
            return x.sum(axis=0)

        def backward(self, grad_out):
            return grad_out

    net = Sequential([Dense(3, 3, rng=rng), BadBackward()])
    out = net(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"BadBackward.*\(2, 1\).*\(2, 3\)"):
        net.backward(np.ones_like(out))
    with pytest.raises(ShapeError, match="batch"):
        Sequential([DropsBatch()])(np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"Dense\(3→3\).*\(2, 5\)"):
        Dense(3, 3, rng=rng)(np.ones((2, 5)))


def test_hook_replacing_with_wrong_shape_is_rejected(rng) -> None:
    layer = Dense(2, 2, rng=rng)
    layer.register_forward_hook(lambda m, i, o: o[:, :1])
    with pytest.raises(ShapeError, match="hook"):
        layer(np.ones((1, 2)))


def test_register_hooks_group_remove(rng) -> None:
    net = mlp(2, 2, depth=3, width=4)
    calls: list[int] = []
    group = register_hooks(net, lambda *a: calls.append(1))
    assert len(group) == 7  # 4 Dense + 3 activations, containers skipped
    net(np.ones((1, 2)))
    group.remove()
    net(np.ones((1, 2)))
    assert len(calls) == 7
    with pytest.raises(ValueError, match="forward_pre"):
        register_hooks(net, print, kind="sideways")


def test_backward_before_forward_is_a_clear_error(rng) -> None:
    with pytest.raises(RuntimeError, match="before forward"):
        Dense(2, 2, rng=rng).backward(np.ones((1, 2)))
