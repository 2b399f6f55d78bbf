#pragma once
// libclang's C interface (Debian's libclang-dev, LLVM 14); the include path comes from libclang.pc.
#include <clang-c/Index.h>
