"""DEAP trees for GP and the flat programs the numba kernels evaluate.

A :class:`Language` joins an :class:`~hybridsr.operators.OperatorSet` with the
input variables into a DEAP primitive set. Individuals are
``deap.gp.PrimitiveTree`` subclasses defined at module level (never through
``creator.create``) so they pickle across processes.

:func:`compile_tree` flattens a tree into a :class:`Program`: three parallel
arrays in postfix order. The order is the tree's prefix order reversed, so an
operator finds its *first* argument on top of the stack: evaluating pops ``a``
then ``b`` and pushes ``op(a, b)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from deap import base, gp

from ..operators import OperatorSet

__all__ = [
    "VARIABLE",
    "CONSTANT",
    "Constant",
    "Fitness",
    "Individual",
    "Language",
    "Program",
    "compile_tree",
    "constants_of",
    "with_constants",
    "complexity",
]

#: Opcodes of the leaves; operators use their position in the operator set (>= 0).
VARIABLE = -1
CONSTANT = -2


class Constant(gp.Terminal):
    """A numeric leaf whose value the constant optimiser may change.

    Trees never change a constant in place: :func:`with_constants` builds new
    leaves, so trees that share nodes after crossover stay independent.
    """

    __slots__ = ()

    def __init__(self, value: float):
        super().__init__(float(value), False, object)

    def __eq__(self, other):
        return type(other) is Constant and self.value == other.value

    def __hash__(self):
        return hash(("Constant", self.value))

    def __reduce__(self):
        return (Constant, (self.value,))

    def __deepcopy__(self, memo):
        return self  # immutable in practice: replaced, never edited

    def format(self) -> str:
        return repr(self.value)


class Fitness(base.Fitness):
    """Minimised loss; module-level so individuals pickle."""

    weights = (-1.0,)


class Individual(gp.PrimitiveTree):
    """A GP individual: a prefix-ordered DEAP tree with a fitness."""

    def __init__(self, content=()):
        super().__init__(content)
        self.fitness = Fitness()


class _NumpyOperator:
    """The numpy function of an operator, for DEAP's ``gp.compile`` path.

    Kept as a picklable object that builds its function on first use.
    """

    def __init__(self, operator):
        self.operator = operator
        self._function = None

    def __getstate__(self):
        return {"operator": self.operator, "_function": None}

    def __call__(self, *args):
        if self._function is None:
            import sympy

            self._function = sympy.lambdify(self.operator.arguments, self.operator.sympy_form, "numpy")
        return self._function(*args)


_NUMPY_FUNCTIONS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "pow": np.power, "neg": np.negative, "square": np.square,
    "cube": lambda a: a * a * a, "sqrt": np.sqrt, "exp": np.exp, "log": np.log,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "abs": np.abs,
    "inv": np.reciprocal,
}


@dataclass(frozen=True)
class Language:
    """Operators plus variables: everything needed to build and read trees.

    Parameters
    ----------
    operator_set : OperatorSet
    n_features : int
        Number of input variables; their internal names are ``x0 .. x{n-1}``.
    variable_names : sequence of str, optional
        Names shown when printing (defaults to the internal names).
    """

    operator_set: OperatorSet
    n_features: int
    variable_names: tuple[str, ...] = ()
    pset: gp.PrimitiveSet = field(init=False, repr=False, compare=False)
    _opcodes: dict = field(init=False, repr=False, compare=False)
    _variables: dict = field(init=False, repr=False, compare=False)
    _variable_terminals: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.n_features < 1:
            raise ValueError("a language needs at least one input variable")
        names = tuple(self.variable_names) or tuple(f"x{i}" for i in range(self.n_features))
        if len(names) != self.n_features:
            raise ValueError(f"{len(names)} variable names for {self.n_features} features")
        object.__setattr__(self, "variable_names", names)
        pset = gp.PrimitiveSet("main", self.n_features, prefix="x")
        for op in self.operator_set.operators:
            function = _NUMPY_FUNCTIONS.get(op.ident) if op.definition is None else None
            pset.addPrimitive(function or _NumpyOperator(op), op.arity, name=op.ident)
        object.__setattr__(self, "pset", pset)
        object.__setattr__(self, "_opcodes", {op.ident: i for i, op in enumerate(self.operator_set.operators)})
        object.__setattr__(self, "_variables", {f"x{i}": i for i in range(self.n_features)})
        # DEAP keeps the argument terminals only among all terminals; index them once.
        by_name = {t.name: t for t in pset.terminals[object] if not isinstance(t, type)}
        object.__setattr__(self, "_variable_terminals", tuple(by_name[n] for n in pset.arguments))

    def __reduce__(self):
        return (Language, (self.operator_set, self.n_features, self.variable_names))

    # -- nodes ---------------------------------------------------------------
    def primitive(self, name: str) -> gp.Primitive:
        """The DEAP primitive of an operator, by name (``"+"``) or identifier (``"add"``)."""
        op = self.operator_set[name]
        for prim in self.pset.primitives[object]:
            if prim.name == op.ident:
                return prim
        raise KeyError(name)  # unreachable: every operator is registered

    def variable(self, index: int) -> gp.Terminal:
        return self._variable_terminals[index]

    def opcode(self, primitive: gp.Primitive) -> int:
        return self._opcodes[primitive.name]

    def variable_index(self, terminal: gp.Terminal) -> int:
        return self._variables[terminal.name]

    def operator(self, primitive: gp.Primitive):
        return self.operator_set.operators[self._opcodes[primitive.name]]


class Program:
    """A tree flattened for the kernels.

    Attributes
    ----------
    code : int32 array
        Opcode per node: operator index, :data:`VARIABLE` or :data:`CONSTANT`.
    arg : int32 array
        Feature index of a variable, slot in :attr:`constants` of a constant, 0 otherwise.
    constants : float64 array
        Values of the constant leaves, in slot order.
    depth : int
        The largest stack depth the program reaches (work buffers needed).
    """

    __slots__ = ("code", "arg", "constants", "depth")

    def __init__(self, code, arg, constants, depth):
        self.code = code
        self.arg = arg
        self.constants = constants
        self.depth = depth

    def __len__(self):
        return len(self.code)

    def __repr__(self):
        return (f"Program(code={self.code.tolist()}, arg={self.arg.tolist()}, "
                f"constants={self.constants.tolist()})")


def compile_tree(tree: Sequence, language: Language) -> Program:
    """Flatten a prefix tree into a postfix :class:`Program` (see module docstring)."""
    n = len(tree)
    code = np.empty(n, dtype=np.int32)
    arg = np.zeros(n, dtype=np.int32)
    constants = []
    opcodes = language._opcodes
    variables = language._variables
    depth = max_depth = 0
    for i, node in enumerate(reversed(tree)):
        if node.arity:
            if depth < node.arity:
                raise ValueError(f"malformed tree: operator {node.name!r} lacks arguments")
            code[i] = opcodes[node.name]
            depth -= node.arity - 1
        else:
            if type(node) is Constant:
                code[i] = CONSTANT
                arg[i] = len(constants)
                constants.append(node.value)
            else:
                code[i] = VARIABLE
                arg[i] = variables[node.name]
            depth += 1
            if depth > max_depth:
                max_depth = depth
    if depth != 1:
        raise ValueError(f"malformed tree: evaluation leaves {depth} values on the stack")
    return Program(code, arg, np.array(constants, dtype=np.float64), max_depth)


def constants_of(tree: Sequence) -> np.ndarray:
    """The constant values of a tree, in the program's slot order."""
    return np.array([node.value for node in reversed(tree) if type(node) is Constant],
                    dtype=np.float64)


def with_constants(tree: Sequence, values) -> Individual:
    """A new tree equal to ``tree`` with its constants replaced (slot order)."""
    values = list(np.asarray(values, dtype=np.float64))
    if len(values) != sum(type(node) is Constant for node in tree):
        raise ValueError("number of values does not match the tree's constants")
    nodes = list(tree)
    for i in range(len(nodes) - 1, -1, -1):
        if type(nodes[i]) is Constant:
            nodes[i] = Constant(values.pop(0))
    return Individual(nodes)


def complexity(tree: Sequence, language: Language) -> float:
    """Weighted node count: operator, constant and variable weights of the operator set."""
    ops = language.operator_set
    total = 0.0
    for node in tree:
        if node.arity:
            total += language.operator(node).complexity
        elif type(node) is Constant:
            total += ops.complexity_of_constants
        else:
            total += ops.complexity_of_variables
    return total
