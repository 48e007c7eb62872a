"""`gradscope theory`: the mean-field prediction (q*, χ₁, depth scale, per-layer ratios)."""

from __future__ import annotations

import json
import math

import click

from gradscope.core.errors import ConfigError
from gradscope.sweeps.config import FIELDS
from gradscope.text.bars import direction_bar
from gradscope.theory import predict
from gradscope.training.datasets import load_dataset

MAX_DEPTH = 10_000  # a few seconds; the per-layer variance has long reached its fixed point


def _num(value: float | None) -> str:
    if value is None:
        return "none"
    if not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


@click.command("theory")
@click.option("--activation", required=True, help="Activation, e.g. tanh, relu, sigmoid.")
@click.option("--init", default=None, help="Initialiser (σ_w² follows from it), e.g. xavier.")
@click.option("--sigma-w2", type=float, default=None,
              help="Weight variance × fan_in, instead of --init.")
@click.option("--sigma-b2", type=float, default=0.0, show_default=True, help="Bias variance.")
@click.option("--bias-init", default=None,
              help="Bias initialiser (σ_b² follows from it), e.g. normal:1 (std 1, σ_b² = 1); "
                   "instead of --sigma-b2.")
@click.option("--q0", type=float, default=None,
              help="The inputs' second moment: the mean of x_i² the first Dense layer sees "
                   "[default: 1, standardised inputs].")
@click.option("--dataset", default=None,
              help="Read q0 (and in/out dims) from a dataset, as a run builds it, e.g. digits.")
@click.option("--n-samples", type=click.IntRange(min=1), default=FIELDS["n_samples"].default,
              show_default=True, help="With --dataset: examples generated or drawn.")
@click.option("--data-seed", type=click.IntRange(min=0), default=FIELDS["data_seed"].default,
              show_default=True, help="With --dataset: the dataset's seed.")
@click.option("--depth", type=click.IntRange(1, MAX_DEPTH), default=10, show_default=True,
              help=f"Hidden layers (at most {MAX_DEPTH:,}).")
@click.option("--width", type=click.IntRange(min=1), default=128, show_default=True,
              help="Hidden width (matters for normal:S, uniform:A, whose variance is per weight).")
@click.option("--in-dim", type=click.IntRange(min=1), default=None,
              help="Input features [default: width].")
@click.option("--out-dim", type=click.IntRange(min=1), default=None,
              help="Output units [default: width].")
