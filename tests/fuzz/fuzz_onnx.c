/* fuzz_onnx.c — libFuzzer harness for the ONNX frontend: model bytes in,
 * a graph compiled through the pipeline or a diagnostic out. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset_limits();
    Diag d = {0};
    Graph *g = NULL;
    if (onnx_load_buffer(data, size, NULL, &g, &d) == ST_OK) fuzz_compile(g, &d);
    graph_free(g);
    fuzz_check(&d);
    return 0;
}
