"""How good are a trained BiGAN encoder's features? k-nearest-neighbour classification of the
built-in digits' held-out split from E(x), as the paper evaluates its encoder (its Table 1),
next to the same encoder untrained and to raw pixels.

    ganzoo-bigan-knn RUN [--k 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import torch


@torch.no_grad()
def features(encoder: torch.nn.Module, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """E(x) for every image, in eval mode, on the encoder's device; returned on the CPU."""
    device = next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    try:
        return torch.cat([encoder(images[i:i + batch].to(device)).float().cpu()
                          for i in range(0, images.shape[0], batch)])
    finally:
        encoder.train(was_training)


def knn_accuracy(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor,
                 test_labels: torch.Tensor, k: int = 1) -> float:
    """Accuracy of a k-NN vote under cosine similarity (ties: the smallest class)."""
    train = torch.nn.functional.normalize(train.flatten(1), dim=1)
    test = torch.nn.functional.normalize(test.flatten(1), dim=1)
    nearest = (test @ train.T).topk(k, dim=1).indices
    votes = torch.nn.functional.one_hot(train_labels[nearest], int(train_labels.max()) + 1).sum(1)
    return float((votes.argmax(1) == test_labels).float().mean())


def evaluate(run: str, k: int = 1, train_split: str = "train", test_split: str = "test-b",
             device: str = "auto") -> dict[str, Any]:
    """k-NN accuracy on ``test_split`` with ``train_split`` as the labelled reference, from the
    run's encoder, the same encoder freshly initialised, and raw pixels."""
    import ganzoo
    from ganzoo.data import load_dataset

    gan, payload = ganzoo.load_gan(run, device=device)
    size = tuple(payload["image_shape"])
    train = load_dataset(f"mnist:{train_split}", image_size=size[1], channels=size[0])
    test = load_dataset(f"mnist:{test_split}", image_size=size[1], channels=size[0])
    assert train.labels is not None and test.labels is not None
    torch.manual_seed(0)
    untrained = ganzoo.build_gan(gan.variant, size, device=gan.device).networks["encoder"]
    result: dict[str, Any] = {"run": str(run), "step": payload["step"], "k": k,
                              "reference": f"mnist:{train_split} ({train.images.shape[0]} images)",
                              "test": f"mnist:{test_split} ({test.images.shape[0]} images)"}
    for name, encoder in (("encoder", gan.networks["encoder"]), ("untrained_encoder", untrained)):
        result[name] = knn_accuracy(features(encoder, train.images), train.labels,
                                    features(encoder, test.images), test.labels, k)
    result["pixels"] = knn_accuracy(train.images, train.labels, test.images, test.labels, k)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganzoo-bigan-knn", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a BiGAN run folder or checkpoint")
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from ganzoo import GanzooError

    try:
        result = evaluate(args.run, k=args.k, device=args.device)
    except GanzooError as err:
        print(f"ganzoo-bigan-knn: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.k}-NN accuracy on {result['test']} (reference {result['reference']}), step {result['step']}:")
        for name in ("encoder", "untrained_encoder", "pixels"):
            print(f"  {name.replace('_', ' '):18} {result[name]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
