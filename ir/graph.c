/* graph.c — building and editing graphs. */
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

static void *grow(Arena *a, void *p, int *cap, int need, size_t elem)
{
    if (need <= *cap) return p;
    int cap2 = *cap ? *cap * 2 : 16;
    while (cap2 < need) cap2 *= 2;
    void *q = arena_alloc(a, (size_t)cap2 * elem);
    if (!q) abort(); /* graph bookkeeping is small next to the weights */
    if (p) memcpy(q, p, (size_t)*cap * elem);
    *cap = cap2;
    return q;
}

Graph *graph_new(const char *name)
{
    Arena *a = arena_new();
    if (!a) return NULL;
    Graph *g = arena_alloc(a, sizeof *g);
    g->arena = a;
    g->name = arena_strdup(a, name ? name : "model");
    g->opset = 17;
    g->workspace_size = -1;
    return g;
}

void graph_free(Graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->nvalues; i++) free(g->values[i]->users);
    arena_free(g->arena);
}

void graph_add_value(Graph *g, Value *v)
{
    v->id = g->nvalues;
    g->values = grow(g->arena, g->values, &g->values_cap, g->nvalues + 1, sizeof *g->values);
    g->values[g->nvalues++] = v;
}

static Value *add_value(Graph *g, const char *name, ValueKind kind)
{
    Value *v = arena_alloc(g->arena, sizeof *v);
    v->name = arena_strdup(g->arena, name);
    v->kind = kind;
    v->offset = -1;
    graph_add_value(g, v);
    return v;
}

Value *value_new_const(Graph *g, const char *name, DType t, const Shape *s, const void *data)
{
    Value *v = arena_alloc(g->arena, sizeof *v);
    v->name = arena_strdup(g->arena, name);
    v->kind = VAL_CONST;
    v->offset = -1;
    v->data = data;
    value_set_type(v, t, s);
    return v;
}

Value *graph_value(Graph *g, const char *name)
{
    return add_value(g, name, VAL_ACT);
}

Value *graph_find(const Graph *g, const char *name)
{
    for (int i = g->nvalues - 1; i >= 0; i--)
        if (strcmp(g->values[i]->name, name) == 0) return g->values[i];
    return NULL;
}

Value *graph_const(Graph *g, const char *name, DType t, const Shape *s, const void *data)
{
    Value *v = add_value(g, name, VAL_CONST);
    size_t n = 0;
    int64_t numel = shape_numel(s);
    if (numel < 0 || !mul_size((size_t)numel, dtype_size(t), &n)) return NULL;
    void *copy = arena_alloc(g->arena, n ? n : 1);
    if (!copy) return NULL;
    if (n) memcpy(copy, data, n);
    value_set_type(v, t, s);
    v->data = copy;
    return v;
}

Node *graph_node(Graph *g, Op op, const char *name, int nin, int nout)
{
    Node *n = arena_alloc(g->arena, sizeof *n);
    n->op = op;
    n->id = g->nnodes;
    n->name = arena_strdup(g->arena, name ? name : "");
    n->nin = nin;
    n->nout = nout;
    n->in = arena_alloc(g->arena, sizeof *n->in * (size_t)(nin ? nin : 1));
    n->out = arena_alloc(g->arena, sizeof *n->out * (size_t)(nout ? nout : 1));
    g->nodes = grow(g->arena, g->nodes, &g->nodes_cap, g->nnodes + 1, sizeof *g->nodes);
    g->nodes[g->nnodes++] = n;
    return n;
}

/* User lists change often, so they live on the heap, not in the arena. */
static void add_user(Value *v, Node *n)
{
    if (v->nusers == v->users_cap) {
        int cap = v->users_cap ? v->users_cap * 2 : 4;
        Node **u = realloc(v->users, sizeof *u * (size_t)cap);
        if (!u) abort();
        v->users = u;
        v->users_cap = cap;
    }
    v->users[v->nusers++] = n;
}

static void remove_user(Value *v, Node *n)
{
    for (int i = 0; i < v->nusers; i++)
        if (v->users[i] == n) {
            v->users[i] = v->users[--v->nusers];
            return;
        }
}

void node_set_input(Node *n, int k, Value *v)
{
    if (n->in[k]) remove_user(n->in[k], n);
    n->in[k] = v;
    if (v) add_user(v, n);
}

void node_set_output(Node *n, int k, Value *v)
{
    n->out[k] = v;
    if (v) v->producer = n;
}

Attr *node_add_attr(Graph *g, Node *n, const char *name, AttrKind kind)
{
    Attr *a = arena_alloc(g->arena, sizeof *a * (size_t)(n->nattrs + 1));
    if (n->nattrs) memcpy(a, n->attrs, sizeof *a * (size_t)n->nattrs);
    n->attrs = a;
    Attr *at = &a[n->nattrs++];
    at->name = arena_strdup(g->arena, name);
    at->kind = kind;
    return at;
}

