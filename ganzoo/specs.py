"""Plain-data descriptions of what plugins register: components, variants, optimizer settings.

Nothing here imports torch: listing what is registered must stay fast. Factories are only
called when a component is built (see :mod:`ganzoo.build`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ganzoo.errors import ConfigError

COMPONENT_KINDS: tuple[str, ...] = ("generator", "discriminator", "network", "loss", "trick", "update",
                                     "metric", "logger", "latent")
"""The kinds of component, in the order ``ganzoo list --components`` shows them: the networks
(``network``: any further role a variant declares, e.g. an encoder), what trains them (losses,
tricks, and the updates a step's phases run), the sample-quality metrics, where a run's
records go (loggers), and what the generator's input is drawn from (latents)."""

ROLE_FIELDS: Mapping[str, tuple[str, str, str]] = MappingProxyType({
    "generator": ("generator", "generator_params", "g_optimizer"),
    "discriminator": ("discriminator", "discriminator_params", "d_optimizer")})
"""How a :class:`Variant` spells the two roles the default phases use: the fields holding each
one's network, parameters and optimizer. The one place that knows it: everything else reads
roles through :meth:`Variant.role`."""
BASE_ROLES: tuple[str, ...] = tuple(ROLE_FIELDS)
"""The networks every GAN has. A variant may declare more (:attr:`Variant.roles`); everything
that handles networks (optimizers, checkpoints, DDP, capture, ``ganzoo info``) loops over
:meth:`Variant.role_names`."""
PARAMETER_TABLES: tuple[str, ...] = (*(fields[1] for fields in ROLE_FIELDS.values()), "loss_params")
"""A recipe's fields holding a component's parameters."""
RECIPE_TABLES: tuple[str, ...] = (*PARAMETER_TABLES, *(fields[2] for fields in ROLE_FIELDS.values()))
"""A recipe's fields that are tables (parameters, optimizer settings): merged key by key."""

BATCH_FIELDS: tuple[str, ...] = ("images", "labels")
"""What every batch has (labels None for unlabelled data); a variant's ``data_fields`` add to them."""
LATENT_PART_KINDS: tuple[str, ...] = ("normal", "uniform", "categorical")
"""What a part of a latent is drawn from: ``normal`` N(0, 1), ``uniform`` U(-1, 1), and
``categorical``: one of ``size`` classes, uniformly, as a one-hot vector."""
_RESERVED_PART_NAMES = frozenset({"self", "labels"})  # an exported generator's other arguments
DISCRIMINATOR_INPUTS: tuple[tuple[str, ...], ...] = (("image",), ("image", "latent"))
"""What a discriminator's ``forward`` may take: images, or (image, latent) pairs."""
GENERATOR_INPUTS: tuple[tuple[str, ...], ...] = (("latent",), ("image",))
"""What a generator's ``forward`` may take: latents, or images it translates (CycleGAN's,
pix2pix's): a variant using one names the data field they come from (``translate_from``)."""


@dataclass(frozen=True)
class PluginRef:
    """Who registered something: the plugin (entry-point name) and its distribution."""

    name: str
    distribution: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.distribution is None:
            return self.name
        dist = f"{self.distribution} {self.version}" if self.version else self.distribution
        return f"{self.name} ({dist})"


@dataclass(frozen=True)
class LatentPart:
    """One named part of a latent (``register_latents``): ``size`` values drawn from ``kind``
    (:data:`LATENT_PART_KINDS`; a categorical part is ``size`` classes as a one-hot vector). A
    part without a size takes what the variant's ``latent_dim`` leaves to it (at most one part
    per latent; a categorical part needs its size). The name is what ``ganzoo sample --code
    NAME=VALUE`` and an exported generator's input call the part: a Python identifier."""

    name: str
    kind: str
    size: int | None = None

    def __post_init__(self) -> None:
        import keyword

        if (not isinstance(self.name, str) or not self.name.isidentifier() or keyword.iskeyword(self.name)
                or self.name in _RESERVED_PART_NAMES):
            raise ConfigError(f"latent part name must be a Python identifier other than "
                              f"{' and '.join(sorted(_RESERVED_PART_NAMES))} (it names --code NAME=VALUE and "
                              f"an exported generator's input), got {self.name!r}")
        if self.kind not in LATENT_PART_KINDS:
            raise ConfigError(f"latent part {self.name!r}: kind must be one of {', '.join(LATENT_PART_KINDS)}, "
                              f"got {self.kind!r}")
        if self.size is None and self.kind == "categorical":
            raise ConfigError(f"latent part {self.name!r}: a categorical part needs a size (its number of classes)")
        least = 2 if self.kind == "categorical" else 1
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int)
                                      or self.size < least):
            raise ConfigError(f"latent part {self.name!r}: size must be an integer >= {least}, got {self.size!r}")

    @property
    def continuous(self) -> bool:
        """Whether the part's values are numbers drawn as they are (not a one-hot class)."""
        return self.kind != "categorical"

    def __str__(self) -> str:
        if self.kind == "categorical":
            return f"{self.name} (categorical, {self.size} classes one-hot)"
        return f"{self.name} ({self.kind}, {'the rest of latent_dim' if self.size is None else self.size})"


