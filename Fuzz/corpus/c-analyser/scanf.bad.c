#include <stdio.h>

int ask(void) {
  char word[16];
  int n;
  if (scanf("%d %s", &n, word) != 2) return -1;
  return n + word[0];
}
