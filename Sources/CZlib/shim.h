#pragma once
#include <zlib.h>

// inflateInit2 is a macro Swift cannot import; windowBits 15+32 auto-detects gzip or zlib.
static inline int loom_inflate_init_auto(z_stream *s) { return inflateInit2(s, 15 + 32); }
