/* fold_batchnorm.c — fold an inference BatchNormalization into the Conv,
 * ConvTranspose, Gemm or 2-D MatMul before it:
 *
 *   y = (W*x + b - mean) * s + beta,  s = scale / sqrt(var + eps)
 *     = (W*s) * x + (b*s + beta - mean*s)
 *
 * Only where that node's output feeds nothing else and its weights (and bias)
 * are constants; a MatMul becomes a Gemm to get a bias. New weights are new
 * constants: the old ones may be shared. Arithmetic is in double, as in the
 * BatchNormalization kernel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

typedef struct {
    int64_t c;       /* channels */
    double *s, *t;   /* per channel: y = x * s + t */
} Affine;

static bool is_const(const Value *v)
{
    return v && v->kind == VAL_CONST && v->typed && v->data;
}

/* The BatchNormalization as an affine map per channel, if its parameters are constants. */
static bool bn_affine(const Node *bn, Affine *a)
{
    if (attr_int(bn, "spatial", 1) == 0 || bn->nin != 5) return false;
    for (int k = 1; k < 5; k++)
        if (!is_const(bn->in[k]) || !dtype_is_float(bn->in[k]->dtype)) return false;
    for (int k = 1; k < bn->nout; k++)
        if (bn->out[k]) return false;
    a->c = shape_numel(&bn->in[1]->shape);
    a->s = malloc(sizeof *a->s * (size_t)(a->c + 1));
    a->t = malloc(sizeof *a->t * (size_t)(a->c + 1));
    if (!a->s || !a->t) return false;
    double eps = attr_float(bn, "epsilon", 1e-5);
    for (int64_t c = 0; c < a->c; c++) {
        double scale = dtype_load_f64(bn->in[1]->dtype, bn->in[1]->data, (size_t)c);
        double beta = dtype_load_f64(bn->in[2]->dtype, bn->in[2]->data, (size_t)c);
        double mean = dtype_load_f64(bn->in[3]->dtype, bn->in[3]->data, (size_t)c);
        double var = dtype_load_f64(bn->in[4]->dtype, bn->in[4]->data, (size_t)c);
        a->s[c] = scale / sqrt(var + eps);
        a->t[c] = beta - mean * a->s[c];
    }
    return true;
}

/* The output channel of each weight element, by the layout of p's op. */
static int64_t weight_channel(const Node *p, const Shape *w, int64_t i)
{
    int64_t inner = 1;
    for (int d = 2; d < w->rank; d++) inner *= w->dims[d];
    switch (p->op) {
    case OP_Conv: return i / (w->dims[1] * inner); /* [M, C/g, k...] */
    case OP_ConvTranspose: {                      /* [C, M/g, k...]: channel = group * M/g + j */
        int64_t group = attr_int(p, "group", 1), cin = i / (w->dims[1] * inner), j = i / inner % w->dims[1];
        return cin / (w->dims[0] / group) * w->dims[1] + j;
    }
    case OP_Gemm:
        return attr_int(p, "transB", 0) ? i / w->dims[1] : i % w->dims[1];
    default: /* MatMul [K, N] */
        return i % w->dims[1];
    }
}

/* A copy of w with each element scaled by its channel's s. */
static Value *scaled_weights(Graph *g, const Node *p, const Value *w, const Affine *a)
{
    int64_t n = shape_numel(&w->shape);
    void *data = malloc(value_bytes(w) ? value_bytes(w) : 1);
    if (!data) return NULL;
    for (int64_t i = 0; i < n; i++)
        dtype_store_f64(w->dtype, data, (size_t)i,
                        dtype_load_f64(w->dtype, w->data, (size_t)i) * a->s[weight_channel(p, &w->shape, i)]);
    Value *v = new_const(g, arena_printf(g->arena, "%s.bn", w->name), w->dtype, &w->shape, data);
    free(data);
    return v;
}

