"""The input → output order of layers logged by name: declared, or read from the W shapes' chain."""

from __future__ import annotations

from gradscope.core.errors import ConfigError

_BUDGET = 100_000  # search steps before an order is called ambiguous


def chain_order(names: list[str], shapes: list[tuple[int, int] | None]) -> list[int]:
    """Indices of `names` input → output such that each layer's fan_out is the next one's
    fan_in; ConfigError when no such chain or more than one exists (never a guess)."""
    n = len(names)
    if n <= 1:
        return list(range(n))
    missing = [name for name, shape in zip(names, shapes, strict=True) if shape is None]
    if missing:
        raise _unknown_order(names, f"no W-shaped array (grad, weight or update) was logged "
                                    f"for {missing}, so their fan_in/fan_out are unknown")
    found: list[list[int]] = []
    budget = [_BUDGET]

    def extend(path: list[int], used: set[int]) -> None:
        if len(found) > 1 or budget[0] <= 0:
            return
        if len(path) == n:
            found.append(list(path))
            return
        fan = shapes[path[-1]][1] if path else None
        for j in range(n):
            budget[0] -= 1
            if j not in used and (fan is None or shapes[j][0] == fan):
                path.append(j)
                used.add(j)
                extend(path, used)
                path.pop()
                used.discard(j)

    extend([], set())
    if len(found) == 1 and budget[0] > 0:
        return found[0]
    shapes_text = ", ".join(f"{name} {shape[0]}→{shape[1]}"  # type: ignore[index]
                            for name, shape in zip(names, shapes, strict=True))
    why = ("no order chains their fan_in → fan_out" if not found
           else "more than one order chains their fan_in → fan_out")
    raise _unknown_order(names, f"{why} ({shapes_text})")


def _unknown_order(names: list[str], why: str) -> ConfigError:
    return ConfigError(
        f"GradientRecorder cannot tell the input → output order of the layers logged by name "
        f"{names}: {why}. Declare it once: GradientRecorder(layers=[...names, input layer "
        f"first...]), or log with integer layer indices (0 = nearest the input)."
    )
