"""The scikit-learn regressor: :class:`HybridSRRegressor`.

``__init__`` stores the parameters unchanged. ``fit`` resolves them into an
:class:`~hybridsr.operators.OperatorSet` and a frozen
:class:`~hybridsr.config.SearchConfig` (which checks every value), checks the
data, runs one search per target (:func:`hybridsr.engine.run_search`) and
keeps the Pareto fronts as tables (:mod:`hybridsr.export`). Everything
learned ends in ``_``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import keyword
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .config import MutationWeights, SearchConfig, check_choice
from .constant_tying import simplify_front
from .engine.checkpoint import (FitCheckpoints, data_digest, parse_checkpoint_every,
                                read_checkpoint)
from .engine.cluster import open_cluster, resolve_cluster
from .engine.executors import WorkersLostError, resolve_n_jobs
from .engine.search import Injection, resolve_seed, run_search
from .evaluate import Dataset, Evaluator
from .expr import Language, compile_tree, evaluate_tree, to_latex
from .guidance import (BUILTIN_GENERATORS, GUIDANCE_STARTS, GuidanceTask, StallRule, StallTrigger,
                       candidate_trees, resolve_generators, run_guidance)
from .export import (MODEL_SELECTIONS, check_index, equations_table, format_front, front_frame,
                     rounding_loss_floor, select_index, write_front_csv)
from .operators import OperatorSet
from .validation import cross_validate
from .progress import ProgressDisplay

__all__ = ["HybridSRRegressor", "ESTIMATOR_PARAMETERS", "GUIDANCE_CHOICES"]

#: Parameters of the estimator that are not fields of :class:`SearchConfig`.
ESTIMATOR_PARAMETERS = ("binary_operators", "unary_operators", "complexity_of_operators",
                        "complexity_of_constants", "complexity_of_variables", "model_selection",
                        "validation_folds", "simplify_constants", "n_jobs", "random_state", "verbosity",
                        "output_file", "warm_start",
                        "guidance", "guidance_start", "guidance_fraction", "guidance_time_fraction",
                        "teacher",
                        "cluster", "cluster_options", "checkpoint_file", "checkpoint_every")
#: Names ``guidance`` accepts (besides None and generator objects).
GUIDANCE_CHOICES = (None, *BUILTIN_GENERATORS)
#: Seconds of guidance when the search has no ``timeout_in_seconds`` to take a share of.
GUIDANCE_SECONDS_WITHOUT_TIMEOUT = 20.0


class HybridSRRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression by island-model genetic programming (PySR's algorithm).

    Searches for formulas that fit ``y`` from the columns of ``X``, keeping
    the best formula at each complexity (the Pareto front) and picking one of
    them for :meth:`predict` by ``model_selection``.

    Parameters
    ----------
    binary_operators : sequence of str, default ("+", "-", "*", "/")
        Two-argument operators by name (``"+" "-" "*" "/" "^"``) or custom
        definitions such as ``"special(x, y) = cos(x) * (x + y)"``.
    unary_operators : sequence of str, default ()
        One-argument operators (``"sin"``, ``"exp"``, ``"square"`` ...) or
        definitions such as ``"cube_root(x) = x**(1/3)"``.
    complexity_of_operators : dict, optional
        Complexity of one node of an operator, by name (default 1 each).
    complexity_of_constants : float, default 1.0
        Complexity of a constant leaf.
    complexity_of_variables : float, default 1.0
        Complexity of a variable leaf.
    populations : int, default 15
        Number of islands evolved separately between migrations.
    population_size : int, default 33
        Members per island.
    ncycles_per_iteration : int, default 550
        Tournament-mutation cycles per island between migrations.
    niterations : int, default 40
        Iterations (evolve, simplify, optimise, migrate) of the search.
    initial_size : int, default 3
        Size of the random trees that fill the first populations.
    tournament_selection_n : int, default 12
        Members drawn into each tournament (at most ``population_size``).
    tournament_selection_p : float, default 0.9
        Chance that the fittest tournament member wins; otherwise the next one is tried.
    crossover_probability : float, default 0.01
        Chance that a cycle does crossover instead of a mutation.
    mutation_weights : MutationWeights or dict, optional
        Relative odds of each mutation (None: the defaults of :class:`MutationWeights`).
    annealing : bool, default True
        Accept worse mutants by simulated annealing, cooling over each iteration.
    alpha : float, default 0.1
        Annealing scale: larger accepts worse mutants more often.
    perturbation_factor : float, default 0.076
        Relative size of a random constant perturbation (scaled by the temperature).
    probability_negate_constant : float, default 0.01
        Chance that a constant mutation also flips its sign.
    skip_mutation_failures : bool, default True
        Drop mutants that break a constraint instead of keeping the parent.
    maxsize : int, default 20
        Largest complexity of a formula.
    maxdepth : int, optional
        Deepest formula tree (None: limited by ``maxsize`` only).
    constraints : dict, optional
        Argument size limits per operator, e.g. ``{"^": (-1, 1), "sin": 5}``.
    nested_constraints : dict, optional
        Nesting limits, e.g. ``{"sin": {"sin": 0, "cos": 0}}`` forbids ``sin(cos(x))``.
    parsimony : float, default 0.0032
        Cost per unit of complexity added to the normalised loss during selection.
    adaptive_parsimony_scaling : float, default 20.0
        Strength of the penalty on complexities that are already common.
    use_frequency : bool, default True
        Apply adaptive parsimony (count how often each complexity is seen).
    use_frequency_in_tournament : bool, default True
        Apply adaptive parsimony inside tournaments too.
    should_optimize_constants : bool, default True
        Fit constants numerically after each evolve cycle.
    optimize_probability : float, default 0.14
        Chance that a member's constants are optimised in that step.
    optimize_offspring_probability : float, default 0.5
        Chance that a mutated child with a new structure has its constants
        fitted (one start, ``optimizer_iterations``) before it is judged, as
        Operon does for every offspring; PySR judges children with their
        parent's constants (0 here).
    optimizer_algorithm : {"lm", "bfgs"}, default "lm"
        Levenberg-Marquardt or BFGS for the constants.
    optimizer_nrestarts : int, default 2
        Extra starts of the constant optimiser from perturbed values.
    optimizer_iterations : int, default 8
        Iterations of each optimiser run.
    should_simplify : bool, default True
        Simplify members algebraically after each evolve cycle.
    migration : bool, default True
        Migrate members between islands.
    hof_migration : bool, default True
        Migrate hall-of-fame members into the islands.
    fraction_replaced : float, default 0.05
        Share of each island replaced by other islands' best members per iteration.
    fraction_replaced_hof : float, default 0.05
        Share of each island replaced by hall-of-fame members per iteration.
    loss : {"mse", "mae", "huber"}, default "mse"
        The loss minimised (weighted by ``weights`` when given).
    huber_delta : float, default 1.0
        Where the Huber loss turns from quadratic to linear.
    batching : bool or "auto", default "auto"
        Evaluate candidates on random mini-batches (the front always on all
        rows); "auto" does so above 5,000 rows, where a pass over every row
        makes each iteration about ten times slower.
    batch_size : int, default 50
        Rows per mini-batch.
    timeout_in_seconds : float, optional
        Stop after this many seconds (then results depend on machine speed).
    max_evals : int, optional
        Stop after this many candidate evaluations.
    early_stop_condition : float or callable, optional
        Stop once a front member's loss is at most this value, or when
        ``early_stop_condition(loss, complexity)`` is true for one.
    model_selection : {"best", "accuracy", "score"}, default "best"
        Which front equation :meth:`predict` uses: "accuracy" the lowest loss;
        "score" the largest drop in log-loss per unit of complexity; "best"
        the shortest description length of the held-out data
        (:func:`hybridsr.export.description_lengths`: the cross-validated
        loss's log-likelihood plus ``log(symbols)`` per node and, per
        constant, ``log(rows)/2`` less what the held-out loss already
        charges for it), so that a formula fitting the noise
        of a small sample is not picked over the law; without held-out
        losses (``validation_folds=0``) PySR's rule, the highest score among
        those with loss within 1.5x of the lowest. Read when predicting, so
        it can be changed after fitting.
    validation_folds : int, default 5
        After the search, each front equation's constants are refitted on
        all folds but one and its loss measured on that one (at most 2,000
        rows take part; a smaller sample is split into folds again, up to 10
        times, until about 2,000 held-out losses are averaged): the
        ``validation_loss`` and ``description_length`` columns, which "best"
        selection compares. 0 skips it (PySR's rule
        on training losses).
    simplify_constants : bool, default True
        After the search, set a front equation's constants to simple
        fractions or 0, or tie two of them together (``c_i = c_j`` or
        ``c_i = -c_j``), where the data cannot tell the difference: each
        change removes a free parameter and is kept when the Bayesian
        information criterion does not rise or, for a fraction, when writing
        it is shorter than writing the constant to the precision the data
        give it, by more than the fit loses (:mod:`hybridsr.constant_tying`).
        Noisy data then give ``-log(R*(1/n1**2 - 1/n2**2))`` instead of
        ``-0.9991*log(11088920/n1**2 - 11102056/n2**2)``. Nodes a 0 or 1
        leaves without effect are removed, so an equation can become
        smaller (:func:`hybridsr.expr.remove_inert_nodes`). Exact fits, and
        losses other than "mse", are left as they are.
    n_jobs : int, optional
        Worker processes for the islands (None or 1: in this process; -1:
        every core). Results do not depend on it.
    random_state : int, SeedSequence or numpy Generator, optional
        Seed of the search. With an int, searches bounded by ``niterations``
        or ``max_evals`` are reproducible, whatever ``n_jobs`` is.
    verbosity : int, default 1
        0: silent; 1: one progress line; 2: a line per iteration. Progress
        is shown only when standard error is a terminal.
    output_file : str or path, optional
        CSV of the current front (complexity, loss, score, equation), rewritten
        atomically after every iteration so that a killed run leaves a usable
        file. With several targets, ``front.csv`` becomes ``front.out1.csv``, ...
    warm_start : bool, default False
        Continue the previous fit's populations instead of starting afresh
        (same operators, features and number of targets).
    guidance : None, str, generator or list of them, default None
        Candidate generators that seed the search: ``"student"`` trains a
        teacher network on the data, distils an EQL student of interpretable
        units from it and hands the student's formula and its subexpressions
        to the search (as members of the populations and as donors of the
        ``graft`` mutation); ``"structure"`` asks a teacher whether the law
        separates (``g(x_A) + h(x_B)``, ``g * h``) or depends on a pair of
        variables only through their ratio (times a power), difference,
        product or sum, solves the smaller problems by short searches and
        proposes the formulas assembled from them
        (:mod:`hybridsr.guidance.decomposition`); ``"sparse"`` fits short
        linear combinations of basis functions built from the operators
        (:mod:`hybridsr.guidance.sparse`, no torch); ``"transformer"`` decodes
        the data with the pretrained SR-Transformer. An object with a
        ``propose(task)`` method (see :mod:`hybridsr.guidance`) can stand in
        the list too. None: plain GP.
        A generator that fails gives a ``GuidanceWarning`` and the search
        runs without it.
    guidance_start : {"stall", "start"}, default "stall"
        When the generators run. "stall": the search runs as plain GP and
        the generators run only once its Pareto front stops improving (the
        front's geometric-mean loss over complexities falls by less than 1%
        in 3 iterations), at the latest after a quarter of the iterations or
        of ``timeout_in_seconds``, and never when the front already holds an
        exact formula or the search ends first; their candidates then
        replace the worst members of the islands. Guidance runs at most once
        per search (a warm start or resume of a search that ran it does not
        run it again). Without a timeout the rule reads no clock, so the
        result depends on ``random_state`` only. "start": before the search,
        into the initial populations.
    guidance_fraction : float, default 0.1
        Share of the populations seeded with candidates and their
        subexpressions (the rest is random, or stays as it was).
    guidance_time_fraction : float, default 0.35
        Share of ``timeout_in_seconds`` the generators may take (20 seconds
        in all when there is no timeout); with ``guidance_start="stall"`` at
        most half the time left when they start. The search gets the rest.
        The one-off import of torch and its optimizers (2-5 s, the first
        time in a process) comes on top of the share, not out of it; it
        still counts against ``timeout_in_seconds``.
    teacher : torch.nn.Module, optional
        A network you trained on this problem (maps a float tensor of shape
        (n, n_features) to the targets) for the student to distil, or the
        structure generator to question, instead of a teacher trained here.
        Used with ``guidance="student"`` and ``"structure"``.
    cluster : None, str, distributed.Client or Dask cluster, default None
        Run the islands as tasks on a Dask cluster (needs
        ``pip install "hybridsr[cluster]"``): ``"local"`` starts a
        ``LocalCluster`` here; ``"slurm"``, ``"pbs"``, ``"sge"`` or ``"lsf"``
        submit batch jobs of workers through dask-jobqueue (set them up in
        ``cluster_options``); a scheduler address (``"tcp://host:8786"``), a
        scheduler file (``"scheduler.json"``), a ``distributed.Client`` or a
        cluster object connects to workers you started. The head process
        keeps the islands' states and migrates between them, so the result
        is the same as without a cluster for the same ``random_state`` (when
        bounded by ``niterations`` or ``max_evals``); a task lost with its
        worker runs again from the island's last state. ``n_jobs`` is then
        ignored. None: in this process, or ``n_jobs`` local processes.
    cluster_options : dict, optional
        For the clusters built here: a scheduler's job settings (``cores``,
        ``memory``, ``walltime``, ``queue``, ``account``,
        ``job_extra_directives``, ``processes``, ... as dask-jobqueue names
        them) or ``LocalCluster`` settings (``n_workers``, ...). Also
        ``jobs`` (batch jobs to submit; default one worker per island),
        ``worker_timeout`` (seconds without any worker before the fit fails,
        default 120) and ``task_retries`` (default 2).
    checkpoint_file : str or path, optional
        Save the whole search state (populations, hall of fame, RNG states,
        options) here, atomically, every ``checkpoint_every``, when the
        search ends and when it fails, so that ``fit(..., resume_from=...)``
        can continue it.
    checkpoint_every : int or str, default 10
        Iterations between checkpoints, or a duration between them such as
        ``"10min"``, ``"90s"`` or ``"1h"``.

    Attributes
    ----------
    equations_ : DataFrame or list of DataFrame
        The Pareto front, ascending complexity, with columns ``complexity``,
        ``loss``, ``score``, ``equation``, ``sympy``, ``lambda`` and ``tree``
        (see :mod:`hybridsr.export`); a list with one table per target when
        ``y`` is 2-D.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it was a DataFrame with string names.
    variable_names_ : tuple of str
        The names of the features in equations (sanitised column names,
        ``variable_names``, or ``x0, x1, ...``).
    language_ : Language
        The operators and variables the equations are written in.
    search_results_ : list of SearchResult
        One per target: the front, evaluation counts, stop reason and the
        state that ``warm_start`` continues from.
    guidance_ : list of dict
        One per guided target: the candidates proposed, how many trees
        seeded the populations (``n_initial``) and the graft mutation
        (``n_donors``), seconds spent, any generator's failure, and when
        guidance started: ``started_at_iteration`` (0: before the search;
        None: it never ran, because the search ended before stalling),
        ``started_at_seconds`` and ``reason`` ("start", "stall", "latest
        start", or "earlier fit" for a continued search that ran it before).
        Empty without guidance.

    Examples
    --------
    >>> import numpy as np
    >>> from hybridsr import HybridSRRegressor
    >>> X = np.random.default_rng(0).uniform(-3, 3, size=(100, 2))
    >>> y = 2.5 * X[:, 0] * X[:, 1]
    >>> model = HybridSRRegressor(niterations=5, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> print(model)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        binary_operators=("+", "-", "*", "/"),
        unary_operators=(),
        complexity_of_operators=None,
        complexity_of_constants=1.0,
        complexity_of_variables=1.0,
        populations=15,
        population_size=33,
        ncycles_per_iteration=550,
        niterations=40,
        initial_size=3,
        tournament_selection_n=12,
        tournament_selection_p=0.9,
        crossover_probability=0.01,
        mutation_weights=None,
        annealing=True,
        alpha=0.1,
        perturbation_factor=0.076,
        probability_negate_constant=0.01,
        skip_mutation_failures=True,
        maxsize=20,
        maxdepth=None,
        constraints=None,
        nested_constraints=None,
        parsimony=0.0032,
        adaptive_parsimony_scaling=20.0,
        use_frequency=True,
        use_frequency_in_tournament=True,
        should_optimize_constants=True,
        optimize_probability=0.14,
        optimize_offspring_probability=0.5,
        optimizer_algorithm="lm",
        optimizer_nrestarts=2,
        optimizer_iterations=8,
        should_simplify=True,
        migration=True,
        hof_migration=True,
        fraction_replaced=0.05,
        fraction_replaced_hof=0.05,
        loss="mse",
        huber_delta=1.0,
        batching="auto",
        batch_size=50,
        timeout_in_seconds=None,
        max_evals=None,
        early_stop_condition=None,
        model_selection="best",
        validation_folds=5,
        simplify_constants=True,
        n_jobs=None,
        random_state=None,
        verbosity=1,
        output_file=None,
        warm_start=False,
        guidance=None,
        guidance_start="stall",
        guidance_fraction=0.1,
        guidance_time_fraction=0.35,
        teacher=None,
        cluster=None,
        cluster_options=None,
        checkpoint_file=None,
        checkpoint_every=10,
    ):
        self.binary_operators = binary_operators
        self.unary_operators = unary_operators
        self.complexity_of_operators = complexity_of_operators
        self.complexity_of_constants = complexity_of_constants
        self.complexity_of_variables = complexity_of_variables
        self.populations = populations
        self.population_size = population_size
        self.ncycles_per_iteration = ncycles_per_iteration
        self.niterations = niterations
        self.initial_size = initial_size
        self.tournament_selection_n = tournament_selection_n
        self.tournament_selection_p = tournament_selection_p
        self.crossover_probability = crossover_probability
        self.mutation_weights = mutation_weights
        self.annealing = annealing
        self.alpha = alpha
        self.perturbation_factor = perturbation_factor
        self.probability_negate_constant = probability_negate_constant
        self.skip_mutation_failures = skip_mutation_failures
        self.maxsize = maxsize
        self.maxdepth = maxdepth
        self.constraints = constraints
        self.nested_constraints = nested_constraints
        self.parsimony = parsimony
        self.adaptive_parsimony_scaling = adaptive_parsimony_scaling
        self.use_frequency = use_frequency
        self.use_frequency_in_tournament = use_frequency_in_tournament
        self.should_optimize_constants = should_optimize_constants
        self.optimize_probability = optimize_probability
        self.optimize_offspring_probability = optimize_offspring_probability
        self.optimizer_algorithm = optimizer_algorithm
        self.optimizer_nrestarts = optimizer_nrestarts
        self.optimizer_iterations = optimizer_iterations
        self.should_simplify = should_simplify
        self.migration = migration
        self.hof_migration = hof_migration
        self.fraction_replaced = fraction_replaced
        self.fraction_replaced_hof = fraction_replaced_hof
        self.loss = loss
        self.huber_delta = huber_delta
        self.batching = batching
        self.batch_size = batch_size
        self.timeout_in_seconds = timeout_in_seconds
        self.max_evals = max_evals
        self.early_stop_condition = early_stop_condition
        self.model_selection = model_selection
        self.validation_folds = validation_folds
        self.simplify_constants = simplify_constants
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbosity = verbosity
        self.output_file = output_file
        self.warm_start = warm_start
        self.guidance = guidance
        self.guidance_start = guidance_start
        self.guidance_fraction = guidance_fraction
        self.guidance_time_fraction = guidance_time_fraction
        self.teacher = teacher
        self.cluster = cluster
        self.cluster_options = cluster_options
        self.checkpoint_file = checkpoint_file
        self.checkpoint_every = checkpoint_every

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def __sklearn_clone__(self):
        # A distributed.Client or cluster object cannot be deep-copied: clones
        # (GridSearchCV, cross_val_score) share it, as they share an address.
        if self.cluster is None or isinstance(self.cluster, (str, os.PathLike)):
            return super().__sklearn_clone__()
        params = {name: clone(value, safe=False)
                  for name, value in self.get_params(deep=False).items() if name != "cluster"}
        return type(self)(**params, cluster=self.cluster)

    # -- fitting -------------------------------------------------------------------
    def fit(self, X, y, weights=None, variable_names=None, *, resume_from=None):
        """Search for equations of ``y`` in the columns of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric inputs; a DataFrame's column names become the variable names.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; a 2-D ``y`` gets one search (and one table) per column.
        weights : array-like of shape (n_samples,) or like ``y``, optional
            Non-negative row weights of the loss.
        variable_names : sequence of str, optional
            Names of the features in the equations (Python identifiers).
        resume_from : str or path, optional
            A ``checkpoint_file`` written by an earlier fit on the same data:
            its searches continue where the checkpoint left them, to this
            estimator's ``niterations`` (and time and evaluation budgets) in
            all. Checkpoints are pickles: load only files you trust.

        Returns
        -------
        self : HybridSRRegressor
        """
        settings = self._resolve_settings()
        resumed = None if resume_from is None else read_checkpoint(resume_from)
        X, Y, W, y_is_2d = self._check_training_data(X, y, weights)
        names = self._resolve_variable_names(variable_names, X.shape[1], settings.operator_set)
        language = Language(settings.operator_set, X.shape[1], variable_names=names)
        states = self._warm_states(language, Y.shape[1]) if resumed is None else None
        checkpoints = FitCheckpoints(self.checkpoint_file, *settings.checkpoint_every, language,
                                     data_digest(X, Y, W), settings.config, Y.shape[1], resumed)
        if resumed is not None:
            states = [checkpoints.state(k) for k in range(Y.shape[1])]
        with _cluster_executor(settings.cluster, settings.config.populations) as executor:
            try:
                return self._fit_targets(settings, X, Y, W, y_is_2d, language, states, executor,
                                         checkpoints)
            except WorkersLostError as error:
                error.add_note(
                    f"The search state is saved in {str(self.checkpoint_file)!r}; continue with "
                    f"fit(X, y, resume_from={str(self.checkpoint_file)!r})."
                    if self.checkpoint_file is not None else
                    "Set checkpoint_file to be able to resume a search that stops like this.")
                raise

    def _fit_targets(self, settings: "_Settings", X, Y, W, y_is_2d: bool, language: Language,
                     states: list, executor, checkpoints: FitCheckpoints):
        """The searches of :meth:`fit`, one per column of ``Y``, with the cluster (if any) open."""
        seeds = settings.seed.spawn(Y.shape[1])
        results, tables, guidance_reports = [], [], []
        for k in range(Y.shape[1]):
            data = Dataset.from_arrays(X, Y[:, k], None if W is None else W[:, k])
            floor = rounding_loss_floor(Y[:, k], settings.config.loss, settings.config.huber_delta)
            output = _output_path(self.output_file, k, Y.shape[1])
            label = f"y{k}" if Y.shape[1] > 1 else None
            callback = _IterationCallback(language, output, floor,
                                          ProgressDisplay(self.verbosity, label=label))
            config, initial, donors, intervene = settings.config, None, None, None
            guide = settings.generators and settings.guidance_start
            if guide == "start" and states[k] is None:  # a warm start keeps its populations
                config, initial, donors, report = self._guide(settings, language, X, Y[:, k], seeds[k])
                guidance_reports.append(report)
            donors, budget = checkpoints.donors(k, donors), checkpoints.budget(k, config)
            if guide == "stall":
                report = _stall_report(states[k])
                guidance_reports.append(report)
                if report["reason"] is None and budget is not None:
                    intervene = self._stall_trigger(settings, language, X, Y[:, k], seeds[k],
                                                    budget, floor, report)
            # Only a stall-guided search gets the hook; other searches are called as before.
            hook = {} if intervene is None else {"intervene": intervene}
            try:
                result = checkpoints.saved_result(k) if budget is None else run_search(
                    data, language, budget, random_state=seeds[k], n_jobs=settings.n_jobs,
                    executor=executor, state=states[k], callback=callback, initial_trees=initial,
                    donor_trees=donors, checkpoint=checkpoints.checkpointer(k, states[k], donors),
                    **hook)
            finally:
                callback.display.close()
            checkpoints.finish(k, result.stop_reason)
            if not result.hall_of_fame:
                raise RuntimeError(
                    f"the search stopped ({result.stop_reason}) before any equation could be "
                    f"evaluated on target {k}; allow more time (timeout_in_seconds, max_evals)")
            # One evaluator of the search's loss for both after-search passes over the front.
            evaluator = Evaluator(language.operator_set, settings.config.loss,
                                  settings.config.huber_delta)
            front = result.hall_of_fame
            if self.simplify_constants:
                front = simplify_front(front, language, evaluator, data, loss_floor=floor)
            validation = self._cross_validation(language, evaluator, front, data, seeds[k])
            table = equations_table(front, language, floor,
                                    *((None, 0) if validation is None
                                      else (validation.losses, validation.row_losses.shape[1])),
                                    loss=settings.config.loss,
                                    validation_folds=0 if validation is None else validation.folds)
            if output is not None:
                write_front_csv(table, output)
            results.append(result)
            tables.append(table)

        self.variable_names_ = language.variable_names
        self.language_ = language
        self.search_results_ = results
        self.equations_ = tables if y_is_2d else tables[0]
        if guidance_reports or not hasattr(self, "guidance_"):
            self.guidance_ = guidance_reports
        return self

    def _cross_validation(self, language: Language, evaluator: Evaluator, hall_of_fame,
                          data: Dataset, seed: np.random.SeedSequence):
        """Cross-validated losses of the front in complexity order (None when switched off)."""
        folds = _plain_int(self.validation_folds)
        if folds == 0:
            return None
        trees = [m.tree for m in sorted(hall_of_fame, key=lambda m: m.complexity)]
        # A child key of its own, so the search's streams stay as they are.
        rng = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 2**31)))
        try:
            return cross_validate(trees, language, evaluator, data, folds=folds, rng=rng)
        except KeyboardInterrupt:  # the front is kept; "best" falls back to training losses
            return None

    def _guide(self, settings: "_Settings", language: Language, X: np.ndarray, y: np.ndarray,
               seed: np.random.SeedSequence):
        """Run the candidate generators on their share of the time; return the search's
        config (its timeout shortened by the time spent), initial trees, donors and a report."""
        config = settings.config
        timeout = config.timeout_in_seconds
        budget = GUIDANCE_SECONDS_WITHOUT_TIMEOUT if timeout is None else self.guidance_time_fraction * timeout
        initial, donors, report = self._run_generators(settings, language, X, y, seed, budget)
        if timeout is not None:
            config = dataclasses.replace(
                config, timeout_in_seconds=max(timeout - report["seconds"], 0.1 * timeout))
        report.update(started_at_iteration=0, started_at_seconds=0.0, reason="start")
        return config, initial, donors, report

    def _run_generators(self, settings: "_Settings", language: Language, X: np.ndarray,
                        y: np.ndarray, seed: np.random.SeedSequence, seconds: float):
        """The generators' candidates as (initial trees, donors) and a report of the run."""
        config = settings.config
        start = time.monotonic()
        operators = language.operator_set.operators
        # Drawn without consuming the search's seed, so the GP's random streams do not move.
        guidance_seed = int(np.random.Generator(np.random.PCG64(seed)).integers(2**31))
        task = GuidanceTask(X, y, tuple(language.variable_names),
                            tuple(op.name for op in operators if op.arity == 1),
                            tuple(op.name for op in operators if op.arity == 2),
                            seconds, guidance_seed, self.teacher, language.operator_set)
        outcome = run_guidance(settings.generators, task)
        n_initial = round(self.guidance_fraction * config.population_size * config.populations)
        initial, donors = candidate_trees(outcome.candidates, language, int(config.maxsize), n_initial)
        report = {"candidates": [str(c) for c in outcome.candidates], "n_initial": len(initial),
                  "n_donors": len(donors), "seconds": time.monotonic() - start,
                  "generator_seconds": outcome.seconds, "failures": outcome.failures}
        return initial, donors, report

    def _stall_trigger(self, settings: "_Settings", language: Language, X: np.ndarray,
                       y: np.ndarray, seed: np.random.SeedSequence, budget: SearchConfig,
                       loss_floor: float, report: dict) -> StallTrigger:
        """The search's ``intervene`` hook: the generators' candidates once it stalls.

        ``budget`` is the config this search call runs under (what a resume
        has left); ``report`` is filled in (in place) when guidance runs.
        """
        timeout = settings.config.timeout_in_seconds
        share = GUIDANCE_SECONDS_WITHOUT_TIMEOUT if timeout is None else self.guidance_time_fraction * timeout

        def start(progress, reason: str) -> Injection:
            seconds = share
            if budget.timeout_in_seconds is not None:
                # The candidates are worth nothing without search time to use them.
                seconds = min(share, 0.5 * max(budget.timeout_in_seconds - progress.elapsed, 0.0))
            initial, donors, outcome = self._run_generators(settings, language, X, y, seed, seconds)
            report.update(outcome, started_at_iteration=progress.iteration,
                          started_at_seconds=progress.elapsed, reason=reason)
            return Injection(tuple(initial), tuple(donors))

        return StallTrigger(StallRule(), int(budget.maxsize), loss_floor, budget.niterations,
                            budget.timeout_in_seconds, start)

    def _resolve_settings(self) -> "_Settings":
        """Check the parameters and build the frozen objects of a fit (no data needed)."""
        operator_set = OperatorSet.from_spec(
            self.binary_operators, self.unary_operators, self.complexity_of_operators,
            self.complexity_of_constants, self.complexity_of_variables)
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(SearchConfig)}
        values["mutation_weights"] = MutationWeights.from_value(self.mutation_weights)
        config = SearchConfig(**values)
        for name in ("constraints", "nested_constraints"):
            _check_operator_keys(name, getattr(self, name), operator_set)
        check_choice("model_selection", self.model_selection, MODEL_SELECTIONS)
        if not _is_integer(self.validation_folds) or self.validation_folds < 0 or self.validation_folds == 1:
            raise ValueError(f"validation_folds must be 0 (no cross-validation) or an integer >= 2, "
                             f"got {self.validation_folds!r}")
        if not isinstance(self.simplify_constants, (bool, np.bool_)):
            raise ValueError(f"simplify_constants must be True or False, got {self.simplify_constants!r}")
        if not _is_integer(self.verbosity) or self.verbosity < 0:
            raise ValueError(f"verbosity must be an integer >= 0 (0 silent, 1 progress line), "
                             f"got {self.verbosity!r}")
        n_jobs = resolve_n_jobs(None if self.n_jobs is None else _plain_int(self.n_jobs))
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise ValueError(f"warm_start must be True or False, got {self.warm_start!r}")
        generators = resolve_generators(self.guidance)
        if not isinstance(self.guidance_start, str):
            raise ValueError(f"guidance_start must be one of {sorted(GUIDANCE_STARTS)}, "
                             f"got {self.guidance_start!r}")
        check_choice("guidance_start", self.guidance_start, GUIDANCE_STARTS)
        for name in ("guidance_fraction", "guidance_time_fraction"):
            value = getattr(self, name)
            if not (_is_number(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if self.teacher is not None and not callable(self.teacher):
            raise ValueError(f"teacher must be a torch module (callable on a tensor of inputs), "
                             f"got {type(self.teacher).__name__}")
        if self.output_file is not None:
            if not isinstance(self.output_file, (str, os.PathLike)) or not str(self.output_file):
                raise ValueError(f"output_file must be a file path or None, got {self.output_file!r}")
            if Path(self.output_file).is_dir():
                raise ValueError(f"output_file={str(self.output_file)!r} is a folder; "
                                 f"name a file such as 'front.csv'")
        if self.checkpoint_file is not None and (
                not isinstance(self.checkpoint_file, (str, os.PathLike)) or not str(self.checkpoint_file)
                or Path(self.checkpoint_file).is_dir()):
            raise ValueError(f"checkpoint_file must be the path of a file (not a folder) or None, "
                             f"got {self.checkpoint_file!r}; e.g. 'search.ckpt'")
        checkpoint_every = parse_checkpoint_every(self.checkpoint_every)
        cluster = resolve_cluster(self.cluster, self.cluster_options)
        seed = resolve_seed(self.random_state)
        return _Settings(operator_set, config, n_jobs, seed, generators, self.guidance_start, cluster,
                         checkpoint_every)

    def _check_training_data(self, X, y, weights):
        """Checked float arrays X (n, p), Y (n, targets), W (n, targets) or None, and y.ndim == 2."""
        if isinstance(X, pd.DataFrame):
            _check_frame(X)
        _check_lengths(X, y, "y")
        if y is not None:
            _check_finite(_as_float(y, "y"), "y")
        X, y = validate_data(self, X, y, reset=True, dtype=np.float64, ensure_all_finite=False,
                             multi_output=True, y_numeric=True, ensure_min_samples=0,
                             ensure_min_features=0)
        n_samples, n_features = X.shape
        if n_samples == 0:
            raise ValueError(f"X has 0 samples (shape={X.shape}); pass at least 2 rows")
        if n_features == 0:
            raise ValueError(f"X has 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
                             f"required; pass at least one input column")
        if n_samples == 1:
            raise ValueError("X has 1 sample (a single row); a formula cannot be fitted to one "
                             "point: pass at least 2 rows")
        _check_finite(X, "X")
        y = np.asarray(y, dtype=np.float64)
        Y = y.reshape(n_samples, -1)
        if Y.shape[1] == 0:
            raise ValueError("y has no columns; pass at least one target")
        for k in range(Y.shape[1]):
            if np.all(Y[:, k] == Y[0, k]):
                where = f"y[:, {k}]" if y.ndim == 2 else "y"
                raise ValueError(f"{where} is constant (every value is {Y[0, k]:g}); there is "
                                 f"nothing to search for: check that you passed the right target")
        W = None if weights is None else _check_weights(weights, Y.shape)
        return X, Y, W, y.ndim == 2

    def _resolve_variable_names(self, variable_names, n_features: int, operator_set) -> tuple:
        if variable_names is not None:
            if isinstance(variable_names, str):
                raise ValueError("variable_names must be a list of names, one per feature, "
                                 f"not the string {variable_names!r}")
            names = tuple(variable_names)
            if len(names) != n_features:
                raise ValueError(f"{len(names)} variable_names for {n_features} features; "
                                 f"pass one name per column of X")
            for name in names:
                problem = _name_problem(name, operator_set)
                if problem:
                    raise ValueError(f"variable name {name!r} {problem}; pass names that are "
                                     f"Python identifiers, e.g. {_sanitize(str(name), operator_set)!r}")
            source = "variable_names"
        elif hasattr(self, "feature_names_in_"):
            names = tuple(_sanitize(str(c), operator_set) for c in self.feature_names_in_)
            source = "the column names of X"
        else:
            return tuple(f"x{i}" for i in range(n_features))
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate variable names {duplicates} (from {source}); give "
                             f"every feature its own name, e.g. pass variable_names=[...]")
        return names

    def _warm_states(self, language: Language, n_targets: int) -> list:
        """The states a warm start continues from (copies), or Nones."""
        if not (self.warm_start and hasattr(self, "search_results_")):
            return [None] * n_targets
        previous = self.language_
        if previous.n_features != language.n_features or len(self.search_results_) != n_targets:
            raise ValueError(
                f"warm_start=True continues the previous search, which had "
                f"{previous.n_features} feature(s) and {len(self.search_results_)} target(s), but "
                f"this data has {language.n_features} and {n_targets}; set warm_start=False to "
                f"start afresh")
        if previous.operator_set != language.operator_set:
            raise ValueError("warm_start=True continues the previous search, but the operators "
                             "or their complexities changed; set warm_start=False to start afresh")
        return [copy.deepcopy(result.state) for result in self.search_results_]

    # -- using the fitted model --------------------------------------------------
    def predict(self, X, index=None):
        """Values of the selected equation(s) at the rows of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        index : int or list of int, optional
            Row of ``equations_`` to use (one per target with several targets);
            by default the one ``model_selection`` picks.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            NaN (or inf) at rows where the equation is undefined.
        """
        check_is_fitted(self, "equations_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=False)
        _check_finite(X, "X")
        data = Dataset.from_arrays(X)
        evaluator = Evaluator(self.language_.operator_set)
        columns = []
        for tree in self._rows(index, "tree"):
            values = evaluator.predict(compile_tree(tree, self.language_), data)
            if np.isnan(values).all():
                # The kernels stop at the first undefined value; say where, row by row.
                values = evaluate_tree(tree, self.language_, X)
            columns.append(values)
        return np.column_stack(columns) if self._multi_target else columns[0]

    def sympy(self, index=None):
        """The sympy expression of the selected equation (a list with several targets), in
        :func:`~hybridsr.expr.readable_form`: constants that equal simple numbers written as them."""
        return self._one_or_list(self._rows(index, "sympy"))

    def latex(self, index=None, precision: int | None = 3):
        """LaTeX of the selected equation, constants to ``precision`` significant digits."""
        check_is_fitted(self, "equations_")
        return self._one_or_list([to_latex(tree, self.language_, precision=precision)
                                  for tree in self._rows(index, "tree")])

    def get_best(self, index=None):
        """The selected row of ``equations_`` (a list of rows with several targets)."""
        check_is_fitted(self, "equations_")
        rows = [table.iloc[i] for table, i in zip(self._tables, self._indices(index))]
        return self._one_or_list(rows)

    def __repr__(self, N_CHAR_MAX=700):
        if not hasattr(self, "equations_"):
            return super().__repr__(N_CHAR_MAX)
        try:
            indices = self._indices(None)
        except ValueError:  # model_selection was set to an invalid value after fitting
            indices = [None] * len(self._tables)
        name = type(self).__name__
        blocks = [format_front(t, i) for t, i in zip(self._tables, indices)]
        if not self._multi_target:
            return f"{name}.equations_ = [\n{_indent(blocks[0])}\n]"
        parts = [f"  target {k}:\n{_indent(b, 2)}" for k, b in enumerate(blocks)]
        return f"{name}.equations_ = [\n" + "\n".join(parts) + "\n]"

    # -- helpers -----------------------------------------------------------------
    @property
    def _multi_target(self) -> bool:
        return isinstance(self.equations_, list)

    @property
    def _tables(self) -> list[pd.DataFrame]:
        return self.equations_ if self._multi_target else [self.equations_]

    def _indices(self, index) -> list[int]:
        tables = self._tables
        if index is None:
            return [select_index(t, self.model_selection) for t in tables]
        if isinstance(index, (list, tuple, np.ndarray)):
            if len(index) != len(tables):
                raise ValueError(f"index has {len(index)} entries for {len(tables)} target(s); "
                                 f"pass one row position per target")
            return [check_index(t, i) for t, i in zip(tables, index)]
        return [check_index(t, index) for t in tables]

    def _rows(self, index, column: str) -> list:
        check_is_fitted(self, "equations_")
        return [table[column].iloc[i] for table, i in zip(self._tables, self._indices(index))]

    def _one_or_list(self, values: list):
        return values if self._multi_target else values[0]


@dataclasses.dataclass(frozen=True)
class _Settings:
    """What ``fit`` resolves from the parameters before it looks at the data."""

    operator_set: OperatorSet
    config: SearchConfig
    n_jobs: int
    seed: np.random.SeedSequence  # spawned once per target
    generators: list  # candidate generators of neural guidance (empty: plain GP)
    guidance_start: str = "stall"  # when they run: one of GUIDANCE_STARTS
    cluster: object = None  # a checked ClusterSpec, or None: no cluster
    checkpoint_every: tuple = (10, None)  # (iterations, seconds) between checkpoints


def _stall_report(state) -> dict:
    """The ``guidance_`` entry of a stall-started search before guidance runs (if it ever
    does); a continued search that ran guidance before says so and runs it no more."""
    report = {"candidates": [], "n_initial": 0, "n_donors": 0, "seconds": 0.0,
              "generator_seconds": {}, "failures": {}, "started_at_iteration": None,
              "started_at_seconds": None, "reason": None}
    if state is not None and state.injected_at:
        report.update(started_at_iteration=state.injected_at[0], reason="earlier fit")
    return report


class _IterationCallback:
    """Per-iteration work during a fit: the progress line and the ``output_file`` CSV."""

    def __init__(self, language: Language, output: Path | None, loss_floor: float,
                 display: ProgressDisplay):
        self.language = language
        self.output = output
        self.loss_floor = loss_floor
        self.display = display

    def __call__(self, progress) -> None:
        self.display(progress)
        if self.output is not None and progress.hall_of_fame:
            table = front_frame(progress.hall_of_fame, self.language, self.loss_floor)
            write_front_csv(table, self.output)


@contextlib.contextmanager
def _cluster_executor(spec, n_islands: int):
    """The cluster's executor while the searches run (None without a cluster)."""
    if spec is None:
        yield None
        return
    with open_cluster(spec, n_islands) as executor:
        yield executor


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)) and np.isfinite(value)


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _plain_int(value):
    """numpy integers as int (other values unchanged, for the callee's error message)."""
    return int(value) if _is_integer(value) else value


