#include <unistd.h>

int run_tool(char *const argv[]) {
  const char *tool = argv[0];
  return execvp(tool, argv);
}
