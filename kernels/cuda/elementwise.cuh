/*
 * elementwise.cuh — grid-stride CUDA kernels of the elementwise operators,
 * expanded from the same op lists as kernels/c/elementwise.h (which must
 * come first), so both targets compute the same expression. Parameters are
 * the C kernels': maps p = [numel]; broadcasts p = [nin, rank, dims[rank],
 * strides per input [rank]] (codegen/cuda.c merges axes first, so equal
 * shapes are rank 1); clip p = [numel, nin].
 */
#ifndef KILN_KERNELS_CUDA_ELEMENTWISE_CUH
#define KILN_KERNELS_CUDA_ELEMENTWISE_CUH

#define KILN_CU_DEF_MAP(fname, S, D, VAL)                                                          \
    template <int NI, int NO>                                                                      \
    static __global__ void kiln_cu_##fname(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)            \
    {                                                                                              \
        const kiln_ew_t_##S *X = (const kiln_ew_t_##S *)io.in[0];                                  \
        kiln_ew_t_##D *Y = (kiln_ew_t_##D *)io.out[0];                                             \
        int64_t n = p[0];                                                                          \
        (void)f;                                                                                   \
        KILN_CU_LOOP(i, n)                                                                         \
        {                                                                                          \
            kiln_ew_n_##S x = KILN_EW_LD(S, X[i]);                                                 \
            Y[i] = VAL;                                                                            \
        }                                                                                          \
    }

/* Offsets of up to three broadcast inputs for output element i. */
static __device__ __forceinline__ void kiln_cu_bc_offsets(kiln_ip p, int cnt, int64_t i, int64_t *off)
{
    int r = (int)p[1], ax, k;
    const int64_t *dims = p + 2;
    for (k = 0; k < cnt; k++) off[k] = 0;
    if (r == 1) {
        for (k = 0; k < cnt; k++) off[k] = i * dims[(k + 1) * r];
        return;
    }
    for (ax = r - 1; ax >= 0; ax--) {
        int64_t c;
        if (i <= 0xffffffff && dims[ax] <= 0xffffffff) { /* 32-bit division: far fewer instructions */
            unsigned ui = (unsigned)i, d = (unsigned)dims[ax];
            c = ui % d;
            i = ui / d;
        } else {
            c = i % dims[ax];
            i /= dims[ax];
        }
        for (k = 0; k < cnt; k++) off[k] += c * dims[(k + 1) * r + ax];
    }
}

static __device__ __forceinline__ int64_t kiln_cu_bc_numel(kiln_ip p)
{
    int64_t n = 1;
    for (int ax = 0; ax < (int)p[1]; ax++) n *= p[2 + ax];
    return n;
}

#define KILN_CU_DEF_BC2(fname, SA, SB, D, VAL)                                                     \
    template <int NI, int NO>                                                                      \
    static __global__ void kiln_cu_##fname(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)            \
    {                                                                                              \
        const kiln_ew_t_##SA *A = (const kiln_ew_t_##SA *)io.in[0];                                \
        const kiln_ew_t_##SB *B = (const kiln_ew_t_##SB *)io.in[1];                                \
        kiln_ew_t_##D *Y = (kiln_ew_t_##D *)io.out[0];                                             \
        int64_t numel = kiln_cu_bc_numel(p);                                                       \
        (void)f;                                                                                   \
        KILN_CU_LOOP(i, numel)                                                                     \
        {                                                                                          \
            int64_t off[2];                                                                        \
            kiln_cu_bc_offsets(p, 2, i, off);                                                      \
            kiln_ew_n_##SA a = KILN_EW_LD(SA, A[off[0]]);                                          \
            kiln_ew_n_##SB b = KILN_EW_LD(SB, B[off[1]]);                                          \
            Y[i] = VAL;                                                                            \
        }                                                                                          \
    }

