"""The plugin contract: every hook a ganzoo plugin can implement.

A plugin is a module (or object) exposed through an entry point in the ``ganzoo`` group and
decorated with :data:`ganzoo.hookimpl`. The built-in plugins in ``plugins/`` use nothing but
this contract. Hooks are called once per process, when the registry is first needed (``ganzoo
list``, ``create_variant`` ...), in this order: generators, discriminators, networks, losses,
tricks, updates, metrics, loggers, latents, variants. Each receives a ``register`` callback; call it once per thing you provide.
Registration must stay cheap: import torch inside factories, never at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    from ganzoo.specs import Variant

    RegisterComponent = Callable[..., None]
    RegisterVariant = Callable[[Variant], None]

PROJECT_NAME = "ganzoo"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------
# Networks
# -------------------------------------------------------------------------


@hookspec
def register_generators(register: RegisterComponent) -> None:
    """Register generator networks.

    Called once when plugins are loaded, before any variant is registered.

    :param register:
        ``register(name: str, factory, *, summary: str = "", source: str = "",
        suffix_param: str | None = None, conditional: bool = False, inputs: tuple[str, ...] = ("latent",))``.
        ``factory(image_shape: tuple[int, int, int], latent_dim: int, **params) -> torch.nn.Module``
        must return a module mapping a latent batch ``N×latent_dim`` to images ``N×C×H×W``
        (``image_shape`` is ``(C, H, W)``) with values in [-1, 1]. ``params`` are the
        generator parameters of a variant (``generator_params``). ``summary`` is one line;
        ``source`` names the paper or tutorial. With ``suffix_param="p"`` the name is a family:
        ``NAME:VALUE`` builds ``factory(..., p=VALUE)`` (e.g. ``timm:resnet18``). With
        ``conditional=True`` the generator draws a requested class: ``factory(image_shape,
        latent_dim, num_classes, **params)``, ``forward(z, labels)`` (int64 ``N`` classes).
        With ``inputs=("image",)`` the generator translates images: ``factory(image_shape,
        **params)`` maps images ``N×C×H×W`` in [-1, 1] to images of that shape; a variant using
        it names the data field they come from (``Variant.translate_from``).

    :return: nothing; results are passed through ``register``.
    """


@hookspec
def register_discriminators(register: RegisterComponent) -> None:
    """Register discriminator (or critic) networks.

    Called once when plugins are loaded, after :func:`register_generators`.

    :param register:
        ``register(name: str, factory, *, summary: str = "", source: str = "",
        suffix_param: str | None = None, inputs: tuple[str, ...] = ("image",),
        conditional: bool = False, classifier: bool = False, tags: Iterable[str] = ())``.
        ``factory(image_shape: tuple[int, int, int], **params) -> torch.nn.Module`` must
        return a module mapping images ``N×C×H×W`` in [-1, 1] to one raw logit or critic score
        per sample (shape ``N`` or ``N×1``; no sigmoid: losses work on logits).
        ``suffix_param`` works as for generators. With ``inputs=("image", "latent")`` the
        discriminator scores (image, latent) pairs (BiGAN, ALI): ``factory(image_shape,
        latent_dim, **params)``, ``forward(images, latents)``; such a discriminator needs
        updates that feed it pairs (``register_updates``). With ``conditional=True`` it scores (image, class)
        pairs: ``factory(image_shape, num_classes, **params)``, ``forward(images, labels)``. With
        ``classifier=True`` it also classifies its input (AC-GAN's auxiliary classifier; it
        needs a conditional generator): the factory gets ``num_classes`` after its usual
        arguments, and ``forward`` returns ``(scores, class_logits)`` with logits
        ``N×num_classes``; the built-in updates add the auxiliary cross-entropy on real and
        generated images to both players' losses. ``tags`` say what tricks must know of it:
        ``"batchnorm"`` for one whose batch normalisation mixes the samples of a batch (the
        gradient penalty refuses it). A family whose members differ (``timm:MODEL``) says it
        on the built network instead, as a ``tags`` attribute (a set of strings), checked the
        same way when the networks are built.

    :return: nothing; results are passed through ``register``.
    """


@hookspec
def register_networks(register: RegisterComponent) -> None:
    """Register networks for further roles a variant declares (``ganzoo.Role``), e.g. the
    encoder of a BiGAN.

    Called once when plugins are loaded, after :func:`register_discriminators`.

    :param register:
        ``register(name: str, factory, *, summary: str = "", source: str = "",
        conditional: bool = False)``.
        ``factory(image_shape: tuple[int, int, int], latent_dim: int, **params) -> torch.nn.Module``;
        what it maps to what is between the network and the updates that use it (``params``
        are the role's ``params``; ``base=`` the base role's network for a ``Role(base=...)``).
        It gets its own optimizer (the role's ``optimizer``), is checkpointed, wrapped for DDP
        and counted in ``ganzoo info`` like the generator. With ``conditional=True`` it takes
        class labels like a conditional generator: ``factory(image_shape, latent_dim,
        num_classes, **params)``, ``forward(inputs, labels)``, and ``StepContext.run(role, inputs,
        labels)`` passes them.

    :return: nothing; results are passed through ``register``.
    """


# -------------------------------------------------------------------------
# Objectives and training-step modifications
# -------------------------------------------------------------------------


@hookspec
def register_losses(register: RegisterComponent) -> None:
    """Register adversarial losses.

    Called once when plugins are loaded, after :func:`register_discriminators`.

    :param register:
        ``register(name: str, factory, *, summary: str = "", source: str = "",
        tags: Iterable[str] = ())``. ``factory(**params) -> ganzoo.Loss`` returns an object
        with ``d_loss(real_scores, fake_scores, real_labels, fake_labels)`` and
        ``g_loss(fake_scores)`` (``g_loss(fake_scores, real_scores)`` when the loss sets
        ``g_uses_real_scores``), both returning scalar tensors. ``tags`` advertise what tricks
        may rely on: ``"labels"`` if the loss uses the real/fake targets (so label smoothing
        and label noise mean something), ``"critic"`` for unbounded Wasserstein-style scores
        (so weight clipping and the gradient penalty apply).

    :return: nothing; results are passed through ``register``.
    """


@hookspec
def register_tricks(register: RegisterComponent) -> None:
    """Register tricks: modifications of the training step at named points.

    Called once when plugins are loaded, after :func:`register_losses`.

    :param register:
        ``register(name: str, factory, *, summary: str = "", source: str = "",
        conflicts: Iterable[str] = (), requires_loss_tags: Iterable[str] = (),
        roles: Iterable[str] = ())``.
        ``factory(**params) -> ganzoo.Trick``; a trick overrides only the step points it needs
        (see :class:`ganzoo.Trick`). ``conflicts`` names tricks it cannot be combined with
        (checked both ways) and tags of networks it cannot work with (a discriminator
        registered with ``tags=("batchnorm",)`` and the gradient penalty), on the networks of
        ``roles`` when given (the penalty: ``("discriminator",)``), else on every role's;
        ``requires_loss_tags`` are tags the loss must carry. A composition
        breaking either is refused with a one-line reason before anything is built.

    :return: nothing; results are passed through ``register``.
    """


@hookspec
def register_updates(register: RegisterComponent) -> None:
    """Register updates: what the phases of a training step run (a new shape of step).

    Called once when plugins are loaded, after :func:`register_tricks`.

    :param register:
        ``register(name: str, factory, *, summary: str = "", source: str = "",
        roles: Iterable[str] = (), points: Iterable[str] | None = None)``.
        ``factory(**params) -> ganzoo.Update``; each time its phase
        runs, ``Update.run(step: ganzoo.StepContext)`` computes a loss with ``step.networks``,
        steps the optimizers of the roles it trains and returns detached scalar statistics by
        name. ``roles`` names those roles: a recipe lacking one is refused before anything is
        built. ``points`` names the trick points it calls (``ganzoo.components.STEP_POINTS``):
        a trick acting at none of a recipe's points is then refused before anything is built
        (without ``points``, after the update's first run). ``step.frozen(role)`` freezes a network the update only scores through. ``params``
        are the phase's ``params``. The built-in ``discriminator`` and ``generator`` updates
        make every variant's default step.

    :return: nothing; results are passed through ``register``.
    """


# -------------------------------------------------------------------------
# Evaluation
# -------------------------------------------------------------------------


@hookspec
def register_metrics(register: RegisterComponent) -> None:
    """Register sample-quality metrics for ``ganzoo eval`` and ``ganzoo train --eval-every``.

    Called once when plugins are loaded, after :func:`register_updates`.

    :param register:
        ``register(name: str, compute, *, summary: str = "", source: str = "",
        better: str = "lower", conditional: bool = False)``. ``compute(context: ganzoo.evaluation.EvalContext)`` returns a
        float, or a dict of named floats/lists for a metric with several parts. The context
        gives the samples, the reference images, and (computed once, shared by all metrics)
        the digit classifier's features and class probabilities of both sets, plus the seed.
        ``better`` is ``"lower"`` or ``"higher"``: which direction is good. With
        ``conditional=True`` the metric scores class-conditional samples: it runs only for
        conditional runs, and gets ``context.sample_labels`` (the class each sample was drawn
        as) and ``context.reference_labels``.

    :return: nothing; results are passed through ``register``.
    """


# -------------------------------------------------------------------------
# Where a run's records go
# -------------------------------------------------------------------------


@hookspec
def register_loggers(register: RegisterComponent) -> None:
    """Register loggers: destinations for a run's records and sample grids (a file format,
    TensorBoard, an experiment tracker), chosen per run with ``--logger NAME[:k=v,...]``.

    Called once when plugins are loaded, after :func:`register_metrics`.

    :param register:
        ``register(name: str, factory, *, summary: str = "", source: str = "")``.
        ``factory(**params) -> ganzoo.Logger``; ``params`` come from ``--logger NAME:k=v`` or
        the TOML ``[loggers.NAME]`` table. The trainer calls ``open(ganzoo.RunInfo)``, then
        ``log(record)`` with every record ``metrics.jsonl`` gets and ``log_image(name, path,
        step)`` with every sample grid, then ``close()``, on the main process only. A logger
        that raises (a missing package, a full disk) is turned off with one line; training and
        ``metrics.jsonl`` go on.

    :return: nothing; results are passed through ``register``.
    """


# -------------------------------------------------------------------------
# What the generator's input is drawn from
# -------------------------------------------------------------------------


@hookspec
def register_latents(register: RegisterComponent) -> None:
    """Register latents: named distributions of the generator's input, made of named parts (a
    categorical code beside normal noise, as InfoGAN's), which a variant names in
    ``latent_distribution``.

    Called once when plugins are loaded, after :func:`register_loggers`.

    :param register:
        ``register(name: str, parts: Sequence[ganzoo.LatentPart], *, summary: str = "",
        source: str = "")``. ``parts`` are plain data (``LatentPart(name, kind, size)``, kind
        ``normal``, ``uniform`` or ``categorical``); a latent vector is their concatenation, drawn
        part by part, so a generator still takes ``N×latent_dim``. A part without a size takes
        what the variant's ``latent_dim`` leaves; with every size given, the sizes must add up
        to ``latent_dim`` (checked when a recipe is composed). ``ganzoo sample --code NAME=VALUE``
        fixes a part, and ``ganzoo export`` takes a structured latent part by part (a
        categorical part as an int64 class index). The built-in ``normal`` and ``uniform``
        latents are one part each, named ``z``.

    :return: nothing; results are passed through ``register``.
    """


# -------------------------------------------------------------------------
# Recipes
# -------------------------------------------------------------------------


@hookspec
def register_variants(register: RegisterVariant) -> None:
    """Register named variants (recipes composing registered components).

    Called once when plugins are loaded, after every component hook, so a variant may use
    components of any plugin. A variant naming a component nobody registered is reported as a
    plugin problem and left out.

    :param register: ``register(variant: ganzoo.Variant)``.

    :return: nothing; results are passed through ``register``.
    """