@click.option("--norm", default="none", show_default=True, help="none, batchnorm or layernorm.")
@click.option("--residual/--no-residual", default=False, help="Residual hidden blocks.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def command(activation, init, sigma_w2, sigma_b2, bias_init, q0, dataset, n_samples, data_seed,
            depth, width, in_dim, out_dim, norm, residual, as_json) -> None:
    """Mean-field prediction of how the back-propagated gradient δ changes per layer.

    For weights of variance σ_w²/fan_in and biases of variance σ_b² (Poole et al. 2016;
    Schoenholz et al. 2017): the fixed point q* of the pre-activation variance, χ₁ = σ_w²·E[φ'²]
    (the per-layer ratio of SQUARED gradient norms ‖δ_l‖²/‖δ_{l+1}‖² deep in the net; the norm
    itself changes by √χ₁), the depth scale −1/ln χ₁, and the prediction for each layer of an
    mlp whose inputs have second moment q0 (1 for standardised inputs; --dataset reads it from a
    dataset). χ₁ < 1: vanishing; > 1: exploding; = 1: the edge of chaos.
    Also the correlation depth scale ξ_c (nets deeper than ~6 ξ_c do not train; Schoenholz et
    al. 2017) and, at the given --width, the seed-to-seed spread of log10 ‖δ_0‖/‖δ_L‖
    (delta_log10_ratio_sd; exact for the ReLU family, Hanin & Nica 2019).

    \b
    Example:
      gradscope theory --activation tanh --sigma-w2 1.76 --sigma-b2 0.05
      gradscope theory --activation sigmoid --init xavier --depth 20 --json
      gradscope theory --activation sigmoid --init lecun --bias-init normal:1 --dataset digits
    """
    if dataset is not None:
        if q0 is not None:
            raise ConfigError(f"Give at most one of --q0 and --dataset (which computes q0 = "
                              f"mean x_i² of its inputs); got --q0 {q0} --dataset {dataset}.")
        data = load_dataset(dataset, n=n_samples, seed=data_seed)
        q0 = data.q_in
        in_dim = data.in_dim if in_dim is None else in_dim
        out_dim = data.out_dim if out_dim is None else out_dim
    p = predict(activation, init=init, sigma_w2=sigma_w2, sigma_b2=sigma_b2, bias_init=bias_init,
                depth=depth, width=width, in_dim=in_dim, out_dim=out_dim,
                q_in=1.0 if q0 is None else q0, norm=norm, residual=residual)
    if as_json:
        click.echo(json.dumps(p.to_dict(), indent=2))
        return
    what = f"init {p.init} → σ_w² = {p.sigma_w2:.4g}" if p.init else f"σ_w² = {p.sigma_w2:.4g}"
    extra = (f", {p.norm}" if p.norm != "none" else "") + (", residual" if p.residual else "")
    bias = f"bias {p.bias_init} → σ_b² = {p.sigma_b2:.4g}" if p.bias_init else \
        f"σ_b² = {p.sigma_b2:g}"
    source = f" ({dataset})" if dataset else ""
    click.echo(f"Mean field: {p.activation}, {what}, {bias}, q0 = {p.q_in:.4g}{source}, depth "
               f"{p.depth}, width {p.width}{extra}")
    click.echo(f"  q_star            {_num(p.q_star)}   fixed point of the pre-activation variance")
    click.echo(f"  chi1              {_num(p.chi1)}   ‖δ_l‖²/‖δ_l+1‖² at q* (norm: "
               f"{_num(math.sqrt(p.chi1))})")
    click.echo(f"  depth_scale       {_num(p.depth_scale)}   layers per factor e of ‖δ‖² "
               "(−1/ln χ₁; < 0 exploding)")
    click.echo(f"  xi_c              {_num(p.xi_c)}   correlation depth scale (c* = "
               f"{_num(p.c_star)}, χ_c = {_num(p.chi_c)}): trainable to depth ≈ 6 ξ_c = "
               f"{_num(6 * p.xi_c if p.xi_c is not None else None)}")
    click.echo(f"  per_layer_ratio   {_num(p.per_layer_ratio)}   geometric mean of ‖δ_l‖²/‖δ_l+1‖² "
               f"over {p.depth} layers (norm: {_num(p.per_layer_norm_ratio)})")
    click.echo(f"  total_ratio       {_num(p.total_ratio)}   ‖δ_0‖²/‖δ_{p.depth}‖² (norm ratio "
               f"10^{p.delta_ratio_log10:.2f})")
    if p.delta_log10_ratio_sd is not None:
        click.echo(f"  delta_log10_ratio_sd  {p.delta_log10_ratio_sd:.3f}   seed-to-seed sd of "
                   f"log10 ‖δ_0‖/‖δ_{p.depth}‖ at width {p.width} (mean "
                   f"{p.delta_log10_ratio_mean:+.3f}; {p.spread_law} law, one example)")
    click.echo("")
    click.echo(f"  {'layer':>5} {'q':>10} {'σ_w²':>7} {'‖δ‖ ratio':>10} {'‖δ_l‖/‖δ_top‖':>14}  "
               "log scale (< vanishing, > exploding; 4 per decade)")
    log_running = 0.0
    for row in reversed(p.layers):
        log_running += 0.5 * math.log10(row.ratio) if row.ratio > 0 else -math.inf
        click.echo(f"  {row.layer:>5} {_num(row.q):>10} {row.sigma_w2:>7.3g} "
                   f"{_num(row.norm_ratio):>10} {_num(10.0 ** log_running):>14}  "
                   f"{direction_bar(log_running)}")
