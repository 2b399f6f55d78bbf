#include <stdio.h>

int read_name(void) {
  char name[64];
  printf("name: ");
  gets(name);
  printf("hello %s\n", name);
  return 0;
}
