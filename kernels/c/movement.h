/* movement.h — reference kernels of the movement operators. */
#ifndef KILN_KERNELS_MOVEMENT_H
#define KILN_KERNELS_MOVEMENT_H
#include "common.h"

#endif
