/* shape.c — shapes, broadcasting, and the helpers shape rules share. */
#include <string.h>

#include "kiln.h"

Shape shape_make(int rank, const int64_t *dims)
{
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++) s.dims[i] = dims[i];
    return s;
}

int64_t shape_numel(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] < 0) return -1;
        if (s->dims[i] && n > INT64_MAX / s->dims[i]) return -1;
        n *= s->dims[i];
    }
    return n;
}

bool shape_is_static(const Shape *s)
{
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0) return false;
    return true;
}

bool shape_equal(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

size_t value_bytes(const Value *v)
{
    size_t n;
    int64_t numel = shape_numel(&v->shape);
    if (!v->typed || numel < 0 || !mul_size((size_t)numel, dtype_size(v->dtype), &n)) return 0;
    return n;
}

bool value_is_const(const Value *v)
{
    return v && (v->kind == VAL_CONST || (v->kind == VAL_INPUT && v->bound));
}

bool shape_broadcast(const Shape *a, const Shape *b, Shape *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    Shape s = {.rank = r};
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1) s.dims[i] = da;
        else if (da == 1) s.dims[i] = db;
        else return false;
    }
    *out = s;
    return true;
}

bool norm_axis(int64_t axis, int rank, int64_t *out)
{
    if (axis < -rank || axis >= (rank ? rank : 1)) return false;
    *out = axis < 0 ? axis + rank : axis;
    return true;
}

const char *shape_str(const Shape *s, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->rank && k < n; i++) {
        if (s->sym[i]) k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", s->sym[i]);
        else k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)s->dims[i]);
    }
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

void value_set_type(Value *v, DType t, const Shape *s)
{
    v->dtype = t;
    v->shape = *s;
    v->typed = true;
}

bool has_input(const Node *n, int k)
{
    return k < n->nin && n->in[k] != NULL;
}

/* Check that input k is a compile-time constant of at most max elements.
 * A graph input whose value kiln run or --bind supplied becomes bound here:
 * the module is then specialised to that value and checks it at run time. */
static const Value *const_input(const Node *n, int k, int max, Diag *d)
{
    if (!has_input(n, k)) return diag_error(d, ST_INPUT, n, "input %d is missing", k), NULL;
    Value *v = n->in[k];
    if (v->kind == VAL_INPUT && v->data) v->bound = true;
    if (!value_is_const(v))
        return diag_unsupported(d, n, "input %d ('%s') must be known at compile time: it decides a shape "
                                      "(give its value with --bind %s=FILE.npy)", k, v->name, v->name), NULL;
    int64_t numel = shape_numel(&v->shape);
    if (numel < 0 || numel > max)
        return diag_error(d, ST_INPUT, n, "input %d ('%s') has %lld elements, at most %d allowed", k, v->name,
                          (long long)numel, max), NULL;
    return v;
}

int const_ints(const Node *n, int k, int64_t *out, int max, Diag *d)
{
    const Value *v = const_input(n, k, max, d);
    if (!v) return -1;
    if (!dtype_is_int(v->dtype))
        return diag_error(d, ST_INPUT, n, "input %d ('%s') must be an integer tensor, not %s", k, v->name,
                          dtype_name(v->dtype)), -1;
    int64_t numel = shape_numel(&v->shape);
    for (int64_t i = 0; i < numel; i++) out[i] = dtype_load_i64(v->dtype, v->data, (size_t)i);
    return (int)numel;
}

int const_f64s(const Node *n, int k, double *out, int max, Diag *d)
{
    const Value *v = const_input(n, k, max, d);
    if (!v) return -1;
    int64_t numel = shape_numel(&v->shape);
    for (int64_t i = 0; i < numel; i++) out[i] = dtype_load_f64(v->dtype, v->data, (size_t)i);
    return (int)numel;
}
