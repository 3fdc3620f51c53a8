/* infer_reduce.c — shape rules of the reduce operators (see ops.def). */
#include "kiln.h"

const InferRule infer_reduce[] = {
    {OP_COUNT_, NULL},
};
