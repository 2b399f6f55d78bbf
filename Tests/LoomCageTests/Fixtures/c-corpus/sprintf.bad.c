#include <stdio.h>

void greet(const char *user) {
  char line[80];
  sprintf(line, "Welcome back, %s!", user);
  puts(line);
}
