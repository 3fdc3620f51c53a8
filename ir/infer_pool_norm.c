/* infer_pool_norm.c — shape rules of the pool_norm operators (see ops.def). */
#include "kiln.h"

const InferRule infer_pool_norm[] = {
    {OP_COUNT_, NULL},
};
