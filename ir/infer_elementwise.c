/* infer_elementwise.c — shape rules of the elementwise operators (see ops.def). */
#include <string.h>

#include "kiln.h"

/* Classes of element types, for what each op accepts. */
enum { TF = 1, TS = 2, TU = 4, TB = 8, TN = TF | TS | TU, TALL = TN | TB };

static unsigned type_class(DType t)
{
    if (dtype_is_float(t)) return TF;
    if (dtype_is_signed(t)) return TS;
    if (dtype_is_int(t)) return TU;
    return t == KILN_DTYPE_BOOL ? TB : 0;
}

/* The types each op takes (ONNX's lists, as far as kiln has kernels). */
static unsigned op_types(Op op)
{
    switch (op) {
    case OP_Abs: case OP_Sign: case OP_Clip: case OP_Add: case OP_Sub: case OP_Mul: case OP_Div:
    case OP_Mod: case OP_Max: case OP_Min: case OP_Greater: case OP_Less: case OP_GreaterOrEqual:
    case OP_LessOrEqual:
        return TN;
    case OP_Neg: case OP_Relu: case OP_PRelu: return TF | TS;
    case OP_Pow: return TF | TS; /* of the base; i32 and i64 only, checked in infer_pow */
    case OP_BitShift: return TU;
    case OP_Not: case OP_And: case OP_Or: case OP_Xor: return TB;
    case OP_Equal: case OP_Identity: return TALL;
    default: return TF;
    }
}

/* An empty name can still stand for a required input in the middle of the list. */
static Status required(const Node *n, Diag *d)
{
    for (int k = 0; k < op_info[n->op].min_in; k++)
        if (!n->in[k]) return diag_error(d, ST_INPUT, n, "input %d is required but empty", k);
    return ST_OK;
}

static Status check_type(const Node *n, int k, unsigned allowed, Diag *d)
{
    DType t = n->in[k]->dtype;
    if (type_class(t) & allowed) return ST_OK;
    char want[64] = "";
    static const char *const names[] = {"float", "signed integer", "unsigned integer", "bool"};
    for (int c = 0; c < 4; c++)
        if (allowed & (1u << c))
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", *want ? " or " : "", names[c]);
    return diag_unsupported(d, n, "input %d is %s; %s takes %s tensors", k, dtype_name(t), op_info[n->op].name, want);
}

static Status same_type(const Node *n, int k0, int k1, Diag *d)
{
    DType a = n->in[k0]->dtype, b = n->in[k1]->dtype;
    if (a == b) return ST_OK;
    return diag_error(d, ST_INPUT, n, "inputs %d and %d must have one type, not %s and %s", k0, k1,
                      dtype_name(a), dtype_name(b));
}

/* An input's shape for broadcasting. Before opset 7, a binary op with
 * broadcast=1 and axis lines input 1 up with input 0 from that axis (not
 * from the right), and PRelu's 1-D slope is per channel (axis 1). */
Shape elementwise_bcast_shape(const Node *n, int k)
{
    Shape s = n->in[k]->shape;
    int64_t axis = -1;
    int r0 = n->in[0]->shape.rank;
    if (n->opset >= 7 || k != 1) return s;
    if (n->op == OP_PRelu) axis = s.rank == 1 && s.dims[0] > 1 && r0 >= 2 ? 1 : -1;
    else if (attr_int(n, "broadcast", 0) && attr_get(n, "axis")) axis = attr_int(n, "axis", 0);
    if (axis < 0 || axis + s.rank > r0) return s;
    while (s.rank < r0 - axis) s.dims[s.rank++] = 1;
    return s;
}

/* Broadcast the shapes of inputs k0..k1 (present ones) into *s. */
static Status broadcast(const Node *n, int k0, int k1, Shape *s, Diag *d)
{
    *s = elementwise_bcast_shape(n, k0);
    for (int k = k0 + 1; k <= k1; k++) {
        if (!has_input(n, k)) continue;
        Shape t = *s, u = elementwise_bcast_shape(n, k);
        if (!shape_broadcast(&t, &u, s)) {
            char a[128], b[128];
            return diag_error(d, ST_INPUT, n, "shapes %s and %s (input %d) do not broadcast",
                              shape_str(&t, a, sizeof a), shape_str(&u, b, sizeof b), k);
        }
    }
    return ST_OK;
}

