/* lower_movement.c — kernel choice and parameters for the movement operators.
 * The kernels work on element sizes (see kernels/c/movement.h), so the
 * parameters carry the element size and, where an index tensor is read or a
 * scatter reduces, a dtype code; each kernel's comment gives the order. */
#include <string.h>

#include "kiln.h"
#include "../kernels/c/movement.h"

#define K "movement"

static int64_t esize(const Value *v) { return (int64_t)dtype_size(v->dtype); }

/* Row-major element strides of a shape. */
static void strides_of(const Shape *s, int64_t *st)
{
    int64_t n = 1;
    for (int a = s->rank - 1; a >= 0; a--) st[a] = n, n *= s->dims[a];
}

static int64_t prod(const Shape *s, int from, int to)
{
    int64_t n = 1;
    for (int a = from; a < to; a++) n *= s->dims[a];
    return n;
}

/* An element as the int64 bit pattern the kernels copy es bytes from. */
static int64_t bits_f64(DType t, double v)
{
    int64_t b = 0;
    dtype_store_f64(t, &b, 0, v);
    return b;
}

static Status lower_copy(const Node *n, KernelCall *kc, Diag *d)
{
    (void)d;
    KC_KERNEL(kc, K, kiln_copy);
    kc_i(kc, (int64_t)value_bytes(n->out[0]));
    return ST_OK;
}

/*
 * The output gathers in[base + sum idx[a] * st[a]]. Size-1 axes are dropped
 * and axes contiguous in the source merged, so the kernel's inner loop is as
 * long (and as often a memcpy) as it can be.
 */
static Status lower_strided(const Node *n, KernelCall *kc, int rank, const int64_t *dims, const int64_t *st,
                            int64_t base, Diag *d)
{
    int64_t md[KILN_MV_MAXR], ms[KILN_MV_MAXR];
    int r = 0;
    for (int a = 0; a < rank; a++) {
        if (dims[a] == 0) { r = 1, md[0] = 0, ms[0] = 1; break; }
        if (dims[a] == 1) continue;
        if (r && ms[r - 1] == st[a] * dims[a]) md[r - 1] *= dims[a], ms[r - 1] = st[a];
        else md[r] = dims[a], ms[r] = st[a], r++;
    }
    switch (esize(n->out[0])) {
    case 1: KC_KERNEL(kc, K, kiln_strided_copy_1); break;
    case 2: KC_KERNEL(kc, K, kiln_strided_copy_2); break;
    case 4: KC_KERNEL(kc, K, kiln_strided_copy_4); break;
    case 8: KC_KERNEL(kc, K, kiln_strided_copy_8); break;
    default: return diag_unsupported(d, n, "%s tensors are not supported", dtype_name(n->out[0]->dtype));
    }
    kc_i(kc, r);
    kc_i(kc, base);
    kc_is(kc, md, r);
    kc_is(kc, ms, r);
    return ST_OK;
}

static Status lower_transpose(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t st[KILN_MAX_RANK], perm[KILN_MAX_RANK];
    strides_of(s, st);
    const int64_t *p;
    bool given = attr_ints(n, "perm", &p) == s->rank;
    for (int a = 0; a < s->rank; a++) perm[a] = st[given ? p[a] : s->rank - 1 - a];
    return lower_strided(n, kc, s->rank, n->out[0]->shape.dims, perm, 0, d);
}

static Status lower_slice(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t start[KILN_MAX_RANK], step[KILN_MAX_RANK], len[KILN_MAX_RANK], st[KILN_MAX_RANK], base = 0;
    if (movement_slice_plan(n, start, step, len, d)) return d->status;
    strides_of(s, st);
    for (int a = 0; a < s->rank; a++) base += start[a] * st[a], st[a] *= step[a];
    return lower_strided(n, kc, s->rank, len, st, base, d);
}

static Status lower_expand(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape, *o = &n->out[0]->shape;
    int64_t st[KILN_MAX_RANK], ost[KILN_MAX_RANK] = {0};
    strides_of(s, st);
    for (int a = 0; a < s->rank; a++) {
        int oa = a + o->rank - s->rank;
        ost[oa] = s->dims[a] == o->dims[oa] ? st[a] : 0;
    }
    return lower_strided(n, kc, o->rank, o->dims, ost, 0, d);
}

