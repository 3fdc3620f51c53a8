/* ops.c — the op table expanded, and lookup of each op's rules. */
#include <string.h>

#include "kiln.h"

#define V (-1)
const OpInfo op_info[OP_COUNT_] = {
#define OP(name, min_in, max_in, min_out, max_out, attrs) [OP_##name] = {#name, min_in, max_in, min_out, max_out, attrs, false},
#define KOP(name, min_in, max_in, min_out, max_out, attrs) [OP_##name] = {#name, min_in, max_in, min_out, max_out, attrs, true},
#include "ops.def"
#undef KOP
#undef OP
};
#undef V

Op op_from_name(const char *name)
{
    for (int op = 0; op < OP_COUNT_; op++)
        if (strcmp(op_info[op].name, name) == 0) return op;
    return OP_COUNT_;
}

static const InferRule *const infer_tables[] = {
    infer_elementwise, infer_linalg, infer_pool_norm, infer_reduce, infer_movement, infer_resize,
};

InferFn infer_rule(Op op)
{
    for (size_t t = 0; t < sizeof infer_tables / sizeof *infer_tables; t++)
        for (const InferRule *r = infer_tables[t]; r->infer; r++)
            if (r->op == op) return r->infer;
    return NULL;
}
