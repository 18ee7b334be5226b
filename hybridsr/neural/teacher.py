"""The teacher: a small torch MLP fitted to the data.

The teacher learns ``y = f(X)`` as a smooth, denoised surrogate that the
rest of the hybrid search can question freely: predictions at new points,
input gradients, hidden-layer activations (for layer-wise distillation) and
dense samples inside the data's box. :meth:`Teacher.fit` trains one from
arrays; :meth:`Teacher.from_module` wraps a network the user already trained.

Training is full-batch AdamW (minibatches above a few thousand rows) on
standardised inputs and targets (a column that is positive and spans more than
:data:`LOG_SPAN` between its smallest and largest value, such as masses from
Pluto to the Sun, enters as its logarithm: standardised raw, nearly all of its
rows would sit in one corner of the network's input), with a learning-rate reduction on plateau
and early stopping on a held-out split that restores the best weights. Every
random draw (initial weights, split, shuffles) comes from a local
``torch.Generator`` seeded from ``random_state``, and all torch work runs on
one thread, so the same seed gives bitwise the same teacher on a CPU whatever
the thread settings of the calling process. A ``time_limit`` makes the
number of epochs, and so the result, depend on the machine's speed.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from types import MappingProxyType

import numpy as np

from ..config import check_choice

#: A positive column whose largest value exceeds its smallest this many times
#: enters the network as its logarithm (and :meth:`Teacher.sample` draws it
#: log-uniformly).
LOG_SPAN = 100.0

with warnings.catch_warnings():
    # Some numpy/CUDA combinations make torch warn at import; the user did not
    # call torch and cannot act on it.
    warnings.simplefilter("ignore")
    import torch
    from torch import nn

__all__ = ["ACTIVATIONS", "STOP_REASONS", "Teacher", "TeacherError", "TeacherReport",
           "load_optimizers"]

_ACTIVATION_MODULES = MappingProxyType({
    "silu": nn.SiLU, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU,
    "softplus": nn.Softplus, "elu": nn.ELU,
})

#: Valid values of ``activation``.
ACTIVATIONS = frozenset(_ACTIVATION_MODULES)

#: Values of :attr:`TeacherReport.stopped`; "pretrained" marks :meth:`Teacher.from_module`.
STOP_REASONS = frozenset({"early_stopping", "max_epochs", "time_limit", "pretrained"})

#: The fewest rows :meth:`Teacher.fit` accepts (a split needs a few on each side).
MIN_ROWS = 10

# Above this many training rows an epoch is several minibatches: a full batch
# would cost too much per step for the few hundred steps training needs.
_FULL_BATCH_ROWS = 4096
_DEFAULT_BATCH_SIZE = 1024
# Rows per forward pass at prediction time, bounding the memory of hidden layers.
_PREDICT_CHUNK = 65536
# Relative drop in validation loss that counts as progress (early stopping and plateaus).
_MIN_RELATIVE_IMPROVEMENT = 1e-4
_PLATEAU_FACTOR = 0.5
# L-BFGS steps (of 20 iterations each) without validation progress before polishing stops.
_POLISH_PATIENCE = 10
_MIN_LR_FRACTION = 1e-4


class TeacherError(RuntimeError):
    """Training failed (the loss diverged); the caller should go on without a teacher."""


@dataclass(frozen=True)
class TeacherReport:
    """How a teacher was trained and how well it fits.

    Attributes
    ----------
    validation_rmse : float
        Root-mean-square error on the held-out split, in the units of ``y``
        (on all rows given to :meth:`Teacher.from_module`; NaN without ``y``).
    validation_r2 : float
        Coefficient of determination on the same rows.
    epochs : int
        Passes over the training rows (0 for a wrapped module).
    seconds : float
        Wall-clock time of the fit, split and standardisation included.
    stopped : str
        Why training ended: one of :data:`STOP_REASONS`.
    """

    validation_rmse: float
    validation_r2: float
    epochs: int
    seconds: float
    stopped: str


@dataclass(frozen=True)
class _Training:
    """The optimisation settings of one fit, checked."""

    max_epochs: int
    patience: int
    learning_rate: float
    weight_decay: float
    batch_size: int | None
    time_limit: float | None


class Teacher:
    """A trained network and the standardisation around it; callable on numpy arrays.

    Build one with :meth:`fit` or :meth:`from_module`. A teacher is never
    changed after it is built; it pickles (as its weights and architecture)
    so that it can be shipped to worker processes, and a CUDA teacher
    unpickles onto the CPU where no GPU is available.

    Attributes
    ----------
    report : TeacherReport
    low, high : ndarray of shape (n_features,)
        The training box: per-column minimum and maximum of the training inputs (read-only).
    n_features : int
    device : torch.device
    """

    def __init__(self, module, *, architecture, x_mean, x_std, y_mean, y_std, low, high,
                 report, device, device_request, log_columns=None):
        # Internal: use fit or from_module. `architecture` is (n_features,
        # hidden widths, activation) for a network built here, None for a user's.
        self._module = module
        self._architecture = architecture
        self._x_mean = x_mean
        self._x_std = x_std
        self._y_mean = float(y_mean)
        self._y_std = float(y_std)
        self._low = _read_only(low)
        self._high = _read_only(high)
        self._log_columns = np.zeros(self._low.shape[0], dtype=bool)
        if log_columns is not None:
            self._log_columns[:] = log_columns
        self._log_columns.flags.writeable = False
        self.report = report
        self._device = device
        self._device_request = device_request
        self._dtype = _module_dtype(module)

    # ---------------------------------------------------------------- building

    @classmethod
    def fit(cls, X, y, *, hidden=(64, 64), activation="silu", max_epochs=2000, patience=100,
            validation_fraction=0.2, learning_rate=3e-3, weight_decay=0.0, batch_size=None,
            time_limit=None, polish_seconds=None, random_state=None, device="auto") -> "Teacher":
        """Train a multilayer perceptron on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Finite inputs; at least :data:`MIN_ROWS` rows.
        y : array-like of shape (n_rows,)
            Finite targets.
        hidden : int or sequence of int, default (64, 64)
            Widths of the hidden layers.
        activation : str, default "silu"
            One of :data:`ACTIVATIONS`; smooth ones (silu, tanh, gelu,
            softplus) give smooth gradients.
        max_epochs : int, default 2000
            Most passes over the training rows.
        patience : int, default 100
            Epochs without progress on the validation split before stopping;
            the learning rate halves after a quarter of that.
        validation_fraction : float in (0, 0.5], default 0.2
            Share of rows held out for early stopping and the report.
        learning_rate : float, default 3e-3
            Initial AdamW learning rate.
        weight_decay : float, default 0.0
            Decoupled AdamW weight decay.
        batch_size : int, optional
            Rows per step; by default the whole training split up to 4096
            rows, else 1024.
        time_limit : float, optional
            Seconds of wall-clock time, checked after every epoch; the best
            weights so far are kept. Makes the result depend on machine speed.
            The clock starts after torch's one-off optimizer import
            (:func:`load_optimizers`).
        polish_seconds : float, optional
            After the AdamW phase, refine the network in float64 with
            full-batch L-BFGS (on at most 4096 training rows) for at most
            this many seconds, keeping the weights of lowest validation loss.
            Adam leaves a smooth fit at a relative error of about 1e-2 to
            1e-3; L-BFGS takes it several times lower, which is what
            questions about the fitted function's structure need
            (:mod:`hybridsr.guidance.structure`).
        random_state : None, int, SeedSequence or numpy Generator
            Seeds the weights, the split and the shuffles (a Generator is
            advanced by one draw). The global torch RNG is never touched.
        device : str or torch.device, default "auto"
            "auto" takes CUDA when available, else the CPU.

        Returns
        -------
        Teacher

        Raises
        ------
        ValueError
            For invalid data or settings; the message says how to fix them.
        TeacherError
            When the loss becomes NaN or inf.
        """
        load_optimizers()
        start = time.perf_counter()
        X, y = _check_data(X, y, min_rows=MIN_ROWS)
        widths = _check_hidden(hidden)
        check_choice("activation", activation, ACTIVATIONS)
        _check_number("validation_fraction", validation_fraction, 0.0, 0.5, low_open=True)
        training = _Training(
            max_epochs=_check_int("max_epochs", max_epochs),
            patience=_check_int("patience", patience),
            learning_rate=_check_number("learning_rate", learning_rate, 0.0, math.inf, low_open=True),
            weight_decay=_check_number("weight_decay", weight_decay, 0.0, math.inf),
            batch_size=None if batch_size is None else _check_int("batch_size", batch_size),
            time_limit=(None if time_limit is None
                        else _check_number("time_limit", time_limit, 0.0, math.inf, low_open=True)),
        )
        if polish_seconds is not None:
            polish_seconds = _check_number("polish_seconds", polish_seconds, 0.0, math.inf)
        target = _resolve_device(device)
        seed = _torch_seed(random_state)

        n_rows, n_features = X.shape
        with _torch_quietly():
            generator = torch.Generator().manual_seed(seed)
            n_val = int(min(max(1, round(validation_fraction * n_rows)), n_rows - 1))
            order = torch.randperm(n_rows, generator=generator).numpy()
            val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
            log_columns = _wide_positive(X[train_rows])
            features = _features(X, log_columns)
            x_mean, x_std = _moments(features[train_rows])
            y_mean, y_std = _moments(y[train_rows])

            network = _build_network(n_features, widths, activation)
            _initialise(network, generator)
            network.to(target)

            def tensor(a):
                return torch.as_tensor(a, dtype=torch.float32).to(target)

            epochs, stopped = _train(
                network,
                tensor((features[train_rows] - x_mean) / x_std), tensor((y[train_rows] - y_mean) / y_std),
                tensor((features[val_rows] - x_mean) / x_std), tensor((y[val_rows] - y_mean) / y_std),
                training, generator, start)
            if polish_seconds:
                network.double()
                rows = train_rows[:_FULL_BATCH_ROWS]

                def exact(a):
                    return torch.as_tensor(a, dtype=torch.float64).to(target)

                _polish(network, exact((features[rows] - x_mean) / x_std), exact((y[rows] - y_mean) / y_std),
                        exact((features[val_rows] - x_mean) / x_std), exact((y[val_rows] - y_mean) / y_std),
                        polish_seconds)
            network.eval()

        teacher = cls(network, architecture=(n_features, widths, activation),
                      x_mean=x_mean, x_std=x_std, y_mean=y_mean, y_std=y_std,
                      low=X.min(axis=0), high=X.max(axis=0),
                      report=None, device=target, device_request=device, log_columns=log_columns)
        rmse, r2 = _scores(y[val_rows], teacher.predict(X[val_rows]))
        teacher.report = TeacherReport(rmse, r2, epochs, time.perf_counter() - start, stopped)
        return teacher

    @classmethod
    def from_module(cls, module, X, y=None, *, device="auto") -> "Teacher":
        """Wrap a user's trained torch module without retraining it.

        Parameters
        ----------
        module : torch.nn.Module
            Maps raw inputs, a float tensor of shape (n, d) in the dtype of
            its parameters, to outputs of shape (n,) or (n, 1). It is copied
            (the user's object is neither moved nor put in eval mode).
        X : array-like of shape (n_rows, n_features)
            Inputs that define the box for :meth:`sample`.
        y : array-like of shape (n_rows,), optional
            Targets for the report (scored on all rows); NaN scores without.
        device : str or torch.device, default "auto"

        Returns
        -------
        Teacher
            Its :meth:`hidden` returns an empty list.
        """
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if y is None:
            X = _check_matrix(X, "X", min_rows=1)
        else:
            X, y = _check_data(X, y, min_rows=1)
        target = _resolve_device(device)
        with _torch_quietly():
            try:
                module = copy.deepcopy(module)
            except Exception as exc:
                raise ValueError(f"could not copy the module ({exc}); keep only parameters and "
                                 f"buffers (not tensors computed in forward) as its attributes") from exc
            module = module.to(target).eval()
        n_features = X.shape[1]
        teacher = cls(module, architecture=None, x_mean=np.zeros(n_features), x_std=np.ones(n_features),
                      y_mean=0.0, y_std=1.0, low=X.min(axis=0), high=X.max(axis=0),
                      report=None, device=target, device_request=device)
        # Predicting now checks the module's output shape before anyone relies on it.
        prediction = teacher.predict(X)
        rmse, r2 = (math.nan, math.nan) if y is None else _scores(y, prediction)
        teacher.report = TeacherReport(rmse, r2, 0, 0.0, "pretrained")
        return teacher

    # ------------------------------------------------------------------- using

    @property
    def low(self) -> np.ndarray:
        return self._low

    @property
    def high(self) -> np.ndarray:
        return self._high

    @property
    def n_features(self) -> int:
        return self._low.shape[0]

    @property
    def device(self):
        return self._device

    def __call__(self, X) -> np.ndarray:
        """Same as :meth:`predict`."""
        return self.predict(X)

    def predict(self, X) -> np.ndarray:
        """Predictions of shape (n_rows,) for inputs of shape (n_rows, n_features)."""
        X = self._check_inputs(X)
        out = np.empty(X.shape[0])
        with _torch_quietly(), torch.no_grad():
            for rows in _chunks(X.shape[0]):
                out[rows] = self._forward(self._standardised(X[rows])).double().cpu().numpy()
        return out * self._y_std + self._y_mean

    def gradient(self, X) -> np.ndarray:
        """Derivatives of the prediction with respect to each input, in raw units.

        Returns
        -------
        ndarray of shape (n_rows, n_features)
            Zero where the output does not depend on an input.
        """
        X = self._check_inputs(X)
        out = np.zeros(X.shape)
        with _torch_quietly(), torch.enable_grad():
            for rows in _chunks(X.shape[0]):
                z = self._standardised(X[rows]).requires_grad_(True)
                prediction = self._forward(z)
                if not prediction.requires_grad:  # a module that ignores its input
                    continue
                # Rows are independent, so the gradient of the sum is each row's gradient.
                (grad,) = torch.autograd.grad(prediction.sum(), z, allow_unused=True)
                if grad is not None:
                    out[rows] = grad.double().cpu().numpy()
        out *= self._y_std / self._x_std
        with np.errstate(divide="ignore", invalid="ignore"):  # d/dx = d/d(log x) / x
            out[:, self._log_columns] /= X[:, self._log_columns]
        return out

    def hidden(self, X) -> list[np.ndarray]:
        """Activations of each hidden layer, for layer-wise distillation hints.

        Returns
        -------
        list of ndarray of shape (n_rows, width)
            One per hidden layer, after its activation function; empty for a
            wrapped user module, whose layers are unknown.
        """
        X = self._check_inputs(X)
        if self._architecture is None:
            return []
        layers = [[] for _ in self._architecture[1]]
        with _torch_quietly(), torch.no_grad():
            for rows in _chunks(X.shape[0]):
                h, k = self._standardised(X[rows]), 0
                for layer in self._module:
                    h = layer(h)
                    if not isinstance(layer, nn.Linear):
                        layers[k].append(h.double().cpu().numpy())
                        k += 1
        return [np.concatenate(parts) if parts else np.empty((0, width))
                for parts, width in zip(layers, self._architecture[1])]

    def sample(self, n, rng, margin=0.0) -> np.ndarray:
        """Points drawn uniformly in the training box (log-uniformly along the
        columns that enter the network as logarithms).

        Parameters
        ----------
        n : int
            Number of points.
        rng : numpy.random.Generator
            The source of randomness (advanced).
        margin : float, default 0.0
            Widens each side of the box by ``margin`` times its range.

        Returns
        -------
        ndarray of shape (n, n_features)
        """
        n = _check_int("n", n, minimum=0)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                            f"got {type(rng).__name__}")
        margin = _check_number("margin", margin, 0.0, math.inf)
        logs = self._log_columns
        low = np.where(logs, np.log(np.where(logs, self._low, 1.0)), self._low)
        high = np.where(logs, np.log(np.where(logs, self._high, 1.0)), self._high)
        width = high - low
        points = rng.uniform(low - margin * width, high + margin * width, size=(n, self.n_features))
        points[:, logs] = np.exp(points[:, logs])
        return points

    def __repr__(self) -> str:
        kind = ("module" if self._architecture is None
                else f"hidden={self._architecture[1]}, activation={self._architecture[2]!r}")
        return (f"Teacher({kind}, n_features={self.n_features}, "
                f"validation_r2={self.report.validation_r2:.4g}, device={str(self._device)!r})")

    # ---------------------------------------------------------------- pickling

    def __getstate__(self):
        state = self.__dict__.copy()
        with _torch_quietly():
            if self._architecture is None:
                # The user's class must be importable where this is unpickled.
                state["_module"] = copy.deepcopy(self._module).cpu()
            else:
                state["_module"] = {k: v.detach().cpu().numpy().copy()
                                    for k, v in self._module.state_dict().items()}
        del state["_device"], state["_dtype"]
        return state

    def __setstate__(self, state):
        state = dict(state)
        device = _resolve_device(state["_device_request"], fallback_to_cpu=True)
        with _torch_quietly():
            if state["_architecture"] is None:
                module = state["_module"]
            else:
                module = _build_network(*state["_architecture"])
                module.load_state_dict({k: torch.as_tensor(v) for k, v in state["_module"].items()})
            state["_module"] = module.to(device).eval()
        state["_device"] = device
        state["_dtype"] = _module_dtype(state["_module"])
        state["_low"], state["_high"] = _read_only(state["_low"]), _read_only(state["_high"])
        state.setdefault("_log_columns", np.zeros(state["_low"].shape[0], dtype=bool))
        self.__dict__.update(state)

    # ---------------------------------------------------------------- internals

    def _check_inputs(self, X) -> np.ndarray:
        X = _check_matrix(X, "X", min_rows=0, finite=False)
        if X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape[1]} columns but the teacher was built on "
                             f"{self.n_features}; pass the same features in the same order")
        return X

    def _standardised(self, X: np.ndarray):
        features = _features(X, self._log_columns)
        return torch.as_tensor((features - self._x_mean) / self._x_std, dtype=self._dtype).to(self._device)

    def _forward(self, z):
        out = self._module(z)
        if not isinstance(out, torch.Tensor) or out.numel() != z.shape[0]:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"the module must map (n, d) inputs to (n,) or (n, 1) outputs; "
                             f"for n={z.shape[0]} it returned {shape}")
        return out.reshape(-1)


# ------------------------------------------------------------------ training


def _mse(prediction, target):
    """The training loss (a module-level function so that tests can replace it)."""
    return torch.mean((prediction - target) ** 2)


def _train(network, x_train, y_train, x_val, y_val, training: _Training, generator, start):
    """Optimise ``network`` in place, leave it at its best validation weights.

    Returns ``(epochs, stopped)``; raises :class:`TeacherError` on divergence.
    """
    n_train = x_train.shape[0]
    batch_size = training.batch_size or (n_train if n_train <= _FULL_BATCH_ROWS else _DEFAULT_BATCH_SIZE)
    batch_size = min(batch_size, n_train)
    # foreach: one multi-tensor update per step, not a Python loop over parameters.
    optimizer = torch.optim.AdamW(network.parameters(), lr=training.learning_rate,
                                  weight_decay=training.weight_decay, foreach=True)
    # Halving the rate well before early stopping lets Adam settle into a minimum
    # instead of rattling around it, which is most of the denoising.
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=_PLATEAU_FACTOR, patience=max(1, training.patience // 4),
        threshold=_MIN_RELATIVE_IMPROVEMENT, min_lr=training.learning_rate * _MIN_LR_FRACTION)

    best_loss, best_state, waited = math.inf, None, 0
    stopped, epoch = "max_epochs", 0
    while epoch < training.max_epochs:
        epoch += 1
        network.train()
        if batch_size < n_train:
            order = torch.randperm(n_train, generator=generator).to(x_train.device)
            batches = [order[i:i + batch_size] for i in range(0, n_train, batch_size)]
        else:
            batches = [None]
        for rows in batches:
            xb, yb = (x_train, y_train) if rows is None else (x_train[rows], y_train[rows])
            loss = _mse(network(xb).reshape(-1), yb)
            if not torch.isfinite(loss):
                raise TeacherError(_divergence_message(epoch, float(loss)))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        network.eval()
        with torch.no_grad():
            val_loss = float(_mse(network(x_val).reshape(-1), y_val))
        if not math.isfinite(val_loss):
            raise TeacherError(_divergence_message(epoch, val_loss))
        scheduler.step(val_loss)
        if val_loss < best_loss * (1.0 - _MIN_RELATIVE_IMPROVEMENT) or best_state is None:
            best_loss, waited = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            waited += 1
            if waited >= training.patience:
                stopped = "early_stopping"
                break
        if training.time_limit is not None and time.perf_counter() - start >= training.time_limit:
            stopped = "time_limit"
            break
    network.load_state_dict(best_state)
    return epoch, stopped


def _polish(network, x_train, y_train, x_val, y_val, seconds: float) -> None:
    """Full-batch L-BFGS on ``network`` (in place) for ``seconds``, left at its best
    validation weights; stops early when the validation loss has not improved for a while
    or the loss stops being finite."""
    optimizer = torch.optim.LBFGS(network.parameters(), lr=1.0, max_iter=20, history_size=50,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = _mse(network(x_train).reshape(-1), y_train)
        loss.backward()
        return loss

    def validation_loss():
        with torch.no_grad():
            return float(_mse(network(x_val).reshape(-1), y_val))

    best_loss = validation_loss()
    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
    deadline, waited = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline and waited < _POLISH_PATIENCE:
        if not math.isfinite(float(optimizer.step(closure))):
            break
        loss = validation_loss()
        if loss < best_loss * (1.0 - _MIN_RELATIVE_IMPROVEMENT):
            best_loss, waited = loss, 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            waited += 1
    network.load_state_dict(best_state)


def _divergence_message(epoch: int, loss: float) -> str:
    return (f"teacher training diverged at epoch {epoch} (loss {loss}); lower learning_rate, "
            f"or check y for extreme values")


def _build_network(n_features: int, widths: tuple, activation: str):
    """An uninitialised MLP (skip_init: building nn.Linear normally draws from the global RNG)."""
    layers, width = [], n_features
    for w in widths:
        layers += [nn.utils.skip_init(nn.Linear, width, w), _ACTIVATION_MODULES[activation]()]
        width = w
    layers.append(nn.utils.skip_init(nn.Linear, width, 1))
    return nn.Sequential(*layers)


def _initialise(network, generator) -> None:
    """torch's default Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from ``generator``."""
    with torch.no_grad():
        for layer in network:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)


