"""Seeded random kernel pairs for differential tests of the prover (text, then parsed).

Each pair is a kernel and a variant made by one small change that is sometimes an
equivalence (a saturation the ranges make idle, a cast round trip, a commuted operand, a
clamp) and sometimes not (a saturation that can fire, a narrowing, another init). Types
mix unsigned and signed operands of every width; inputs may carry ``assume`` ranges on
either side of the sign boundary; reductions may be empty (``K = 0``) or of size 1.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from tensorize.equivalence.execute import refute_by_execution, translate_inputs
from tensorize.equivalence.prove import ProveOptions, prove
from tensorize.equivalence.results import Proved, Refuted, Result
from tensorize.equivalence.solver import SolverConfig
from tensorize.errors import TensorizeError
from tensorize.ir import interp
from tensorize.ir.nodes import Function
from tests.kernels import kernel

INT_TYPES = ("u8", "i8", "u16", "i16", "u32", "i32", "i64")
BITS = {t: int(t[1:]) for t in INT_TYPES}


def type_range(t: str) -> tuple[int, int]:
    """The values of integer type ``t``."""
    bits = BITS[t]
    if t.startswith("u"):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _const(rng: random.Random, t: str) -> str:
    lo, hi = type_range(t)
    v = rng.choice([0, 1, 2, 3, 7, 100, 127, 128, 255, 256, 32767, hi, max(lo, 0)])
    return f"{t}({min(max(v, 0), hi)})"


@dataclass
class Expr:
    """An expression's text and type."""

    text: str
    type: str


class _Gen:
    def __init__(self, rng: random.Random, leaves: list[Expr]) -> None:
        self.rng = rng
        self.leaves = leaves

    def expr(self, t: str, depth: int) -> Expr:
        r = self.rng.random()
        if depth <= 0 or r < 0.25:
            leaf = self.rng.choice(self.leaves)
            if self.rng.random() < 0.15:
                return Expr(_const(self.rng, t), t)
            return self.cast(leaf, t)
        if r < 0.55:
            op = self.rng.choice(["+", "-", "*", "*"])
            x, y = self.expr(t, depth - 1), self.expr(t, depth - 1)
            return Expr(f"({x.text} {op} {y.text})", t)
        if r < 0.75:
            u = self.rng.choice(INT_TYPES)
            return self.cast(self.expr(u, depth - 1), t)
        if r < 0.85:
            fn = self.rng.choice(["min", "max"])
            x, y = self.expr(t, depth - 1), self.expr(t, depth - 1)
            return Expr(f"{fn}({x.text}, {y.text})", t)
        x, y, z = (self.expr(t, depth - 1) for _ in range(3))
        return Expr(f"select({x.text} < {_const(self.rng, t)}, {y.text}, {z.text})", t)

    def cast(self, x: Expr, t: str) -> Expr:
        if x.type == t and self.rng.random() < 0.5:
            return x
        sat = "sat_" if self.rng.random() < 0.3 else ""
        return Expr(f"{sat}{t}({x.text})", t)


def _mutate(rng: random.Random, text: str, t: str) -> str:
    """One change of the expression text (often, not always, an equivalence)."""
    choice = rng.randrange(7)
    if choice == 0 and "sat_" in text:  # drop one saturation
        at = rng.choice([i for i in range(len(text)) if text.startswith("sat_", i)])
        return text[:at] + text[at + 4:]
    if choice == 1:  # a cast round trip through another type
        u = rng.choice(INT_TYPES)
        return f"{t}({u}({text}))"
    if choice == 2:  # a saturating round trip
        u = rng.choice(INT_TYPES)
        return f"{t}(sat_{u}({text}))"
    if choice == 3:  # an idle (or not) clamp
        lo, hi = type_range(t)
        return f"min(max({text}, {t}({max(lo, 0)})), {t}({hi}))"
    if choice == 4:  # a select on the sign
        return f"select({text} < {t}(0), {t}(0), {text})"
    if choice == 5 and " * " in text:  # commute the first product
        return text.replace(" * ", " *  ", 1)  # same meaning, different text
    return f"({text} + {t}(0))"


@dataclass
class Pair:
    """Two kernels to compare, as source text."""

    left: str
    right: str
    description: str