/* The new bias b*s + t (b scaled by beta for Gemm), in b's broadcast shape with [C]. */
static Value *folded_bias(Graph *g, const Node *p, const Value *w, const Affine *a)
{
    const Value *b = p->nin > 2 ? p->in[2] : NULL;
    double beta = p->op == OP_Gemm ? attr_float(p, "beta", 1.0) : 1.0;
    Shape s = shape_make(1, (int64_t[]){a->c});
    if (b && p->op == OP_Gemm && !shape_broadcast(&b->shape, &s, &s)) return NULL;
    int64_t n = shape_numel(&s);
    void *data = calloc((size_t)n + 1, dtype_size(w->dtype));
    if (!data) return NULL;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = i % a->c;
        double bias = 0;
        if (b) { /* b broadcasts to s: index it by its own strides */
            int64_t bi = 0, stride = 1, rest = i;
            for (int d = s.rank - 1, e = b->shape.rank - 1; d >= 0; d--, e--) {
                int64_t dim = s.dims[d], idx = rest % dim;
                rest /= dim;
                if (e >= 0 && b->shape.dims[e] != 1) bi += idx * stride;
                if (e >= 0) stride *= b->shape.dims[e];
            }
            bias = beta * dtype_load_f64(b->dtype, b->data, (size_t)bi);
        }
        dtype_store_f64(w->dtype, data, (size_t)i, bias * a->s[c] + a->t[c]);
    }
    const char *base = b ? b->name : w->name;
    Value *v = new_const(g, arena_printf(g->arena, "%s.bnbias", base), w->dtype, &s, data);
    free(data);
    return v;
}

/* p (whose output only bn reads) can absorb bn's channels. */
static bool foldable(const Node *p, const Node *bn, const Affine *a)
{
    const Value *x = p->out[0], *w = p->in[1];
    if (!x || x->is_output || x->nusers != 1 || !is_const(w) || !dtype_is_float(w->dtype)) return false;
    if (!bn->out[0] || !value_replaceable(bn->out[0], x)) return false;
    if (p->nin > 2 && p->in[2] && !is_const(p->in[2])) return false;
    if (x->shape.rank < 2 || x->shape.dims[1] != a->c || bn->in[0] != x) return false;
    switch (p->op) {
    case OP_Conv: return w->shape.rank >= 3 && w->shape.dims[0] == a->c;
    case OP_ConvTranspose: {
        int64_t group = attr_int(p, "group", 1);
        return w->shape.rank >= 3 && group >= 1 && w->shape.dims[0] % group == 0 && w->shape.dims[1] * group == a->c;
    }
    case OP_Gemm: return x->shape.rank == 2;
    case OP_MatMul: return x->shape.rank == 2 && p->in[0]->shape.rank == 2 && w->shape.rank == 2;
    default: return false;
    }
}

static bool fold(Graph *g, Node *bn)
{
    Node *p = live_producer(bn->in[0], OP_COUNT_);
    Affine a = {0};
    bool done = false;
    if (!p || !bn_affine(bn, &a) || !foldable(p, bn, &a)) goto out;
    Value *w = scaled_weights(g, p, p->in[1], &a), *b = folded_bias(g, p, p->in[1], &a);
    if (!w || !b) goto out;
    if (p->op == OP_MatMul) { /* a Gemm has the bias slot */
        p->op = OP_Gemm;
        p->nattrs = 0;
    }
    node_set_ninputs(g, p, 3);
    node_set_input(p, 1, w);
    node_set_input(p, 2, b);
    if (p->op == OP_Gemm) {
        node_set_attr(g, p, "beta", ATTR_FLOAT)->f = 1.0;
        if (p->opset <= 6) node_set_attr(g, p, "broadcast", ATTR_INT)->i = 1;
    }
    done = node_bypass(bn, 0, p->out[0]);
out:
    free(a.s);
    free(a.t);
    return done;
}

Status pass_fold_batchnorm(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->dead && g->nodes[i]->op == OP_BatchNormalization) fold(g, g->nodes[i]);
    return pass_eliminate_dead(g, d);
}
