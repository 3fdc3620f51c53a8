/* lower_reduce.c — kernel choice and parameters for the reduce operators. */
#include "kiln.h"
#include "../kernels/c/reduce.h"

const LowerRule lower_reduce[] = {
    {OP_COUNT_, NULL},
};
