/*
 * reduce.h — reference kernels of the reduce operators: the Reduce* family,
 * ArgMax/ArgMin, TopK and CumSum. Instantiated per dtype with the suffixes
 * f32 f64 f16 bf16 i8 u8 i32 i64 u32 u64 (CumSum: no i8/u8). Floating types
 * accumulate in double, integer types in int64_t (wrapping like the ONNX
 * reference's fixed-width arithmetic).
 */
#ifndef KILN_KERNELS_REDUCE_H
#define KILN_KERNELS_REDUCE_H
#include "common.h"

/* The reduction a kiln_reduce_* kernel computes (its p[0]). */
enum {
    KILN_RED_SUM, KILN_RED_MEAN, KILN_RED_MAX, KILN_RED_MIN, KILN_RED_PROD,
    KILN_RED_L1, KILN_RED_L2, KILN_RED_LOGSUM, KILN_RED_LOGSUMEXP, KILN_RED_SUMSQ
};

/* Loads to the accumulation type, and saturating double -> integer stores
 * (log and sqrt of integers may give inf or NaN, which C may not convert). */
#define KILN_RLD_SELF(v) (v)
#define KILN_RLD_F16(v) ((double)kiln_f16_to_f32(v))
#define KILN_RLD_BF16(v) ((double)kiln_bf16_to_f32(v))
#define KILN_RST_SELF(T, v) ((T)(v))
#define KILN_RST_F16(T, v) kiln_f32_to_f16((float)(v))
#define KILN_RST_BF16(T, v) kiln_f32_to_bf16((float)(v))
#define KILN_RISNAN_F(v) ((v) != (v))
#define KILN_RISNAN_I(v) ((void)(v), 0)

static KILN_UNUSED int64_t kiln_d2i64(double v)
{
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}
#define KILN_RSTD_INT(T, v) ((T)kiln_d2i64(v))

/*
 * Reduce: p = [op, rank, dims[rank], reduce[rank]] where reduce[a] is 1 for a
 * reduced axis. The output holds the kept axes in order (keepdims does not
 * change the layout). kiln_red walks the kept axes in kept and, for each
 * output element, the cnt reduced elements in red (which wraps back to 0).
 */
typedef struct {
    int op;
    int64_t nout, cnt;
    int64_t kdims[KILN_KMAX_RANK], kstr[KILN_KMAX_RANK], rdims[KILN_KMAX_RANK], rstr[KILN_KMAX_RANK];
    kiln_bc kept, red;
} kiln_red;

static KILN_UNUSED void kiln_red_init(kiln_red *r, kiln_ip p)
{
    int rank = (int)p[1], a, nk = 0, nr = 0;
    const int64_t *dims = p + 2, *mask = p + 2 + rank;
    const int64_t *ks = r->kstr, *rs = r->rstr;
    int64_t stride = 1;
    r->op = (int)p[0];
    r->nout = 1;
    r->cnt = 1;
    for (a = rank - 1; a >= 0; a--) {
        if (mask[a]) { r->rdims[nr] = dims[a]; r->rstr[nr++] = stride; r->cnt *= dims[a]; }
        else { r->kdims[nk] = dims[a]; r->kstr[nk++] = stride; r->nout *= dims[a]; }
        stride *= dims[a];
    }
    /* collected innermost first: reverse into row-major order */
    for (a = 0; a < nk / 2; a++) {
        int64_t t = r->kdims[a]; r->kdims[a] = r->kdims[nk - 1 - a]; r->kdims[nk - 1 - a] = t;
        t = r->kstr[a]; r->kstr[a] = r->kstr[nk - 1 - a]; r->kstr[nk - 1 - a] = t;
    }
    for (a = 0; a < nr / 2; a++) {
        int64_t t = r->rdims[a]; r->rdims[a] = r->rdims[nr - 1 - a]; r->rdims[nr - 1 - a] = t;
        t = r->rstr[a]; r->rstr[a] = r->rstr[nr - 1 - a]; r->rstr[nr - 1 - a] = t;
    }
    kiln_bc_init(&r->kept, nk, r->kdims, 1, &ks);
    kiln_bc_init(&r->red, nr, r->rdims, 1, &rs);
}

