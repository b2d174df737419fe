"""Reproduce the evaluation classifier's shipped weights: train ``DigitNet`` with the recipe
in ganzoo/evaluation/classifier.py (deterministic: fixed seed, one thread), write them, and
compare their hash with the one ganzoo ships.

    python benchmarks/train_classifier.py /tmp/digit-classifier-v1.pt

On the CPU the shipped weights were trained on (AMD EPYC, Zen 4, AVX512-BF16; torch 2.13.0)
the hash matches bit for bit. Other vector units round differently and give other weights of
the same accuracy (e.g. ``addd8fae…`` on an AVX2 EPYC): which is why ganzoo ships one set
instead of training on first use. Exit status 0 when the hash matches, 1 when it does not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="where to write the trained weights")
    args = parser.parse_args(argv)
    from ganzoo.evaluation import classifier as clf

    started = time.perf_counter()
    net = clf.train_digit_net()
    seconds = time.perf_counter() - started
    accuracy = clf.accuracy(net, *clf.load_split("test-a"))
    sha = clf.save_weights(args.out, net.state_dict(), test_accuracy=accuracy, train_seconds=seconds)
    same = sha == clf.WEIGHTS_SHA256
    print(f"trained in {seconds:.1f} s; test-a accuracy {accuracy:.4f}; sha256 {sha}")
    print(f"{'matches' if same else 'differs from'} the shipped weights ({clf.WEIGHTS_SHA256[:12]}…)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
