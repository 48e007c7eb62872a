"""An output folder's safety: never replace another config's results, one writer at a time.

`claim_output(out, run_ids, force=...)` is called before anything is written to a sweep's (or a
run's) folder. It refuses (ConfigError, exit 2) a folder whose results belong to a different set
of runs, or whose results could not be resumed (e.g. the committed reports, which keep no part
files), unless `force` — which removes gradscope's own files there (parts/, the CSVs, manifest,
plots/, report.*) and nothing else. The same config resumes, and so does a config that adds
runs to it (every run already there is kept); one that would drop runs is refused.

`OutputLock(out)` holds `out/.gradscope.lock` (created with O_EXCL; it names the pid, command and
start time of its holder). A second writer is refused with that information; a lock whose
process is gone (same host, dead pid) is taken over.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gradscope.core.errors import ConfigError

LOCK_NAME = ".gradscope.lock"
RESULT_FILES = ("runs.csv", "layers.csv", "steps.csv", "hist.csv", "manifest.json",
                "report.md", "report.html")
RESULT_DIRS = ("parts", "plots")


def check_out_path(out: str | Path | None, flag: str = "--out") -> Path:
    """`out` as a Path; an empty string (which would mean the current folder) is refused."""
    if out is None or str(out).strip() == "":
        raise ConfigError(f"{flag} '' is empty; give the folder to write to (e.g. {flag} "
                          "out/mysweep). The current folder is never used implicitly.")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} is a file; give a folder for the outputs.")
    _check_writable(path, flag)
    return path


def _check_writable(path: Path, flag: str) -> None:
    """Refuse a folder that cannot be created or written (before any run starts)."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} cannot be created: {str(probe)!r} is a file, "
                          "not a folder.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {str(path)!r} is not writable: permission denied on "
                          f"{str(probe)!r}. Choose a folder you can write to.")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _runs_csv_ids(path: Path) -> list[str]:
    """The run_id column of a runs.csv (first field of each line after the header)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    if not lines or not lines[0].startswith("run_id"):
        return []
    return sorted({line.split(",", 1)[0] for line in lines[1:] if line.strip()})


def existing_results(out: Path) -> tuple[list[str], str]:
    """The run ids whose results `out` holds, and the name of what holds them."""
    manifest = _read_json(out / "manifest.json")
    ids = manifest.get("run_ids")
    if isinstance(ids, list) and all(isinstance(i, str) for i in ids):
        return sorted(ids), f"sweep {manifest.get('name', '?')!r} (manifest.json)"
    if (out / "runs.csv").is_file():
        return _runs_csv_ids(out / "runs.csv"), "runs.csv"
    parts = out / "parts"
    if parts.is_dir():
        return sorted(p.stem for p in parts.glob("*.npz")), "parts/"
    return [], ""


def claim_output(out: Path, run_ids: Iterable[str], *, force: bool = False,
                 resumable: Iterable[str] = (), command: str = "the same command") -> None:
    """Refuse to write `run_ids` into `out` when it holds other results (unless `force`).

    `resumable`: the run ids whose part files `out` holds (those are resumed, not re-run).
    """
    if not out.is_dir():
        return
    wanted = sorted(set(run_ids))
    have, what = existing_results(out)
    if not have:
        return
    if force:
        remove_results(out)
        return
    if not set(have) <= set(wanted):  # a superset extends the sweep: every old run is kept
        common = len(set(have) & set(wanted))
        raise ConfigError(
            f"{out} already holds the results of another config: {what}, {len(have)} runs "
            f"({common} of them in common with the {len(wanted)} runs asked for now). Nothing "
            f"was written. To resume that sweep, run it again with its own config; to keep both, "
            f"choose another --out; to replace those results, add --force.")
    unsaved = sorted(set(have) - set(resumable))
    parts = out / "parts"
    csv_only = not (parts.is_dir() and any(parts.glob("*.npz")))  # e.g. a committed report
    if unsaved and csv_only and (out / "runs.csv").is_file():
        raise ConfigError(
            f"{out} already holds the results of this config ({what}), but {len(unsaved)} of its "
            f"{len(have)} runs have no part file to resume from (committed reports keep only "
            f"the CSVs), so running would recompute and replace them. Nothing was written. Add "
            f"--force to recompute them, or choose another --out.")


def remove_results(out: Path) -> None:
    """Remove gradscope's own outputs from `out` (never any other file)."""
    for name in RESULT_FILES:
        (out / name).unlink(missing_ok=True)
    for name in RESULT_DIRS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class OutputLock:
    """`out/.gradscope.lock` while this process writes to `out` (a context manager)."""

    def __init__(self, out: str | Path) -> None:
        self.path = Path(out) / LOCK_NAME
        self.held = False

    def _info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "host": socket.gethostname(),
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300],
                "since": _now()}

    def acquire(self) -> None:
        """Take the lock, or raise ConfigError naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_json(self.path)
                pid = holder.get("pid")
                same_host = holder.get("host") in (None, socket.gethostname())
                if isinstance(pid, int) and pid == os.getpid():
                    raise ConfigError(f"{self.path.parent} is already being written by this "
                                      "process.") from None
                if isinstance(pid, int) and same_host and not _pid_alive(pid):
                    self.path.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                if not holder:  # being written this instant, or its writer died: look again
                    if _stale_empty(self.path):
                        self.path.unlink(missing_ok=True)
                    else:
                        time.sleep(0.2)
                    continue
                raise ConfigError(
                    f"{self.path.parent} is being written by another gradscope process (pid "
                    f"{pid}, `{holder.get('command', '?')}`, since {holder.get('since', '?')}"
                    f"{'' if same_host else ', on host ' + str(holder.get('host'))}). Wait for "
                    f"it to finish, or choose another --out. If that process no longer exists, "
                    f"delete {self.path}.") from None
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                    raise ConfigError(f"Cannot write to {self.path.parent}: {exc.strerror}. "
                                      "Choose a folder you can write to.") from None
                raise
            with os.fdopen(fd, "w") as fh:
                json.dump(self._info(), fh)
            self.held = True
            return
        raise ConfigError(f"Could not take the lock {self.path}; delete it if no gradscope "
                          "process is writing there.")

    def release(self) -> None:
        """Remove the lock file if this process holds it."""
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _stale_empty(path: Path) -> bool:
    """An empty/unreadable lock older than 10 s: its writer died between create and write."""
    try:
        age = dt.datetime.now().timestamp() - path.stat().st_mtime
    except OSError:
        return False
    return age > 10.0
