"""Small shape helpers shared by the built-in networks (no torch import)."""

from __future__ import annotations

from ganzoo.errors import ConfigError


def divisible_start(image_shape: tuple[int, int, int], component: str, divisor: int,
                    offset: int = 0) -> tuple[int, int]:
    """The starting feature-map size ``((H + offset) / divisor, (W + offset) / divisor)``.

    Raises a one-line :class:`ConfigError` when the image size does not fit the network.
    """
    _, height, width = image_shape
    if (height + offset) % divisor or (width + offset) % divisor or height + offset < divisor:
        raise ConfigError(f"{component} needs image height and width h with (h + {offset}) "
                          f"divisible by {divisor}, got {height}×{width}" if offset else
                          f"{component} needs image height and width divisible by {divisor}, "
                          f"got {height}×{width}")
    return (height + offset) // divisor, (width + offset) // divisor
