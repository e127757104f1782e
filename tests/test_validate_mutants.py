"""The validator is tested with wrong rewrites: every mutant of a correct rewrite is rejected.

Correct rewrites (a tail, a fused conv group, a GEMV, an init) are broken in every way a
rewriter bug could break them: a tile origin off by one, a loop or tail bound off by one,
views of two buffers swapped, a view transposed, the init dropped or duplicated, the
tail dropped, a statement duplicated, a loop variable renamed. Validation must reject
each; the unbroken rewrite must pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

import tensorize
from tensorize.ir.nodes import Arg, Binary, CallStmt, Const, Expr, For, Stmt, Var, View
from tensorize.ir.types import INDEX
from tensorize.matcher.candidates import enumerate_candidates, tile_kernel
from tensorize.matcher.fragments import fragments
from tensorize.rewrite.apply import apply_plan, bake_sizes
from tensorize.rewrite.plan import group_point, make_plan, tail_boxes
from tensorize.rewrite.validate import validate
from tests.kernels import kernel

LIB = tensorize.load_library()
BCAST = "x86.avx512_vnni.vpdpbusd_bcast"

CASES = {
    "tail": ("""kernel q(M = 2, N = 32, K = 10) {
  in A: u8[M, K]
  in B: i8[N, K]
  out C: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[j, k])
      }
    }
  }
}""", BCAST),
    "tails2": ("""kernel q2(M = 2, N = 35, K = 10) {
  in A: u8[M, K]
  in B: i8[N, K]
  out C: i32[M, N]
  for i in 0..M {
    for j in 0..N {
      C[i, j] = 0
      for k in 0..K {
        C[i, j] += i32(A[i, k]) * i32(B[j, k])
      }
    }
  }
}""", BCAST),
    "fused": ("""kernel conv(H = 3, W = 16, C = 4, F = 16) {
  in X: u8[H + 1, W + 1, C]
  in Wt: i8[F, 2, 2, C]
  out Y: i32[H, W, F]
  for h in 0..H {
    for w in 0..W {
      for f in 0..F {
        for rh in 0..2 {
          for rw in 0..2 {
            for c in 0..C {
              Y[h, w, f] += i32(X[h + rh, w + rw, c]) * i32(Wt[f, rh, rw, c])
            }
          }
        }
      }
    }
  }
}""", BCAST),
    "gemv": ("""kernel gemv(N = 16, K = 8) {
  in x: u8[K]
  in Wm: i8[N, K]
  out y: i32[N]
  for n in 0..N {
    y[n] = 5
    for k in 0..K {
      y[n] = y[n] + i32(Wm[n, k]) * i32(x[k])
    }
  }
}""", BCAST),
}


def _setup(name: str):
    text, intr_name = CASES[name]
    k = kernel(text, LIB)
    baked = bake_sizes(k, {p.name: p.default for p in k.params})
    intr = LIB[intr_name]
    frag = fragments(baked, {})[0]
    enum = enumerate_candidates(frag, intr, baked, "ieee")
    assert enum.candidates, enum.rejections
    # the candidate whose tile proof holds (the engine picks among proved ones)
    from tensorize.equivalence.prove import prove
    from tensorize.equivalence.results import Proved

    for cand in enum.candidates:
        tile = tile_kernel(cand, frag, intr, baked)
        if isinstance(prove(tile, intr), Proved):
            plan = make_plan(cand, frag.form, intr)
            stmts = apply_plan(plan, frag.form)
            return (frag.form, stmts, intr, tile, plan, baked,
                    cand.groups)
    raise AssertionError("no proved candidate")


def _check(form, stmts, intr, tile, plan, baked, groups=None):
    """Validate with the solver alone, or (``groups`` given) by construction where it can."""
    return validate(form, stmts, intr, tile, plan, w_type=baked.buffer(form.buf).dtype,
                    assumes=baked.assumes, construction=groups is not None)


# -- mutation operators over the emitted statements --------------------------------------
def _plus_one(e: Expr) -> Expr:
    return Binary("+", e, Const(1, INDEX), INDEX)


def _loops(stmt: Stmt) -> Iterator[For]:
    while isinstance(stmt, For):
        yield stmt
        stmt = stmt.body[0]


def _replace_in_nest(stmt: Stmt, target: Stmt, new: Stmt) -> Stmt:
    if stmt is target:
        return new
    if isinstance(stmt, For):
        return dataclasses.replace(stmt, body=tuple(_replace_in_nest(s, target, new)
                                                    for s in stmt.body))
    return stmt


def _call_of(stmt: Stmt) -> CallStmt | None:
    for loop in _loops(stmt):
        inner = loop.body[0]
        if isinstance(inner, CallStmt):
            return inner
    return stmt if isinstance(stmt, CallStmt) else None


def mutants(stmts: tuple[Stmt, ...]) -> Iterator[tuple[str, tuple[Stmt, ...]]]:
    """Every broken variant of ``stmts``, named."""
    for n, stmt in enumerate(stmts):
        rest = stmts[:n] + stmts[n + 1:]
        yield f"drop statement {n}", rest
        yield f"duplicate statement {n}", stmts[:n + 1] + stmts[n:]
        for loop in _loops(stmt):
            for field, delta in (("hi", 1), ("hi", -1), ("lo", 1), ("lo", -1)):
                bound = getattr(loop, field)
                new = dataclasses.replace(loop, **{field: Const(bound.value + delta, INDEX)})
                yield (f"statement {n} loop {loop.var} {field}{delta:+d}",
                       stmts[:n] + (_replace_in_nest(stmt, loop, new),) + stmts[n + 1:])
            renamed = dataclasses.replace(loop, var=loop.var + "_x")
            yield (f"statement {n} loop {loop.var} renamed",
                   stmts[:n] + (_replace_in_nest(stmt, loop, renamed),) + stmts[n + 1:])
        call = _call_of(stmt)
        if call is None:
            continue

        def with_args(args: tuple[Arg, ...], stmt: Stmt = stmt, call: CallStmt = call,
                      n: int = n) -> tuple[Stmt, ...]:
            new = dataclasses.replace(call, args=args)
            return stmts[:n] + (_replace_in_nest(stmt, call, new),) + stmts[n + 1:]

        for a, arg in enumerate(call.args):
            view = arg.value
            assert isinstance(view, View)
            for c in range(len(view.index)):  # tile origin off by one
                index = view.index[:c] + (_plus_one(view.index[c]),) + view.index[c + 1:]
                args = call.args[:a] + (dataclasses.replace(
                    arg, value=dataclasses.replace(view, index=index)),) + call.args[a + 1:]
                yield f"view {arg.name} component {c} + 1", with_args(args)
            index = view.index[:-1] + (Binary("+", view.index[-1], Var("zz", INDEX),
                                                  INDEX),)
            args = call.args[:a] + (dataclasses.replace(
                arg, value=dataclasses.replace(view, index=index)),) + call.args[a + 1:]
            yield f"view {arg.name} uses an unbound variable", with_args(args)
            if len(view.dims) > 1:  # transposed
                dims = tuple(reversed(view.dims))
                args = call.args[:a] + (dataclasses.replace(
                    arg, value=dataclasses.replace(view, dims=dims)),) + call.args[a + 1:]
                yield f"view {arg.name} transposed", with_args(args)
                index = tuple(reversed(view.index))
                args = call.args[:a] + (dataclasses.replace(
                    arg, value=dataclasses.replace(view, index=index)),) + call.args[a + 1:]
                yield f"view {arg.name} index reversed", with_args(args)
            for b, other in enumerate(call.args):  # two views swapped (buffers or whole)
                if b <= a:
                    continue
                ov = other.value
                assert isinstance(ov, View)
                args = list(call.args)
                args[a] = dataclasses.replace(arg, value=ov)
                args[b] = dataclasses.replace(other, value=view)
                yield f"views {arg.name} and {other.name} swapped", with_args(tuple(args))
                if len(ov.index) == len(view.index):
                    args = list(call.args)
                    args[a] = dataclasses.replace(arg, value=dataclasses.replace(
                        view, buf=ov.buf))
                    args[b] = dataclasses.replace(other, value=dataclasses.replace(
                        ov, buf=view.buf))
                    yield f"buffers of {arg.name} and {other.name} swapped", \
                        with_args(tuple(args))


@pytest.mark.parametrize("constructed", [False, True], ids=["solver", "construction"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_correct_rewrite_validates(case: str, constructed: bool) -> None:
    form, stmts, intr, tile, witness, baked, groups = _setup(case)
    result = _check(form, stmts, intr, tile, witness, baked, groups if constructed else None)
    assert result.ok, result.failures
    assert set(result.checks) >= {"structure", "tile kernel", "views"}
    assert ("count (by construction)" in result.checks) == constructed


@pytest.mark.parametrize("constructed", [False, True], ids=["solver", "construction"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_mutant_is_rejected(case: str, constructed: bool) -> None:
    form, stmts, intr, tile, witness, baked, groups = _setup(case)
    seen = 0
    accepted = []
    for name, mutant in mutants(stmts):
        if mutant == stmts:
            continue
        seen += 1
        if _check(form, mutant, intr, tile, witness, baked,
                  groups if constructed else None).ok:
            accepted.append(name)
    assert seen >= 20
    assert not accepted, f"validation accepted wrong rewrites: {accepted}"


@pytest.mark.parametrize("constructed", [False, True], ids=["solver", "construction"])
def test_wrong_witness_cannot_make_a_wrong_rewrite_pass(constructed: bool) -> None:
    """The witness is a hint: a shifted witness fails, it never excuses a shifted view."""
    form, stmts, intr, tile, witness, baked, groups = _setup("tail")
    shifted = dataclasses.replace(witness, witness=tuple((v, _plus_one(e))
                                                         for v, e in witness.witness))
    assert not _check(form, stmts, intr, tile, shifted, baked,
                      groups if constructed else None).ok


def test_init_that_cannot_be_hoisted_has_no_reduction_form() -> None:
    """``C[M-1-i] = 0`` before ``C[i] += ...`` and ``Y[i+j] = 0`` are never moved."""
    for init, update, out in (("C[M - 1 - i, j] = 0", "C[i, j] +=", "C: i32[M, N]"),
                              ("Y[i + j] = 0", "Y[i + j] +=", "Y: i32[M + N]")):
        text = f"""kernel k(M = 16, N = 16, K = 8) {{
  in A: u8[M, K]
  in B: i8[N, K]
  out {out}
  for i in 0..M {{
    for j in 0..N {{
      {init}
      for k in 0..K {{
        {update} i32(A[i, k]) * i32(B[j, k])
      }}
    }}
  }}
}}"""
        k = kernel(text, LIB)
        baked = bake_sizes(k, {p.name: p.default for p in k.params})
        assert fragments(baked, {}) == []
        result = tensorize.tensorize(k, LIB, targets=["x86.avx512_vnni"],
                                     sizes={"M": 512, "N": 512, "K": 64})
        assert not result.changed


# -- the by-construction shortcut agrees with the solver ---------------------------------
def _random_instance(rng):
    """A random reduction nest, a random construction over it, and random damage."""
    import random as _random

    from tensorize.ir.nodes import Load, Var
    from tensorize.ir.reduction import Loop, Reduction
    from tensorize.ir.types import I32
    from tensorize.matcher.candidates import Group, hygienic

    assert isinstance(rng, _random.Random)
    depth = rng.randint(1, 4)
    loops = []
    for n in range(depth):
        lo = rng.choice([0, 0, 1, 2])
        loops.append(Loop(f"v{n}", lo, lo + rng.choice([1, 2, 3, 4, 6, 8, 12])))
    spatial = tuple(x.var for x in loops[: rng.randint(1, depth)])
    index = tuple(Var(v, INDEX) for v in spatial)
    form = Reduction("W", index, "+", Load("X", index, I32), tuple(loops), spatial,
                     tuple(x.var for x in loops if x.var not in spatial), None, None, ())
    free = [x.var for x in loops]
    rng.shuffle(free)
    groups = []
    while free and rng.random() < 0.8:
        size = rng.randint(1, min(3, len(free)))
        members = sorted(free[:size], key=lambda v: int(v[1:]))
        free = free[size:]
        total = 1
        for v in members:
            total *= next(x for x in loops if x.var == v).extent
        divisors = [e for e in range(1, total + 1) if total % e == 0]
        extent = rng.choice(divisors + [max(1, total - 1), min(total, 4)])
        groups.append(Group(tuple(members), extent))
    groups = hygienic(groups, frozenset(x.var for x in loops), frozenset())
    witness = group_point(tuple(groups), form)
    extents = {g.dim: g.extent for g in groups}
    call_loops = [x for x in loops if all(x.var not in g.vars for g in groups)]
    remainders = []
    for g in groups:
        total = 1
        for v in g.vars:
            total *= next(x for x in loops if x.var == v).extent
        call_loops.append(Loop(g.loop, 0, total // g.extent))
        if total % g.extent and len(g.vars) == 1:
            x = loops[int(g.vars[0][1:])]
            remainders.append((x.var, x.lo + total // g.extent * g.extent, x.hi))
    remainders.sort(key=lambda r: int(r[0][1:]))
    tails = [list(box) for box in tail_boxes(form, tuple(remainders))]
    damage = rng.randrange(7)
    if damage == 1 and call_loops:
        k = rng.randrange(len(call_loops))
        x = call_loops[k]
        call_loops[k] = Loop(x.var, x.lo, x.hi + rng.choice([-1, 1]))
    elif damage == 2 and tails:
        box = rng.choice(tails)
        k = rng.randrange(len(box))
        box[k] = Loop(box[k].var, box[k].lo + rng.choice([-1, 1]), box[k].hi)
    elif damage == 3 and extents:
        d = rng.choice(sorted(extents))
        extents[d] += 1
    elif damage == 4 and witness:
        v = rng.choice(sorted(witness))
        witness = {**witness, v: _plus_one(witness[v])}
    elif damage == 5:
        tails = tails[1:] if tails else [[Loop(x.var, x.lo, x.lo) for x in loops]]
    elif damage == 6 and tails:
        tails = tails + [tails[-1]]
    return form, call_loops, extents, tails, witness, tuple(groups)


def test_by_construction_agrees_with_the_solver() -> None:
    """Whenever the shortcut says the coverage checks hold, the solver finds them to hold."""
    import random

    from tensorize.equivalence.solver import SolverConfig
    from tensorize.rewrite import validate as v

    rng = random.Random(2026)
    constructed = agreed = 0
    for _ in range(400):
        form, call_loops, extents, tails, witness, groups = _random_instance(rng)
        if not v.by_construction(form, call_loops, extents, tails, witness, groups):
            continue
        constructed += 1
        space = [(x.var, x.lo, x.hi) for x in call_loops] + [(d, 0, e) for d, e in
                                                              extents.items()]
        one, two = v._Space(space, "1"), v._Space(space, "2")

        check = v._Checker(SolverConfig(timeout_ms=20_000))
        v._coverage(check, form, one, two, v.witnessed(form, witness, one),
                    v.witnessed(form, witness, two), call_loops, extents,
                    tails)
        assert not check.unknown
        assert not check.failures, (form, call_loops, extents, tails, witness, check.failures)
        agreed += 1
    assert constructed >= 100 and agreed == constructed


def test_an_undecided_query_is_unknown_not_invalid() -> None:
    """A solver that gives up makes the validation unknown: never valid, never 'invalid'."""
    from tensorize.equivalence.solver import SolverConfig

    form, stmts, intr, tile, witness, baked, _groups = _setup("fused")
    result = validate(form, stmts, intr, tile, witness, w_type=baked.buffer(form.buf).dtype,
                      construction=False,
                      assumes=baked.assumes, config=SolverConfig(timeout_ms=1, rlimit=1))
    assert not result.ok and result.unknown
    assert all(f.startswith("could not check") for f in result.failures)


def test_the_validator_refuses_a_reduction_it_may_not_reorder() -> None:
    """The matcher's reorder rule is checked again: an IEEE float reduction is tiled only
    with the order check (each element's updates in the program's order), and never
    into an intrinsic that declares ``order unordered``."""
    from tensorize.ir.nodes import Meta
    from tensorize.ir.types import F32
    from tensorize.rewrite.validate import ORDER_CHECK

    form, stmts, intr, tile, witness, baked, _groups = _setup("tail")
    result = validate(form, stmts, intr, tile, witness, w_type=F32, assumes=baked.assumes,
                      construction=False)
    assert result.ok and ORDER_CHECK in result.checks
    loose = dataclasses.replace(intr, meta=intr.meta + (Meta("order", "unordered", "name"),))
    refused = validate(form, stmts, loose, tile, witness, w_type=F32, assumes=baked.assumes,
                       construction=False)
    assert not refused.ok and "cannot be reordered" in refused.failures[0]
    again = validate(form, stmts, loose, tile, witness, w_type=F32, fp="real",
                     construction=False,
                     assumes=baked.assumes)
    assert again.ok and ORDER_CHECK not in again.checks
