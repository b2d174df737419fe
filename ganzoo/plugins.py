"""Plugin loading: entry points in the ``ganzoo`` group → a :class:`~ganzoo.registry.Registry`.

Every plugin, built-in or third-party, is loaded on its own. A plugin that fails to import,
implements a hook that does not exist (or with parameters the hook does not have), raises in
a hook, or registers a name that is already taken is recorded as a :class:`PluginProblem`
naming its distribution, and everything else keeps working. Set ``GANZOO_STRICT_PLUGINS=1`` to
turn the first problem into an error instead (for plugin authors).

Environment variables:

- ``GANZOO_LOAD_PLUGINS``: comma-separated entry-point or distribution names; only those load
  (an empty value loads none).
- ``GANZOO_DISABLE_PLUGINS``: comma-separated entry-point or distribution names to skip.
- ``GANZOO_STRICT_PLUGINS``: ``1``/``true`` makes any plugin problem fatal.

Loading imports no torch: plugins import it inside their factories.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ganzoo import hookspecs
from ganzoo.components import STEP_POINTS
from ganzoo.errors import GanzooError, PluginError
from ganzoo.registry import Registry, normalize_distribution
from ganzoo.factories import lazy
from ganzoo.specs import DISCRIMINATOR_INPUTS, GENERATOR_INPUTS, ComponentSpec, PluginRef, Variant, check_parts

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME

# Hook name → component kind, in the order hooks are called (variants last: they use the rest).
COMPONENT_HOOKS: dict[str, str] = {
    "register_generators": "generator",
    "register_discriminators": "discriminator",
    "register_networks": "network",
    "register_losses": "loss",
    "register_tricks": "trick",
    "register_updates": "update",
    "register_metrics": "metric",
    "register_loggers": "logger",
    "register_latents": "latent",
}
HOOK_NAMES: tuple[str, ...] = (*COMPONENT_HOOKS, "register_variants")


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin, as ``ganzoo plugins`` shows it."""

    name: str
    distribution: str | None = None
    version: str | None = None
    module: str | None = None
    hooks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ref(self) -> PluginRef:
        return PluginRef(self.name, self.distribution, self.version)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "module": self.module, "hooks": list(self.hooks), "problems": list(self.problems)}


@dataclass(frozen=True)
class PluginProblem:
    """Something wrong with one plugin, reported instead of raised (unless strict)."""

    plugin: PluginRef | None  # None: a plugin setting (GANZOO_LOAD_PLUGINS ...), not one plugin
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin}: {self.message}" if self.plugin else self.message


def _env_names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _env_flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def _distributions() -> Iterable[importlib.metadata.Distribution]:
    # Indirection so tests can fake installed distributions (as pluggy's own tests do).
    return importlib.metadata.distributions()


