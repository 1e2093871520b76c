// obol_session and its options: create, run (library-allocated or caller-bound outputs), cancel,
// placement report.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "c_api/c_api_internal.hpp"
#include "obol/econ/profiler.hpp"

namespace obol {
inline namespace v1 {
namespace capi {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

obol_status* bad_value(const char* key, const char* value, const char* expected) {
  return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                    str_cat("[session] option '", key, "': '", value, "' is not valid; expected ", expected));
}

obol_status* set_option(SessionOptionsState& o, const char* key, const char* value) {
  const std::string k = key, v = trim(value);
  if (k == "opt_level") {
    static const char* const names[] = {"none", "basic", "extended", "all"};
    for (int i = 0; i < 4; ++i)
      if (v == names[i] || v == std::string(1, static_cast<char>('0' + i))) {
        o.opt_level = i;
        return nullptr;
      }
    return bad_value(key, value, "none, basic, extended, all (or 0 to 3)");
  }
  if (k == "strict") {
    if (v == "1" || v == "true") o.options.strict_placement = true;
    else if (v == "0" || v == "false") o.options.strict_placement = false;
    else return bad_value(key, value, "0, 1, false or true");
    return nullptr;
  }
  if (k == "backends") {
    std::vector<std::string> names;
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = std::min(v.find(',', start), v.size());
      const std::string name = trim(v.substr(start, comma - start));
      if (name.empty()) return bad_value(key, value, "a comma-separated list of backend names, e.g. \"cpu\"");
      names.push_back(name);
      start = comma + 1;
    }
    o.options.backends = std::move(names);
    return nullptr;
  }
  if (k == "threads") {
    if (v == "0") o.serial = false;
    else if (v == "1") o.serial = true;
    else if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return make_error(OBOL_ERROR_UNSUPPORTED,
                        str_cat("[session] option 'threads': ", v, " is not supported per session (0: the env's "
                                "width, 1: serial); set the width for all sessions with obol_env_options.num_threads"));
    else return bad_value(key, value, "0 or 1");
    return nullptr;
  }
  if (k == "metrics") {
    if (v == "1" || v == "true") o.metrics = true;
    else if (v == "0" || v == "false") o.metrics = false;
    else return bad_value(key, value, "0, 1, false or true");
    return nullptr;
  }
  return make_error(OBOL_ERROR_NOT_FOUND, str_cat("[session] unknown option '", key,
                                                  "' (options: opt_level, strict, backends, threads, metrics)"));
}

// Marks the calling thread as already inside a parallel task for the duration of a serial run, so
// parallel_for runs every loop inline (its documented rule for nested loops).
class SerialScope {
 public:
  explicit SerialScope(bool on) : on_(on), was_(detail::in_parallel_region) {
    if (on_) detail::in_parallel_region = true;
  }
  ~SerialScope() {
    if (on_) detail::in_parallel_region = was_;
  }
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  bool on_, was_;
};

void count_result(obol_session& s, const Status& st) {
  if (st.is_ok()) s.counters.runs_ok.fetch_add(1, std::memory_order_relaxed);
  else if (st.code() == StatusCode::cancelled) s.counters.runs_cancelled.fetch_add(1, std::memory_order_relaxed);
  else s.counters.runs_failed.fetch_add(1, std::memory_order_relaxed);
}

void record_metrics(obol_session& s, uint64_t start_ns, const Status& st) {
  if (!s.profiler) return;
  s.profiler->record_request(start_ns, now_ns(), st.is_ok());
  s.profiler->record_arena_bytes(s.executor->stats().arena_bytes);
}

obol_status* gather_inputs(const char* function, const obol_tensor* const* inputs, size_t n_inputs,
                           std::vector<TensorView>& views) {
  if (n_inputs > 0 && !inputs) return null_argument(function, "inputs");
  views.reserve(n_inputs);
  for (size_t i = 0; i < n_inputs; ++i) {
    if (!inputs[i])
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[session] ", function, ": inputs[", i, "] is NULL"));
    views.push_back(inputs[i]->box.view);
  }
  return nullptr;
}

obol_status* check_output_count(const char* function, const obol_session& s, size_t n_outputs) {
  const size_t want = s.model_state->outputs.size();
  if (n_outputs == want) return nullptr;
  return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                    str_cat("[session] ", function, ": the model has ", want, " outputs, n_outputs is ", n_outputs));
}