def _output_path(output_file, target: int, n_targets: int) -> Path | None:
    """``output_file``, or ``stem.out{k+1}.suffix`` for target k of several."""
    if output_file is None:
        return None
    path = Path(output_file)
    if n_targets == 1:
        return path
    return path.with_name(f"{path.stem}.out{target + 1}{path.suffix}")


def _check_frame(X: pd.DataFrame) -> None:
    """Duplicate or non-numeric columns of a DataFrame X."""
    names = [str(c) for c in X.columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate variable names {duplicates} (columns of X); give every "
                         f"column its own name, or pass variable_names=[...] with unique names")
    bad = [str(c) for c, dtype in X.dtypes.items()
           if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))]
    if bad:
        raise ValueError(f"X has non-numeric column(s) {bad}; encode them as numbers or drop them "
                         f"before fitting")


def _check_lengths(X, y, name: str) -> None:
    """Mismatched or zero row counts, said before sklearn's generic messages."""
    def length(values):
        shape = getattr(values, "shape", None)
        if shape is not None and len(shape) > 0:
            return shape[0]
        try:
            return len(values)
        except TypeError:
            return None

    n_x, n_y = length(X), None if y is None else length(y)
    if n_x == 0:
        raise ValueError("X has 0 samples (no rows); pass at least 2 rows")
    if n_x is not None and n_y is not None and n_x != n_y:
        raise ValueError(f"X has {n_x} rows but {name} has {n_y}; pass one {name} value per row of X")


