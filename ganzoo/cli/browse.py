"""``ganzoo list``, ``ganzoo info`` and ``ganzoo plugins``: browsing what plugins registered.

``list`` and ``plugins`` never import torch; ``info`` builds the networks to count parameters.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from ganzoo.cli import output
from ganzoo.errors import ConfigError
from ganzoo.specs import COMPONENT_KINDS, ComponentSpec, Variant

if TYPE_CHECKING:
    from ganzoo.registry import Registry


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("list", help="list variants (or components)",
                              description="List registered variants, or components with --components.")
    p.add_argument("pattern", nargs="*", help="shell-style filters, e.g. 'wgan*' (any may match)")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="leave out names matching PATTERN (repeatable)")
    p.add_argument("--plugin", help="only what this plugin (entry-point or distribution name) registered")
    p.add_argument("--components", action="store_true",
                   help="list components of every kind (networks, losses, tricks, updates, metrics, "
                        "loggers, latents) instead of variants")
    p.add_argument("--kind", choices=COMPONENT_KINDS, help="with --components: only this kind")
    p.add_argument("--optimizers", action="store_true",
                   help="list optimizer names (torch.optim, and timm's as timm:NAME; imports both)")
    p.add_argument("--results", action="store_true",
                   help="with each variant, its latest recorded quality and speed (ganzoo compare --record)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=list_command)

    p = subparsers.add_parser("info", help="show a variant's full recipe (or a component)",
                              description="Show a variant's full recipe and parameter counts.")
    p.add_argument("name", help="a variant name (or a component name)")
    p.add_argument("--kind", choices=("variant", *COMPONENT_KINDS),
                   help="look NAME up only as this kind (needed when several kinds share the name)")
    p.add_argument("--image-size", type=int, default=28, help="image height and width (default 28)")
    p.add_argument("--channels", type=int, default=1, help="image channels (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=info_command)

    p = subparsers.add_parser("plugins", help="list loaded plugins and their problems",
                              description="List plugins: distribution, version, hooks, problems.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=plugins_command)


def _plugin_label(spec: Variant | ComponentSpec) -> str:
    return str(spec.plugin) if spec.plugin else "-"


def _distribution_label(spec: Variant | ComponentSpec) -> str:
    """'distribution version' (the entry-point name is in --json and `ganzoo plugins`)."""
    plugin = spec.plugin
    if plugin is None:
        return "-"
    if plugin.distribution is None:
        return plugin.name
    return f"{plugin.distribution} {plugin.version}" if plugin.version else plugin.distribution


def _variant_row(v: Variant, conditional: bool) -> dict[str, Any]:
    return {"name": v.name, "generator": v.generator, "discriminator": v.discriminator,
            "loss": v.loss, "tricks": list(v.tricks), "critic_steps": v.critic_steps,
            "conditional": conditional,
            "summary": v.summary, "source": v.source,
            "plugin": v.plugin.name if v.plugin else None,
            "distribution": v.plugin.distribution if v.plugin else None,
            "version": v.plugin.version if v.plugin else None}


def _component_row(spec: ComponentSpec) -> dict[str, Any]:
    row = {"kind": spec.kind, "name": spec.name, "summary": spec.summary, "source": spec.source,
           "tags": sorted(spec.tags), "conflicts": list(spec.conflicts),
           "requires_loss_tags": list(spec.requires_loss_tags), "conditional": spec.conditional,
           "plugin": spec.plugin.name if spec.plugin else None,
           "distribution": spec.plugin.distribution if spec.plugin else None,
           "version": spec.plugin.version if spec.plugin else None}
    if spec.roles:  # an update's optimizers, a trick's tag conflicts
        row["roles"] = list(spec.roles)
    if spec.kind == "latent":  # size None: what the variant's latent_dim leaves
        row["parts"] = [{"name": p.name, "kind": p.kind, "size": p.size} for p in spec.parts]
    return row


def _parts_text(parts: list[dict[str, Any]]) -> str:
    """A latent's parts, one per line: ``digit  categorical  10 classes (one-hot)``."""
    def size(part: dict[str, Any]) -> str:
        if part["kind"] == "categorical":
            return f"{part['size']} classes (one-hot)"
        if part["size"] is None:
            return "the rest of latent_dim" if len(parts) > 1 else "latent_dim values"
        return f"{part['size']} values"
    lines = [f"{p['name']}  {p['kind']}  {size(p)}" for p in parts]
    return "\n".join(f"{line}  [{p['start']}:{p['start'] + p['size']}]" if "start" in p else line
                     for line, p in zip(lines, parts))


