"""Optimisers, learning-rate schedules, weight decay and the seed's random search.

Optimiser API (all of them):
    opt = make("adam", lr=1e-3)          or Adam(lr=1e-3, ...)
    opt.step(items)                      updates every param IN PLACE
    opt.lr = schedule(epoch)             any schedule composes with any optimiser
    opt.state_arrays() / opt.load_state(arrays)   for checkpoints (resumable)

`items` is a list of either
    (name, layer, key)  as yielded by network.named_params: param = layer.params[key],
                        grad = layer.grads[key]; state is keyed by name, and after the
                        update a layer with `clip_latent()` (the binary layers) is clipped
                        to [-1, 1];
    (param, grad)       plain arrays; state is keyed by the position in the list.

Update rules, with g = grad + weight_decay * param (coupled L2, off by default) and
t the number of steps this param has taken (1 on the first step):
    sgd        p -= lr * g
    momentum   v = mu * v - lr * g;           p += v
    nesterov   v = mu * v - lr * g;           p += mu * v - lr * g
    adagrad    h += g^2;                      p -= lr * g / (sqrt(h) + eps)
    rmsprop    h = rho * h + (1 - rho) g^2;   p -= lr * g / (sqrt(h) + eps)
    adam       m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
               p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    amsgrad    as adam, but with vmax = max(vmax, v) in place of v (the running maximum
               of the raw second moment, bias-corrected by (1 - b2^t) as in PyTorch)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from cnnc.errors import CnncError
from tqdm import tqdm

# ---------------------------------------------------------------------------
# optimisers


def _resolve(items) -> list[tuple[str, np.ndarray, np.ndarray, object]]:
    """Normalise step() items to (name, param, grad, layer-or-None)."""
    out = []
    for i, item in enumerate(items):
        if len(item) == 3:
            name, layer, key = item
            out.append((str(name), layer.params[key], layer.grads[key], layer))
        elif len(item) == 2:
            param, grad = item
            out.append((f"#{i}", param, grad, None))
        else:
            raise CnncError(f"optimiser item {i}: expected (name, layer, key) or (param, grad)")
    return out


class Optimizer:
    """Base: keeps per-param state (dict of arrays) and applies `update` to each param."""

    slots: tuple[str, ...] = ()  # names of the per-param state arrays

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0):
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def step(self, items) -> None:
        for name, p, g, layer in _resolve(items):
            if g.shape != p.shape:
                raise CnncError(f"optimiser: grad of {name} has shape {g.shape}, param {p.shape}")
            s = self._slot_state(name, p)
            s["t"] += 1
            if self.weight_decay:
                g = g + self.weight_decay * p
            self.update(p, g, s, int(s["t"]))
            if layer is not None and hasattr(layer, "clip_latent"):
                layer.clip_latent()

    def update(self, p: np.ndarray, g: np.ndarray, s: dict[str, np.ndarray], t: int) -> None:
        raise NotImplementedError

    def _slot_state(self, name: str, p: np.ndarray) -> dict[str, np.ndarray]:
        s = self.state.get(name)
        if s is None:
            s = {"t": np.zeros((), np.int64)}
            s.update({slot: np.zeros_like(p) for slot in self.slots})
            self.state[name] = s
        elif any(s[slot].shape != p.shape for slot in self.slots):
            raise CnncError(f"optimiser state for {name} does not fit its param {p.shape}")
        return s

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Flat dict 'opt/<param name>/<slot>' -> array, for checkpoints."""
        return {f"opt/{name}/{k}": v for name, s in self.state.items() for k, v in s.items()}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what state_arrays() wrote; keys without the 'opt/' prefix are ignored."""
        self.state = {}
        for key, value in arrays.items():
            if not key.startswith("opt/"):
                continue
            name, slot = key[len("opt/") :].rsplit("/", 1)
            self.state.setdefault(name, {})[slot] = np.array(value)


class SGD(Optimizer):
    def update(self, p, g, s, t):
        p -= self.lr * g


class Momentum(Optimizer):
    slots = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.momentum = float(momentum)

    def update(self, p, g, s, t):
        v = s["v"]
        v *= self.momentum
        v -= self.lr * g
        p += v


class Nesterov(Momentum):
    """Nesterov momentum in the look-ahead form p += mu * v_new - lr * g."""

    def update(self, p, g, s, t):
        v = s["v"]
        v *= self.momentum
        v -= self.lr * g
        p += self.momentum * v - self.lr * g


class AdaGrad(Optimizer):
    slots = ("h",)

    def __init__(self, lr: float = 0.01, eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.eps = float(eps)

    def update(self, p, g, s, t):
        h = s["h"]
        h += g * g
        p -= self.lr * g / (np.sqrt(h) + self.eps)


class RMSProp(Optimizer):
    slots = ("h",)

    def __init__(
        self, lr: float = 0.001, rho: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0
    ):
        super().__init__(lr, weight_decay)
        self.rho, self.eps = float(rho), float(eps)

    def update(self, p, g, s, t):
        h = s["h"]
        h *= self.rho
        h += (1 - self.rho) * g * g
        p -= self.lr * g / (np.sqrt(h) + self.eps)


class Adam(Optimizer):
    slots = ("m", "v")

    def __init__(
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def moments(self, g, s):
        m, v = s["m"], s["v"]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        return m, v

    def apply(self, p, m, v, t):
        mhat = m / (1 - self.beta1**t)
        vhat = v / (1 - self.beta2**t)
        p -= self.lr * mhat / (np.sqrt(vhat) + self.eps)

    def update(self, p, g, s, t):
        m, v = self.moments(g, s)
        self.apply(p, m, v, t)


class AMSGrad(Adam):
    slots = ("m", "v", "vmax")

    def update(self, p, g, s, t):
        m, v = self.moments(g, s)
        np.maximum(s["vmax"], v, out=s["vmax"])
        self.apply(p, m, s["vmax"], t)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
    "amsgrad": AMSGrad,
}


def make(name: str, **kwargs) -> Optimizer:
    """An optimiser by registry name, e.g. make("adam", lr=3e-3)."""
    if name not in OPTIMIZERS:
        raise CnncError(f"unknown optimiser {name!r}; choose from {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](**kwargs)


def add_weight_decay(items, wd: float) -> float:
    """L2 weight decay on conv/dense kernels: grad += wd * w in place; returns wd/2 * sum w^2.

    items as for Optimizer.step. With (name, layer, key) items only the key "w" of
    real-valued layers is decayed (not biases, BN, or the latent weights of binary layers,
    whose sign is all that matters); (param, grad) pairs are all decayed.
    """
    penalty = 0.0
    for name, p, g, layer in _resolve(items):
        if layer is not None and (name.split(".")[-1] != "w" or hasattr(layer, "clip_latent")):
            continue
        g += wd * p
        penalty += 0.5 * wd * float(np.sum(np.square(p, dtype=np.float64)))
    return penalty


# ---------------------------------------------------------------------------
# learning-rate schedules: functions of the (possibly fractional) epoch


Schedule = Callable[[float], float]


def constant(lr0: float) -> Schedule:
    return lambda epoch: lr0


def exponential(lr0: float, gamma: float) -> Schedule:
    """lr0 * gamma ** epoch."""
    return lambda epoch: lr0 * gamma**epoch


def step_decay(lr0: float, drop: float, every: int) -> Schedule:
    """lr0 * drop ** floor(epoch / every)."""
    return lambda epoch: lr0 * drop ** math.floor(epoch / every)


def cosine(lr0: float, total: float, lr_min: float = 0.0) -> Schedule:
    """lr_min + (lr0 - lr_min) * (1 + cos(pi * epoch / total)) / 2, lr_min after total."""

    def lr(epoch: float) -> float:
        e = min(epoch, total)
        return lr_min + (lr0 - lr_min) * 0.5 * (1 + math.cos(math.pi * e / total))

    return lr


def warmup(schedule: Schedule, epochs: float) -> Schedule:
    """Scale `schedule` linearly from 1/epochs up to 1 over the first `epochs` epochs."""
    return lambda epoch: schedule(epoch) * min(1.0, (epoch + 1) / epochs)


def schedule_lr(name: str, lr0: float, epoch: float, epochs: int) -> float:
    """The named schedule's rate at `epoch` (0-based) of a run of `epochs` epochs.

    constant: lr0.  cosine: from lr0 to 0 over the run.  exponential: decays by 100x
    over the run.  step: halves every max(1, epochs // 4) epochs.
    """
    epochs = max(int(epochs), 1)
    schedules: dict[str, Callable[[], Schedule]] = {
        "constant": lambda: constant(lr0),
        "cosine": lambda: cosine(lr0, epochs),
        "exponential": lambda: exponential(lr0, 0.01 ** (1 / epochs)),
        "step": lambda: step_decay(lr0, 0.5, max(1, epochs // 4)),
    }
    if name not in schedules:
        raise CnncError(f"unknown learning-rate schedule {name!r}; choose from {list(schedules)}")
    return float(schedules[name]()(epoch))


# ---------------------------------------------------------------------------
# random search (the seed book's hyper-parameter search)


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """10 ** U(log10 lo, log10 hi)."""
    if not 0 < lo <= hi:
        raise CnncError(f"log-uniform range needs 0 < lo <= hi, got ({lo}, {hi})")
    return float(10 ** rng.uniform(math.log10(lo), math.log10(hi)))


def random_search(
    train_fn: Callable[[float, float], float],
    n_trials: int,
    lr_range: tuple[float, float] = (1e-6, 1e-2),
    reg_range: tuple[float, float] = (1e-8, 1e-4),
    rng: np.random.Generator | None = None,
    progress: bool = True,
) -> tuple[dict, list[dict]]:
    """Sample (lr, reg) log-uniformly n_trials times and keep the best.

    train_fn(lr, reg) trains a model and returns its validation score (higher is
    better, e.g. accuracy). Returns (best trial, all trials in the order run); each
    trial is {"trial", "lr", "reg", "score"}. Default ranges are the seed book's.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    table = []
    for trial in tqdm(range(n_trials), desc="random search", disable=not progress):
        lr = log_uniform(rng, *lr_range)
        reg = log_uniform(rng, *reg_range)
        score = float(train_fn(lr, reg))
        table.append({"trial": trial, "lr": lr, "reg": reg, "score": score})
    if not table:
        raise CnncError("random_search needs at least one trial")
    best = max(table, key=lambda row: row["score"])
    return best, table
