"""Runs: what a training run leaves behind and how it is read back — the run-folder layout
(:mod:`ganzoo.runs.rundir`) and checkpoints, written atomically and read safely, with loading a
trained GAN (:mod:`ganzoo.runs.checkpoint`). Used by training, evaluation and the CLI alike;
depends only on building (``ganzoo.build``) and below."""
