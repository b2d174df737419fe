"""Conformance checks every registered component and variant must pass.

ganzoo's own test-suite runs these over everything registered (built-in and installed
third-party plugins alike, timm-style), and plugin authors get the same checks. Each check
raises ``AssertionError`` with a message saying what is wrong.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn

from ganzoo.build import GAN, create_variant, own_parameters
from ganzoo.components import Batch, Logger, StepState, Trick, Update
from ganzoo.plugins import get_registry
from ganzoo.specs import ComponentSpec
from ganzoo.training.step import TrainingStep

IMAGE_SHAPES: tuple[tuple[int, int, int], ...] = ((1, 28, 28), (3, 32, 32))


def real_batch(image_shape: tuple[int, int, int], batch: int = 8, seed: int = 0) -> torch.Tensor:
    """A deterministic fake 'real' batch in [-1, 1] (smooth blobs, not zeros)."""
    rng = torch.Generator().manual_seed(seed)
    return torch.rand(batch, *image_shape, generator=rng).mul_(2).sub_(1).tanh_()


KIT_CLASSES = 10
"""How many classes conditional components are checked with."""


PERTURBATION = 0.05
"""Relative size of the seeded noise the label-dependence check adds to every parameter."""


@contextlib.contextmanager
def perturbed(module: nn.Module, seed: int = 0, scale: float = PERTURBATION) -> Iterator[nn.Module]:
    """``module`` with seeded Gaussian noise added to every parameter (standard deviation
    ``scale`` × the parameter's RMS, plus ``scale`` / 10 so that zeros move too), restored on
    exit. The global random-number state is not touched."""
    rng = torch.Generator().manual_seed(seed)
    saved = [p.detach().clone() for p in module.parameters()]
    try:
        with torch.no_grad():
            for p in module.parameters():
                noise = torch.randn(p.shape, generator=rng, dtype=torch.float32)
                size = scale * p.detach().float().pow(2).mean().sqrt().item() + scale / 10
                p.add_((noise * size).to(device=p.device, dtype=p.dtype))
        yield module
    finally:
        with torch.no_grad():
            for p, value in zip(module.parameters(), saved):
                p.copy_(value)


def _depends_on_labels(net: nn.Module, call: Callable[[torch.Tensor], torch.Tensor], labels: torch.Tensor,
                       kind: str, name: str) -> None:
    """``call(labels)`` must change when the labels do, with the parameters perturbed: a freshly
    built network may rightly ignore its class (conditional BatchNorm at per-class gain 1, bias 0,
    as SNGAN/BigGAN initialise it; a projection starting at zero) until training moves it, while
    one whose labels never reach the output ignores them whatever its parameters."""
    with perturbed(net):
        out, other = call(labels), call((labels + 1) % KIT_CLASSES)
    assert not torch.allclose(out, other), (
        f"{kind} {name!r} is conditional but its output ignores the labels, also with its parameters "
        f"perturbed (seeded noise of {PERTURBATION:g} × each one's RMS): the labels never reach the output")


def labelled_batch(image_shape: tuple[int, int, int], batch: int = 8, seed: int = 0,
                   fields: Sequence[str] = ()) -> Batch:
    """:func:`real_batch` with ``KIT_CLASSES`` class labels (what the trainer draws from labelled
    data), and a :func:`real_batch` of its own for each named data field."""
    extra = {name: real_batch(image_shape, batch, seed + 1000 * (i + 1)) for i, name in enumerate(fields)}
    return Batch(real_batch(image_shape, batch, seed), torch.arange(batch) % KIT_CLASSES, extra)


def _classes(variant: str) -> int | None:
    """The number of classes to build ``variant`` with: the kit's for a conditional one."""
    registry = get_registry()
    return KIT_CLASSES if registry.conditioned_roles(registry.variant(variant)) else None


def _create_generator(spec: ComponentSpec, image_shape: tuple[int, int, int], latent_dim: int) -> nn.Module:
    """The kit's instance of a registered generator (the factory's arguments by its contract)."""
    if spec.translates:
        return spec.create(image_shape)
    return spec.create(image_shape, latent_dim, *((KIT_CLASSES,) if spec.conditional else ()))


def check_generator(name: str, image_shape: tuple[int, int, int], latent_dim: int = 16,
                    batch: int = 4) -> None:
    """The generator builds, maps ``batch×latent_dim`` (a translating one: images) to
    ``batch×C×H×W`` in [-1, 1]; a
    conditional one takes class labels, its output depends on them once its parameters are
    perturbed (:func:`perturbed`: fresh, it may ignore them), and a label out of range is an
    error."""
    spec = get_registry().component("generator", name)
    net = _create_generator(spec, image_shape, latent_dim)
    assert isinstance(net, nn.Module), f"generator {name!r}: factory returned {type(net).__name__}"
    # A translating generator gets images in [-1, 1]; a latent one latents at 3x their spread.
    z = torch.rand(batch, *image_shape) * 2 - 1 if spec.translates else torch.randn(batch, latent_dim) * 3
    labels = torch.arange(batch) % KIT_CLASSES
    with torch.no_grad():
        out = net.eval()(z, labels) if spec.conditional else net.eval()(z)
        if spec.conditional:
            _depends_on_labels(net, lambda y: net(z, y), labels, "generator", name)
            _out_of_range_fails(lambda: net(z, torch.full((batch,), KIT_CLASSES)), "generator", name)
    assert tuple(out.shape) == (batch, *image_shape), \
        f"generator {name!r}: output shape {tuple(out.shape)}, expected {(batch, *image_shape)}"
    assert torch.isfinite(out).all(), f"generator {name!r}: non-finite output"
    assert out.min() >= -1 and out.max() <= 1, \
        f"generator {name!r}: output range [{out.min():.3f}, {out.max():.3f}] is outside [-1, 1]"


def check_export(name: str, image_shape: tuple[int, int, int] = (1, 28, 28), latent_dim: int = 16,
                 formats: tuple[str, ...] | None = None) -> None:
    """The generator (in eval mode) exports as a torch.export program and as ONNX, and each,
    loaded back by its own runtime, reproduces it within :data:`ganzoo.export.TOLERANCE` at a
    batch of 1 and of 7 (``torch.export``'s rules: no data-dependent Python control flow in
    ``forward``). ONNX needs ``pip install 'ganzoo[export]'``."""
    from ganzoo.errors import GanzooError
    from ganzoo.export import FORMATS, export_check

    spec = get_registry().component("generator", name)
    net = _create_generator(spec, image_shape, latent_dim)
    try:
        export_check(net, latent_dim, KIT_CLASSES if spec.conditional else None, formats or tuple(FORMATS),
                     images=image_shape if spec.translates else None)
    except GanzooError as err:
        raise AssertionError(f"generator {name!r}: {err}") from None


def _out_of_range_fails(call: Callable[[], torch.Tensor], kind: str, name: str) -> None:
    try:
        call()
    except (IndexError, RuntimeError, ValueError):
        return
    raise AssertionError(f"{kind} {name!r} accepts a class label out of range (0..{KIT_CLASSES - 1})")


def check_discriminator(name: str, image_shape: tuple[int, int, int], batch: int = 4,
                        latent_dim: int = 16) -> None:
    """The discriminator builds and gives one finite score per image (per (image, latent) pair
    for one registered with ``inputs=("image", "latent")``; per (image, label) for a
    conditional one, whose scores depend on the labels once its parameters are perturbed, as
    for :func:`check_generator`); a classifying one also gives one
    logit per class, finite, that depend on the image."""
    spec = get_registry().component("discriminator", name)
    pairs = "latent" in spec.inputs
    extra = (latent_dim,) if pairs else (KIT_CLASSES,) if spec.conditional or spec.classifier else ()
    net = spec.create(image_shape, *extra)
    assert isinstance(net, nn.Module), f"discriminator {name!r}: factory returned {type(net).__name__}"
    images = real_batch(image_shape, batch)
    labels = torch.arange(batch) % KIT_CLASSES
    second = (torch.randn(batch, latent_dim),) if pairs else (labels,) if spec.conditional else ()
    with torch.no_grad():
        out = net.eval()(images, *second)
        if spec.classifier:
            assert isinstance(out, tuple) and len(out) == 2, \
                f"discriminator {name!r} classifies: forward must return (scores, class logits)"
            out, logits = out
            assert tuple(logits.shape) == (batch, KIT_CLASSES), \
                f"discriminator {name!r}: class logits of shape {tuple(logits.shape)}, expected {(batch, KIT_CLASSES)}"
            assert torch.isfinite(logits).all(), f"discriminator {name!r}: non-finite class logits"
            other = net(real_batch(image_shape, batch, seed=1), *second)[1]
            assert not torch.allclose(logits, other), f"discriminator {name!r}: class logits ignore the image"
        if spec.conditional:
            scores = lambda *args: net(*args)[0] if spec.classifier else net(*args)  # noqa: E731
            _depends_on_labels(net, lambda y: scores(images, y), labels, "discriminator", name)
            _out_of_range_fails(lambda: scores(images, torch.full((batch,), KIT_CLASSES)), "discriminator", name)
    assert out.numel() == batch and tuple(out.shape) in {(batch,), (batch, 1)}, \
        f"discriminator {name!r}: output shape {tuple(out.shape)}, expected ({batch},) or ({batch}, 1)"
    assert torch.isfinite(out).all(), f"discriminator {name!r}: non-finite output"


def check_loss_signs(name: str) -> None:
    """Lower D loss when real scores are high and fake scores low; lower G loss when fakes
    score high (the sign convention every trainer relies on)."""
    loss = get_registry().component("loss", name).create()
    high, low = torch.full((8,), 3.0), torch.full((8,), -3.0)
    ones, zeros = torch.ones(8), torch.zeros(8)
    good_d = loss.d_loss(high, low, ones, zeros)
    bad_d = loss.d_loss(low, high, ones, zeros)
    assert good_d.dim() == 0 and torch.isfinite(good_d), f"loss {name!r}: d_loss is not a finite scalar"
    assert good_d < bad_d, f"loss {name!r}: d_loss should be lower when real scores high, fake low"
    if getattr(loss, "g_uses_real_scores", False):  # relativistic: fakes judged against reals
        good_g, bad_g = loss.g_loss(high, low), loss.g_loss(low, high)
    else:
        good_g, bad_g = loss.g_loss(high), loss.g_loss(low)
    assert good_g.dim() == 0 and torch.isfinite(good_g), f"loss {name!r}: g_loss is not a finite scalar"
    assert good_g < bad_g, f"loss {name!r}: g_loss should be lower when fake scores are high"


class _RecordingCritic(nn.Module):
    """A linear critic that remembers what it was shown."""

    def __init__(self, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.linear = nn.Linear(math.prod(image_shape), 1)
        self.inputs: list[torch.Tensor] = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.inputs.append(images.detach().clone())
        return self.linear(images.flatten(1)).view(-1)


def check_penalty_is_per_sample(trick: Trick, image_shape: tuple[int, int, int] = (1, 28, 28)) -> None:
    """A gradient-penalty-style trick must evaluate the critic on points x̂ = ε·real + (1−ε)·fake
    with one ε per sample. Checked by recording what the critic sees: for each sample,
    (x̂ − fake) / (real − fake) must be one constant in [0, 1]."""
    batch = 16
    real, fake = real_batch(image_shape, batch, seed=1), real_batch(image_shape, batch, seed=2)
    critic = _RecordingCritic(image_shape)
    state = StepState(step=0, total_steps=10, generator=nn.Identity(), discriminator=critic)
    term = trick.d_loss_term(real, fake, state)
    assert term is not None and term.dim() == 0 and torch.isfinite(term), \
        f"trick {trick.name!r}: d_loss_term must return a finite scalar"
    mixed = [x for x in critic.inputs if x.shape == real.shape]
    assert mixed, f"trick {trick.name!r}: the critic was never evaluated on a batch of interpolates"
    gap = (real - fake).flatten(1)
    ratio = (mixed[-1] - fake).flatten(1) / gap
    usable = gap.abs() > 0.05  # tiny gaps make the ratio numerically meaningless
    per_sample = torch.stack([r[u].median() for r, u in zip(ratio, usable)])
    spread = ((ratio - per_sample[:, None]).abs() * usable).amax()
    assert spread < 1e-3, \
        f"trick {trick.name!r}: the mixing coefficient varies within a sample (per-pixel, not per-sample)"
    assert (per_sample >= -1e-6).all() and (per_sample <= 1 + 1e-6).all(), \
        f"trick {trick.name!r}: mixing coefficients outside [0, 1]"
    assert per_sample.std() > 0.05, f"trick {trick.name!r}: the same mixing coefficient for every sample"


def _snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _kit_gan(name: str, image_shape: tuple[int, int, int], batch: int) -> GAN:
    """The variant built as the kit tries it; a translating generator gets random images of the
    data's shape to draw its inputs from."""
    gan = create_variant(name, image_shape=image_shape, batch_size=batch, num_classes=_classes(name))
    if gan.translates:
        gan.sources = torch.rand(2 * batch, *image_shape, generator=torch.Generator().manual_seed(7)) * 2 - 1
    return gan


def check_variant_step(name: str, image_shape: tuple[int, int, int] = (1, 28, 28),
                       batch: int = 8, seed: int = 0) -> GAN:
    """One training step of the variant: every phase runs its repeats, every role an update
    trains changes, the statistics are finite, every update calls only the trick points it
    declares (``points=``); with the default phases the discriminator is updated
    ``critic_steps`` times on as many fresh real batches."""
    torch.manual_seed(seed)
    gan = _kit_gan(name, image_shape, batch)
    step = TrainingStep(gan, total_steps=10)
    trained = {role for built in gan.phases for role in built.roles}
    before = {role: _snapshot(gan.networks[role]) for role in trained}
    drawn: list[int] = []

    def next_real() -> Batch:
        drawn.append(1)
        return labelled_batch(image_shape, batch, seed=len(drawn), fields=gan.variant.data_fields)

    stats = step(next_real)
    expected = {b.phase.name: b.phase.repeats for b in gan.phases}  # step 0: every phase is due
    assert step.updates == expected and step.step == 1, \
        f"variant {name!r}: phase runs {step.updates} in {step.step} step(s), expected {expected} in 1"
    if not gan.variant.phases:
        critic_steps = gan.variant.critic_steps
        assert len(drawn) == critic_steps, f"variant {name!r}: drew {len(drawn)} real batches, expected {critic_steps}"
    for key, value in stats.as_floats().items():
        assert math.isfinite(value), f"variant {name!r}: {key} is {value}"
    for role, spec in gan.variant.roles.items():
        if spec.base:  # shared modules are trained by their owner only
            theirs = {id(p) for p in gan.networks[spec.base].parameters()}
            held = [p for group in gan.optimizers[role].param_groups for p in group["params"] if id(p) in theirs]
            assert not held, f"variant {name!r}: role {role!r}'s optimizer holds parameters of {spec.base!r}"
    for built in gan.phases:
        extra = sorted(step.called[built.phase.name] - set(built.points or ())) if built.points is not None else []
        assert not extra, (f"update {built.phase.update!r} calls the trick point(s) {', '.join(extra)} it does not "
                           f"declare: register it with points=(...) naming every point it calls")
    for role in sorted(trained):
        assert any(not torch.equal(b, p) for b, p in zip(before[role], gan.networks[role].parameters())), \
            f"variant {name!r}: the {role} did not change"
    return gan


def check_metric(name: str) -> None:
    """The metric computes finite numbers for a small sample set, the same twice."""
    from ganzoo.evaluation.evaluate import evaluate_images

    images = real_batch((1, 28, 28), 32, seed=5)
    # A conditional metric gets samples drawn as each class in turn, as a conditional run's are.
    labels = torch.arange(32) % KIT_CLASSES if get_registry().component("metric", name).conditional else None
    first = evaluate_images(images, metrics=[name], baseline=False, sample_labels=labels).to_dict()
    assert first["metrics"], f"metric {name!r} returned nothing"
    for row in first["metrics"]:
        values = row["value"] if isinstance(row["value"], list) else [row["value"]]
        assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in values), \
            f"metric {name!r}: {row['metric']} = {row['value']!r} is not finite"
    again = evaluate_images(images, metrics=[name], baseline=False, sample_labels=labels).to_dict()
    assert again == first, f"metric {name!r} is not deterministic"


# -- checks added for the plugin-author kit (ganzoo.testing) ---------------------------------


def check_network(name: str, image_shape: tuple[int, int, int], latent_dim: int = 16) -> None:
    """A network for a further role builds at ``image_shape`` into a module with parameters of
    its own to train (what it maps is between it and the updates that use it). It is built as a
    registered variant using it builds it — on its base role (``Role(base=...)``), with the
    kit's classes when conditional — or, when no variant uses it, on its own."""
    registry = get_registry()
    spec = registry.component("network", name)
    users = [(variant, role) for variant in registry.variants() for role, used in variant.roles.items()
             if _same_component(registry.component("network", used.network), spec)]
    if users:
        variant, role = users[0]
        gan = create_variant(variant.name, image_shape=image_shape, num_classes=_classes(variant.name))
        net, own = gan.networks[role], own_parameters(gan.networks)[role]
    else:
        net = spec.create(image_shape, latent_dim, *((KIT_CLASSES,) if spec.conditional else ()))
        own = list(net.parameters()) if isinstance(net, nn.Module) else []
    assert isinstance(net, nn.Module), f"network {name!r}: factory returned {type(net).__name__}, not an nn.Module"
    assert own, f"network {name!r} has no parameters of its own to train"


def _same_component(a: ComponentSpec, b: ComponentSpec) -> bool:
    """The same registration, whether named plainly or qualified (``dist/name``)."""
    return a.plugin == b.plugin and a.kind == b.kind and a.name.rpartition("/")[2] == b.name.rpartition("/")[2]


def check_logger(name: str) -> None:
    """The logger builds with its defaults into a :class:`ganzoo.Logger` and takes a run as the
    trainer gives it one: open, training and evaluation records, a sample grid, close; then a
    second instance resumes the same folder from an earlier step. Nothing may raise (a logger
    that raises in a real run is turned off)."""
    import tempfile
    from pathlib import Path

    from ganzoo.components import RunInfo
    from ganzoo.images import save_image_grid

    spec = get_registry().component("logger", name)
    config = {"variant": {"name": "kit"}, "train": {"seed": 0}}
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder)
        grid = save_image_grid(real_batch((1, 28, 28), 4), run / "samples.png")
        for resumed_from, steps in ((None, (10, 20, 30)), (20, (30, 40))):
            logger = spec.create()
            assert isinstance(logger, Logger), f"logger {name!r}: factory returned {type(logger).__name__}, not a ganzoo.Logger"
            logger.open(RunInfo(run, run / "metrics.jsonl", config, resumed_from))
            for step in steps:
                logger.log({"step": step, "time": step / 10, "d_loss": 1.0, "g_loss": float("nan"),
                            "d_real": 0.5, "d_fake": -0.5, "steps_per_sec": 10.0, "images_per_sec": 640.0})
                logger.log_image("samples", grid, step)
            logger.log({"step": steps[-1], "time": 4.0, "eval": {"provenance": {}, "metrics": [
                {"metric": "frechet-distance", "value": 12.5, "better": "lower"},
                {"metric": "coverage.histogram", "value": [1, 2], "better": "higher"}]}})
            logger.close()


