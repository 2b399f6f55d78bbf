#include <stdlib.h>
#include <string.h>

static const char *password_prompt = "Password: ";

int login(const char *user, const char *given) {
  const char *db_password = getenv("APP_DB_PASSWORD");
  (void)user;
  (void)password_prompt;
  return db_password != NULL && strcmp(given, db_password) == 0;
}
