/* dtype.c — element types: names, C types, loading and storing elements. */
#include <string.h>

#include "kiln.h"
#include "../kernels/c/common.h"

const char *dtype_name(DType t) { return kiln_dtype_name(t); }
size_t dtype_size(DType t) { return kiln_dtype_size(t); }

const char *dtype_ctype(DType t)
{
    switch (t) {
    case KILN_DTYPE_F32: return "float";
    case KILN_DTYPE_F64: return "double";
    case KILN_DTYPE_F16: case KILN_DTYPE_BF16: case KILN_DTYPE_U16: return "uint16_t";
    case KILN_DTYPE_I8: return "int8_t";
    case KILN_DTYPE_I16: return "int16_t";
    case KILN_DTYPE_I32: return "int32_t";
    case KILN_DTYPE_I64: return "int64_t";
    case KILN_DTYPE_U8: case KILN_DTYPE_BOOL: return "uint8_t";
    case KILN_DTYPE_U32: return "uint32_t";
    case KILN_DTYPE_U64: return "uint64_t";
    default: return NULL;
    }
}

DType dtype_from_name(const char *s)
{
    for (int t = 1; t < KILN_DTYPE_COUNT_; t++)
        if (dtype_size(t) && strcmp(s, dtype_name(t)) == 0) return t;
    return KILN_DTYPE_UNDEFINED;
}

bool dtype_is_float(DType t)
{
    return t == KILN_DTYPE_F32 || t == KILN_DTYPE_F64 || t == KILN_DTYPE_F16 || t == KILN_DTYPE_BF16;
}

bool dtype_is_signed(DType t)
{
    return t == KILN_DTYPE_I8 || t == KILN_DTYPE_I16 || t == KILN_DTYPE_I32 || t == KILN_DTYPE_I64;
}

bool dtype_is_int(DType t)
{
    return dtype_is_signed(t) || t == KILN_DTYPE_U8 || t == KILN_DTYPE_U16 || t == KILN_DTYPE_U32 ||
           t == KILN_DTYPE_U64;
}

uint16_t f32_to_f16(float f) { return kiln_f32_to_f16(f); }
float f16_to_f32(uint16_t h) { return kiln_f16_to_f32(h); }
uint16_t f32_to_bf16(float f) { return kiln_f32_to_bf16(f); }
float bf16_to_f32(uint16_t h) { return kiln_bf16_to_f32(h); }

double dtype_load_f64(DType t, const void *p, size_t i)
{
    switch (t) {
    case KILN_DTYPE_F32: return ((const float *)p)[i];
    case KILN_DTYPE_F64: return ((const double *)p)[i];
    case KILN_DTYPE_F16: return f16_to_f32(((const uint16_t *)p)[i]);
    case KILN_DTYPE_BF16: return bf16_to_f32(((const uint16_t *)p)[i]);
    case KILN_DTYPE_U64: return (double)((const uint64_t *)p)[i];
    default: return (double)dtype_load_i64(t, p, i);
    }
}

int64_t dtype_load_i64(DType t, const void *p, size_t i)
{
    switch (t) {
    case KILN_DTYPE_I8: return ((const int8_t *)p)[i];
    case KILN_DTYPE_I16: return ((const int16_t *)p)[i];
    case KILN_DTYPE_I32: return ((const int32_t *)p)[i];
    case KILN_DTYPE_I64: return ((const int64_t *)p)[i];
    case KILN_DTYPE_U8: case KILN_DTYPE_BOOL: return ((const uint8_t *)p)[i];
    case KILN_DTYPE_U16: return ((const uint16_t *)p)[i];
    case KILN_DTYPE_U32: return ((const uint32_t *)p)[i];
    case KILN_DTYPE_U64: return (int64_t)((const uint64_t *)p)[i];
    default: return (int64_t)dtype_load_f64(t, p, i);
    }
}

/* v clamped to [lo, hi] and NaN to 0: converting an out-of-range double to
 * an integer type is undefined behaviour in C. */
static double clamp(double v, double lo, double hi)
{
    return v != v ? 0 : v < lo ? lo : v > hi ? hi : v;
}

void dtype_store_f64(DType t, void *p, size_t i, double v)
{
    if (dtype_is_int(t))
        v = dtype_is_signed(t) ? clamp(v, -9223372036854775808.0, 9223372036854774784.0)
                               : clamp(v, 0, 18446744073709549568.0);
    switch (t) {
    case KILN_DTYPE_F32: ((float *)p)[i] = (float)v; break;
    case KILN_DTYPE_F64: ((double *)p)[i] = v; break;
    case KILN_DTYPE_F16: ((uint16_t *)p)[i] = f32_to_f16((float)v); break;
    case KILN_DTYPE_BF16: ((uint16_t *)p)[i] = f32_to_bf16((float)v); break;
    case KILN_DTYPE_I8: ((int8_t *)p)[i] = (int8_t)(int64_t)v; break;  /* wraps, like a C cast of the integer */
    case KILN_DTYPE_I16: ((int16_t *)p)[i] = (int16_t)(int64_t)v; break;
    case KILN_DTYPE_I32: ((int32_t *)p)[i] = (int32_t)(int64_t)v; break;
    case KILN_DTYPE_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case KILN_DTYPE_U8: ((uint8_t *)p)[i] = (uint8_t)(uint64_t)v; break;
    case KILN_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case KILN_DTYPE_U16: ((uint16_t *)p)[i] = (uint16_t)(uint64_t)v; break;
    case KILN_DTYPE_U32: ((uint32_t *)p)[i] = (uint32_t)(uint64_t)v; break;
    case KILN_DTYPE_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    default: break;
    }
}
