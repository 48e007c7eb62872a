"""Name → object registries with `name:param` parsing and "did you mean" errors."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from gradscope.core.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """A parsed `name[:param]` string, e.g. `normal:0.01` → Spec("normal", 0.01)."""

    name: str
    param: float | None = None

    def __str__(self) -> str:
        return self.name if self.param is None else f"{self.name}:{self.param:g}"


def did_you_mean(word: str, choices: list[str]) -> str:
    """Return ' Did you mean "x"?' for the closest choice, or an empty string."""
    by_case = {c.lower(): c for c in choices}
    if str(word).lower() in by_case:  # RELU → relu
        return f' Did you mean "{by_case[str(word).lower()]}"?'
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f' Did you mean "{close[0]}"?' if close else ""


class Registry(Generic[T]):
    """One registry per concept: the exact strings users type, mapped to objects.

    The CLI choices, config validation, `gradscope list` and the docs all read it.
    """

    def __init__(self, concept: str) -> None:
        self.concept = concept
        self._items: dict[str, T] = {}
        self._help: dict[str, str] = {}
        self._param_ok: dict[str, bool] = {}
        self._shown: dict[str, str] = {}

    def add(self, name: str, obj: T, help: str = "", *, param: bool = False,
            shown: str | None = None) -> None:
        """Register `obj` under `name` (param=True: `name:NUMBER` is accepted too; `shown`: how
        the name is written in help and `gradscope list`, default `name` or `name:X`)."""
        if name in self._items:
            raise ValueError(f"{self.concept} {name!r} is registered twice")
        self._items[name] = obj
        self._help[name] = help
        self._param_ok[name] = param
        self._shown[name] = shown or (f"{name}:X" if param else name)

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._items)

    def help(self, name: str) -> str:
        """The one-line description of `name`."""
        return self._help[name]

    def shown(self, name: str) -> str:
        """How `name` is written for users, e.g. `normal:X`, `csv:PATH`."""
        return self._shown[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def _unknown(self, name: str, key: str | None) -> ConfigError:
        what = f'{key} = "{name}"' if key else f'"{name}"'
        return ConfigError(
            f"Unknown {self.concept} {what}.{did_you_mean(name, self.names())} "
            f"Valid choices: {', '.join(self.names())}."
        )

    def parse(self, text: object, key: str | None = None) -> Spec:
        """Parse `name` or `name:param` and check that the name exists."""
        if not isinstance(text, str):
            raise ConfigError(
                f"{key or self.concept} must be a string naming a {self.concept}, got "
                f"{text!r} ({type(text).__name__}). Valid choices: {', '.join(self.names())}."
            )
        name, sep, raw = text.strip().partition(":")
        if name not in self._items:
            raise self._unknown(name, key)
        if not sep:
            return Spec(name)
        if not self._param_ok[name]:
            raise ConfigError(
                f'{key or self.concept} = "{text}": {self.concept} "{name}" takes no '
                f'parameter after ":". Write just "{name}".'
            )
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(
                f'{key or self.concept} = "{text}": the parameter after ":" must be a number, '
                f'as in "{name}:0.01", not "{raw}".'
            ) from None
        if not value > 0 or value != value or value == float("inf"):
            raise ConfigError(
                f'{key or self.concept} = "{text}": the parameter after ":" must be a positive '
                f"finite number, got {raw}."
            )
        return Spec(name, value)

    def get(self, name: str, key: str | None = None) -> T:
        """The object registered under `name` (no parameter part)."""
        if name not in self._items:
            raise self._unknown(name, key)
        return self._items[name]
