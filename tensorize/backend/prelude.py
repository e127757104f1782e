"""The C helpers every emitted file starts with: the `.tz` semantics C does not give.

Each helper is ``static inline`` with a ``tz_`` prefix, so an emitted file needs no
library of ours. What they implement (the reference is :mod:`tensorize.ir.numeric`):

- ``f16``/``bf16`` values are ``uint16_t`` bits; they convert exactly to ``double``, and
  ``tz_round_*`` rounds a ``double`` to nearest even (one rounding, overflow to infinity,
  subnormals kept, the one positive quiet NaN). Arithmetic on them is done in ``double``
  and rounded once: for ``+ - * /`` of two values of a format with ``q`` significand bits,
  ``double`` (53 >= 2q + 2) makes the double rounding innocuous. ``fma`` forms the exact
  product in ``double`` and adds with round-to-odd (TwoSum), then rounds once.
- 64-bit integers go to ``f16``/``bf16`` through ``double`` rounded to odd (53 >= q + 2).
- float to integer truncates, saturates and sends NaN to 0.
- integer ``/``, ``%`` and shifts follow SMT-LIB at zero and past the width.
"""

from __future__ import annotations

PRELUDE = r"""
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>

static inline double tz_pow2(int e) {            /* 2**e for -1022 <= e <= 1023 */
  uint64_t b = (uint64_t)(e + 1023) << 52; double d; memcpy(&d, &b, 8); return d;
}
static inline double tz_rne_int(double q) {       /* nearest integer, ties even, 0 <= q < 2**52 */
  double big = 4503599627370496.0, t = q + big; return t - big;
}
static inline uint32_t tz_round_bits(double x, int ebits, int mbits) {
  /* x rounded to nearest even in the format (ebits exponent, mbits stored fraction bits) */
  uint32_t sign = (uint32_t)(signbit(x) ? 1u : 0u) << (ebits + mbits);
  uint32_t expmask = (1u << ebits) - 1u;
  if (x != x) return (expmask << mbits) | (1u << (mbits - 1));
  double a = fabs(x);
  int bias = (1 << (ebits - 1)) - 1, emin = 1 - bias;
  double maxround = (2.0 - tz_pow2(-mbits - 1)) * tz_pow2(bias);
  if (a >= maxround) return sign | (expmask << mbits);
  if (a < tz_pow2(emin)) {
    double r = tz_rne_int(a * tz_pow2(mbits - emin));
    return sign | (uint32_t)r;
  }
  uint64_t b; memcpy(&b, &a, 8);
  int e = (int)((b >> 52) & 0x7ff) - 1023;
  double r = tz_rne_int(a * tz_pow2(mbits - e));
  return sign | ((uint32_t)(e + bias) << mbits) + ((uint32_t)r - (1u << mbits));
}
static inline uint16_t tz_f16(double x) { return (uint16_t)tz_round_bits(x, 5, 10); }
static inline uint16_t tz_bf16(double x) { return (uint16_t)tz_round_bits(x, 8, 7); }
static inline double tz_from_bits(uint32_t h, int ebits, int mbits) {
  uint32_t expmask = (1u << ebits) - 1u;
  uint32_t e = (h >> mbits) & expmask, m = h & ((1u << mbits) - 1u);
  int bias = (1 << (ebits - 1)) - 1;
  double v;
  if (e == 0) v = (double)m * tz_pow2(1 - bias - mbits);
  else if (e == expmask) v = m ? (double)NAN : (double)INFINITY;
  else v = (double)(m | (1u << mbits)) * tz_pow2((int)e - bias - mbits);
  return (h >> (ebits + mbits)) & 1u ? -v : v;
}
static inline double tz_f16d(uint16_t h) { return tz_from_bits(h, 5, 10); }
static inline double tz_bf16d(uint16_t h) { return tz_from_bits(h, 8, 7); }
static inline double tz_u64_odd(uint64_t m) {     /* m as a double rounded to odd */
  int sh = 0; uint64_t lost = 0;
  while (m >> 53) { lost |= m & 1u; m >>= 1; sh++; }
  return (double)(m | lost) * tz_pow2(sh);
}
static inline double tz_i64_odd(int64_t v) {
  return v < 0 ? -tz_u64_odd(0u - (uint64_t)v) : tz_u64_odd((uint64_t)v);
}
static inline double tz_sum_odd(double p, double c) {  /* p + c rounded to odd */
  double s = p + c;
  double bb = s - p, err = (p - (s - bb)) + (c - bb);
  if (isfinite(s) && err != 0.0) {
    uint64_t b; memcpy(&b, &s, 8);
    if (!(b & 1u)) { b = ((err > 0) == (s > 0)) ? b + 1u : b - 1u; memcpy(&s, &b, 8); }
  }
  return s;
}
static inline double tz_fma16(double a, double b, double c) {
  /* a*b + c for f16/bf16 values: the product is exact in double, the sum rounded to odd */
  double p = a * b;
  if (!isfinite(p) || !isfinite(c) || p == 0.0 || c == 0.0) return p + c;
  return tz_sum_odd(p, c);
}
static inline float tz_canon_f32(float x) { return x != x ? (float)NAN : x; }
static inline double tz_canon_f64(double x) { return x != x ? (double)NAN : x; }
static inline int64_t tz_floordiv(int64_t a, int64_t c) {
  int64_t q = a / c; return (a % c != 0 && ((a < 0) != (c < 0))) ? q - 1 : q;
}
static inline int64_t tz_floormod(int64_t a, int64_t c) {
  int64_t r = a % c; return (r != 0 && ((r < 0) != (c < 0))) ? r + c : r;
}
static inline uint32_t tz_load_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
"""
"""The helpers every emitted file starts with."""

