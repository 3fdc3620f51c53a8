/* resize.h — reference kernels of the resize operators. */
#ifndef KILN_KERNELS_RESIZE_H
#define KILN_KERNELS_RESIZE_H
#include "common.h"

#endif