def _as_float(values, name: str) -> np.ndarray:
    values = np.asarray(values)
    if np.iscomplexobj(values):
        raise ValueError(f"Complex data not supported in {name}; pass real numbers")
    try:
        return values.astype(np.float64)
    except ValueError:
        raise ValueError(f"{name} has non-numeric values; pass numbers") from None


def _check_finite(values: np.ndarray, name: str) -> None:
    finite = np.isfinite(values)
    if finite.all():
        return
    rows = np.flatnonzero(~finite.reshape(values.shape[0] if values.ndim else 1, -1).all(axis=1))
    has_nan, has_inf = np.isnan(values).any(), np.isinf(values).any()
    kind = "NaN and inf" if has_nan and has_inf else ("NaN" if has_nan else "inf")
    raise ValueError(f"{name} contains {kind} in {len(rows)} row(s) (first: row {rows[0]}); "
                     f"drop or impute those rows first")


def _check_weights(weights, y_shape: tuple) -> np.ndarray:
    n, n_targets = y_shape
    W = _as_float(weights, "weights")
    if W.ndim == 1 and W.shape[0] == n:
        W = np.repeat(W[:, None], n_targets, axis=1)
    elif W.shape != y_shape and not (W.ndim == 2 and W.shape == (n, 1) and n_targets == 1):
        raise ValueError(f"weights has shape {W.shape}; pass one weight per row of X, shape ({n},)"
                         + (f" or ({n}, {n_targets})" if n_targets > 1 else ""))
    W = W.reshape(n, n_targets)
    if not np.isfinite(W).all() or (W < 0).any():
        raise ValueError("weights must be finite and non-negative; fix or drop the bad rows")
    if (W.sum(axis=0) <= 0).any():
        raise ValueError("weights are all zero (for at least one target); give some rows a "
                         "positive weight")
    return np.ascontiguousarray(W)


