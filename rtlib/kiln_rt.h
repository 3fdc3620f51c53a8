/*
 * kiln_rt.h — the runtime interface every kiln-generated module links against.
 *
 * A generated module NAME (NAME.c + NAME.h) exposes:
 *
 *     const kiln_model_desc *NAME_desc(void);
 *     kiln_status NAME_run(const void *const inputs[], void *const outputs[],
 *                          void *workspace);
 *
 * Memory model: the module owns no memory. Weights are const arrays inside the
 * module; every intermediate tensor lives in one caller-provided workspace of
 * NAME_WORKSPACE_SIZE bytes (aligned to KILN_ALIGNMENT); inputs and outputs
 * are caller buffers, dense, row-major, in the dtypes the descriptor lists.
 * NAME_run never allocates, never prints and keeps no state, so two threads
 * may run one module at once with two workspaces.
 *
 *     static unsigned char ws[mnist_WORKSPACE_SIZE] KILN_ALIGNED;
 *     const void *in[1] = { image };
 *     void *out[1] = { scores };
 *     kiln_status s = mnist_run(in, out, ws);
 *     if (s != KILN_STATUS_OK) fail(kiln_status_string(s));
 */
#ifndef KILN_RT_H
#define KILN_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" { /* CUDA modules and their harness are C++ */
#endif

#define KILN_VERSION_MAJOR 0
#define KILN_VERSION_MINOR 1
#define KILN_VERSION_PATCH 0
#define KILN_VERSION_STRING "0.1.0"

/* A module refers to this symbol, so linking it against a runtime of another
 * version fails at link time instead of misbehaving at run time. */
#define KILN_RT_VERSION_SYMBOL kiln_rt_version_0_1_0
extern const int KILN_RT_VERSION_SYMBOL;

#define KILN_ALIGNMENT 64
#if defined(__GNUC__) || defined(__clang__)
#define KILN_ALIGNED __attribute__((aligned(KILN_ALIGNMENT)))
#else
#define KILN_ALIGNED
#endif

typedef enum {
    KILN_STATUS_OK = 0,
    KILN_STATUS_INVALID_ARGUMENT,  /* a null pointer or a misaligned buffer */
    KILN_STATUS_SHAPE_MISMATCH,    /* an input differs from what the module was compiled for */
    KILN_STATUS_UNSUPPORTED,       /* the module cannot run here (CPU features, device) */
    KILN_STATUS_OUT_OF_MEMORY,     /* an allocation by the runtime failed */
    KILN_STATUS_DEVICE_ERROR,      /* the accelerator or its libraries reported an error */
    KILN_STATUS_VERSION_MISMATCH,  /* module and runtime or device do not match */
    KILN_STATUS_INTERNAL,          /* a bug in kiln: please report it */
    KILN_STATUS_NONFINITE,         /* an output holds NaN or Inf (modules compiled with --checked) */
    KILN_STATUS_COUNT_
} kiln_status;

const char *kiln_status_string(kiln_status s);

/* Element types; the numbers are ONNX's TensorProto.DataType values. */
typedef enum {
    KILN_DTYPE_UNDEFINED = 0,
    KILN_DTYPE_F32 = 1,
    KILN_DTYPE_U8 = 2,
    KILN_DTYPE_I8 = 3,
    KILN_DTYPE_U16 = 4,
    KILN_DTYPE_I16 = 5,
    KILN_DTYPE_I32 = 6,
    KILN_DTYPE_I64 = 7,
    KILN_DTYPE_STRING = 8,  /* recognised, never supported */
    KILN_DTYPE_BOOL = 9,    /* one byte, 0 or 1 */
    KILN_DTYPE_F16 = 10,    /* IEEE binary16, stored as uint16_t */
    KILN_DTYPE_F64 = 11,
    KILN_DTYPE_U32 = 12,
    KILN_DTYPE_U64 = 13,
    KILN_DTYPE_BF16 = 16,   /* bfloat16, stored as uint16_t */
    KILN_DTYPE_COUNT_ = 17
} kiln_dtype;

const char *kiln_dtype_name(kiln_dtype t);  /* "f32", "i64", ... */
size_t kiln_dtype_size(kiln_dtype t);       /* bytes per element, 0 if unknown */

typedef struct {
    const char *name;
    kiln_dtype dtype;
    int rank;
    const int64_t *dims;
} kiln_tensor_desc;

typedef struct {
    const char *name;              /* the --name the module was compiled with */
    const char *compiler_version;  /* kiln version that wrote the module */
    int num_inputs;
    const kiln_tensor_desc *inputs;
    int num_outputs;
    const kiln_tensor_desc *outputs;
    size_t workspace_size;         /* bytes */
} kiln_model_desc;

/* Elements and bytes of a described tensor. */
size_t kiln_tensor_numel(const kiln_tensor_desc *t);
size_t kiln_tensor_bytes(const kiln_tensor_desc *t);
/* The index of the first NaN or Inf in a floating-point tensor's data, or
 * (size_t)-1 if there is none (always, for integer and bool tensors). */
size_t kiln_tensor_find_nonfinite(const kiln_tensor_desc *t, const void *data);

/* Modules compiled with --threads N call this (rtlib/kiln_threads.c, which
 * needs -pthread); others never refer to it, so they link no thread code.
 * Runs fn(ctx, i) for i in [0, n) on a pool of worker threads created at the
 * first call and kept; the caller works too, and returns when all are done.
 * Concurrent callers do not wait for each other: one that finds the pool
 * busy runs its tasks itself. */
void kiln_rt_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx);

#ifdef __cplusplus
}
#endif

#endif
