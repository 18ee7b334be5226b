"""SR-Transformer accuracy on held-out generated expressions, by expression size.

    .venv/bin/python benchmarks/transformer_accuracy.py [--weights PATH] [--pool POOL.txt]
        [--per-size 20] [--beam-size 32] [--seed 12345] [--quick]

Expressions come from the training generator (Lample & Charton's sampler,
canonical skeletons) with another seed than training; with ``--pool`` those
that occur in the training pool are skipped, so every one is unseen. Each
gets fresh constants and 128 fitting points (the training distribution),
plus 128 test points from the same box. Reported per size (nodes of the
true skeleton):

``in beam``   the true skeleton is among the decoded ones, token for token (exact
              skeleton recovery, top-k; ``x - C`` and ``x + C`` count as different);
``selected``  the candidate picked by model selection ("best") has the true skeleton;
``exact``     the picked formula is numerically exact: R^2 > 1 - 1e-9 on the test
              points (an equivalent skeleton written differently counts here);
``R2 med``    median R^2 of the picked, refitted formula on the test points;
``R2>0.99``   share of expressions whose picked formula reaches R^2 > 0.99
              (Kamienny et al.'s accuracy measure).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hybridsr.evaluate.evaluator import Evaluator
from hybridsr.expr.simplify import evaluate_tree
from hybridsr.expr.tree import Language
from hybridsr.export import equations_table, rounding_loss_floor, select_index
from hybridsr.transformer.data import sample_dataset
from hybridsr.transformer.inference import propose_candidates
from hybridsr.transformer.model import load_model
from hybridsr.transformer.refit import pareto_candidates
from hybridsr.transformer.sampler import ExpressionSampler, canonical_skeleton
from hybridsr.transformer.tokenizer import tree_to_tokens
from hybridsr.transformer.training import read_pool

#: Size bins (nodes of the canonical skeleton), inclusive.
BINS = ((1, 3), (4, 5), (6, 7), (8, 9), (10, 12), (13, 40))


def held_out_expressions(config, per_size: int, seed: int, exclude: set, max_operators: int = 6):
    """Up to ``per_size`` unseen (sample, tokens, n_variables) per bin, from the training generator.

    Small skeletons are few and mostly in the training pool, so the smallest
    bin may come out with fewer.
    """
    rng = np.random.default_rng(seed)
    sampler = ExpressionSampler(config.language, max_operators=max_operators)
    wanted = {b: [] for b in BINS}
    seen = set()
    attempts = 0
    while any(len(v) < per_size for v in wanted.values()) and attempts < 200 * per_size * len(BINS):
        attempts += 1
        n_variables = 1 + int(rng.choice(3, p=[0.4, 0.35, 0.25]))
        skeleton = canonical_skeleton(sampler.random_tree(rng, n_variables=n_variables),
                                      config.language, rng)
        if skeleton is None or len(skeleton) > config.max_length:
            continue
        key = (tuple(tree_to_tokens(skeleton, config.language, config.vocabulary)), n_variables)
        if key in seen or key in exclude:
            continue
        seen.add(key)
        for low, high in BINS:
            if low <= len(skeleton) <= high and len(wanted[(low, high)]) < per_size:
                # As in training, an expression must be finite on its sampled points.
                sample = sample_dataset(skeleton, config, n_variables, 256, rng)
                if sample is not None:
                    wanted[(low, high)].append((sample, key[0], n_variables))
    return wanted


def r2(prediction, truth) -> float:
    if not np.all(np.isfinite(prediction)):
        return -np.inf
    return float(1 - np.mean((prediction - truth) ** 2) / np.var(truth))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", help="weights file (default: the shipped model)")
    parser.add_argument("--pool", help="the training pool file, to skip seen skeletons")
    parser.add_argument("--per-size", type=int, default=20)
    parser.add_argument("--beam-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--quick", action="store_true", help="5 expressions per size, beam 8")
    args = parser.parse_args()
    per_size, beam = (5, 8) if args.quick else (args.per_size, args.beam_size)

    model, metadata = load_model(args.weights)
    config = model.config
    exclude = set()
    if args.pool:
        _, pool = read_pool(args.pool)
        exclude = {(e.tokens, e.n_variables) for e in pool}
    print(f"model: {model.n_parameters():,} parameters, {metadata.get('steps_done')} steps "
          f"(complete: {metadata.get('complete')}); beam {beam}; seed {args.seed}; "
          f"{'excluding' if exclude else 'not excluding'} training skeletons")
    expressions = held_out_expressions(config, per_size, args.seed, exclude)
    languages = {d: Language(config.operator_set, d) for d in (1, 2, 3)}
    evaluator = Evaluator(config.operator_set)
    rng = np.random.default_rng(args.seed + 1)
    header = (f"{'size':>7} {'n':>4} {'in beam':>8} {'selected':>9} {'exact':>6} {'R2 med':>8} "
              f"{'R2>0.99':>8} {'s/expr':>7}")
    print(header)
    print("-" * len(header))
    totals = []
    for (low, high), items in expressions.items():
        if not items:
            continue
        found = picked = 0
        scores = []
        start = time.monotonic()
        for sample, tokens, d in items:
            X, y = sample.X, sample.y
            candidates = propose_candidates(model, X[:128], y[:128], languages[d], evaluator, rng,
                                            beam_size=beam, max_points=128)
            truth = " ".join(tokens)
            found += any(c.skeleton == truth for c in candidates)
            front = pareto_candidates(candidates)
            table = equations_table(front, languages[d], rounding_loss_floor(y[:128]))
            best = front[select_index(table, "best")]
            picked += best.skeleton == truth
            scores.append(r2(evaluate_tree(best.tree, languages[d], X[128:]), y[128:]))
        n = len(items)
        seconds = (time.monotonic() - start) / max(n, 1)
        scores = np.array(scores)
        totals.append((n, found, picked, scores))
        label = f"{low}-{high}" if high < 40 else f"{low}+"
        print(f"{label:>7} {n:>4} {found / n:>8.0%} {picked / n:>9.0%} {np.mean(scores > 1 - 1e-9):>6.0%} "
              f"{np.median(scores):>8.4f} "
              f"{np.mean(scores > 0.99):>8.0%} {seconds:>7.1f}", flush=True)
    n = sum(t[0] for t in totals)
    scores = np.concatenate([t[3] for t in totals])
    print("-" * len(header))
    print(f"{'all':>7} {n:>4} {sum(t[1] for t in totals) / n:>8.0%} {sum(t[2] for t in totals) / n:>9.0%} "
          f"{np.mean(scores > 1 - 1e-9):>6.0%} {np.median(scores):>8.4f} {np.mean(scores > 0.99):>8.0%}")


if __name__ == "__main__":
    main()