void value_replace_uses(Value *old, Value *new_)
{
    while (old->nusers > 0) {
        Node *n = old->users[0];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == old) node_set_input(n, k, new_);
    }
}

void graph_add_input(Graph *g, Value *v)
{
    int cap = g->ninputs;
    g->inputs = grow(g->arena, g->inputs, &cap, g->ninputs + 1, sizeof *g->inputs);
    g->inputs[g->ninputs++] = v;
}

void graph_add_output(Graph *g, Value *v)
{
    int cap = g->noutputs;
    g->outputs = grow(g->arena, g->outputs, &cap, g->noutputs + 1, sizeof *g->outputs);
    g->outputs[g->noutputs++] = v;
    v->is_output = true;
}

void graph_compact(Graph *g)
{
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead) {
            for (int j = 0; j < n->nin; j++) node_set_input(n, j, NULL);
            for (int j = 0; j < n->nout; j++)
                if (n->out[j] && n->out[j]->producer == n) n->out[j]->producer = NULL;
            continue;
        }
        n->id = k;
        g->nodes[k++] = n;
    }
    g->nnodes = k;
    k = 0;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        bool keep = v->nusers > 0 || v->is_output || v->kind == VAL_INPUT || v->producer;
        if (!keep) {
            free(v->users);
            v->users = NULL;
            continue;
        }
        v->id = k;
        g->values[k++] = v;
    }
    g->nvalues = k;
}

const Attr *attr_get(const Node *n, const char *name)
{
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t attr_int(const Node *n, const char *name, int64_t def)
{
    const Attr *a = attr_get(n, name);
    return a && a->kind == ATTR_INT ? a->i : def;
}

double attr_float(const Node *n, const char *name, double def)
{
    const Attr *a = attr_get(n, name);
    if (a && a->kind == ATTR_FLOAT) return a->f;
    if (a && a->kind == ATTR_INT) return (double)a->i;
    return def;
}

const char *attr_str(const Node *n, const char *name, const char *def)
{
    const Attr *a = attr_get(n, name);
    return a && a->kind == ATTR_STRING ? a->s : def;
}

int attr_ints(const Node *n, const char *name, const int64_t **out)
{
    const Attr *a = attr_get(n, name);
    if (!a || a->kind != ATTR_INTS) return -1;
    *out = a->ints;
    return a->n;
}

bool value_replaceable(const Value *old, const Value *new_)
{
    if (old == new_) return true;
    if (old->typed != new_->typed || old->dtype != new_->dtype || !shape_equal(&old->shape, &new_->shape)) return false;
    return !old->is_output || (new_->kind == VAL_ACT && new_->producer && !new_->is_output);
}

void graph_replace_value(Value *old, Value *new_)
{
    if (old == new_) return;
    if (!old->is_output) {
        value_replace_uses(old, new_);
        return;
    }
    /* old names a graph output: new_'s producer writes it, new_'s users read it */
    Node *p = new_->producer;
    for (int k = 0; k < p->nout; k++)
        if (p->out[k] == new_) node_set_output(p, k, old);
    new_->producer = NULL;
    value_replace_uses(new_, old);
}

void node_set_ninputs(Graph *g, Node *n, int nin)
{
    for (int k = nin; k < n->nin; k++) node_set_input(n, k, NULL);
    if (nin > n->nin) {
        Value **in = arena_alloc(g->arena, sizeof *in * (size_t)nin);
        if (!in) abort();
        memcpy(in, n->in, sizeof *in * (size_t)n->nin);
        n->in = in;
    }
    n->nin = nin;
}

Attr *node_set_attr(Graph *g, Node *n, const char *name, AttrKind kind)
{
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) {
            Attr *a = &n->attrs[i];
            const char *keep = a->name;
            memset(a, 0, sizeof *a);
            a->name = keep;
            a->kind = kind;
            return a;
        }
    return node_add_attr(g, n, name, kind);
}

void node_set_ints(Graph *g, Node *n, const char *name, const int64_t *v, int count)
{
    int64_t *ints = arena_alloc(g->arena, sizeof *ints * (size_t)(count ? count : 1));
    if (!ints) abort(); /* graph bookkeeping is small next to the weights */
    if (count) memcpy(ints, v, sizeof *ints * (size_t)count);
    Attr *a = node_set_attr(g, n, name, ATTR_INTS);
    a->ints = ints, a->n = count;
}

bool node_bypass(Node *n, int k, Value *x)
{
    for (int j = 0; j < n->nout; j++)
        if (j != k && n->out[j] && (n->out[j]->is_output || n->out[j]->nusers)) return false;
    if (!n->out[k] || !value_replaceable(n->out[k], x)) return false;
    graph_replace_value(n->out[k], x);
    n->dead = true;
    return true;
}