# ------------------------------------------------------------------- helpers


def load_optimizers() -> None:
    """Load what torch's optimizers import on first use, before any clock starts.

    torch builds its first optimizer by importing ``torch._dynamo`` (about
    2.5 s here, longer on a busy machine); inside a time limit of a few
    seconds that import would be the whole first training phase. Later
    calls cost microseconds.
    """
    with _torch_quietly():
        weight = nn.Parameter(torch.zeros(1))
        torch.optim.AdamW([weight], foreach=True)
        torch.optim.LBFGS([weight])


@contextlib.contextmanager
def _torch_quietly():
    """One torch thread (thread-independent results) and no torch warnings, both restored after."""
    threads = torch.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def _chunks(n_rows: int):
    return [slice(i, i + _PREDICT_CHUNK) for i in range(0, n_rows, _PREDICT_CHUNK)]


def _wide_positive(X: np.ndarray) -> np.ndarray:
    """Columns that are positive and span more than :data:`LOG_SPAN`."""
    low, high = X.min(axis=0), X.max(axis=0)
    return (low > 0) & (high > LOG_SPAN * low)


def _features(X: np.ndarray, log_columns: np.ndarray) -> np.ndarray:
    """The network's inputs before standardisation: ``log`` of the wide positive columns."""
    if not log_columns.any():
        return X
    features = X.copy()
    with np.errstate(divide="ignore", invalid="ignore"):  # outside the box: NaN, as a bad input
        features[:, log_columns] = np.log(X[:, log_columns])
    return features


