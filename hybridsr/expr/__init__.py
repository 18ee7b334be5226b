"""Expressions: DEAP trees, flat programs, sympy/string/LaTeX conversion, simplification."""

from .tree import (CONSTANT, VARIABLE, Constant, Fitness, Individual, Language, Program,
                   compile_tree, complexity, constants_of, with_constants)
from .traversal import is_constant, reduce_tree
from .sympy_convert import parse_expression, sympy_to_tree, tree_to_sympy, variable_symbols
from .printing import format_constant, parse_string, to_latex, to_latex_raw, to_string
from .simplify import evaluate_tree, fold_constants, remove_inert_nodes, simplify_tree
from .exact import readable_form, snap_number
from .random_trees import feasible_size, random_tree, random_trees

__all__ = ["CONSTANT", "VARIABLE", "Constant", "Fitness", "Individual", "Language", "Program",
           "compile_tree", "complexity", "constants_of", "with_constants",
           "is_constant", "reduce_tree",
           "parse_expression", "sympy_to_tree", "tree_to_sympy", "variable_symbols",
           "format_constant", "parse_string", "to_latex", "to_latex_raw", "to_string",
           "evaluate_tree", "fold_constants", "remove_inert_nodes", "simplify_tree", "readable_form",
           "snap_number",
           "feasible_size", "random_tree", "random_trees"]
