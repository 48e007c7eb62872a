"""The one-sentence headline of a sweep: how many runs went wrong, and which configurations
stayed healthy (read from runs.csv alone)."""

from __future__ import annotations

import pandas as pd

from gradscope.analysis.configurations import combos, fmt_value, label, varying_params

# label → (verb for "N of M runs ...", order in the sentence)
VERBS = {
    "error": "failed with an error",
    "diverged": "diverge",
    "exploding": "explode",
    "vanishing": "vanish",
    "saturated": "saturate",
    "dead": "have dead layers",
    "inconclusive": "are inconclusive",
}


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 seed', '2 seeds' (or the given plural)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def run_labels(runs: pd.DataFrame) -> pd.Series:
    """The diagnosis of each run, with `error` for runs that stopped with an error."""
    diag = runs["diagnosis"].astype(str).where(runs["diagnosis"].notna(), "")
    if "status" in runs.columns:
        diag = diag.mask(runs["status"].astype(str) == "error", "error")
    return diag.replace("", "error")


def _collapse(healthy: set[tuple], configs: set[tuple], keys: list[str]) -> tuple[
        list[str], set[tuple], list[str]]:
    """Drop each key (depth first) over which the healthy set is closed: 'at every depth'."""
    dropped: list[str] = []
    order = [k for k in reversed(keys) if k not in ("activation", "init")]
    for key in order:
        i = keys.index(key)

        def rest(t: tuple, i: int = i) -> tuple:
            return t[:i] + t[i + 1:]

        closed = all(c in healthy for c in configs if any(rest(c) == rest(h) for h in healthy))
        values = {c[i] for c in configs}
        if closed and len(values) > 1:
            healthy = {rest(h) for h in healthy}
            configs = {rest(c) for c in configs}
            keys = keys[:i] + keys[i + 1:]
            dropped.append(key)
    return keys, healthy, dropped


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def headline(runs: pd.DataFrame) -> str:
    """E.g. '16 of 24 runs vanish; relu + he and tanh + he stay healthy at every depth.'"""
    n = len(runs)
    if n == 0:
        return "The sweep has no runs."
    labels = run_labels(runs)
    counts = labels.value_counts()
    bad = [f"{counts[d]} of {n} runs {VERBS[d]}" for d in VERBS if d in counts]
    bad += [f"{counts[d]} of {n} runs are {d}" for d in counts.index
            if d not in VERBS and d != "healthy"]
    if not bad:
        return f"All {plural(n, 'run')} are healthy."
    keys = varying_params(runs)
    healthy_part = "no configuration stays healthy"
    if "healthy" in counts and keys:
        frame = runs.assign(_ok=labels == "healthy")
        by_config = frame.groupby(keys, dropna=False)["_ok"].all()
        configs = {tuple(i) if isinstance(i, tuple) else (i,) for i in by_config.index}
        healthy = {tuple(i) if isinstance(i, tuple) else (i,)
                   for i, ok in by_config.items() if ok}
        if healthy:
            kept, healthy, dropped = _collapse(healthy, configs, list(keys))
            frame_h = pd.DataFrame(sorted(healthy, key=str), columns=kept)
            names = [label(dict(zip(kept, t, strict=True)), kept).replace(", depth ",
                                                                          " at depth ")
                     if kept else "every run" for t in combos(frame_h, kept)]
            every = " at every " + _and(dropped) if dropped and kept else ""
            verb = "stays" if len(names) == 1 else "stay"
            healthy_part = f"{_and(names)} {verb} healthy{every}"
            if len(names) > 4:
                healthy_part = (f"{len(names)} of {len(configs)} configurations stay healthy"
                                f"{every}, among them {names[0]} and {names[-1]}")
        else:
            healthy_part = (f"{counts['healthy']} runs are healthy, but no configuration is "
                            "healthy for every seed")
    elif "healthy" in counts:
        healthy_part = f"{counts['healthy']} are healthy"
    return f"{'; '.join(bad)}; {healthy_part}."


def worst_line(runs: pd.DataFrame) -> str:
    """The run whose layer 0 receives the smallest share of the back-propagated gradient."""
    if "delta_ratio_log10" not in runs.columns:
        return ""
    values = pd.to_numeric(runs["delta_ratio_log10"], errors="coerce")
    if values.notna().sum() == 0 or values.min() >= -2:
        return ""
    row = runs.loc[values.idxmin()]
    keys = varying_params(runs, include_seed=True)
    name = label({k: row[k] for k in keys}, [k for k in keys if k != "seed"])
    seed = f", seed {fmt_value(row['seed'])}" if "seed" in keys else ""
    return (f"Worst: in {name}{seed}, layer 0 receives 10^{values.min():+.1f} of the output "
            "layer's back-propagated gradient at step 0.")
