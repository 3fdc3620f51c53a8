/* pipeline.c — the pass table, and the pipelines: plain ordered lists, one
 * per optimisation level. */
#include <string.h>

#include "kiln.h"

const Pass passes[] = {
    {"infer-shapes", "give every value a dtype and static shape; fold small shape computations", pass_infer_shapes},
    {"fold-constants", "evaluate nodes whose inputs are all known at compile time", pass_fold_constants},
    {"eliminate-dead", "remove nodes whose results nobody uses", pass_eliminate_dead},
    {"fold-batchnorm", "fold inference BatchNormalization into the Conv/Gemm/MatMul before it", pass_fold_batchnorm},
    {"eliminate-noops", "remove Identity, Dropout, same-type Casts, same-shape reshapes, cancelling transposes, ...", pass_eliminate_noops},
    {"simplify", "algebraic identities (x*1, x+0, Neg(Neg(x)), ...); merge reshapes, compose transposes", pass_simplify},
    {"cse", "merge equal constants and nodes that compute the same thing", pass_cse},
    {"fuse-layernorm", "recognise LayerNormalization written out as ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add", pass_fuse_layernorm},
    {"fuse-gelu", "recognise GELU written out with Erf or Tanh (x * 0.5 * (1 + ...))", pass_fuse_gelu},
    {"fuse-attention", "MatMul, scale, mask Add, Softmax, MatMul into one Attention node; the Transposes around it into its perms", pass_fuse_attention},
    {"fuse-epilogues", "Conv/Gemm/MatMul + bias Add + residual Add + activation into one node", pass_fuse_epilogues},
    {"fuse-elementwise", "chains of float elementwise ops into one Elementwise node (one loop)", pass_fuse_elementwise},
    {"layout-channels-last", "2-D float convolutions channels last (NHWC) on the C target, no transposes inside a chain", pass_layout_channels_last},
    {"fuse-separable", "a channels-last depthwise Conv and the pointwise one reading it into one node (C target)", pass_fuse_separable},
    {"plan-memory", "pack intermediate tensors into one workspace by lifetime", pass_plan_memory},
};
const int npasses = sizeof passes / sizeof *passes;

/* Code generation needs types first and a memory plan last, at every level. */
static const char *const level0[] = {"infer-shapes", "plan-memory", NULL};
static const char *const level1[] = {"infer-shapes", "fold-constants", "eliminate-noops", "simplify", "cse",
                                     "eliminate-dead", "plan-memory", NULL};
static const char *const level2[] = {"infer-shapes", "fold-constants", "fold-batchnorm", "eliminate-noops", "simplify",
                                     "cse", "fuse-layernorm", "fuse-gelu", "fuse-attention", "fuse-epilogues",
                                     "fuse-elementwise", "layout-channels-last", "eliminate-dead", "fuse-separable",
                                     "eliminate-dead", "plan-memory", NULL};

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