static void set_out(Node *n, int k, DType t, const Shape *s)
{
    if (k < n->nout && n->out[k]) value_set_type(n->out[k], t, s);
}

/* Unary ops: the output is the input's type and shape. */
static Status infer_unary(Node *n, Diag *d)
{
    Status st = required(n, d);
    if (!st) st = check_type(n, 0, op_types(n->op), d);
    if (st) return st;
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return ST_OK;
}

static Status infer_gelu(Node *n, Diag *d)
{
    const char *a = attr_str(n, "approximate", "none");
    if (strcmp(a, "none") && strcmp(a, "tanh"))
        return diag_error(d, ST_INPUT, n, "approximate must be 'none' or 'tanh', not '%s'", a);
    return infer_unary(n, d);
}

static Status infer_celu(Node *n, Diag *d)
{
    if (attr_float(n, "alpha", 1.0) == 0) return diag_error(d, ST_INPUT, n, "alpha must not be 0");
    return infer_unary(n, d);
}

/* IsNaN, IsInf: floats to bool. */
static Status infer_pred(Node *n, Diag *d)
{
    Status st = required(n, d);
    if (!st) st = check_type(n, 0, TF, d);
    if (st) return st;
    set_out(n, 0, KILN_DTYPE_BOOL, &n->in[0]->shape);
    return ST_OK;
}

static Status cast_to(Node *n, DType to, Diag *d)
{
    DType from = n->in[0]->dtype;
    if (from == KILN_DTYPE_STRING || to == KILN_DTYPE_STRING)
        return diag_unsupported(d, n, "casts from or to string are not supported");
    if (!dtype_size(to) || !dtype_ctype(to))
        return diag_unsupported(d, n, "cast to element type %lld is not supported", (long long)to);
    Status st = check_type(n, 0, TALL, d);
    if (st) return st;
    set_out(n, 0, to, &n->in[0]->shape);
    return ST_OK;
}

static Status infer_cast(Node *n, Diag *d)
{
    if (required(n, d)) return d->status;
    int64_t to = attr_int(n, "to", -1);
    if (!attr_get(n, "to")) return diag_error(d, ST_INPUT, n, "attribute 'to' is missing");
    if (to <= 0 || to >= KILN_DTYPE_COUNT_)
        return diag_unsupported(d, n, "cast to element type %lld is not supported", (long long)to);
    return cast_to(n, (DType)to, d);
}

static Status infer_castlike(Node *n, Diag *d)
{
    if (required(n, d)) return d->status;
    return cast_to(n, n->in[1]->dtype, d);
}

/* Clip: bounds are optional scalar inputs from opset 11, attributes before. */
static Status infer_clip(Node *n, Diag *d)
{
    Status st = required(n, d);
    if (!st) st = check_type(n, 0, TN, d);
    for (int k = 1; k <= 2 && !st; k++) {
        if (!has_input(n, k)) continue;
        st = same_type(n, 0, k, d);
        if (!st && shape_numel(&n->in[k]->shape) != 1)
            st = diag_error(d, ST_INPUT, n, "input %d (%s) must be a scalar", k, k == 1 ? "min" : "max");
    }
    if (st) return st;
    if (n->opset < 11 && !dtype_is_float(n->in[0]->dtype))
        return diag_error(d, ST_INPUT, n, "Clip before opset 11 takes float tensors");
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return ST_OK;
}

/* Input k as one number known at compile time. */
static Status const_scalar(const Node *n, int k, double *v, Diag *d)
{
    const Value *in = n->in[k];
    if (!value_is_const(in) && !(in->kind == VAL_INPUT && in->data))
        return diag_unsupported(d, n, "input %d ('%s') must be known at compile time "
                                      "(give its value with --bind %s=FILE.npy)", k, in->name, in->name);
    int cnt = const_f64s(n, k, v, 1, d);
    if (cnt < 0) return ST_INPUT;
    if (cnt != 1) return diag_error(d, ST_INPUT, n, "input %d must be a scalar", k);
    return ST_OK;
}

