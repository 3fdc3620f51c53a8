/* test_ir.c — graph building, editing, broadcasting, verification. */
#include <string.h>

#include "kiln.h"
#include "test.h"

static void test_build_and_users(void)
{
    Graph *g = graph_new("t");
    Value *x = graph_value(g, "x");
    x->kind = VAL_INPUT;
    graph_add_input(g, x);
    Node *n = graph_node(g, OP_Relu, "relu", 1, 1);
    node_set_input(n, 0, x);
    Value *y = graph_value(g, "y");
    node_set_output(n, 0, y);
    graph_add_output(g, y);
    ASSERT(x->nusers == 1 && x->users[0] == n);
    ASSERT(y->producer == n && y->is_output);
    ASSERT(graph_find(g, "y") == y && graph_find(g, "nope") == NULL);
    Diag d = {0};
    ASSERT(graph_verify(g, &d) == ST_OK);

    /* Rewire: a second node reads y; replace y's uses by x. */
    Node *m = graph_node(g, OP_Neg, "neg", 1, 1);
    node_set_input(m, 0, y);
    node_set_output(m, 0, graph_value(g, "z"));
    value_replace_uses(y, x);
    ASSERT(m->in[0] == x && y->nusers == 0 && x->nusers == 2);
    graph_free(g);
}

static void test_verify_catches_bad_order(void)
{
    Graph *g = graph_new("t");
    Node *a = graph_node(g, OP_Relu, "a", 1, 1);
    Node *b = graph_node(g, OP_Relu, "b", 1, 1);
    Value *v = graph_value(g, "v"), *w = graph_value(g, "w");
    node_set_output(b, 0, v);
    node_set_input(a, 0, v); /* a reads what a later node writes */
    node_set_output(a, 0, w);
    node_set_input(b, 0, w);
    Diag d = {0};
    ASSERT(graph_verify(g, &d) == ST_INTERNAL);
    ASSERT(strstr(d.msg, "earlier") != NULL);
    graph_free(g);
}

static void test_broadcast(void)
{
    Shape a = shape_make(3, (int64_t[]){2, 1, 4}), b = shape_make(2, (int64_t[]){3, 1}), out;
    ASSERT(shape_broadcast(&a, &b, &out));
    ASSERT(out.rank == 3 && out.dims[0] == 2 && out.dims[1] == 3 && out.dims[2] == 4);
    Shape c = shape_make(1, (int64_t[]){5});
    ASSERT(!shape_broadcast(&a, &c, &out));
    Shape scalar = {0};
    ASSERT(shape_broadcast(&scalar, &c, &out) && out.rank == 1 && out.dims[0] == 5);
    ASSERT(shape_numel(&scalar) == 1);
    Shape huge = shape_make(3, (int64_t[]){INT64_MAX / 2, 4, 4});
    ASSERT(shape_numel(&huge) == -1);
}

static void test_axes_and_dtypes(void)
{
    int64_t ax;
    ASSERT(norm_axis(-1, 4, &ax) && ax == 3);
    ASSERT(!norm_axis(4, 4, &ax) && !norm_axis(-5, 4, &ax));
    ASSERT(dtype_size(KILN_DTYPE_F16) == 2 && dtype_size(KILN_DTYPE_I64) == 8);
    ASSERT(dtype_from_name("bf16") == KILN_DTYPE_BF16 && dtype_from_name("x") == KILN_DTYPE_UNDEFINED);
    ASSERT(f16_to_f32(f32_to_f16(1.5f)) == 1.5f && f32_to_f16(65520.0f) == 0x7c00);
    ASSERT(f32_to_f16(1.0f + 1.0f / 4096) == 0x3c00); /* ties round to even */
    ASSERT(bf16_to_f32(f32_to_bf16(-2.0f)) == -2.0f);
    size_t n;
    ASSERT(!mul_size(SIZE_MAX / 2, 3, &n) && mul_size(6, 7, &n) && n == 42);
}

static void test_attrs(void)
{
    Graph *g = graph_new("t");
    Node *n = graph_node(g, OP_LeakyRelu, "l", 1, 1);
    node_add_attr(g, n, "alpha", ATTR_FLOAT)->f = 0.25;
    ASSERT(attr_float(n, "alpha", 0.01) == 0.25);
    ASSERT(attr_int(n, "missing", 7) == 7);
    const int64_t *ints;
    ASSERT(attr_ints(n, "perm", &ints) == -1);
    graph_free(g);
}

TEST_MAIN(test_build_and_users, test_verify_catches_bad_order, test_broadcast, test_axes_and_dtypes, test_attrs)