/* The output [r0*d0, r1*d1, ...] is laid out as [r0, d0, r1, d1, ...]: an
 * Expand of the input with a stride-0 axis before each of its own. */
static Status lower_tile(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape, *o = &n->out[0]->shape;
    int64_t st[KILN_MAX_RANK], dims[2 * KILN_MAX_RANK], ost[2 * KILN_MAX_RANK];
    strides_of(s, st);
    for (int a = 0; a < s->rank; a++) {
        dims[2 * a] = s->dims[a] ? o->dims[a] / s->dims[a] : 0;
        dims[2 * a + 1] = s->dims[a];
        ost[2 * a] = 0;
        ost[2 * a + 1] = st[a];
    }
    return lower_strided(n, kc, 2 * s->rank, dims, ost, 0, d);
}

static int64_t norm(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

static Status lower_concat(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->out[0]->shape;
    int64_t axis = norm(attr_int(n, "axis", 1), s->rank);
    (void)d;
    KC_KERNEL(kc, K, kiln_concat);
    kc_i(kc, n->nin);
    kc_i(kc, prod(s, 0, (int)axis));
    kc_i(kc, prod(s, (int)axis + 1, s->rank) * esize(n->out[0]));
    for (int k = 0; k < n->nin; k++) kc_i(kc, n->in[k]->shape.dims[axis]);
    return ST_OK;
}

static Status lower_split(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t axis = norm(attr_int(n, "axis", 0), s->rank);
    (void)d;
    KC_KERNEL(kc, K, kiln_split);
    kc_i(kc, n->nout);
    kc_i(kc, prod(s, 0, (int)axis));
    kc_i(kc, prod(s, (int)axis + 1, s->rank) * esize(n->in[0]));
    /* every output takes its share of the rows, so each must be there to say how many */
    for (int k = 0; k < n->nout; k++) {
        if (!n->out[k]) return diag_unsupported(d, n, "Split with an omitted output");
        kc_i(kc, n->out[k]->shape.dims[axis]);
    }
    return ST_OK;
}

static Status lower_gather(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t axis = norm(attr_int(n, "axis", 0), s->rank);
    (void)d;
    KC_KERNEL(kc, K, kiln_gather);
    kc_i(kc, prod(s, 0, (int)axis));
    kc_i(kc, s->dims[axis]);
    kc_i(kc, prod(s, (int)axis + 1, s->rank) * esize(n->in[0]));
    kc_i(kc, shape_numel(&n->in[1]->shape));
    kc_i(kc, n->in[1]->dtype);
    return ST_OK;
}

/* The tail both GatherElements and ScatterElements pass to kiln_mv_elem_offset. */
static void elem_offset_params(const Node *n, KernelCall *kc)
{
    const Shape *s = &n->in[0]->shape, *is = &n->in[1]->shape;
    int64_t axis = norm(attr_int(n, "axis", 0), s->rank), st[KILN_MAX_RANK];
    strides_of(s, st);
    kc_i(kc, s->rank);
    kc_i(kc, axis);
    kc_is(kc, is->dims, is->rank);
    kc_is(kc, st, s->rank);
    kc_i(kc, s->dims[axis]);
}

static Status lower_gather_elements(const Node *n, KernelCall *kc, Diag *d)
{
    (void)d;
    KC_KERNEL(kc, K, kiln_gather_elements);
    kc_i(kc, esize(n->in[0]));
    kc_i(kc, n->in[1]->dtype);
    kc_i(kc, shape_numel(&n->in[1]->shape));
    elem_offset_params(n, kc);
    return ST_OK;
}

static int64_t reduction(const Node *n)
{
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *r = attr_str(n, "reduction", "none");
    for (int i = 0; i < 5; i++)
        if (!strcmp(r, names[i])) return i;
    return 0; /* the shape rule rejected anything else */
}

static Status lower_scatter_elements(const Node *n, KernelCall *kc, Diag *d)
{
    (void)d;
    KC_KERNEL(kc, K, kiln_scatter_elements);
    kc_i(kc, esize(n->in[0]));
    kc_i(kc, n->in[1]->dtype);
    kc_i(kc, shape_numel(&n->in[1]->shape));
    kc_i(kc, reduction(n));
    kc_i(kc, n->in[0]->dtype);
    kc_i(kc, (int64_t)value_bytes(n->in[0]));
    elem_offset_params(n, kc);
    return ST_OK;
}

/* dims and strides of the k data axes an index tuple addresses, from axis b */
static void tuple_params(const Shape *s, int b, int k, KernelCall *kc)
{
    int64_t st[KILN_MAX_RANK];
    strides_of(s, st);
    kc_is(kc, s->dims + b, k);
    kc_is(kc, st + b, k);
}

static Status lower_gather_nd(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape, *is = &n->in[1]->shape;
    int b = (int)attr_int(n, "batch_dims", 0), k = (int)is->dims[is->rank - 1];
    int64_t nb = prod(is, 0, b);
    (void)d;
    KC_KERNEL(kc, K, kiln_gather_nd);
    kc_i(kc, nb);
    kc_i(kc, prod(is, b, is->rank - 1));
    kc_i(kc, k);
    kc_i(kc, esize(n->in[0]));
    kc_i(kc, n->in[1]->dtype);
    kc_i(kc, prod(s, b + k, s->rank));
    kc_i(kc, prod(s, b, s->rank));
    tuple_params(s, b, k, kc);
    return ST_OK;
}

static Status lower_scatter_nd(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape, *is = &n->in[1]->shape;
    int k = (int)is->dims[is->rank - 1];
    (void)d;
    KC_KERNEL(kc, K, kiln_scatter_nd);
    kc_i(kc, prod(is, 0, is->rank - 1));
    kc_i(kc, k);
    kc_i(kc, esize(n->in[0]));
    kc_i(kc, n->in[1]->dtype);
    kc_i(kc, reduction(n));
    kc_i(kc, n->in[0]->dtype);
    kc_i(kc, (int64_t)value_bytes(n->in[0]));
    kc_i(kc, prod(s, k, s->rank));
    tuple_params(s, 0, k, kc);
    return ST_OK;
}

static Status lower_pad(const Node *n, KernelCall *kc, Diag *d)
{
    const Value *x = n->in[0];
    int64_t begin[KILN_MAX_RANK], end[KILN_MAX_RANK];
    int mode;
    if (movement_pad_plan(n, begin, end, &mode, d)) return d->status;
    /* before opset 11 the constant is an attribute; after, an optional input read at run time */
    bool has_value = has_input(n, 2);
    KC_KERNEL(kc, K, kiln_pad);
    kc_i(kc, x->shape.rank);
    kc_i(kc, esize(x));
    kc_i(kc, mode);
    kc_i(kc, bits_f64(x->dtype, has_value ? 0 : attr_float(n, "value", 0)));
    kc_i(kc, has_value);
    kc_is(kc, x->shape.dims, x->shape.rank);
    kc_is(kc, n->out[0]->shape.dims, x->shape.rank);
    kc_is(kc, begin, x->shape.rank);
    return ST_OK;
}

static Status lower_shape(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t len = n->out[0]->shape.dims[0], r = s->rank, start = attr_int(n, "start", 0);
    (void)d;
    if (start < 0) start += r;
    if (start < 0) start = 0;
    if (start > r) start = r; /* clamped as the shape rule does */
    KC_KERNEL(kc, K, kiln_shape);
    kc_i(kc, len);
    kc_is(kc, s->dims + start, (int)len);
    return ST_OK;
}

static Status lower_size(const Node *n, KernelCall *kc, Diag *d)
{
    (void)d;
    KC_KERNEL(kc, K, kiln_shape);
    kc_i(kc, 1);
    kc_i(kc, shape_numel(&n->in[0]->shape));
    return ST_OK;
}

static Status lower_constant_of_shape(const Node *n, KernelCall *kc, Diag *d)
{
    const Attr *a = attr_get(n, "value");
    int64_t bits = 0;
    (void)d;
    if (a && a->t) memcpy(&bits, a->t->data, dtype_size(a->t->dtype));
    KC_KERNEL(kc, K, kiln_fill);
    kc_i(kc, shape_numel(&n->out[0]->shape));
    kc_i(kc, esize(n->out[0]));
    kc_i(kc, bits);
    return ST_OK;
}

static Status lower_range(const Node *n, KernelCall *kc, Diag *d)
{
    int64_t count;
    double start, delta;
    if (movement_range_plan(n, &count, &start, &delta, d)) return d->status;
    switch (n->out[0]->dtype) {
    case KILN_DTYPE_I16: KC_KERNEL(kc, K, kiln_range_i16); break;
    case KILN_DTYPE_I32: KC_KERNEL(kc, K, kiln_range_i32); break;
    case KILN_DTYPE_I64: KC_KERNEL(kc, K, kiln_range_i64); break;
    case KILN_DTYPE_F32: KC_KERNEL(kc, K, kiln_range_f32); break;
    case KILN_DTYPE_F64: KC_KERNEL(kc, K, kiln_range_f64); break;
    default: return diag_unsupported(d, n, "Range of %s", dtype_name(n->out[0]->dtype));
    }
    /* integer starts and deltas are exact in int64; re-read them rather than trust the doubles */
    int64_t is = 0, id = 0;
    if (dtype_is_int(n->out[0]->dtype) && (const_ints(n, 0, &is, 1, d) < 0 || const_ints(n, 2, &id, 1, d) < 0))
        return d->status;
    kc_i(kc, count);
    kc_i(kc, is);
    kc_i(kc, id);
    kc_f(kc, start);
    kc_f(kc, delta);
    return ST_OK;
}

static Status lower_eye_like(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->out[0]->shape;
    (void)d;
    KC_KERNEL(kc, K, kiln_eye_like);
    kc_i(kc, s->dims[0]);
    kc_i(kc, s->dims[1]);
    kc_i(kc, attr_int(n, "k", 0));
    kc_i(kc, esize(n->out[0]));
    kc_i(kc, bits_f64(n->out[0]->dtype, 1));
    return ST_OK;
}

static Status lower_trilu(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    (void)d;
    KC_KERNEL(kc, K, kiln_trilu);
    kc_i(kc, prod(s, 0, s->rank - 2));
    kc_i(kc, s->dims[s->rank - 2]);
    kc_i(kc, s->dims[s->rank - 1]);
    kc_i(kc, attr_int(n, "upper", 1) != 0);
    kc_i(kc, esize(n->in[0]));
    kc_i(kc, has_input(n, 1));
    return ST_OK;
}

static Status lower_onehot(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t depth, axis;
    if (movement_onehot_plan(n, &depth, &axis, d)) return d->status;
    KC_KERNEL(kc, K, kiln_onehot);
    kc_i(kc, prod(s, 0, (int)axis));
    kc_i(kc, depth);
    kc_i(kc, prod(s, (int)axis, s->rank));
    kc_i(kc, esize(n->out[0]));
    kc_i(kc, n->in[0]->dtype);
    kc_i(kc, n->opset >= 11);
    return ST_OK;
}

const LowerRule lower_movement[] = {
    {OP_Reshape, lower_copy},
    {OP_Flatten, lower_copy},
    {OP_Squeeze, lower_copy},
    {OP_Unsqueeze, lower_copy},
    {OP_Transpose, lower_transpose},
    {OP_Concat, lower_concat},
    {OP_Split, lower_split},
    {OP_Slice, lower_slice},
    {OP_Gather, lower_gather},
    {OP_GatherElements, lower_gather_elements},
    {OP_GatherND, lower_gather_nd},
    {OP_Scatter, lower_scatter_elements},
    {OP_ScatterElements, lower_scatter_elements},
    {OP_ScatterND, lower_scatter_nd},
    {OP_Expand, lower_expand},
    {OP_Tile, lower_tile},
    {OP_Pad, lower_pad},
    {OP_Shape, lower_shape},
    {OP_Size, lower_size},
    {OP_ConstantOfShape, lower_constant_of_shape},
    {OP_Range, lower_range},
    {OP_EyeLike, lower_eye_like},
    {OP_Trilu, lower_trilu},
    {OP_OneHot, lower_onehot},
    {OP_COUNT_, NULL},
};