def list_command(args: argparse.Namespace) -> int:
    from ganzoo.plugins import get_registry

    registry = get_registry()
    output.warn_plugin_problems()
    filters = args.pattern or None
    if args.optimizers:
        return _list_optimizers(filters, args.exclude, args.json)
    if args.components:
        kinds = [args.kind] if args.kind else list(COMPONENT_KINDS)
        specs = [registry.component(kind, name) for kind in kinds
                 for name in registry.list_components(kind, filters, args.exclude, args.plugin)]
        if args.json:
            output.print_json([_component_row(s) for s in specs])
            return 0
        table = Table(title="ganzoo components", title_justify="left")
        for column in ("kind", "name"):
            table.add_column(column, no_wrap=True)
        table.add_column("summary", overflow="fold")
        table.add_column("plugin", no_wrap=True)
        for spec in specs:
            table.add_row(spec.kind, Text(spec.name, style="bold"), Text(spec.summary), Text(_distribution_label(spec)))
        output.stdout.print(table)
        return 0

    variants = [registry.variant(n) for n in registry.list_variants(filters, args.exclude, args.plugin)]
    latest = {}
    if args.results:
        from ganzoo.compare.cards import read_cards

        latest = {card["variant"]: card for card in read_cards()}  # the last recorded one wins
    if args.json:
        rows = [_variant_row(v, bool(registry.conditioned_roles(v))) for v in variants]
        if args.results:
            for row in rows:
                row["results"] = latest.get(row["name"])
        output.print_json(rows)
        return 0
    table = Table(title="ganzoo variants", title_justify="left")
    for column in ("variant", "generator", "discriminator", "loss"):
        table.add_column(column, no_wrap=True)
    table.add_column("tricks", overflow="fold", min_width=16)
    if args.results:
        table.add_column("recorded results", overflow="fold", min_width=30)
    table.add_column("plugin", no_wrap=True)
    for v in variants:
        name = Text(v.name, style="bold")
        if registry.conditioned_roles(v):
            name.append(" (conditional)", style="dim")
        extra = []
        if args.results:
            from ganzoo.compare.cards import describe

            extra = [describe(latest[v.name]) if v.name in latest else "-"]
        cells = [v.generator, v.discriminator, v.loss, "\n".join(v.tricks) or "-", *extra, _distribution_label(v)]
        table.add_row(name, *map(Text, cells))
    output.stdout.print(table)
    if not variants:
        output.warn("no variant matches" if filters or args.plugin else "no variants are registered")
    return 0


def _list_optimizers(filters: list[str] | None, excludes: list[str], as_json: bool) -> int:
    import fnmatch

    from ganzoo.optimizers import list_optimizers

    names = [name for name in list_optimizers()
             if (not filters or any(fnmatch.fnmatchcase(name, f) for f in filters))
             and not any(fnmatch.fnmatchcase(name, e) for e in excludes)]
    if as_json:
        output.print_json(names)
    else:
        output.stdout.print("\n".join(names))
    return 0




def _variant_info(variant: Variant, image_shape: tuple[int, int, int]) -> dict[str, Any]:
    from ganzoo.build import build_gan, own_parameters
    from ganzoo.data.builtin import DIGIT_CLASSES
    from ganzoo.plugins import get_registry

    # A conditional recipe is shown as built for the built-in digits' ten classes.
    gan = build_gan(variant, image_shape, device="cpu", num_classes=DIGIT_CLASSES)
    info = variant.to_dict()
    start, parts = 0, []
    for part in () if variant.translate_from else get_registry().latent_parts(variant):  # where each lies
        parts.append({"name": part.name, "kind": part.kind, "size": part.size, "start": start})
        start += part.size or 0
    info["latent_parts"] = parts
    info.update({
        "plugin": _plugin_label(variant),
        "image_shape": list(image_shape),
        "parameters": {role: sum(p.numel() for p in params) for role, params in own_parameters(gan.networks).items()},
        "step": [str(built.phase) for built in gan.phases],
        "conditional": sorted(gan.conditioned) or False,
    })
    return info


