"""Where training batches come from: real images and latent vectors, drawn on the device.

Indices and latents use a dedicated random generator, seeded by the run's seed and identical
on every rank of a distributed run. Each rank draws the *global* batch and keeps its own
shard, so N ranks with per-rank batch B see exactly the samples one process with batch N·B
would see (weights match up to float rounding), and resuming restores this generator too.
Everything else random (initialisation, dropout, trick noise) uses the global torch RNG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ganzoo.components import Batch
from ganzoo.latent import draw_sources, latent_parts, sample_latent

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DataField:
    """A further field of the data (:attr:`ganzoo.Batch.fields`): its values on the device, and
    whether they are paired with the images (drawn with their indices) or drawn on their own."""

    values: torch.Tensor
    paired: bool = False


class BatchSampler:
    """Draws per-rank shards of global real and latent batches; no DataLoader, no host sync.
    ``labels`` (one class index per image, on the data's device) travel with their images;
    ``fields`` are drawn with them (paired) or from their own indices (unpaired), all from the
    one generator, so a resumed run draws the same batches."""

    def __init__(self, data: torch.Tensor, batch_size: int, latent_dim: int, seed: int,
                 latent_distribution: str = "normal", rank: int = 0, world_size: int = 1,
                 labels: torch.Tensor | None = None, fields: Mapping[str, DataField] | None = None,
                 translate_from: str = "") -> None:
        """``translate_from`` names the field a translating generator's inputs are drawn from
        (instead of latents)."""
        import torch

        self.data, self.batch_size, self.latent_dim = data, batch_size, latent_dim
        self.labels = labels
        self.fields = dict(fields or {})
        self.latent_distribution = latent_distribution
        self.latent_parts = latent_parts(latent_distribution, latent_dim)  # resolved once, not every step
        self.rank, self.world_size = rank, world_size
        self.sources = self.fields[translate_from].values if translate_from else None
        self.rng = torch.Generator(device=data.device)
        self.rng.manual_seed(seed)

    def _shard(self, batch: torch.Tensor) -> torch.Tensor:
        size = batch.shape[0] // self.world_size
        return batch[self.rank * size:(self.rank + 1) * size]

    def batch(self) -> Batch:
        """This rank's shard of a global batch of real images, with their labels when the data
        has them (drawn with replacement)."""
        import torch

        size = (self.batch_size * self.world_size,)
        index = torch.randint(self.data.shape[0], size, device=self.data.device, generator=self.rng)
        fields = {}
        for name, field in self.fields.items():
            own = index if field.paired else torch.randint(
                field.values.shape[0], size, device=self.data.device, generator=self.rng)
            fields[name] = field.values[self._shard(own)]
        index = self._shard(index)
        return Batch(self.data[index], None if self.labels is None else self.labels[index], fields)

    def real(self) -> torch.Tensor:
        """The images of :meth:`batch`."""
        return self.batch().images

    def latent(self, n: int) -> torch.Tensor:
        """This rank's shard of ``n × world_size`` generator inputs: latent vectors, or images of
        the ``translate_from`` field drawn uniformly (apart from the batch's own draw of it)."""
        if self.sources is not None:
            return self._shard(draw_sources(self.sources, n * self.world_size, generator=self.rng))
        z = sample_latent(n * self.world_size, self.latent_dim, self.latent_parts, self.data.device, self.rng)
        return self._shard(z)

    def class_labels(self, n: int, num_classes: int) -> torch.Tensor:
        """This rank's shard of ``n × world_size`` classes drawn uniformly (what a conditional
        generator is asked for)."""
        import torch

        labels = torch.randint(num_classes, (n * self.world_size,), device=self.data.device, generator=self.rng)
        return self._shard(labels)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.set_state(state["rng"])