std::string json_string(const std::string& s) {
  std::string r = "\"";
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      r += '\\';
      r += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      r += buf;
    } else {
      r += ch;
    }
  }
  return r + "\"";
}

}  // namespace
}  // namespace capi
}  // inline namespace v1
}  // namespace obol

using namespace obol::capi;

extern "C" {

obol_status* obol_session_options_create(obol_session_options** out) {
  return guarded("obol_session_options_create", [&]() -> obol_status* {
    if (!out) return null_argument("obol_session_options_create", "out");
    *out = new obol_session_options();
    return nullptr;
  });
}

obol_status* obol_session_options_set(obol_session_options* options, const char* key, const char* value) {
  return guarded("obol_session_options_set", [&]() -> obol_status* {
    if (!options) return null_argument("obol_session_options_set", "options");
    if (!key) return null_argument("obol_session_options_set", "key");
    if (!value) return null_argument("obol_session_options_set", "value");
    SessionOptionsState next = options->state;  // unchanged on failure
    if (obol_status* s = set_option(next, key, value)) return s;
    options->state = std::move(next);
    return nullptr;
  });
}

void obol_session_options_free(obol_session_options* options) {
  try {
    delete options;
  } catch (...) {
  }
}

obol_status* obol_session_create(obol_model* model, const obol_session_options* options, obol_session** out) {
  return guarded("obol_session_create", [&]() -> obol_status* {
    if (!model) return null_argument("obol_session_create", "model");
    if (!out) return null_argument("obol_session_create", "out");
    const SessionOptionsState opts = options ? options->state : SessionOptionsState{};
    OBOL_C_ASSIGN_OR_RETURN(std::shared_ptr<const obol::Model> m, model->state->model_at(opts.opt_level));
    OBOL_C_ASSIGN_OR_RETURN(std::shared_ptr<const obol::graph::CompiledGraph> compiled, m->compiled(opts.options));
    auto s = std::make_unique<obol_session>();
    s->model_state = model->state;
    s->model = std::move(m);
    s->executor = std::make_unique<obol::graph::Executor>(std::move(compiled), model->state->env->allocator);
    s->executor->set_cancel_flag(&s->cancel);
    s->serial = opts.serial;
    if (opts.metrics) {
      obol::econ::ProfilerOptions po;
      po.trace = false;  // aggregates only: memory stays fixed however long the session runs
      s->profiler = std::make_shared<obol::econ::Profiler>(po);
    }
    *out = s.release();
    return nullptr;
  });
}

void obol_session_free(obol_session* session) {
  try {
    delete session;
  } catch (...) {
  }
}

obol_status* obol_session_run(obol_session* session, const obol_tensor* const* inputs, size_t n_inputs,
                              obol_tensor** outputs, size_t n_outputs) {
  return guarded("obol_session_run", [&]() -> obol_status* {
    if (!session) return null_argument("obol_session_run", "session");
    if (n_outputs > 0 && !outputs) return null_argument("obol_session_run", "outputs");
    if (obol_status* s = check_output_count("obol_session_run", *session, n_outputs)) return s;
    std::vector<obol::TensorView> in;
    if (obol_status* s = gather_inputs("obol_session_run", inputs, n_inputs, in)) return s;

    std::vector<obol::Tensor> results;
    session->cancel.store(false, std::memory_order_relaxed);  // a cancel before this run does not count
    obol::Status st;
    {
      SerialScope serial(session->serial);
      const uint64_t start = session->profiler ? obol::now_ns() : 0;
      st = session->executor->run(in, results, session->profiler.get());
      record_metrics(*session, start, st);
    }
    count_result(*session, st);
    OBOL_C_RETURN_IF_ERROR(st);
    // Box every output before handing any out, so that a failure leaves `outputs` untouched.
    std::vector<std::unique_ptr<obol_tensor>> boxes;
    boxes.reserve(results.size());
    for (obol::Tensor& t : results) boxes.push_back(box_owned(std::move(t), session->model_state->env));
    for (size_t k = 0; k < n_outputs; ++k) outputs[k] = boxes[k].release();
    return nullptr;
  });
}

obol_status* obol_session_run_into(obol_session* session, const obol_tensor* const* inputs, size_t n_inputs,
                                   obol_tensor* const* outputs, size_t n_outputs) {
  return guarded("obol_session_run_into", [&]() -> obol_status* {
    if (!session) return null_argument("obol_session_run_into", "session");
    if (n_outputs > 0 && !outputs) return null_argument("obol_session_run_into", "outputs");
    if (obol_status* s = check_output_count("obol_session_run_into", *session, n_outputs)) return s;
    std::vector<obol::TensorView> in;
    if (obol_status* s = gather_inputs("obol_session_run_into", inputs, n_inputs, in)) return s;
    std::vector<obol::TensorView> out;
    out.reserve(n_outputs);
    for (size_t k = 0; k < n_outputs; ++k) {
      if (!outputs[k])
        return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                          obol::str_cat("[session] obol_session_run_into: outputs[", k, "] is NULL"));
      out.push_back(outputs[k]->box.view);
    }
    session->cancel.store(false, std::memory_order_relaxed);
    obol::Status st;
    {
      SerialScope serial(session->serial);
      const uint64_t start = session->profiler ? obol::now_ns() : 0;
      st = session->executor->run_into(in, out, session->profiler.get());
      record_metrics(*session, start, st);
    }
    count_result(*session, st);
    OBOL_C_RETURN_IF_ERROR(st);
    return nullptr;
  });
}

