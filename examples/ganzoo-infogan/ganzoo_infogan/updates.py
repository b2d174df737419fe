"""InfoGAN's mutual-information phase. It uses only what :class:`ganzoo.StepContext` gives:
the networks by role, their optimizers, the step's latent draws."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ganzoo import ConfigError, StepContext, Update
from ganzoo_infogan.codes import Code, code_layout, q_outputs


def _weight(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ConfigError(f"update 'infogan-mi': {name} must be a number >= 0, got {value!r}")
    return float(value)


class MutualInformation(Update):
    """Maximise the variational lower bound L_I(G, Q) of I(c; G(z, c)) (Chen et al. 2016, eq. 5)
    over G and Q: draw latents from the run's sampler, generate, and ask Q for the codes.

    The loss is ``categorical_weight`` × the cross-entropy of Q's logits against each
    categorical code that generated the image, plus ``continuous_weight`` × the negative
    log-likelihood of each uniform code under a Gaussian of Q's mean and unit variance
    (½‖c − μ‖², constants dropped), as the paper's MNIST setting (λ = 1 for both, the standard
    deviation fixed). Q shares the discriminator's body, so, as in the paper, the term trains
    the generator, Q's head (the ``q`` role's optimizer) and the shared body (the
    discriminator's optimizer; its score layer gets no gradient and is left alone).

    Statistics: ``mi_accuracy`` (how often Q's most likely class is the code's, averaged over
    the categorical codes), ``mi_categorical_loss`` and ``mi_continuous_loss`` (the two terms,
    unweighted).
    """

    name = "infogan-mi"
    capturable = True  # the same device work every step: no host reads

    def __init__(self, categorical_weight: float = 1.0, continuous_weight: float = 1.0) -> None:
        self.categorical_weight = _weight("categorical_weight", categorical_weight)
        self.continuous_weight = _weight("continuous_weight", continuous_weight)
        self._key: tuple[str, int] | None = None
        self._codes: tuple[Code, ...] = ()

    def codes(self, step: StepContext) -> tuple[Code, ...]:
        """The run's codes (its latent's categorical and uniform parts), worked out once."""
        variant = step.gan.variant
        key = (variant.latent_distribution, variant.latent_dim)
        if key != self._key:
            self._codes, self._key = code_layout(*key), key
        return self._codes

    def run(self, step: StepContext):
        codes = self.codes(step)
        real = step.carry.get("real")
        n = real.shape[0] if real is not None else step.gan.variant.batch_size
        z = step.latent(n)
        images = step.run("generator", z, step.class_labels(n))
        predicted = step.run("q", images)
        if predicted.ndim != 2 or predicted.shape[1] != q_outputs(codes):
            raise ConfigError(f"update 'infogan-mi': the q role's network gives {tuple(predicted.shape)}, not "
                              f"(N, {q_outputs(codes)}): one number per class of each categorical code and per "
                              f"value of each uniform one ({', '.join(str(c.part) for c in codes)})")
        predicted = predicted.float()
        categorical, continuous, hits = [], [], []
        for code in codes:
            guess, truth = predicted[:, code.output], z[:, code.latent].float()
            if code.categorical:
                target = truth.argmax(1)
                categorical.append(F.cross_entropy(guess, target))
                hits.append((guess.detach().argmax(1) == target).float().mean())
            else:
                continuous.append(0.5 * (guess - truth).square().sum(1).mean())
        loss = predicted.new_zeros(())
        stats = {}
        if categorical:
            term = torch.stack(categorical).sum()
            loss = loss + self.categorical_weight * term
            stats["mi_accuracy"] = torch.stack(hits).mean()
            stats["mi_categorical_loss"] = term.detach()
        if continuous:
            term = torch.stack(continuous).sum()
            loss = loss + self.continuous_weight * term
            stats["mi_continuous_loss"] = term.detach()
        step.optimize(loss, "generator", "q", "discriminator")
        return stats
