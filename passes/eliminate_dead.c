/* eliminate_dead.c — remove nodes none of whose outputs is used. */
#include "kiln.h"

static bool is_used(const Value *v)
{
    if (!v) return false;
    if (v->is_output) return true;
    for (int u = 0; u < v->nusers; u++)
        if (!v->users[u]->dead) return true;
    return false;
}

Status pass_eliminate_dead(Graph *g, Diag *d)
{
    (void)d;
    for (int i = g->nnodes - 1; i >= 0; i--) { /* backwards: a removal frees its producers */
        Node *n = g->nodes[i];
        bool used = false;
        for (int k = 0; k < n->nout; k++) used = used || is_used(n->out[k]);
        if (!used) n->dead = true;
    }
    graph_compact(g);
    return ST_OK;
}
