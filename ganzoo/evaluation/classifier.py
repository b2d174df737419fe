"""ganzoo's own digit classifier: the offline feature extractor behind every evaluation metric.

Inception-based scores need downloaded weights and say little about 28×28 digits, so ganzoo uses
a small CNN trained on the built-in ``train`` split instead. Its weights ship inside the package
(:data:`WEIGHTS_FILE`) with their sha256 fixed here (:data:`WEIGHTS_SHA256`) and checked on every
load: every machine scores with the same instrument, and no evaluation trains anything.
(Training is deterministic on one machine, but CPUs with other vector units produce other
weights bit for bit; scores from two machines are only comparable with one set of weights.)

:func:`train_digit_net` is the recipe that produced them (``benchmarks/train_classifier.py``
reproduces them on an AVX512-BF16 CPU, 30-40 s). Anything that changes the weights must bump
:data:`MODEL_NAME`, the file name and the hash together.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.atomic import write_atomically
from ganzoo.errors import GanzooError

MODEL_NAME = "ganzoo-digit-cnn-v1"
WEIGHTS_FILE = Path(__file__).with_name("digit-classifier-v1.pt")
"""The trained weights, shipped with ganzoo (written by :func:`save_weights`)."""
WEIGHTS_SHA256 = "1154aab43c04a0c7873575bf7b59ef61d4f8f95c1e9e24c14970f013b50997cd"
""":func:`weights_sha256` of the shipped weights: trained by :func:`train_digit_net` on an AMD
EPYC (Zen 4, AVX512-BF16), torch 2.13.0, 98.4% on ``test-a``."""
FEATURE_DIM = 128
TRAIN_SEED = 20240611
TRAIN_EPOCHS = 12
BATCH_SIZE = 64
MAX_SHIFT = 2  # augmentation: random translations of up to ±2 px
_WEIGHTS_FORMAT = 1
_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, what PIL's convert("L") uses


# --------------------------------------------------------------------------------------------
# Determinism and input conversion (shared with the two-sample test in metrics.py)


@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Run the body reproducibly on the CPU, leaving the caller's global torch state untouched.

    Forks the CPU RNG (so seeding here does not disturb the caller's random stream), enables
    deterministic algorithms and uses one intra-op thread: multi-threaded CPU kernels may split
    reductions differently depending on the thread count, which changes results in the last bits.
    """
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.get_num_threads(),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
            torch.set_num_threads(previous[2])


def to_digit_images(images: torch.Tensor) -> torch.Tensor:
    """Convert images ``N×C×H×W`` in [-1, 1] to the classifier's format: float32 ``N×1×28×28``.

    Three channels become gray by luminance; other sizes are resized bilinearly with antialiasing.
    uint8 images in [0, 255] are accepted too and rescaled.
    """
    if not isinstance(images, torch.Tensor):
        images = torch.as_tensor(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape N×1×H×W or N×3×H×W, got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        images = images.float() / 127.5 - 1.0
    images = images.detach().float()
    if images.shape[1] == 3:
        weights = torch.tensor(_LUMA, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        images = (images * weights).sum(dim=1, keepdim=True)
    if images.shape[-2:] != (28, 28):
        images = F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False, antialias=True)
    return images.contiguous()


# --------------------------------------------------------------------------------------------
# The network and its training


class DigitNet(nn.Module):
    """conv32-pool-conv64-pool-conv64-pool-fc128-fc10, ~90k parameters, BatchNorm after each conv."""

    def __init__(self) -> None:
        super().__init__()

        def block(c_in: int, c_out: int, padding: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=padding, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.body = nn.Sequential(
            *block(1, 32, 1), nn.MaxPool2d(2),  # 28 -> 14
            *block(32, 64, 1), nn.MaxPool2d(2),  # 14 -> 7
            *block(64, 64, 0), nn.MaxPool2d(2),  # 7 -> 5 -> 2
            nn.Flatten(),
            nn.Linear(64 * 2 * 2, FEATURE_DIM), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.body(x)))


def load_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from ganzoo.data.builtin import builtin_mnist

    images, labels = builtin_mnist(split)
    return torch.from_numpy(images).float() / 127.5 - 1.0, torch.from_numpy(labels)


def _random_shift(images: torch.Tensor, generator: torch.Generator, max_shift: int = MAX_SHIFT) -> torch.Tensor:
    """Translate each image by its own random offset in [-max_shift, max_shift]², filling with -1."""
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)