def _assume(rng: random.Random, name: str, t: str) -> str:
    if rng.random() < 0.5:
        return ""
    lo, hi = type_range(t)
    span = hi - lo
    a = rng.choice([lo, 0 if lo < 0 else lo, lo + span // 4, lo + span // 2, hi - 200, 100])
    a = min(max(a, lo), hi)
    b = rng.choice([a, a + 1, a + 50, a + 127, a + 255, a + span // 2, hi])
    b = min(max(b, a), hi)
    return f"  assume {name} in {a}..={b}\n"


def elementwise_pair(rng: random.Random) -> Pair:
    """``z[i] = E(a[i], b[i])`` against a one-change variant."""
    ta, tb, tz = (rng.choice(INT_TYPES) for _ in range(3))
    gen = _Gen(rng, [Expr("a[i]", ta), Expr("b[i]", tb)])
    e = gen.expr(tz, rng.choice([1, 2, 3]))
    f = _mutate(rng, e.text, tz)
    assumes = _assume(rng, "a", ta) + _assume(rng, "b", tb)
    n = rng.choice([1, 2])

    def text(body: str) -> str:
        return (f"kernel k(N = {n}) {{\n  in a: {ta}[N]\n  in b: {tb}[N]\n  out z: {tz}[N]\n"
                f"{assumes}  for i in 0..N {{ z[i] = {body} }}\n}}\n")

    return Pair(text(e.text), text(f), f"{e.text}  vs  {f}")


def product_pair(rng: random.Random) -> Pair:
    """A product of two extended operands (the product abstraction, the narrow products
    and the range rules all look at these) against a variant that tests its sign, clamps
    it, or drops a saturation."""
    ta, tb, tz = (rng.choice(INT_TYPES) for _ in range(3))
    wide = rng.choice([t for t in INT_TYPES if BITS[t] >= BITS[tz]])
    x, y = f"{tz}(a[i])", f"{tz}(b[i])"
    if rng.random() < 0.5:  # reinterpret first: i16(i8(a)) with a: u8, say
        u = rng.choice(INT_TYPES)
        x = f"{tz}({u}(a[i]))"
    e = f"({x} * {y})"
    if rng.random() < 0.4:
        e = f"sat_{tz}({wide}({x}) * {wide}({y}))"
    f = _mutate(rng, e, tz)
    assumes = _assume(rng, "a", ta) + _assume(rng, "b", tb)

    def text(body: str) -> str:
        return (f"kernel k {{\n  in a: {ta}[2]\n  in b: {tb}[2]\n  out z: {tz}[2]\n"
                f"{assumes}  for i in 0..2 {{ z[i] = {body} }}\n}}\n")

    return Pair(text(e), text(f), f"{e}  vs  {f}")


def reduction_pair(rng: random.Random) -> Pair:
    """``z[i] = init; for k: z[i] += E(a[i, k], b[k])`` against a variant.

    The variant changes the body, the init, or the loop order; ``K`` may be 0 or 1.
    """
    ta, tb, tz = (rng.choice(INT_TYPES) for _ in range(3))
    gen = _Gen(rng, [Expr("a[i, k]", ta), Expr("b[k]", tb)])
    e = gen.expr(tz, rng.choice([1, 2]))
    k = rng.choice([0, 0, 1, 2, 3])
    lo = rng.choice([0, 0, 1])  # 1..K with K = 0 is a loop whose bound lies below its start
    m = rng.choice([1, 2])
    init_left = rng.choice(["0", "1", "c[i]"])
    what = rng.randrange(3)
    body_right, init_right, swap = e.text, init_left, False
    if what == 0:
        body_right = _mutate(rng, e.text, tz)
    elif what == 1:
        init_right = rng.choice(["0", "1", "c[i]"])
    else:
        swap = True
    assumes = _assume(rng, "a", ta) + _assume(rng, "b", tb)
    op = rng.choice(["+", "max"])

    def text(body: str, init: str, swapped: bool) -> str:
        init_value = init if init == "c[i]" else f"{tz}({init})"
        update = (f"z[i] += {body}" if op == "+" else f"z[i] = max(z[i], {body})")
        head = (f"kernel k(M = {m}, K = {k}) {{\n  in a: {ta}[M, K]\n  in b: {tb}[K]\n"
                f"  in c: {tz}[M]\n  out z: {tz}[M]\n{assumes}")
        if swapped:
            nest = (f"  for i in 0..M {{ z[i] = {init_value} }}\n"
                    f"  for k in {lo}..K {{ for i in 0..M {{ {update} }} }}\n")
        else:
            nest = (f"  for i in 0..M {{ z[i] = {init_value}\n"
                    f"    for k in {lo}..K {{ {update} }} }}\n")
        return head + nest + "}\n"

    return Pair(text(e.text, init_left, False), text(body_right, init_right, swap),
                f"k in {lo}..{k} op={op} init {init_left}/{init_right}: {e.text}  vs  {body_right}")


def random_pairs(seed: int, count: int) -> list[Pair]:
    """``count`` pairs (element-wise, products, reductions in turn) from one seed."""
    rng = random.Random(seed)
    makers = (elementwise_pair, product_pair, reduction_pair)
    return [makers[n % 3](rng) for n in range(count)]


def _run(fn: Function, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ins = {b.name: values[b.name] for b in fn.buffers if b.mode in ("in", "inout")}
    return interp.run(fn, ins)


def reproduces(a: Function, b: Function, values: dict[str, list]) -> bool:
    """Whether the two sides give different outputs on a counterexample's input values."""
    shapes = interp.shapes_of(a, interp.bind_sizes(a, {}))
    arrays = {}
    for buf in a.buffers:
        if buf.mode in ("in", "inout"):
            flat = np.array(values[buf.name], dtype=object)
            arrays[buf.name] = flat.astype(buf.dtype.np_dtype).reshape(shapes[buf.name])
    out_a = _run(a, arrays)
    out_b = _run(b, translate_inputs(arrays, b, {}))
    return any(not np.array_equal(out_a[k], out_b[k].reshape(out_a[k].shape))
               for k in out_a)


@dataclass
class Verdicts:
    """What each prover path said about one pair, and what execution found."""

    shortcut: Result
    plain: Result
    executed: bool  # execution found a difference
    per_element: Result | None = None


def check_pair(pair: Pair, timeout_ms: int = 2000) -> tuple[Verdicts, str | None] | None:
    """Prove a pair with the per-element prover, with the unrolled prover's shortcuts and
    without (the plain Z3 proof), and run it.

    Returns the verdicts and a disagreement (None if sound), or None when the pair is
    rejected as input. A disagreement: a proof where execution or the plain proof finds a
    difference, a shortcut proof the plain proof refutes, or a refutation whose
    counterexample does not reproduce in the interpreter.
    """
    try:
        a, b = kernel(pair.left), kernel(pair.right)
    except TensorizeError:
        return None
    solver = SolverConfig(timeout_ms=timeout_ms)
    per_element = prove(a, b, options=ProveOptions(execution=False, solver=solver))
    shortcut = prove(a, b, options=ProveOptions(execution=False, parametric=False,
                                                solver=solver))
    plain = prove(a, b, options=ProveOptions(execution=False, shortcuts=False,
                                             parametric=False, solver=solver))
    cex = refute_by_execution(a, {}, b, {}, {}, "ieee", seed=5, randoms=6)
    verdicts = Verdicts(shortcut, plain, cex is not None, per_element)
    for name, r in (("per-element", per_element), ("shortcut", shortcut), ("plain", plain)):
        if isinstance(r, Proved) and cex is not None:
            return verdicts, f"{name} proof, but execution differs:\n{cex.describe()}"
        if isinstance(r, Refuted) and not reproduces(a, b, r.counterexample.values):
            return verdicts, f"{name} refutation does not reproduce:\n" \
                f"{r.counterexample.describe()}"
    for name, r in (("per-element", per_element), ("shortcut", shortcut)):
        if isinstance(r, Proved) and isinstance(plain, Refuted):
            return verdicts, f"{name} proof, plain refutation"
    return verdicts, None


def main() -> int:
    """The differential campaign: ``python -m tests.random_pairs [--seed S] [--count N]``."""
    import argparse
    import collections
    import time

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=1000)
    args = ap.parse_args()
    tally: collections.Counter[tuple[str, str, str, bool]] = collections.Counter()
    bad = 0
    start = time.perf_counter()
    for pair in random_pairs(args.seed, args.count):
        checked = check_pair(pair)
        if checked is None:
            continue
        verdicts, problem = checked
        per_element = verdicts.per_element.status if verdicts.per_element else "-"
        tally[(per_element, verdicts.shortcut.status, verdicts.plain.status,
               verdicts.executed)] += 1
        if problem:
            bad += 1
            print(f"DISAGREEMENT: {pair.description}\n{problem}\n{pair.left}\n{pair.right}")
    print(f"{sum(tally.values())} pairs in {time.perf_counter() - start:.0f} s, "
          f"{bad} disagreements")
    for key, n in sorted(tally.items()):
        print(f"  per-element {key[0]:8} shortcut {key[1]:8} plain {key[2]:8} "
              f"execution differs {key[3]!s:5} {n}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
