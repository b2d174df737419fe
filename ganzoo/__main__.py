"""``python -m ganzoo`` (also what ``torchrun -m ganzoo`` runs)."""

import sys

from ganzoo.cli import main

sys.exit(main())