def load_order(distributions: Iterable[importlib.metadata.Distribution]
               ) -> list[tuple[str, str | None, importlib.metadata.EntryPoint]]:
    """``(distribution, version, entry point)`` for every ``ganzoo`` entry point, in the order
    plugins load and so own names: ganzoo's own distribution first, then the others by
    normalised distribution name, each one's entry points by name. A distribution found twice
    on ``sys.path`` counts once (the first found, as Python imports it)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    for dist in distributions:
        found.setdefault(normalize_distribution(dist.metadata["name"]), dist)
    own = normalize_distribution(hookspecs.PROJECT_NAME)
    order = []
    for key in sorted(found, key=lambda key: (key != own, key)):
        dist = found[key]
        for ep in sorted((ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP),
                         key=lambda ep: ep.name):
            order.append((dist.metadata["name"], dist.version, ep))
    return order


class PluginHost:
    """A typed wrapper over pluggy's PluginManager that owns loading and the registry."""

    def __init__(self, strict: bool | None = None) -> None:
        self.strict = _env_flag("GANZOO_STRICT_PLUGINS") if strict is None else strict
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.plugins: dict[str, PluginInfo] = {}
        self.skipped: list[PluginInfo] = []  # entry points not loaded because their name was taken
        self.problems: list[PluginProblem] = []
        self.left_out: list[str] = []  # entry points GANZOO_LOAD_PLUGINS/GANZOO_DISABLE_PLUGINS kept out
        self._collected: set[str] = set()

    # -- problems ----------------------------------------------------------------------------

    def _report(self, info: PluginInfo | None, message: str) -> None:
        message = " ".join(message.split())  # pluggy's own messages span lines: one line each
        problem = PluginProblem(info.ref if info else None, message)
        if self.strict:
            raise PluginError(f"{problem} (GANZOO_STRICT_PLUGINS is set)")
        if info:
            info.problems.append(message)
        self.problems.append(problem)

    @property
    def every_plugin(self) -> list[PluginInfo]:
        """Every entry point found, loaded or not, in load order (``ganzoo plugins``)."""
        return [*self.plugins.values(), *self.skipped]

    # -- adding plugins ----------------------------------------------------------------------

    def load_entry_points(self) -> None:
        """Register every plugin of the ``ganzoo`` entry-point group, each on its own, in
        :func:`load_order`: ganzoo's own first, so no installed package can take their names."""
        only = _env_names("GANZOO_LOAD_PLUGINS")
        disabled = _env_names("GANZOO_DISABLE_PLUGINS") or set()
        installed: set[str] = set()
        for dist_name, version, ep in load_order(_distributions()):
            names = {ep.name, dist_name}
            installed |= names
            if (only is not None and not names & only) or names & disabled:
                self.left_out.append(f"{ep.name} ({dist_name})")
                continue
            info = PluginInfo(ep.name, dist_name, version, ep.value)
            if ep.name in self.plugins:
                other = self.plugins[ep.name]
                self.skipped.append(info)
                self._report(info, f"entry point name {ep.name!r} is already used by "
                                   f"{other.distribution}; skipped")
                continue
            self.plugins[ep.name] = info
            try:
                plugin = ep.load()
            except Exception as err:  # noqa: BLE001 - any import failure is the plugin's
                self._report(info, f"failed to import {ep.value!r}: {type(err).__name__}: {err}")
                continue
            self._register(plugin, info)
        for variable, wanted in (("GANZOO_LOAD_PLUGINS", only or set()), ("GANZOO_DISABLE_PLUGINS", disabled)):
            if unknown := sorted(wanted - installed):
                self._report(None, f"{variable} names {', '.join(map(repr, unknown))}, which no installed plugin "
                                   f"has as entry-point or distribution name (ganzoo plugins lists them)")

    def add_plugin(self, plugin: object, name: str, distribution: str | None = None,
                   version: str | None = None) -> PluginInfo:
        """Register a plugin object directly (tests, notebooks, embedding applications) and
        collect what it registers."""
        info = PluginInfo(name, distribution, version, getattr(plugin, "__name__", None))
        self.plugins[name] = info
        self._register(plugin, info)
        self.collect()
        return info

    def _register(self, plugin: object, info: PluginInfo) -> None:
        try:
            self.pm.register(plugin, name=info.name)
        except pluggy.PluginValidationError as err:
            self._report(info, _signature_problem(plugin) or f"bad hook implementation: {err}")
            return
        except ValueError as err:  # already registered
            self._report(info, str(err))
            return
        unknown = [caller.name for caller in self.pm.get_hookcallers(plugin) or []
                   if caller.name not in HOOK_NAMES]
        if unknown:
            self.pm.unregister(plugin)
            hints = []
            for hook in unknown:
                # Compared without the shared "register_" (which made every name look close).
                close = difflib.get_close_matches(hook.removeprefix("register_"),
                                                  [name.removeprefix("register_") for name in HOOK_NAMES], n=1)
                hints.append(f"{hook!r}" + (f" (did you mean 'register_{close[0]}'?)" if close else ""))
            self._report(info, f"implements unknown hook {', '.join(hints)}; plugin skipped")
            return
        info.hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])

    # -- collecting registrations ------------------------------------------------------------

    def collect(self) -> Registry:
        """Call the registration hooks of every plugin not collected yet, plugin by plugin,
        filling :attr:`registry`."""
        self.pm.check_pending()  # safety net: nothing unknown should be left registered
        pending = {name for name in self.plugins if name not in self._collected}
        self._collected |= pending
        for hook_name in HOOK_NAMES:
            # In load order (not pluggy's call order, which tryfirst/trylast change): the
            # first plugin to register a name owns it.
            impls = {impl.plugin_name: impl for impl in getattr(self.pm.hook, hook_name).get_hookimpls()}
            for plugin_name in self.plugins:
                impl = impls.get(plugin_name)
                if impl is None or plugin_name not in pending:
                    continue
                info = self.plugins[plugin_name]
                staged: list[ComponentSpec | Variant] = []
                register = self._make_register(hook_name, info, staged)
                try:
                    impl.function(*[{"register": register}[arg] for arg in impl.argnames])
                except GanzooError as err:
                    self._report(info, f"{hook_name}: {err}")
                    continue
                except Exception as err:  # noqa: BLE001 - a plugin bug must not break the rest
                    self._report(info, f"{hook_name} raised {type(err).__name__}: {err}")
                    continue
                for item in staged:
                    if isinstance(item, Variant):  # its own components, where it lost their names
                        item = item.renamed(lambda kind, name, ref=item.plugin: self.registry.own_name(ref, kind, name))
                    self._add(item, info)
        cause = ""
        if self.left_out:
            self.registry.unloaded = (f"not loaded, by GANZOO_LOAD_PLUGINS/GANZOO_DISABLE_PLUGINS: "
                                      f"{', '.join(self.left_out)}; one of them may provide it")
            cause = f" ({self.registry.unloaded})"
        for variant in self.registry.variants():
            missing = self.registry.missing_components(variant)
            if missing:
                reason = f"it uses unknown {', '.join(missing)}{cause}"
                self.registry.leave_out(variant.name, reason)
                owner = self.plugins.get(variant.plugin.name) if variant.plugin else None
                if owner is not None:
                    self._report(owner, f"variant {variant.name!r} skipped: {reason}")
        return self.registry

    def _add(self, item: ComponentSpec | Variant, info: PluginInfo) -> None:
        try:
            if isinstance(item, Variant):
                self.registry.add_variant(item)
            else:
                self.registry.add_component(item)
        except GanzooError as err:
            self._report(info, str(err))

    def _make_register(self, hook_name: str, info: PluginInfo,
                       staged: list[ComponentSpec | Variant]) -> Callable[..., None]:
        ref = info.ref
        if hook_name == "register_variants":
            def register_variant(variant: Variant) -> None:
                if not isinstance(variant, Variant):
                    raise GanzooError(f"register() expects a ganzoo.Variant, got {type(variant).__name__}")
                _check_name("variant", variant.name)
                staged.append(variant.replace(plugin=ref))
            return register_variant

        kind = COMPONENT_HOOKS[hook_name]
        if kind == "latent":
            def register_latent(name: str, parts: Any, *, summary: str = "", source: str = "") -> None:
                _check_name(kind, name)
                try:
                    checked = check_parts(parts)
                except GanzooError as err:
                    raise GanzooError(f"latent {name!r}: {err}") from None
                # The factory draws this latent's vectors: spec.create(n, latent_dim, ...).
                staged.append(ComponentSpec(kind=kind, name=name, summary=summary, source=source, parts=checked,
                                            factory=functools.partial(lazy("ganzoo.latent:sample_latent"), distribution=checked),
                                            plugin=ref))
            return register_latent

        def register_component(name: str, factory: Callable[..., Any], *, summary: str = "",
                               source: str = "", **extra: Any) -> None:
            allowed = {"loss": {"tags"}, "trick": {"conflicts", "requires_loss_tags", "roles"},
                       "metric": {"better", "conditional"}, "generator": {"suffix_param", "conditional", "inputs"},
                       "network": {"conditional", "tags"},
                       "discriminator": {"suffix_param", "inputs", "conditional", "classifier", "tags"},
                       "update": {"roles", "points"}}.get(kind, set())
            unexpected = set(extra) - allowed
            if unexpected:
                raise GanzooError(f"register() for a {kind} got unexpected argument(s) "
                                  f"{', '.join(sorted(unexpected))}")
            _check_name(kind, name)
            if not callable(factory):
                raise GanzooError(f"{kind} {name!r}: factory is not callable")
            choices = GENERATOR_INPUTS if kind == "generator" else DISCRIMINATOR_INPUTS
            given = extra.get("inputs", choices[0])
            inputs = tuple(given) if isinstance(given, (list, tuple)) else given
            if inputs not in choices:
                raise GanzooError(f"{kind} {name!r}: inputs must be one of "
                                  f"{', '.join(map(str, choices))}, got {inputs!r}")
            conditional = extra.get("conditional", False)
            if not isinstance(conditional, bool) or (conditional and inputs != choices[0]):
                raise GanzooError(f"{kind} {name!r}: conditional must be True or False (and a "
                                  + ("generator of images cannot be conditional)" if kind == "generator" else
                                     "discriminator of (image, latent) pairs cannot be conditional)"))
            classifier = extra.get("classifier", False)
            if not isinstance(classifier, bool) or (classifier and inputs != ("image",)):
                raise GanzooError(f"{kind} {name!r}: classifier must be True or False (and a "
                                  f"discriminator of (image, latent) pairs cannot classify)")
            lists = {}
            for key in ("tags", "conflicts", "requires_loss_tags", "roles"):
                value = extra.get(key, ())
                # a bare string would silently become its characters (tags="labels" → l, a, b ...)
                if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(i, str) for i in value):
                    raise GanzooError(f"{kind} {name!r}: {key} must be a list of strings, got {value!r}")
                lists[key] = tuple(value)
            points = extra.get("points")
            if points is not None:
                if (not isinstance(points, (list, tuple, set, frozenset))
                        or not all(isinstance(p, str) for p in points)):
                    raise GanzooError(f"{kind} {name!r}: points must be a list of trick point names, got {points!r}")
                unknown = [p for p in points if p not in STEP_POINTS]
                if unknown:
                    raise GanzooError(f"{kind} {name!r}: {unknown[0]!r} is not a trick point "
                                      f"(the points: {', '.join(STEP_POINTS)})")
                points = tuple(p for p in STEP_POINTS if p in points)
            staged.append(ComponentSpec(
                kind=kind, name=name, factory=factory, summary=summary, source=source,
                tags=frozenset(lists["tags"]),
                conflicts=lists["conflicts"],
                requires_loss_tags=lists["requires_loss_tags"],
                better=extra.get("better", "lower" if kind == "metric" else ""),
                suffix_param=extra.get("suffix_param"),
                roles=lists["roles"], points=points, inputs=inputs, conditional=conditional, classifier=classifier,
                plugin=ref))
        return register_component


