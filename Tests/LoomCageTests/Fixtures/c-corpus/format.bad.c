#include <stdio.h>

void log_message(FILE *log, const char *msg) {
  fprintf(log, msg);
  printf(msg);
}
