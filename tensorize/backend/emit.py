"""Whole kernels as C functions: loops, guards, locals, stores, and each ``call``.

``emit_unit`` turns checked kernels into one C source (the :mod:`prelude
<tensorize.backend.prelude>` helpers, then one function per kernel) and its header.
The function of kernel ``K`` is ``void K(<size parameters not fixed, int64_t>, <every
non-local buffer as a pointer>)`` in declaration order, ``in`` buffers ``const``; buffers
are dense row-major. A ``call`` goes through its intrinsic's C template when the views
have the layout the template reads (:mod:`tensorize.backend.templates`), and otherwise
its body is inlined as scalar C on the views. Float outputs get the one canonical NaN at
the end, as every interpreter stores it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tensorize.backend.cexpr import (
    C_TYPES,
    ExprEmitter,
    Scope,
    float_to_int_helper,
    minmax_helpers,
    storage_type,
    value_type,
)
from tensorize.backend.parallel import parallel_loop
from tensorize.backend.prelude import AMX_PRELUDE, PRELUDE, int_helpers
from tensorize.backend.templates import template_of
from tensorize.errors import UsageError
from tensorize.ir.affine import linear_form
from tensorize.ir.layout import const_value, row_major, steps
from tensorize.ir.nodes import Assign, CallStmt, Expr, For, Function, If, Stmt, Var, View
from tensorize.ir.types import DType

C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum
extern float for goto if inline int long register restrict return short signed sizeof static
struct switch typedef union unsigned void volatile while _Bool _Complex _Imaginary bool true
false main NAN INFINITY""".split())


def c_name(name: str) -> str:
    """A user name as a C identifier that cannot meet a keyword or one of our helpers."""
    if name in C_KEYWORDS or name.startswith("tz"):
        return name + "_u"
    return name


@dataclass
class _Buf:
    """A buffer of the kernel: its C array name, type and shape (C expressions)."""

    cname: str
    dtype: DType
    shape: tuple[str, ...]


@dataclass
class _ViewBinding:
    """An intrinsic parameter bound to a view of a buffer of the enclosing frame."""

    view: View
    frame: _Frame
    dtype: DType


@dataclass
class _Frame:
    """Names in scope while emitting a kernel body or an inlined intrinsic body."""

    vars: dict[str, str]
    bufs: dict[str, _Buf | _ViewBinding]
    parent: _Frame | None = None


@dataclass(frozen=True)
class CFunction:
    """One emitted kernel: its C name, its size and buffer parameters, its prototype."""

    name: str
    sizes: tuple[str, ...]
    buffers: tuple[tuple[str, DType, str], ...]
    """(name, type, mode) of each pointer parameter, in order."""
    prototype: str


@dataclass(frozen=True)
class CUnit:
    """An emitted C file: source, header, and what compiling it needs."""

    source: str
    header: str
    functions: tuple[CFunction, ...]
    features: tuple[str, ...]
    """CPU features in GCC spelling (``-m<feature>``) the templates used need."""
    targets: tuple[str, ...]
    """The targets of the intrinsics emitted through templates."""
    templates_used: tuple[str, ...] = ()
    inlined: tuple[str, ...] = ()
    """Intrinsics whose calls were emitted as scalar C (no template, or a view it cannot read)."""
    parallel: tuple[str, ...] = ()
    """Kernels whose outermost loop runs on OpenMP threads."""


@dataclass
class _Ctx:
    """What the emission of one file collects besides the code."""

    library: Mapping[str, Function]
    threads: int
    templates: bool
    int_types: set[DType] = field(default_factory=set)
    float_to_int: set[DType] = field(default_factory=set)
    headers: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    inlined: list[str] = field(default_factory=list)
    parallel: list[str] = field(default_factory=list)


