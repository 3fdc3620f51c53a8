/* fuse_elementwise.c — chains (trees) of float elementwise ops become one
 * Elementwise node whose expr computes them all, so codegen emits one loop
 * and each element goes through memory once instead of once per op.
 *
 * A node joins the tree of its reader when its result has no other reader
 * and as many elements as the reader's (fusing must not recompute a small
 * intermediate for every element of a broadcast). Single-number constants
 * become literals of the expression; every other operand is an input. */
#include <stdlib.h>
#include <string.h>

#include "kiln.h"
#include "../kernels/c/fused.h"
#include "../ir/fused_plan.h"

typedef struct {
    Graph *g;
    bool *cand, *absorbed;   /* by node id */
    Buf expr;
    Value *in[KILN_FZ_MAX_IN];
    int nin, ntok, nops;
    bool inline_consts, overflow;
} Tree;

static bool joins(const Tree *t, const Value *v, const Node *reader)
{
    Node *p = v->producer;
    return p && !p->dead && t->cand[p->id] && t->absorbed[p->id] && p->out[0] == v && only_use(v, reader);
}

static void emit_input(Tree *t, Value *v)
{
    double c;
    t->ntok++;
    if (t->inline_consts && dtype_is_float(v->dtype) && value_scalar(v, &c)) {
        buf_printf(&t->expr, "%.17g ", c);
        return;
    }
    int k = 0;
    while (k < t->nin && t->in[k] != v) k++;
    if (k == t->nin) {
        if (t->nin == KILN_FZ_MAX_IN) {
            t->overflow = true;
            return;
        }
        t->in[t->nin++] = v;
    }
    buf_printf(&t->expr, "x%d ", k);
}

/* The postfix expression of n's tree. */
static void emit_tree(Tree *t, const Node *n)
{
    FzScalar s;
    fz_scalar_of(n, &s);
    for (int k = 0; k < s.ntensor; k++) {
        if (joins(t, n->in[k], n)) emit_tree(t, n->in[k]->producer);
        else emit_input(t, n->in[k]);
    }
    for (int k = 0; k < s.nparam; k++) buf_printf(&t->expr, "%.17g ", s.param[k]);
    buf_printf(&t->expr, "%s ", fz_op_name(s.op));
    t->ntok += s.nparam + 1;
    t->nops++;
}

static void remove_tree(Tree *t, Node *n)
{
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] && joins(t, n->in[k], n)) remove_tree(t, n->in[k]->producer);
    node_remove(n);
}

/* The inputs broadcast together give root's shape (a literal cannot add axes). */
static bool shape_kept(const Tree *t, const Value *y)
{
    Shape s = {0}, b;
    for (int k = 0; k < t->nin; k++) {
        if (!shape_broadcast(&s, &t->in[k]->shape, &b)) return false;
        s = b;
    }
    return shape_equal(&s, &y->shape);
}

/* The most values the postfix program holds at once. */
static int expr_depth(const char *s)
{
    int depth = 0, most = 0;
    while (*s) {
        size_t len = strcspn(s, " ");
        int op = fz_op_find(s, len);
        depth += op >= 0 ? 1 - kiln_fz_arity(op) : 1;
        if (depth > most) most = depth;
        s += len + (s[len] == ' ');
    }
    return most;
}

static Status fuse_tree(Tree *t, Node *root, Diag *d)
{
    for (int pass = 0; pass < 2; pass++) {
        t->expr.len = 0;
        t->nin = t->ntok = t->nops = 0;
        t->overflow = false;
        t->inline_consts = pass == 0;
        emit_tree(t, root);
        if (t->nin && shape_kept(t, root->out[0])) break;
    }
    if (t->overflow || t->nops < 2 || t->ntok > FZ_MAX_PROG || !t->nin || !shape_kept(t, root->out[0])) return ST_OK;
    t->expr.data[t->expr.len - 1] = 0; /* the trailing space */
    if (expr_depth(t->expr.data) > KILN_FZ_MAX_STACK) return ST_OK;
    for (int k = 0; k < root->nin; k++)
        if (root->in[k] && joins(t, root->in[k], root)) remove_tree(t, root->in[k]->producer);
    Node *f = fuse_replace(t->g, root, OP_Elementwise, t->nin);
    for (int k = 0; k < t->nin; k++) node_set_input(f, k, t->in[k]);
    node_add_attr(t->g, f, "expr", ATTR_STRING)->s = arena_strdup(t->g->arena, t->expr.data);
    return fuse_check(f, d);
}

Status pass_fuse_elementwise(Graph *g, Diag *d)
{
    int n0 = g->nnodes;
    Tree t = {.g = g, .cand = calloc((size_t)n0 + 1, 1), .absorbed = calloc((size_t)n0 + 1, 1)};
    Status st = ST_OK;
    if (!t.cand || !t.absorbed) {
        st = diag_error(d, ST_INTERNAL, NULL, "out of memory");
        goto done;
    }
    for (int i = 0; i < n0; i++) {
        Node *n = g->nodes[i];
        FzScalar s;
        n->id = i;
        if (n->dead || !fz_scalar_of(n, &s)) continue;
        t.cand[i] = true;
        for (int k = 0; k < s.ntensor; k++) {
            Node *p = n->in[k]->producer;
            if (p && !p->dead && t.cand[p->id] && p->out[0] == n->in[k] && only_use(n->in[k], n) &&
                shape_numel(&n->in[k]->shape) == shape_numel(&n->out[0]->shape))
                t.absorbed[p->id] = true;
        }
    }
    /* roots: candidates that no tree absorbed; node ids stay put while trees are replaced */
    for (int i = 0; i < n0 && !st; i++)
        if (t.cand[i] && !t.absorbed[i] && !g->nodes[i]->dead) st = fuse_tree(&t, g->nodes[i], d);
    graph_compact(g);
done:
    free(t.cand);
    free(t.absorbed);
    buf_free(&t.expr);
    return st;
}
