#include <stdio.h>
#include <string.h>

struct user { char login[32]; };

void set_login(struct user *u, const char *input) {
  snprintf(u->login, sizeof u->login, "%s", input);
  strcpy(u->login, "guest");
}
