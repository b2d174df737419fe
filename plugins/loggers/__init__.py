"""Built-in loggers: the run's own ``metrics.jsonl`` (always on), CSV files, and TensorBoard
event files (``pip install 'ganzoo[tensorboard]'``)."""

from __future__ import annotations

from ganzoo import hookimpl, lazy

PACKAGE = "ganzoo_plugins.loggers"


@hookimpl
def register_loggers(register):
    register("jsonl", lazy(f"{PACKAGE}.files:JsonlLogger"),
             summary="metrics.jsonl: one JSON object per record (always on; what resume, plots and compare read)")
    register("csv", lazy(f"{PACKAGE}.files:CsvLogger"),
             summary="metrics.csv (training records) and eval.csv (metric values), one row per record")
    register("tensorboard", lazy(f"{PACKAGE}.tensorboard:TensorBoardLogger"),
             summary="TensorBoard event files in RUN/tensorboard: scalars, sample grids, the config "
                     "(pip install 'ganzoo[tensorboard]')",
             source="TensorBoard's event files, written by torch.utils.tensorboard")
