// Portable kernel table (any CPU; the only one on non-x86).
#include <math.h>
#include "kern_internal.h"
#include "simd_scalar.h"
#define KT_NAME loom_kt_scalar
#define KT_BITS 0
#include "body_all.h"
