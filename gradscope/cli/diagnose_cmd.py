"""`gradscope diagnose`: a run's (or a sweep's) pathology, first bad layer, evidence, remedies."""

from __future__ import annotations

from pathlib import Path

import click

from gradscope.cli.options import config_from_options, run_config_options
from gradscope.core.errors import ConfigError
from gradscope.sweeps import run_single
from gradscope.sweeps.config import config_of
from gradscope.sweeps.executor import WorkerLost
from gradscope.sweeps.results import diagnose_sweep
from gradscope.sweeps.tryfix import try_fixes
from gradscope.text.diagnosis import format_diagnosis, format_fixes, format_sweep


@click.command("diagnose")
@run_config_options
@click.option("--from", "from_dir", type=click.Path(path_type=Path), default=None,
              help="Diagnose each configuration of this sweep output folder (from its CSVs, "
                   "aggregated over seeds) instead of a run from flags.")
@click.option("--try-fixes", "fixes", is_flag=True,
              help="Re-run the configuration with each ranked remedy (same steps and seeds) "
                   "and show the measured effect, best first.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes for the runs (0 = in this process) [default: all cores].")
def command(from_dir: Path | None, fixes: bool, workers: int | None,
            **params: object) -> None:
    """Say what is wrong with a network's gradients, where it starts and what fixes it.

    The run given by the flags (the same flags as `gradscope run`) is trained and labelled
    (vanishing, exploding, saturated, dead, diverged, inconclusive or healthy: see `gradscope
    list`), with the first layer where the back-propagated signal leaves the healthy band
    (10^±2 of the output layer's), the evidence in numbers (next to mean-field theory's
    prediction) and the remedies ranked. With --from the runs of a sweep folder are diagnosed
    from its CSVs, one verdict per configuration.

    \b
    Example:
      gradscope diagnose --depth 20 --activation sigmoid --init xavier --try-fixes
      gradscope diagnose --from reports/vanishing
    """
    try:
        if from_dir is not None:
            _refuse_run_flags(params)
            _from_sweep(from_dir, fixes, workers)
            return
        cfg = config_from_options(params)
        result = run_single(cfg)
        s = result.summary
        if s["status"] == "error":
            click.echo(f"run {result.run_id}: {cfg.label()}\nstatus: error\n{s['findings']}")
            raise SystemExit(1)
        found = result.diagnosis
        click.echo(format_diagnosis(found, f"run {result.run_id}: {cfg.label()}, {cfg.optimizer}"
                                           f" lr {cfg.lr:g}, {cfg.steps} steps on {cfg.dataset}"))
        if fixes:
            click.echo("")
            click.echo(format_fixes(try_fixes(cfg, label=found.label, workers=workers,
                                              baseline=result)))
    except WorkerLost as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None


def _refuse_run_flags(params: dict[str, object]) -> None:
    """--from diagnoses the sweep's own runs: a run flag given with it would be ignored."""
    ctx = click.get_current_context()
    given = [k for k in params
             if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE]
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ConfigError(f"{flags} cannot be combined with --from: the runs of a sweep folder "
                          "are diagnosed as they were run. Drop --from to diagnose a new run.")


def _from_sweep(out: Path, fixes: bool, workers: int | None) -> None:
    found = diagnose_sweep(out)
    click.echo(format_sweep(found))
    if not fixes:
        return
    for c in found:
        if c.label == "healthy":
            continue
        cfg = config_of(c.run)
        click.echo("")
        click.echo(f"== {cfg.label()}")
        click.echo(format_fixes(try_fixes(cfg, label=c.label, workers=workers)))

