/* The error table: uvfetch's own codes, with libuv's passed through. */
#include "uvfetch.h"

const char *uvfetch_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define XX(name, value, msg)                                                   \
  case UVFETCH_##name:                                                         \
    return msg;
    UVFETCH_ERRNO_MAP(XX)
#undef XX
  default:
    break;
  }
  /* libuv codes are negated errno values or in -3000..-4095; anything else
   * it names "Unknown system error" itself. */
  if (err < 0 && err > UVFETCH_ERRNO_MAX_)
    return uv_strerror(err);
  return "unknown error";
}

const char *uvfetch_err_name(int err) {
  switch (err) {
  case 0:
    return "OK";
#define XX(name, value, msg)                                                   \
  case UVFETCH_##name:                                                         \
    return "UVFETCH_" #name;
    UVFETCH_ERRNO_MAP(XX)
#undef XX
  default:
    break;
  }
  if (err < 0 && err > UVFETCH_ERRNO_MAX_)
    return uv_err_name(err);
  return "UNKNOWN";
}
