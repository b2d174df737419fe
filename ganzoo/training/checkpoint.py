"""Checkpoints: everything needed to resume a run exactly, written atomically.

A checkpoint holds both networks, both optimizers, each trick's state (e.g. EMA weights), the
step, every random-number-generator state (torch CPU and CUDA, Python, NumPy), the fixed
latent batch used for sample grids, the resolved config and recipe, and the versions of
ganzoo, torch and every plugin the recipe uses.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.atomic import write_atomically
from ganzoo.errors import CheckpointError
from ganzoo.version import __version__

if TYPE_CHECKING:
    from ganzoo.build import GAN

FORMAT_VERSION = 1


def capture_rng_states() -> dict[str, Any]:
    import numpy as np
    import torch

    states: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate(),
                              "numpy": np.random.get_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    if "cuda" in states and torch.cuda.is_available():
        cuda_states = states["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def component_versions(gan: GAN) -> dict[str, Any]:
    """ganzoo, torch and the distribution+version of every plugin the recipe uses."""
    import torch

    from ganzoo.plugins import get_registry

    registry = get_registry()
    variant = gan.variant
    used = [("generator", variant.generator), ("discriminator", variant.discriminator),
            ("loss", variant.loss), *(("trick", name) for name in variant.tricks)]
    plugins: dict[str, str] = {}
    for kind, name in used:
        plugin = registry.component(kind, name).plugin
        if plugin is not None:
            plugins[plugin.name] = f"{plugin.distribution or '?'} {plugin.version or '?'}"
    if variant.plugin is not None:
        plugins[variant.plugin.name] = f"{variant.plugin.distribution or '?'} {variant.plugin.version or '?'}"
    return {"ganzoo": __version__, "torch": torch.__version__, "plugins": plugins}


def gan_state(gan: GAN) -> dict[str, Any]:
    from ganzoo.training.distributed import unwrap

    # Bare modules: a checkpoint from a DDP run loads in a single process and vice versa.
    return {
        "generator": unwrap(gan.generator).state_dict(),
        "discriminator": unwrap(gan.discriminator).state_dict(),
        "g_optimizer": gan.g_optimizer.state_dict(),
        "d_optimizer": gan.d_optimizer.state_dict(),
        "tricks": {type(t).__name__ + ":" + str(i): t.state_dict() for i, t in enumerate(gan.tricks)},
    }


def load_gan_state(gan: GAN, state: dict[str, Any], weights_only: bool = False) -> None:
    """Restore networks (and, unless ``weights_only``, optimizers); tricks always."""
    from ganzoo.training.distributed import unwrap

    unwrap(gan.generator).load_state_dict(state["generator"])
    unwrap(gan.discriminator).load_state_dict(state["discriminator"])
    if not weights_only:
        gan.g_optimizer.load_state_dict(state["g_optimizer"])
        gan.d_optimizer.load_state_dict(state["d_optimizer"])
    for i, trick in enumerate(gan.tricks):
        key = type(trick).__name__ + ":" + str(i)
        if key in state["tricks"]:
            trick.load_state_dict(state["tricks"][key])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the format version) atomically with ``torch.save``."""
    import torch

    payload = {"format": FORMAT_VERSION, **payload}
    buffer = io.BytesIO()
    torch.save(payload, buffer)  # serialise first: a failure here never touches the old file
    data = buffer.getvalue()
    return write_atomically(path, lambda handle: handle.write(data))


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint; anything unreadable is a one-line :class:`CheckpointError`."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint does not exist")
    try:
        # Our checkpoints hold RNG states (tuples, numpy arrays): not loadable with weights_only.
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, OSError) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: "
                              f"{' '.join(str(err).split())[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: not a ganzoo checkpoint of format {FORMAT_VERSION}")
    return payload
