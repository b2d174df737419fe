"""Turning a recipe into live objects: networks, loss, tricks and optimizers on a device.

This is the only core module that imports torch, and only when something is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ganzoo.checks import call_factory, eval_mode, probe_discriminator, probe_generator
from ganzoo.device import resolve_device
from ganzoo.components import STEP_POINTS, Loss, StepState, Trick, Update
from ganzoo.errors import CompositionError, ConfigError
from ganzoo.latent import draw_sources, sample_latent
from ganzoo.optimizers import make_optimizer
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.specs import ComponentSpec, Phase, Variant

if TYPE_CHECKING:
    import torch
    from torch import nn

DEFAULT_IMAGE_SHAPE: tuple[int, int, int] = (1, 28, 28)


def resolve_variant(variant: str | Variant, registry: Registry | None = None,
                    **overrides: Any) -> Variant:
    """A registered (or given) variant with ``overrides`` applied and its composition checked.

    When ``generator``/``discriminator``/``loss`` is replaced, that component's parameters are
    dropped unless new ones are given too: parameters rarely carry over between networks.
    """
    registry = registry or get_registry()
    base = registry.variant(variant) if isinstance(variant, str) else variant
    changes = dict(overrides)
    for part in ("generator", "discriminator", "loss"):
        if part in changes and changes[part] != getattr(base, part) and f"{part}_params" not in changes:
            changes[f"{part}_params"] = {}
    resolved = base.replace(**changes) if changes else base
    registry.check_composition(resolved)
    check_declared_points(resolved, registry)
    return resolved


def check_declared_points(variant: Variant, registry: Registry,
                          tricks: Sequence[Trick] | None = None) -> None:
    """When every update of ``variant``'s step declares its trick points: refuse a trick that
    acts at none of them (:func:`check_trick_points`; ``tricks``: the built ones, else built
    here, which is cheap). Undeclared updates are checked by the step after their first run."""
    declared = [registry.component("update", phase.update).points for phase in variant.step_phases()]
    if any(points is None for points in declared):
        return
    if tricks is None:
        tricks = [call_factory(registry.component("trick", name), **params) for name, params in variant.tricks.items()]
    check_trick_points(variant, tricks, (p for points in declared for p in points or ()))


@dataclass
class TrainedGenerator:
    """What drawing samples needs: the generator and the tricks that may provide the one to
    sample from (e.g. EMA). ``ganzoo sample``/``eval`` build only this (:func:`build_generator`).
    ``networks`` maps role names to modules (here only ``generator``); ``conditioned`` names
    the roles whose networks take class labels, ``num_classes`` how many there are."""

    variant: Variant
    image_shape: tuple[int, int, int]
    networks: dict[str, nn.Module]
    tricks: list[Trick]
    device: torch.device
    num_classes: int | None = field(default=None, kw_only=True)
    conditioned: frozenset[str] = field(default=frozenset(), kw_only=True)
    classifier: bool = field(default=False, kw_only=True)
    """Whether the discriminator also classifies (returns ``(scores, class logits)``)."""
    class_names: tuple[str, ...] | None = field(default=None, kw_only=True)
    """The name of each class (the data's: subfolder names, ``"0"`` … for numeric labels),
    when known; set by whoever knows the data (the trainer, a run's checkpoint)."""
    sources: torch.Tensor | None = field(default=None, kw_only=True)
    """The images a translating generator's inputs are drawn from (the ``translate_from``
    field), on the GAN's device; set by whoever has them (the trainer, ``sample --input``,
    :func:`ganzoo.runs.checkpoint.load_sources`). None for a latent generator."""

    @property
    def translates(self) -> bool:
        """Whether the generator maps images (of the ``translate_from`` field) to images."""
        return bool(self.variant.translate_from)

    @property
    def conditional(self) -> bool:
        """Whether the generator draws a requested class."""
        return "generator" in self.conditioned

    def run(self, role: str, net: nn.Module, inputs: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """``net`` (the network of ``role``, or a wrapper or average of it) on ``inputs``, with
        ``labels`` when that role is conditional: the one place that knows how to call one."""
        return net(inputs, labels) if role in self.conditioned else net(inputs)

    def discriminate(self, net: nn.Module, images: torch.Tensor,
                     labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The discriminator ``net`` (or a wrapper of it) on ``images`` (of classes ``labels``):
        one score per image, flat, and the class logits of a classifying one (else None)."""
        out = self.run("discriminator", net, images, labels)
        scores, logits = out if self.classifier else (out, None)
        return scores.reshape(-1), logits

    def class_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """``n`` classes drawn uniformly for a conditional generator (None otherwise)."""
        import torch

        if not self.conditional:
            return None
        assert self.num_classes is not None
        return torch.randint(self.num_classes, (n,), device=self.device, generator=generator)

    def _generator_inputs(self, n: int, rng: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        """The generator's arguments for ``n`` random samples: its inputs, and classes if conditional."""
        z = self.sample_inputs(n, generator=rng)
        return (z, self.class_labels(n, rng)) if self.conditional else (z,)

    def requested_labels(self, n: int, labels: Any = None) -> torch.Tensor | None:
        """The labels to draw ``n`` samples of: ``labels`` (one class for all, or one per
        sample) checked against the classes, or each class in turn; None when unconditional.
        A label for an unconditional generator or out of range is a one-line ConfigError."""
        import torch

        if not self.conditional:
            if labels is not None:
                raise ConfigError(f"variant {self.variant.name!r} is not conditional: it cannot draw a requested class")
            return None
        assert self.num_classes is not None
        if labels is None:
            return torch.arange(n, device=self.device) % self.num_classes
        wanted = torch.as_tensor(labels, dtype=torch.int64, device=self.device).reshape(-1)
        if wanted.numel() == 1:
            wanted = wanted.expand(n)
        if wanted.numel() != n:
            raise ConfigError(f"{wanted.numel()} class labels for {n} samples: give one, or one per sample")
        outside = wanted[(wanted < 0) | (wanted >= self.num_classes)]
        if outside.numel():
            raise ConfigError(f"class {int(outside[0])} is out of range: the run has classes 0..{self.num_classes - 1}")
        return wanted

    def class_indices(self, wanted: Sequence[str]) -> list[int]:
        """Class indices from names or indices (``["cat", "2"]``): a class name first, then an
        integer; an unknown one is a one-line ConfigError listing the names."""
        names = self.class_names or ()
        indices = []
        for item in wanted:
            item = item.strip()
            if item in names:
                indices.append(names.index(item))
                continue
            try:
                index = int(item)
            except ValueError:
                known = f"the run's classes are {', '.join(names)}" if names else "give class indices"
                raise ConfigError(f"class {item!r} is not a class name or index: {known}") from None
            if self.num_classes is not None and not 0 <= index < self.num_classes:  # before int64 overflows
                raise ConfigError(f"class {index} is out of range: the run has classes 0..{self.num_classes - 1}")
            indices.append(index)
        return indices

    def grid_labels(self, n: int) -> tuple[torch.Tensor | None, int | None]:
        """The classes of an ``n``-image sample grid and its images per row: for a conditional
        generator one row per class, in order (``ceil(n / classes)`` images each); ``(None,
        None)`` otherwise (a square-ish grid)."""
        import torch

        if not self.conditional:
            return None, None
        assert self.num_classes is not None
        per_row = -(-n // self.num_classes)
        return torch.arange(n, device=self.device) // per_row, per_row

    @property
    def generator(self) -> nn.Module:
        return self.networks["generator"]

    @property
    def latent_dim(self) -> int:
        return self.variant.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator | None = None,
                      truncation: float | None = None, codes: Mapping[str, Any] | None = None) -> torch.Tensor:
        """``n`` latent vectors from the variant's latent distribution, on the GAN's device
        (truncated at ``truncation``, parts fixed by ``codes``: see
        :func:`ganzoo.latent.sample_latent`)."""
        return sample_latent(n, self.latent_dim, self.variant.latent_distribution, self.device, generator,
                             truncation, codes)

    def sample_inputs(self, n: int, generator: torch.Generator | None = None, truncation: float | None = None,
                      codes: Mapping[str, Any] | None = None, device: torch.device | str | None = None) -> torch.Tensor:
        """``n`` inputs of the generator on ``device`` (default the GAN's): latents
        (:meth:`sample_latent`), or for a translating generator images drawn uniformly from
        :attr:`sources` with ``generator``. Truncation and fixed codes are latent settings: a
        translating generator refuses them in one line."""
        device = self.device if device is None else device
        if not self.translates:
            return sample_latent(n, self.latent_dim, self.variant.latent_distribution, device, generator,
                                 truncation, codes)
        field = self.variant.translate_from
        if truncation is not None or codes:
            raise ConfigError(f"variant {self.variant.name!r} translates images of field {field!r}: it has no "
                              f"latent to truncate or fix parts of")
        if self.sources is None or self.sources.shape[0] < 1:
            raise ConfigError(f"variant {self.variant.name!r} translates images of field {field!r} and none are "
                              f"given: give the images to translate (sample --input SOURCE)")
        return draw_sources(self.sources, n, device, generator)

    def sampling_generator(self) -> nn.Module:
        """The generator to draw samples from: a trick's (e.g. EMA) if one provides it, with its
        BatchNorm statistics recomputed for its own weights (:mod:`ganzoo.standing_stats`);
        otherwise the trained generator as it is."""
        from ganzoo.standing_stats import recompute_batchnorm_statistics

        for trick in self.tricks:
            module = trick.sampling_generator()
            if module is not None:
                recompute_batchnorm_statistics(module, self._generator_inputs, self.device)
                return module
        return self.generator

    def generate(self, n: int, seed: int | None = None, batch_size: int = 500,
                 labels: Any = None, truncation: float | None = None,
                 codes: Mapping[str, Any] | None = None) -> torch.Tensor:
        """``n`` samples in [-1, 1] on the CPU, in eval mode; reproducible with ``seed`` (a
        translating generator: of ``n`` images drawn from :attr:`sources`). A
        conditional generator draws the classes in ``labels`` (one for all, or one per sample;
        default: each class in turn). ``truncation``: the truncation trick; ``codes``: latent
        parts fixed by name (see :func:`ganzoo.latent.sample_latent`)."""
        import torch

        wanted = self.requested_labels(n, labels)
        rng = None
        if seed is not None:
            rng = torch.Generator(device=self.device)
            rng.manual_seed(seed)
        return self.draw(self.sample_inputs(n, generator=rng, truncation=truncation, codes=codes), wanted, batch_size)

    def draw(self, latents: torch.Tensor, labels: torch.Tensor | None = None,
             batch_size: int = 500) -> torch.Tensor:
        """The sampling generator's images (in [-1, 1], on the CPU, eval mode) of given
        ``latents`` (a translating generator: of given images; and, when conditional,
        ``labels``: one class per latent)."""
        import torch

        net = self.sampling_generator()
        chunks = []
        with torch.no_grad(), eval_mode(net):
            for start in range(0, latents.shape[0], batch_size):
                z = latents[start:start + batch_size].to(self.device)
                chunk = None if labels is None else labels[start:start + z.shape[0]].to(self.device)
                chunks.append(self.run("generator", net, z, chunk).float().clamp_(-1, 1).cpu())
        return torch.cat(chunks) if chunks else torch.empty(0, *self.image_shape)


@dataclass(frozen=True)
class BuiltPhase:
    """A phase of the variant's step with its built update, the roles that update trains and
    the trick points it calls (None: it does not say)."""

    phase: Phase
    update: Update
    roles: tuple[str, ...]
    points: tuple[str, ...] | None = None


def check_trick_points(variant: Variant, tricks: Sequence[Trick], reached: Iterable[str],
                     undeclared: Sequence[str] = ()) -> None:
    """Refuse (one-line :class:`CompositionError`) a trick of ``variant`` that acts at step
    points, none of which the step reaches (``reached``: the points its updates call): it would
    do nothing, and the run would still be labelled "with" it. ``undeclared`` names updates
    whose points were observed in a first step rather than declared, for the message."""
    reached = set(reached)
    for name, trick in zip(variant.tricks, tricks):
        points = trick.step_points()
        if not points or reached & set(points):
            continue
        where = "" if variant.name == "custom" else f"variant {variant.name!r}: "
        calls = ", ".join(p for p in STEP_POINTS if p in reached) or "none"
        how = (f" (observed in the first step: update {', '.join(map(repr, undeclared))} declares no points)"
               if undeclared else "")
        raise CompositionError(
            f"{where}trick {name!r} acts at {', '.join(points)}, which no update of this step calls "
            f"(they call: {calls}){how}; it would do nothing: drop it with --no-trick {name}")


@dataclass
class GAN(TrainedGenerator):
    """A built variant: a network and an optimizer per role (:meth:`Variant.role_names`), the
    loss, the tricks, and the step's phases with their updates."""

    loss: Loss
    optimizers: dict[str, torch.optim.Optimizer]
    phases: list[BuiltPhase]

    @property
    def discriminator(self) -> nn.Module:
        return self.networks["discriminator"]

    @property
    def g_optimizer(self) -> torch.optim.Optimizer:
        return self.optimizers["generator"]

    @property
    def d_optimizer(self) -> torch.optim.Optimizer:
        return self.optimizers["discriminator"]

    def scorer(self, networks: Mapping[str, nn.Module], state: StepState) -> Callable[..., torch.Tensor]:
        """``StepState.score`` for the tricks: the discriminator of ``networks`` (the step's,
        e.g. DDP-wrapped), given ``labels`` (by default ``state.labels``, the running update's
        real batch's) when it is conditional."""
        discriminator = networks["discriminator"]
        conditional = "discriminator" in self.conditioned

        def score(images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            if labels is None:
                labels = state.labels
            if conditional and (labels is None or labels.shape[0] != images.shape[0]):
                # Never pair images with another batch's classes: a mismatch would broadcast
                # or fail deep inside the network.
                have = "no labels" if labels is None else f"{labels.shape[0]} labels"
                raise ValueError(f"score(): the discriminator is conditional and got {images.shape[0]} "
                                 f"images with {have}; pass their classes: score(images, labels) "
                                 f"(state.labels for the real batch, state.fake_labels for the generated one)")
            return self.discriminate(discriminator, images, labels)[0]

        return score


def _check_image_shape(image_shape: Any) -> tuple[int, int, int]:
    try:
        shape = tuple(int(x) for x in image_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError(f"image shape must be (channels, height, width), got {image_shape!r}")
    return shape  # type: ignore[return-value]


def _classes_for(variant: Variant, conditioned: frozenset[str], num_classes: int | None) -> int | None:
    """The number of classes a conditional recipe's networks get (checked); None otherwise."""
    if not conditioned:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        roles = " and ".join(sorted(conditioned))
        raise ConfigError(f"variant {variant.name!r} is conditional (its {roles} take class labels): it needs "
                          f"labelled data and the number of classes (num_classes), got {num_classes!r}")
    return num_classes


def _role_arguments(kind: str, spec: ComponentSpec, variant: Variant, shape: tuple[int, int, int],
                    classes: int | None) -> tuple[Any, ...]:
    """The positional arguments a factory of ``kind`` gets (the contract of its hook):
    generators and further networks ``(image_shape, latent_dim[, num_classes])`` (a translating
    generator ``(image_shape,)``), discriminators
    ``(image_shape[, latent_dim])`` for images or (image, latent) pairs, ``(image_shape,
    num_classes)`` when conditional or classifying."""
    labelled = (classes,) if spec.conditional or spec.classifier else ()
    if kind == "discriminator":
        return (shape, variant.latent_dim) if "latent" in spec.inputs else (shape, *labelled)
    if spec.translates:
        return (shape,)
    return (shape, variant.latent_dim, *labelled)


def _build_role(role: str, variant: Variant, shape: tuple[int, int, int], device: torch.device,
                registry: Registry, classes: int | None, built: Mapping[str, nn.Module]) -> nn.Module:
    """``role``'s network on ``device``, probed where its kind has a contract to check: a
    generator's images, a discriminator's scores (``built``: the roles built before it, for a
    role built on one of them)."""
    kind, name, params = variant.role_network(role)
    spec = registry.component(kind, name)
    base = variant.roles[role].base if role in variant.roles else None
    extra = {"base": built[base]} if base else {}
    net = call_factory(spec, *_role_arguments(kind, spec, variant, shape, classes), **extra, **params).to(device)
    labelled = classes if spec.conditional or spec.classifier else None
    if kind == "generator":
        probe_generator(spec, net, variant, shape, device, labelled)
    elif kind == "discriminator":
        probe_discriminator(spec, net, shape, device, variant if "latent" in spec.inputs else None, labelled)
    return net


def build_gan(variant: Variant, image_shape: tuple[int, int, int] = DEFAULT_IMAGE_SHAPE,
              device: str | torch.device = "cpu", registry: Registry | None = None,
              num_classes: int | None = None) -> GAN:
    """Build every part of ``variant`` on ``device`` (composition is checked first); a
    conditional recipe needs ``num_classes``."""
    registry = registry or get_registry()
    registry.check_composition(variant)
    shape = _check_image_shape(image_shape)
    dev = resolve_device(device)
    conditioned = registry.conditioned_roles(variant)
    classes = _classes_for(variant, conditioned, num_classes)
    networks: dict[str, nn.Module] = {}
    for role in variant.role_names():
        networks[role] = _build_role(role, variant, shape, dev, registry, classes, networks)
    registry.check_network_tags(variant, {role: getattr(net, "tags", ()) for role, net in networks.items()})
    loss = call_factory(registry.component("loss", variant.loss), **variant.loss_params)
    tricks = []
    for name, params in variant.tricks.items():
        trick = call_factory(registry.component("trick", name), **params)
        trick.setup_networks(networks)
        tricks.append(trick)
    phases = []
    for phase in variant.step_phases():
        spec = registry.component("update", phase.update)
        phases.append(BuiltPhase(phase, call_factory(spec, **phase.params), spec.roles, spec.points))
    check_declared_points(variant, registry, tricks)
    owned = own_parameters(networks)
    for role, params in owned.items():
        if not params:
            raise ConfigError(f"variant {variant.name!r}: role {role!r} has no parameters of its own to train "
                              f"(all of them are {variant.roles[role].base!r}'s)" if role in variant.roles else
                              f"variant {variant.name!r}: the {role} has no parameters to train")
    optimizers = {role: make_optimizer(owned[role], variant.optimizer(role), dev) for role in networks}
    return GAN(variant=variant, image_shape=shape, networks=networks, loss=loss, tricks=tricks,
               optimizers=optimizers, phases=phases, device=dev, num_classes=classes, conditioned=conditioned,
               classifier=registry.component("discriminator", variant.discriminator).classifier)


def own_parameters(networks: Mapping[str, nn.Module]) -> dict[str, list[nn.Parameter]]:
    """Each role's parameters that no earlier role holds (roles in order): what its optimizer
    trains and ``ganzoo info`` counts. A role built on another's submodules (``Role.base``)
    leaves the shared ones to their owner."""
    seen: set[int] = set()
    owned = {}
    for role, net in networks.items():
        owned[role] = [p for p in net.parameters() if id(p) not in seen]
        seen.update(id(p) for p in owned[role])
    return owned


def build_generator(variant: Variant, image_shape: tuple[int, int, int] = DEFAULT_IMAGE_SHAPE,
                    device: str | torch.device = "cpu", tricks: list[str] | None = None,
                    registry: Registry | None = None, num_classes: int | None = None) -> TrainedGenerator:
    """Build only what sampling needs: the generator and the named ``tricks`` (default: the
    recipe's tricks that provide a sampling generator). The tricks' :meth:`~ganzoo.Trick.setup_networks`
    gets only the generator."""
    registry = registry or get_registry()
    shape = _check_image_shape(image_shape)
    dev = resolve_device(device)
    spec = registry.component("generator", variant.generator)
    conditioned = frozenset({"generator"} if spec.conditional else ())
    classes = _classes_for(variant, conditioned, num_classes)
    generator = _build_role("generator", variant, shape, dev, registry, classes, {})
    built = []
    for name in variant.tricks if tricks is None else tricks:
        trick = call_factory(registry.component("trick", name), **variant.tricks[name])
        if tricks is None and not trick.overrides("sampling_generator"):
            continue
        trick.setup_networks({"generator": generator})
        built.append(trick)
    return TrainedGenerator(variant=variant, image_shape=shape, networks={"generator": generator},
                            tricks=built, device=dev, num_classes=classes, conditioned=conditioned)


def create_variant(name: str | Variant, image_shape: tuple[int, int, int] = DEFAULT_IMAGE_SHAPE,
                   latent_dim: int | None = None, device: str | torch.device = "cpu",
                   num_classes: int | None = None, **overrides: Any) -> GAN:
    """Build a registered variant, timm's ``create_model`` style.

    >>> gan = create_variant("dcgan", image_shape=(1, 28, 28), latent_dim=100, critic_steps=2)

    ``overrides`` are :class:`~ganzoo.Variant` fields (``generator="upsample-conv"``,
    ``tricks={"ema": {}}``, ``critic_steps=2``, ...). A conditional variant needs
    ``num_classes``.
    """
    if latent_dim is not None:
        overrides["latent_dim"] = latent_dim
    return build_gan(resolve_variant(name, **overrides), image_shape, device, num_classes=num_classes)


def compose_variant(generator: str, discriminator: str, loss: str,
                    tricks: Mapping[str, Mapping[str, Any]] | list[str] | None = None,
                    base: str | Variant | None = None, **settings: Any) -> Variant:
    """A free composition named ``custom``: given parts, other settings from ``base`` (if any)."""
    parts = {"generator": generator, "discriminator": discriminator, "loss": loss,
             "tricks": tricks or {}}
    if base is None:
        variant = Variant(name="custom", summary="free composition", **parts, **settings)
    else:
        registry = get_registry()
        base_variant = registry.variant(base) if isinstance(base, str) else base
        variant = resolve_variant(base_variant, **parts, **settings).replace(name="custom")
    get_registry().check_composition(variant)
    return variant
