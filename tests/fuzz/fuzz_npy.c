/* fuzz_npy.c — libFuzzer harness for the .npy reader kiln run uses. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset_limits();
    Diag d = {0};
    NpyArray a;
    if (npy_decode(data, size, "fuzz.npy", &a, &d) == ST_OK) {
        /* what kiln run relies on: the data holds exactly what the header says */
        int64_t numel = shape_numel(&a.shape);
        if (numel < 0 || a.bytes != (size_t)numel * dtype_size(a.dtype)) abort();
        free(a.data);
    }
    fuzz_check(&d);
    return 0;
}
