#include <windows.h>

BOOL open_to_all(SECURITY_DESCRIPTOR *sd) {
  InitializeSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION);
  return SetSecurityDescriptorDacl(sd, TRUE, NULL, FALSE);
}
