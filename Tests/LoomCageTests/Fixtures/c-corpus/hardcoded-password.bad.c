#include <string.h>

static const char *db_password = "Sup3rS3cret!";

int login(const char *user, const char *given) {
  (void)user;
  return strcmp(given, db_password) == 0;
}
