"""Losses by name: `loss(name)(output, target) -> (mean loss, dL/d(output))`.

Every loss returns the gradient of the MEAN loss over the batch, so the gradients the recorder
sees are those of "L is the mean loss over the batch" in the spec. Cross-entropy uses a
log-softmax and bce the "with logits" form, so large logits give finite values.
"""

from __future__ import annotations

import numpy as np

from gradscope.core.errors import ConfigError, ShapeError
from gradscope.core.registry import Registry

Array = np.ndarray


def _as_2d(output: Array, name: str) -> Array:
    if output.ndim != 2:
        raise ShapeError(f"loss {name} expects a network output of shape (batch, units), got "
                         f"{output.shape}.")
    return output


def _int_labels(target: Array) -> Array | None:
    """`target` as 1-D int labels if it holds whole numbers in one column, else None."""
    t = np.asarray(target)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1 or t.dtype.kind not in "biuf":
        return None
    if t.dtype.kind == "f" and not np.all(np.isfinite(t) & (t == np.round(t))):
        return None
    return t.astype(np.int64)


class Loss:
    """A loss: call it as `(output, target) -> (value, grad_output)`; also `accuracy` and
    `prepare_target` (dataset labels → the target array this loss expects)."""

    name: str = "loss"

    def __call__(self, output: Array, target: Array) -> tuple[float, Array]:
        """The mean loss over the batch and its gradient w.r.t. `output`."""
        raise NotImplementedError

    def accuracy(self, output: Array, target: Array) -> float:
        """Share of examples classified correctly; nan when `target` holds no class labels."""
        raise NotImplementedError

    def prepare_target(self, y: Array, out_dim: int) -> Array:
        """Turn dataset targets `y` into what this loss takes for a net with `out_dim` outputs."""
        raise NotImplementedError

    # -- an ensemble's members at once: (E, batch, units) outputs, each member's value exactly
    # what the one-member call gives (the defaults call it member by member) -------------------
    def stacked(self, outputs: Array, targets: Array) -> tuple[Array, Array]:
        """Per-member mean losses (E,) and gradients (E, batch, units) of stacked outputs;
        `targets`: the members' prepared targets, stacked."""
        pairs = [self(out, target) for out, target in zip(outputs, targets, strict=True)]
        return (np.array([value for value, _ in pairs], dtype=np.float64),
                np.stack([grad for _, grad in pairs]))

    def stacked_accuracy(self, outputs: Array, ys: Array) -> Array:
        """Per-member accuracy (E,) of stacked outputs; `ys`: the members' dataset targets."""
        return np.array([self.accuracy(out, y) for out, y in zip(outputs, ys, strict=True)],
                        dtype=np.float64)

    def __repr__(self) -> str:
        return f"loss({self.name!r})"


