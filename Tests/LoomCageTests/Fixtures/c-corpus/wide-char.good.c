#include <windows.h>

void to_wide(const char *name) {
  wchar_t wide[64];
  MultiByteToWideChar(CP_UTF8, 0, name, -1, wide, sizeof(wide) / sizeof(wide[0]));
}