/* The loop over the reduced elements of one output, binding v. */
#define KILN_RED_EACH(LD, STMT) \
    for (k = 0; k < r.cnt; k++, kiln_bc_next(&r.red)) { v = LD(xo[r.red.off[0]]); STMT; }

/* T: storage type, A: accumulator (double or int64_t), LO/HI: the type's range
 * (the result of Max/Min over nothing), ST: store an A, STD: store a double. */
#define KILN_DEF_REDUCE(sfx, T, A, LD, ST, STD, ISNAN, LO, HI)                      \
    KILN_KERNEL kiln_reduce_##sfx(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)    \
    {                                                                                 \
        const T *x = (const T *)in[0];                                                \
        T *y = (T *)out[0];                                                           \
        kiln_red r;                                                                   \
        int64_t o, k;                                                                 \
        (void)f;                                                                      \
        kiln_red_init(&r, p);                                                         \
        for (o = 0; o < r.nout; o++, kiln_bc_next(&r.kept)) {                         \
            const T *xo = x + r.kept.off[0];                                          \
            A v, acc = 0;                                                             \
            double d = 0, m = -INFINITY;                                              \
            switch (r.op) {                                                           \
            case KILN_RED_SUM: KILN_RED_EACH(LD, acc += v) break;                         \
            case KILN_RED_MEAN:                                                       \
                if (!r.cnt) { y[o] = STD(T, NAN); continue; }                         \
                KILN_RED_EACH(LD, acc += v)                                               \
                acc = acc / (A)r.cnt;                                                 \
                break;                                                                \
            case KILN_RED_MAX:                                                        \
                acc = LO;                                                             \
                KILN_RED_EACH(LD, if (v > acc || (ISNAN(v) && !ISNAN(acc))) acc = v)      \
                break;                                                                \
            case KILN_RED_MIN:                                                        \
                acc = HI;                                                             \
                KILN_RED_EACH(LD, if (v < acc || (ISNAN(v) && !ISNAN(acc))) acc = v)      \
                break;                                                                \
            case KILN_RED_PROD: acc = 1; KILN_RED_EACH(LD, acc *= v) break;               \
            case KILN_RED_L1: KILN_RED_EACH(LD, acc += v < 0 ? -v : v) break;             \
            case KILN_RED_SUMSQ: KILN_RED_EACH(LD, acc += v * v) break;                   \
            case KILN_RED_L2:                                                         \
                KILN_RED_EACH(LD, d += (double)v * (double)v)                             \
                y[o] = STD(T, sqrt(d));                                               \
                continue;                                                             \
            case KILN_RED_LOGSUM:                                                     \
                KILN_RED_EACH(LD, d += (double)v)                                         \
                y[o] = STD(T, log(d));                                                \
                continue;                                                             \
            case KILN_RED_LOGSUMEXP: /* shifted by the max so exp cannot overflow */  \
                KILN_RED_EACH(LD, if ((double)v > m || ISNAN(v)) m = (double)v)           \
                if (m != m || m == INFINITY || m == -INFINITY) { y[o] = STD(T, m); continue; } \
                KILN_RED_EACH(LD, d += exp((double)v - m))                                \
                y[o] = STD(T, m + log(d));                                            \
                continue;                                                             \
            }                                                                         \
            y[o] = ST(T, acc);                                                        \
        }                                                                             \
    }

/*
 * ArgMax / ArgMin: p = [outer, n, inner, select_last, is_min]; the axis has n
 * elements at stride inner; out is int64. NaN wins (as in NumPy): the first
 * one, or the last with select_last.
 */
