// Portable variant (any CPU): plain loops, libm.
#include <math.h>
#include <stdint.h>

#define TABLE_NAME loom_isa_scalar
static void vexp(const float *x, float *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]); }
static void vlog(const float *x, float *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = logf(x[i]); }
static void vtanh(const float *x, float *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]); }
static void verf(const float *x, float *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = erff(x[i]); }
static void vsin(const float *x, float *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = sinf(x[i]); }
static void vcos(const float *x, float *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = cosf(x[i]); }
#include "isa_impl.h"
