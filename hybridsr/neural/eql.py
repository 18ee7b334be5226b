"""The EQL student: a sparse network of interpretable units, read out as a formula.

An equation-learner (EQL) network (Martius & Lampert 2016; Kim et al. 2019,
arXiv:1912.04825) alternates linear maps with layers of *units* named like the
GP's operators: unary units (``identity``, ``sin``, ``exp`` ...) and binary
``*`` units that multiply two linear combinations. Its linear output may be
split into a numerator and a positive denominator (EQL-div, Sahoo et al.
2018). Trained with a sparsity penalty and pruned, the surviving weights spell
a formula, and every surviving unit is a subexpression for the GP to reuse.

Training follows Kim et al.: (1) a dense phase without the penalty, (2) a
regularized phase, either with the smoothed L0.5 penalty or with relaxed L0
(hard-concrete gates on every weight, Louizos et al. 2018), (3) pruning of
weights below ``prune_threshold`` to exact zeros, which stay frozen, and
(4) fine-tuning of the survivors without the penalty (Adam, then
Levenberg-Marquardt, with further pruning of weights that shrank below the
threshold). Several restarts train side by side as one batched network, each
with the penalty's weight scaled differently; the one with the best trade of
held-out error and size is kept.

:func:`fit_student` distils a teacher network into the student, "at each
layer" when asked: the student learns the teacher's outputs on fresh dense
samples, optionally its input gradients, and during the dense phase
FitNets-style hints (a trainable linear adapter maps each student layer onto
the corresponding teacher layer).

Training-time safety: ``exp`` clamps its argument at 10, ``log`` and ``sqrt``
read ``|z|`` floored at a small value; the extracted formula writes them as
``exp(z)``, ``log(z)`` and ``sqrt(z)`` (``log(-z)`` or ``log(Abs(z))`` where
``z`` is negative on the training rows), so it equals the network wherever
the clamps are inactive.
"""

from __future__ import annotations

import difflib
import inspect
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import sympy
import torch

from ..operators import OPERATOR_ALIASES, resolve_operator
from ..scaling import decade_scales
from .teacher import load_optimizers

__all__ = [
    "UNARY_UNITS",
    "REGULARIZATIONS",
    "EQLResult",
    "StudentError",
    "Units",
    "units_for",
    "fit_eql",
    "fit_student",
]

#: Unary units, named as the GP's operators ("identity" passes its input on).
UNARY_UNITS = frozenset({"identity", "sin", "cos", "exp", "log", "square", "cube", "sqrt",
                         "tanh", "abs"})
#: Valid values of ``regularization``.
REGULARIZATIONS = frozenset({"l05", "l0"})
_REGULARIZATION_ALIASES = {"l12": "l05", "l1/2": "l05", "l0.5": "l05", "l_0.5": "l05",
                           "smooth_l05": "l05", "hard_concrete": "l0", "l_0": "l0"}
# GP operators that need no unit: the linear maps already write them.
_LINEAR_OPERATORS = frozenset({"+", "-", "neg"})

_EXP_CLAMP = 10.0
_LOG_FLOOR = 1e-3
_SQRT_FLOOR = 1e-8
# Hard-concrete constants of Louizos et al. (2018), as in Kim et al.
_BETA, _GAMMA, _ZETA = 2.0 / 3.0, -0.1, 1.1
_L0_SHIFT = _BETA * math.log(-_GAMMA / _ZETA)
_DTYPE = torch.float64
# sympy.expand runs only on expressions with at most this many operations.
_EXPAND_LIMIT = 600
_GRAD_CLIP = 10.0
# Significant digits of the numbers written into formulas (2.99999999999999 -> 3.0).
_DIGITS = 10
# Additive terms below this fraction of the formula's RMS on every row are dropped,
# in formulas of at most _TIDY_LIMIT terms.
_NEGLIGIBLE = 1e-9
_TIDY_LIMIT = 200
# Parameters per forward-mode pass when the polish builds a Jacobian.
_JACOBIAN_CHUNK = 16
# Hard-concrete gates start mostly open (log alpha 3: P(gate = 0) ~ 1%) and learn
# faster than the weights, so that the L0 penalty can close them within the schedule.
_LOG_ALPHA_INIT = 3.0
_GATE_LR_FACTOR = 10.0
# Restarts use reg_strength times factors spread log-evenly over this many decades.
_REG_SPREAD = 1.0
# Choosing among restarts: log10(relative held-out MSE + floor) + cost per weight.
_ERROR_FLOOR = 1e-12
_ACTIVE_COST = 0.1
# Extra prune-and-polish rounds after fine-tuning.
_PRUNE_ROUNDS = 2
# Levenberg-Marquardt iterations of one polish.
_POLISH_ITERATIONS = 30


class StudentError(RuntimeError):
    """Training diverged or the pruned network says nothing; fall back to plain GP."""


# --- units -------------------------------------------------------------------

def _t_identity(z):
    return z


def _t_exp(z):
    return torch.exp(torch.clamp(z, max=_EXP_CLAMP))


def _t_log(z):
    return torch.log(torch.clamp(torch.abs(z), min=_LOG_FLOOR))


def _t_sqrt(z):
    return torch.sqrt(torch.clamp(torch.abs(z), min=_SQRT_FLOOR))


def _t_square(z):
    return z * z


def _t_cube(z):
    return z * z * z


_TORCH_UNITS = {"identity": _t_identity, "sin": torch.sin, "cos": torch.cos, "exp": _t_exp,
                "log": _t_log, "square": _t_square, "cube": _t_cube, "sqrt": _t_sqrt,
                "tanh": torch.tanh, "abs": torch.abs}


def _sympy_unit(name: str, z: sympy.Expr, sign: int) -> sympy.Expr:
    """The formula of a unit; ``sign`` says where ``log``/``sqrt`` read ``z`` (+1, -1, 0: both)."""
    if name in ("log", "sqrt"):
        inner = z if sign > 0 else (-z if sign < 0 else sympy.Abs(z))
        return sympy.log(inner) if name == "log" else sympy.sqrt(inner)
    return {"identity": lambda a: a, "sin": sympy.sin, "cos": sympy.cos, "exp": sympy.exp,
            "square": lambda a: a**2, "cube": lambda a: a**3, "tanh": sympy.tanh,
            "abs": sympy.Abs}[name](z)


