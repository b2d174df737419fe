"""``ganzoo compare``: fair, repeatable comparisons of variants (Lucic et al. 2018, "Are GANs
Created Equal?"): the same budget for every variant, several seeds, one metric implementation
(the shipped digit classifier), mean ± std, and quality against compute.

- :mod:`ganzoo.compare.plan` — what a comparison is (variants, seeds, budget, one training
  config per variant) and its folder, ``compare.json``, which makes it resumable;
- :mod:`ganzoo.compare.job` — one (variant, seed) run as its own process: train or resume it,
  then score it;
- :mod:`ganzoo.compare.runner` — runs the jobs, ``--jobs`` at a time, with a live display;
- :mod:`ganzoo.compare.report` — reads the run folders back and writes ``report.json``,
  ``report.md``, ``curves.png``, ``samples.png`` and ``report.html``.
"""