@dataclass(frozen=True)
class ComponentSpec:
    """A registered generator, discriminator, loss or trick.

    ``factory`` builds the component:

    - generator: ``factory(image_shape, latent_dim, **params) -> nn.Module`` mapping a latent
      batch ``N×latent_dim`` to images ``N×C×H×W`` in [-1, 1]; one registered with
      ``inputs=("image",)`` translates: ``factory(image_shape, **params)`` maps images
      ``N×C×H×W`` in [-1, 1] to images of the same shape;
    - discriminator: ``factory(image_shape, **params) -> nn.Module`` mapping images to one
      logit or score per sample (shape ``N`` or ``N×1``); one registered with
      ``inputs=("image", "latent")`` is ``factory(image_shape, latent_dim, **params)`` and
      scores (image, latent) pairs, ``forward(images, latents)`` (BiGAN/ALI); one registered
      with ``classifier=True`` returns ``(scores, class logits)``;
    - loss: ``factory(**params) -> ganzoo.Loss``;
    - trick: ``factory(**params) -> ganzoo.Trick``;
    - network: ``factory(image_shape, latent_dim, **params) -> nn.Module`` (a further role);
    - update: ``factory(**params) -> ganzoo.Update`` (what one phase of the step runs);
    - metric: ``factory(context: ganzoo.evaluation.EvalContext) -> float | dict`` (computes it);
    - latent: ``factory(n, latent_dim, device="cpu", generator=None, truncation=None,
      codes=None) -> torch.Tensor`` draws ``n×latent_dim`` latents of its :attr:`parts` (ganzoo
      makes it from the parts: :func:`ganzoo.latent.sample_latent`).
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    summary: str = ""
    source: str = ""
    tags: frozenset[str] = frozenset()
    """Losses: capabilities tricks can require, e.g. ``labels`` (uses real/fake targets) or
    ``critic`` (unbounded Wasserstein-style scores). Discriminators and networks: what tricks
    must know of them, e.g. ``batchnorm`` (mixes a batch's samples)."""
    conflicts: tuple[str, ...] = ()
    """Tricks: names of tricks this one cannot be combined with, and tags of networks it cannot
    work with."""
    requires_loss_tags: tuple[str, ...] = ()
    """Tricks: tags the loss must carry for this trick to make sense."""
    better: str = ""
    """Metrics: ``"lower"`` or ``"higher"``, the good direction."""
    suffix_param: str | None = None
    """Networks: a family taking a name suffix, e.g. ``timm`` with ``suffix_param="model_name"``
    makes ``timm:resnet18`` build ``factory(..., model_name="resnet18")``."""
    bound_params: Mapping[str, Any] = field(default_factory=dict)
    """Parameters fixed by the name (set by the registry for ``family:suffix`` names)."""
    inputs: tuple[str, ...] = ()
    """Discriminators: what ``forward`` takes, one of :data:`DISCRIMINATOR_INPUTS` (default
    images); generators: one of :data:`GENERATOR_INPUTS` (default latents)."""
    conditional: bool = False
    """Generators and discriminators: conditioned on class labels. The factory gets the number
    of classes after its usual arguments, ``forward`` the labels (int64 ``N``) after its input.
    Metrics: scores class-conditional samples (``context.sample_labels``); used only for them."""
    classifier: bool = False
    """Discriminators: also classify their input (AC-GAN's auxiliary classifier). The factory
    gets the number of classes after its usual arguments; ``forward`` returns ``(scores, class
    logits N×num_classes)``."""
    roles: tuple[str, ...] = ()
    """Updates: the roles whose optimizers the update steps (checked against a recipe's roles
    before anything is built). Tricks: the roles whose networks' tags ``conflicts`` applies to
    (the gradient penalty: ``("discriminator",)``, the network it differentiates); empty: every
    role's."""
    points: tuple[str, ...] | None = None
    """Updates: the trick points (:data:`ganzoo.components.STEP_POINTS`) the update calls, so a
    trick none of a recipe's updates calls is refused before anything is built; None when
    the update does not say (it is then checked after its first run)."""
    parts: tuple[LatentPart, ...] = ()
    """Latents: the parts, in order; a latent vector is their concatenation."""
    plugin: PluginRef | None = None

    def __post_init__(self) -> None:
        if not self.inputs:  # the kind's own input
            object.__setattr__(self, "inputs", ("latent",) if self.kind == "generator" else ("image",))

    @property
    def translates(self) -> bool:
        """Generators: maps images to images (``inputs=("image",)``) rather than latents."""
        return self.kind == "generator" and self.inputs == ("image",)

    def create(self, *args: Any, **params: Any) -> Any:
        """Call the factory with the name-bound parameters and ``params``."""
        return self.factory(*args, **{**self.bound_params, **params})


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class OptimizerSettings:
    """An optimizer and its hyper-parameters: ``name`` is any ``torch.optim`` optimizer by
    lower-case name (``adam``, ``radam``, ``sgd``, ...) or one of timm's as ``timm:NAME``
    (``timm:lion``, ``timm:lamb``, ...); the name is checked when the optimizer is built
    (:mod:`ganzoo.optimizers`), so describing one never imports torch."""

    name: str = "adam"
    lr: float = 2e-4
    betas: tuple[float, ...] = (0.5, 0.999)
    """Passed to optimizers that take ``betas`` (Adam and its relatives, Lion, LAMB ...); an
    optimizer taking another number of them (Adan: 3) keeps its own unless given."""
    weight_decay: float = 0.0
    momentum: float = 0.0
    """Passed to optimizers that take ``momentum`` (SGD, RMSprop ...)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Any other keyword arguments of the optimizer (``eps``, ``nesterov`` ...)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"optimizer name must be a non-empty string, got {self.name!r}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ConfigError(f"optimizer learning rate must be > 0, got {self.lr!r}")
        if (not isinstance(self.betas, (list, tuple)) or not self.betas
                or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas)):
            raise ConfigError(f"optimizer betas must be numbers in [0, 1) (two for Adam), got {self.betas}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        for name in ("weight_decay", "momentum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"optimizer {name.replace('_', ' ')} must be a number >= 0, got {value!r}")
        clash = sorted(set(self.options) & {f.name for f in dataclasses.fields(self)})
        if clash:
            raise ConfigError(f"optimizer option {clash[0]!r} is a setting of its own: give it directly")
        object.__setattr__(self, "options", _frozen(self.options))

    def to_dict(self) -> dict[str, Any]:
        """The settings as one flat table (``options`` beside the named settings)."""
        return {"name": self.name, "lr": self.lr, "betas": list(self.betas),
                "weight_decay": self.weight_decay, "momentum": self.momentum, **self.options}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OptimizerSettings:
        """Inverse of :meth:`to_dict`: keys other than the named settings are ``options``."""
        named = {f.name for f in dataclasses.fields(cls)} - {"options"}
        values = {key: value for key, value in data.items() if key in named}
        options = {**dict(data.get("options") or {}),
                   **{key: value for key, value in data.items() if key not in named | {"options"}}}
        if "betas" in values and isinstance(values["betas"], (list, tuple)):
            values["betas"] = tuple(values["betas"])
        return cls(**values, options=options)

    def switched_to(self, name: str) -> OptimizerSettings:
        """Another optimizer with this one's learning rate and weight decay (the rest of this
        one's settings rarely carry over)."""
        if name == self.name:
            return self
        return OptimizerSettings(name=name, lr=self.lr, weight_decay=self.weight_decay)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class Role:
    """A network a variant adds to the generator and discriminator (e.g. BiGAN's encoder): the
    registered ``network`` component, its parameters, and its own optimizer.

    With ``base`` set to an earlier role's name, the network is built on that role's network
    (InfoGAN's Q head on D's body): the factory gets it as ``base=`` and may keep its
    submodules. Parameters it shares with ``base`` stay ``base``'s: checkpointed, counted and
    optimized there; this role's optimizer gets only its own."""

    network: str
    params: Mapping[str, Any] = field(default_factory=dict)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    base: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.network, str) or not self.network:
            raise ConfigError(f"a role's network must be a registered network name, got {self.network!r}")
        if isinstance(self.optimizer, Mapping):
            object.__setattr__(self, "optimizer", OptimizerSettings.from_dict(self.optimizer))
        if not isinstance(self.optimizer, OptimizerSettings):
            raise ConfigError(f"role network {self.network!r}: optimizer must be an OptimizerSettings")
        object.__setattr__(self, "params", _frozen(self.params))

    def to_dict(self) -> dict[str, Any]:
        shared = {"base": self.base} if self.base else {}  # absent when unset: older records stay the same
        return {"network": self.network, "params": dict(self.params), "optimizer": self.optimizer.to_dict(), **shared}