class _KernelEmitter:
    """Emits one kernel function."""

    def __init__(self, fn: Function, fixed: Mapping[str, int], ctx: _Ctx) -> None:
        self.fn = fn
        self.fixed = dict(fixed)
        self.ctx = ctx
        self.lines: list[str] = []
        self.features: list[str] = []
        self.targets: list[str] = []
        self.depth = 1
        self.fresh = 0
        self.helpers: list[str] = []
        """Functions holding the bodies of parallel loops, emitted before the kernel."""
        vars_ = {p.name: (str(fixed[p.name]) if p.name in fixed else c_name(p.name))
                 for p in fn.params}
        self.frame = _Frame(vars_, {})
        self.ex = ExprEmitter(Scope(self._var, self._element_ir))
        self.ex.int_types = ctx.int_types
        self.ex.float_to_int = ctx.float_to_int
        for b in fn.buffers:
            shape = tuple(self.ex.index(e) for e in b.shape)
            self.frame.bufs[b.name] = _Buf(c_name(b.name), b.dtype, shape)

    # -- names ------------------------------------------------------------------------
    def _var(self, name: str) -> str:
        return self.frame.vars[name]

    def _element_ir(self, buf: str, index: tuple[Expr, ...]) -> tuple[str, DType]:
        return self.element(self.frame, buf, [self.ex.index(i) for i in index])

    def element(self, frame: _Frame, buf: str, index: Sequence[str]) -> tuple[str, DType]:
        """The C lvalue of ``buf[index]`` in ``frame`` (indices already C), and its type."""
        binding = frame.bufs[buf]
        if isinstance(binding, _Buf):
            flat = _flatten(index, binding.shape)
            return f"{binding.cname}[{flat}]", binding.dtype
        view, outer = binding.view, binding.frame
        dims = dict(zip(view.dims, (f"({i})" for i in index)))
        saved = self.frame
        self.frame = _Frame({**outer.vars, **dims}, outer.bufs, outer.parent)
        try:
            parent_index = [self.ex.index(e) for e in view.index]
        finally:
            self.frame = saved
        return self.element(outer, view.buf, parent_index)

    def line(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    # -- statements -------------------------------------------------------------------
    def emit(self, stmts: Sequence[Stmt], par: frozenset[str] | None = None) -> None:
        """Emit ``stmts``; ``par``: still looking for a loop to run on threads, with the
        variables of the (sequential) loops around held fixed (None: not looking)."""
        for s in stmts:
            if isinstance(s, Assign):
                lvalue, t = self._element_ir(s.buf, s.index)
                self.line(f"{lvalue} = {self.ex.store(t, self.ex.expr(s.value))};")
            elif isinstance(s, For):
                self.emit_for(s, par)
            elif isinstance(s, If):
                self.line(f"if ({self.ex.cond(s.cond)}) {{")
                self.depth += 1
                self.emit(s.then)
                self.depth -= 1
                if s.orelse:
                    self.line("} else {")
                    self.depth += 1
                    self.emit(s.orelse)
                    self.depth -= 1
                self.line("}")
            elif isinstance(s, CallStmt):
                self.emit_call(s)
            else:
                raise UsageError(f"cannot emit statement {type(s).__name__}")

    def emit_for(self, s: For, par: frozenset[str] | None) -> None:
        lo, hi = self.ex.index(s.lo), self.ex.index(s.hi)
        name = self.frame.vars.get(s.var)
        cvar = self._fresh(s.var) if self.frame.parent is not None else c_name(s.var)
        inner = None
        if par is not None and self.ctx.threads > 1:
            if self._worth_threads(s) and parallel_loop(s, self.fn, self.fixed,
                                                        self.ctx.library, par):
                self._emit_parallel(s, lo, hi, cvar)
                if self.fn.name not in self.ctx.parallel:
                    self.ctx.parallel.append(self.fn.name)
                return
            inner = par | {s.var}
        self.line(f"for (int64_t {cvar} = {lo}; {cvar} < {hi}; {cvar}++) {{")
        self.frame.vars[s.var] = cvar
        self.depth += 1
        self.emit(s.body, inner)
        self.depth -= 1
        if name is None:
            del self.frame.vars[s.var]
        else:
            self.frame.vars[s.var] = name
        self.line("}")

    def _emit_parallel(self, s: For, lo: str, hi: str, cvar: str) -> None:
        """Loop ``s`` on OpenMP threads, its body a function of its own taking every
        pointer as a ``restrict`` parameter: the function gcc outlines for a parallel
        region sees the kernel's pointers through a shared struct, without ``restrict``,
        and would then load and store the accumulators at every reduction step."""
        helper = f"{self.fn.name}_tz_par{len(self.helpers)}"
        params: list[str] = [f"int64_t {cvar}"]
        args: list[str] = [cvar]
        for c in dict.fromkeys(self.frame.vars.values()):
            if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", c) and c != cvar:
                params.append(f"int64_t {c}")
                args.append(c)
        for b in self.fn.buffers:
            binding = self.frame.bufs[b.name]
            assert isinstance(binding, _Buf)
            const = "const " if b.mode == "in" else ""
            params.append(f"{const}{storage_type(b.dtype)} *restrict {binding.cname}")
            args.append(binding.cname)
        saved_lines, saved_depth = self.lines, self.depth
        name = self.frame.vars.get(s.var)
        self.lines, self.depth = [], 1
        self.frame.vars[s.var] = cvar
        self.emit(s.body)
        if name is None:
            del self.frame.vars[s.var]
        else:
            self.frame.vars[s.var] = name
        body = "\n".join(self.lines)
        self.lines, self.depth = saved_lines, saved_depth
        self.helpers.append(f"static __attribute__((noinline)) void {helper}("
                            f"{', '.join(params)}) {{\n{body}\n}}\n")
        self.line(f"#pragma omp parallel for num_threads({self.ctx.threads}) "
                  "schedule(static)")
        self.line(f"for (int64_t {cvar} = {lo}; {cvar} < {hi}; {cvar}++) "
                  f"{helper}({', '.join(args)});")

    def _worth_threads(self, s: For) -> bool:
        """Whether loop ``s`` has at least two iterations and, when its work is known at
        compile time, at least :data:`PARALLEL_MIN_WORK` (forking and joining threads
        costs microseconds on an idle machine, milliseconds on a loaded one)."""
        trips = _trips(s, self.fixed)
        if trips is not None and trips < 2:
            return False
        work = _work((s,), self.fixed, self.ctx.library)
        return work is None or work >= PARALLEL_MIN_WORK

    def _fresh(self, base: str) -> str:
        self.fresh += 1
        return f"tz{self.fresh}_{re.sub('[^A-Za-z0-9_]', '_', base)}"

    # -- calls ------------------------------------------------------------------------
    def emit_call(self, s: CallStmt) -> None:
        callee = self.ctx.library.get(s.name)
        if callee is None:
            raise UsageError(f"unknown intrinsic '{s.name}'")
        args = {a.name: a.value for a in s.args}
        if self.ctx.templates and self.frame.parent is None and self._try_template(s, callee,
                                                                                    args):
            return
        if s.name not in self.ctx.inlined:
            self.ctx.inlined.append(s.name)
        self.inline(callee, args)

    def _try_template(self, s: CallStmt, callee: Function, args: Mapping[str, View | Expr]
                      ) -> bool:
        tpl = template_of(callee)
        if tpl is None:
            return False
        known = {**{p.name: p.default for p in callee.params if p.default is not None}}
        for p in callee.params:
            value = args.get(p.name)
            if value is not None:
                form = linear_form(value, self.fixed) if isinstance(value, Expr) else None
                if form is None or form.coeffs:
                    return False
                known[p.name] = form.const
        callee_sizes = {k: int(v) for k, v in known.items()}
        pointers: dict[str, str] = {}
        strides: dict[tuple[str, int], int] = {}
        decls: list[str] = []
        for b in callee.buffers:
            if b.mode == "local":
                continue
            view = args[b.name]
            assert isinstance(view, View)
            pshape = [const_value(e, callee_sizes) for e in b.shape]
            parent = self.fn.buffer(view.buf)
            if parent is None or any(x is None for x in pshape):
                return False
            bshape = [const_value(e, self.fixed) for e in parent.shape]
            parent_shape = [x for x in bshape if x is not None]
            extents = [x for x in pshape if x is not None]
            if len(parent_shape) != len(bshape) or len(extents) != len(pshape):
                return False
            dense = row_major(extents)
            per_dim = steps(view, view.dims, parent_shape, self.fixed)
            if per_dim is None:
                return False
            for d_i in range(len(view.dims)):
                if (b.name, d_i) in tpl.strided:
                    strides[(b.name, d_i)] = per_dim[d_i]
                elif pshape[d_i] != 1 and per_dim[d_i] != dense[d_i]:
                    return False
            zero = dict.fromkeys(view.dims, "0")
            saved = dict(self.frame.vars)
            self.frame.vars.update(zero)
            try:
                lvalue, t = self._element_ir(view.buf, view.index)
            finally:
                self.frame.vars = saved
            const = "const " if b.mode == "in" else ""
            pname = self._fresh("p_" + b.name)
            decls.append(f"{const}{storage_type(t)} *{pname} = &{lvalue};")
            pointers[b.name] = pname
        self.line(f"{{ /* {s.name} */")
        self.depth += 1
        for d in decls:
            self.line(d)
        for text in tpl.instantiate(pointers, strides, callee_sizes).splitlines():
            self.line(text.strip())
        self.depth -= 1
        self.line("}")
        for h in tpl.headers:
            if h not in self.ctx.headers:
                self.ctx.headers.append(h)
        for f in tpl.features:
            if f not in self.ctx.features:
                self.ctx.features.append(f)
            if f not in self.features:
                self.features.append(f)
        if callee.target not in self.targets:
            self.targets.append(callee.target)
        if callee.target not in self.ctx.targets:
            self.ctx.targets.append(callee.target)
        if s.name not in self.ctx.used:
            self.ctx.used.append(s.name)
        return True

    def inline(self, callee: Function, args: Mapping[str, View | Expr]) -> None:
        """The intrinsic's body as scalar C on the views (copy-in/copy-out semantics:
        ``out`` views are zeroed first, ``local`` buffers are fresh zeros)."""
        self.line(f"{{ /* {callee.name}, inlined */")
        self.depth += 1
        vars_: dict[str, str] = {}
        for p in callee.params:
            cvar = self._fresh(p.name)
            value = args.get(p.name)
            if value is None:
                text = str(p.default)
            else:
                assert isinstance(value, Expr)
                text = self.ex.index(value)
            self.line(f"const int64_t {cvar} = {text};")
            vars_[p.name] = cvar
        inner = _Frame(vars_, {}, self.frame)
        for b in callee.buffers:
            if b.mode == "local":
                saved = self.frame
                self.frame = inner
                shape = tuple(self.ex.index(e) for e in b.shape)
                self.frame = saved
                cname = self._fresh(b.name)
                n = " * ".join(f"({x})" for x in shape) or "1"
                self.line(f"{storage_type(b.dtype)} {cname}[{n}];")
                self.line(f"memset({cname}, 0, sizeof {cname});")
                inner.bufs[b.name] = _Buf(cname, b.dtype, shape)
                continue
            view = args[b.name]
            assert isinstance(view, View)
            inner.bufs[b.name] = _ViewBinding(view, self.frame, b.dtype)
        saved = self.frame
        self.frame = inner
        for b in callee.buffers:
            if b.mode == "out":  # an out parameter starts at zero
                zero_vars = [Var(self._fresh("z" + str(i))) for i in range(len(b.shape))]
                loops: list[tuple[str, str]] = []
                for i, e in enumerate(b.shape):
                    inner.vars[zero_vars[i].name] = zero_vars[i].name
                    loops.append((zero_vars[i].name, self.ex.index(e)))
                for v, hi in loops:
                    self.line(f"for (int64_t {v} = 0; {v} < {hi}; {v}++) {{")
                    self.depth += 1
                lvalue, t = self.element(inner, b.name, [v for v, _ in loops])
                self.line(f"{lvalue} = {self.ex.store(t, _zero(t))};")
                for _ in loops:
                    self.depth -= 1
                    self.line("}")
        self.emit(callee.body)
        self.frame = saved
        self.depth -= 1
        self.line("}")


PARALLEL_MIN_WORK = 1 << 22
"""Least work (statement instances, a call counting its intrinsic's) worth a parallel
region: several milliseconds of scalar code, a few hundred microseconds vectorised."""


def _trips(s: For, sizes: Mapping[str, int]) -> int | None:
    lo, hi = const_value(s.lo, sizes), const_value(s.hi, sizes)
    return None if lo is None or hi is None else max(hi - lo, 0)


def _work(stmts: Sequence[Stmt], sizes: Mapping[str, int], library: Mapping[str, Function]
          ) -> int | None:
    """Statement instances of ``stmts`` (a call: its intrinsic body's), None if a bound is
    not a constant."""
    total = 0
    for s in stmts:
        if isinstance(s, For):
            trips = _trips(s, sizes)
            inner = _work(s.body, sizes, library)
            if trips is None or inner is None:
                return None
            total += trips * inner
        elif isinstance(s, If):
            then, orelse = _work(s.then, sizes, library), _work(s.orelse, sizes, library)
            if then is None or orelse is None:
                return None
            total += max(then, orelse)
        elif isinstance(s, CallStmt):
            callee = library.get(s.name)
            defaults = {p.name: p.default for p in callee.params if p.default is not None} \
                if callee is not None else {}
            inner = _work(callee.body, defaults, library) if callee is not None else None
            total += inner if inner is not None else 64
        else:
            total += 1
    return total


def _zero(t: DType) -> str:
    if t.is_bool:
        return "false"
    if t.is_float:
        return "0.0" if value_type(t) == "double" else "0.0f"
    return f"(({C_TYPES[t.name]})0)"


def _flatten(index: Sequence[str], shape: Sequence[str]) -> str:
    if not index:
        return "0"
    flat = index[0]
    for i, ext in zip(index[1:], shape[1:]):
        flat = f"({flat}) * {ext} + {i}"
    return flat


_Params = tuple[tuple[str, DType, str], ...]


def _signature(fn: Function, fixed: Mapping[str, int]) -> tuple[str, tuple[str, ...], _Params]:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", fn.name) or fn.name in C_KEYWORDS:
        raise UsageError(f"kernel '{fn.name}' cannot be a C function name")
    sizes = tuple(p.name for p in fn.params if p.name not in fixed)
    bufs = tuple((b.name, b.dtype, b.mode) for b in fn.buffers if b.mode != "local")
    parts = [f"int64_t {c_name(s)}" for s in sizes]
    for name, t, mode in bufs:
        const = "const " if mode == "in" else ""
        parts.append(f"{const}{storage_type(t)} *RESTRICT {c_name(name)}")
    return f"void {fn.name}({', '.join(parts) or 'void'})", sizes, bufs


_GUARDS = """#ifdef __FAST_MATH__
#error "compile without -ffast-math: the kernels need IEEE arithmetic"
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
"""
"""Keeps ``a*b + c`` two roundings under any flags (GCC contracts by default)."""


def _target_attribute(features: Sequence[str], targets: Sequence[str]) -> str:
    """``__attribute__((target(...)))`` enabling the x86 features a function's templates
    need, so that the file compiles with plain ``cc -O3 -march=native -c``."""
    if not features or not any(t.startswith("x86") for t in targets):
        return ""
    return f'__attribute__((target("{",".join(features)}")))\n'


def emit_unit(kernels: Sequence[Function], library: Mapping[str, Function],
              sizes: Mapping[str, int] | None = None, threads: int = 1,
              templates: bool = True, header_name: str = "kernel.h") -> CUnit:
    """C source and header for ``kernels`` (checked), sizes in ``sizes`` fixed."""
    ctx = _Ctx(library, threads, templates)
    bodies: list[str] = []
    functions: list[CFunction] = []
    for fn in kernels:
        fixed = {p.name: int(sizes[p.name]) for p in fn.params if sizes and p.name in sizes}
        proto, size_names, bufs = _signature(fn, fixed)
        em = _KernelEmitter(fn, fixed, ctx)
        for b in fn.buffers:
            if b.mode == "local":
                binding = em.frame.bufs[b.name]
                assert isinstance(binding, _Buf)
                n = " * ".join(f"({x})" for x in binding.shape) or "1"
                em.line(f"{storage_type(b.dtype)} *{binding.cname} = calloc((size_t)({n}) + 1, "
                        f"sizeof({storage_type(b.dtype)}));")
                em.line(f"if (!{binding.cname}) abort();")
        em.emit(fn.body, frozenset())
        for b in fn.buffers:
            if b.mode in ("out", "inout") and b.dtype.name in ("f32", "f64"):
                binding = em.frame.bufs[b.name]
                assert isinstance(binding, _Buf)
                n = " * ".join(f"({x})" for x in binding.shape) or "1"
                canon = "tz_canon_f32" if b.dtype.name == "f32" else "tz_canon_f64"
                em.line(f"for (int64_t tz_n = 0; tz_n < {n}; tz_n++) "
                        f"{binding.cname}[tz_n] = {canon}({binding.cname}[tz_n]);")
        for b in fn.buffers:
            if b.mode == "local":
                em.line(f"free({c_name(b.name)});")
        body = "\n".join(em.lines)
        attr = _target_attribute(em.features, em.targets)
        bodies.extend(attr + h for h in em.helpers)
        bodies.append(attr + proto.replace("RESTRICT", "restrict") + " {\n" + body + "\n}\n")
        functions.append(CFunction(fn.name, size_names, bufs,
                                   proto.replace("*RESTRICT ", "*")))
    helpers = [int_helpers(C_TYPES[t.name], t.bits, t.is_signed)
               for t in sorted(ctx.int_types, key=lambda t: t.name)]
    helpers += [float_to_int_helper(t) for t in sorted(ctx.float_to_int, key=lambda t: t.name)]
    includes = "".join(f"#include <{h}>\n" for h in ctx.headers)
    amx = AMX_PRELUDE if any(f.startswith("amx") for f in ctx.features) else ""
    source = ("/* generated by tensorize: do not edit */\n" + _GUARDS + includes + PRELUDE + amx +
              minmax_helpers() + "".join(helpers) + f'#include "{header_name}"\n\n' +
              "\n".join(bodies))
    guard = re.sub(r"[^A-Za-z0-9]", "_", header_name).upper()
    header = (f"/* generated by tensorize */\n#ifndef {guard}\n#define {guard}\n"
              "#include <stdint.h>\n#include <stdbool.h>\n#ifdef __cplusplus\n"
              "extern \"C\" {\n#endif\n" + "".join(f.prototype + ";\n" for f in functions) +
              "#ifdef __cplusplus\n}\n#endif\n#endif\n")
    return CUnit(source, header, tuple(functions), tuple(ctx.features), tuple(ctx.targets),
                 tuple(ctx.used), tuple(ctx.inlined), tuple(ctx.parallel))