def _signature_problem(plugin: object) -> str | None:
    """The hook implementations of ``plugin`` whose arguments are not the hook's one
    ``register``, in words (None when that is not what pluggy refused)."""
    import inspect

    wrong = []
    for hook in HOOK_NAMES:
        function = getattr(plugin, hook, None)
        if function is None or not hasattr(function, f"{hookspecs.PROJECT_NAME}_impl"):
            continue
        try:
            names = list(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            continue
        if names != ["register"]:
            wrong.append(f"{hook}({', '.join(names)})")
    if not wrong:
        return None
    return f"{'; '.join(wrong)}: a hook implementation takes exactly one argument, named register; plugin skipped"


_NAME_BREAKERS = re.compile(r"[\s:=,/]")  # what NAME:k=v,... flags, family:suffix and dist/name split on


def _check_name(kind: str, name: object) -> None:
    if not isinstance(name, str) or not name:
        raise GanzooError(f"a {kind} name must be a non-empty string, got {name!r}")
    if _NAME_BREAKERS.search(name):
        raise GanzooError(f"{kind} name {name!r}: no spaces, ':', '=', ',' or '/' (flags such as "
                          f"--trick NAME:k=v,... and qualified names dist/NAME split on them)")


_default_host: PluginHost | None = None
_lock = threading.Lock()


def get_host() -> PluginHost:
    """The process-wide plugin host, loaded from entry points on first use."""
    global _default_host
    with _lock:
        if _default_host is None:
            host = PluginHost()
            host.load_entry_points()
            host.collect()
            _default_host = host
        return _default_host


def get_registry() -> Registry:
    """The process-wide registry (plugins load on first use)."""
    return get_host().registry


def reset() -> None:
    """Forget loaded plugins; the next :func:`get_host` loads them again (for tests)."""
    global _default_host
    with _lock:
        _default_host = None