#define KILN_CU_DEF_UNARY(S, Op, name, expr) KILN_CU_DEF_MAP(name##_##S, S, S, KILN_EW_ST(S, expr))
#define KILN_CU_DEF_PRED(S, Op, name, expr) KILN_CU_DEF_MAP(name##_##S, S, b8, (uint8_t)((expr) != 0))
#define KILN_CU_DEF_BINARY(S, Op, name, expr) KILN_CU_DEF_BC2(name##_##S, S, S, S, KILN_EW_ST(S, expr))
#define KILN_CU_DEF_COMPARE(S, Op, name, expr) KILN_CU_DEF_BC2(name##_##S, S, S, b8, (uint8_t)((expr) != 0))
#define KILN_CU_DEF_CAST(S, D)                                                                     \
    KILN_CU_DEF_MAP(cast_##S##_##D, S, D, KILN_EW_ISF_##S ? KILN_EW_STF_##D(x) : KILN_EW_ST_##D(x))
#define KILN_CU_DEF_POW(S, E)                                                                      \
    KILN_CU_DEF_BC2(pow_##S##_##E, S, E, S,                                                        \
                    KILN_EW_ISF_##S || KILN_EW_ISF_##E                                             \
                        ? KILN_EW_STF_##S(pow((double)a, (double)b))                               \
                        : KILN_EW_ST_##S(kiln_ew_ipow((int64_t)a, (int64_t)b)))

#define KILN_CU_DEF_CLIP(S, Op, name, expr)                                                        \
    template <int NI, int NO>                                                                      \
    static __global__ void kiln_cu_clip_##S(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)           \
    {                                                                                              \
        kiln_in in = io.in;                                                                        \
        const kiln_ew_t_##S *X = (const kiln_ew_t_##S *)in[0];                                     \
        kiln_ew_t_##S *Y = (kiln_ew_t_##S *)io.out[0];                                             \
        kiln_ew_n_##S lo = KILN_EW_CLIP_BOUND(S, 1, f[0], KILN_EW_MIN_##S);                        \
        kiln_ew_n_##S hi = KILN_EW_CLIP_BOUND(S, 2, f[1], KILN_EW_MAX_##S);                        \
        int64_t n = p[0];                                                                          \
        KILN_CU_LOOP(i, n)                                                                         \
        {                                                                                          \
            kiln_ew_n_##S x = KILN_EW_LD(S, X[i]);                                                 \
            x = x < lo ? lo : x;                                                                   \
            Y[i] = KILN_EW_ST(S, x > hi ? hi : x);                                                 \
        }                                                                                          \
    }

#define KILN_CU_DEF_WHERE(N)                                                                       \
    template <int NI, int NO>                                                                      \
    static __global__ void kiln_cu_where_##N(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)          \
    {                                                                                              \
        const uint8_t *C = (const uint8_t *)io.in[0];                                              \
        const uint##N##_t *A = (const uint##N##_t *)io.in[1], *B = (const uint##N##_t *)io.in[2]; \
        uint##N##_t *Y = (uint##N##_t *)io.out[0];                                                 \
        int64_t numel = kiln_cu_bc_numel(p);                                                       \
        (void)f;                                                                                   \
        KILN_CU_LOOP(i, numel)                                                                     \
        {                                                                                          \
            int64_t off[3];                                                                        \
            kiln_cu_bc_offsets(p, 3, i, off);                                                      \
            Y[i] = C[off[0]] ? A[off[1]] : B[off[2]];                                              \
        }                                                                                          \
    }

KILN_EW_FLOATS(KILN_EW_UNARY_F, KILN_CU_DEF_UNARY)
KILN_EW_FLOATS(KILN_EW_PRED_F, KILN_CU_DEF_PRED)
KILN_EW_SINTS(KILN_EW_UNARY_S, KILN_CU_DEF_UNARY)
KILN_EW_UINTS(KILN_EW_UNARY_U, KILN_CU_DEF_UNARY)
KILN_EW_UNARY_B(KILN_CU_DEF_UNARY, b8)
KILN_EW_NUMERIC(KILN_EW_CLIP, KILN_CU_DEF_CLIP)
KILN_EW_ALL(KILN_EW_CAST_TO, KILN_CU_DEF_CAST)
KILN_EW_FLOATS(KILN_EW_BINARY_F, KILN_CU_DEF_BINARY)
KILN_EW_SINTS(KILN_EW_BINARY_S, KILN_CU_DEF_BINARY)
KILN_EW_UINTS(KILN_EW_BINARY_U, KILN_CU_DEF_BINARY)
KILN_EW_LOGICAL(KILN_CU_DEF_BINARY, b8)
KILN_EW_ALL(KILN_EW_COMPARE, KILN_CU_DEF_COMPARE)
KILN_EW_POW_BASES(KILN_EW_POW_EXPS, KILN_CU_DEF_POW)
KILN_CU_DEF_WHERE(8)
KILN_CU_DEF_WHERE(16)
KILN_CU_DEF_WHERE(32)
KILN_CU_DEF_WHERE(64)

#endif
