#include <stdlib.h>
#include <stdio.h>

struct session { int id; char *user; };

void close_session(struct session *s) {
  int id = s->id;
  free(s->user);
  free(s);
  printf("closed session %d\n", id);
}

int maybe_free(char *buf, int err) {
  if (err) {
    free(buf);
    return -1;
  }
  buf[0] = 'x';
  free(buf);
  buf = NULL;
  return 0;
}