#define KILN_DEF_ARG(sfx, T, C, LD, ISNAN)                                            \
    KILN_KERNEL kiln_argminmax_##sfx(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)  \
    {                                                                                 \
        const T *x = (const T *)in[0];                                                \
        int64_t *y = (int64_t *)out[0];                                               \
        int64_t outer = p[0], n = p[1], inner = p[2], o, i, j;                        \
        int last = (int)p[3], is_min = (int)p[4];                                     \
        (void)f;                                                                      \
        for (o = 0; o < outer; o++)                                                   \
            for (i = 0; i < inner; i++) {                                             \
                const T *xs = x + o * n * inner + i;                                  \
                C best = LD(xs[0]);                                                   \
                int64_t bi = 0;                                                       \
                for (j = 1; j < n; j++) {                                             \
                    C v = LD(xs[j * inner]);                                          \
                    int take;                                                         \
                    if (ISNAN(best)) {                                                \
                        if (!last) break;                                             \
                        take = ISNAN(v);                                              \
                    } else {                                                          \
                        take = ISNAN(v) || (is_min ? v < best : v > best) || (last && v == best); \
                    }                                                                 \
                    if (take) { best = v; bi = j; }                                   \
                }                                                                     \
                y[o * inner + i] = bi;                                                \
            }                                                                         \
    }

/*
 * TopK: p = [outer, n, inner, k, largest]; outputs values and int64 indices
 * with k along the axis, sorted best first, ties to the lower index (the
 * merge sort is stable), NaN above every number. Scratch: 2 * n int64.
 */
typedef int (*kiln_topk_before)(const void *x, int64_t stride, int64_t a, int64_t b, int largest);

static KILN_UNUSED const int64_t *kiln_topk_sort(int64_t *idx, int64_t *tmp, int64_t n, kiln_topk_before before,
                                                 const void *x, int64_t stride, int largest)
{
    int64_t w, lo, i;
    for (i = 0; i < n; i++) idx[i] = i;
    for (w = 1; w < n; w *= 2) {
        int64_t *t;
        for (lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) tmp[k++] = before(x, stride, idx[b], idx[a], largest) ? idx[b++] : idx[a++];
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        t = idx; idx = tmp; tmp = t;
    }
    return idx;
}

#define KILN_DEF_TOPK(sfx, T, C, LD, ISNAN)                                           \
    static KILN_UNUSED int kiln_topk_before_##sfx(const void *x, int64_t stride, int64_t a, int64_t b, \
                                                  int largest)                        \
    {                                                                                 \
        C u = LD(((const T *)x)[a * stride]), v = LD(((const T *)x)[b * stride]);     \
        if (ISNAN(u) || ISNAN(v)) return largest ? ISNAN(u) && !ISNAN(v) : ISNAN(v) && !ISNAN(u); \
        return largest ? u > v : u < v;                                               \
    }                                                                                 \
    KILN_KERNEL kiln_topk_##sfx(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)       \
    {                                                                                 \
        const T *x = (const T *)in[0];                                                \
        T *vals = (T *)out[0];                                                        \
        int64_t *inds = (int64_t *)out[1], *scratch = (int64_t *)out[2];              \
        int64_t outer = p[0], n = p[1], inner = p[2], k = p[3], o, i, j;              \
        (void)f;                                                                      \
        for (o = 0; o < outer; o++)                                                   \
            for (i = 0; i < inner; i++) {                                             \
                const T *xs = x + o * n * inner + i;                                  \
                const int64_t *s = kiln_topk_sort(scratch, scratch + n, n, kiln_topk_before_##sfx, xs, \
                                                  inner, (int)p[4]);                  \
                for (j = 0; j < k; j++) {                                             \
                    int64_t at = (o * k + j) * inner + i;                             \
                    if (vals) vals[at] = xs[s[j] * inner];                            \
                    if (inds) inds[at] = s[j];                                        \
                }                                                                     \
            }                                                                         \
    }