def check_latent(name: str, rest: int = 16) -> None:
    """The latent draws what its parts say (a part without a size given ``rest`` values):
    ``64×latent_dim`` finite values, the same ones again from the same seed; a categorical part
    one-hot rows of more than one class, a uniform part values within [-1, 1], a normal part
    values that vary; and a part fixed by a code holds it in every latent while the other parts
    are the ones drawn without it (what ``ganzoo sample --code`` relies on)."""
    from ganzoo.latent import fit_parts, part_slices

    spec = get_registry().component("latent", name)
    latent_dim = sum(part.size or rest for part in spec.parts)
    parts = fit_parts(spec.parts, latent_dim)

    def draw(**codes: object) -> torch.Tensor:
        return spec.create(64, latent_dim, generator=torch.Generator().manual_seed(0), codes=codes)

    z = draw()
    assert tuple(z.shape) == (64, latent_dim), f"latent {name!r}: drew {tuple(z.shape)}, not (64, {latent_dim})"
    assert torch.isfinite(z).all(), f"latent {name!r}: drew non-finite values"
    assert torch.equal(z, draw()), f"latent {name!r}: the same seed drew other latents"
    slices = part_slices(parts)
    for part in parts:
        values = z[:, slices[part.name]]
        if part.kind == "categorical":
            assert ((values == 0) | (values == 1)).all() and (values.sum(1) == 1).all(), \
                f"latent {name!r}: part {part.name!r} is not one-hot"
            assert values.argmax(1).unique().numel() > 1, f"latent {name!r}: part {part.name!r} drew one class only"
        elif part.kind == "uniform":
            assert values.abs().max() <= 1, f"latent {name!r}: uniform part {part.name!r} leaves [-1, 1]"
        assert values.std() > 0.1, f"latent {name!r}: part {part.name!r} does not vary"
        code = 1 if part.kind == "categorical" else 0.5
        coded = draw(**{part.name: code})
        want = torch.zeros(part.size or 0) if part.kind == "categorical" else torch.full((part.size or 0,), 0.5)
        if part.kind == "categorical":
            want[1] = 1
        assert (coded[:, slices[part.name]] == want).all(), f"latent {name!r}: code {part.name}={code} is not held"
        others = torch.ones(latent_dim, dtype=torch.bool)
        others[slices[part.name]] = False
        assert torch.equal(coded[:, others], z[:, others]), \
            f"latent {name!r}: fixing part {part.name!r} changed the other parts' draws"


