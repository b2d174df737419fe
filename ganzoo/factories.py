"""Factories whose parameters ganzoo can check: :func:`lazy` and the signature checks.

A factory such as ``def ema(**params): from ... import GeneratorEMA; return GeneratorEMA(**params)``
keeps plugin registration torch-free, but its signature says nothing about the parameters it
takes, so a bad one only surfaces as an obscure error deep in the class. ``lazy("module:Class")``
is the same deferred import with the class's own signature visible to ganzoo: the module is
imported on the first call or when the signature is asked for, which ganzoo does only when it
builds the component (torch is being imported then anyway).

Also here: :func:`metric_result`, the check of what a metric returns. Nothing here imports torch.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import math
import numbers
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["LazyFactory", "accepts", "describe", "describe_value", "lazy", "metric_result",
           "parameter_problem", "resolved_signature"]


class _LazySignature:
    """``__signature__`` for :class:`LazyFactory` instances, computed on access.

    On the class itself it is None, so ``inspect.signature(LazyFactory)`` still works."""

    def __get__(self, instance: LazyFactory | None, owner: type) -> inspect.Signature | None:
        return None if instance is None else instance.signature()


class LazyFactory:
    """A callable standing for ``target`` (``"package.module:attribute"``), imported on first use.

    Calling it calls the target with ``defaults`` merged under the given keyword arguments;
    :func:`inspect.signature` on it gives the target's signature (with those defaults), which is
    what ganzoo checks recipe parameters against. Build one with :func:`lazy`.
    """

    __signature__ = _LazySignature()

    def __init__(self, target: str, defaults: Mapping[str, Any] | None = None) -> None:
        module, sep, attribute = target.partition(":")
        names = module.split(".") + attribute.split(".")
        if not sep or not all(name.isidentifier() for name in names):
            raise ValueError(f"lazy(): the target must be 'package.module:attribute', got {target!r}")
        self.target = target
        self.defaults: Mapping[str, Any] = types.MappingProxyType(dict(defaults or {}))
        self._loaded: Callable[..., Any] | None = None

    def load(self) -> Callable[..., Any]:
        """Import and return the target (cached)."""
        if self._loaded is None:
            module_name, _, attribute = self.target.partition(":")
            obj: Any = importlib.import_module(module_name)
            for name in attribute.split("."):
                try:
                    obj = getattr(obj, name)
                except AttributeError:
                    # Not AttributeError: inspect would swallow it while reading __signature__.
                    raise ImportError(f"lazy({self.target!r}): {obj.__name__!r} has no "
                                      f"attribute {name!r}") from None
            if not callable(obj):
                raise TypeError(f"lazy({self.target!r}): {type(obj).__name__} is not callable")
            self._loaded = obj
        return self._loaded

    def _bound(self) -> Callable[..., Any]:
        target = self.load()
        return functools.partial(target, **self.defaults) if self.defaults else target

    def signature(self) -> inspect.Signature:
        """The target's signature, annotations evaluated where possible (imports the target).

        Defaults given to :func:`lazy` appear as keyword-only parameters, as with
        :func:`functools.partial`."""
        signature = resolved_signature(self._bound())
        if signature is None:  # a builtin without one: claim nothing, check nothing
            return inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                                      inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
        return signature

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.load()(*args, **{**self.defaults, **kwargs})

    def __repr__(self) -> str:
        extra = "".join(f", {key}={value!r}" for key, value in self.defaults.items())
        return f"lazy({self.target!r}{extra})"


def lazy(target: str, /, **defaults: Any) -> LazyFactory:
    """A factory for ``register`` that imports ``target`` (``"package.module:attribute"``, a
    class or function) only when the component is built, and whose signature is the target's.

    ``defaults`` are keyword arguments passed unless the recipe gives its own, e.g.
    ``lazy("my_plugin.networks:Discriminator", dropout=0.0)``.

    >>> register("ema", lazy("ganzoo_plugins.tricks.averaging:GeneratorEMA"))
    """
    return LazyFactory(target, defaults)


# -- signatures -----------------------------------------------------------------------------


def _namespace_of(obj: Any) -> dict[str, Any]:
    """The globals a callable's string annotations refer to."""
    for _ in range(10):  # peel partials, classes, bound methods and callable objects
        if hasattr(obj, "__globals__"):
            return obj.__globals__  # type: ignore[no-any-return]
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, type):
            if not hasattr(obj.__init__, "__globals__"):  # object.__init__: a slot wrapper
                break
            obj = obj.__init__
        elif isinstance(obj, types.MethodType):
            obj = obj.__func__
        else:
            obj = type(obj).__call__
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    return dict(vars(module)) if module is not None else {}


