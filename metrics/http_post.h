// One HTTP POST of a JSON body with W&B's Basic auth (user "api", password the
// API key), through libcurl. The key goes only into curl's credentials: it is
// never part of a URL, an error message or a log line.
#ifndef EDGECOMPRESS_METRICS_HTTP_POST_H_
#define EDGECOMPRESS_METRICS_HTTP_POST_H_

#include <atomic>
#include <string>

#include "absl/time/time.h"

namespace edgecompress::metrics {

struct HttpResponse {
  int status = 0;            // 0: no response (refused, timed out, cancelled)
  std::string body;
  std::string retry_after;   // the Retry-After header, empty when absent
  std::string error;         // why status is 0 (curl's message, no credentials)
};

// Blocks for at most `timeout`; returns early with status 0 once `*cancel`
// becomes true (checked about every 100 ms and between transfers).
HttpResponse PostJson(const std::string& url, const std::string& body, const std::string& api_key,
                      absl::Duration timeout, const std::atomic<bool>* cancel);

}  // namespace edgecompress::metrics

#endif  // EDGECOMPRESS_METRICS_HTTP_POST_H_
