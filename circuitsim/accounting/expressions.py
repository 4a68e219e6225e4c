"""Safe arithmetic formulas for action counts, timing and bandwidth (no ``eval`` of arbitrary code).

A formula is a Python expression restricted to numbers, names, ``+ - * / // % **``, comparisons,
``and``/``or``/``not``, ``a if cond else b`` and a handful of functions (``ceil``, ``floor``, ``min``,
``max``, ``log2``, ``sqrt``, ``abs``). It is parsed once with :mod:`ast`, every node is checked against
that whitelist, and it is compiled into a tree of closures over NumPy functions, so one formula evaluates
a scalar configuration or a whole design-space grid (arrays broadcast) with the same code.

    >>> f = Formula.parse("K * K * C * 8 / (N_ch * Q_bit)")
    >>> float(f({"K": 2, "C": 3, "N_ch": 4, "Q_bit": 4}))
    6.0
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import Callable

import numpy as np

from circuitsim.errors import CircuitsimError


class FormulaError(CircuitsimError):
    """A formula that does not parse, uses a construct outside the whitelist, or names an unknown symbol."""


def _nary(fn):
    def call(*args):
        if not args:
            raise FormulaError("min()/max() need at least one argument")
        out = args[0]
        for arg in args[1:]:
            out = fn(out, arg)
        return out
    return call


#: Functions a formula may call: all elementwise, so they work on scalars and arrays alike.
FUNCTIONS: dict[str, Callable] = {
    "ceil": np.ceil,
    "floor": np.floor,
    "log2": np.log2,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "min": _nary(np.minimum),
    "max": _nary(np.maximum),
}

#: NumPy ufuncs, not Python's operators, so ``1 / 0`` is inf and ``10 ** 400`` is inf (then refused by the
#: engine's finiteness checks, naming the line) instead of a ZeroDivisionError or OverflowError.
_BINOPS = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
    ast.FloorDiv: np.floor_divide, ast.Mod: np.mod, ast.Pow: np.power,
}
_CMPOPS = {
    ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
    ast.Eq: np.equal, ast.NotEq: np.not_equal,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: np.logical_not}


@dataclass(frozen=True)
class Formula:
    """A parsed, whitelisted formula: ``formula(symbols)`` evaluates it; ``names`` lists the symbols it reads."""

    text: str
    names: frozenset
    _fn: Callable

    @classmethod
    def parse(cls, text, where: str = "formula") -> "Formula":
        """Parse ``text`` (a string or a plain number). ``where`` names the file/key for error messages."""
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise FormulaError(f"{where}: expected a number or a formula string, got {text!r}")
        if not isinstance(text, str):
            value = _finite_constant(text, where)
            return cls(repr(text), frozenset(), lambda symbols: value)
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise FormulaError(f"{where}: cannot parse formula {text!r} ({exc.msg})") from None
        names: set[str] = set()
        fn = _compile(tree.body, names, where, text)
        return cls(text, frozenset(names), fn)

    def __call__(self, symbols: dict):
        missing = self.names - symbols.keys()
        if missing:
            raise FormulaError(f"formula {self.text!r} uses unknown symbol(s) {sorted(missing)}; "
                               f"known: {sorted(symbols)}")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._fn(symbols)


def float_or_inf(value) -> float:
    """``float(value)``, with a number too large for a float (a 400-digit integer) as inf."""
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def shown_number(value) -> str:
    """A number as an error message shows it: shortened when it has more than 24 characters."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} digits)"


def _finite_constant(value, where: str) -> float:
    """A number of a formula as a finite float; a 400-digit integer or 1e999 is a FormulaError."""
    out = float_or_inf(value)
    if not np.isfinite(out):
        raise FormulaError(f"{where}: the number {shown_number(value)} is too large or not finite (a float "
                           "holds at most ~1.8e308); write a finite number in SI units")
    return out


def _compile(node, names: set, where: str, text: str) -> Callable:
    """Turn one whitelisted AST node into a closure ``symbols -> value``."""
    def recurse(child):
        return _compile(child, names, where, text)

    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        value = _finite_constant(node.value, where)
        return lambda s: value
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        value = bool(node.value)
        return lambda s: value
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise FormulaError(f"{where}: {node.id!r} is a function; call it, e.g. {node.id}(x)")
        names.add(node.id)
        key = node.id
        return lambda s: s[key]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        op, left, right = _BINOPS[type(node.op)], recurse(node.left), recurse(node.right)
        return lambda s: op(left(s), right(s))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        op, operand = _UNARY[type(node.op)], recurse(node.operand)
        return lambda s: op(operand(s))
    if isinstance(node, ast.Compare):
        ops = [_CMPOPS.get(type(o)) for o in node.ops]
        if None in ops:
            raise FormulaError(f"{where}: comparison not allowed in {text!r} (use < <= > >= == !=)")
        terms = [recurse(node.left), *[recurse(c) for c in node.comparators]]

        def compare(s):
            values = [t(s) for t in terms]
            out = ops[0](values[0], values[1])
            for i in range(1, len(ops)):
                out = np.logical_and(out, ops[i](values[i], values[i + 1]))
            return out
        return compare
    if isinstance(node, ast.BoolOp):
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        parts = [recurse(v) for v in node.values]

        def boolean(s):
            out = parts[0](s)
            for part in parts[1:]:
                out = combine(out, part(s))
            return out
        return boolean
    if isinstance(node, ast.IfExp):
        test, body, orelse = recurse(node.test), recurse(node.body), recurse(node.orelse)
        return lambda s: np.where(test(s), body(s), orelse(s))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            called = ast.unparse(node.func)
            raise FormulaError(f"{where}: call to {called!r} not allowed in {text!r}; "
                               f"allowed functions: {', '.join(sorted(FUNCTIONS))}")
        fn, args = FUNCTIONS[node.func.id], [recurse(a) for a in node.args]
        return lambda s: fn(*[a(s) for a in args])
    raise FormulaError(f"{where}: {type(node).__name__} not allowed in formula {text!r} "
                       "(numbers, names, + - * / // % **, comparisons, and/or/not, 'a if c else b', "
                       f"and {', '.join(sorted(FUNCTIONS))}() only)")