/* Dropout is compiled for inference: y = x and a mask of all true. Training
 * mode (opset 12's third input) is random unless the ratio is 0. */
static Status infer_dropout(Node *n, Diag *d)
{
    Status st = required(n, d);
    if (!st) st = check_type(n, 0, TF, d);
    if (st) return st;
    if (has_input(n, 2)) {
        double training, ratio = 0.5;
        Status st2 = const_scalar(n, 2, &training, d);
        if (!st2 && training != 0 && has_input(n, 1)) st2 = const_scalar(n, 1, &ratio, d);
        if (st2) return st2;
        if (training != 0 && ratio != 0)
            return diag_unsupported(d, n, "Dropout in training mode is random; kiln compiles for inference "
                                          "(set training_mode to false)");
    }
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    if (n->nout > 1 && n->out[1]) {
        if (n->opset < 10) return diag_unsupported(d, n, "Dropout's mask output before opset 10 is not supported");
        set_out(n, 1, KILN_DTYPE_BOOL, &n->in[0]->shape);
    }
    return ST_OK;
}

static bool is_compare(Op op)
{
    return op == OP_Equal || op == OP_Greater || op == OP_Less || op == OP_GreaterOrEqual || op == OP_LessOrEqual;
}

/* Binary ops with NumPy broadcasting; comparisons give bool. */
static Status infer_binary(Node *n, Diag *d)
{
    Shape s;
    Status st = required(n, d);
    if (!st) st = same_type(n, 0, 1, d);
    if (!st) st = check_type(n, 0, op_types(n->op), d);
    if (!st) st = broadcast(n, 0, 1, &s, d);
    if (st) return st;
    set_out(n, 0, is_compare(n->op) ? KILN_DTYPE_BOOL : n->in[0]->dtype, &s);
    return ST_OK;
}

static Status infer_mod(Node *n, Diag *d)
{
    int64_t fmod_ = attr_int(n, "fmod", 0);
    if (fmod_ != 0 && fmod_ != 1) return diag_error(d, ST_INPUT, n, "fmod must be 0 or 1, not %lld", (long long)fmod_);
    if (required(n, d)) return d->status;
    if (fmod_ == 0 && dtype_is_float(n->in[0]->dtype))
        return diag_error(d, ST_INPUT, n, "Mod of floating-point inputs requires fmod=1");
    return infer_binary(n, d);
}

