/* Runs one real x86 instruction on inputs read from stdin, writes the result to stdout.
 * Usage: x86_check OP < inputs > outputs. The byte layout of inputs and outputs is the
 * spec's buffers, in declaration order, row-major. Built by tests/test_silicon.py. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void read_all(void *p, size_t n) {
    if (fread(p, 1, n, stdin) != n) { fprintf(stderr, "short input\n"); _exit(2); }
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    const char *op = argv[1];
    uint8_t a[64], b[64], c[64];
    __m512i r;
    if (!strcmp(op, "vpdpbusd") || !strcmp(op, "vpdpbusds") || !strcmp(op, "vpdpwssd")) {
        read_all(a, 64); read_all(b, 64); read_all(c, 64);
        __m512i va = _mm512_loadu_si512(a), vb = _mm512_loadu_si512(b);
        __m512i vc = _mm512_loadu_si512(c);
        if (!strcmp(op, "vpdpbusd")) r = _mm512_dpbusd_epi32(vc, va, vb);
        else if (!strcmp(op, "vpdpbusds")) r = _mm512_dpbusds_epi32(vc, va, vb);
        else r = _mm512_dpwssd_epi32(vc, va, vb);
        _mm512_storeu_si512(c, r); fwrite(c, 1, 64, stdout);
    } else if (!strcmp(op, "vpdpbusd_bcast")) {
        int32_t a4; read_all(&a4, 4); read_all(b, 64); read_all(c, 64);
        r = _mm512_dpbusd_epi32(_mm512_loadu_si512(c), _mm512_set1_epi32(a4),
                                _mm512_loadu_si512(b));
        _mm512_storeu_si512(c, r); fwrite(c, 1, 64, stdout);
    } else if (!strcmp(op, "vpdpbusd_bcast_xmm")) {
        int32_t a4; read_all(&a4, 4); read_all(b, 16); read_all(c, 16);
        __m128i x = _mm_dpbusd_epi32(_mm_loadu_si128((void *)c), _mm_set1_epi32(a4),
                                     _mm_loadu_si128((void *)b));
        _mm_storeu_si128((void *)c, x); fwrite(c, 1, 16, stdout);
    } else if (!strcmp(op, "vpmaddubsw") || !strcmp(op, "vpmaddwd")) {
        read_all(a, 64); read_all(b, 64);
        __m512i va = _mm512_loadu_si512(a), vb = _mm512_loadu_si512(b);
        r = !strcmp(op, "vpmaddubsw") ? _mm512_maddubs_epi16(va, vb) : _mm512_madd_epi16(va, vb);
        _mm512_storeu_si512(c, r); fwrite(c, 1, 64, stdout);
    } else if (!strcmp(op, "dot_16x4_pmadd")) {
        int32_t a4; read_all(&a4, 4); read_all(b, 64); read_all(c, 64);
        __m512i pairs = _mm512_maddubs_epi16(_mm512_set1_epi32(a4), _mm512_loadu_si512(b));
        __m512i quads = _mm512_madd_epi16(pairs, _mm512_set1_epi16(1));
        r = _mm512_add_epi32(_mm512_loadu_si512(c), quads);
        _mm512_storeu_si512(c, r); fwrite(c, 1, 64, stdout);
    } else if (!strcmp(op, "vdpbf16ps")) {
        read_all(a, 64); read_all(b, 64); read_all(c, 64);
        __m512 x = _mm512_dpbf16_ps(_mm512_loadu_ps(c), (__m512bh)_mm512_loadu_si512(a),
                                    (__m512bh)_mm512_loadu_si512(b));
        _mm512_storeu_ps(c, x); fwrite(c, 1, 64, stdout);
    } else if (!strcmp(op, "vfmadd231ps")) {
        read_all(a, 64); read_all(b, 64); read_all(c, 64);
        __m512 x = _mm512_fmadd_ps(_mm512_loadu_ps(a), _mm512_loadu_ps(b), _mm512_loadu_ps(c));
        _mm512_storeu_ps(c, x); fwrite(c, 1, 64, stdout);
    } else if (!strcmp(op, "vfmadd231ps_bcast")) {
        float s; read_all(a, 64); read_all(&s, 4); read_all(c, 64);
        __m512 x = _mm512_fmadd_ps(_mm512_loadu_ps(a), _mm512_set1_ps(s), _mm512_loadu_ps(c));
        _mm512_storeu_ps(c, x); fwrite(c, 1, 64, stdout);
    } else {
        fprintf(stderr, "unknown op %s\n", op);
        return 2;
    }
    return 0;
}