def _name_problem(name, operator_set: OperatorSet) -> str | None:
    if not isinstance(name, str) or not name.isidentifier():
        return "is not a Python identifier"
    if keyword.iskeyword(name):
        return "is a Python keyword"
    if name in operator_set:
        return "is the name of an operator"
    return None


def _sanitize(name: str, operator_set: OperatorSet) -> str:
    """A usable variable name from a column name ("mass (kg)" -> "mass_kg"); a name that
    is usable already (``g_``) stays as it is."""
    if _name_problem(name, operator_set) is None:
        return name
    cleaned = re.sub(r"\W+", "_", name).strip("_") or "x"
    if cleaned[0].isdigit():
        cleaned = "x" + cleaned
    if keyword.iskeyword(cleaned) or cleaned in operator_set:
        cleaned += "_"
    return cleaned


def _check_operator_keys(name: str, value, operator_set: OperatorSet) -> None:
    """Constraint dicts must name operators of the search (nested ones at both levels)."""
    if not isinstance(value, dict):
        return  # None, or a non-mapping that SearchConfig already rejected
    keys = list(value)
    if name == "nested_constraints":
        keys += [k for inner in value.values() if isinstance(inner, dict) for k in inner]
    unknown = [k for k in keys if k not in operator_set]
    if unknown:
        raise ValueError(f"{name} names {unknown}, which are not operators of this search "
                         f"{list(operator_set.names)}; fix the names or add the operators")


def _indent(text: str, spaces: int = 1) -> str:
    pad = "\t" if spaces == 1 else " " * (spaces * 2)
    return "\n".join(pad + line for line in text.splitlines())
