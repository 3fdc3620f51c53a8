/*
 * elementwise.h — reference kernels of the elementwise operators.
 *
 * Kernels are generated from op lists: a row X(S, Op, name, expr) of a list
 * instantiated for dtype S defines kiln_<name>_<S>. codegen/lower_elementwise.c
 * expands the same lists into its kernel table, so the two cannot drift.
 * Dtype suffixes: f32 f64 f16 bf16 i8 i16 i32 i64 u8 u16 u32 u64 b8 (bool).
 * Values are loaded to a natural C type (half types to float, bool to 0/1),
 * computed with C's arithmetic or in double, and rounded once when stored.
 *
 * Parameters:
 *   maps (unary, cast)  p = [numel]; f = the op's float attributes
 *   clip  p = [numel, nin]; f = [min, max] for omitted bounds
 *   broadcasting (binary, pow, where, n-ary)
 *       p = [nin, rank, dims[rank], strides of input 0 [rank], ...,
 *            strides of input nin-1 [rank]]: element strides, 0 where an input
 *       is broadcast; rank >= 1; the output is dense. f: Mod's fmod flag.
 *   kiln_identity (Identity, Dropout)  p = [bytes, numel of the mask output or -1]
 *
 * Integer arithmetic wraps (it goes through uint64_t, so there is no signed
 * overflow); integer division and remainder by zero give 0; float to integer
 * conversion truncates and saturates, NaN giving 0.
 */
#ifndef KILN_KERNELS_ELEMENTWISE_H
#define KILN_KERNELS_ELEMENTWISE_H
#include "common.h"

/* ---- dtypes ----------------------------------------------------------------- */

/* Storage type kiln_ew_t_S, and the natural type kiln_ew_n_S that loads give. */
#define KILN_EW_TYPE(S, T, N) typedef T kiln_ew_t_##S; typedef N kiln_ew_n_##S;
KILN_EW_TYPE(f32, float, float)
KILN_EW_TYPE(f64, double, double)
KILN_EW_TYPE(f16, uint16_t, float)
KILN_EW_TYPE(bf16, uint16_t, float)
KILN_EW_TYPE(i8, int8_t, int8_t)
KILN_EW_TYPE(i16, int16_t, int16_t)
KILN_EW_TYPE(i32, int32_t, int32_t)
KILN_EW_TYPE(i64, int64_t, int64_t)
KILN_EW_TYPE(u8, uint8_t, uint8_t)
KILN_EW_TYPE(u16, uint16_t, uint16_t)
KILN_EW_TYPE(u32, uint32_t, uint32_t)
KILN_EW_TYPE(u64, uint64_t, uint64_t)
KILN_EW_TYPE(b8, uint8_t, uint8_t)

