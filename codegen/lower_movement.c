/* lower_movement.c — kernel choice and parameters for the movement operators. */
#include "kiln.h"
#include "../kernels/c/movement.h"

const LowerRule lower_movement[] = {
    {OP_COUNT_, NULL},
};