static Status infer_bitshift(Node *n, Diag *d)
{
    const char *dir = attr_str(n, "direction", "");
    if (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT"))
        return diag_error(d, ST_INPUT, n, "direction must be 'LEFT' or 'RIGHT', not '%s'", dir);
    return infer_binary(n, d);
}

/* Pow: the exponent may have another numeric type; the output has the base's. */
static Status infer_pow(Node *n, Diag *d)
{
    Shape s;
    if (required(n, d)) return d->status;
    DType b = n->in[0]->dtype;
    Status st = check_type(n, 1, TN, d);
    if (!st && !dtype_is_float(b) && b != KILN_DTYPE_I32 && b != KILN_DTYPE_I64)
        st = diag_unsupported(d, n, "input 0 is %s; Pow takes float, i32 or i64 bases", dtype_name(b));
    if (!st) st = broadcast(n, 0, 1, &s, d);
    if (st) return st;
    set_out(n, 0, b, &s);
    return ST_OK;
}

/* PRelu: slope broadcasts to x (one way), the output has x's shape. */
static Status infer_prelu(Node *n, Diag *d)
{
    Shape s;
    Status st = infer_binary(n, d);
    if (st) return st;
    s = n->out[0]->shape;
    if (!shape_equal(&s, &n->in[0]->shape)) {
        char a[128], b[128];
        return diag_error(d, ST_INPUT, n, "slope %s does not broadcast to the shape of x %s",
                          shape_str(&n->in[1]->shape, a, sizeof a), shape_str(&n->in[0]->shape, b, sizeof b));
    }
    return ST_OK;
}

static Status infer_where(Node *n, Diag *d)
{
    Shape s;
    if (required(n, d)) return d->status;
    DType t = n->in[1]->dtype;
    Status st = same_type(n, 1, 2, d);
    if (!st && n->in[0]->dtype != KILN_DTYPE_BOOL)
        st = diag_error(d, ST_INPUT, n, "condition must be bool, not %s", dtype_name(n->in[0]->dtype));
    if (!st) st = check_type(n, 1, TALL, d);
    if (!st) st = broadcast(n, 0, 2, &s, d);
    if (st) return st;
    set_out(n, 0, t, &s);
    return ST_OK;
}

/* Max, Min, Sum, Mean: any number of inputs of one type, all broadcast. */
static Status infer_nary(Node *n, Diag *d)
{
    Shape s;
    Status st = ST_OK;
    for (int k = 0; k < n->nin && !st; k++) {
        if (!n->in[k]) st = diag_error(d, ST_INPUT, n, "input %d is empty", k);
        else if (k) st = same_type(n, 0, k, d);
    }
    if (!st) st = check_type(n, 0, op_types(n->op), d);
    if (!st) st = broadcast(n, 0, n->nin - 1, &s, d);
    if (st) return st;
    set_out(n, 0, n->in[0]->dtype, &s);
    return ST_OK;
}

const InferRule infer_elementwise[] = {
    {OP_Abs, infer_unary}, {OP_Neg, infer_unary}, {OP_Floor, infer_unary}, {OP_Ceil, infer_unary},
    {OP_Round, infer_unary}, {OP_Sqrt, infer_unary}, {OP_Reciprocal, infer_unary}, {OP_Exp, infer_unary},
    {OP_Log, infer_unary}, {OP_Sin, infer_unary}, {OP_Cos, infer_unary}, {OP_Tan, infer_unary},
    {OP_Asin, infer_unary}, {OP_Acos, infer_unary}, {OP_Atan, infer_unary}, {OP_Sinh, infer_unary},
    {OP_Cosh, infer_unary}, {OP_Asinh, infer_unary}, {OP_Acosh, infer_unary}, {OP_Atanh, infer_unary},
    {OP_Sign, infer_unary}, {OP_Not, infer_unary}, {OP_IsNaN, infer_pred}, {OP_IsInf, infer_pred},
    {OP_Erf, infer_unary}, {OP_Identity, infer_unary}, {OP_Cast, infer_cast}, {OP_CastLike, infer_castlike},

    {OP_Relu, infer_unary}, {OP_LeakyRelu, infer_unary}, {OP_PRelu, infer_prelu}, {OP_Elu, infer_unary},
    {OP_Selu, infer_unary}, {OP_Celu, infer_celu}, {OP_Sigmoid, infer_unary}, {OP_HardSigmoid, infer_unary},
    {OP_HardSwish, infer_unary}, {OP_Tanh, infer_unary}, {OP_Softplus, infer_unary},
    {OP_Softsign, infer_unary}, {OP_Gelu, infer_gelu}, {OP_Mish, infer_unary},
    {OP_ThresholdedRelu, infer_unary}, {OP_Shrink, infer_unary}, {OP_Clip, infer_clip},
    {OP_Dropout, infer_dropout},

    {OP_Add, infer_binary}, {OP_Sub, infer_binary}, {OP_Mul, infer_binary}, {OP_Div, infer_binary},
    {OP_Pow, infer_pow}, {OP_Mod, infer_mod}, {OP_BitShift, infer_bitshift}, {OP_Equal, infer_binary},
    {OP_Greater, infer_binary}, {OP_Less, infer_binary}, {OP_GreaterOrEqual, infer_binary},
    {OP_LessOrEqual, infer_binary}, {OP_And, infer_binary}, {OP_Or, infer_binary}, {OP_Xor, infer_binary},
    {OP_Where, infer_where}, {OP_Max, infer_nary}, {OP_Min, infer_nary}, {OP_Sum, infer_nary},
    {OP_Mean, infer_nary},
    {OP_COUNT_, NULL},
};
