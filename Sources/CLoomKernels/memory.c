// Large tensor blocks as their own mappings (see BufferPool.init for why). glibc's
// malloc raises its mmap threshold to the largest block freed so far; after that,
// big blocks come from the heap and freed ones are reused, and written, by whatever
// comes next. A fixed threshold (mallopt turns the dynamic one off) returns a freed
// block to the system at once. No-op outside glibc.
#include "loom_kernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void loom_fix_mmap_threshold(int64_t bytes) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, (int)bytes);
#else
  (void)bytes;
#endif
}
