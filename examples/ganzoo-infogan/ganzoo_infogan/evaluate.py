"""How well does a trained InfoGAN's categorical code pick a digit, with no labels in training?

Two measurements, with ganzoo's shipped digit classifier and the built-in digits:

- **code consistency**: for each class K of the categorical code, ``--per-code`` samples drawn
  with the code fixed (``ganzoo sample RUN --code digit=K``; every class sees the same noise
  and continuous codes) are classified; ``purity`` is the share of a code's samples in its most
  frequent digit, ``matched_accuracy`` the share of all samples whose digit is the one their code
  is matched to (codes matched one-to-one to digits to maximise it, Hungarian algorithm), so a
  code naming the same digit as another one does not count twice;
- **Q as an unsupervised classifier**: Q's most likely class on held-out real digits
  (``mnist:test-b``), matched one-to-one to the true digits the same way: the paper's MNIST
  measure (5% error, its section 7.1), next to the same Q untrained.

    ganzoo-infogan-codes RUN [--per-code 100] [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import torch

from ganzoo_infogan.codes import Code, code_layout


def matched_accuracy(assigned: torch.Tensor, truth: torch.Tensor) -> tuple[float, dict[int, int]]:
    """The accuracy of ``assigned`` groups (e.g. codes) as ``truth`` classes under the best
    one-to-one matching of groups to classes, and that matching (group → class). Groups or
    classes left over by an unequal number of each count as wrong."""
    from scipy.optimize import linear_sum_assignment

    groups, classes = int(assigned.max()) + 1, int(truth.max()) + 1
    counts = torch.zeros(groups, classes, dtype=torch.int64)
    counts.index_put_((assigned.long(), truth.long()), torch.ones_like(assigned, dtype=torch.int64), accumulate=True)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    matched = int(counts[rows, cols].sum())
    return matched / assigned.numel(), {int(r): int(c) for r, c in zip(rows, cols)}


@torch.no_grad()
def q_classes(q: torch.nn.Module, images: torch.Tensor, code: Code, batch: int = 500) -> torch.Tensor:
    """Q's most likely class of ``code`` for every image, in eval mode; on the CPU."""
    device = next(q.parameters()).device
    was_training = q.training
    q.eval()
    try:
        return torch.cat([q(images[i:i + batch].to(device))[:, code.output].argmax(1).cpu()
                          for i in range(0, images.shape[0], batch)])
    finally:
        q.train(was_training)


def categorical_code(variant: Any) -> Code:
    """The first categorical code of the variant's latent; a one-line ConfigError if none."""
    from ganzoo import ConfigError

    codes = [c for c in code_layout(variant.latent_distribution, variant.latent_dim) if c.categorical]
    if not codes:
        raise ConfigError(f"the run's latent {variant.latent_distribution!r} has no categorical code")
    return codes[0]


def code_consistency(gan: Any, code: Code, per_code: int = 100, seed: int = 0) -> dict[str, Any]:
    """Samples drawn with each class of ``code`` fixed, classified by ganzoo's digit classifier."""
    from ganzoo.evaluation import get_digit_classifier

    classes = code.part.size
    assert classes is not None
    images = torch.cat([gan.generate(per_code, seed=seed, codes={code.part.name: k}) for k in range(classes)])
    digits = get_digit_classifier().probabilities(images).argmax(1)
    drawn = torch.arange(classes).repeat_interleave(per_code)
    accuracy, matching = matched_accuracy(drawn, digits)
    rows = []
    for k in range(classes):
        counts = torch.bincount(digits[drawn == k], minlength=10)
        rows.append({"code": k, "digit": int(counts.argmax()), "purity": float(counts.max()) / per_code,
                     "matched_digit": matching.get(k)})
    return {"per_code": per_code, "purity": sum(r["purity"] for r in rows) / classes,
            "matched_accuracy": accuracy, "distinct_digits": len({r["digit"] for r in rows}), "codes": rows}


def evaluate(run: str, per_code: int = 100, seed: int = 0, test_split: str = "test-b",
             device: str = "auto") -> dict[str, Any]:
    """Code consistency of the run's samples and Q's matched accuracy on ``test_split``."""
    import ganzoo
    from ganzoo.data import load_dataset

    gan, payload = ganzoo.load_gan(run, device=device)
    code = categorical_code(gan.variant)
    result: dict[str, Any] = {"run": str(run), "step": payload["step"], "code": code.part.name,
                              **code_consistency(gan, code, per_code, seed)}
    size = tuple(payload["image_shape"])
    test = load_dataset(f"mnist:{test_split}", image_size=size[1], channels=size[0])
    assert test.labels is not None
    torch.manual_seed(seed)
    untrained = ganzoo.build_gan(gan.variant, size, device=gan.device).networks["q"]
    result["test"] = f"mnist:{test_split} ({test.images.shape[0]} images)"
    for name, q in (("q_accuracy", gan.networks["q"]), ("untrained_q_accuracy", untrained)):
        result[name] = matched_accuracy(q_classes(q, test.images, code), test.labels)[0]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganzoo-infogan-codes", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="an InfoGAN run folder or checkpoint")
    parser.add_argument("--per-code", type=int, default=100, help="samples per class of the code (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from ganzoo import GanzooError

    if args.per_code < 1:
        parser.error("--per-code must be >= 1")
    try:
        result = evaluate(args.run, per_code=args.per_code, seed=args.seed, device=args.device)
    except GanzooError as err:
        print(f"ganzoo-infogan-codes: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['run']}, step {result['step']}: code {result['code']!r}, {args.per_code} samples per class")
    for row in result["codes"]:
        print(f"  {result['code']}={row['code']}: digit {row['digit']} ({row['purity']:.0%} of its samples)")
    print(f"purity {result['purity']:.3f}, matched accuracy {result['matched_accuracy']:.3f}, "
          f"{result['distinct_digits']} distinct digits")
    print(f"Q's matched accuracy on {result['test']}: {result['q_accuracy']:.3f} "
          f"(untrained: {result['untrained_q_accuracy']:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
