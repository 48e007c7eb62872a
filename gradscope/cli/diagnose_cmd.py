"""`gradscope diagnose`: a run's (or a sweep's) pathology, first bad layer, evidence, remedies."""

from __future__ import annotations

from pathlib import Path

import click

from gradscope.analysis.diagnosis import diagnose
from gradscope.cli.options import config_from_options, run_config_options
from gradscope.core.errors import ConfigError
from gradscope.report import build_report
from gradscope.sweeps import run_single
from gradscope.sweeps.config import RunConfig, config_of
from gradscope.sweeps.executor import WorkerLost
from gradscope.sweeps.results import diagnose_sweep
from gradscope.sweeps.save import save_recording
from gradscope.sweeps.tryfix import try_fixes
from gradscope.text.diagnosis import format_diagnosis, format_fixes, format_sweep
from gradscope.text.layer_table import layer_table
from gradscope.training.datasets import load_dataset


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
@click.option("--torch", "torch_factory", metavar="MODULE:FACTORY", default=None,
              help="Diagnose YOUR PyTorch model: FACTORY() in MODULE (importable, or a .py path) "
                   "builds it; it is trained with a standard loop on --dataset with --loss, "
                   "--optimizer, --lr, --steps, --batch-size, --clip, --seed (the architecture "
                   "flags --depth, --width, --activation, --init, --bias-init, --norm, "
                   "--residual do not apply). Needs pip install 'gradscope[torch]'.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --torch: also write the run folder (runs.csv, layers.csv, steps.csv, "
                   "manifest.json) and its report.")
@click.option("--force", is_flag=True, help="With --out: replace the results already there.")
def command(from_dir: Path | None, fixes: bool, workers: int | None, torch_factory: str | None,
            out: Path | None, force: bool, **params: object) -> None:
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
      gradscope diagnose --torch mymodels:build_mlp --dataset spirals --steps 200 --out out/mine
    """
    try:
        if torch_factory is not None:
            cfg = config_from_options(params)
            _torch_run(torch_factory, cfg, out, force)
            return
        if out is not None:
            raise ConfigError("--out goes with --torch; `gradscope run --out DIR` writes a "
                              "gradscope run's folder.")
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


TORCH_RUN_FIELDS = ("dataset", "n_samples", "data_seed", "loss", "optimizer", "lr", "steps",
                    "batch_size", "clip", "seed", "record_every")


def _torch_run(spec: str, cfg: RunConfig, out: Path | None, force: bool) -> None:
    try:
        import torch

        from gradscope.torch import load_model, train_torch, watch
    except ImportError:
        raise ConfigError("--torch needs PyTorch: pip install 'gradscope[torch]'.") from None
    torch.manual_seed(cfg.seed)
    model = load_model(spec)
    rec = watch(model, every=cfg.record_every)
    try:
        data = load_dataset(cfg.dataset, n=cfg.n_samples, seed=cfg.data_seed,
                            **cfg.dataset_options())
        history = train_torch(model, data, loss=cfg.loss, optimizer=cfg.optimizer, lr=cfg.lr,
                              steps=cfg.steps, batch_size=cfg.batch_size, seed=cfg.seed,
                              clip=cfg.clip or None)
        layers = rec.to_frame()
        theory = rec.theory_inputs(data.X)  # activation (when known) and q_in, for the theory
    finally:
        rec.detach()
    params = {"model": spec, **theory, **{k: getattr(cfg, k) for k in TORCH_RUN_FIELDS}}
    steps = history.to_frame()
    head = (f"model {spec} ({type(model).__name__}, {len(rec.layer_names)} recorded modules): "
            f"{cfg.optimizer} lr {cfg.lr:g}, {cfg.steps} steps on {cfg.dataset}")
    if out is not None:
        found = save_recording(out, layers, steps, params=params, name=spec,
                               status=history.status, final_loss=history.final_loss,
                               final_accuracy=history.final_accuracy,
                               first_nonfinite_step=history.first_nonfinite_step, force=force)
    else:
        found = diagnose(layers, steps, params, status=history.status,
                         first_nonfinite_step=history.first_nonfinite_step,
                         final_loss=history.final_loss, final_accuracy=history.final_accuracy)
    click.echo(head)
    click.echo("per-layer gradients at step 0 (layer 0 = nearest the input):")
    click.echo(layer_table(layers, 0))
    click.echo(format_diagnosis(found))
    if out is not None:
        click.echo(f"wrote {out}/runs.csv, layers.csv, steps.csv, manifest.json")
        click.echo(f"report: {build_report(out)}")


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

