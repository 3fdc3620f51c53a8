/* pool_norm.h — reference kernels of the pool_norm operators. */
#ifndef KILN_KERNELS_POOL_NORM_H
#define KILN_KERNELS_POOL_NORM_H
#include "common.h"

#endif
