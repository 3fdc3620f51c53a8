/* kiln_rt.c — the portable part of libkiln_rt: names, sizes, version. */
#include <string.h>

#include "kiln_rt.h"

const int KILN_RT_VERSION_SYMBOL = KILN_VERSION_MAJOR * 10000 + KILN_VERSION_MINOR * 100 + KILN_VERSION_PATCH;

static const char *const status_names[KILN_STATUS_COUNT_] = {
    [KILN_STATUS_OK] = "ok",
    [KILN_STATUS_INVALID_ARGUMENT] = "invalid argument (null pointer or misaligned buffer)",
    [KILN_STATUS_SHAPE_MISMATCH] = "input differs from what the module was compiled for",
    [KILN_STATUS_UNSUPPORTED] = "unsupported on this machine",
    [KILN_STATUS_OUT_OF_MEMORY] = "out of memory",
    [KILN_STATUS_DEVICE_ERROR] = "device error",
    [KILN_STATUS_VERSION_MISMATCH] = "version mismatch between module, runtime or device",
    [KILN_STATUS_INTERNAL] = "internal error in kiln",
    [KILN_STATUS_NONFINITE] = "an output holds NaN or Inf (checked by a module compiled with --checked)",
};

const char *kiln_status_string(kiln_status s)
{
    if ((unsigned)s >= KILN_STATUS_COUNT_ || !status_names[s]) return "unknown status";
    return status_names[s];
}

static const struct { const char *name; unsigned char size; } dtypes[KILN_DTYPE_COUNT_] = {
    [KILN_DTYPE_F32] = {"f32", 4},  [KILN_DTYPE_U8] = {"u8", 1},    [KILN_DTYPE_I8] = {"i8", 1},
    [KILN_DTYPE_U16] = {"u16", 2},  [KILN_DTYPE_I16] = {"i16", 2},  [KILN_DTYPE_I32] = {"i32", 4},
    [KILN_DTYPE_I64] = {"i64", 8},  [KILN_DTYPE_STRING] = {"string", 0},
    [KILN_DTYPE_BOOL] = {"bool", 1}, [KILN_DTYPE_F16] = {"f16", 2}, [KILN_DTYPE_F64] = {"f64", 8},
    [KILN_DTYPE_U32] = {"u32", 4},  [KILN_DTYPE_U64] = {"u64", 8},  [KILN_DTYPE_BF16] = {"bf16", 2},
};

const char *kiln_dtype_name(kiln_dtype t)
{
    if ((unsigned)t >= KILN_DTYPE_COUNT_ || !dtypes[t].name) return "undefined";
    return dtypes[t].name;
}

size_t kiln_dtype_size(kiln_dtype t)
{
    if ((unsigned)t >= KILN_DTYPE_COUNT_) return 0;
    return dtypes[t].size;
}

size_t kiln_tensor_numel(const kiln_tensor_desc *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
    return n;
}

size_t kiln_tensor_bytes(const kiln_tensor_desc *t)
{
    return kiln_tensor_numel(t) * kiln_dtype_size(t->dtype);
}

/* By the bits, so that no compiler flag (-ffast-math) can fold the test away:
 * NaN and Inf are the values whose exponent bits are all ones. */
size_t kiln_tensor_find_nonfinite(const kiln_tensor_desc *t, const void *data)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i, n = kiln_tensor_numel(t);
    for (i = 0; i < n; i++) {
        uint16_t h;
        uint32_t u;
        uint64_t w;
        switch (t->dtype) {
        case KILN_DTYPE_F16: memcpy(&h, p + 2 * i, 2); if ((h & 0x7c00u) == 0x7c00u) return i; break;
        case KILN_DTYPE_BF16: memcpy(&h, p + 2 * i, 2); if ((h & 0x7f80u) == 0x7f80u) return i; break;
        case KILN_DTYPE_F32: memcpy(&u, p + 4 * i, 4); if ((u & 0x7f800000u) == 0x7f800000u) return i; break;
        case KILN_DTYPE_F64:
            memcpy(&w, p + 8 * i, 8);
            if ((w & 0x7ff0000000000000u) == 0x7ff0000000000000u) return i;
            break;
        default: return (size_t)-1;
        }
    }
    return (size_t)-1;
}
