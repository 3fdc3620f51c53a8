/* plan_memory.c — pack every intermediate tensor into one workspace.
 * Each tensor lives from the node that writes it to the last node that reads
 * it; tensors whose lifetimes do not overlap share bytes. Placement is
 * greedy, largest first, at the lowest offset free for the whole lifetime. */
#include <stdlib.h>

#include "kiln.h"

typedef struct {
    int64_t size, offset;
    int first, last;      /* node indices of the lifetime, inclusive */
    int64_t *target;      /* where the offset goes */
} Block;

static int64_t align_up(int64_t x)
{
    return (x + KILN_ALIGNMENT - 1) / KILN_ALIGNMENT * KILN_ALIGNMENT;
}

static int by_size_desc(const void *a, const void *b)
{
    const Block *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->first - y->first;
}

/* Lowest offset where size bytes fit beside the placed blocks that overlap in time. */
static int64_t place(const Block *placed, int nplaced, const Block *b)
{
    int64_t offset = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (int i = 0; i < nplaced; i++) {
            const Block *p = &placed[i];
            bool time = p->first <= b->last && b->first <= p->last;
            bool space = p->offset < offset + b->size && offset < p->offset + p->size;
            if (time && space) {
                offset = align_up(p->offset + p->size);
                moved = true;
            }
        }
    }
    return offset;
}

Status pass_plan_memory(Graph *g, Diag *d)
{
    Block *blocks = calloc((size_t)(g->nvalues + g->nnodes + 1), sizeof *blocks);
    if (!blocks) return diag_error(d, ST_INTERNAL, NULL, "out of memory");
    int nb = 0;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        v->offset = -1;
        if (v->kind != VAL_ACT || v->is_output || !v->producer) continue;
        Block *b = &blocks[nb++];
        b->size = align_up((int64_t)value_bytes(v));
        b->first = b->last = v->producer->id;
        for (int u = 0; u < v->nusers; u++)
            if (v->users[u]->id > b->last) b->last = v->users[u]->id;
        b->target = &v->offset;
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        KernelCall kc = {0};
        Diag ignore = {0};
        n->scratch_offset = -1;
        if (lower_node(n, &kc, &ignore) == ST_OK && kc.scratch > 0) {
            Block *b = &blocks[nb++];
            b->size = align_up(kc.scratch);
            b->first = b->last = i;
            b->target = &n->scratch_offset;
        }
        kc_free(&kc);
    }
    qsort(blocks, (size_t)nb, sizeof *blocks, by_size_desc);
    int64_t total = 0;
    for (int i = 0; i < nb; i++) {
        blocks[i].offset = place(blocks, i, &blocks[i]);
        *blocks[i].target = blocks[i].offset;
        if (blocks[i].offset + blocks[i].size > total) total = blocks[i].offset + blocks[i].size;
    }
    g->workspace_size = total;
    free(blocks);
    return ST_OK;
}
