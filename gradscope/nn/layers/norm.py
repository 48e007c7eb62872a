"""Normalisation layers: `BatchNorm` (over the batch) and `LayerNorm` (over the features)."""

from __future__ import annotations

import numpy as np

from gradscope.nn.layers.base import Layer


def _normalize_backward(
    grad_out: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray, axis: int
) -> np.ndarray:
    """dL/dx of y = gamma · (x − mean) / std, with mean and std taken along `axis`."""
    n = xhat.shape[axis]
    dxhat = grad_out * gamma
    return (inv_std / n) * (
        n * dxhat
        - dxhat.sum(axis=axis, keepdims=True)
        - xhat * (dxhat * xhat).sum(axis=axis, keepdims=True)
    )


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy 2015) with running statistics for eval mode.

    Training mode normalises with the batch mean and (biased) variance and updates the running
    estimates with `momentum` (PyTorch's convention, unbiased running variance)."""

    kind = "batchnorm"

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        *,
        dtype: str | np.dtype = "float64",
    ) -> None:
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.params = {
            "gamma": np.ones(self.num_features, dtype=dtype),
            "beta": np.zeros(self.num_features, dtype=dtype),
        }
        self.grads = {}
        self.running_mean = np.zeros(self.num_features, dtype=dtype)
        self.running_var = np.ones(self.num_features, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            n = x.shape[0]
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * n / max(n - 1, 1)
        else:
            mean, var = self.running_mean, self.running_var
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = (x - mean) * self._inv_std
        self._used_batch_stats = self.training
        return self.params["gamma"] * self._xhat + self.params["beta"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grads["gamma"] = (grad_out * self._xhat).sum(axis=0)
        self.grads["beta"] = grad_out.sum(axis=0)
        gamma = self.params["gamma"]
        if not self._used_batch_stats:
            return grad_out * gamma * self._inv_std
        return _normalize_backward(grad_out, self._xhat, self._inv_std, gamma, axis=0)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"


class LayerNorm(Layer):
    """Layer normalisation (Ba et al. 2016): each example normalised over its features."""

    kind = "layernorm"

    def __init__(
        self, num_features: int, eps: float = 1e-5, *, dtype: str | np.dtype = "float64"
    ) -> None:
        self.num_features, self.eps = int(num_features), eps
        self.params = {
            "gamma": np.ones(self.num_features, dtype=dtype),
            "beta": np.zeros(self.num_features, dtype=dtype),
        }
        self.grads = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = (x - mean) * self._inv_std
        return self.params["gamma"] * self._xhat + self.params["beta"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grads["gamma"] = (grad_out * self._xhat).sum(axis=0)
        self.grads["beta"] = grad_out.sum(axis=0)
        return _normalize_backward(
            grad_out, self._xhat, self._inv_std, self.params["gamma"], axis=1
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}"
