"""Built-in tricks: label smoothing, label noise, instance noise, discriminator gradient
clipping, weight clipping, gradient penalty, R1 penalty, DiffAugment and generator EMA.

Provenance: Salimans et al. 2016 (arXiv:1606.03498, label smoothing); the "GAN hacks" list and
the MNIST tutorials in shared/seeds (label noise, instance noise, D gradient clipping);
Arjovsky et al. 2017 (weight clipping); Gulrajani et al. 2017 (gradient penalty);
Mescheder et al. 2018 (R1);
Yazıcı et al. 2019 (EMA); Zhao et al. 2020 (DiffAugment).
"""

from __future__ import annotations

from ganzoo import hookimpl, lazy

# lazy(): the trick classes (and torch) are imported only when a trick is built, and ganzoo
# checks recipe parameters against the classes' own signatures.
PACKAGE = "ganzoo_plugins.tricks"


@hookimpl
def register_tricks(register):
    register("label-smoothing", lazy(f"{PACKAGE}.labels:LabelSmoothing"),
             requires_loss_tags=("labels",), conflicts=("label-noise",),
             summary="one-sided: real targets 0.9 instead of 1",
             source="Salimans et al. 2016, arXiv:1606.03498")
    register("label-noise", lazy(f"{PACKAGE}.labels:LabelNoise"),
             requires_loss_tags=("labels",), conflicts=("label-smoothing",),
             summary="random targets: real ~ U(0.7, 1.2), fake ~ U(0, 0.3)",
             source="ganhacks; TensorFlow GAN tutorial notes")
    register("instance-noise", lazy(f"{PACKAGE}.noise:InstanceNoise"),
             summary="Gaussian noise on D inputs, σ decaying linearly to 0 over training",
             source="Sønderby et al. 2016, arXiv:1610.04490")
    register("d-grad-clip", lazy(f"{PACKAGE}.clipping:DiscriminatorGradClip"),
             summary="clamp discriminator gradient values to ±1 before each D update",
             source="Keras MNIST GAN tutorial (shared/seeds 000)")
    register("weight-clip", lazy(f"{PACKAGE}.clipping:WeightClip"),
             requires_loss_tags=("critic",), conflicts=("gradient-penalty",),
             summary="clamp critic weights to ±0.01 after each critic update",
             source="Arjovsky et al. 2017, arXiv:1701.07875")
    # The penalty is per sample (Gulrajani et al. 2017, sec. 4): a critic whose batch
    # normalisation mixes the samples breaks it, so a discriminator tagged batchnorm is refused.
    register("gradient-penalty", lazy(f"{PACKAGE}.penalty:GradientPenalty"),
             requires_loss_tags=("critic",), conflicts=("weight-clip", "batchnorm"), roles=("discriminator",),
             summary="λ=10 · (‖∇D(x̂)‖ − 1)² on per-sample real/fake interpolates",
             source="Gulrajani et al. 2017, arXiv:1704.00028")
    register("r1", lazy(f"{PACKAGE}.penalty:R1Penalty"),
             summary="γ/2 · ‖∇D(real)‖²: zero-centred gradient penalty on real images (any loss)",
             source="Mescheder et al. 2018, arXiv:1801.04406")
    register("diffaugment", lazy(f"{PACKAGE}.augment:DiffAugment"),
             summary="same random translation/cutout on real and fake D inputs (data-efficient GANs)",
             source="Zhao et al. 2020, arXiv:2006.10738")
    register("ema", lazy(f"{PACKAGE}.averaging:GeneratorEMA"),
             summary="sample from an exponential moving average of the generator (decay 0.999)",
             source="Yazıcı et al. 2019, arXiv:1806.04498")