def resolved_signature(factory: Callable[..., Any]) -> inspect.Signature | None:
    """``factory``'s signature with string annotations (``from __future__ import annotations``)
    evaluated; one that cannot be evaluated (a name imported only for type checkers, say) stays
    a string, which the checks skip. None when the factory has no inspectable signature.

    A :class:`LazyFactory` imports its target here (errors propagate)."""
    try:
        signature = inspect.signature(factory)
    except (ValueError, TypeError):
        return None
    if not any(isinstance(p.annotation, str) for p in signature.parameters.values()):
        return signature
    try:
        return inspect.signature(factory, eval_str=True)
    except Exception:  # noqa: BLE001 - one unresolvable annotation: resolve the others one by one
        pass
    namespace = {**vars(typing), **_namespace_of(factory)}
    parameters = []
    for parameter in signature.parameters.values():
        annotation = parameter.annotation
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)  # noqa: S307 - what get_type_hints does
            except Exception:  # noqa: BLE001 - leave it unchecked
                pass
        parameters.append(parameter.replace(annotation=annotation))
    return signature.replace(parameters=parameters)


# -- checking values against annotations ------------------------------------------------------

_SEQUENCES = {list, tuple, typing.Sequence, typing.MutableSequence}
_MAPPINGS = {dict, typing.Mapping, typing.MutableMapping}
_SETS = {set, frozenset, typing.AbstractSet, typing.MutableSet}


def _origin(annotation: Any) -> Any:
    """The bare type behind an annotation: ``list`` for ``list[int]``, ``typing.Sequence`` for
    ``collections.abc.Sequence[int]`` (the abc and typing spellings are one and the same)."""
    import collections.abc as abc

    origin = typing.get_origin(annotation) or annotation
    return {abc.Sequence: typing.Sequence, abc.MutableSequence: typing.MutableSequence,
            abc.Mapping: typing.Mapping, abc.MutableMapping: typing.MutableMapping,
            abc.Set: typing.AbstractSet, abc.MutableSet: typing.MutableSet}.get(origin, origin)


