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

bool op_attr_kind(Op op, const char *name, AttrKind *kind)
{
    static const char *const kinds[] = {"f", "i", "s", "t", "g", "fs", "is", "ss", "ts"};
    size_t len = strlen(name);
    for (const char *p = op_info[op].attrs; *p;) {
        while (*p == ' ') p++;
        const char *colon = strchr(p, ':'), *end = strchr(p, ' ');
        if (!end) end = p + strlen(p);
        if (colon && colon < end && (size_t)(colon - p) == len && strncmp(p, name, len) == 0)
            for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
                if (strlen(kinds[k]) == (size_t)(end - colon - 1) && strncmp(colon + 1, kinds[k], strlen(kinds[k])) == 0) {
                    *kind = (AttrKind)k;
                    return true;
                }
        p = end;
    }
    return false;
}

static const InferRule *const infer_tables[] = {
    infer_elementwise, infer_linalg, infer_pool_norm, infer_reduce, infer_movement, infer_resize, infer_fused,
};

InferFn infer_rule(Op op)
{
    for (size_t t = 0; t < sizeof infer_tables / sizeof *infer_tables; t++)
        for (const InferRule *r = infer_tables[t]; r->infer; r++)
            if (r->op == op) return r->infer;
    return NULL;
}
