"""Find a sweep config: a path, or the name of a bundled experiment (`gradscope sweep vanishing`).

The experiment TOMLs have one home, the top-level `experiments/` folder. An installed wheel
ships them inside the package as `gradscope/experiments/*.toml`; in a source checkout (editable
install) they are read from the folder itself.
"""

from __future__ import annotations

from pathlib import Path

from gradscope.core.errors import ConfigError
from gradscope.core.registry import did_you_mean


def _folders() -> list[Path]:
    """Folders that may hold bundled experiments, installed package data first."""
    package = Path(__file__).resolve().parents[1]  # the gradscope package folder
    folders = [package / "experiments", package.parent / "experiments"]  # wheel, checkout
    return [f for f in folders if f.is_dir()]


def bundled_experiments() -> dict[str, Path]:
    """Name → path of every bundled experiment config."""
    found: dict[str, Path] = {}
    for folder in _folders():
        for path in sorted(folder.glob("*.toml")):
            found.setdefault(path.stem, path)
    return found


def find_config(config: str | Path) -> Path:
    """The TOML file for `config`: an existing path, else a bundled experiment's name."""
    path = Path(config).expanduser()
    if path.is_file():
        return path
    if str(config).strip() == "":
        raise ConfigError("CONFIG '' is empty; give a TOML file or a bundled experiment's name.")
    if path.is_dir():
        raise ConfigError(f"Config {str(config)!r} is a folder; give a TOML file inside it or a "
                          f"bundled experiment's name.")
    bundled = bundled_experiments()
    if path.suffix == ".toml" and (len(path.parts) > 1 or path.stem not in bundled):
        raise ConfigError(f"Config file {str(config)!r} does not exist (from the folder "
                          f"{Path.cwd()}). Bundled experiments: {', '.join(sorted(bundled))}.")
    name = path.stem if path.suffix == ".toml" and len(path.parts) == 1 else str(config)
    if name in bundled:
        return bundled[name]
    names = sorted(bundled)
    raise ConfigError(
        f"Config {str(config)!r} is neither an existing file nor a bundled experiment."
        f"{did_you_mean(name, names)} Bundled experiments: {', '.join(names) or '(none found)'}."
    )