def accepts(annotation: Any, value: Any) -> bool | None:
    """Whether ``value`` fits ``annotation``: True, False, or None when the annotation is not
    one ganzoo understands (then it is not checked)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = _origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        results = [accepts(member, value) for member in typing.get_args(annotation)]
        return True if True in results else (None if None in results else False)
    if origin is typing.Literal:
        return any(type(value) is type(choice) and value == choice
                   for choice in typing.get_args(annotation))
    if origin is typing.Annotated:
        return accepts(typing.get_args(annotation)[0], value)
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if origin is str:
        return isinstance(value, str)
    if origin in _SEQUENCES:  # container-ness is enough: TOML and the CLI give lists
        return isinstance(value, (list, tuple))
    if origin in _SETS:
        return isinstance(value, (list, tuple, set, frozenset))
    if origin in _MAPPINGS:
        return isinstance(value, Mapping)
    return None


def describe(annotation: Any) -> str:
    """An annotation as a user reads it: ``float``, ``int | None``, ``'a' or 'b'``."""
    if annotation is None or annotation is type(None):
        return "None"
    origin = _origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(describe(member) for member in typing.get_args(annotation))
    if origin is typing.Literal:
        return " or ".join(repr(choice) for choice in typing.get_args(annotation))
    if origin is typing.Annotated:
        return describe(typing.get_args(annotation)[0])
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b(?:typing|collections\.abc|builtins)\.", "", str(annotation))


def describe_value(value: Any) -> str:
    """A value for a one-line message: ``'banana' (str)``, ``None``, ``a Sequential``."""
    if value is None:
        return "None"
    if isinstance(value, (str, bytes, int, float, complex, list, tuple, dict, set, frozenset)):
        text = repr(value)
        if len(text) > 40:
            text = text[:37] + "..."
        return f"{text} ({type(value).__name__})"
    return f"a {type(value).__qualname__}"


def parameter_problem(factory: Callable[..., Any], positional: int, params: Mapping[str, Any],
                      bound_params: Mapping[str, Any] | None = None) -> str | None:
    """What is wrong with ``factory(<positional arguments>, **bound_params, **params)``, judged
    from its signature, or None if nothing is (or nothing can be told).

    ``positional`` is the number of arguments ganzoo itself passes first (image shape and latent
    size for networks); only keyword parameters are checked. ``bound_params`` (fixed by a
    ``family:suffix`` name) are checked for their names only: a suffix is always a string.
    A factory taking ``**params`` accepts any name; one without annotations any value.
    """
    signature = resolved_signature(factory)
    if signature is None:
        return None
    bound_params = bound_params or {}
    remaining = positional
    by_name: dict[str, inspect.Parameter] = {}
    given_by_ganzoo: set[str] = set()
    var_keyword = False
    for parameter in signature.parameters.values():
        kind = parameter.kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            remaining = 0
        elif kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
        elif remaining and kind in (inspect.Parameter.POSITIONAL_ONLY,
                                    inspect.Parameter.POSITIONAL_OR_KEYWORD):
            remaining -= 1
            given_by_ganzoo.add(parameter.name)
        elif kind is not inspect.Parameter.POSITIONAL_ONLY:
            by_name[parameter.name] = parameter
    if remaining:  # it cannot take what ganzoo passes: let the call say so, as before
        return None
    merged = {**bound_params, **params}
    for name, value in merged.items():
        if name in given_by_ganzoo:
            return f"parameter {name} is passed by ganzoo itself; remove it from the recipe"
        if name not in by_name:
            if var_keyword:
                continue
            if not by_name:
                return f"unknown parameter {name!r}: it takes no parameters"
            close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"unknown parameter {name!r}{hint} (it accepts: {', '.join(by_name)})"
        if name in params and accepts(by_name[name].annotation, value) is False:
            return (f"parameter {name} wants {describe(by_name[name].annotation)}, "
                    f"got {describe_value(value)}")
    missing = [name for name, parameter in by_name.items()
               if parameter.default is inspect.Parameter.empty and name not in merged]
    if missing:
        return f"missing required parameter {', '.join(missing)}"
    return None


# -- metric results ---------------------------------------------------------------------------


def _metric_number(value: Any) -> int | float | None:
    """``value`` as a plain int or float (numpy scalars included, for JSON reports), or None if
    it is not a number a report can hold: bools and infinities are not; NaN is (a metric may be
    undefined for some samples)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = int(value) if isinstance(value, numbers.Integral) else float(value)
    return None if math.isinf(number) else number


def _metric_value(value: Any) -> int | float | list[int | float] | None:
    """A report row's value: a number, or a list of numbers (e.g. a class histogram)."""
    if isinstance(value, (list, tuple)):
        items = [_metric_number(v) for v in value]
        return None if any(item is None for item in items) else items  # type: ignore[return-value]
    return _metric_number(value)


def metric_result(result: Any) -> tuple[Any, str | None]:
    """A metric's result made plain (numpy scalars → int/float), and what is wrong with it, if
    anything: a metric returns a finite (or NaN) number, or a dict of them keyed by name (the
    built-ins also give lists of numbers, e.g. a class histogram)."""
    wanted = "a metric returns a finite (or NaN) number, or a dict of them keyed by name"
    if not isinstance(result, dict):
        value = _metric_value(result)
        if value is None:
            return None, f"returned {describe_value(result)}; {wanted}"
        return value, None
    checked = {}
    for key, item in result.items():
        value = _metric_value(item)
        if not isinstance(key, str) or value is None:
            return None, f"returned a dict whose {key!r} is {describe_value(item)}; {wanted}"
        checked[key] = value
    return checked, None
