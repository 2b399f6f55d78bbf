#include <stdio.h>

void greet(const char *user, int visits) {
  char line[80];
  snprintf(line, sizeof line, "Welcome back, %s!", user);
  puts(line);
  char count[16];
  sprintf(count, "%d", visits % 1000);
  puts(count);
}
