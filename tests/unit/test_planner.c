/* test_planner.c — the memory planner packs by lifetime and never overlaps
 * two tensors that are alive at once. Checked against a brute-force scan. */
#include <string.h>

#include "kiln.h"
#include "test.h"

/* A chain x -> a -> b -> c -> d -> y of [n] f32 values, plus a skip a -> c. */
static Graph *chain(int64_t n)
{
    Graph *g = graph_new("chain");
    Shape s = shape_make(1, &n);
    Value *x = graph_value(g, "x");
    x->kind = VAL_INPUT;
    value_set_type(x, KILN_DTYPE_F32, &s);
    graph_add_input(g, x);
    const char *names[] = {"a", "b", "c", "d", "y"};
    Value *prev = x, *a = NULL;
    for (int i = 0; i < 5; i++) {
        Node *node = graph_node(g, i == 2 ? OP_Add : OP_Relu, names[i], i == 2 ? 2 : 1, 1);
        node_set_input(node, 0, prev);
        if (i == 2) node_set_input(node, 1, a);
        Value *v = graph_value(g, names[i]);
        value_set_type(v, KILN_DTYPE_F32, &s);
        node_set_output(node, 0, v);
        if (i == 0) a = v;
        prev = v;
    }
    graph_add_output(g, prev);
    return g;
}

static bool lifetimes_overlap(const Value *u, const Value *v)
{
    int u0 = u->producer->id, v0 = v->producer->id, u1 = u0, v1 = v0;
    for (int i = 0; i < u->nusers; i++) if (u->users[i]->id > u1) u1 = u->users[i]->id;
    for (int i = 0; i < v->nusers; i++) if (v->users[i]->id > v1) v1 = v->users[i]->id;
    return u0 <= v1 && v0 <= u1;
}

static void test_no_overlap_and_reuse(void)
{
    Graph *g = chain(100); /* 400 bytes each, 448 aligned */
    Diag d = {0};
    ASSERT(pass_plan_memory(g, &d) == ST_OK);
    Value *acts[] = {graph_find(g, "a"), graph_find(g, "b"), graph_find(g, "c"), graph_find(g, "d")};
    ASSERT(graph_find(g, "y")->offset == -1); /* graph outputs live in the caller's buffer */
    for (int i = 0; i < 4; i++) {
        ASSERT(acts[i]->offset >= 0 && acts[i]->offset % KILN_ALIGNMENT == 0);
        for (int j = i + 1; j < 4; j++) {
            bool space = acts[i]->offset < acts[j]->offset + 400 && acts[j]->offset < acts[i]->offset + 400;
            ASSERT(!(space && lifetimes_overlap(acts[i], acts[j])));
        }
    }
    /* a, b and c are all alive at c's node; d, written after a and b die,
     * reuses one of their slots: four tensors in three slots. */
    ASSERT(g->workspace_size == 3 * 448);
    graph_free(g);
}

static void test_empty_graph_plan(void)
{
    Graph *g = graph_new("empty");
    Diag d = {0};
    ASSERT(pass_plan_memory(g, &d) == ST_OK && g->workspace_size == 0);
    graph_free(g);
}

TEST_MAIN(test_no_overlap_and_reuse, test_empty_graph_plan)
