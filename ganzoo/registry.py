"""Names → registered things, with timm-style listing (wildcards, excludes, natural sort).

The registry is filled by :mod:`ganzoo.plugins`; it never imports a plugin itself.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence

from ganzoo.errors import CompositionError, DuplicateNameError, GanzooError, UnknownNameError
from ganzoo.specs import COMPONENT_KINDS, ComponentSpec, LatentPart, PluginRef, Variant, fit_parts


def _natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _matches(name: str, plugin: PluginRef | None, filter: str | Sequence[str] | None,
             exclude_filters: str | Sequence[str] | None, plugin_name: str | None) -> bool:
    includes = [filter] if isinstance(filter, str) else list(filter or [])
    excludes = [exclude_filters] if isinstance(exclude_filters, str) else list(exclude_filters or [])
    if includes and not any(fnmatch.fnmatchcase(name, pattern) for pattern in includes):
        return False
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in excludes):
        return False
    if plugin_name is not None:
        owners = {plugin.name, plugin.distribution} if plugin else set()
        if plugin_name not in owners:
            return False
    return True


class Registry:
    """Registered components (per kind) and variants, each remembering its plugin."""

    def __init__(self) -> None:
        self._components: dict[str, dict[str, ComponentSpec]] = {kind: {} for kind in COMPONENT_KINDS}
        # Every component under its distribution's name as well (``dist/name``), the ones that
        # lost their plain name included: a plugin's own variants keep using its own.
        self._qualified: dict[str, dict[str, dict[str, ComponentSpec]]] = {kind: {} for kind in COMPONENT_KINDS}
        self._variants: dict[str, Variant] = {}
        self._left_out: dict[str, str] = {}  # variant name → why it was left out
        self.unloaded: str | None = None
        """Which plugins GANZOO_LOAD_PLUGINS/GANZOO_DISABLE_PLUGINS kept out, in words (set by
        the plugin host): unknown names are blamed on them first."""

    # -- adding ------------------------------------------------------------------------------

    def add_component(self, spec: ComponentSpec) -> None:
        """Register ``spec`` under its name, and as ``dist/name`` (:func:`qualified_name`). A
        taken name is a :class:`DuplicateNameError`; the component stays usable as ``dist/name``."""
        if spec.kind not in self._components:
            raise GanzooError(f"unknown component kind {spec.kind!r}")
        own = self._qualified[spec.kind].setdefault(qualifier(spec.plugin), {})
        if spec.name in own:
            raise DuplicateNameError(f"{spec.kind} {spec.name!r} is registered twice by {spec.plugin}; "
                                     f"the second registration is skipped")
        qualified = qualified_name(spec.plugin, spec.name)
        own[spec.name] = dataclasses.replace(spec, name=qualified)
        existing = self._components[spec.kind].get(spec.name)
        if existing is not None:
            raise DuplicateNameError(f"{spec.kind} {spec.name!r} is taken (owned by {existing.plugin}); "
                                     f"this one is {qualified!r}, and this plugin's variants use it")
        self._components[spec.kind][spec.name] = spec

    def own_name(self, plugin: PluginRef | None, kind: str, name: str) -> str:
        """The name a variant of ``plugin`` means by ``name``: ``dist/name`` when ``plugin``
        registered a ``kind`` of that name that another plugin owns, else ``name`` itself."""
        if "/" in name:
            return name
        family = name.partition(":")[0]
        own = self._qualified.get(kind, {}).get(qualifier(plugin), {})
        owner = self._components.get(kind, {}).get(family)
        if family in own and owner is not None and qualifier(owner.plugin) != qualifier(plugin):
            return qualified_name(plugin, name)
        return name

    def leave_out(self, name: str, reason: str) -> None:
        """Remove variant ``name``, remembering why (an unknown-variant error says it)."""
        self._variants.pop(name, None)
        self._left_out[name] = reason

    def add_variant(self, variant: Variant) -> None:
        existing = self._variants.get(variant.name)
        if existing is not None:
            raise DuplicateNameError(f"variant {variant.name!r} is taken (owned by {existing.plugin}); "
                                     f"this registration is skipped")
        self._variants[variant.name] = variant

    def remove_variant(self, name: str) -> None:
        self._variants.pop(name, None)

    # -- looking up --------------------------------------------------------------------------

    def component(self, kind: str, name: str) -> ComponentSpec:
        """The component ``name`` of ``kind``; ``family:suffix`` names resolve to a family that
        declared a ``suffix_param`` (e.g. ``timm:resnet18``); ``dist/name`` is the one that
        distribution registered, whether or not it owns the plain name."""
        specs = self._components.get(kind, {})
        if name in specs:
            return specs[name]
        where, slash, rest = name.rpartition("/")
        if slash:
            by_dist = self._qualified.get(kind, {})
            own = by_dist.get(normalize_distribution(where), {})
            known = [f"{d}/{n}" for d, names in by_dist.items() for n in names]
            family, sep, suffix = rest.partition(":")
            spec = own.get(rest) or own.get(family)
            if spec is not None and (rest in own or sep and suffix and spec.suffix_param):
                return spec if rest in own else dataclasses.replace(
                    spec, name=name, bound_params={spec.suffix_param: suffix})
            raise UnknownNameError(kind, name, known, unloaded=self.unloaded)
        family, sep, suffix = name.partition(":")
        spec = specs.get(family)
        if sep and suffix and spec is not None and spec.suffix_param:
            return dataclasses.replace(spec, name=name, bound_params={spec.suffix_param: suffix})
        raise UnknownNameError(kind, name, specs, unloaded=self.unloaded)

    def has_component(self, kind: str, name: str) -> bool:
        try:
            self.component(kind, name)
        except UnknownNameError:
            return False
        return True

    def variant(self, name: str) -> Variant:
        try:
            return self._variants[name]
        except KeyError:
            raise UnknownNameError("variant", name, self._variants, self._left_out.get(name),
                                   self.unloaded) from None

    def list_variants(self, filter: str | Sequence[str] | None = None,
                      exclude_filters: str | Sequence[str] | None = None,
                      plugin: str | None = None) -> list[str]:
        """Variant names matching shell-style ``filter`` patterns (any), none of
        ``exclude_filters``, registered by ``plugin`` (entry-point or distribution name)."""
        names = [v.name for v in self._variants.values()
                 if _matches(v.name, v.plugin, filter, exclude_filters, plugin)]
        return sorted(names, key=_natural_key)

    def list_components(self, kind: str, filter: str | Sequence[str] | None = None,
                        exclude_filters: str | Sequence[str] | None = None,
                        plugin: str | None = None) -> list[str]:
        """Component names of one kind, filtered like :meth:`list_variants`."""
        if kind not in self._components:
            raise UnknownNameError("component kind", kind, COMPONENT_KINDS)
        names = [s.name for s in self._components[kind].values()
                 if _matches(s.name, s.plugin, filter, exclude_filters, plugin)]
        return sorted(names, key=_natural_key)

    def variants(self) -> list[Variant]:
        return [self._variants[name] for name in self.list_variants()]

    # -- composition rules -------------------------------------------------------------------

    def conditioned_roles(self, variant: Variant) -> frozenset[str]:
        """The roles of ``variant`` whose networks take class labels."""
        return frozenset(role for role in variant.role_names()
                         if self.component(*variant.role_network(role)[:2]).conditional)

    def latent_parts(self, variant: Variant) -> tuple[LatentPart, ...]:
        """The parts of ``variant``'s latent, each sized (:func:`ganzoo.specs.fit_parts`); an
        unknown latent, or parts whose sizes do not fit ``latent_dim``, is refused in one line."""
        spec = self.component("latent", variant.latent_distribution)
        try:
            return fit_parts(spec.parts, variant.latent_dim)
        except GanzooError as err:
            raise CompositionError(f"{_where(variant)}latent {variant.latent_distribution!r}: {err}") from None

    def check_composition(self, variant: Variant) -> None:
        """Refuse a recipe whose parts do not exist or cannot work together (one-line reason)."""
        for role in variant.role_names():
            self.component(*variant.role_network(role)[:2])
        self.latent_parts(variant)
        for phase in variant.step_phases():
            update = self.component("update", phase.update)
            unknown = [role for role in update.roles if role not in variant.role_names()]
            if unknown:
                raise CompositionError(
                    f"{_where(variant)}phase {phase.name!r}: update {update.name!r} trains the role "
                    f"{unknown[0]!r}, which the recipe does not have (roles: {', '.join(variant.role_names())})")
        translates = self.component("generator", variant.generator).translates
        if translates != bool(variant.translate_from):
            raise CompositionError(
                f"{_where(variant)}generator {variant.generator!r} translates images: set translate_from to the data "
                f"field they come from" if translates else
                f"{_where(variant)}translate_from={variant.translate_from!r} and generator {variant.generator!r} "
                f"takes latents, not images: use a generator registered with inputs=(\"image\",)")
        conditioned = self.conditioned_roles(variant)
        if "discriminator" in conditioned and "generator" not in conditioned:
            raise CompositionError(
                f"{_where(variant)}discriminator {variant.discriminator!r} is conditional and generator "
                f"{variant.generator!r} is not: generated images would have no class to be judged by")
        if self.component("discriminator", variant.discriminator).classifier and "generator" not in conditioned:
            raise CompositionError(
                f"{_where(variant)}discriminator {variant.discriminator!r} classifies images and generator "
                f"{variant.generator!r} is not conditional: generated images would have no class to check")
        loss = self.component("loss", variant.loss)
        tricks = [self.component("trick", name) for name in variant.tricks]
        names = {t.name.rpartition("/")[2] for t in tricks}  # conflicts name tricks unqualified
        tagged = {role: self.component(*variant.role_network(role)[:2]).tags for role in variant.role_names()}
        self.check_network_tags(variant, tagged)
        for trick in tricks:
            clash = sorted(set(trick.conflicts) & names)
            if clash:
                raise CompositionError(
                    f"{_where(variant)}trick {trick.name!r} cannot be combined with {clash[0]!r} "
                    f"(drop one: --no-trick {trick.name})")
            missing = sorted(set(trick.requires_loss_tags) - loss.tags)
            if missing:
                fitting = [s.name for s in self._components["loss"].values()
                           if set(trick.requires_loss_tags) <= s.tags]
                hint = f" (losses that are: {', '.join(sorted(fitting))})" if fitting else ""
                raise CompositionError(
                    f"{_where(variant)}trick {trick.name!r} needs a loss tagged {missing[0]!r}, "
                    f"and loss {loss.name!r} is not{hint}; drop the trick with --no-trick {trick.name}")

    def check_network_tags(self, variant: Variant, tags: Mapping[str, Iterable[str]]) -> None:
        """Refuse (one-line :class:`CompositionError`) a trick of ``variant`` whose ``conflicts``
        name a tag of one of its networks (of the trick's ``roles``, when it names them): ``tags`` maps role → tags, those registered (checked
        with the composition) or those a built network says it has (``network.tags``: a family
        whose members differ, as timm's models do in batch normalisation)."""
        for name in variant.tricks:
            trick = self.component("trick", name)
            for role, role_tags in tags.items():
                if trick.roles and role not in trick.roles:
                    continue  # a network the trick does not touch
                clash = sorted(set(trick.conflicts) & set(role_tags))
                if clash:  # a network's tag (e.g. batchnorm) the trick cannot work with
                    network = variant.role_network(role)[1]
                    raise CompositionError(
                        f"{_where(variant)}trick {trick.name!r} cannot be used with the {role} {network!r}, which "
                        f"is tagged {clash[0]!r} (use a {role} without it, or drop the trick: --no-trick {trick.name})")

    def missing_components(self, variant: Variant) -> list[str]:
        """Descriptions of components a variant names that nobody registered."""
        return [f"{kind} {name!r}" for kind, name in variant.components()
                if not self.has_component(kind, name)]


def normalize_distribution(distribution: str) -> str:
    """A distribution's name as PEP 503 compares them (``Ganzoo_SNGAN`` → ``ganzoo-sngan``)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()  # PEP 503


def qualifier(plugin: PluginRef | None) -> str:
    """What qualifies the names a plugin registers: its distribution's normalised name (the
    plugin's own name when it has none, e.g. added in-process)."""
    if plugin is None:
        return ""
    return normalize_distribution(plugin.distribution or plugin.name)


def qualified_name(plugin: PluginRef | None, name: str) -> str:
    """``dist/name``: ``name`` as registered by ``plugin``'s distribution."""
    return f"{qualifier(plugin)}/{name}"


def _where(variant: Variant) -> str:
    return "" if variant.name == "custom" else f"variant {variant.name!r}: "
