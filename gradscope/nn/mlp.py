"""`mlp(...)`: the multi-layer perceptron that every experiment builds."""

from __future__ import annotations

import numpy as np

from gradscope.core.registry import Registry
from gradscope.core.validation import check_scalar
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.bias_init import parse_bias_init
from gradscope.nn.initializers import INITIALIZERS
from gradscope.nn.layers import Activation, BatchNorm, Dense, Layer, LayerNorm, Residual, Sequential

NORMS: Registry[type[Layer] | None] = Registry("norm")
NORMS.add("none", None, "no normalisation")
NORMS.add("batchnorm", BatchNorm, "batch normalisation after each hidden Dense")
NORMS.add("layernorm", LayerNorm, "layer normalisation after each hidden Dense")


def mlp(
    in_dim: int,
    out_dim: int,
    depth: int,
    width: int,
    activation: str = "relu",
    init: str = "he",
    norm: str | None = None,
    residual: bool = False,
    seed: int = 0,
    dtype: str = "float64",
    bias_init: str = "zeros",
) -> Sequential:
    """`depth` hidden blocks Dense → [norm] → activation, then a Dense output layer.

    With `residual=True` every hidden block whose input and output widths agree is wrapped as
    x + block(x). All weights are drawn from `np.random.default_rng(seed)`, layer by layer;
    biases are 0, or drawn by `bias_init` (e.g. "normal:1") from a child stream that each Dense
    layer spawns from that generator (see `Dense`), so the weights are the same whatever
    `bias_init` is.
    """
    in_dim, out_dim, depth, width = (
        check_scalar(value, f"mlp's {key}", int, min_val=1)
        for key, value in (("in_dim", in_dim), ("out_dim", out_dim), ("depth", depth),
                           ("width", width)))
    seed = check_scalar(seed, "mlp's seed", int, min_val=0)
    ACTIVATIONS.parse(activation, "activation")
    INITIALIZERS.parse(init, "init")
    parse_bias_init(bias_init)
    norm_cls = NORMS.get(norm or "none", "norm")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    fan_in = in_dim
    for _ in range(depth):
        block: list[Layer] = [Dense(fan_in, width, init, rng=rng, dtype=dtype,
                                     bias_init=bias_init)]
        if norm_cls is not None:
            block.append(norm_cls(width, dtype=dtype))
        block.append(Activation(activation))
        if residual and fan_in == width:
            layers.append(Residual(Sequential(block)))
        else:
            layers.extend(block)
        fan_in = width
    layers.append(Dense(fan_in, out_dim, init, rng=rng, dtype=dtype, bias_init=bias_init))
    return Sequential(layers)
