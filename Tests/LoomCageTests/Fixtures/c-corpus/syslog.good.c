#include <syslog.h>

void audit(const char *event) {
  syslog(LOG_INFO, "%s", event);
}
