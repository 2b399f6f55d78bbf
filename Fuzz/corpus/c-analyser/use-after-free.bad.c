#include <stdlib.h>
#include <stdio.h>

struct session { int id; char *user; };

void close_session(struct session *s) {
  free(s->user);
  free(s);
  printf("closed session %d\n", s->id);
}
