/* Versions: the library's own and that of the libcurl it runs on. */
#include <curl/curl.h>

#include "uvfetch.h"

const char *uvfetch_version(void) {
  return UVFETCH_VERSION_STRING;
}

const char *uvfetch_curl_version(void) {
  return curl_version_info(CURLVERSION_NOW)->version;
}
