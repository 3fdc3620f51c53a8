/* fuzz_common.h — what every fuzz harness does with a graph a frontend
 * accepted: the -O2 pipeline and the lowering of every node, as kiln compile
 * would, minus writing files. An internal error (exit code 3 in kiln) counts
 * as a crash: bad input must get ST_INPUT with a message, never ST_INTERNAL. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "kiln.h"

/* Fuzz inputs may ask for huge tensors: keep each run small and fast. */
enum { FUZZ_MAX_MEMORY = 64 << 20 };

static inline void fuzz_reset_limits(void)
{
    kiln_limits = (Limits){.max_memory = FUZZ_MAX_MEMORY};
}

static inline void fuzz_check(const Diag *d)
{
    if (d->status == ST_INTERNAL || (d->status && !d->msg[0])) {
        fprintf(stderr, "fuzz: %s: %s\n", d->status == ST_INTERNAL ? "internal error" : "error without a message",
                d->msg);
        abort();
    }
}

static inline void fuzz_compile(Graph *g, Diag *d)
{
    CompileOptions o = {.name = "model", .target = "c", .level = 2};
    if (specialise_inputs(g, &o, d) || run_pipeline(g, &o, d) || require_codegen_passes(g, d)) return;
    for (int i = 0; i < g->nnodes && !d->status; i++) {
        if (g->nodes[i]->dead) continue;
        KernelCall kc = {0};
        lower_node(g->nodes[i], &kc, d);
        kc_free(&kc);
    }
}

#endif
