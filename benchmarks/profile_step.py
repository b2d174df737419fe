"""Where a training step's GPU time goes: the top CUDA kernels of one variant's step.

    python benchmarks/profile_step.py dcgan wgan-gp --batch-size 256

Profiles eager steps (the same kernels a captured step replays) with torch.profiler and
prints, per variant, the captured step's time, the summed kernel time per step, and the
kernels that take most of it. CUDA only.
"""

from __future__ import annotations

import argparse
import sys
import time


def profile(variant: str, batch_size: int, steps: int = 5) -> None:
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from ganzoo.benchmarking import _data, ganzoo_step

    device = torch.device("cuda")
    data = _data((1, 28, 28))
    graphed = ganzoo_step(variant, batch_size, device, data, total_steps=10_000)
    for _ in range(6):
        graphed()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(100):
        graphed()
    torch.cuda.synchronize()
    replay_ms = (time.perf_counter() - start) * 10
    eager = ganzoo_step(variant, batch_size, device, data, total_steps=10_000, graph="off")
    for _ in range(3):
        eager()
    torch.cuda.synchronize()
    with torch_profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            eager()
        torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if e.device_type.name == "CUDA"]
    total_us = sum(e.self_device_time_total for e in events) / steps
    launches = sum(e.count for e in events) / steps
    print(f"\n{variant} batch {batch_size}: captured step {replay_ms:.2f} ms; kernels {total_us / 1000:.2f} ms "
          f"in {launches:.0f} launches per step ({total_us / launches:.1f} us each on average)")
    for e in sorted(events, key=lambda e: -e.self_device_time_total)[:10]:
        share = e.self_device_time_total / steps / total_us
        print(f"  {share:6.1%}  {e.self_device_time_total / steps / 1000:7.3f} ms  x{e.count // steps:<4} {e.key[:110]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    for variant in args.variants:
        profile(variant, args.batch_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