def check_update(name: str) -> Update:
    """The update builds with its defaults into a :class:`ganzoo.Update` and declares the roles
    it trains (role names are identifiers)."""
    spec = get_registry().component("update", name)
    update = spec.create()
    assert isinstance(update, Update), \
        f"update {name!r}: factory returned {type(update).__name__}, not a ganzoo.Update"
    assert spec.roles and all(isinstance(r, str) and r.isidentifier() for r in spec.roles), \
        f"update {name!r}: register it with roles=(...) naming the roles whose optimizers it steps"
    return update


def check_trick(name: str) -> Trick:
    """The trick builds with its defaults into a :class:`ganzoo.Trick`; a trick that adds a
    discriminator loss term and needs a ``critic`` loss (a gradient penalty) must evaluate the
    critic on per-sample interpolates (:func:`check_penalty_is_per_sample`)."""
    spec = get_registry().component("trick", name)
    trick = spec.create()
    assert isinstance(trick, Trick), \
        f"trick {name!r}: factory returned {type(trick).__name__}, not a ganzoo.Trick"
    if trick.overrides("d_loss_term") and "critic" in spec.requires_loss_tags:
        check_penalty_is_per_sample(trick)
    return trick


def _states_match(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> list[str]:
    """Names of entries that differ (floating tensors up to round-off)."""
    if first.keys() != second.keys():
        return sorted(set(first) ^ set(second))
    return [key for key, a in first.items()
            if not (torch.allclose(a, second[key], rtol=1e-5, atol=1e-6) if a.is_floating_point()
                    else torch.equal(a, second[key]))]


def check_checkpoint_round_trip(name: str, image_shape: tuple[int, int, int] = (1, 28, 28),
                                batch: int = 4, seed: int = 0) -> None:
    """Save a trained variant's state as the trainer does (networks, optimizers, trick states,
    through ``torch.save``), load it into a freshly built copy, and continue both with the same
    random numbers and batches: they must stay identical. Catches state a trick or network
    keeps outside its ``state_dict`` (e.g. a parametrization added in ``Trick.setup``)."""
    import io

    from ganzoo.runs.checkpoint import gan_state, load_gan_state

    torch.manual_seed(seed)
    gan = _kit_gan(name, image_shape, batch)

    def batches(start: int) -> Callable[[], Batch]:
        drawn = itertools.count(start)
        return lambda: labelled_batch(image_shape, batch, seed=next(drawn), fields=gan.variant.data_fields)

    TrainingStep(gan, total_steps=10)(batches(seed))
    buffer = io.BytesIO()
    torch.save(gan_state(gan), buffer)
    buffer.seek(0)
    torch.manual_seed(seed + 1)  # a differently initialised copy: everything must come from the file
    restored = _kit_gan(name, image_shape, batch)
    restored.sources = gan.sources
    load_gan_state(restored, torch.load(buffer, weights_only=True))  # as checkpoints are read
    for each in (gan, restored):
        torch.manual_seed(seed + 2)
        step = TrainingStep(each, total_steps=10)
        step.set_position(1, {})
        step(batches(seed + 1000))
    for role, net in gan.networks.items():
        differ = _states_match(net.state_dict(), restored.networks[role].state_dict())
        assert not differ, (f"variant {name!r}: after a checkpoint round trip the {role} continues "
                            f"differently ({', '.join(differ[:3])})")
    assert torch.allclose(gan.generate(4, seed=seed), restored.generate(4, seed=seed), atol=1e-5), \
        f"variant {name!r}: samples differ after a checkpoint round trip"