obol_status* obol_session_cancel(obol_session* session) {
  if (!session) return null_argument("obol_session_cancel", "session");
  session->cancel.store(true, std::memory_order_release);
  return nullptr;
}

obol_status* obol_session_placement_report(const obol_session* session, obol_report_format format, char** out) {
  return guarded("obol_session_placement_report", [&]() -> obol_status* {
    if (!session) return null_argument("obol_session_placement_report", "session");
    if (!out) return null_argument("obol_session_placement_report", "out");
    const int f = enum_value(format);
    if (f != OBOL_REPORT_TEXT && f != OBOL_REPORT_JSON)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        obol::str_cat("[session] report format ", f, " is not an obol_report_format"));
    const obol::graph::CompiledGraph& c = session->executor->compiled();
    const bool json = f == OBOL_REPORT_JSON;
    std::string r = json ? "[" : "";
    bool first = true;
    for (const obol::graph::NodePlacement& p : c.placement()) {
      const obol::graph::Node& n = c.graph().node(p.node);
      const std::string op(obol::graph::op_info(n.op).op_type);
      if (!json) {
        r += obol::str_cat(n.name, "\t", op, "\t", p.backend);
        if (!p.fallback_reason.empty()) r += obol::str_cat("\tfallback: ", p.fallback_reason);
        r += "\n";
      } else {
        r += obol::str_cat(first ? "" : ",", "{\"node\":", json_string(n.name), ",\"op\":", json_string(op),
                           ",\"backend\":", json_string(p.backend), ",\"fallback\":",
                           p.fallback_reason.empty() ? std::string("null") : json_string(p.fallback_reason), "}");
      }
      first = false;
    }
    if (json) r += "]";
    char* s = copy_string(r);
    if (!s) return out_of_memory();
    *out = s;
    return nullptr;
  });
}

}  // extern "C"
