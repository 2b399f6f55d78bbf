#include "clang_loader.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *g_library;
static char g_error[512];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void load_once(void) {
  const char *chosen = getenv("LOOM_LIBCLANG");
  const char *candidates[] = {chosen, "libclang-14.so.1", "libclang-14.so", "libclang.so.1", "libclang.so", NULL};
  g_error[0] = 0;
  for (int i = chosen ? 0 : 1; candidates[i]; i++) {
    g_library = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
    if (g_library) return;
    if (!g_error[0]) snprintf(g_error, sizeof g_error, "%s", dlerror());
    if (chosen) return;  // the user's choice only
  }
}

int loom_clang_load(char *error, size_t capacity) {
  pthread_once(&g_once, load_once);
  if (g_library) return 1;
  if (error && capacity) snprintf(error, capacity, "%s", g_error);
  return 0;
}

void *loom_clang_symbol(const char *name) {
  if (!loom_clang_load(NULL, 0)) {
    fprintf(stderr, "Loom: %s called before libclang was loaded (%s)\n", name, g_error);
    abort();
  }
  void *f = dlsym(g_library, name);
  if (!f) {
    fprintf(stderr, "Loom: libclang has no %s (%s)\n", name, dlerror());
    abort();
  }
  return f;
}
