/*
 * common.h — what every kiln C kernel shares. Kernels are plain C99 reference
 * implementations; codegen copies the headers a module needs into it, and the
 * compiler links the same code to fold constants.
 *
 * Every kernel has one signature (see KernelCall in ir/kiln.h):
 *
 *     static void kiln_NAME(const int64_t *p, const double *f,
 *                           const void *const *in, void *const *out);
 *
 * p: integer parameters (shapes, strides, attributes), f: float parameters,
 * in/out: the node's tensors in node order, NULL where omitted.
 * Half types are stored as uint16_t and computed in float.
 */
#ifndef KILN_KERNELS_COMMON_H
#define KILN_KERNELS_COMMON_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define KILN_KMAX_RANK 8

/* Under nvcc the same kernels also compile as device code: the CUDA target
 * runs them as its reference fallback for ops without a fast kernel. */
#ifdef __CUDACC__
#define KILN_DEVICE __host__ __device__
#else
#define KILN_DEVICE
#endif

/* Device code has memcpy and memset but no memmove. */
#ifdef __CUDA_ARCH__
static __device__ void *kiln_device_memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    size_t i;
    if (d < s)
        for (i = 0; i < n; i++) d[i] = s[i];
    else
        for (i = n; i > 0; i--) d[i - 1] = s[i - 1];
    return dst;
}
#define memmove kiln_device_memmove
#endif

/* Helpers a module does not use must not warn under -Wall -Werror. */
#if defined(__GNUC__) || defined(__clang__)
#define KILN_UNUSED __attribute__((unused)) KILN_DEVICE
#else
#define KILN_UNUSED KILN_DEVICE
#endif
#define KILN_KERNEL static KILN_UNUSED void

typedef const int64_t *kiln_ip;
typedef const double *kiln_fp;
typedef const void *const *kiln_in;
typedef void *const *kiln_out;

static KILN_UNUSED float kiln_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    float f;
    if (exp == 0x1fu) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exp = 113;
            while (!(man & 0x400u)) { man <<= 1; exp--; }
            bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
        }
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    memcpy(&f, &bits, 4);
    return f;
}

/* Round to nearest even, as IEEE conversions do. */
static KILN_UNUSED uint16_t kiln_f32_to_f16(float f)
{
    uint32_t x, sign, man;
    int32_t exp;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000u;
    exp = (int32_t)((x >> 23) & 0xffu);
    man = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    exp = exp - 127 + 15;
    if (exp >= 0x1f) return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) {
        uint32_t shift, half, rest, r;
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000u;
        shift = (uint32_t)(14 - exp);
        half = 1u << (shift - 1);
        rest = man & ((1u << shift) - 1);
        r = man >> shift;
        if (rest > half || (rest == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    {
        uint32_t r = ((uint32_t)exp << 10) | (man >> 13), rest = man & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
}

static KILN_UNUSED float kiln_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static KILN_UNUSED uint16_t kiln_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/*
 * Broadcast iteration: walk an output of rank r and dims d, keeping the
 * element offset of each input whose per-axis strides (0 where broadcast)
 * are given. kiln_bc_next advances one element, carrying across axes.
 */
typedef struct {
    int rank, nin;
    const int64_t *dims;
    const int64_t *strides[4]; /* strides[k][axis] of input k */
    int64_t idx[KILN_KMAX_RANK];
    int64_t off[4];
} kiln_bc;

static KILN_UNUSED void kiln_bc_init(kiln_bc *it, int rank, const int64_t *dims, int nin,
                                                 const int64_t *const *strides)
{
    int k;
    it->rank = rank;
    it->nin = nin;
    it->dims = dims;
    for (k = 0; k < nin; k++) { it->strides[k] = strides[k]; it->off[k] = 0; }
    for (k = 0; k < rank; k++) it->idx[k] = 0;
}

static KILN_UNUSED void kiln_bc_next(kiln_bc *it)
{
    int a, k;
    for (a = it->rank - 1; a >= 0; a--) {
        it->idx[a]++;
        for (k = 0; k < it->nin; k++) it->off[k] += it->strides[k][a];
        if (it->idx[a] < it->dims[a]) return;
        for (k = 0; k < it->nin; k++) it->off[k] -= it->strides[k][a] * it->dims[a];
        it->idx[a] = 0;
    }
}

#endif
