/* lower_elementwise.c — kernel choice and parameters for the elementwise operators. */
#include "kiln.h"
#include "../kernels/c/elementwise.h"

const LowerRule lower_elementwise[] = {
    {OP_COUNT_, NULL},
};
