"""One tiny kernel per (operator, type), and its value on given inputs in every semantics.

The same kernel is run by the scalar interpreter, the vectorised interpreter and (for its
one expression) the SMT translation, which Z3 evaluates on the same inputs. Inputs and
outputs are compared as bit patterns (unsigned integers of the type's width; ``bool`` as
0/1). NaN payloads are not part of the semantics: every NaN compares equal to every NaN.

Z3 evaluates a whole table at once: the translated term becomes an SMT-LIB ``define-fun``
and one ``concat`` of its applications to constants per chunk of inputs, which Z3's own
rewriter folds to a constant (one call instead of one per input: 65,536 pairs in ~1 s).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import z3

from tensorize.equivalence.smt import Translator, sort_of
from tensorize.ir import numeric
from tensorize.ir.interp import run
from tensorize.ir.nodes import Assign, For, Function
from tensorize.ir.types import BOOL, SCALAR_TYPES, DType
from tensorize.smt import terms as T
from tensorize.smt.z3_backend import to_z3
from tests.kernels import kernel

INT_TYPES = [SCALAR_TYPES[n] for n in ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64")]
FLOAT_TYPES = [SCALAR_TYPES[n] for n in ("f16", "bf16", "f32", "f64")]
NUMERIC_TYPES = INT_TYPES + FLOAT_TYPES

INT_BINARY = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "min", "max"]
FLOAT_BINARY = ["+", "-", "*", "/", "min", "max"]
COMPARISONS = ["==", "!=", "<", "<=", ">", ">="]
NAMES = "ABC"


@dataclass(frozen=True)
class Op:
    """An expression over loads ``A[i]``, ``B[i]``, ``C[i]`` of the given operand types."""

    text: str
    operands: tuple[DType, ...]
    result: DType

    def kernel(self) -> Function:
        """``OUT[i] = text`` for every ``i`` in ``0..N``."""
        decls = "\n".join(f"  in {NAMES[k]}: {t}[N]" for k, t in enumerate(self.operands))
        return kernel(f"kernel op(N = 1) {{\n{decls}\n  out OUT: {self.result}[N]\n"
                      f"  for i in 0..N {{ OUT[i] = {self.text} }}\n}}\n")


def binary(op: str, t: DType) -> Op:
    """``a op b`` (or ``min(a, b)``) on two operands of type ``t``."""
    text = f"{op}(A[i], B[i])" if op in ("min", "max") else f"A[i] {op} B[i]"
    return Op(text, (t, t), BOOL if op in COMPARISONS else t)


def unary(op: str, t: DType) -> Op:
    """``op a`` or ``op(a)``."""
    text = f"{op}(A[i])" if op[0].isalpha() else f"{op}A[i]"
    return Op(text, (t,), t)


def cast(src: DType, dst: DType, saturate: bool) -> Op:
    """``T(a)`` or ``sat_T(a)``."""
    return Op(f"{'sat_' if saturate else ''}{dst}(A[i])", (src,), dst)


# -- values ---------------------------------------------------------------------------
def bits_of(value: int | float | bool, t: DType) -> int:
    """The bit pattern of one value of type ``t``."""
    if t.is_bool:
        return int(bool(value))
    if t.is_int:
        return int(value) & ((1 << t.bits) - 1)
    arr = np.asarray(numeric.round_to_float(float(value), t), dtype=np.float64)
    return int(arr.astype(t.np_dtype).view(f"u{t.bits // 8}"))


def int_edges(t: DType) -> list[int]:
    """Edge values of an integer type and small shift amounts around its width."""
    values = {0, 1, 2, 3, -1, -2, t.min, t.min + 1, t.max - 1, t.max, t.bits - 1, t.bits,
              t.bits + 1, 2 * t.bits, 7, 100, -100, 1 << (t.bits // 2)}
    return sorted(numeric.wrap(v, t) for v in values)


def float_edges(t: DType) -> list[float]:
    """Edge values of a float type: zeros, infinities, NaN, extremes, subnormals, ties."""
    ebits, sbits = t.float_format
    emax = (1 << (ebits - 1)) - 1
    emin = 1 - emax
    tiny = 2.0 ** (emin - sbits + 1)
    largest = (2.0 - 2.0 ** (1 - sbits)) * 2.0 ** emax
    raw = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, 0.1, 1 / 3, math.inf,
           -math.inf, math.nan, largest, -largest, 2.0 ** emin, -(2.0 ** emin), tiny, -tiny,
           2.0 ** emin - tiny, 1 + 2.0 ** (1 - sbits), 127.5, 128.0, 255.5, 256.0, -129.0,
           65504.0, 65519.0, 65520.0, 2.0 ** 31, -(2.0 ** 31), 2.0 ** 32, 2.0 ** 63,
           -(2.0 ** 63), 2.0 ** 64, 1e10, -1e10, 3e38, 1e300]
    out: dict[int, float] = {}
    for v in raw:
        r = numeric.round_to_float(v, t)
        out.setdefault(bits_of(r, t), r)
    return list(out.values())


def edges(t: DType) -> list[int | float | bool]:
    """Edge values of any type."""
    if t.is_bool:
        return [False, True]
    if t.is_int:
        return list(int_edges(t))
    return list(float_edges(t))


def random_values(t: DType, n: int, rng: random.Random) -> list[int | float | bool]:
    """``n`` random values of type ``t`` (random bit patterns for floats)."""
    if t.is_bool:
        return [rng.random() < 0.5 for _ in range(n)]
    if t.is_int:
        return [rng.randint(t.min, t.max) for _ in range(n)]
    pats = np.asarray([rng.getrandbits(t.bits) for _ in range(n)], dtype=f"u{t.bits // 8}")
    with np.errstate(invalid="ignore"):
        return [float(v) for v in pats.view(t.np_dtype).astype(np.float64)]


def to_array(values: Sequence[int | float | bool], t: DType) -> np.ndarray:
    """Values of type ``t`` (each exactly representable) as a numpy array of its dtype."""
    if t.is_float:
        return np.asarray(values, dtype=np.float64).astype(t.np_dtype)  # exact
    if t.is_bool:
        return np.asarray(values, dtype=bool)
    return np.asarray([int(v) for v in values], dtype=object).astype(t.np_dtype)


def column_bits(col: np.ndarray, t: DType) -> list[int]:
    """The bit pattern of each element of a column of type ``t``."""
    if t.is_bool:
        return [int(v) for v in col]
    return [int(v) for v in col.view(f"u{t.bits // 8}")]


def out_bits(arr: np.ndarray, t: DType) -> list[int]:
    """Output bit patterns; every NaN becomes -1 (payloads are not semantics)."""
    if t.is_bool:
        return [int(v) for v in arr]
    pats = arr.view(f"u{t.bits // 8}") if t.bits > 1 else arr
    out = [int(v) for v in pats]
    if t.is_float:
        with np.errstate(invalid="ignore"):
            nan = np.isnan(arr.astype(np.float64))
        out = [-1 if n else v for v, n in zip(out, nan)]
    return out


# -- the three semantics ----------------------------------------------------------------
def interpret(op: Op, columns: Sequence[np.ndarray], mode: str) -> list[int]:
    """Output bits of ``op`` on each row of ``columns`` under interpreter ``mode``."""
    n = len(columns[0])
    inputs = {NAMES[k]: c for k, c in enumerate(columns)}
    out = run(op.kernel(), inputs, sizes={"N": n}, mode=mode)  # type: ignore[arg-type]
    return out_bits(out["OUT"], op.result)


def value_expr(fn: Function):
    """The right-hand side of the one assignment of an op kernel."""
    loop = fn.body[0]
    assert isinstance(loop, For) and isinstance(loop.body[0], Assign)
    return loop.body[0].value


def smt_term(op: Op) -> tuple[z3.ExprRef, list[z3.ExprRef]]:
    """The SMT translation of ``op`` as a bit-vector function of the operands' bits.

    A float result is ``nan_flag ++ ieee_bits``; a bool result one bit.
    """
    ours = [T.var(f"p{k}", T.bv_sort(1 if t.is_bool else t.bits)) for k, t in
            enumerate(op.operands)]
    values = {}
    for k, t in enumerate(op.operands):
        p = ours[k]
        if t.is_bool:
            values[NAMES[k]] = T.eq(p, T.bv_val(1, 1))
        elif t.is_float:
            values[NAMES[k]] = T.fp_from_bv(p, sort_of(t, "ieee"))
        else:
            values[NAMES[k]] = p
    tr = Translator("ieee", lambda load, idx: values[load.buf])
    term = to_z3(tr(value_expr(op.kernel()), {"i": 0}))
    params = [to_z3(p) for p in ours]
    if op.result.is_bool:
        term = z3.If(term, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1))
    elif op.result.is_float:
        nan = z3.fpIsNaN(term)
        term = z3.If(nan, z3.BitVecVal(1 << op.result.bits, op.result.bits + 1),
                     z3.Concat(z3.BitVecVal(0, 1), z3.fpToIEEEBV(term)))
    return term, params


def solve_table(op: Op, rows: Sequence[Sequence[int]]) -> list[int]:
    """Z3's value of the translated ``op`` on each row of operand bit patterns."""
    term, params = smt_term(op)
    width = term.size()
    chunk = max(1, 8192 // width)  # a constant of at most 8192 bits: 2,500 digits
    sig = " ".join(f"({p} (_ BitVec {p.size()}))" for p in params)
    head = f"(define-fun f ({sig}) (_ BitVec {width}) {term.sexpr()})\n"
    parts = []
    for c in range(0, len(rows), chunk):
        group = rows[c:c + chunk]
        apps = " ".join("(f " + " ".join(f"(_ bv{v} {p.size()})" for v, p in zip(row, params))
                        + ")" for row in group)
        body = f"(concat {apps})" if len(group) > 1 else apps
        parts.append(f"(declare-const r{c} (_ BitVec {width * len(group)}))"
                     f"(assert (= r{c} {body}))\n")
    out: list[int] = []
    for c, f in zip(range(0, len(rows), chunk), z3.parse_smt2_string(head + "".join(parts))):
        s = z3.simplify(f)
        value = s.arg(1) if z3.is_bv_value(s.arg(1)) else s.arg(0)
        if not z3.is_bv_value(value):  # some row has no defined value: find which
            out += [_solve_one(term, params, row) for row in rows[c:c + chunk]]
            continue
        n = len(rows[c:c + chunk])
        big = value.as_long()
        for k in range(n):
            out.append((big >> (width * (n - 1 - k))) & ((1 << width) - 1))
    if op.result.is_float:
        nan_bit = 1 << op.result.bits
        out = [-1 if v >= 0 and v & nan_bit else v for v in out]
    return out


UNSPECIFIED = -2
"""The value of a term that Z3 leaves unspecified (e.g. ``fp.to_sbv`` of infinity)."""


def _solve_one(term: z3.ExprRef, params: list[z3.ExprRef], row: Sequence[int]) -> int:
    value = z3.simplify(z3.substitute(term, *[(p, z3.BitVecVal(v, p.size()))
                                              for p, v in zip(params, row)]))
    return value.as_long() if z3.is_bv_value(value) else UNSPECIFIED


def columns_of(op: Op, rows: Sequence[Sequence[int | float | bool]]) -> list[np.ndarray]:
    """Rows of operand values as one numpy column per operand."""
    return [to_array([r[k] for r in rows], t) for k, t in enumerate(op.operands)]


def rows_for(op: Op, n_random: int = 24, seed: int = 0, exhaustive_bits: int = 16,
             limit: int | None = None) -> list[tuple[int | float | bool, ...]]:
    """Every combination of edge values (all values of 8-bit types when the whole
    product has at most ``exhaustive_bits`` bits), plus random rows.

    With ``limit``, a product of edge values larger than that is sampled (seeded).
    """
    rng = random.Random(seed)
    total_bits = sum(t.bits for t in op.operands)
    if all(t.bits <= 8 for t in op.operands) and total_bits <= exhaustive_bits:
        pools = [list(range(t.min, t.max + 1)) if t.is_int else edges(t) for t in op.operands]
    else:
        pools = [edges(t) + random_values(t, 6, rng) for t in op.operands]
    rows: list[tuple[int | float | bool, ...]] = [()]
    for pool in pools:
        rows = [r + (v,) for r in rows for v in pool]
    if limit is not None and len(rows) > limit:
        rows = rng.sample(rows, limit)
    rows += [tuple(random_values(t, 1, rng)[0] for t in op.operands) for _ in range(n_random)]
    return rows


def disagreements(op: Op, rows: Sequence[Sequence[int | float | bool]],
                  sides: Sequence[str] = ("scalar", "vector", "smt"),
                  limit: int = 5) -> list[str]:
    """Rows on which the given semantics disagree (at most ``limit``), described."""
    cols = columns_of(op, rows)
    results: dict[str, list[int]] = {}
    for side in sides:
        if side == "smt":
            bits = [column_bits(c, t) for c, t in zip(cols, op.operands)]
            results[side] = solve_table(op, list(zip(*bits)))
        else:
            results[side] = interpret(op, cols, side)
    bad = []
    for k in range(len(rows)):
        got = {s: results[s][k] for s in sides}
        if len(set(got.values())) > 1:
            bad.append(f"{op.text} on {op.operands}: inputs {tuple(rows[k])}: " +
                       ", ".join(f"{s}={_show(v, op.result)}" for s, v in got.items()))
            if len(bad) >= limit:
                break
    return bad


def _show(bits: int, t: DType) -> str:
    if bits == -1:
        return "nan"
    if bits == UNSPECIFIED:
        return "unspecified"
    if t.is_float:
        arr = np.asarray(bits, dtype=f"u{t.bits // 8}").view(t.np_dtype)
        return f"{float(arr)!r}"
    if t.is_int and t.is_signed:
        return str(numeric.wrap(bits, t))
    return str(bits)


def all_ops() -> list[Op]:
    """Every (operator, type) pair of the language, casts included."""
    out = [binary(o, t) for t in INT_TYPES for o in INT_BINARY + COMPARISONS]
    out += [unary(o, t) for t in INT_TYPES for o in ("-", "~", "abs")]
    out += [binary(o, t) for t in FLOAT_TYPES for o in FLOAT_BINARY + COMPARISONS]
    out += [unary(o, t) for t in FLOAT_TYPES for o in ("-", "abs", "rint")]
    out += [Op("fma(A[i], B[i], C[i])", (t, t, t), t) for t in FLOAT_TYPES]
    for s in NUMERIC_TYPES + [BOOL]:
        for d in NUMERIC_TYPES + [BOOL]:
            if not (d.is_bool and s.is_float):
                out.append(cast(s, d, False))
            if d.is_int and not s.is_bool:
                out.append(cast(s, d, True))
    out += [Op("select(A[i], B[i], C[i])", (BOOL, t, t), t) for t in NUMERIC_TYPES + [BOOL]]
    out += [Op("A[i] && B[i]", (BOOL, BOOL), BOOL), Op("A[i] || B[i]", (BOOL, BOOL), BOOL),
            Op("!A[i]", (BOOL,), BOOL), binary("==", BOOL), binary("!=", BOOL)]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """The long campaign: every operator, 8-bit operand pairs exhaustively, in all three
    semantics; prints each disagreement and returns 1 if there is any."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m tests.op_semantics")
    parser.add_argument("--only", default="", help="run the ops whose text or types contain "
                        "this string")
    parser.add_argument("--random", type=int, default=200, help="random rows per op")
    args = parser.parse_args(argv)
    failures = 0
    start = time.monotonic()
    chosen = [op for op in all_ops() if args.only in f"{op.text} {op.operands}"]
    for op in chosen:
        bad = disagreements(op, rows_for(op, n_random=args.random))
        failures += bool(bad)
        for line in bad:
            print(line)
    print(f"{len(chosen)} operator/type pairs, {failures} with disagreements, "
          f"{time.monotonic() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
