"""Every layer type × activation checked against finite differences (float64, rel. error < 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest

import gradscope.nn.layers as layers_module
from gradcheck import check_layer, check_vjp_directional
from gradscope import (
    ACTIVATIONS,
    ELU,
    GELU,
    NORMS,
    Activation,
    BatchNorm,
    ConfigError,
    Dense,
    GradcheckError,
    Layer,
    LayerNorm,
    LeakyReLU,
    Linear,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
    gradcheck,
    mlp,
)


def _away_from_kinks(x: np.ndarray) -> np.ndarray:
    """Move entries away from 0 so that ReLU-family kinks are not straddled by the FD step."""
    return np.where(np.abs(x) < 0.05, x + np.sign(x + 1e-12) * 0.1, x)


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_activation_layer(name: str, rng: np.random.Generator) -> None:
    x = _away_from_kinks(rng.standard_normal((4, 5)) * 2)
    with np.errstate(all="raise"):
        check_layer(Activation(name), x, rng)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_dense(bias: bool, rng: np.random.Generator) -> None:
    layer = Dense(3, 4, init="xavier", bias=bias, rng=rng)
    assert set(layer.params) == ({"W", "b"} if bias else {"W"})
    assert layer.params["W"].shape == (3, 4)
    check_layer(layer, rng.standard_normal((5, 3)), rng)


def test_batchnorm_train_mode(rng: np.random.Generator) -> None:
    layer = BatchNorm(4)
    layer.params["gamma"][:] = rng.uniform(0.5, 1.5, 4)
    layer.params["beta"][:] = rng.standard_normal(4)
    check_layer(layer, rng.standard_normal((6, 4)) * 3 + 1, rng)


def test_batchnorm_eval_mode_uses_running_statistics(rng: np.random.Generator) -> None:
    layer = BatchNorm(3, momentum=0.5)
    x = rng.standard_normal((50, 3)) * 2 + 5
    layer(x)
    np.testing.assert_allclose(layer.running_mean, 0.5 * x.mean(0))
    np.testing.assert_allclose(layer.running_var, 0.5 + 0.5 * x.var(0, ddof=1))
    layer.eval()
    y = layer(x)
    np.testing.assert_allclose(y, (x - layer.running_mean) / np.sqrt(layer.running_var + 1e-5))
    check_layer(layer, rng.standard_normal((4, 3)), rng)


def test_layernorm(rng: np.random.Generator) -> None:
    layer = LayerNorm(5)
    layer.params["gamma"][:] = rng.uniform(0.5, 1.5, 5)
    check_layer(layer, rng.standard_normal((3, 5)) * 2, rng)
    out = LayerNorm(5)(rng.standard_normal((3, 5)))
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)


def test_residual(rng: np.random.Generator) -> None:
    block = Sequential([Dense(4, 4, init="xavier", rng=rng), Activation("tanh")])
    check_layer(Residual(block), rng.standard_normal((3, 4)), rng)


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
@pytest.mark.parametrize("norm", NORMS.names())
def test_small_mlp_elementwise(activation: str, norm: str, rng: np.random.Generator) -> None:
    net = mlp(3, 2, depth=2, width=4, activation=activation, init="xavier", norm=norm, seed=1)
    # positive biases keep ReLU-family pre-activations away from the kink
    for _layer, key, value in net.parameters():
        if key == "b":
            value[:] = rng.uniform(0.1, 0.3, value.shape)
    check_layer(net, rng.standard_normal((5, 3)), rng)


@pytest.mark.parametrize(
    "activation,norm,residual",
    [("tanh", None, False), ("sigmoid", "batchnorm", False), ("gelu", "layernorm", True),
     ("softplus", None, True), ("elu", None, False)],
    ids=lambda v: str(v),
)
def test_deep_net_random_directions(activation, norm, residual, rng) -> None:
    net = mlp(6, 3, depth=12, width=16, activation=activation, init="xavier", norm=norm,
              residual=residual, seed=3)
    check_vjp_directional(net, rng.standard_normal((8, 6)), rng)


def test_mlp_structure() -> None:
    net = mlp(2, 3, depth=4, width=8, activation="relu", init="he")
    dense = [layer for _, layer in net.named_layers() if isinstance(layer, Dense)]
    assert len(dense) == 5  # depth hidden Dense layers + the output layer
    assert dense[0].params["W"].shape == (2, 8) and dense[-1].params["W"].shape == (8, 3)
    res = mlp(2, 3, depth=4, width=8, residual=True)
    assert sum(isinstance(layer, Residual) for _, layer in res.named_layers()) == 3


def test_mlp_is_deterministic_and_float32_on_request() -> None:
    a = mlp(2, 3, depth=3, width=8, seed=7)
    b = mlp(2, 3, depth=3, width=8, seed=7)
    c = mlp(2, 3, depth=3, width=8, seed=8)
    pa, pb, pc = ([p for _, _, p in n.parameters()] for n in (a, b, c))
    assert all(np.array_equal(x, y) for x, y in zip(pa, pb, strict=True))
    assert not np.array_equal(pa[0], pc[0])
    n32 = mlp(2, 3, depth=2, width=4, dtype="float32")
    assert all(p.dtype == np.float32 for _, _, p in n32.parameters())
    assert n32(np.ones((2, 2), dtype=np.float32)).dtype == np.float32


def test_one_neuron_hand_computed() -> None:
    """x=2, w=0.5, b=0, sigmoid, y=1, squared error: dL/dw = 2(a−y)·a(1−a)·x ≈ −0.2115."""
    dense, act = Dense(1, 1, init="normal:1", seed=0), Activation("sigmoid")
    dense.params["W"][:] = 0.5
    dense.params["b"][:] = 0.0
    net = Sequential([dense, act])
    a = net(np.array([[2.0]]))
    net.backward(2 * (a - 1.0))
    assert a[0, 0] == pytest.approx(0.7311, abs=1e-4)
    assert dense.grads["W"][0, 0] == pytest.approx(-0.2115, abs=1e-4)
    assert 0.5 - 0.1 * dense.grads["W"][0, 0] == pytest.approx(0.5212, abs=1e-4)


def test_all_ones_weights_hand_computed() -> None:
    """Linear 2→2→1 with all-ones weights: output = 4·x-sum, gradient 2 per weight path."""
    net = Sequential([Dense(2, 2, init="normal:1", seed=0), Dense(2, 1, init="normal:1", seed=0)])
    for _, key, p in net.parameters():
        p[:] = 1.0 if key == "W" else 0.0
    x = np.array([[1.0, 2.0]])
    assert net(x)[0, 0] == 6.0
    gx = net.backward(np.ones((1, 1)))
    np.testing.assert_array_equal(gx, [[2.0, 2.0]])
    np.testing.assert_array_equal(net.layers[0].grads["W"], [[1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(net.layers[1].grads["W"], [[3.0], [3.0]])


# -- gs.gradcheck on every built-in layer, and on a wrong one ------------------------------------


def _kinkless(rng: np.random.Generator) -> np.ndarray:
    return _away_from_kinks(rng.standard_normal((5, 4)) * 2)


def _batchnorm_eval(rng: np.random.Generator) -> BatchNorm:
    layer = BatchNorm(4)
    layer(rng.standard_normal((20, 4)) * 2 + 1)
    return layer.eval()


BUILT_IN = {  # id -> factory(rng); every Layer class gradscope.nn.layers exports appears
    **{f"Activation({name})": (lambda rng, name=name: Activation(name))
       for name in ACTIVATIONS.names()},
    **{cls.__name__: (lambda rng, cls=cls: cls()) for cls in (Sigmoid, Tanh, ReLU, LeakyReLU,
                                                              ELU, GELU, Softplus, Linear)},
    "Dense": lambda rng: Dense(4, 3, init="xavier", rng=rng),
    "Dense(bias=False)": lambda rng: Dense(4, 3, init="xavier", bias=False, rng=rng),
    "BatchNorm": lambda rng: BatchNorm(4),
    "BatchNorm(eval)": _batchnorm_eval,
    "LayerNorm": lambda rng: LayerNorm(4),
    "Residual": lambda rng: Residual(Sequential([Dense(4, 4, init="xavier", rng=rng), Tanh()])),
    "Sequential": lambda rng: Sequential([Dense(4, 6, rng=rng), GELU(), LayerNorm(6),
                                          Dense(6, 2, rng=rng)]),
}


def test_every_exported_layer_class_is_gradchecked() -> None:
    classes = {type(factory(np.random.default_rng(0))) for factory in BUILT_IN.values()}
    exported = {obj for obj in vars(layers_module).values()
                if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer}
    assert exported <= classes, exported - classes


@pytest.mark.parametrize("name", list(BUILT_IN))
def test_gradcheck_built_in_layer(name: str, rng: np.random.Generator) -> None:
    layer = BUILT_IN[name](rng)
    for _, key, value in layer.parameters():  # non-trivial gammas and biases
        if key != "W":
            value[:] = rng.uniform(0.5, 1.5, value.shape)
    result = gradcheck(layer, _kinkless(rng), rng=rng, n_directions=4)
    assert result.passed and bool(result)
    assert set(result.max_rel_error) == {"input"} | {
        n for n, _ in ((f"{p}.{k}" if p else k, 0) for p, lay in layer.named_layers()
                       for k in lay.params)}
    assert max(result.max_rel_error.values()) < 1e-6


class WrongScale(Layer):
    """A user's layer y = x * W whose backward forgets a factor 2 in dL/dW."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.params = {"W": rng.uniform(0.5, 1.5, size=4)}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x * self.params["W"] * 2

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grads = {"W": (grad_out * self._x).sum(0)}  # wrong: should be 2 * ...
        return grad_out * self.params["W"] * 2


def test_gradcheck_catches_a_wrong_layer(rng: np.random.Generator) -> None:
    x = rng.standard_normal((5, 4))
    with pytest.raises(GradcheckError, match=r"gradient of W .*relative error 3\.3e-01"):
        gradcheck(WrongScale(rng), x, rng=rng)
    result = gradcheck(WrongScale(rng), x, rng=rng, raise_on_failure=False)
    assert not result.passed
    assert result.max_rel_error["input"] < 1e-8 and result.max_rel_error["W"] > 0.3
    inside = Sequential([Dense(4, 4, rng=rng), WrongScale(rng)])
    with pytest.raises(GradcheckError, match=r"gradient of 1\.W"):
        gradcheck(inside, x, rng=rng)
    with pytest.raises(ConfigError, match="float64"):
        gradcheck(Dense(4, 2, dtype="float32", seed=0), x)
    with pytest.raises(ConfigError, match="n_directions"):
        gradcheck(Dense(4, 2, seed=0), x, n_directions=0)