/* Float to integer: truncate, saturate, NaN to 0 (C leaves these undefined). */
#define KILN_EW_SAT(S, LO, HIX, HI)                                                                \
    static KILN_UNUSED kiln_ew_t_##S kiln_ew_sat_##S(double v)                                     \
    {                                                                                              \
        return v != v ? 0 : v <= (double)(LO) ? (LO) : v >= (HIX) ? (HI) : (kiln_ew_t_##S)v;       \
    }
KILN_EW_SAT(i8, INT8_MIN, 128.0, INT8_MAX)
KILN_EW_SAT(i16, INT16_MIN, 32768.0, INT16_MAX)
KILN_EW_SAT(i32, INT32_MIN, 2147483648.0, INT32_MAX)
KILN_EW_SAT(i64, INT64_MIN, 9223372036854775808.0, INT64_MAX)
KILN_EW_SAT(u8, 0, 256.0, UINT8_MAX)
KILN_EW_SAT(u16, 0, 65536.0, UINT16_MAX)
KILN_EW_SAT(u32, 0, 4294967296.0, UINT32_MAX)
KILN_EW_SAT(u64, 0, 18446744073709551616.0, UINT64_MAX)

/* Double to float rounding to odd, so that a second rounding to a narrower
 * format (half, bfloat16) is correct: IEEE rounding, not double rounding. */
static KILN_UNUSED float kiln_ew_f32_odd(double d)
{
    float f = (float)d;
    uint32_t u;
    if ((double)f == d || f != f) return f;
    memcpy(&u, &f, 4);
    if (fabs((double)f) > fabs(d)) u--; /* rounded away from zero: truncate instead */
    u |= 1u;
    memcpy(&f, &u, 4);
    return f;
}

/*
 * Loads (LD) give the natural value; stores (ST) take any arithmetic value
 * and round or wrap it; STF stores a value that came from floating point,
 * saturating where the target is an integer. ISF: 1 for the float types.
 */
#define KILN_EW_LD(S, x) KILN_EW_LD_##S(x)
#define KILN_EW_LD_f32(x) (x)
#define KILN_EW_LD_f64(x) (x)
#define KILN_EW_LD_f16(x) kiln_f16_to_f32(x)
#define KILN_EW_LD_bf16(x) kiln_bf16_to_f32(x)
#define KILN_EW_LD_i8(x) (x)
#define KILN_EW_LD_i16(x) (x)
#define KILN_EW_LD_i32(x) (x)
#define KILN_EW_LD_i64(x) (x)
#define KILN_EW_LD_u8(x) (x)
#define KILN_EW_LD_u16(x) (x)
#define KILN_EW_LD_u32(x) (x)
#define KILN_EW_LD_u64(x) (x)
#define KILN_EW_LD_b8(x) ((x) != 0)

#define KILN_EW_ST(S, v) KILN_EW_ST_##S(v)
#define KILN_EW_ST_f32(v) ((float)(v))
#define KILN_EW_ST_f64(v) ((double)(v))
#define KILN_EW_ST_f16(v) kiln_f32_to_f16(kiln_ew_f32_odd((double)(v)))
#define KILN_EW_ST_bf16(v) kiln_f32_to_bf16(kiln_ew_f32_odd((double)(v)))
#define KILN_EW_ST_i8(v) ((int8_t)(v))
#define KILN_EW_ST_i16(v) ((int16_t)(v))
#define KILN_EW_ST_i32(v) ((int32_t)(v))
#define KILN_EW_ST_i64(v) ((int64_t)(v))
#define KILN_EW_ST_u8(v) ((uint8_t)(v))
#define KILN_EW_ST_u16(v) ((uint16_t)(v))
#define KILN_EW_ST_u32(v) ((uint32_t)(v))
#define KILN_EW_ST_u64(v) ((uint64_t)(v))
#define KILN_EW_ST_b8(v) ((uint8_t)((v) != 0))

#define KILN_EW_STF_f32 KILN_EW_ST_f32
#define KILN_EW_STF_f64 KILN_EW_ST_f64
#define KILN_EW_STF_f16 KILN_EW_ST_f16
#define KILN_EW_STF_bf16 KILN_EW_ST_bf16
#define KILN_EW_STF_i8(v) kiln_ew_sat_i8((double)(v))
#define KILN_EW_STF_i16(v) kiln_ew_sat_i16((double)(v))
#define KILN_EW_STF_i32(v) kiln_ew_sat_i32((double)(v))
#define KILN_EW_STF_i64(v) kiln_ew_sat_i64((double)(v))
#define KILN_EW_STF_u8(v) kiln_ew_sat_u8((double)(v))
#define KILN_EW_STF_u16(v) kiln_ew_sat_u16((double)(v))
#define KILN_EW_STF_u32(v) kiln_ew_sat_u32((double)(v))
#define KILN_EW_STF_u64(v) kiln_ew_sat_u64((double)(v))
#define KILN_EW_STF_b8 KILN_EW_ST_b8

#define KILN_EW_ISF_f32 1
#define KILN_EW_ISF_f64 1
#define KILN_EW_ISF_f16 1
#define KILN_EW_ISF_bf16 1
#define KILN_EW_ISF_i8 0
#define KILN_EW_ISF_i16 0
#define KILN_EW_ISF_i32 0
#define KILN_EW_ISF_i64 0
#define KILN_EW_ISF_u8 0
#define KILN_EW_ISF_u16 0
#define KILN_EW_ISF_u32 0
#define KILN_EW_ISF_u64 0
#define KILN_EW_ISF_b8 0

/* The range Clip uses when a bound is omitted (floats: the attributes in f). */
#define KILN_EW_MIN_i8 INT8_MIN
#define KILN_EW_MIN_i16 INT16_MIN
#define KILN_EW_MIN_i32 INT32_MIN
#define KILN_EW_MIN_i64 INT64_MIN
#define KILN_EW_MIN_u8 0
#define KILN_EW_MIN_u16 0
#define KILN_EW_MIN_u32 0
#define KILN_EW_MIN_u64 0
#define KILN_EW_MAX_i8 INT8_MAX
#define KILN_EW_MAX_i16 INT16_MAX
#define KILN_EW_MAX_i32 INT32_MAX
#define KILN_EW_MAX_i64 INT64_MAX
#define KILN_EW_MAX_u8 UINT8_MAX
#define KILN_EW_MAX_u16 UINT16_MAX
#define KILN_EW_MAX_u32 UINT32_MAX
#define KILN_EW_MAX_u64 UINT64_MAX
#define KILN_EW_MIN_f32 (-INFINITY)
#define KILN_EW_MIN_f64 (-INFINITY)
#define KILN_EW_MIN_f16 (-INFINITY)
#define KILN_EW_MIN_bf16 (-INFINITY)
#define KILN_EW_MAX_f32 INFINITY
#define KILN_EW_MAX_f64 INFINITY
#define KILN_EW_MAX_f16 INFINITY
#define KILN_EW_MAX_bf16 INFINITY

/* Lists of dtypes: L(X, S) instantiates op list L with definer X for S. */
#define KILN_EW_FLOATS(L, X) L(X, f32) L(X, f64) L(X, f16) L(X, bf16)
#define KILN_EW_SINTS(L, X) L(X, i8) L(X, i16) L(X, i32) L(X, i64)
#define KILN_EW_UINTS(L, X) L(X, u8) L(X, u16) L(X, u32) L(X, u64)
#define KILN_EW_NUMERIC(L, X) KILN_EW_FLOATS(L, X) KILN_EW_SINTS(L, X) KILN_EW_UINTS(L, X)
#define KILN_EW_ALL(L, X) KILN_EW_NUMERIC(L, X) L(X, b8)

/* ---- scalar helpers -------------------------------------------------------- */

/* ONNX Round: halves go to the even neighbour, whatever the FPU mode. */
static KILN_UNUSED double kiln_ew_round(double x)
{
    double r = floor(x), d = x - r;
    if (d > 0.5 || (d == 0.5 && fmod(r, 2.0) != 0)) r += 1.0;
    return r;
}

/* Written so that exp never overflows into inf/inf. */
static KILN_UNUSED double kiln_ew_sigmoid(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

static KILN_UNUSED double kiln_ew_softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* A clamp that keeps NaN (fmin/fmax would drop it). */
static KILN_UNUSED double kiln_ew_clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- float math --------------------------------------------------------------- */

/*
 * exp, erf, tanh, sigmoid and the exact GELU in float, for the f32 kernels:
 * libm's double functions cost a call per element, these vectorise. Within
 * 3 ulp of the double result rounded to float (GELU: 8 ulp, 5e-7 relative),
 * over every float; NaN propagates and infinities and underflow give libm's
 * results. Straight-line code: both sides of a choice are computed and
 * kiln_ew_sel picks one. Device code (nvcc) uses the CUDA math library.
 */
#ifdef __CUDACC__
#define KILN_EW_MATH static KILN_UNUSED
#elif defined(__GNUC__) || defined(__clang__)
/* inlined, or the loop calling them does not vectorise */
#define KILN_EW_MATH static inline __attribute__((always_inline, unused))
#else
#define KILN_EW_MATH static inline
#endif

/* Whether dtype S computes in the float math above (f16 and bf16 keep the
 * double path, which rounds them correctly). */
#define KILN_EW_F32_f32 1
#define KILN_EW_F32_f64 0
#define KILN_EW_F32_f16 0
#define KILN_EW_F32_bf16 0
#define KILN_EW_FAST(S, fast, slow) (KILN_EW_F32_##S ? (double)(fast) : (slow))

/* a * b + c for the polynomials: one rounding where the target has FMA, and
 * plain C (which ISO C mode never contracts) elsewhere */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define KILN_EW_MAD(a, b, c) fmaf(a, b, c)
#else
#define KILN_EW_MAD(a, b, c) ((a) * (b) + (c))
#endif

KILN_EW_MATH float kiln_ew_fbits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

KILN_EW_MATH uint32_t kiln_ew_bitsf(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* c ? a : b for c 0 or 1, without a branch: GCC would move the computation
 * of a or b into its arm, where (floating point may trap) the loop no longer
 * vectorises. */
KILN_EW_MATH float kiln_ew_sel(int c, float a, float b)
{
    uint32_t m = 0u - (uint32_t)c;
    return kiln_ew_fbits((kiln_ew_bitsf(a) & m) | (kiln_ew_bitsf(b) & ~m));
}

/* x with the low 12 bits of its mantissa cleared: its square is exact. */
KILN_EW_MATH float kiln_ew_hi12f(float x)
{
    return kiln_ew_fbits(kiln_ew_bitsf(x) & 0xfffff000u);
}

/* exp(hi + lo), lo a correction below the precision of hi. */
KILN_EW_MATH float kiln_ew_exp2f(float hi, float lo)
{
#ifdef __CUDA_ARCH__
    return expf(hi) * expf(lo);
#else
    float x = hi + lo, n, r, p, y;
    /* k = round(x / ln 2), read from the bits of x / ln 2 + 1.5 * 2^23: no
     * float to int conversion, undefined out of range (such x are replaced
     * at the end) */
    int32_t k = (int32_t)(kiln_ew_bitsf(x * 1.44269504f + 12582912.0f) - 0x4b400000u), k1 = k / 2;
    n = (float)k;
    r = (hi - n * 0.693359375f) - n * -2.12194440e-4f + lo; /* x - n ln 2 in two steps (Cody-Waite) */
    p = 1.381437854e-03f;
    p = KILN_EW_MAD(p, r, 8.368818326e-03f);
    p = KILN_EW_MAD(p, r, 4.166839804e-02f);
    p = KILN_EW_MAD(p, r, 1.666651979e-01f);
    p = KILN_EW_MAD(p, r, 4.999999339e-01f);
    p = 1.0f + r + r * r * p;
    /* times 2^k in two factors, so that a subnormal result is rounded once */
    y = p * kiln_ew_fbits((uint32_t)(k1 + 127) << 23) * kiln_ew_fbits((uint32_t)(k - k1 + 127) << 23);
    y = kiln_ew_sel(x < -104.0f, 0.0f, y);
    y = kiln_ew_sel(x > 89.0f, INFINITY, y);
    return kiln_ew_sel(x != x, x, y);
#endif
}

KILN_EW_MATH float kiln_ew_expf(float x)
{
    return kiln_ew_exp2f(x, 0.0f);
}

/* erfc(a) for a in [0, 10.6], given a * a = a2h + a2l: exp(-a * a) G(t),
 * G a polynomial in t = 1 / (1 + a / 2). */
KILN_EW_MATH float kiln_ew_erfc_big(float a, float a2h, float a2l)
{
    float t = 1.0f / (1.0f + 0.5f * a), g = 2.454942615e-02f;
    g = KILN_EW_MAD(g, t, -1.213321786e-01f);
    g = KILN_EW_MAD(g, t, 1.899502924e-01f);
    g = KILN_EW_MAD(g, t, 1.669625805e-02f);
    g = KILN_EW_MAD(g, t, -3.382787999e-01f);
    g = KILN_EW_MAD(g, t, 2.563504051e-01f);
    g = KILN_EW_MAD(g, t, -5.138968745e-02f);
    g = KILN_EW_MAD(g, t, 2.207148639e-01f);
    g = KILN_EW_MAD(g, t, 2.373780733e-01f);
    g = KILN_EW_MAD(g, t, 2.833600026e-01f);
    g = KILN_EW_MAD(g, t, 2.819981351e-01f);
    g = KILN_EW_MAD(g, t, 3.210971796e-06f);
    return kiln_ew_exp2f(-a2h, -a2l) * g;
}

/* erf(x) / x for |x| < 0.875: a polynomial in x * x. */
KILN_EW_MATH float kiln_ew_erf_small(float x)
{
    float u = x * x, s = 8.675949302e-05f;
    s = KILN_EW_MAD(s, u, -8.211242958e-04f);
    s = KILN_EW_MAD(s, u, 5.206760759e-03f);
    s = KILN_EW_MAD(s, u, -2.686159083e-02f);
    s = KILN_EW_MAD(s, u, 1.128373314e-01f);
    s = KILN_EW_MAD(s, u, -3.761263608e-01f);
    return KILN_EW_MAD(s, u, 1.128379167e+00f);
}

KILN_EW_MATH float kiln_ew_erff(float x)
{
#ifdef __CUDA_ARCH__
    return erff(x);
#else
    float ax = fabsf(x), a = kiln_ew_sel(ax < 10.5f, ax, 10.5f), ah = kiln_ew_hi12f(a), al = a - ah, m;
    m = 1.0f - kiln_ew_erfc_big(a, ah * ah, al * (a + ah));
    m = kiln_ew_sel(x < 0, -m, m);
    m = kiln_ew_sel(ax < 0.875f, x * kiln_ew_erf_small(x), m);
    return kiln_ew_sel(x != x, x, m);
#endif
}

/* GELU, 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2), through
 * erfc(|x| / sqrt 2) with x * x / 2 split exactly, so that it keeps its
 * precision where 1 + erf(x / sqrt 2) is small. Near 0 the factor is near 1,
 * where erfc's absolute error is enough: no second polynomial (6.78 ulp at
 * worst, checked over every float). */
KILN_EW_MATH float kiln_ew_geluf(float x)
{
#ifdef __CUDA_ARCH__
    return 0.5f * x * erfcf(x * -0.707106781f);
#else
    float ax = fabsf(x), e, xh, xl;
    ax = kiln_ew_sel(ax < 15.0f, ax, 15.0f); /* erfc is 0 from there on; x * x stays finite */
    xh = kiln_ew_hi12f(ax), xl = ax - xh;
    e = kiln_ew_erfc_big(ax * 0.707106781f, 0.5f * (xh * xh), 0.5f * (xl * (ax + xh)));
    return 0.5f * x * kiln_ew_sel(x < 0, e, 2.0f - e);
#endif
}

KILN_EW_MATH float kiln_ew_tanhf(float x)
{
#ifdef __CUDA_ARCH__
    return tanhf(x);
#else
    float ax = fabsf(x), u = x * x, s = -5.705007399e-03f, t;
    s = KILN_EW_MAD(s, u, 2.063910775e-02f);
    s = KILN_EW_MAD(s, u, -5.373972230e-02f);
    s = KILN_EW_MAD(s, u, 1.333144230e-01f);
    s = KILN_EW_MAD(s, u, -3.333328195e-01f);
    t = 1.0f - 2.0f / (kiln_ew_expf(2.0f * ax) + 1.0f);
    t = kiln_ew_sel(x < 0, -t, t);
    return kiln_ew_sel(ax < 0.625f, x + x * u * s, t); /* near 0: tanh(x) / x, a polynomial in x * x */
#endif
}

KILN_EW_MATH float kiln_ew_sigmoidf(float x)
{
    float e = kiln_ew_expf(-fabsf(x)); /* never overflows */
    return kiln_ew_sel(x >= 0, 1.0f / (1.0f + e), e / (1.0f + e));
}

/* Integer Mod: fmod=1 keeps the dividend's sign (C's %), fmod=0 the
 * divisor's (Python's %). -1 is special-cased: INT64_MIN % -1 overflows. */
static KILN_UNUSED int64_t kiln_ew_imod(int64_t a, int64_t b, int fmod_)
{
    int64_t r;
    if (b == 0 || b == -1) return 0;
    r = a % b;
    if (!fmod_ && r != 0 && (r < 0) != (b < 0)) r += b;
    return r;
}

/* Integer power, wrapping like the integer types; a negative exponent
 * truncates 1/a^-b toward zero. */
static KILN_UNUSED uint64_t kiln_ew_ipow(int64_t a, int64_t b)
{
    uint64_t r = 1, x = (uint64_t)a;
    if (b < 0) return a == 1 ? 1u : a == -1 ? ((b & 1) ? UINT64_MAX : 1u) : 0u;
    for (; b; b >>= 1) {
        if (b & 1) r *= x;
        x *= x;
    }
    return r;
}

/* ---- kernel shapes ----------------------------------------------------------- */

/* y[i] = VAL for each of p[0] elements, where VAL reads x (natural type). */
#define KILN_EW_DEF_MAP(fname, S, D, VAL)                                                          \
    KILN_KERNEL kiln_##fname(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)                       \
    {                                                                                              \
        const kiln_ew_t_##S *X = (const kiln_ew_t_##S *)in[0];                                     \
        kiln_ew_t_##D *Y = (kiln_ew_t_##D *)out[0];                                                \
        int64_t i, n = p[0];                                                                       \
        (void)f;                                                                                   \
        for (i = 0; i < n; i++) {                                                                  \
            kiln_ew_n_##S x = KILN_EW_LD(S, X[i]);                                                 \
            Y[i] = VAL;                                                                            \
        }                                                                                          \
    }

/*
 * Broadcast iteration by rows: the output's last axis is the inner loop, the
 * other axes are walked by kiln_bc. Uses stride sets k0..k0+cnt-1 of p.
 */
typedef struct {
    kiln_bc it;       /* offset of each input at the start of the current row */
    int64_t numel, n; /* elements of the output, and of one row */
    int64_t s[4];     /* each input's stride along the row */
} kiln_ew_rows;

static KILN_UNUSED void kiln_ew_rows_init(kiln_ew_rows *w, kiln_ip p, int k0, int cnt)
{
    int r = (int)p[1], k, a;
    const int64_t *dims = p + 2, *st[4];
    for (k = 0; k < cnt; k++) {
        st[k] = p + 2 + (int64_t)(k0 + k + 1) * r;
        w->s[k] = st[k][r - 1];
    }
    kiln_bc_init(&w->it, r - 1, dims, cnt, st);
    w->n = dims[r - 1];
    w->numel = 1;
    for (a = 0; a < r; a++) w->numel *= dims[a];
}

#define KILN_EW_AT(w, k, j) ((w).it.off[k] + (j) * (w).s[k])

/* y = VAL(a, b) with broadcasting; a and b are the inputs' natural values.
 * Rows where both inputs are contiguous (equal shapes) get a plain loop. */
#define KILN_EW_BC2_ROW(SA, SB, VAL, ia, ib)                                                       \
    for (j = 0; j < w.n; j++) {                                                                    \
        kiln_ew_n_##SA a = KILN_EW_LD(SA, A[ia]);                                                  \
        kiln_ew_n_##SB b = KILN_EW_LD(SB, B[ib]);                                                  \
        Y[i + j] = VAL;                                                                            \
    }
#define KILN_EW_DEF_BC2(fname, SA, SB, D, VAL)                                                     \
    KILN_KERNEL kiln_##fname(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)                       \
    {                                                                                              \
        const kiln_ew_t_##SA *A = (const kiln_ew_t_##SA *)in[0];                                   \
        const kiln_ew_t_##SB *B = (const kiln_ew_t_##SB *)in[1];                                   \
        kiln_ew_t_##D *Y = (kiln_ew_t_##D *)out[0];                                                \
        kiln_ew_rows w;                                                                            \
        int64_t i, j;                                                                              \
        (void)f;                                                                                   \
        kiln_ew_rows_init(&w, p, 0, 2);                                                            \
        for (i = 0; i < w.numel; i += w.n, kiln_bc_next(&w.it)) {                                  \
            const int64_t oa = w.it.off[0], ob = w.it.off[1];                                      \
            if (w.s[0] == 1 && w.s[1] == 1)                                                        \
                KILN_EW_BC2_ROW(SA, SB, VAL, oa + j, ob + j)                                       \
            else                                                                                   \
                KILN_EW_BC2_ROW(SA, SB, VAL, oa + j * w.s[0], ob + j * w.s[1])                     \
        }                                                                                          \
    }

/* N-ary ops fold their p[0] >= 1 inputs left to right into y, which starts
 * as input 0 broadcast; MEAN then divides by the count. */
#define KILN_EW_DEF_NARY(S, Op, name, expr, MEAN)                                                  \
    KILN_KERNEL kiln_##name##_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)                  \
    {                                                                                              \
        kiln_ew_t_##S *Y = (kiln_ew_t_##S *)out[0];                                                \
        int64_t i, j, cnt = p[0];                                                                  \
        int k = 0;                                                                                 \
        kiln_ew_rows w;                                                                            \
        (void)f;                                                                                   \
        do {                                                                                       \
            const kiln_ew_t_##S *B = (const kiln_ew_t_##S *)in[k];                                 \
            kiln_ew_rows_init(&w, p, k, 1);                                                        \
            for (i = 0; i < w.numel; i += w.n, kiln_bc_next(&w.it))                                \
                for (j = 0; j < w.n; j++) {                                                        \
                    kiln_ew_n_##S b = KILN_EW_LD(S, B[KILN_EW_AT(w, 0, j)]);                       \
                    kiln_ew_n_##S a = k ? KILN_EW_LD(S, Y[i + j]) : b;                             \
                    Y[i + j] = KILN_EW_ST(S, k ? (expr) : b);                                      \
                }                                                                                  \
        } while (++k < cnt);                                                                       \
        if (MEAN)                                                                                  \
            for (i = 0; i < w.numel; i++) Y[i] = KILN_EW_ST(S, KILN_EW_LD(S, Y[i]) / cnt);         \
    }

#define KILN_EW_DEF_UNARY(S, Op, name, expr) KILN_EW_DEF_MAP(name##_##S, S, S, KILN_EW_ST(S, expr))
#define KILN_EW_DEF_PRED(S, Op, name, expr) KILN_EW_DEF_MAP(name##_##S, S, b8, (uint8_t)((expr) != 0))
#define KILN_EW_DEF_BINARY(S, Op, name, expr) KILN_EW_DEF_BC2(name##_##S, S, S, S, KILN_EW_ST(S, expr))
#define KILN_EW_DEF_COMPARE(S, Op, name, expr) KILN_EW_DEF_BC2(name##_##S, S, S, b8, (uint8_t)((expr) != 0))

/* ---- op lists: X(S, Op, name, expression) --------------------------------------- */

/* Unary on floats: x is float (double for f64); f holds the attributes
 * noted beside a row, in that order. */
#define KILN_EW_UNARY_F(X, S)                                                                      \
    X(S, Abs, abs, fabs(x))                                                                        \
    X(S, Neg, neg, -x)                                                                             \
    X(S, Floor, floor, floor(x))                                                                   \
    X(S, Ceil, ceil, ceil(x))                                                                      \
    X(S, Round, round, kiln_ew_round(x))                                                           \
    X(S, Sqrt, sqrt, sqrt(x))                                                                      \
    X(S, Reciprocal, reciprocal, 1 / x)                                                            \
    X(S, Exp, exp, KILN_EW_FAST(S, kiln_ew_expf(x), exp(x)))                                       \
    X(S, Log, log, log(x))                                                                         \
    X(S, Sin, sin, sin(x))                                                                         \
    X(S, Cos, cos, cos(x))                                                                         \
    X(S, Tan, tan, tan(x))                                                                         \
    X(S, Asin, asin, asin(x))                                                                      \
    X(S, Acos, acos, acos(x))                                                                      \
    X(S, Atan, atan, atan(x))                                                                      \
    X(S, Sinh, sinh, sinh(x))                                                                      \
    X(S, Cosh, cosh, cosh(x))                                                                      \
    X(S, Asinh, asinh, asinh(x))                                                                   \
    X(S, Acosh, acosh, acosh(x))                                                                   \
    X(S, Atanh, atanh, atanh(x))                                                                   \
    X(S, Erf, erf, KILN_EW_FAST(S, kiln_ew_erff(x), erf(x)))                                       \
    X(S, Sign, sign, x > 0 ? 1 : x < 0 ? -1 : x) /* keeps NaN */                                   \
    X(S, Relu, relu, x < 0 ? 0 : x)                                                                \
    X(S, Tanh, tanh, KILN_EW_FAST(S, kiln_ew_tanhf(x), tanh(x)))                                   \
    X(S, Sigmoid, sigmoid, KILN_EW_FAST(S, kiln_ew_sigmoidf(x), kiln_ew_sigmoid(x)))               \
    X(S, Softplus, softplus, kiln_ew_softplus(x))                                                  \
    X(S, Softsign, softsign, x / (1 + fabs(x)))                                                    \
    X(S, Mish, mish, x * tanh(kiln_ew_softplus(x)))                                                \
    X(S, HardSwish, hardswish, x * kiln_ew_clamp(x / 6.0 + 0.5, 0, 1))                             \
    X(S, LeakyRelu, leakyrelu, x < 0 ? f[0] * x : x)                       /* alpha */             \
    X(S, Elu, elu, x < 0 ? f[0] * expm1(x) : x)                            /* alpha */             \
    X(S, Celu, celu, x > 0 ? x : f[0] * expm1(x / f[0]))                   /* alpha */             \
    X(S, ThresholdedRelu, thresholdedrelu, x > f[0] ? x : 0)               /* alpha */             \
    X(S, Selu, selu, x > 0 ? f[1] * x : f[1] * f[0] * expm1(x))            /* alpha, gamma */      \
    X(S, HardSigmoid, hardsigmoid, kiln_ew_clamp(f[0] * x + f[1], 0, 1))   /* alpha, beta */       \
    X(S, Shrink, shrink, x < -f[1] ? x + f[0] : x > f[1] ? x - f[0] : 0)   /* bias, lambd */       \
    X(S, Gelu, gelu, /* tanh approximation if f[0] */                                              \
      f[0] != 0 ? 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))            \
                : KILN_EW_FAST(S, kiln_ew_geluf(x), 0.5 * x * (1 + erf(x * 0.7071067811865476))))

/* Float to bool: IsInf's f = detect_negative, detect_positive. */
#define KILN_EW_PRED_F(X, S)                                                                       \
    X(S, IsNaN, isnan, x != x)                                                                     \
    X(S, IsInf, isinf, (x == INFINITY && f[1] != 0) || (x == -INFINITY && f[0] != 0))

/* Unary on integers: results in uint64_t wrap when stored. */
#define KILN_EW_UNARY_S(X, S)                                                                      \
    X(S, Abs, abs, x < 0 ? 0 - (uint64_t)x : (uint64_t)x)                                          \
    X(S, Neg, neg, 0 - (uint64_t)x)                                                                \
    X(S, Sign, sign, x > 0 ? 1 : x < 0 ? -1 : 0)                                                   \
    X(S, Relu, relu, x > 0 ? x : 0)
#define KILN_EW_UNARY_U(X, S)                                                                      \
    X(S, Abs, abs, x)                                                                              \
    X(S, Sign, sign, x > 0)
#define KILN_EW_UNARY_B(X, S) X(S, Not, not, !x)

/* Binary, same type in and out; Mod's f[0] is fmod (floats require 1). */
#define KILN_EW_BINARY_F(X, S)                                                                     \
    X(S, Add, add, a + b)                                                                          \
    X(S, Sub, sub, a - b)                                                                          \
    X(S, Mul, mul, a * b)                                                                          \
    X(S, Div, div, a / b)                                                                          \
    X(S, Mod, mod, fmod(a, b))                                                                     \
    X(S, PRelu, prelu, a < 0 ? a * b : a)
#define KILN_EW_BINARY_S(X, S)                                                                     \
    X(S, Add, add, (uint64_t)a + (uint64_t)b)                                                      \
    X(S, Sub, sub, (uint64_t)a - (uint64_t)b)                                                      \
    X(S, Mul, mul, (uint64_t)a * (uint64_t)b)                                                      \
    X(S, Div, div, b == 0 ? 0 : b == -1 ? 0 - (uint64_t)a : (uint64_t)(a / b))                     \
    X(S, Mod, mod, kiln_ew_imod(a, b, f[0] != 0))                                                  \
    X(S, PRelu, prelu, a < 0 ? (uint64_t)a * (uint64_t)b : (uint64_t)a)
#define KILN_EW_BINARY_U(X, S)                                                                     \
    X(S, Add, add, (uint64_t)a + b)                                                                \
    X(S, Sub, sub, (uint64_t)a - b)                                                                \
    X(S, Mul, mul, (uint64_t)a * b)                                                                \
    X(S, Div, div, b ? a / b : 0)                                                                  \
    X(S, Mod, mod, b ? a % b : 0)                                                                  \
    X(S, BitShift, shl, (uint64_t)b < 8 * sizeof(kiln_ew_t_##S) ? (uint64_t)a << b : 0)           \
    X(S, BitShift, shr, (uint64_t)b < 8 * sizeof(kiln_ew_t_##S) ? a >> b : 0)
#define KILN_EW_LOGICAL(X, S)                                                                      \
    X(S, And, and, a && b)                                                                         \
    X(S, Or, or, a || b)                                                                           \
    X(S, Xor, xor, a != b)

/* Comparisons, to bool. */
#define KILN_EW_COMPARE(X, S)                                                                      \
    X(S, Equal, equal, a == b)                                                                     \
    X(S, Greater, greater, a > b)                                                                  \
    X(S, Less, less, a < b)                                                                        \
    X(S, GreaterOrEqual, greater_equal, a >= b)                                                    \
    X(S, LessOrEqual, less_equal, a <= b)

/* N-ary folds X(S, Op, name, expr of a and b, mean); Max and Min keep NaN. */
#define KILN_EW_NARY_F(X, S)                                                                       \
    X(S, Max, max, (a > b || a != a) ? a : b, 0)                                                   \
    X(S, Min, min, (a < b || a != a) ? a : b, 0)                                                   \
    X(S, Sum, sum, a + b, 0)                                                                       \
    X(S, Mean, mean, a + b, 1)
#define KILN_EW_NARY_I(X, S)                                                                       \
    X(S, Max, max, a > b ? a : b, 0)                                                               \
    X(S, Min, min, a < b ? a : b, 0)

/* Clip, p = [numel, nin]: x clamped to [in[1], in[2]]; an omitted bound is f[0] / f[1] for floats
 * (the opset < 11 attributes, else -inf / inf) and the type's range for ints. */
#define KILN_EW_CLIP_BOUND(S, k, attr, range)                                                     \
    (p[1] > k && in[k] ? KILN_EW_LD(S, *(const kiln_ew_t_##S *)in[k])                              \
           : KILN_EW_ISF_##S ? (kiln_ew_n_##S)(attr) : (kiln_ew_n_##S)(range))
#define KILN_EW_DEF_CLIP(S, Op, name, expr)                                                        \
    KILN_KERNEL kiln_clip_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)                      \
    {                                                                                              \
        const kiln_ew_t_##S *X = (const kiln_ew_t_##S *)in[0];                                     \
        kiln_ew_t_##S *Y = (kiln_ew_t_##S *)out[0];                                                \
        kiln_ew_n_##S lo = KILN_EW_CLIP_BOUND(S, 1, f[0], KILN_EW_MIN_##S);                        \
        kiln_ew_n_##S hi = KILN_EW_CLIP_BOUND(S, 2, f[1], KILN_EW_MAX_##S);                        \
        int64_t i, n = p[0];                                                                       \
        for (i = 0; i < n; i++) {                                                                  \
            kiln_ew_n_##S x = KILN_EW_LD(S, X[i]);                                                 \
            x = x < lo ? lo : x;                                                                   \
            Y[i] = KILN_EW_ST(S, x > hi ? hi : x);                                                 \
        }                                                                                          \
    }
#define KILN_EW_CLIP(X, S) X(S, Clip, clip, x)

/* Cast S -> D for every pair: kiln_cast_<S>_<D>. */
#define KILN_EW_DEF_CAST(S, D)                                                                     \
    KILN_EW_DEF_MAP(cast_##S##_##D, S, D, KILN_EW_ISF_##S ? KILN_EW_STF_##D(x) : KILN_EW_ST_##D(x))
#define KILN_EW_CAST_TO(X, S)                                                                      \
    X(S, f32) X(S, f64) X(S, f16) X(S, bf16) X(S, i8) X(S, i16) X(S, i32) X(S, i64)                \
    X(S, u8) X(S, u16) X(S, u32) X(S, u64) X(S, b8)

/* Pow with base type S and exponent type E: kiln_pow_<S>_<E>; exact in
 * integers when both are integers. */
#define KILN_EW_DEF_POW(S, E)                                                                      \
    KILN_EW_DEF_BC2(pow_##S##_##E, S, E, S,                                                        \
                    KILN_EW_ISF_##S || KILN_EW_ISF_##E                                             \
                        ? KILN_EW_STF_##S(pow((double)a, (double)b))                               \
                        : KILN_EW_ST_##S(kiln_ew_ipow((int64_t)a, (int64_t)b)))
#define KILN_EW_POW_BASES(L, X) L(X, f32) L(X, f64) L(X, f16) L(X, bf16) L(X, i32) L(X, i64)
#define KILN_EW_POW_EXPS(X, S)                                                                     \
    X(S, f32) X(S, f64) X(S, f16) X(S, bf16) X(S, i8) X(S, i16) X(S, i32) X(S, i64)                \
    X(S, u8) X(S, u16) X(S, u32) X(S, u64)

/* ---- instantiation ------------------------------------------------------------- */

KILN_EW_FLOATS(KILN_EW_UNARY_F, KILN_EW_DEF_UNARY)
KILN_EW_FLOATS(KILN_EW_PRED_F, KILN_EW_DEF_PRED)
KILN_EW_SINTS(KILN_EW_UNARY_S, KILN_EW_DEF_UNARY)
KILN_EW_UINTS(KILN_EW_UNARY_U, KILN_EW_DEF_UNARY)
KILN_EW_UNARY_B(KILN_EW_DEF_UNARY, b8)
KILN_EW_NUMERIC(KILN_EW_CLIP, KILN_EW_DEF_CLIP)
KILN_EW_ALL(KILN_EW_CAST_TO, KILN_EW_DEF_CAST)
KILN_EW_FLOATS(KILN_EW_BINARY_F, KILN_EW_DEF_BINARY)
KILN_EW_SINTS(KILN_EW_BINARY_S, KILN_EW_DEF_BINARY)
KILN_EW_UINTS(KILN_EW_BINARY_U, KILN_EW_DEF_BINARY)
KILN_EW_LOGICAL(KILN_EW_DEF_BINARY, b8)
KILN_EW_ALL(KILN_EW_COMPARE, KILN_EW_DEF_COMPARE)
KILN_EW_POW_BASES(KILN_EW_POW_EXPS, KILN_EW_DEF_POW)
KILN_EW_FLOATS(KILN_EW_NARY_F, KILN_EW_DEF_NARY)
KILN_EW_SINTS(KILN_EW_NARY_I, KILN_EW_DEF_NARY)
KILN_EW_UINTS(KILN_EW_NARY_I, KILN_EW_DEF_NARY)

/* Where(cond, x, y) moves bytes, so one kernel per element size (bits). */
#define KILN_EW_DEF_WHERE(N)                                                                       \
    KILN_KERNEL kiln_where_##N(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)                     \
    {                                                                                              \
        const uint8_t *C = (const uint8_t *)in[0];                                                 \
        const uint##N##_t *A = (const uint##N##_t *)in[1], *B = (const uint##N##_t *)in[2];        \
        uint##N##_t *Y = (uint##N##_t *)out[0];                                                    \
        kiln_ew_rows w;                                                                            \
        int64_t i, j;                                                                              \
        (void)f;                                                                                   \
        kiln_ew_rows_init(&w, p, 0, 3);                                                            \
        for (i = 0; i < w.numel; i += w.n, kiln_bc_next(&w.it))                                    \
            for (j = 0; j < w.n; j++)                                                              \
                Y[i + j] = C[KILN_EW_AT(w, 0, j)] ? A[KILN_EW_AT(w, 1, j)] : B[KILN_EW_AT(w, 2, j)]; \
    }
KILN_EW_DEF_WHERE(8)
KILN_EW_DEF_WHERE(16)
KILN_EW_DEF_WHERE(32)
KILN_EW_DEF_WHERE(64)

/* Identity, and Dropout at inference: a copy, and a mask of all true. */
KILN_KERNEL kiln_identity(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    (void)f;
    if (p[0] > 0 && out[0] != in[0]) memcpy(out[0], in[0], (size_t)p[0]);
    if (p[1] > 0) memset(out[1], 1, (size_t)p[1]);
}

#endif
