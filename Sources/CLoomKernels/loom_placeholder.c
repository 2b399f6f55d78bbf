// Placeholder so the target builds; kernels live in the other .c files.
#include "loom_kernels.h"
