"""``python -m ganzoo`` (also what ``torchrun -m ganzoo`` runs)."""

import os
import sys

from ganzoo.cli import main
from ganzoo.training.distributed import launched_by_torchrun

code = main()
if launched_by_torchrun():
    # A torchrun worker has finished (its process group is already destroyed and every file is
    # written and closed). Leave without running C++ static destructors: gloo/c10d background
    # threads still alive at interpreter exit can make a finished rank abort with
    # "terminate called without an active exception" and fail a successful run.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
