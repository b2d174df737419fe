"""TensorBoard event files (through ``torch.utils.tensorboard``): every statistic as a scalar
(``train/NAME``, ``eval/METRIC``), the sample grids as images, the run's config as text."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganzoo import ConfigError, Logger, RunInfo, record_scalars
from ganzoo_plugins.loggers.files import name_in_run


class TensorBoardLogger(Logger):
    """Writes ``RUN/<folder>`` (default ``tensorboard``): view with ``tensorboard --logdir RUN``.
    A resumed run purges the events the interrupted run wrote after its checkpoint."""

    name = "tensorboard"

    def __init__(self, folder: str = "tensorboard", flush_secs: float = 30.0) -> None:
        self.folder, self.flush_secs = name_in_run("tensorboard", "folder", folder), float(flush_secs)
        self.writer: Any = None

    def open(self, run: RunInfo) -> None:
        if importlib.util.find_spec("tensorboard") is None:
            raise ConfigError("the tensorboard package is not installed: pip install 'ganzoo[tensorboard]'")
        from torch.utils.tensorboard import SummaryWriter

        purge = None if run.resumed_from is None else run.resumed_from + 1
        self.writer = SummaryWriter(str(run.folder / self.folder), purge_step=purge, flush_secs=self.flush_secs)
        config = json.dumps(dict(run.config), indent=2, default=str)
        self.writer.add_text("config", "    " + config.replace("\n", "\n    "), run.resumed_from or 0)

    def log(self, record: Mapping[str, Any]) -> None:
        step = int(record["step"])
        for name, value in record_scalars(record).items():
            self.writer.add_scalar(name if name.startswith("eval/") else f"train/{name}", value, step)

    def log_image(self, name: str, path: Path, step: int) -> None:
        import numpy as np
        from PIL import Image

        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        self.writer.add_image(name, pixels, step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