def _moments(a: np.ndarray):
    """Mean and standard deviation along rows; a (near-)constant column keeps scale 1."""
    mean, std = a.mean(axis=0), a.std(axis=0)
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return mean, std


def _scores(y: np.ndarray, prediction: np.ndarray):
    """RMSE and R^2 (R^2 is 1 for a perfect fit of constant targets, else 0 then, as in scikit-learn)."""
    sse = float(np.sum((y - prediction) ** 2))
    sst = float(np.sum((y - y.mean()) ** 2))
    rmse = math.sqrt(sse / y.shape[0])
    if sst > 0:
        return rmse, 1.0 - sse / sst
    return rmse, 1.0 if sse == 0 else 0.0


def _read_only(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


def _module_dtype(module):
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def _resolve_device(device, *, fallback_to_cpu: bool = False):
    """A torch.device from "auto", a name or a device; CUDA must be available unless falling back."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        if fallback_to_cpu:
            return torch.device("cpu")
        raise ValueError(f"device={device!r} but CUDA is not available; use device='auto' or 'cpu'")
    return resolved


def _torch_seed(random_state) -> int:
    """A 64-bit torch seed from None, an int, a SeedSequence or a numpy Generator."""
    if random_state is None or (isinstance(random_state, Integral) and not isinstance(random_state, bool)):
        seq = np.random.SeedSequence(None if random_state is None else int(random_state))
    elif isinstance(random_state, np.random.SeedSequence):
        seq = random_state
    elif isinstance(random_state, np.random.Generator):
        seq = np.random.SeedSequence(int(random_state.integers(2**63)))
    else:
        raise ValueError(f"random_state must be None, an int, a SeedSequence or a numpy Generator, "
                         f"got {random_state!r}")
    return int(seq.generate_state(1, np.uint64)[0])


def _check_matrix(X, name: str, *, min_rows: int, finite: bool = True) -> np.ndarray:
    if np.iscomplexobj(X):
        raise ValueError(f"{name} must be real; pass the real and imaginary parts as separate columns")
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric ({exc}); encode categorical columns as numbers") from exc
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_rows, n_features), got shape {X.shape}; "
                         f"reshape a single feature with {name}.reshape(-1, 1)")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {X.shape}); pass at least one feature")
    if X.shape[0] < min_rows:
        raise ValueError(f"{name} has {X.shape[0]} rows; at least {min_rows} are needed")
    if finite:
        _check_finite(name, X)
    return X


def _check_data(X, y, *, min_rows: int):
    X = _check_matrix(X, "X", min_rows=0)
    if np.iscomplexobj(y):
        raise ValueError("y must be real")
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y must be numeric ({exc})") from exc
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_rows,), got shape {y.shape}; flatten it with y.ravel()")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; pass one target per row")
    if X.shape[0] < min_rows:
        raise ValueError(f"only {X.shape[0]} rows; a teacher needs at least {min_rows} "
                         f"(fall back to plain GP on tiny data sets)")
    _check_finite("y", y)
    with np.errstate(all="ignore"):  # an overflow is what is being checked for
        spread = float(np.std(y)) + float(np.max(np.std(X, axis=0))) if X.shape[0] else 0.0
    if not math.isfinite(spread):
        raise ValueError("X or y holds values so large that their spread overflows; rescale them first")
    return X, y


def _check_finite(name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = np.argwhere(bad)[0]
        place = f"row {where[0]}" + (f", column {where[1]}" if a.ndim == 2 else "")
        raise ValueError(f"{name} contains {int(bad.sum())} NaN or inf value(s), the first at {place}; "
                         f"drop or impute those rows first")


def _check_hidden(hidden) -> tuple:
    widths = (hidden,) if isinstance(hidden, Integral) and not isinstance(hidden, bool) else hidden
    try:
        widths = tuple(widths)
    except TypeError:
        widths = None
    if (not widths or any(isinstance(w, bool) or not isinstance(w, Integral) or w <= 0 for w in widths)):
        raise ValueError(f"hidden must be a positive int or a non-empty sequence of positive ints "
                         f"(layer widths, e.g. (64, 64)), got {hidden!r}")
    return tuple(int(w) for w in widths)


def _check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_number(name: str, value, low: float, high: float, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or value > high or (low_open and value == low):
        lower = "(" if low_open else "["
        raise ValueError(f"{name} must lie in {lower}{low}, {high}], got {value!r}")
    return float(value)
