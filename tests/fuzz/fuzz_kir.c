/* fuzz_kir.c — libFuzzer harness for the kiln text frontend: text in, a
 * graph compiled through the pipeline or a diagnostic out. kir_load reads a
 * path, so each input goes through a file in a fresh private folder (which
 * is also where file(...) weights are looked up: it holds nothing else),
 * removed again after the input ran. */
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* tmpfs where there is one: rewriting files on ext4 waits for the disk */
    char dir[64], path[80];
    snprintf(dir, sizeof dir, "%s/kiln-fuzz-kir-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/input.kir", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    fuzz_reset_limits();
    Diag d = {0};
    Graph *g = NULL;
    if (load_model(path, &g, &d) == ST_OK) fuzz_compile(g, &d);
    graph_free(g);
    unlink(path);
    rmdir(dir);
    fuzz_check(&d);
    return 0;
}