class MSE(Loss):
    """Mean over ALL elements of (output − target)²."""

    name = "mse"

    def __call__(self, output: Array, target: Array) -> tuple[float, Array]:
        output = _as_2d(output, self.name)
        if np.size(target) != output.size:
            raise ShapeError(f"loss mse: target of shape {np.shape(target)} does not match the "
                             f"output of shape {output.shape}.")
        diff = output - np.reshape(target, output.shape)
        return float(np.mean(diff * diff)), (2.0 / diff.size) * diff

    def stacked(self, outputs: Array, targets: Array) -> tuple[Array, Array]:
        # each member's mean is the same pairwise sum over its contiguous row of B·units values
        diff = outputs - np.reshape(targets, outputs.shape)
        squares = (diff * diff).reshape(len(diff), -1)
        return squares.mean(axis=1).astype(np.float64), (2.0 / squares.shape[1]) * diff

    def accuracy(self, output: Array, target: Array) -> float:
        target = np.asarray(target)
        if target.dtype.kind not in "biu":  # float targets: a regression, no accuracy
            return float("nan")
        labels = _int_labels(target)
        if labels is None:
            return float("nan")
        pred = np.argmax(output, axis=1) if output.shape[1] > 1 else np.rint(output[:, 0])
        return float(np.mean(pred == labels))

    def prepare_target(self, y: Array, out_dim: int) -> Array:
        y = np.asarray(y)
        if y.dtype.kind in "biu" and y.ndim == 1 and len(y):  # class labels
            k = int(y.max()) + 1
            if out_dim == 1 and k <= 2 and y.min() >= 0:  # 0/1 labels as one target column
                return y.astype(np.float64).reshape(-1, 1)
            if y.min() < 0 or k > out_dim or out_dim == 1:
                raise ConfigError(
                    f"loss mse on class labels {y.min()}..{k - 1} one-hot encodes them, which "
                    f"needs labels ≥ 0 and out_dim = {k}, but the network has {out_dim} "
                    "output(s)."
                )
            return np.eye(out_dim)[y]
        y2 = y.reshape(len(y), -1).astype(np.float64)
        if y2.shape[1] != out_dim:
            raise ConfigError(
                f"loss mse: the targets have {y2.shape[1]} column(s) but the network has "
                f"{out_dim} outputs; build the network with out_dim = {y2.shape[1]}."
            )
        return y2


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits with integer class labels, mean over the batch."""

    name = "cross_entropy"

    def __call__(self, output: Array, target: Array) -> tuple[float, Array]:
        output = _as_2d(output, self.name)
        labels = self._check(target, output.shape[1])
        if len(labels) != len(output):
            raise ShapeError(f"loss cross_entropy: {len(labels)} labels for a batch of "
                             f"{len(output)} outputs.")
        shifted = output - output.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log-softmax
        rows = np.arange(len(labels))
        grad = np.exp(log_p)
        grad[rows, labels] -= 1.0
        return float(-log_p[rows, labels].mean()), grad / len(labels)

    def stacked(self, outputs: Array, targets: Array) -> tuple[Array, Array]:
        # the same element-wise steps; the sums over classes and the means over the batch are
        # reductions of contiguous rows, as in the one-member call
        labels = np.asarray(targets).reshape(outputs.shape[:2])
        shifted = outputs - outputs.max(axis=2, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
        members = np.arange(len(outputs))[:, None]
        rows = np.arange(outputs.shape[1])[None, :]
        grad = np.exp(log_p)
        grad[members, rows, labels] -= 1.0
        values = -log_p[members, rows, labels].mean(axis=1)
        return values.astype(np.float64), grad / outputs.shape[1]

    def stacked_accuracy(self, outputs: Array, ys: Array) -> Array:
        # the labels were checked whole numbers for every member when the targets were prepared
        labels = _int_labels(np.reshape(ys, -1))
        if labels is None:
            return super().stacked_accuracy(outputs, ys)
        hits = np.argmax(outputs, axis=2) == labels.reshape(outputs.shape[:2])
        return hits.mean(axis=1)

    def accuracy(self, output: Array, target: Array) -> float:
        labels = _int_labels(target)
        if labels is None:
            return float("nan")
        return float(np.mean(np.argmax(output, axis=1) == labels))

    def prepare_target(self, y: Array, out_dim: int) -> Array:
        return self._check(y, out_dim)

    def _check(self, y: Array, out_dim: int) -> Array:
        labels = _int_labels(y)
        if labels is None:
            raise ConfigError(
                "loss cross_entropy needs integer class labels 0..K-1 as targets, got "
                f"{np.asarray(y).dtype} values of shape {np.shape(y)}; use loss mse for a "
                "regression target."
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= out_dim):
            raise ConfigError(
                f"loss cross_entropy needs one output unit per class: the labels go from "
                f"{labels.min()} to {labels.max()}, so out_dim must be {labels.max() + 1}, but "
                f"the network has {out_dim} output(s). Build it with out_dim = "
                f"{labels.max() + 1} (or use loss bce with out_dim 1 for two classes)."
            )
        return labels


class BCE(Loss):
    """Binary cross-entropy on the logit of one output unit (stable "with logits" form)."""

    name = "bce"

    def __call__(self, output: Array, target: Array) -> tuple[float, Array]:
        output = _as_2d(output, self.name)
        if output.shape[1] != 1 or np.size(target) != len(output):
            raise ShapeError(f"loss bce expects one output unit and one 0/1 target per example; "
                             f"got output {output.shape} and target {np.shape(target)}.")
        z, t = output, np.reshape(target, output.shape).astype(output.dtype)
        # log(1 + e^z) − z·t, written so that e^ never overflows
        value = np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z)))
        prob = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid(z)
        return float(value.mean()), (prob - t) / len(z)

    def accuracy(self, output: Array, target: Array) -> float:
        labels = _int_labels(target)
        if labels is None:
            return float("nan")
        return float(np.mean((output[:, 0] > 0) == (labels == 1)))

    def prepare_target(self, y: Array, out_dim: int) -> Array:
        labels = _int_labels(y)
        if out_dim != 1:
            raise ConfigError(f"loss bce takes the logit of ONE output unit, but the network has "
                              f"{out_dim} outputs; build it with out_dim = 1 or use cross_entropy.")
        if labels is None or not np.isin(labels, (0, 1)).all():
            raise ConfigError("loss bce needs 0/1 targets (two classes); use cross_entropy for "
                              "more classes and mse for a regression target.")
        return labels.astype(np.float64).reshape(-1, 1)


LOSSES: Registry[Loss] = Registry("loss")
LOSSES.add("mse", MSE(), "mean over all elements of (output − target)²")
LOSSES.add("cross_entropy", CrossEntropy(), "softmax cross-entropy, integer class labels")
LOSSES.add("bce", BCE(), "binary cross-entropy on one logit (sigmoid inside), 0/1 targets")


def loss(name: str) -> Loss:
    """The loss registered as `name` ("mse", "cross_entropy", "bce")."""
    return LOSSES.get(LOSSES.parse(name, "loss").name, "loss")
