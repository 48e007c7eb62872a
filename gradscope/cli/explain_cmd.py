"""`gradscope explain`: the chain rule written out with numbers, from one neuron to a deep net."""

from __future__ import annotations

import click

from gradscope.analysis.chain_rule import (
    ChainExample,
    chain_memory,
    deep_chain,
    one_neuron,
    two_weights,
)
from gradscope.core.resources import check_memory
from gradscope.text.bars import value_bar

MAX_DEPTH = 2000  # ~30 s; the gradient has long under- or overflowed by then


def _short(value: float) -> str:
    """2 decimals, or 3 when 2 would be more than 1% off (−0.5379 → −0.54, 0.1966 → 0.197)."""
    for digits in (2, 3, 4):
        rounded = round(value, digits)
        if rounded != 0 and abs(rounded - value) <= 0.01 * abs(value):
            return f"{rounded:g}"
    return f"{value:.3g}"


def _echo_example(number: int, ex: ChainExample) -> None:
    click.echo(f"{number}. {ex.title}")
    click.echo("   forward:  " + ",  ".join(f"{name} = {value:.4g}" for name, value in ex.forward)
               + f",  L = (a − y)² = {ex.loss:.4g}")
    for weight, factors in ex.chains:
        symbols = " · ".join(f.symbol for f in factors)
        formulas = " · ".join(f.formula for f in factors)
        values = " · ".join(f"{f.value:.4g}" for f in factors)
        short = " · ".join(_short(f.value) for f in factors)
        grad = ex.gradient(weight)
        click.echo(f"   dL/d{weight} = {symbols}")
        click.echo(f"   {' ' * len(weight)}     = {formulas}")
        click.echo(f"   {' ' * len(weight)}     = {values} = {grad:.4g}")
        click.echo(f"   {' ' * len(weight)}     ≈ {short} ≈ {_short(grad)}")
        old = dict(ex.weights)[weight]
        click.echo(f"   update: {weight} ← {weight} − lr·dL/d{weight} = {old:g} − "
                   f"{ex.lr:g}·({grad:.4f}) = {ex.updated(weight):.4f}")
    click.echo("")


@click.command("explain")
@click.option("--depth", type=click.IntRange(1, MAX_DEPTH), default=10, show_default=True,
              help=f"Hidden layers of part 3 (at most {MAX_DEPTH}).")
@click.option("--activation", default="sigmoid", show_default=True, help="Activation of part 3.")
@click.option("--init", default="xavier", show_default=True, help="Initialiser of part 3.")
@click.option("--width", type=click.IntRange(min=1), default=64, show_default=True,
              help="Hidden width of part 3.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of weights and data.")
def command(depth, activation, init, width, seed) -> None:
    """The chain rule with numbers: why gradients vanish or explode.

    \b
    1. One neuron (x = 2, w = 0.5, b = 0, sigmoid, y = 1, L = (a − y)²):
       dL/dw is the product of three local derivatives.
    2. x → h → y: the first weight's gradient collects more factors.
    3. A deep net (--depth, --activation, --init): per layer, the local factor
       by which the gradient norm is multiplied on its way back, and the running
       product, with the mean-field prediction beside it.

    \b
    Example:
      gradscope explain
      gradscope explain --depth 20 --activation relu --init he
    """
    check_memory(chain_memory(depth, width), f"explain --depth {depth} --width {width}",
                 "Use a smaller --width or --depth.")
    rows = deep_chain(depth, activation, init, width, seed)
    _echo_example(1, one_neuron())
    _echo_example(2, two_weights())
    click.echo(f"3. a deep net: {depth} hidden {activation} layers, init {init}, width {width} "
               f"(seed {seed}); δ_l = dL/dh_l of Dense layer l, a batch of 64")
    click.echo("   local = ‖δ_l‖/‖δ_l+1‖ = (through the weights W_l+1ᵀ) × (through φ' of layer l);"
               " running = ‖δ_l‖/‖δ_top‖")
    phi = "φ'×"
    click.echo(f"   {'layer':>5} {'weights×':>9} {phi:>7} {'local':>8} {'theory':>8} "
               f"{'running':>10} {'theory':>10}  log scale (< = ÷10^¼, > = ×10^¼)")
    for r in rows:
        click.echo(f"   {r.layer:>5} {r.weight_factor:>9.3g} {r.act_factor:>7.3g} {r.local:>8.3g} "
                   f"{r.predicted_local:>8.3g} {r.running:>10.3g} {r.predicted_running:>10.3g}  "
                   f"{value_bar(r.running)}")
    last = rows[-1]
    verdict = ("vanishes" if last.running < 1e-2 else
               "explodes" if last.running > 1e2 else "keeps its size")
    click.echo(f"   The gradient reaching layer 0 is {last.running:.3g} × the output layer's: it "
               f"{verdict} on its way back.")
