/* test_float_math.c — the float math of kernels/c/elementwise.h (exp, erf,
 * tanh, sigmoid, GELU) against libm in double, over every 251st float (17
 * million of them, every exponent and sign) and the special values: within
 * 3 ulp of the double result rounded to float (GELU 8), as the header
 * promises; where the result is NaN (a NaN input, GELU of -inf), NaN. Each
 * function runs over a batch in a loop, as the kernels call it, so that a
 * build that vectorises (-O3, -march=native) checks the vector code. */
#include <math.h>
#include <string.h>

#include "../../kernels/c/elementwise.h"
#include "test.h"

enum { BATCH = 4096, STRIDE = 251 };

static float xs[BATCH], ys[BATCH];

#define BATCH_OF(f)                                                \
    static void batch_##f(int n)                                   \
    {                                                              \
        for (int i = 0; i < n; i++) ys[i] = kiln_ew_##f(xs[i]);    \
    }
BATCH_OF(expf)
BATCH_OF(erff)
BATCH_OF(tanhf)
BATCH_OF(sigmoidf)
BATCH_OF(geluf)

static double ref_exp(double x) { return exp(x); }
static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_gelu(double x) { return 0.5 * x * erfc(-x * 0.70710678118654752440); }

/* Distance of y from the exact e in ulps of e rounded to float (subnormals:
 * the smallest ulp); an infinite e must be met exactly. */
static double ulps(float y, double e)
{
    float ef = (float)e;
    if (isinf(ef)) return y == ef ? 0 : 1e9;
    if (isnan(y)) return 1e9;
    return fabs((double)y - e) / (fabsf(ef) < 0x1p-126f ? 0x1p-149 : ldexp(1.0, ilogb(ef) - 23));
}

static void check(const char *name, void (*batch)(int), double (*ref)(double), double bound)
{
    static const float special[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 0x1p-126f, 1.0f, -1.0f, 88.7f, 89.0f,
                                    -104.5f, 1e30f, -1e30f, INFINITY, -INFINITY};
    int nspecial = (int)(sizeof special / sizeof *special), nan_ok = 1;
    double worst = 0, at = 0;
    uint64_t u = 0;
    while (u < 0x100000000ull || nspecial > 0) {
        int n = 0;
        for (; n < BATCH && u < 0x100000000ull; n++, u += STRIDE) {
            uint32_t b = (uint32_t)u;
            memcpy(&xs[n], &b, 4);
        }
        if (u >= 0x100000000ull)
            for (; n < BATCH && nspecial > 0; n++) xs[n] = special[--nspecial];
        batch(n);
        for (int i = 0; i < n; i++) {
            double e = ref((double)xs[i]), err;
            if (isnan(e)) {
                nan_ok &= isnan(ys[i]) != 0;
                continue;
            }
            err = ulps(ys[i], e);
            if (err > worst) worst = err, at = xs[i];
        }
    }
    printf("  %s: worst %.2f ulp at %.9g\n", name, worst, at);
    ASSERT(worst <= bound);
    ASSERT(nan_ok);
}

static void test_float_math(void)
{
    check("expf", batch_expf, ref_exp, 3);
    check("erff", batch_erff, erf, 3);
    check("tanhf", batch_tanhf, tanh, 3);
    check("sigmoidf", batch_sigmoidf, ref_sigmoid, 3);
    check("geluf", batch_geluf, ref_gelu, 8);
}

TEST_MAIN(test_float_math)