@dataclass(frozen=True)
class Phase:
    """One part of a training step, as in stylegan2-ada's phase list: run the registered
    ``update`` (with ``params``) ``repeats`` times in a row, on every ``every``-th step (counting
    from step 0). ``name`` labels it (default: the update's name)."""

    update: str
    repeats: int = 1
    every: int = 1
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.update, str) or not self.update:
            raise ConfigError(f"a phase's update must be a registered update name, got {self.update!r}")
        for setting in ("repeats", "every"):
            if not _positive_int(getattr(self, setting)):
                raise ConfigError(f"phase {self.update!r}: {setting} must be a positive integer, "
                                  f"got {getattr(self, setting)!r}")
        if not isinstance(self.name, str):
            raise ConfigError(f"phase {self.update!r}: name must be a string")
        object.__setattr__(self, "name", self.name or self.update)
        object.__setattr__(self, "params", _frozen(self.params))

    def runs_at(self, step: int) -> bool:
        """Whether the phase runs in the step that follows ``step`` completed steps."""
        return step % self.every == 0

    def to_dict(self) -> dict[str, Any]:
        return {"update": self.update, "repeats": self.repeats, "every": self.every,
                "params": dict(self.params), "name": self.name}

    def __str__(self) -> str:
        text = self.name + (f"×{self.repeats}" if self.repeats > 1 else "")
        return text + (f" every {self.every} steps" if self.every > 1 else "")


