/* infer_movement.c — shape rules of the movement operators (see ops.def). */
#include "kiln.h"

const InferRule infer_movement[] = {
    {OP_COUNT_, NULL},
};