def _component_info(spec: ComponentSpec) -> dict[str, Any]:
    row = _component_row(spec)
    row["plugin"] = _plugin_label(spec)
    return row


def _kinds_of(registry: Registry, name: str, kind: str | None) -> list[str]:
    """The kinds ``name`` is registered as (just ``kind`` when given), in registry order."""
    if kind == "variant":
        registry.variant(name)  # UnknownNameError with "did you mean" when it is not one
        return [kind]
    if kind is not None:
        registry.component(kind, name)
        return [kind]
    # has_component also resolves family names such as timm:resnet18.
    found = {"variant": name in registry.list_variants(),
             **{k: registry.has_component(k, name) for k in COMPONENT_KINDS}}
    kinds = [k for k, present in found.items() if present]
    if not kinds:
        registry.variant(name)  # raises UnknownNameError, suggesting close variant names
    return kinds


def _several_kinds(name: str, kinds: list[str]) -> str:
    named = [f"{'an' if k[0] in 'aeiou' else 'a'} {k}" for k in kinds]
    return f"{name!r} is {', '.join(named[:-1])} and {named[-1]}"


def _info(registry: Registry, kind: str, name: str, image_shape: tuple[int, int, int],
          as_json: bool) -> dict[str, Any]:
    if kind != "variant":
        return _component_info(registry.component(kind, name))
    from ganzoo.compare.cards import cards_of, describe

    info = _variant_info(registry.variant(name), image_shape)
    cards = cards_of(name)
    if as_json:
        info["results"] = cards
    elif cards:
        info["results"] = [describe(card) for card in cards]
    return info


def _info_table(title: str, info: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in info.items():
        if key == "parameters":
            value = ", ".join(f"{role} {count:,}" for role, count in value.items())
        elif key == "results":  # recorded by ganzoo compare --record, one per line
            value = "\n".join(value)
        elif key in ("parts", "latent_parts"):
            value = _parts_text(value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "-"
        table.add_row(key.replace("_", " "), Text(str(value)))
    return table


def info_command(args: argparse.Namespace) -> int:
    from ganzoo.plugins import get_registry

    registry = get_registry()
    output.warn_plugin_problems()
    from ganzoo.training.config import check_image_size

    check_image_size(args.image_size)  # a size of 0 or less is refused when the recipe is built
    image_shape = (args.channels, args.image_size, args.image_size)
    kinds = _kinds_of(registry, args.name, args.kind)
    if args.json:
        # One object per call keeps the JSON's shape independent of what else shares the name.
        if len(kinds) > 1:
            raise ConfigError(f"{_several_kinds(args.name, kinds)}; add --kind {'|'.join(kinds)}")
        output.print_json(_info(registry, kinds[0], args.name, image_shape, as_json=True))
        return 0
    if len(kinds) > 1:
        output.stdout.print(Text(f"{_several_kinds(args.name, kinds)}; each is shown "
                                 f"(--kind {'|'.join(kinds)} shows one)"))
    for kind in kinds:
        info = _info(registry, kind, args.name, image_shape, as_json=False)
        output.stdout.print(_info_table(f"{kind} {args.name}", info))
    return 0


def plugins_command(args: argparse.Namespace) -> int:
    from ganzoo.plugins import get_host

    host = get_host()
    rows = [info.to_dict() for info in host.every_plugin]
    if args.json:
        output.print_json(rows)
        return 0
    output.warn_plugin_problems()
    table = Table(title="ganzoo plugins", title_justify="left")
    for column in ("plugin", "distribution", "version", "hooks", "problems"):
        table.add_column(column, overflow="fold")
    for row in rows:
        problems = "; ".join(row["problems"])
        cells = [row["name"], row["distribution"] or "-", row["version"] or "-",
                 ", ".join(h.removeprefix("register_") for h in row["hooks"]) or "-"]
        table.add_row(*map(Text, cells), Text(problems, style="red") if problems else "-")
    output.stdout.print(table)
    return 0
