/* Prints the layout of uvfetch.h's public structs, one line each:
 * "STRUCT sizeof N" and "STRUCT FIELD offset N". test_uvfetch.py compiles
 * it against the header and compares it with the ctypes mirrors. */
#include <stddef.h>
#include <stdio.h>

#include <uvfetch.h>

#define SIZE(t) printf("%s sizeof %zu\n", #t, sizeof(t))
#define OFF(t, f) printf("%s %s offset %zu\n", #t, #f, offsetof(t, f))

int main(void) {
  SIZE(uvfetch_result_t);
  OFF(uvfetch_result_t, url);
  OFF(uvfetch_result_t, effective_url);
  OFF(uvfetch_result_t, data);
  OFF(uvfetch_result_t, ordinal);
  OFF(uvfetch_result_t, ok);
  OFF(uvfetch_result_t, error);
  OFF(uvfetch_result_t, curl_code);
  OFF(uvfetch_result_t, message);
  OFF(uvfetch_result_t, http_code);
  OFF(uvfetch_result_t, http_version);
  OFF(uvfetch_result_t, redirects);
  OFF(uvfetch_result_t, bytes);
  OFF(uvfetch_result_t, wire_bytes);
  OFF(uvfetch_result_t, total_time);
  OFF(uvfetch_result_t, ttfb);
  OFF(uvfetch_result_t, attempts);
  OFF(uvfetch_result_t, start_time);
  OFF(uvfetch_result_t, dns_time);
  OFF(uvfetch_result_t, connect_time);
  OFF(uvfetch_result_t, tls_time);
  OFF(uvfetch_result_t, slot);

  SIZE(uvfetch_options_t);
  OFF(uvfetch_options_t, max_concurrent);
  OFF(uvfetch_options_t, ordered);
  OFF(uvfetch_options_t, order_window);
  OFF(uvfetch_options_t, follow_redirects);
  OFF(uvfetch_options_t, max_redirects);
  OFF(uvfetch_options_t, compressed);
  OFF(uvfetch_options_t, verify_tls);
  OFF(uvfetch_options_t, connect_timeout_ms);
  OFF(uvfetch_options_t, timeout_ms);
  OFF(uvfetch_options_t, low_speed_limit);
  OFF(uvfetch_options_t, low_speed_time);
  OFF(uvfetch_options_t, max_filesize);
  OFF(uvfetch_options_t, http_version);
  OFF(uvfetch_options_t, protocols);
  OFF(uvfetch_options_t, user_agent);
  OFF(uvfetch_options_t, cacert);
  OFF(uvfetch_options_t, proxy);
  OFF(uvfetch_options_t, headers);
  OFF(uvfetch_options_t, retries);
  OFF(uvfetch_options_t, retry_delay_ms);
  OFF(uvfetch_options_t, retry_max_time_ms);
  OFF(uvfetch_options_t, max_per_host);
  OFF(uvfetch_options_t, rate);
  OFF(uvfetch_options_t, data);
  OFF(uvfetch_options_t, resolve);
  OFF(uvfetch_options_t, dns_cache_ms);
  OFF(uvfetch_options_t, dns_cache_size);
  OFF(uvfetch_options_t, idle_timeout_ms);
  OFF(uvfetch_options_t, location_trusted);
  OFF(uvfetch_options_t, adaptive);

  SIZE(uvfetch_request_t);
  OFF(uvfetch_request_t, url);
  OFF(uvfetch_request_t, data);
  OFF(uvfetch_request_t, flags);
  OFF(uvfetch_request_t, headers);
  OFF(uvfetch_request_t, timeout_ms);
  OFF(uvfetch_request_t, on_body);
  OFF(uvfetch_request_t, on_header);
  OFF(uvfetch_request_t, on_setup);

  SIZE(uvfetch_stats_t);
  OFF(uvfetch_stats_t, added);
  OFF(uvfetch_stats_t, queued);
  OFF(uvfetch_stats_t, waiting);
  OFF(uvfetch_stats_t, running);
  OFF(uvfetch_stats_t, held);
  OFF(uvfetch_stats_t, done);
  OFF(uvfetch_stats_t, failed);
  OFF(uvfetch_stats_t, dns_lookups);
  OFF(uvfetch_stats_t, dns_hits);
  OFF(uvfetch_stats_t, dns_failures);

  /* The defaults the Python side starts from come from the library
   * (uvfetch_options_init), so only the enum values it hard-codes are
   * printed. */
  printf("const UVFETCH_EURL %d\n", UVFETCH_EURL);
  printf("const UVFETCH_ECLOSING %d\n", UVFETCH_ECLOSING);
  printf("const UVFETCH_ENOTFOUND %d\n", UVFETCH_ENOTFOUND);
  printf("const UVFETCH_ADD_REPORT_INVALID %d\n", UVFETCH_ADD_REPORT_INVALID);
  printf("const UV_RUN_DEFAULT %d\n", UV_RUN_DEFAULT);
  printf("const UV_RUN_NOWAIT %d\n", UV_RUN_NOWAIT);
  return 0;
}
