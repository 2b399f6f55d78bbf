#include <stdio.h>
#include <string.h>

int read_name(void) {
  char name[64];
  printf("name: ");
  if (fgets(name, sizeof name, stdin) == NULL) return -1;
  name[strcspn(name, "\n")] = '\0';
  printf("hello %s\n", name);
  return 0;
}
