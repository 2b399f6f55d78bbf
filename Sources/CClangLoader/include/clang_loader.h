#pragma once
// libclang loaded on first use instead of at program start: libclang and libLLVM, linked, cost
// every `loom` command ~50 MB of resident pages (their relocations) whether or not it analyses C.
// The cage's C analyser asks `loom_clang_load` first; every clang_ function it calls is a
// trampoline (clang_trampolines.c) into the loaded library.
#include <clang-c/Index.h>
#include <stddef.h>

/// Loads libclang once (LOOM_LIBCLANG names the file; else libclang-14.so.1, libclang-14.so,
/// libclang.so.1, libclang.so). Returns 1 when loaded; else 0 with dlopen's reason in `error`.
int loom_clang_load(char *error, size_t capacity);

/// A libclang function; aborts with a message when libclang is not loaded or lacks it.
void *loom_clang_symbol(const char *name);
