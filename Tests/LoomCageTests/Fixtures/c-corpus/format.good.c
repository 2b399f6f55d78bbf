#include <stdio.h>
#include <stdarg.h>

void log_message(FILE *log, const char *msg) {
  fprintf(log, "%s", msg);
  printf("%s\n", msg);
}

void log_format(FILE *log, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(log, fmt, ap);
  va_end(ap);
}
