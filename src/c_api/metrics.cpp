// obol_session_metrics_prometheus: a session's metrics (obol/econ/profiler.hpp) in Prometheus text.
#include "c_api/c_api_internal.hpp"
#include "obol/econ/profiler.hpp"

using namespace obol::capi;

extern "C" {

obol_status* obol_session_metrics_prometheus(const obol_session* session, char** out) {
  return guarded("obol_session_metrics_prometheus", [&]() -> obol_status* {
    if (!session) return null_argument("obol_session_metrics_prometheus", "session");
    if (!out) return null_argument("obol_session_metrics_prometheus", "out");
    if (!session->profiler)
      return make_error(OBOL_ERROR_UNAVAILABLE,
                        "[session] this session collects no metrics: create it with the option \"metrics\" = \"1\"");
    char* s = copy_string(session->profiler->prometheus_text());
    if (!s) return out_of_memory();
    *out = s;
    return nullptr;
  });
}

}  // extern "C"
