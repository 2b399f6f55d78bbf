#include <string.h>

struct user { char login[32]; };

void set_login(struct user *u, const char *input) {
  strcpy(u->login, input);
}
