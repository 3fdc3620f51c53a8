/* lower_linalg.c — kernel choice and parameters for the linalg operators. */
#include "kiln.h"
#include "../kernels/c/linalg.h"

const LowerRule lower_linalg[] = {
    {OP_COUNT_, NULL},
};