@dataclass(frozen=True)
class Variant:
    """A named recipe: one generator, discriminator and loss, a list of tricks, and the
    optimizer, step and size settings that make them train well together.

    ``tricks`` maps trick names to their parameters, in the order the tricks run.
    """

    name: str
    generator: str
    discriminator: str
    loss: str
    summary: str = ""
    source: str = ""
    generator_params: Mapping[str, Any] = field(default_factory=dict)
    discriminator_params: Mapping[str, Any] = field(default_factory=dict)
    loss_params: Mapping[str, Any] = field(default_factory=dict)
    tricks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    g_optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    d_optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    critic_steps: int = 1
    """Discriminator (critic) updates per generator update, in the default phases."""
    roles: Mapping[str, Role] = field(default_factory=dict)
    """Networks besides the generator and discriminator, by role name (e.g. ``encoder``)."""
    phases: tuple[Phase, ...] = ()
    """The step's phases in order; empty means the default: ``critic_steps`` discriminator
    updates, then one generator update (:meth:`step_phases`)."""
    batch_size: int = 64
    latent_dim: int = 100
    latent_distribution: str = "normal"
    """The registered latent (``register_latents``) the generator's input is drawn from:
    ``normal`` (z ~ N(0, 1)), ``uniform`` (z ~ U(-1, 1)), or a structured one made of named parts
    (a categorical code beside normal noise ...), whose sizes must add up to ``latent_dim``."""
    steps: int = 5000
    """Default training length in generator steps."""
    data_fields: tuple[str, ...] = ()
    """Named image fields of the data, besides the images and labels, that the variant's
    updates read from each :class:`~ganzoo.Batch` (CycleGAN's second domain, pix2pix's targets):
    training refuses data without them in one line, and the kit draws them."""
    translate_from: str = ""
    """For a generator that translates images (registered with ``inputs=("image",)``): the data
    field (one of :attr:`data_fields`) whose images are its input, drawn where a latent
    generator's latents are (training batches, sample grids, ``sample``, ``eval``). Its
    outputs are images of the data, judged by the discriminator against them."""
    plugin: PluginRef | None = None

    def __post_init__(self) -> None:
        for name in ("name", *(fields[0] for fields in ROLE_FIELDS.values()), "loss"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"variant {name} must be a non-empty string, got {getattr(self, name)!r}")
        for name in ("critic_steps", "batch_size", "latent_dim", "steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"variant {self.name!r}: {name.replace('_', '-')} must be a positive integer, got {value!r}")
        if not isinstance(self.latent_distribution, str) or not self.latent_distribution:
            raise ConfigError(f"variant {self.name!r}: latent distribution must be the name of a registered "
                              f"latent (normal, uniform, or a plugin's), got {self.latent_distribution!r}")
        for name in (fields[2] for fields in ROLE_FIELDS.values()):
            if not isinstance(getattr(self, name), OptimizerSettings):
                raise ConfigError(f"variant {self.name!r}: {name} must be an OptimizerSettings")
        for name in (*PARAMETER_TABLES, "roles"):
            if not isinstance(getattr(self, name) or {}, Mapping):
                raise ConfigError(f"variant {self.name!r}: {name} must be a table, got {getattr(self, name)!r}")
        if not isinstance(self.phases or (), (list, tuple)):
            raise ConfigError(f"variant {self.name!r}: phases must be a list of phases, got {self.phases!r}")
        tricks = self.tricks
        if not (isinstance(tricks, Mapping) and all(isinstance(v, Mapping) for v in tricks.values())
                or isinstance(tricks, (list, tuple)) and all(isinstance(v, str) for v in tricks)):
            raise ConfigError(f"variant {self.name!r}: tricks must be a table of trick parameter tables "
                              f"or a list of trick names, got {tricks!r}")
        roles = {name: Role(**role) if isinstance(role, Mapping) else role
                  for name, role in dict(self.roles or {}).items()}
        for name, role in roles.items():
            if not isinstance(name, str) or not name.isidentifier() or name in BASE_ROLES:
                raise ConfigError(f"variant {self.name!r}: role name {name!r} must be an identifier other "
                                  f"than {' and '.join(BASE_ROLES)}")
            if not isinstance(role, Role):
                raise ConfigError(f"variant {self.name!r}: role {name!r} must be a ganzoo.Role")
            earlier = [*BASE_ROLES, *list(roles)[:list(roles).index(name)]]
            if role.base is not None and role.base not in earlier:
                raise ConfigError(f"variant {self.name!r}: role {name!r} is built on {role.base!r}, which is not a "
                                  f"role before it (roles before it: {', '.join(earlier)})")
        object.__setattr__(self, "roles", MappingProxyType(roles))
        phases = tuple(Phase(**p) if isinstance(p, Mapping) else p for p in self.phases or ())
        if not all(isinstance(p, Phase) for p in phases):
            raise ConfigError(f"variant {self.name!r}: phases must be ganzoo.Phase objects")
        if len({p.name for p in phases}) != len(phases):
            raise ConfigError(f"variant {self.name!r}: two phases share a name; give them distinct names")
        object.__setattr__(self, "phases", phases)
        fields = self.data_fields
        if (not isinstance(fields, (list, tuple)) or not all(isinstance(f, str) and f.isidentifier() for f in fields)
                or set(fields) & set(BATCH_FIELDS) or len(set(fields)) != len(fields)):
            raise ConfigError(f"variant {self.name!r}: data_fields must be distinct identifiers other than "
                              f"{' and '.join(BATCH_FIELDS)}, got {fields!r}")
        object.__setattr__(self, "data_fields", tuple(fields))
        if not isinstance(self.translate_from, str) or (self.translate_from and self.translate_from not in fields):
            raise ConfigError(f"variant {self.name!r}: translate_from must name one of its data_fields "
                              f"({', '.join(fields) or 'none'}), got {self.translate_from!r}")
        tricks = self.tricks
        if isinstance(tricks, (list, tuple)):  # a plain list of names is accepted too
            tricks = {trick: {} for trick in tricks}
        object.__setattr__(self, "tricks", MappingProxyType({k: _frozen(v) for k, v in tricks.items()}))
        for name in PARAMETER_TABLES:
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def replace(self, **changes: Any) -> Variant:
        """A copy with some fields changed (validated like a new variant)."""
        try:
            return dataclasses.replace(self, **changes)
        except TypeError as err:
            raise ConfigError(f"variant {self.name!r}: {err}") from None

    def role_names(self) -> tuple[str, ...]:
        """Every network of the recipe: the generator, the discriminator, then its own roles."""
        return (*BASE_ROLES, *self.roles)

    def role(self, role: str) -> Role:
        """``role`` as a :class:`Role`: its network, parameters and optimizer, whichever way the
        recipe spells it (the generator's and discriminator's fields, or :attr:`roles`)."""
        if role in ROLE_FIELDS:
            network, params, optimizer = (getattr(self, name) for name in ROLE_FIELDS[role])
            return Role(network, params, optimizer)
        return self.roles[role]

    def role_network(self, role: str) -> tuple[str, str, Mapping[str, Any]]:
        """``(kind, name, params)`` of the component that builds ``role``: the generator and
        discriminator are components of their own kinds, every other role a ``network``."""
        spec = self.role(role)
        return (role if role in ROLE_FIELDS else "network"), spec.network, spec.params

    def optimizer(self, role: str) -> OptimizerSettings:
        """The optimizer settings of ``role``."""
        return self.role(role).optimizer

    def step_phases(self) -> tuple[Phase, ...]:
        """The phases one training step runs: :attr:`phases`, or by default ``critic_steps``
        discriminator updates then one generator update (the classic alternating k:1 step)."""
        return self.phases or (Phase("discriminator", repeats=self.critic_steps), Phase("generator"))

    def components(self) -> list[tuple[str, str]]:
        """``(kind, name)`` of every component the recipe uses, in build order (each once)."""
        parts = [self.role_network(role)[:2] for role in self.role_names()]
        parts += [("loss", self.loss), *(("trick", name) for name in self.tricks)]
        parts += [("update", phase.update) for phase in self.step_phases()]
        parts.append(("latent", self.latent_distribution))
        return list(dict.fromkeys(parts))

    def renamed(self, rename: Callable[[str, str], str]) -> Variant:
        """A copy whose component names are ``rename(kind, name)`` (e.g. qualified ``dist/name``)."""
        roles = {role: dataclasses.replace(r, network=rename("network", r.network)) for role, r in self.roles.items()}
        phases = tuple(dataclasses.replace(p, update=rename("update", p.update), name=p.name) for p in self.phases)
        renamed = self.replace(
            generator=rename("generator", self.generator), discriminator=rename("discriminator", self.discriminator),
            loss=rename("loss", self.loss), roles=roles, phases=phases,
            latent_distribution=rename("latent", self.latent_distribution),
            tricks={rename("trick", name): params for name, params in self.tricks.items()})
        return self if renamed == self else renamed

    def with_tricks(self, add: Mapping[str, Mapping[str, Any]] | None = None,
                    remove: list[str] | tuple[str, ...] = ()) -> Variant:
        """A copy with the tricks in ``remove`` taken out (``"all"``: every one), then those in
        ``add`` appended or given new parameters. Removing a trick the recipe lacks is a
        :class:`ConfigError` naming the ones it has."""
        tricks = {name: dict(params) for name, params in self.tricks.items()}
        for name in remove:
            if name == "all":
                tricks.clear()
            elif name not in tricks:
                raise ConfigError(f"the recipe has no trick {name!r} (it has: {', '.join(tricks) or 'none'})")
            else:
                del tricks[name]
        tricks.update({name: dict(params) for name, params in (add or {}).items()})
        return self.replace(tricks=tricks)

    def changes_from(self, base: Variant, settings: bool = True) -> list[str]:
        """Everything this recipe changes in ``base``: ``generator=NAME`` for a replaced
        component, ``-TRICK``/``+TRICK`` for removed and added tricks, ``TRICK:KEY=VALUE`` for a
        trick's changed parameter, ``ROLE=NETWORK`` for an added or changed role, ``phases=...``
        for another step, ``FIELD=VALUE`` or ``TABLE.KEY=VALUE`` for any other setting (sizes,
        optimizers, parameters; left out with ``settings=False``: the parts only). Empty when
        the recipes train alike."""
        changes = [f"{role}={self.role(role).network}" for role in self.role_names()
                   if role not in base.role_names() or self.role(role).network != base.role(role).network
                   or role in self.roles and self.roles[role] != base.roles[role]]
        changes += [f"loss={self.loss}"] if self.loss != base.loss else []
        changes += [f"-{trick}" for trick in base.tricks if trick not in self.tricks]
        changes += [f"+{trick}" for trick in self.tricks if trick not in base.tricks]
        if self.step_phases() != base.step_phases():
            changes.append(f"phases={' + '.join(map(str, self.step_phases()))}")
        if not settings:
            return changes
        changes += [f"{trick}:{key}={value}" for trick, params in self.tricks.items() if trick in base.tricks
                    for key, value in _changed(base.tricks[trick], params)]
        mine, theirs = self.to_dict(), base.to_dict()
        replaced = {fields[1] for role, fields in ROLE_FIELDS.items() if getattr(self, role) != getattr(base, role)}
        replaced |= {"loss_params"} if self.loss != base.loss else set()
        for name in (name for name in mine if name not in _DESCRIBED_ABOVE):  # in field order
            # A new part's parameters are not the old part's: every one it is given is a change.
            before = {} if name in replaced else theirs.get(name)
            if isinstance(mine[name], dict) and isinstance(before, dict):
                changes += [f"{name}.{key}={value}" for key, value in _changed(before, mine[name])]
            elif mine[name] != before:
                changes.append(f"{name}={mine[name]}")
        return changes

    def to_dict(self) -> dict[str, Any]:
        """A JSON/TOML-friendly description (the resolved config of a run)."""
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "plugin" or (f.name in ("data_fields", "translate_from") and not value):
                continue  # unset: as recorded before they existed
            if isinstance(value, OptimizerSettings):
                value = value.to_dict()
            elif f.name == "roles":
                value = {k: v.to_dict() for k, v in value.items()}
            elif f.name == "phases":
                value = [p.to_dict() for p in value]
            elif f.name == "tricks":
                value = {k: dict(v) for k, v in value.items()}
            elif isinstance(value, Mapping):
                value = dict(value)
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Variant:
        """Inverse of :meth:`to_dict`; unknown keys are a :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)} - {"plugin"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown recipe setting(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        for name in (fields[2] for fields in ROLE_FIELDS.values()):
            if isinstance(values.get(name), Mapping):
                values[name] = OptimizerSettings.from_dict(values[name])
        try:
            if isinstance(values.get("roles"), Mapping):
                values["roles"] = {k: Role(**v) if isinstance(v, Mapping) else v
                                   for k, v in values["roles"].items()}
            if isinstance(values.get("phases"), (list, tuple)):
                values["phases"] = tuple(Phase(**p) if isinstance(p, Mapping) else p for p in values["phases"])
        except TypeError as err:
            raise ConfigError(f"recipe roles/phases: {err}") from None
        return cls(**values)


_DESCRIBED_ABOVE = frozenset({"name", "summary", "source", "loss", "tricks", "roles", "phases", "critic_steps",
                              *(fields[0] for fields in ROLE_FIELDS.values())})
"""What :meth:`Variant.changes_from` describes in words of its own (critic_steps: as the phases)."""


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The keys whose values differ (or appear) in ``after``, in its order, then those it drops."""
    return [(key, value) for key, value in after.items() if before.get(key, _MISSING) != value] + \
        [(key, None) for key in before if key not in after]


_MISSING = object()


# -- latent parts (plain data: registration and the composition check use them) -----------


def check_parts(parts: Any) -> tuple[LatentPart, ...]:
    """``parts`` as registered, checked: a non-empty list of :class:`LatentPart` with distinct
    names, at most one of them without a size (a one-line ConfigError otherwise)."""
    if (not isinstance(parts, (list, tuple)) or not parts
            or not all(isinstance(part, LatentPart) for part in parts)):
        raise ConfigError(f"parts must be a non-empty list of ganzoo.LatentPart, got {parts!r}")
    names = [part.name for part in parts]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(f"two parts are named {twice[0]!r}; give each part its own name")
    free = [part.name for part in parts if part.size is None]
    if len(free) > 1:
        raise ConfigError(f"parts {free[0]!r} and {free[1]!r} both take the rest of latent_dim; give all but one a size")
    return tuple(parts)


def fit_parts(parts: Sequence[LatentPart], latent_dim: int) -> tuple[LatentPart, ...]:
    """``parts`` with every size set for a latent of ``latent_dim`` values: the part without a
    size takes what the others leave. A one-line ConfigError when they do not add up."""
    fixed = sum(part.size for part in parts if part.size is not None)
    if all(part.size is not None for part in parts):
        if fixed != latent_dim:
            raise ConfigError(f"the parts ({describe_parts(parts)}) are {fixed} values and latent_dim is "
                              f"{latent_dim}: set latent_dim = {fixed}")
        return tuple(parts)
    if latent_dim - fixed < 1:
        raise ConfigError(f"the parts of fixed size ({describe_parts([p for p in parts if p.size])}) take "
                          f"{fixed} of latent_dim {latent_dim} values and leave none for the rest: set "
                          f"latent_dim above {fixed}")
    return tuple(part if part.size is not None else dataclasses.replace(part, size=latent_dim - fixed)
                 for part in parts)


def describe_parts(parts: Sequence[LatentPart]) -> str:
    """``noise (normal, 62), digit (categorical, 10 classes one-hot)``: for messages."""
    return ", ".join(map(str, parts))