@dataclass(frozen=True)
class Units:
    """The units of one EQL layer: unary unit names (repeated for counts), products, division."""

    unary: tuple[str, ...]
    n_products: int
    division: bool

    def options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`fit_eql` / :func:`fit_student`."""
        return {"unary": self.unary, "n_products": self.n_products, "division": self.division}


def units_for(unary_operators: Sequence = (), binary_operators: Sequence = ("+", "-", "*", "/"),
              *, n_products: int = 2) -> Units:
    """The units a GP operator set can express.

    ``identity`` is always there; each unary operator with a unit adds one
    (``tan`` has no unit: its poles defeat training; ``neg`` is linear);
    ``*`` enables ``n_products`` product units; ``/`` or ``inv`` enables the
    EQL-div output. Custom operators have no unit. The linear maps need
    ``+`` or ``-`` and constants need ``*`` in the GP's language to be
    written back as trees.
    """
    unary_names = [_operator_name(s) for s in unary_operators]
    binary_names = [_operator_name(s) for s in binary_operators]
    extra = UNARY_UNITS - {"identity"}
    unary = ["identity"] + [n for n in dict.fromkeys(unary_names) if n in extra]
    products = n_products if "*" in binary_names else 0
    division = "/" in binary_names or "inv" in unary_names
    return Units(tuple(unary), int(products), bool(division))


def _operator_name(spec) -> str | None:
    op = resolve_operator(spec)
    return None if op.definition is not None else op.name


# --- options -----------------------------------------------------------------

@dataclass(frozen=True)
class _Options:
    """fit_eql's parameters, checked and resolved."""

    unit_names: tuple[str, ...]  # one per unary unit, names grouped
    n_products: int
    n_layers: int
    division: bool
    regularization: str
    reg_strength: float
    epochs: tuple[int, int, int]
    learning_rate: float
    prune_threshold: float
    smoothing: float
    init_scale: float
    validation_fraction: float
    n_restarts: int
    time_limit: float | None
    seed: int
    variable_names: tuple[str, ...]


_DEFAULT_REG_STRENGTH = {"l05": 3e-3, "l0": 1e-2}
_DEFAULT_INIT_SCALE = {"l05": 0.1, "l0": 0.5}


def _resolve_options(n_features: int, *, variable_names, unary, n_products, n_layers, division,
                     regularization, reg_strength, epochs, learning_rate, prune_threshold,
                     smoothing, init_scale, validation_fraction, n_restarts, time_limit,
                     random_state) -> tuple[_Options, np.random.Generator]:
    unit_names = _resolve_unary(unary)
    n_products = _count("n_products", n_products, minimum=0)
    n_layers = _count("n_layers", n_layers, minimum=1)
    if not unit_names and n_products == 0:
        raise ValueError("a layer needs at least one unit: give unary names or n_products >= 1")
    if not isinstance(regularization, str):
        raise ValueError(f"regularization must be one of {sorted(REGULARIZATIONS)}, "
                         f"got {regularization!r}")
    reg = _REGULARIZATION_ALIASES.get(regularization.lower(), regularization.lower())
    if reg not in REGULARIZATIONS:
        near = difflib.get_close_matches(reg, sorted(REGULARIZATIONS), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown regularization {regularization!r}.{hint} Valid choices: "
                         f"{sorted(REGULARIZATIONS)} (smoothed L0.5, relaxed L0)")
    strength = _DEFAULT_REG_STRENGTH[reg] if reg_strength is None else \
        _number("reg_strength", reg_strength, minimum=0.0)
    try:
        steps = tuple(epochs)
    except TypeError:
        steps = ()
    if len(steps) != 3:
        raise ValueError(f"epochs is three step counts (dense, regularized, fine-tune), "
                         f"e.g. (400, 2000, 300); got {epochs!r}")
    epochs = tuple(_count(f"epochs[{i}]", e, minimum=0) for i, e in enumerate(steps))
    if epochs[1] == 0:
        raise ValueError("epochs[1] (regularized steps) must be >= 1; sparsity comes from it")
    lr = _number("learning_rate", learning_rate, minimum=0.0, strict=True)
    prune = _number("prune_threshold", prune_threshold, minimum=0.0)
    smoothing = _number("smoothing", smoothing, minimum=0.0, strict=True)
    init_scale = _DEFAULT_INIT_SCALE[reg] if init_scale is None else \
        _number("init_scale", init_scale, minimum=0.0, strict=True)
    fraction = _number("validation_fraction", validation_fraction, minimum=0.0)
    if fraction >= 0.9:
        raise ValueError(f"validation_fraction must be in [0, 0.9), got {validation_fraction!r}")
    n_restarts = _count("n_restarts", n_restarts, minimum=1)
    if time_limit is not None:
        time_limit = _number("time_limit", time_limit, minimum=0.0, strict=True)
    names = _variable_names(variable_names, n_features)
    rng = np.random.default_rng(random_state)
    seed = int(rng.integers(2**62))
    return _Options(tuple(unit_names), n_products, n_layers, bool(division), reg, strength,
                    epochs, lr, prune, smoothing, init_scale, fraction, n_restarts, time_limit,
                    seed, names), rng


def _resolve_unary(unary) -> list[str]:
    if isinstance(unary, str):
        raise ValueError(f"unary is a list of unit names or a mapping name -> count, e.g. "
                         f"('identity', 'sin') or {{'sin': 2}}; got the string {unary!r}")
    items = list(unary.items()) if isinstance(unary, Mapping) else [(n, 1) for n in unary]
    counts: dict[str, int] = {}
    for name, count in items:
        canonical = _unit_name(name)
        counts[canonical] = counts.get(canonical, 0) + _count(f"the count of {name!r}", count,
                                                              minimum=1)
    return [name for name, count in counts.items() for _ in range(count)]


def _unit_name(name) -> str:
    if not isinstance(name, str):
        raise ValueError(f"unit names are strings, got {name!r}")
    canonical = OPERATOR_ALIASES.get(name.strip(), name.strip())
    if canonical in UNARY_UNITS:
        return canonical
    if canonical == "*":
        raise ValueError("'*' is a binary unit: ask for it with n_products, not in unary")
    near = difflib.get_close_matches(canonical, sorted(UNARY_UNITS), n=1)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    why = " (linear layers already write it)" if canonical in _LINEAR_OPERATORS else ""
    raise ValueError(f"unknown unary unit {name!r}{why}.{hint} Valid units: "
                     f"{sorted(UNARY_UNITS)}")


