/* pipeline.c — the pass table, and the pipelines: plain ordered lists, one
 * per optimisation level. */
#include <string.h>

#include "kiln.h"

const Pass passes[] = {
    {"infer-shapes", "give every value a dtype and static shape; fold small shape computations", pass_infer_shapes},
    {"fold-constants", "evaluate nodes whose inputs are all known at compile time", pass_fold_constants},
    {"eliminate-dead", "remove nodes whose results nobody uses", pass_eliminate_dead},
    {"plan-memory", "pack intermediate tensors into one workspace by lifetime", pass_plan_memory},
};
const int npasses = sizeof passes / sizeof *passes;

/* Code generation needs types first and a memory plan last, at every level. */
static const char *const level0[] = {"infer-shapes", "plan-memory", NULL};
static const char *const level1[] = {"infer-shapes", "fold-constants", "eliminate-dead", "plan-memory", NULL};
static const char *const level2[] = {"infer-shapes", "fold-constants", "eliminate-dead", "plan-memory", NULL};

const char *const *pipeline_for_level(int level)
{
    return level <= 0 ? level0 : level == 1 ? level1 : level2;
}

const Pass *pass_find(const char *name)
{
    for (int i = 0; i < npasses; i++)
        if (strcmp(passes[i].name, name) == 0) return &passes[i];
    return NULL;
}