/* CumSum: p = [outer, n, inner, exclusive, reverse]. */
#define KILN_DEF_CUMSUM(sfx, T, A, LD, ST)                                            \
    KILN_KERNEL kiln_cumsum_##sfx(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)     \
    {                                                                                 \
        const T *x = (const T *)in[0];                                                \
        T *y = (T *)out[0];                                                           \
        int64_t outer = p[0], n = p[1], inner = p[2], o, i, j;                        \
        int excl = (int)p[3], rev = (int)p[4];                                        \
        (void)f;                                                                      \
        for (o = 0; o < outer; o++)                                                   \
            for (i = 0; i < inner; i++) {                                             \
                int64_t base = o * n * inner + i;                                     \
                A acc = 0;                                                            \
                for (j = 0; j < n; j++) {                                             \
                    int64_t at = base + (rev ? n - 1 - j : j) * inner;                \
                    A v = LD(x[at]);                                                  \
                    if (!excl) acc += v;                                              \
                    y[at] = ST(T, acc);                                               \
                    if (excl) acc += v;                                               \
                }                                                                     \
            }                                                                         \
    }

#define KILN_DEF_REDUCE_FLOAT(sfx, T, LD, ST)                                         \
    KILN_DEF_REDUCE(sfx, T, double, LD, ST, ST, KILN_RISNAN_F, -INFINITY, INFINITY)   \
    KILN_DEF_ARG(sfx, T, double, LD, KILN_RISNAN_F)                                   \
    KILN_DEF_TOPK(sfx, T, double, LD, KILN_RISNAN_F)                                  \
    KILN_DEF_CUMSUM(sfx, T, double, LD, ST)

/* Integers accumulate in int64_t, so there is no Reduce* of u64. */
#define KILN_DEF_REDUCE_INT(sfx, T, LO, HI)                                           \
    KILN_DEF_REDUCE(sfx, T, int64_t, KILN_RLD_SELF, KILN_RST_SELF, KILN_RSTD_INT, KILN_RISNAN_I, LO, HI) \
    KILN_DEF_ARG(sfx, T, T, KILN_RLD_SELF, KILN_RISNAN_I)                             \
    KILN_DEF_TOPK(sfx, T, T, KILN_RLD_SELF, KILN_RISNAN_I)

KILN_DEF_REDUCE_FLOAT(f32, float, KILN_RLD_SELF, KILN_RST_SELF)
KILN_DEF_REDUCE_FLOAT(f64, double, KILN_RLD_SELF, KILN_RST_SELF)
KILN_DEF_REDUCE_FLOAT(f16, uint16_t, KILN_RLD_F16, KILN_RST_F16)
KILN_DEF_REDUCE_FLOAT(bf16, uint16_t, KILN_RLD_BF16, KILN_RST_BF16)
KILN_DEF_REDUCE_INT(i8, int8_t, INT8_MIN, INT8_MAX)
KILN_DEF_REDUCE_INT(u8, uint8_t, 0, UINT8_MAX)
KILN_DEF_REDUCE_INT(i32, int32_t, INT32_MIN, INT32_MAX)
KILN_DEF_REDUCE_INT(i64, int64_t, INT64_MIN, INT64_MAX)
KILN_DEF_REDUCE_INT(u32, uint32_t, 0, UINT32_MAX)
KILN_DEF_ARG(u64, uint64_t, uint64_t, KILN_RLD_SELF, KILN_RISNAN_I)
KILN_DEF_TOPK(u64, uint64_t, uint64_t, KILN_RLD_SELF, KILN_RISNAN_I)
KILN_DEF_CUMSUM(i32, int32_t, int64_t, KILN_RLD_SELF, KILN_RST_SELF)
KILN_DEF_CUMSUM(i64, int64_t, int64_t, KILN_RLD_SELF, KILN_RST_SELF)
KILN_DEF_CUMSUM(u32, uint32_t, uint64_t, KILN_RLD_SELF, KILN_RST_SELF)
KILN_DEF_CUMSUM(u64, uint64_t, uint64_t, KILN_RLD_SELF, KILN_RST_SELF)

#endif