def _count(what: str, value, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _number(what: str, value, *, minimum: float, strict: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        relation = ">" if strict else ">="
        raise ValueError(f"{what} must be a finite number {relation} {minimum}, got {value!r}")
    return value


def _variable_names(names, n_features: int) -> tuple[str, ...]:
    if names is None:
        return tuple(f"x{i}" for i in range(n_features))
    names = tuple(names)
    if len(names) != n_features or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"variable_names must hold {n_features} non-empty strings (one per "
                         f"column of X), got {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"variable_names repeat: {names!r}; give each column its own name")
    return names


def _check_data(X, y, *, need_y: bool) -> tuple[np.ndarray, np.ndarray | None]:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}; use "
                         f"X.reshape(-1, 1) for a single feature")
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"X must be 2-D with at least 2 rows and 1 column, got shape {X.shape}")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(f"X has NaN or inf in {int(bad.sum())} row(s); drop or impute them")
    if y is None:
        if need_y:
            raise ValueError("y is required without a teacher; pass the targets y")
        return X, None
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"y has NaN or inf in {int(bad.sum())} row(s); drop those rows")
    return X, y


# --- the network ---------------------------------------------------------------

class EQLNetwork(torch.nn.Module):
    """``n_networks`` independent EQL networks, evaluated side by side.

    Each has hidden layers of units and a linear output (numerator and
    denominator with EQL-div). A network's weights and biases form one row
    of ``theta`` (in the order ``W0, b0, W1, b1, ..., Wout, bout``;
    :meth:`split` gives the pieces), with a 0/1 ``mask`` (pruned weights
    stay exactly zero) and, with relaxed L0, a hard-concrete gate parameter
    ``log_alpha`` per weight. Running several restarts at once costs little
    more than one, since such small networks are bound by per-operation
    overhead. ``y_scale`` converts the scaled targets back to data units.
    """

    def __init__(self, n_inputs: int, unit_names: Sequence[str], n_products: int, n_layers: int,
                 division: bool, gated: bool, init_scale: float, generator: torch.Generator,
                 n_networks: int = 1):
        super().__init__()
        self.n_inputs = n_inputs
        self.unit_names = tuple(unit_names)
        self.n_products = n_products
        self.n_layers = n_layers
        self.division = division
        self.gated = gated
        self.blocks = _blocks(self.unit_names)
        width_in = len(self.unit_names) + 2 * n_products
        width_out = len(self.unit_names) + n_products
        shapes, fan_in = [], n_inputs
        for _ in range(n_layers):
            shapes += [(width_in, fan_in), (width_in,)]
            fan_in = width_out
        shapes += [(2 if division else 1, fan_in), (2 if division else 1,)]
        self.shapes = tuple(shapes)
        self.sizes = tuple(math.prod(s) for s in shapes)
        size = (n_networks, sum(self.sizes))
        theta = init_scale * torch.randn(size, generator=generator, dtype=_DTYPE)
        if division:  # start with a denominator near 1
            theta[:, -1] = 1.0
        self.theta = torch.nn.Parameter(theta)
        self.register_buffer("mask", torch.ones(size, dtype=_DTYPE))
        self.log_alpha = torch.nn.Parameter(
            _LOG_ALPHA_INIT + 0.01 * torch.randn(size, generator=generator, dtype=_DTYPE)) \
            if gated else None
        self.register_buffer("y_scale", torch.ones((), dtype=_DTYPE))

    @property
    def n_networks(self) -> int:
        return self.theta.shape[0]

    def keep_only(self, index: int) -> None:
        """Drop every network but one (in place)."""
        self.theta = torch.nn.Parameter(self.theta.detach()[index:index + 1].clone())
        self.mask = self.mask[index:index + 1].clone()
        if self.log_alpha is not None:
            self.log_alpha = torch.nn.Parameter(self.log_alpha.detach()[index:index + 1].clone())

    def split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """The weight matrices and bias vectors, (K, out, in) and (K, out), of (K, size) weights."""
        return [piece.reshape((flat.shape[0],) + shape)
                for piece, shape in zip(torch.split(flat, self.sizes, dim=1), self.shapes)]

    def effective(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """The (K, size) weights in use: masked, and gated (sampled gates given a generator)."""
        weights = self.theta * self.mask
        if self.gated:
            weights = weights * _gate(self.log_alpha, generator)
        return weights

    def layer_inputs(self, weights: list[torch.Tensor], k: int, h: torch.Tensor) -> torch.Tensor:
        """Unit inputs ``z`` (K, n, width) of hidden layer ``k`` from its input ``h``."""
        return h @ weights[2 * k].transpose(1, 2) + weights[2 * k + 1].unsqueeze(1)

    def units(self, z: torch.Tensor) -> torch.Tensor:
        """One layer's unit outputs from its unit inputs ``z``."""
        parts = [_TORCH_UNITS[name](z[..., start:stop]) for name, start, stop in self.blocks]
        n_unary, n_prod = len(self.unit_names), self.n_products
        if n_prod:
            stop = n_unary + 2 * n_prod
            parts.append(z[..., n_unary:stop:2] * z[..., n_unary + 1:stop:2])
        return torch.cat(parts, dim=-1)

    def outputs(self, flat: torch.Tensor, x: torch.Tensor):
        """(out, hidden): the output layer's values (K, n, 1 or 2: numerator, denominator)
        and each hidden layer's unit outputs, for rows ``x`` of shape (n, d) or (K, n, d)."""
        weights, hidden, h = self.split(flat), [], x
        for k in range(self.n_layers):
            h = self.units(self.layer_inputs(weights, k, h))
            hidden.append(h)
        return h @ weights[-2].transpose(1, 2) + weights[-1].unsqueeze(1), hidden

    def run(self, flat: torch.Tensor, x: torch.Tensor, threshold: float | None = None):
        """(output, penalty, hidden) of every network on rows ``x`` ((n, d) or (K, n, d)).

        ``output`` is (K, n), ``penalty`` the EQL-div threshold penalty (K,),
        ``hidden`` the unit outputs of each layer. Without ``threshold`` a
        division output is plain ``num / den``.
        """
        out, hidden = self.outputs(flat, x)
        penalty = out.new_zeros(out.shape[0])
        if not self.division:
            return out[..., 0], penalty, hidden
        num, den = out[..., 0], out[..., 1]
        if threshold is None:
            return num / den, penalty, hidden
        above = den > threshold
        y = torch.where(above, num / torch.where(above, den, torch.ones_like(den)),
                        torch.zeros_like(num))
        return y, torch.relu(threshold - den).mean(dim=1), hidden

    def predict(self, X) -> np.ndarray:
        """Outputs in data units, (n,) for one network, else (K, n); deterministic gates."""
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = torch.as_tensor(np.asarray(X, dtype=float), dtype=_DTYPE)
            out = (self.run(self.effective(), x)[0] * self.y_scale).numpy().copy()
        return out[0] if self.n_networks == 1 else out

    def pre_activations(self, X) -> list[np.ndarray]:
        """The first network's unit inputs ``z`` (n, width) per hidden layer."""
        with torch.no_grad():
            weights = self.split(self.effective()[:1])
            h = torch.as_tensor(np.asarray(X, dtype=float), dtype=_DTYPE)
            zs = []
            for k in range(self.n_layers):
                z = self.layer_inputs(weights, k, h)
                zs.append(z[0].numpy().copy())
                h = self.units(z)
            return zs


def _blocks(unit_names: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    """Runs of equal names as (name, start, stop); names arrive grouped."""
    blocks, start = [], 0
    for i in range(1, len(unit_names) + 1):
        if i == len(unit_names) or unit_names[i] != unit_names[start]:
            blocks.append((unit_names[start], start, i))
            start = i
    return tuple(blocks)


def _gate(log_alpha: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Hard-concrete gate: a sample given a generator, else the deterministic test-time gate."""
    if generator is None:
        s = torch.sigmoid(log_alpha)
    else:
        u = torch.rand(log_alpha.shape, generator=generator, dtype=_DTYPE).clamp(1e-6, 1 - 1e-6)
        s = torch.sigmoid((torch.log(u) - torch.log1p(-u) + log_alpha) / _BETA)
    return torch.clamp(s * (_ZETA - _GAMMA) + _GAMMA, 0.0, 1.0)


def _smoothed_l05(w: torch.Tensor, a: float) -> torch.Tensor:
    """Kim et al.'s smoothed L0.5 per network: sum |w|^0.5, a quartic in w below |w| = a."""
    w2 = w * w
    quartic = w2 * (3.0 / (4 * a) - w2 / (8 * a**3)) + 3 * a / 8
    return torch.sqrt(torch.where(w2 < a * a, quartic, w.abs())).sum(dim=1)


def _expected_l0(network: EQLNetwork) -> torch.Tensor:
    """Expected number of open hard-concrete gates among each network's unpruned weights."""
    return (torch.sigmoid(network.log_alpha - _L0_SHIFT) * network.mask).sum(dim=1)


# --- training ------------------------------------------------------------------

@dataclass
class _Targets:
    """What the student learns: rows (data first, then dense samples) and scaled targets."""

    x: torch.Tensor
    y: torch.Tensor
    n_data: int
    gradient: torch.Tensor | None = None      # teacher input gradients on the dense rows
    hints: tuple[torch.Tensor, ...] = ()      # standardised teacher activations, dense rows
    gradient_weight: float = 0.0
    hint_weight: float = 0.0
    x_val: torch.Tensor | None = None         # held-out rows and their scaled targets
    y_val: torch.Tensor | None = None


class _Trainer:
    """Runs the four phases on a batch of networks, keeps the best one; reports the data loss."""

    def __init__(self, network: EQLNetwork, targets: _Targets, opts: _Options,
                 generator: torch.Generator, deadline: float):
        self.network, self.targets, self.opts = network, targets, opts
        self.generator, self.deadline = generator, deadline
        self.step = 0
        self.alive = torch.ones(network.n_networks, dtype=torch.bool)
        k = network.n_networks
        # Restarts spread the penalty's weight over a range around reg_strength.
        self.reg_factors = torch.logspace(-_REG_SPREAD / 2, _REG_SPREAD / 2, k, dtype=_DTYPE) \
            if k > 1 else torch.ones(1, dtype=_DTYPE)
        self.adapters = self._adapters() if targets.hints and targets.hint_weight > 0 else []

    def _adapters(self) -> list:
        t, net = self.targets, self.network
        m = min(net.n_layers, len(t.hints))
        width = len(net.unit_names) + net.n_products
        adapters = []
        for i in range(m):
            layer, hint = net.n_layers - m + i, t.hints[len(t.hints) - m + i]
            shape = (net.n_networks, width, hint.shape[1])
            weight = torch.randn(shape, generator=self.generator, dtype=_DTYPE) / math.sqrt(width)
            bias = torch.zeros((net.n_networks, 1, hint.shape[1]), dtype=_DTYPE)
            adapters.append((layer, hint, torch.nn.Parameter(weight), torch.nn.Parameter(bias)))
        return adapters

    def threshold(self) -> float | None:
        """EQL-div's denominator threshold, annealed as 1/sqrt(1 + epoch) (10 steps an epoch)."""
        return max(1.0 / math.sqrt(1.0 + self.step / 10.0), 1e-3) if self.network.division else None

    def loss(self, weights, *, reg: float, hints: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(objective, data MSE), each of shape (K,); gradient matching only with autograd on."""
        t, n, net = self.targets, self.targets.n_data, self.network
        x = t.x
        match_gradient = t.gradient is not None and torch.is_grad_enabled()
        if match_gradient:
            x = t.x.expand(net.n_networks, -1, -1).clone().requires_grad_(True)
        out, penalty, hidden = net.run(weights, x, self.threshold())
        data = torch.mean((out - t.y) ** 2, dim=1)
        loss = data + penalty
        if match_gradient:
            grad, = torch.autograd.grad(out[:, n:].sum(), x, create_graph=True)
            mismatch = torch.mean((grad[:, n:] - t.gradient) ** 2, dim=(1, 2))
            loss = loss + t.gradient_weight * mismatch
        if hints and self.adapters:
            terms = [torch.mean((hidden[layer][:, n:] @ w + b - hint) ** 2, dim=(1, 2))
                     for layer, hint, w, b in self.adapters]
            loss = loss + t.hint_weight * sum(terms) / len(terms)
        if reg > 0:
            if self.opts.regularization == "l0":
                penalty = _expected_l0(net)
            else:
                penalty = _smoothed_l05(weights, self.opts.smoothing)
            loss = loss + reg * self.reg_factors[:len(penalty)] * penalty
        return loss, data

    def _bury(self, finite: torch.Tensor, phase: str) -> None:
        """Retire networks whose loss stopped being finite; raise when none is left."""
        dead = self.alive & ~finite
        if not dead.any():
            return
        self.alive &= finite
        with torch.no_grad():  # a retired network computes zeros from here on
            self.network.theta[dead] = 0.0
            self.network.mask[dead] = 0.0
        if not self.alive.any():
            raise StudentError(f"EQL training diverged in the {phase} phase at step {self.step} "
                               f"(loss not finite); try a smaller learning_rate, fewer exp/"
                               f"square/cube units or a smaller init_scale")

    def _adam_phase(self, optimizer, steps: int, *, reg: float, hints: bool, phase: str,
                    ramp: int = 0, scheduler=None, until: float = math.inf) -> None:
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        until, started = min(until, self.deadline), time.perf_counter()
        # The ramp is the same share of the phase whether steps or time end it.
        ramp_seconds = (until - started) * ramp / steps if ramp and math.isfinite(until) else math.inf
        for i in range(steps):
            now = time.perf_counter()
            if now > until:
                return
            gen = self.generator if self.network.gated else None
            ramped = max((i + 1) / ramp, (now - started) / ramp_seconds) if ramp else 1.0
            weight = reg * min(1.0, ramped)
            optimizer.zero_grad()
            loss, _ = self.loss(self.network.effective(gen), reg=weight, hints=hints)
            finite = torch.isfinite(loss)
            self._bury(finite, phase)
            torch.where(finite, loss, torch.zeros_like(loss)).sum().backward()
            _clip_rows(parameters, _GRAD_CLIP)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            self.step += 1

    def train(self) -> float:
        net, opts = self.network, self.opts
        lr, (n_dense, n_reg, n_tune) = opts.learning_rate, opts.epochs
        # Under a time limit each phase gets its share of the steps as a share of
        # the time: a dense phase that ran to the deadline would leave no time
        # for the penalty, and a dense network is no formula.
        start, total = time.perf_counter(), n_dense + n_reg + n_tune
        end_of = lambda steps: start + (self.deadline - start) * steps / total  # noqa: E731
        extra = [p for _, _, w, b in self.adapters for p in (w, b)]
        optimizer = torch.optim.Adam(self._groups(lr) + [{"params": extra}], lr=lr)
        self._adam_phase(optimizer, n_dense, reg=0.0, hints=True, phase="dense",
                         until=end_of(n_dense))
        optimizer = torch.optim.Adam(self._groups(lr), lr=lr)
        self._adam_phase(optimizer, n_reg, reg=opts.reg_strength, hints=False,
                         phase="regularized", ramp=max(1, n_reg // 10),
                         until=end_of(n_dense + n_reg))
        self.prune()
        if n_tune and time.perf_counter() < self.deadline:
            optimizer = torch.optim.Adam([net.theta], lr=lr)
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, n_tune, lr / 100)
            self._adam_phase(optimizer, n_tune, reg=0.0, hints=False, phase="fine-tune",
                             scheduler=scheduler)
        if n_tune and time.perf_counter() < self.deadline:
            self.polish(max_iter=_POLISH_ITERATIONS)
        best = self.best()
        net.keep_only(best)
        self.alive = self.alive[best:best + 1]
        if n_tune and time.perf_counter() < self.deadline:
            # Survivors that fine-tuning shrank below the threshold go too.
            for _ in range(_PRUNE_ROUNDS):
                if not self.prune() or time.perf_counter() > self.deadline:
                    break
                self.polish(max_iter=_POLISH_ITERATIONS)
        self.drop_dead()
        with torch.no_grad():
            _, data = self.loss(net.effective(), reg=0.0, hints=False)
        if not torch.isfinite(data).all():
            raise StudentError("the EQL network's output is not finite after training; try a "
                               "smaller learning_rate or other units")
        return float(data[0])

    def _groups(self, lr: float) -> list[dict]:
        groups = [{"params": [self.network.theta]}]
        if self.network.log_alpha is not None:
            groups.append({"params": [self.network.log_alpha], "lr": lr * _GATE_LR_FACTOR})
        return groups

    def best(self) -> int:
        """The live network with the best trade of held-out error and size.

        The score is log10 of the relative held-out MSE plus
        ``_ACTIVE_COST`` per active weight: ten more weights must buy a
        tenfold smaller error.
        """
        t, net = self.targets, self.network
        x, y = (t.x_val, t.y_val) if t.x_val is not None else (t.x[:t.n_data], t.y[:t.n_data])
        with torch.no_grad():
            out = net.run(net.effective(), x)[0]
            error = torch.mean((out - y) ** 2, dim=1) / max(float(torch.mean(y**2)), 1e-300)
        error = torch.where(self.alive & torch.isfinite(error), error,
                            torch.full_like(error, math.inf))
        if not torch.isfinite(error).any():
            raise StudentError("no EQL network has a finite error after training; try a smaller "
                               "learning_rate or other units")
        active = (net.mask > 0).sum(dim=1)
        score = torch.log10(error + _ERROR_FLOOR) + _ACTIVE_COST * active
        score = torch.where(torch.isfinite(error), score, torch.full_like(score, math.inf))
        return int(torch.argmin(score))

    def prune(self) -> int:
        """Zero and freeze weights below the threshold, fold L0 gates in; returns how many went."""
        net = self.network
        with torch.no_grad():
            w = net.effective()
            keep = (w.abs() >= self.opts.prune_threshold) & (net.mask > 0)
            pruned = int((net.mask > 0).sum()) - int(keep.sum())
            net.theta.copy_(torch.where(keep, w, torch.zeros_like(w)))
            net.mask.copy_(keep.to(_DTYPE))
        net.gated = False
        net.log_alpha = None
        return pruned

    def drop_dead(self) -> None:
        """Zero the weights of units that no nonzero path joins to the output (one network)."""
        net = self.network
        with torch.no_grad():
            pieces = [w[0].numpy() for w in net.split(net.effective()[:1])]
            masks = [m[0].numpy().copy() for m in net.split(net.mask[:1])]
        n_unary = len(net.unit_names)
        for k, live in enumerate(_live_units(pieces, n_unary, net.n_layers)):
            rows = {r for unit in live for r in _unit_rows(unit, n_unary)}
            dead = [r for r in range(masks[2 * k].shape[0]) if r not in rows]
            masks[2 * k][dead] = 0.0
            masks[2 * k + 1][dead] = 0.0
        mask = torch.as_tensor(np.concatenate([m.ravel() for m in masks]), dtype=_DTYPE)
        with torch.no_grad():
            net.mask.copy_(mask.unsqueeze(0))
            net.theta.mul_(net.mask)

    def polish(self, max_iter: int) -> None:
        """Levenberg-Marquardt on each live network's surviving weights (outputs only).

        Least squares with a tiny residual is where L-BFGS crawls and
        Gauss-Newton steps converge in a few iterations. With division a step
        that lets a denominator fall below the threshold is refused.
        """
        for k in range(self.network.n_networks):
            if bool(self.alive[k]) and time.perf_counter() < self.deadline:
                self._polish_one(k, max_iter)

    def _polish_one(self, k: int, max_iter: int) -> None:
        net, t = self.network, self.targets
        active = torch.nonzero(net.mask[k] > 0).flatten()
        if len(active) == 0:
            return
        base = (net.theta.detach()[k] * net.mask[k]).clone()
        root_n = math.sqrt(len(t.y))
        floor = self.threshold()

        def residual(p):
            out = net.outputs(base.index_put((active,), p).unsqueeze(0), t.x)[0][0]
            if not net.division:
                return (out[:, 0] - t.y) / root_n
            return (out[:, 0] / out[:, 1] - t.y) / root_n

        def cost(p) -> float:
            with torch.no_grad():
                if net.division and not bool(
                        (net.outputs(base.index_put((active,), p).unsqueeze(0), t.x)[0][0, :, 1]
                         > floor).all()):
                    return math.inf
                r = residual(p)
                value = float(r @ r)
            return value if math.isfinite(value) else math.inf

        p = base[active].clone()
        current = cost(p)
        if not math.isfinite(current):
            return
        damping = 1e-3
        for _ in range(max_iter):
            if current < 1e-30 or time.perf_counter() > self.deadline:
                break
            r, J = _residual_jacobian(residual, p)
            if not (torch.isfinite(J).all() and torch.isfinite(r).all()):
                break
            A, g = J.T @ J, J.T @ r
            diag = torch.diag(torch.diag(A).clamp(min=1e-12))
            while damping < 1e12:
                try:
                    step = torch.linalg.solve(A + damping * diag, -g)
                except RuntimeError:
                    step = None
                trial = math.inf if step is None else cost(p + step)
                if trial < current:
                    break
                damping *= 4.0
            else:
                break
            improvement = current - trial
            p, current, damping = p + step, trial, max(damping / 3.0, 1e-15)
            if improvement <= 1e-15 * current:
                break
        with torch.no_grad():
            net.theta[k] = base.index_put((active,), p)


def _residual_jacobian(function, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``function(p)`` and its Jacobian (m, k), by forward mode in chunks of columns."""
    columns = []
    eye = torch.eye(len(p), dtype=p.dtype)
    push = torch.func.vmap(lambda v: torch.func.jvp(function, (p,), (v,))[1])
    for start in range(0, len(p), _JACOBIAN_CHUNK):
        columns.append(push(eye[start:start + _JACOBIAN_CHUNK]))
    with torch.no_grad():
        r = function(p)
    return r, torch.cat(columns).T


def _clip_rows(parameters, limit: float) -> None:
    """Clip each network's gradient (row of a (K, ...) tensor) to norm ``limit``."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    squares = sum(torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0).pow(2)
                  .reshape(g.shape[0], -1).sum(dim=1) for g in grads)
    factor = torch.clamp(limit / (squares.sqrt() + 1e-12), max=1.0)
    for g in grads:
        g.mul_(factor.reshape((-1,) + (1,) * (g.dim() - 1)))


class _torch_threads:
    """One torch thread inside, the previous count restored afterwards."""

    def __enter__(self):
        self.previous = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.previous)
        return False


# --- extraction ------------------------------------------------------------------

@dataclass
class EQLResult:
    """What the student found.

    Attributes
    ----------
    expression : sympy.Expr
        The pruned network as a formula over ``sympy.Symbol(name)`` variables.
    subexpressions : list of sympy.Expr
        Distinct non-constant formulas: every surviving unit's output in every
        layer (without a leading numeric factor, which the next layer's
        weights make arbitrary), the additive terms of the output (of
        numerator and denominator with division), those terms without their
        numeric coefficient, and numerator and denominator themselves.
    n_active : int
        Nonzero weights and biases after pruning.
    train_loss : float
        Mean squared error of the network on its training rows (data units).
    validation_rmse : float
        RMSE of ``expression`` on the held-out rows (the training rows when
        none are held out); inf where it is not finite.
    seconds : float
    network : EQLNetwork or None
        The trained module, which reads columns of very large or small
        size divided by a power of ten (see :func:`hybridsr.scaling.decade_scales`); dropped when
        the result is pickled.
    """

    expression: sympy.Expr
    subexpressions: list
    n_active: int
    train_loss: float
    validation_rmse: float
    seconds: float
    network: Any = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["network"] = None  # keeps torch out of processes that unpickle results
        return state


def _weight(value: float) -> sympy.Float:
    """A weight as a sympy Float, rounded to ``_DIGITS`` significant digits."""
    return sympy.Float(float(f"{value:.{_DIGITS}g}"))


def _linear(row: np.ndarray, bias: float, inputs: Sequence[sympy.Expr]) -> sympy.Expr:
    terms = [_weight(w) * h for w, h in zip(row, inputs) if w != 0 and h != 0]
    if bias != 0:
        terms.append(_weight(bias))
    return sympy.Add(*terms)


def _expand(expr: sympy.Expr) -> sympy.Expr:
    """Multiply out products, leaving exp/log/power arguments alone; skipped for big formulas."""
    if sympy.count_ops(expr) > _EXPAND_LIMIT:
        return expr
    return sympy.expand(expr, deep=True, mul=True, multinomial=True, power_exp=False,
                        power_base=False, log=False)


def _round_floats(expr: sympy.Expr) -> sympy.Expr:
    """Numbers rounded to ``_DIGITS`` significant digits; 1.0 and -1.0 become exact."""
    def rounded(f):
        value = float(f"{float(f):.{_DIGITS}g}")
        return sympy.Integer(int(value)) if value in (1.0, -1.0) else sympy.Float(value)
    return expr.xreplace({f: rounded(f) for f in expr.atoms(sympy.Float)})


def _tidy(row: sympy.Expr, names: Sequence[str], X: np.ndarray) -> sympy.Expr:
    """Round the numbers and drop additive terms that are negligible on every row of X.

    Such terms (``2.7e-13`` or ``-7e-13*x0``) are what is left where surviving
    paths cancel; dropping them changes the value by at most ``_NEGLIGIBLE``
    times the row's RMS.
    """
    row = _round_floats(row)
    terms = sympy.Add.make_args(row)
    if len(terms) < 2 or len(terms) > _TIDY_LIMIT:
        return row
    rms = float(np.sqrt(np.mean(_evaluate(row, names, X) ** 2)))
    if not (math.isfinite(rms) and rms > 0):
        return row
    keep = []
    for term in terms:
        values = np.abs(_evaluate(term, names, X))
        if not (np.isfinite(values).all() and values.max() <= _NEGLIGIBLE * rms):
            keep.append(term)
    return sympy.Add(*keep) if keep else row


def _sign(z: np.ndarray) -> int:
    return 1 if (z > 0).all() else (-1 if (z < 0).all() else 0)


def _unit_rows(unit: int, n_unary: int) -> tuple[int, ...]:
    """The rows of a layer's linear map (unit inputs) that feed one unit."""
    if unit < n_unary:
        return (unit,)
    j = unit - n_unary
    return (n_unary + 2 * j, n_unary + 2 * j + 1)


def _live_units(weights: Sequence[np.ndarray], n_unary: int, n_layers: int) -> list[set[int]]:
    """Per hidden layer, the units joined to the output by a path of nonzero weights."""
    live = set(np.flatnonzero((weights[-2] != 0).any(axis=0)).tolist())
    result: list[set[int]] = [set() for _ in range(n_layers)]
    for k in range(n_layers - 1, -1, -1):
        result[k] = live
        rows = sorted({r for unit in live for r in _unit_rows(unit, n_unary)})
        used = (weights[2 * k][rows] != 0).any(axis=0) if rows else np.zeros(0, dtype=bool)
        live = set(np.flatnonzero(used).tolist())
    return result


def _extract(network: EQLNetwork, X: np.ndarray, names: Sequence[str], x_scale: np.ndarray):
    """(expression, subexpressions) of a pruned network trained on ``X / x_scale``, in the
    variables of ``X``; X decides log/sqrt argument signs."""
    with torch.no_grad():
        weights = [w[0].numpy().copy() for w in network.split(network.effective()[:1])]
        scale = float(network.y_scale)
    weights[0] = weights[0] / x_scale  # the network read x / x_scale
    zs = network.pre_activations(X / x_scale)
    h: list[sympy.Expr] = [sympy.Symbol(n) for n in names]
    layers = []
    n_unary = len(network.unit_names)
    for k in range(network.n_layers):
        W, b = weights[2 * k], weights[2 * k + 1]
        z = [_linear(W[i], b[i], h) for i in range(W.shape[0])]
        outs = [_sympy_unit(name, z[i], _sign(zs[k][:, i]))
                for i, name in enumerate(network.unit_names)]
        outs += [z[n_unary + 2 * j] * z[n_unary + 2 * j + 1] for j in range(network.n_products)]
        layers.append(outs)
        h = outs
    W_out, b_out = weights[-2], weights[-1]
    rows = [_tidy(_expand(_linear(W_out[r] * (scale if r == 0 else 1.0),
                                  b_out[r] * (scale if r == 0 else 1.0), h)), names, X)
            for r in range(W_out.shape[0])]
    expression = rows[0] / rows[1] if network.division else rows[0]
    found: dict[sympy.Expr, None] = {}
    for k, live in enumerate(_live_units(weights, n_unary, network.n_layers)):
        for i in sorted(live):  # a unit's scale is arbitrary: keep its form without it
            found.setdefault(_round_floats(_expand(layers[k][i])).as_coeff_Mul()[1], None)
    for row in rows:
        for term in sympy.Add.make_args(row):
            found.setdefault(term, None)
            found.setdefault(term.as_coeff_Mul()[1], None)
        found.setdefault(row, None)
    subexpressions = [e for e in found if not e.is_number]
    return expression, subexpressions


def _evaluate(expression: sympy.Expr, names: Sequence[str], X: np.ndarray) -> np.ndarray:
    if expression.has(sympy.zoo, sympy.nan):  # numpy's printer has no zoo: lambdify raises
        return np.full(X.shape[0], np.nan)
    symbols = [sympy.Symbol(n) for n in names]
    function = sympy.lambdify(symbols, expression, modules="numpy")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.asarray(function(*X.T), dtype=float)
    return np.broadcast_to(values, (X.shape[0],)).copy() if values.ndim == 0 else values


# --- public entry points ---------------------------------------------------------

_DEFAULT_UNARY = ("identity", "sin", "cos", "exp")


def fit_eql(X, y, *, variable_names: Sequence[str] | None = None,
            unary: Sequence[str] | Mapping[str, int] = _DEFAULT_UNARY, n_products: int = 2,
            n_layers: int = 2, division: bool = False, regularization: str = "l05",
            reg_strength: float | None = None, epochs: Sequence[int] = (400, 2000, 300),
            learning_rate: float = 1e-2, prune_threshold: float = 0.01, smoothing: float = 0.01,
            init_scale: float | None = None, validation_fraction: float = 0.1, n_restarts: int = 8,
            time_limit: float | None = None, random_state=None) -> EQLResult:
    """Fit an EQL network to ``(X, y)``, prune it and read out the formula.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    variable_names : sequence of str, optional
        Symbol names of the columns; ``x0 .. x{d-1}`` by default.
    unary : sequence of str or mapping str -> int
        The unary units of every hidden layer, one per name (repeat a name for
        more) or a count per name; see :data:`UNARY_UNITS`.
    n_products : int
        Product (``*``) units per hidden layer.
    n_layers : int
        Hidden layers of units.
    division : bool
        EQL-div output ``numerator / denominator``.
    regularization : {"l05", "l0"}
        Smoothed L0.5 penalty on all weights, or relaxed L0 with hard-concrete gates.
    reg_strength : float, optional
        The penalty's weight (lambda), with the targets scaled to unit RMS;
        3e-3 for "l05" and 1e-2 for "l0" by default. Restarts spread it over
        a decade (``reg_strength`` times 10**-0.5 .. 10**0.5).
    epochs : (int, int, int)
        Full-batch steps of the dense, regularized and fine-tuning phases.
    learning_rate : float
        Adam's step size.
    prune_threshold : float
        Weights below it (in absolute value, targets scaled to unit RMS) are zeroed and frozen.
    smoothing : float
        ``a`` of the smoothed L0.5 penalty: below ``|w| = a`` a quartic replaces ``|w|**0.5``.
    init_scale : float, optional
        Standard deviation of the initial weights; 0.1 for "l05", 0.5 for "l0".
    validation_fraction : float
        Share of rows held out to choose among restarts and measure ``validation_rmse``.
    n_restarts : int
        Networks trained side by side from different initial weights and
        penalty weights (cheap: small networks are bound by per-operation
        overhead). The one with the least log10(relative held-out MSE) + 0.1
        per active weight is kept.
    time_limit : float, optional
        Seconds for the whole fit; phases are cut short when it runs out.
    random_state : int, numpy Generator or None

    Returns
    -------
    EQLResult

    Raises
    ------
    ValueError
        For malformed data or options (the message says how to fix them).
    StudentError
        When training diverges or pruning leaves no variable in the formula.
    """
    X, y = _check_data(X, y, need_y=True)
    opts, rng = _resolve_options(
        X.shape[1], variable_names=variable_names, unary=unary, n_products=n_products,
        n_layers=n_layers, division=division, regularization=regularization,
        reg_strength=reg_strength, epochs=epochs, learning_rate=learning_rate,
        prune_threshold=prune_threshold, smoothing=smoothing, init_scale=init_scale,
        validation_fraction=validation_fraction, n_restarts=n_restarts, time_limit=time_limit,
        random_state=random_state)
    return _fit(X, y, opts, rng, teacher=None, n_dense=0, gradient_weight=0.0, hint_weight=0.0)


_TEACHER_METHODS = ("predict", "gradient", "hidden", "sample")


def fit_student(X, y=None, *, teacher=None, n_dense: int = 2000, gradient_weight: float = 0.0,
                hint_weight: float = 0.0, **eql_options) -> EQLResult:
    """Distil a teacher (or, without one, the data) into an EQL student.

    The student trains on the data rows (labelled by ``y``, or by the teacher
    when ``y`` is None) and ``n_dense`` fresh samples from ``teacher.sample``
    labelled by ``teacher.predict``. ``gradient_weight`` adds the mean squared
    difference of the student's and the teacher's input gradients on the
    dense samples; ``hint_weight`` adds, in the dense phase only, FitNets
    hints: a trainable linear adapter per student layer is fitted to the
    (standardised) activations of the corresponding teacher layer, the last
    layers paired when the depths differ.

    ``teacher`` is any object with ``predict(X) -> (n,)``, ``gradient(X) ->
    (n, d)``, ``hidden(X) -> list of (n, h_k)``, ``sample(n, rng) -> (n, d)``
    and ``low``/``high`` arrays. Other keywords go to :func:`fit_eql`.
    """
    allowed = _eql_options()
    for key in eql_options:
        if key not in allowed:
            near = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"fit_student got an unknown option {key!r}.{hint} Options: "
                             f"{list(allowed)}")
    if teacher is None:
        if gradient_weight or hint_weight:
            raise ValueError("gradient_weight and hint_weight need a teacher; pass teacher=...")
        return fit_eql(X, y, **eql_options)
    missing = [m for m in _TEACHER_METHODS if not callable(getattr(teacher, m, None))]
    if missing:
        raise ValueError(f"the teacher lacks method(s) {missing}; a teacher has "
                         f"{list(_TEACHER_METHODS)} (see hybridsr.neural.teacher)")
    X, y = _check_data(X, y, need_y=False)
    n_dense = _count("n_dense", n_dense, minimum=0)
    gradient_weight = _number("gradient_weight", gradient_weight, minimum=0.0)
    hint_weight = _number("hint_weight", hint_weight, minimum=0.0)
    kwargs = {name: eql_options.get(name, default) for name, default in allowed.items()}
    opts, rng = _resolve_options(X.shape[1], **kwargs)
    return _fit(X, y, opts, rng, teacher=teacher, n_dense=n_dense,
                gradient_weight=gradient_weight, hint_weight=hint_weight)


def _eql_options() -> dict[str, Any]:
    """fit_eql's keyword options and their defaults: the one list fit_student forwards."""
    return {name: p.default for name, p in inspect.signature(fit_eql).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _teacher_array(teacher, method: str, shape: tuple, *args) -> np.ndarray:
    values = np.asarray(getattr(teacher, method)(*args), dtype=float)
    if values.shape != shape and not (len(shape) == 1 and values.shape == shape + (1,)):
        raise ValueError(f"teacher.{method} returned shape {values.shape}, expected {shape}")
    if not np.isfinite(values).all():
        raise StudentError(f"teacher.{method} returned NaN or inf; the teacher is unusable")
    return values.reshape(shape)


def _fit(X, y, opts: _Options, rng: np.random.Generator, *, teacher, n_dense: int,
         gradient_weight: float, hint_weight: float) -> EQLResult:
    load_optimizers()  # torch's one-off import stays outside the time limit
    start = time.perf_counter()
    deadline = start + opts.time_limit if opts.time_limit is not None else math.inf
    n, d = X.shape
    n_val = int(round(opts.validation_fraction * n))
    if n - n_val < 2:
        n_val = 0
    order = rng.permutation(n)
    train_rows, val_rows = order[n_val:], order[:n_val]
    if y is None:
        y = _teacher_array(teacher, "predict", (n,), X)
    X_train, y_train = X[train_rows], y[train_rows]
    X_val, y_val = (X[val_rows], y[val_rows]) if n_val else (X_train, y_train)
    X_all, y_all, grad, hints = X_train, y_train, None, ()
    if teacher is not None and n_dense:
        X_dense = _teacher_array(teacher, "sample", (n_dense, d), n_dense, rng)
        y_dense = _teacher_array(teacher, "predict", (n_dense,), X_dense)
        X_all, y_all = np.vstack([X_train, X_dense]), np.concatenate([y_train, y_dense])
        if gradient_weight > 0:
            grad = _teacher_array(teacher, "gradient", (n_dense, d), X_dense)
        if hint_weight > 0:
            hints = tuple(_standardise(np.asarray(a, dtype=float))
                          for a in teacher.hidden(X_dense))
            if any(a.ndim != 2 or a.shape[0] != n_dense or not np.isfinite(a).all()
                   for a in hints):
                raise ValueError("teacher.hidden must return a list of finite (n, h_k) arrays")
    y_scale = float(np.sqrt(np.mean(y_all**2))) or 1.0
    # Unscaled, inputs of size 1e30 (masses in kg) overflow the first products; columns
    # of everyday size keep the unit weights that make sin(x) sparse.
    x_scale = decade_scales(X_all, within=2)
    with _torch_threads(), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        generator = torch.Generator().manual_seed(opts.seed)
        tensor = lambda a: torch.as_tensor(a, dtype=_DTYPE)  # noqa: E731
        targets = _Targets(
            tensor(X_all / x_scale), tensor(y_all / y_scale), len(train_rows),
            None if grad is None else tensor(grad * x_scale / y_scale), tuple(tensor(h) for h in hints),
            gradient_weight, hint_weight,
            tensor(X_val / x_scale) if n_val else None, tensor(y_val / y_scale) if n_val else None)
        network = EQLNetwork(d, opts.unit_names, opts.n_products, opts.n_layers, opts.division,
                             opts.regularization == "l0", opts.init_scale, generator,
                             opts.n_restarts)
        network.y_scale.fill_(y_scale)
        train_loss = _Trainer(network, targets, opts, generator, deadline).train() * y_scale**2
        network.eval()
        expression, subexpressions = _extract(network, X_all, opts.variable_names, x_scale)
    if not expression.free_symbols:
        raise StudentError(f"pruning left no variable in the EQL formula ({expression}); lower "
                           f"reg_strength (now {opts.reg_strength}) or prune_threshold "
                           f"(now {opts.prune_threshold})")
    residual = _evaluate(expression, opts.variable_names, X_val) - y_val
    rmse = float(np.sqrt(np.mean(residual**2)))
    n_active = int((network.mask > 0).sum())
    return EQLResult(expression, subexpressions, n_active, float(train_loss),
                     rmse if math.isfinite(rmse) else math.inf,
                     time.perf_counter() - start, network)


def _standardise(a: np.ndarray) -> np.ndarray:
    if a.ndim != 2:
        return a
    std = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(std > 0, std, 1.0)