AMX_PRELUDE = r"""
#include <unistd.h>
#include <sys/syscall.h>
#include <stdio.h>
/* AMX: tiles 0 and 1 (the sources) and 2 (the accumulator), 16 rows of 64 bytes each */
static const uint8_t tz_amx_cfg[64] __attribute__((aligned(64))) = {
  1, 0, [16] = 64, [18] = 64, [20] = 64, [48] = 16, [49] = 16, [50] = 16};
static int tz_amx_perm;
__attribute__((target("amx-tile"))) static inline void tz_amx_begin(void) {
  /* Linux hands out the tile state only on request (ARCH_REQ_XCOMP_PERM, XTILEDATA);
     without it the first tile instruction raises SIGILL: stop with a message instead */
  if (!__atomic_load_n(&tz_amx_perm, __ATOMIC_ACQUIRE)) {
    if (syscall(SYS_arch_prctl, 0x1023, 18) != 0) {
      fputs("tensorize: the OS refused the AMX tile state (arch_prctl "
            "ARCH_REQ_XCOMP_PERM); the kernel cannot run here\n", stderr);
      exit(2);
    }
    __atomic_store_n(&tz_amx_perm, 1, __ATOMIC_RELEASE);
  }
  _tile_loadconfig(tz_amx_cfg);  /* per call: each thread needs its own configuration */
}
"""
"""The AMX set-up (OS permission, tile configuration), in files whose templates use AMX."""


def int_helpers(ctype: str, bits: int, signed: bool) -> str:
    """Division, remainder and shifts for one integer C type (emitted once per type used)."""
    u = f"uint{max(bits, 32)}_t" if bits <= 32 else "uint64_t"
    n = ctype
    if signed:
        lo = f"(({n})(({u})1u << {bits - 1}))"
        div = (f"static inline {n} tz_div_{n}({n} a, {n} b) {{ if (b == 0) return a >= 0 ? "
               f"({n})-1 : ({n})1; if (a == {lo} && b == -1) return a; return ({n})(a / b); }}")
        rem = (f"static inline {n} tz_rem_{n}({n} a, {n} b) {{ if (b == 0) return a; "
               f"if (b == -1) return 0; return ({n})(a % b); }}")
        shr = (f"static inline {n} tz_shr_{n}({n} a, {n} s) {{ if ((uint{bits}_t)s >= {bits}) "
               f"return a < 0 ? ({n})-1 : 0; return ({n})(a >> (uint{bits}_t)s); }}")
    else:
        div = (f"static inline {n} tz_div_{n}({n} a, {n} b) {{ if (b == 0) return ({n})~({n})0; "
               f"return ({n})(a / b); }}")
        rem = f"static inline {n} tz_rem_{n}({n} a, {n} b) {{ return b == 0 ? a : ({n})(a % b); }}"
        shr = (f"static inline {n} tz_shr_{n}({n} a, {n} s) {{ if (s >= {bits}) return 0; "
               f"return ({n})(a >> s); }}")
    ub = f"uint{bits}_t"
    shl = (f"static inline {n} tz_shl_{n}({n} a, {n} s) {{ if (({ub})s >= {bits}) return 0; "
           f"return ({n})(({u})({ub})a << ({ub})s); }}")
    return "\n".join((div, rem, shl, shr)) + "\n"
