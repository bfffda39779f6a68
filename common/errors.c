/* errors.c - descriptions of the LSYS_E* codes. */
#include "errors.h"

const char *lsys_strerror(int code) {
  switch (code) {
  case LSYS_OK: return "success";
  case LSYS_ENOMEM: return "out of memory";
  case LSYS_EINVAL: return "invalid argument";
  case LSYS_EIO: return "I/O error";
  case LSYS_ETIMEDOUT: return "timed out";
  case LSYS_EFULL: return "buffer full";
  case LSYS_ECONN: return "connection failed";
  case LSYS_EPROTO: return "protocol error";
  case LSYS_ECONFIG: return "invalid configuration";
  case LSYS_ECLOSED: return "closed";
  default: return "unknown error";
  }
}
