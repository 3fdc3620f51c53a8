/* plan_memory.c — pack every intermediate tensor into one workspace.
 * Each tensor lives from the node that writes it to the last node that reads
 * it; tensors whose lifetimes do not overlap share bytes. Placement is
 * greedy, largest first, at the lowest offset free for the whole lifetime.
 * A byte copy (Reshape, Flatten, Squeeze, ...) of an intermediate is not a
 * tensor of its own: it shares its source's bytes, so the copy vanishes.
 * A large block starts at its own phase modulo 4 KiB, blocks made one after
 * the other (a node's input and output) PHASE_STEP bytes apart: a CPU takes a
 * load from an address equal modulo 4 KiB to a pending store's as dependent
 * on it ("4K aliasing"), which halves a streaming kernel's speed. */
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

enum { PAGE = 4096, PHASE_STEP = 320, PHASE_MIN_SIZE = 16384 };

typedef struct {
    int64_t size, offset, phase; /* phase: the offset modulo PAGE, -1 for a small block */
    int first, last;      /* node indices of the lifetime, inclusive */
    int64_t *target;      /* where a scratch block's offset goes; tensors use owner[] */
} Block;

static int64_t align_up(int64_t x)
{
    return (x + KILN_ALIGNMENT - 1) / KILN_ALIGNMENT * KILN_ALIGNMENT;
}

static int by_size_desc(const void *a, const void *b)
{
    const Block *x = *(Block *const *)a, *y = *(Block *const *)b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->first - y->first;
}

/* The lowest offset from x on at b's phase (-1: any). */
static int64_t at_phase(int64_t x, const Block *b)
{
    if (b->phase < 0) return x;
    int64_t y = x - x % PAGE + b->phase;
    return y >= x ? y : y + PAGE;
}

/* Lowest offset where size bytes fit beside the placed blocks that overlap in time. */
static int64_t place(Block *const *placed, int nplaced, const Block *b)
{
    int64_t offset = at_phase(0, b);
    for (bool moved = true; moved;) {
        moved = false;
        for (int i = 0; i < nplaced; i++) {
            const Block *p = placed[i];
            bool time = p->first <= b->last && b->first <= p->last;
            bool space = p->offset < offset + b->size && offset < p->offset + p->size;
            if (time && space) {
                offset = at_phase(align_up(p->offset + p->size), b);
                moved = true;
            }
        }
    }
    return offset;
}

static bool in_workspace(const Value *v)
{
    return v && v->kind == VAL_ACT && !v->is_output && v->producer;
}

Status pass_plan_memory(Graph *g, Diag *d)
{
    Block *blocks = calloc((size_t)(g->nvalues + g->nnodes + 1), sizeof *blocks);
    int *owner = malloc(((size_t)g->nvalues + 1) * sizeof *owner); /* value index -> block, -1 none */
    if (!blocks || !owner) {
        free(blocks);
        free(owner);
        return diag_error(d, ST_INTERNAL, NULL, "out of memory");
    }
    int nb = 0;
    for (int i = 0; i < g->nvalues; i++) owner[i] = -1, g->values[i]->offset = -1;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        KernelCall kc = {0};
        Diag ignore = {0};
        n->scratch_offset = -1;
        bool lowered = lower_node(n, &kc, &ignore) == ST_OK;
        bool copy = lowered && strcmp(kc.name, "kiln_copy") == 0 && n->nin > 0 && in_workspace(n->in[0]) &&
                    in_workspace(n->out[0]) && value_bytes(n->in[0]) == value_bytes(n->out[0]);
        for (int k = 0; k < n->nout; k++) {
            Value *v = n->out[k];
            if (!in_workspace(v)) continue;
            if (copy && k == 0) {
                owner[v->id] = owner[n->in[0]->id];
            } else {
                Block *b = &blocks[nb];
                b->size = align_up((int64_t)value_bytes(v));
                b->first = b->last = i;
                owner[v->id] = nb++;
            }
        }
        for (int k = 0; k < n->nin; k++) /* a read extends the life of the bytes it reads */
            if (n->in[k] && owner[n->in[k]->id] >= 0 && blocks[owner[n->in[k]->id]].last < i)
                blocks[owner[n->in[k]->id]].last = i;
        if (lowered && kc.scratch > 0) {
            Block *b = &blocks[nb++];
            b->size = align_up(kc.scratch);
            b->first = b->last = i;
            b->target = &n->scratch_offset;
        }
        kc_free(&kc);
    }
    /* tensors find their offsets through owner[], so sort pointers, not the blocks */
    Block **order = malloc(((size_t)nb + 1) * sizeof *order);
    int64_t total = 0;
    for (int i = 0; order && i < nb; i++) {
        order[i] = &blocks[i];
        blocks[i].phase = blocks[i].size >= PHASE_MIN_SIZE ? (int64_t)i * PHASE_STEP % PAGE : -1;
    }
    if (order) qsort(order, (size_t)nb, sizeof *order, by_size_desc);
    for (int i = 0; order && i < nb; i++) {
        Block *b = order[i];
        b->offset = place(order, i, b);
        if (b->target) *b->target = b->offset;
        if (b->offset + b->size > total) total = b->offset + b->size;
    }
    for (int i = 0; order && i < g->nvalues; i++)
        if (owner[i] >= 0) g->values[i]->offset = blocks[owner[i]].offset;
    g->workspace_size = total;
    Status st = order ? ST_OK : diag_error(d, ST_INTERNAL, NULL, "out of memory");
    free(order);
    free(blocks);
    free(owner);
    return st;
}
