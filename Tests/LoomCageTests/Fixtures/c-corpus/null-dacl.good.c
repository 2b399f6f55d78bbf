#include <windows.h>

BOOL restrict_access(SECURITY_DESCRIPTOR *sd, PACL acl) {
  InitializeSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION);
  return SetSecurityDescriptorDacl(sd, TRUE, acl, FALSE);
}
