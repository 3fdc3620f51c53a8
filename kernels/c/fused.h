/*
 * fused.h — kernels of kiln's own fused operators (KOP rows of ir/ops.def),
 * made by the fusion passes:
 *
 *   FusedConv / FusedGemm / FusedMatMul  the linalg kernel, then an epilogue
 *                                        y = act(y + bias + residual)
 *   Elementwise   a chain of elementwise ops as one expression: codegen emits
 *                 a loop generated for the node (codegen/lower_fused.c); the
 *                 interpreter kiln_elementwise_S here is its reference and
 *                 what constant folding runs
 *   Attention     softmax(scale * Q KT + mask) V, a plain reference
 *
 * Every scalar op of an expression or epilogue is one row of KILN_FZ_OPS and
 * one function kiln_fz_NAME_S(a, b, c) per float dtype S: the generated loops
 * call the same functions the interpreter does. Arguments past an op's arity
 * are unused; an activation's alpha and beta are its b and c. Values are
 * loaded to the natural type of S (float for f32/f16/bf16, double for f64);
 * math functions compute in double, as kernels/c/elementwise.h does, but
 * for f32 in its float math where a row says KILN_FZ_FAST(float, double).
 */
#ifndef KILN_KERNELS_FUSED_H
#define KILN_KERNELS_FUSED_H
#include "common.h"
#include "elementwise.h"
#include "linalg.h"
#include "parallel.h"

/* X(name, arity, value of a, b, c). */
#define KILN_FZ_OPS(X)                                                                             \
    X(neg, 1, -a)                                                                                  \
    X(abs, 1, fabs(a))                                                                             \
    X(floor, 1, floor(a))                                                                          \
    X(ceil, 1, ceil(a))                                                                            \
    X(round, 1, kiln_ew_round(a))                                                                  \
    X(sqrt, 1, sqrt(a))                                                                            \
    X(reciprocal, 1, 1 / a)                                                                        \
    X(exp, 1, KILN_FZ_FAST(kiln_ew_expf(a), exp(a)))                                               \
    X(log, 1, log(a))                                                                              \
    X(sin, 1, sin(a))                                                                              \
    X(cos, 1, cos(a))                                                                              \
    X(tan, 1, tan(a))                                                                              \
    X(asin, 1, asin(a))                                                                            \
    X(acos, 1, acos(a))                                                                            \
    X(atan, 1, atan(a))                                                                            \
    X(sinh, 1, sinh(a))                                                                            \
    X(cosh, 1, cosh(a))                                                                            \
    X(asinh, 1, asinh(a))                                                                          \
    X(acosh, 1, acosh(a))                                                                          \
    X(atanh, 1, atanh(a))                                                                          \
    X(erf, 1, KILN_FZ_FAST(kiln_ew_erff(a), erf(a)))                                               \
    X(sign, 1, a > 0 ? 1 : a < 0 ? -1 : a)                                                         \
    X(relu, 1, a < 0 ? 0 : a)                                                                      \
    X(tanh, 1, KILN_FZ_FAST(kiln_ew_tanhf(a), tanh(a)))                                            \
    X(sigmoid, 1, KILN_FZ_FAST(kiln_ew_sigmoidf(a), kiln_ew_sigmoid(a)))                           \
    X(softplus, 1, kiln_ew_softplus(a))                                                            \
    X(softsign, 1, a / (1 + fabs(a)))                                                              \
    X(mish, 1, a * tanh(kiln_ew_softplus(a)))                                                      \
    X(hardswish, 1, a * kiln_ew_clamp(a / 6.0 + 0.5, 0, 1))                                        \
    X(gelu, 1, KILN_FZ_FAST(kiln_ew_geluf(a), 0.5 * a * (1 + erf(a * 0.7071067811865476))))        \
    X(gelu_tanh, 1, 0.5 * a * (1 + tanh(0.7978845608028654 * (a + 0.044715 * a * a * a))))         \
    X(add, 2, a + b)                                                                               \
    X(sub, 2, a - b)                                                                               \
    X(mul, 2, a * b)                                                                               \
    X(div, 2, a / b)                                                                               \
    X(pow, 2, pow(a, b))                                                                           \
    X(max, 2, (a > b || a != a) ? a : b)                                                           \
    X(min, 2, (a < b || a != a) ? a : b)                                                           \
    X(prelu, 2, a < 0 ? a * b : a) /* LeakyRelu too, b = alpha */                                  \
    X(elu, 2, a < 0 ? b * expm1(a) : a)                                                            \
    X(celu, 2, a > 0 ? a : b * expm1(a / b))                                                       \
    X(thresholdedrelu, 2, a > b ? a : 0)                                                           \
    X(clip, 3, a < b ? b : a > c ? c : a)                                                          \
    X(hardsigmoid, 3, kiln_ew_clamp(b * a + c, 0, 1))                                              \
    X(selu, 3, a > 0 ? c * a : c * b * expm1(a))

