/* The error table: uvfetch's own codes, with libuv's passed through. */
#include "uvfetch.h"

/* Only libuv's own codes go to libuv: for any other it allocates an
 * "Unknown system error" string that nobody frees. */
static int is_uv_error(int err) {
  switch (err) {
#define XX(name, msg)                                                          \
  case UV_##name:                                                              \
    return 1;
    UV_ERRNO_MAP(XX)
#undef XX
  default:
    return 0;
  }
}

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
  if (is_uv_error(err))
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
  if (is_uv_error(err))
    return uv_err_name(err);
  return "UNKNOWN";
}
