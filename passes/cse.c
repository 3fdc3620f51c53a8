/* cse.c — common-subexpression elimination: small constants equal by value
 * become one, then a node with the same op, inputs (in any order for
 * commutative ops), attributes and opset as an earlier node is replaced by
 * it. Every op in the table is deterministic, so equal nodes compute equal
 * values. */
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

enum { SMALL_CONST_BYTES = 4096 }; /* compared byte by byte; weights are rarely repeated */

typedef struct {
    void **slot;  /* Value * or Node *, NULL where empty */
    size_t mask;
} Table;

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
    return h;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

static bool table_init(Table *t, int n)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    t->slot = calloc(cap, sizeof *t->slot);
    t->mask = cap - 1;
    return t->slot != NULL;
}

/* ---- constants ---------------------------------------------------------- */

static bool const_small(const Value *v)
{
    return v->kind == VAL_CONST && v->typed && v->data && dtype_size(v->dtype) &&
           value_bytes(v) <= SMALL_CONST_BYTES;
}

static uint64_t hash_const(const Value *v)
{
    uint64_t h = mix((uint64_t)v->dtype, (uint64_t)v->shape.rank);
    h = hash_bytes(h, v->shape.dims, sizeof *v->shape.dims * (size_t)v->shape.rank);
    return hash_bytes(h, v->data, value_bytes(v));
}

static bool const_equal(const Value *a, const Value *b)
{
    return a->dtype == b->dtype && shape_equal(&a->shape, &b->shape) &&
           memcmp(a->data, b->data, value_bytes(a)) == 0;
}

static Status merge_constants(Graph *g, Diag *d)
{
    Table t;
    if (!table_init(&t, g->nvalues)) return diag_error(d, ST_INTERNAL, NULL, "out of memory");
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!const_small(v)) continue;
        for (size_t s = hash_const(v) & t.mask;; s = (s + 1) & t.mask) {
            Value *r = t.slot[s];
            if (!r) {
                t.slot[s] = v;
                break;
            }
            if (const_equal(r, v)) {
                value_replace_uses(v, r);
                break;
            }
        }
    }
    free(t.slot);
    return ST_OK;
}

/* ---- nodes -------------------------------------------------------------- */

static bool commutative(const Node *n)
{
    switch (n->op) {
    case OP_Add: case OP_Mul: case OP_Max: case OP_Min: case OP_Sum: case OP_Mean:
    case OP_And: case OP_Or: case OP_Xor: case OP_Equal:
        return n->nattrs == 0; /* attributes: pre-opset-7 broadcasting, one-sided */
    default:
        return false;
    }
}

/* Inputs in canonical order: by value id for commutative ops. */
static void input_key(const Node *n, Value **key)
{
    memcpy(key, n->in, sizeof *key * (size_t)n->nin);
    if (!commutative(n)) return;
    for (int i = 1; i < n->nin; i++)
        for (int j = i; j > 0 && key[j - 1]->id > key[j]->id; j--) {
            Value *x = key[j];
            key[j] = key[j - 1];
            key[j - 1] = x;
        }
}

static bool attr_equal(const Attr *a, const Attr *b)
{
    if (a->kind != b->kind || strcmp(a->name, b->name) != 0) return false;
    switch (a->kind) {
    case ATTR_FLOAT: return a->f == b->f;
    case ATTR_INT: return a->i == b->i;
    case ATTR_STRING: return strcmp(a->s, b->s) == 0;
    case ATTR_TENSOR: return a->t->typed && b->t->typed && const_equal(a->t, b->t);
    case ATTR_FLOATS: return a->n == b->n && memcmp(a->floats, b->floats, sizeof *a->floats * (size_t)a->n) == 0;
    case ATTR_INTS: return a->n == b->n && memcmp(a->ints, b->ints, sizeof *a->ints * (size_t)a->n) == 0;
    case ATTR_STRINGS:
        if (a->n != b->n) return false;
        for (int i = 0; i < a->n; i++)
            if (strcmp(a->strings[i], b->strings[i]) != 0) return false;
        return true;
    default: return false; /* graphs */
    }
}

static bool attrs_equal(const Node *a, const Node *b)
{
    if (a->nattrs != b->nattrs) return false;
    for (int i = 0; i < a->nattrs; i++) {
        const Attr *x = &a->attrs[i], *y = attr_get(b, x->name);
        if (!y || !attr_equal(x, y)) return false;
    }
    return true;
}

static uint64_t hash_node(const Node *n, Value **key)
{
    uint64_t h = mix(mix((uint64_t)n->op, (uint64_t)n->nin), (uint64_t)n->nout);
    for (int k = 0; k < n->nin; k++) h = mix(h, key[k] ? (uint64_t)key[k]->id + 1 : 0);
    return h;
}

static bool node_equal(const Node *a, Value **akey, const Node *b, Value **bkey)
{
    if (a->op != b->op || a->nin != b->nin || a->nout != b->nout || a->opset != b->opset) return false;
    if (memcmp(akey, bkey, sizeof *akey * (size_t)a->nin) != 0 || !attrs_equal(a, b)) return false;
    for (int k = 0; k < a->nout; k++)
        if (!a->out[k] != !b->out[k]) return false;
    return true;
}

/* n's outputs can all take r's place. */
static bool replaceable(const Node *n, const Node *r)
{
    for (int k = 0; k < n->nout; k++)
        if (n->out[k] && !value_replaceable(n->out[k], r->out[k])) return false;
    for (int k = 0; k < n->nout; k++)  /* two outputs renamed onto one node's outputs would collide */
        for (int j = 0; j < k; j++)
            if (n->out[k] && n->out[j] && n->out[k]->is_output && n->out[j]->is_output && r->out[k] == r->out[j])
                return false;
    return true;
}

static bool has_graph_attr(const Node *n)
{
    for (int i = 0; i < n->nattrs; i++)
        if (n->attrs[i].kind == ATTR_GRAPH || n->attrs[i].kind == ATTR_TENSORS) return true;
    return false;
}

static Status merge_nodes(Graph *g, Diag *d)
{
    int maxin = 1;
    for (int i = 0; i < g->nnodes; i++) maxin = g->nodes[i]->nin > maxin ? g->nodes[i]->nin : maxin;
    Table t = {0};
    Value **nkey = malloc(sizeof *nkey * (size_t)maxin), **rkey = malloc(sizeof *rkey * (size_t)maxin);
    if (!nkey || !rkey || !table_init(&t, g->nnodes)) {
        free(nkey);
        free(rkey);
        return diag_error(d, ST_INTERNAL, NULL, "out of memory");
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || has_graph_attr(n) || n->nout < 1) continue;
        input_key(n, nkey);
        for (size_t s = hash_node(n, nkey) & t.mask;; s = (s + 1) & t.mask) {
            Node *r = t.slot[s];
            if (!r) {
                t.slot[s] = n;
                break;
            }
            input_key(r, rkey);
            if (node_equal(r, rkey, n, nkey) && replaceable(n, r)) {
                for (int k = 0; k < n->nout; k++)
                    if (n->out[k]) graph_replace_value(n->out[k], r->out[k]);
                n->dead = true;
                break;
            }
        }
    }
    free(nkey);
    free(rkey);
    free(t.slot);
    return ST_OK;
}

Status pass_cse(Graph *g, Diag *d)
{
    if (merge_constants(g, d) || merge_nodes(g, d)) return d->status;
    graph_compact(g);
    return ST_OK;
}