/* kiln_fz_f32 is a constant of each op's function (KILN_FZ_DEF_OP) */
#define KILN_FZ_FAST(fast, slow) (kiln_fz_f32 ? (double)(fast) : (slow))

#define KILN_FZ_ENUM(name, arity, expr) KILN_FZ_##name,
enum { KILN_FZ_OPS(KILN_FZ_ENUM) KILN_FZ_COUNT };

/* The dtypes: X(S) for each; storage and natural types come from elementwise.h. */
#define KILN_FZ_TYPES(X) X(f32) X(f64) X(f16) X(bf16)

/* Inlined (KILN_EW_MATH), so that the loops calling them vectorise. */
#define KILN_FZ_DEF_OP(S, name, arity, expr)                                                       \
    KILN_EW_MATH kiln_ew_n_##S kiln_fz_##name##_##S(kiln_ew_n_##S a, kiln_ew_n_##S b,              \
                                                    kiln_ew_n_##S c)                               \
    {                                                                                              \
        enum { kiln_fz_f32 = KILN_EW_F32_##S };                                                    \
        (void)a; (void)b; (void)c;                                                                 \
        return (kiln_ew_n_##S)(expr);                                                              \
    }
#define KILN_FZ_CASE(S, name, arity, expr) case KILN_FZ_##name: return kiln_fz_##name##_##S(a, b, c);
#define KILN_FZ_ARITY_CASE(name, arity, expr) case KILN_FZ_##name: return arity;

static KILN_UNUSED int kiln_fz_arity(int64_t op)
{
    switch (op) {
    KILN_FZ_OPS(KILN_FZ_ARITY_CASE)
    default: return 0;
    }
}

/* kiln_fz_apply_S: op by number, for the interpreter and the epilogues. */
#define KILN_FZ_DEF_TYPE(S)                                                                        \
    KILN_FZ_OPS(KILN_FZ_DEF_OP_##S)                                                                \
    static KILN_UNUSED kiln_ew_n_##S kiln_fz_apply_##S(int64_t op, kiln_ew_n_##S a,                \
                                                       kiln_ew_n_##S b, kiln_ew_n_##S c)           \
    {                                                                                              \
        switch (op) {                                                                              \
        KILN_FZ_OPS(KILN_FZ_CASE_##S)                                                              \
        default: return a;                                                                         \
        }                                                                                          \
    }
#define KILN_FZ_DEF_OP_f32(...) KILN_FZ_DEF_OP(f32, __VA_ARGS__)
#define KILN_FZ_DEF_OP_f64(...) KILN_FZ_DEF_OP(f64, __VA_ARGS__)
#define KILN_FZ_DEF_OP_f16(...) KILN_FZ_DEF_OP(f16, __VA_ARGS__)
#define KILN_FZ_DEF_OP_bf16(...) KILN_FZ_DEF_OP(bf16, __VA_ARGS__)
#define KILN_FZ_CASE_f32(...) KILN_FZ_CASE(f32, __VA_ARGS__)
#define KILN_FZ_CASE_f64(...) KILN_FZ_CASE(f64, __VA_ARGS__)
#define KILN_FZ_CASE_f16(...) KILN_FZ_CASE(f16, __VA_ARGS__)
#define KILN_FZ_CASE_bf16(...) KILN_FZ_CASE(bf16, __VA_ARGS__)
/* y[0..n) = op(y, alpha, beta), one loop per op: a loop around the switch does not vectorise */
#define KILN_FZ_ROW_CASE(S, name, arity, expr)                                                     \
    case KILN_FZ_##name:                                                                           \
        for (j = 0; j < n; j++) y[j] = kiln_fz_##name##_##S(y[j], alpha, beta);                    \
        break;
#define KILN_FZ_ROW_CASE_f32(...) KILN_FZ_ROW_CASE(f32, __VA_ARGS__)
#define KILN_FZ_ROW_CASE_f64(...) KILN_FZ_ROW_CASE(f64, __VA_ARGS__)
#define KILN_FZ_ROW_CASE_f16(...) KILN_FZ_ROW_CASE(f16, __VA_ARGS__)
#define KILN_FZ_ROW_CASE_bf16(...) KILN_FZ_ROW_CASE(bf16, __VA_ARGS__)
KILN_FZ_TYPES(KILN_FZ_DEF_TYPE)

/*
 * Walking a dense output of rank r and dims while keeping each of nin
 * inputs' element offsets (strides[k * r + axis], 0 where input k is
 * broadcast along that axis).
 */
#define KILN_FZ_MAX_IN 32
#define KILN_FZ_MAX_STACK 32

static KILN_UNUSED void kiln_fz_step(int r, const int64_t *dims, int nin, const int64_t *strides, int64_t *idx,
                                     int64_t *off)
{
    int a, k;
    for (a = r - 1; a >= 0; a--) {
        for (k = 0; k < nin; k++) off[k] += strides[k * r + a];
        if (++idx[a] < dims[a]) return;
        for (k = 0; k < nin; k++) off[k] -= strides[k * r + a] * dims[a];
        idx[a] = 0;
    }
}

/*
 * Elementwise, the interpreter: y = expression over the inputs.
 * p: nin, rank, dims[rank], strides[nin][rank], nprog, then nprog
 * instructions (kind, arg) of a postfix program: kind 0 pushes input arg,
 * 1 pushes f[arg], 2 applies op arg (a KILN_FZ_ number) to the top arity
 * values. f: the program's constants.
 */
#define KILN_FZ_DEF_EW(S)                                                                          \
    KILN_KERNEL kiln_elementwise_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)               \
    {                                                                                              \
        int nin = (int)p[0], r = (int)p[1], a;                                                     \
        const int64_t *dims = p + 2, *st = dims + r, *prog = st + (int64_t)nin * r + 1;            \
        int64_t nprog = prog[-1], idx[KILN_KMAX_RANK] = {0}, off[KILN_FZ_MAX_IN] = {0}, numel = 1; \
        int64_t o, i;                                                                              \
        kiln_ew_t_##S *y = (kiln_ew_t_##S *)out[0];                                                \
        for (a = 0; a < r; a++) numel *= dims[a];                                                  \
        for (o = 0; o < numel; o++, kiln_fz_step(r, dims, nin, st, idx, off)) {                    \
            kiln_ew_n_##S v[KILN_FZ_MAX_STACK];                                                    \
            int sp = 0;                                                                            \
            for (i = 0; i < nprog; i++) {                                                          \
                int64_t kind = prog[2 * i], arg = prog[2 * i + 1];                                 \
                if (kind == 0) {                                                                   \
                    v[sp++] = KILN_EW_LD(S, ((const kiln_ew_t_##S *)in[arg])[off[arg]]);           \
                } else if (kind == 1) {                                                            \
                    v[sp++] = (kiln_ew_n_##S)f[arg];                                               \
                } else {                                                                           \
                    int ar = kiln_fz_arity(arg);                                                   \
                    kiln_ew_n_##S x = v[sp - ar], y1 = ar > 1 ? v[sp - ar + 1] : 0,                \
                                  y2 = ar > 2 ? v[sp - ar + 2] : 0;                                \
                    sp -= ar;                                                                      \
                    v[sp++] = kiln_fz_apply_##S(arg, x, y1, y2);                                   \
                }                                                                                  \
            }                                                                                      \
            y[o] = KILN_EW_ST(S, v[0]);                                                            \
        }                                                                                          \
    }
KILN_FZ_TYPES(KILN_FZ_DEF_EW)

/*
 * The epilogue of FusedConv, FusedGemm and FusedMatMul, in place on out[0]
 * after the linalg kernel wrote it: y = act(y + in[3] + in[4]), where in[3]
 * (a bias) and in[4] (a residual) are optional and broadcast to y.
 * p: E (the epilogue's integer count, where the linalg kernel's p starts),
 * F (its float count, where the linalg kernel's f starts), activation (a
 * KILN_FZ_ number, -1 for none), rank, dims[rank], strides of in[3] [rank],
 * strides of in[4] [rank]. f: the activation's alpha and beta.
 */
/* The epilogue a row at a time, rows [row0, row1), each step a loop the
 * compiler vectorises (kernels/c/gemm.h's fast kernels run at memory speed
 * only with it): for types that compute in their storage type, where it
 * rounds as the element loop does. */
#define KILN_FZ_DEF_EPILOGUE_ROWS(S)                                                               \
    static KILN_UNUSED void kiln_fz_epilogue_rows_##S(kiln_ip p, kiln_ew_n_##S alpha, kiln_ew_n_##S beta, \
                                                      const kiln_ew_t_##S *b, const kiln_ew_t_##S *res, \
                                                      kiln_ew_t_##S *y, int64_t row0, int64_t row1) \
    {                                                                                              \
        int64_t act = p[2], idx[KILN_KMAX_RANK] = {0}, off[2] = {0}, n, j, row, q, rest = row0;    \
        int r = (int)p[3], a;                                                                      \
        const int64_t *dims = p + 4, *st = dims + r;                                               \
        n = dims[r - 1];                                                                           \
        for (a = r - 2; a >= 0; a--, rest /= dims[a + 1]) { /* row0's index on the outer axes */  \
            idx[a] = rest % dims[a];                                                               \
            off[0] += idx[a] * st[a], off[1] += idx[a] * st[r + a];                                \
        }                                                                                          \
        for (row = row0, y += row0 * n; row < row1; row++, y += n) {                              \
            for (q = 0; q < 2; q++) {                                                              \
                const kiln_ew_t_##S *x = q ? res : b;                                              \
                int64_t s = st[q * r + r - 1];                                                     \
                if (!x) continue;                                                                  \
                x += off[q];                                                                       \
                if (s == 1) for (j = 0; j < n; j++) y[j] += x[j];                                  \
                else if (s == 0) for (j = 0; j < n; j++) y[j] += x[0];                             \
                else for (j = 0; j < n; j++) y[j] += x[j * s];                                     \
            }                                                                                      \
            switch (act) {                                                                         \
            KILN_FZ_OPS(KILN_FZ_ROW_CASE_##S)                                                      \
            default: break;                                                                        \
            }                                                                                      \
            for (a = r - 2; a >= 0; a--) { /* the next row: step the outer axes */                 \
                off[0] += st[a], off[1] += st[r + a];                                              \
                if (++idx[a] < dims[a]) break;                                                     \
                off[0] -= st[a] * dims[a], off[1] -= st[r + a] * dims[a];                          \
                idx[a] = 0;                                                                        \
            }                                                                                      \
        }                                                                                          \
    }
KILN_FZ_TYPES(KILN_FZ_DEF_EPILOGUE_ROWS)

/* A share of the rows, for kiln_parallel. */
typedef struct {
    kiln_ip p;
    kiln_fp f;
    kiln_in in;
    kiln_out out;
    int64_t rows, chunk;
} kiln_fz_rows_task;

#define KILN_FZ_DEF_EPILOGUE(S)                                                                    \
    static KILN_UNUSED void kiln_fz_rows_run_##S(void *ctx, int i)                                 \
    {                                                                                              \
        const kiln_fz_rows_task *t = (const kiln_fz_rows_task *)ctx;                               \
        int64_t row0 = i * t->chunk, row1 = row0 + t->chunk < t->rows ? row0 + t->chunk : t->rows; \
        if (row0 < row1)                                                                           \
            kiln_fz_epilogue_rows_##S(t->p, (kiln_ew_n_##S)t->f[0], (kiln_ew_n_##S)t->f[1],       \
                                      (const kiln_ew_t_##S *)t->in[3], (const kiln_ew_t_##S *)t->in[4], \
                                      (kiln_ew_t_##S *)t->out[0], row0, row1);                     \
    }                                                                                              \
    static KILN_UNUSED void kiln_fz_epilogue_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)   \
    {                                                                                              \
        int64_t act = p[2], idx[KILN_KMAX_RANK] = {0}, off[2] = {0}, numel = 1, o;                 \
        int r = (int)p[3], a;                                                                      \
        const int64_t *dims = p + 4, *st = dims + r;                                               \
        const kiln_ew_t_##S *b = (const kiln_ew_t_##S *)in[3], *res = (const kiln_ew_t_##S *)in[4]; \
        kiln_ew_t_##S *y = (kiln_ew_t_##S *)out[0];                                                \
        kiln_ew_n_##S alpha = (kiln_ew_n_##S)f[0], beta = (kiln_ew_n_##S)f[1];                     \
        for (a = 0; a < r; a++) numel *= dims[a];                                                  \
        if (r > 0 && sizeof(kiln_ew_t_##S) == sizeof(kiln_ew_n_##S)) {                             \
            /* threads take whole rows; only where there is enough work to wake them */          \
            kiln_fz_rows_task t;                                                                   \
            int n = numel >= 65536 ? KILN_THREADS : 1;                                             \
            t.p = p, t.f = f, t.in = in, t.out = out, t.rows = dims[r - 1] ? numel / dims[r - 1] : 0; \
            t.chunk = (t.rows + n - 1) / n;                                                        \
            kiln_parallel(n, kiln_fz_rows_run_##S, &t);                                            \
            return;                                                                                \
        }                                                                                          \
        for (o = 0; o < numel; o++, kiln_fz_step(r, dims, 2, st, idx, off)) {                      \
            kiln_ew_n_##S v = KILN_EW_LD(S, y[o]);                                                 \
            if (b) v += KILN_EW_LD(S, b[off[0]]);                                                  \
            if (res) v += KILN_EW_LD(S, res[off[1]]);                                              \
            if (act >= 0) v = kiln_fz_apply_##S(act, v, alpha, beta);                              \
            y[o] = KILN_EW_ST(S, v);                                                               \
        }                                                                                          \
    }
KILN_FZ_TYPES(KILN_FZ_DEF_EPILOGUE)

/* kiln_fused_BASE_S: kiln_BASE_S (kernels/c/linalg.h, its parameters after
 * the epilogue's), then the epilogue. Scratch, if any, passes through. */
#define KILN_FZ_DEF_FUSED(base, S)                                                                 \
    KILN_KERNEL kiln_fused_##base##_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)            \
    {                                                                                              \
        kiln_##base##_##S(p + p[0], f + p[1], in, out);                                            \
        kiln_fz_epilogue_##S(p, f, in, out);                                                       \
    }
/* X(base, S): the linalg kernels an epilogue can follow (float types only). */
#define KILN_FZ_FUSED_LA(X)                                                                        \
    X(conv, f32) X(conv, f64) X(conv, f16)                                                         \
    X(gemm, f32) X(gemm, f64) X(gemm, f16) X(gemm, bf16)                                           \
    X(matmul, f32) X(matmul, f64) X(matmul, f16) X(matmul, bf16)
KILN_FZ_FUSED_LA(KILN_FZ_DEF_FUSED)

/*
 * Attention: y = softmax(scale * Q KT + mask, last axis) V, per batch index,
 * with Q [Sq, D], KT [D, Sk] (K already transposed), V [Sk, Dv] and y
 * [Sq, Dv] matrices. p: r (batch rank), dims[r], batch strides of Q, KT, V
 * and the mask [r] each (elements, 0 where broadcast), Sq, Sk, D, Dv, has
 * mask, mask strides along Sq and Sk, then the row and column strides of Q,
 * KT and V, and y's batch strides [r] and row stride (its columns are
 * contiguous). f: scale. Scratch: one row of Sk scores in the accumulator
 * type.
 */
#define KILN_FZ_DEF_ATTENTION(S, T, A)                                                             \
    KILN_KERNEL kiln_attention_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)                 \
    {                                                                                              \
        int r = (int)p[0], k;                                                                      \
        const int64_t *dims = p + 1, *qs = dims + r, *ks = qs + r, *vs = ks + r, *ms = vs + r;     \
        const int64_t *g = ms + r, *e = g + 7, *ys = e + 6;                                        \
        int64_t Sq = g[0], Sk = g[1], D = g[2], Dv = g[3], mrs = g[5], mcs = g[6], yrs = ys[r];    \
        int64_t idx[KILN_KMAX_RANK] = {0}, nb = kiln_la_numel(r, dims), bi, i, j, d;               \
        const T *Q = (const T *)in[0], *K = (const T *)in[1], *V = (const T *)in[2];               \
        const T *M = g[4] ? (const T *)in[3] : NULL;                                               \
        T *Y = (T *)out[0];                                                                        \
        A *s = (A *)out[1], scale = KILN_FD_##S(f[0]);                                             \
        for (bi = 0; bi < nb; bi++, kiln_la_next(r, dims, idx)) {                                  \
            int64_t qo = 0, ko = 0, vo = 0, mo = 0, yo = 0;                                        \
            for (k = 0; k < r; k++) {                                                              \
                qo += idx[k] * qs[k]; ko += idx[k] * ks[k];                                        \
                vo += idx[k] * vs[k]; mo += idx[k] * ms[k]; yo += idx[k] * ys[k];                  \
            }                                                                                      \
            for (i = 0; i < Sq; i++) {                                                             \
                A mx = -INFINITY, sum = 0;                                                         \
                for (j = 0; j < Sk; j++) {                                                         \
                    A acc = 0;                                                                     \
                    for (d = 0; d < D; d++)                                                        \
                        acc += KILN_LD_##S(Q[qo + i * e[0] + d * e[1]]) *                          \
                               KILN_LD_##S(K[ko + d * e[2] + j * e[3]]);                           \
                    acc *= scale;                                                                  \
                    if (M) acc += KILN_LD_##S(M[mo + i * mrs + j * mcs]);                          \
                    s[j] = acc;                                                                    \
                    if (acc > mx) mx = acc;                                                        \
                }                                                                                  \
                for (j = 0; j < Sk; j++) {                                                         \
                    s[j] = (A)exp(s[j] - mx);                                                      \
                    sum += s[j];                                                                   \
                }                                                                                  \
                for (d = 0; d < Dv; d++) {                                                         \
                    A acc = 0;                                                                     \
                    for (j = 0; j < Sk; j++) acc += s[j] * KILN_LD_##S(V[vo + j * e[4] + d * e[5]]); \
                    Y[yo + i * yrs + d] = KILN_ST_##S(acc / sum);                                  \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }
KILN_FZ_DEF_ATTENTION(f32, float, float)
KILN_FZ_DEF_ATTENTION(f64, double, double)

#endif