def train_digit_net(*, epochs: int = TRAIN_EPOCHS, seed: int = TRAIN_SEED, limit: int | None = None) -> DigitNet:
    """Train a :class:`DigitNet` on the built-in ``train`` split, deterministically, on the CPU.

    ``limit`` keeps only the first ``limit`` training digits (for cheap tests); the defaults are
    what the shipped classifier was trained with. Returns the network in eval mode.
    """
    images, labels = load_split("train")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    n = len(images)
    steps_per_epoch = -(-n // BATCH_SIZE)
    with deterministic(seed):
        net = DigitNet()
        optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
        # One-cycle schedule: reaches ~98.5% in 12 epochs where a constant rate needs many more.
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=epochs * steps_per_epoch)
        generator = torch.Generator().manual_seed(seed)
        net.train()
        for _ in range(epochs):
            order = torch.randperm(n, generator=generator)
            epoch_images, epoch_labels = _random_shift(images[order], generator), labels[order]
            for start in range(0, n, BATCH_SIZE):
                batch = slice(start, start + BATCH_SIZE)
                loss = F.cross_entropy(net(epoch_images[batch]), epoch_labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
    return net.eval()


def weights_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the tensors of a state dict: names sorted, each with its dtype, shape and bytes."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def accuracy(net: DigitNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    net.eval()
    predictions = torch.cat([net(images[i : i + 500]).argmax(1) for i in range(0, len(images), 500)])
    return float((predictions == labels).float().mean())


# --------------------------------------------------------------------------------------------
# Stored weights


@dataclass(frozen=True)
class StoredWeights:
    """A verified weights file."""

    state_dict: dict[str, torch.Tensor]
    sha256: str
    test_accuracy: float
    train_seconds: float


def save_weights(
    path: Path, state_dict: Mapping[str, torch.Tensor], *, test_accuracy: float, train_seconds: float
) -> str:
    """Write weights and their sha256 atomically (temp file + ``os.replace``); return the hash.
    Tensors and plain values only: :func:`load_weights` reads it without unpickling code."""
    state = {name: tensor.detach().cpu().clone() for name, tensor in state_dict.items()}
    sha = weights_sha256(state)
    payload = {
        "format": _WEIGHTS_FORMAT,
        "name": MODEL_NAME,
        "sha256": sha,
        "test_accuracy": float(test_accuracy),
        "train_seconds": float(train_seconds),
        "state_dict": state,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_atomically(path, lambda handle: handle.write(buffer.getvalue()))
    return sha


def load_weights(path: Path, expected_sha256: str | None = None) -> StoredWeights:
    """Read and verify a weights file: its tensors must hash to what it records (and to
    ``expected_sha256`` when given) and fit :class:`DigitNet`. Any problem is one line naming
    the file (:class:`~ganzoo.errors.GanzooError`)."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != _WEIGHTS_FORMAT or payload.get("name") != MODEL_NAME:
            raise ValueError(f"not a weights file of {MODEL_NAME}")
        state = dict(payload["state_dict"])
        sha = weights_sha256(state)
        if sha != payload["sha256"]:
            raise ValueError(f"its weights hash to {sha[:12]}…, not the recorded {str(payload['sha256'])[:12]}…")
        if expected_sha256 is not None and sha != expected_sha256:
            raise ValueError(f"its weights are {sha[:12]}…, not ganzoo's {expected_sha256[:12]}…")
        DigitNet().load_state_dict(state)  # strict: right keys and shapes
        return StoredWeights(state, sha, float(payload["test_accuracy"]), float(payload.get("train_seconds", 0.0)))
    except FileNotFoundError:
        raise GanzooError(f"{path}: the digit classifier's weights are missing; reinstall ganzoo") from None
    except Exception as err:  # noqa: BLE001 - whatever is wrong, the file is not to be trusted
        message = " ".join(str(err).split())
        raise GanzooError(f"{path}: damaged digit-classifier weights ({message}); reinstall ganzoo") from None


# --------------------------------------------------------------------------------------------
# The public classifier


class DigitClassifier:
    """A trained :class:`DigitNet` in eval mode, with batched, gradient-free inference.

    Inputs are images ``N×C×H×W`` in [-1, 1] (see :func:`to_digit_images`); outputs are float32
    tensors on the CPU, ready for the functions in :mod:`ganzoo.evaluation.metrics`.
    """

    name: str = MODEL_NAME
    feature_dim: int = FEATURE_DIM

    def __init__(
        self, net: DigitNet, *, weights_sha256: str, test_accuracy: float, device: str | torch.device = "cpu"
    ) -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
        self.weights_sha256 = weights_sha256
        self.test_accuracy = test_accuracy

    def __repr__(self) -> str:
        return (
            f"DigitClassifier({self.name}, sha256={self.weights_sha256[:12]}…, "
            f"test_accuracy={self.test_accuracy:.4f})"
        )

    @torch.no_grad()
    def _run(self, images: torch.Tensor, head: bool, batch_size: int) -> torch.Tensor:
        images = to_digit_images(images)
        self.net.eval()
        outputs = []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(self.device)
            features = self.net.features(batch)
            outputs.append((self.net.head(features).softmax(dim=1) if head else features).float().cpu())
        if not outputs:
            return torch.empty(0, 10 if head else FEATURE_DIM)
        return torch.cat(outputs)

    def features(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Penultimate-layer activations, ``N×128``."""
        return self._run(images, head=False, batch_size=batch_size)

    def probabilities(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Class probabilities ``p(y|x)``, ``N×10``."""
        return self._run(images, head=True, batch_size=batch_size)


_memo: dict[tuple[str, str], DigitClassifier] = {}
_memo_lock = threading.Lock()


def get_digit_classifier(device: str | torch.device = "cpu") -> DigitClassifier:
    """The evaluation classifier: the shipped weights, verified against :data:`WEIGHTS_SHA256`,
    on ``device``. Memoised per device."""
    key = str(torch.device(device))
    with _memo_lock:
        if key not in _memo:
            weights = load_weights(WEIGHTS_FILE, WEIGHTS_SHA256)
            net = DigitNet()
            net.load_state_dict(weights.state_dict)
            _memo[key] = DigitClassifier(net, weights_sha256=weights.sha256,
                                         test_accuracy=weights.test_accuracy, device=device)
        return _memo[key]


def clear_memo() -> None:
    """Forget the in-process classifiers (the disk cache is untouched)."""
    with _memo_lock:
        _memo.clear()
