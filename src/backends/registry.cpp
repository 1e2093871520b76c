// The explicit list of backends compiled into this build (no static initialisers).
#include <string>

#include "obol/backend/backend.hpp"

namespace obol {
inline namespace v1 {
namespace backend {

std::unique_ptr<Backend> make_cpu_backend();

namespace {

struct Entry {
  const char* name;
  std::unique_ptr<Backend> (*make)();
};

const Entry kBackends[] = {
    {"cpu", &make_cpu_backend},
};

}  // namespace

std::vector<std::unique_ptr<Backend>> builtin_backends() {
  std::vector<std::unique_ptr<Backend>> r;
  for (const Entry& e : kBackends) r.push_back(e.make());
  return r;
}

Result<std::unique_ptr<Backend>> make_backend(std::string_view name) {
  std::string known;
  for (const Entry& e : kBackends) {
    if (name == e.name) return e.make();
    known += str_cat(known.empty() ? "" : ", ", e.name);
  }
  return make_status(StatusCode::not_found, "backend", "no backend named '", name, "' in this build (available: ",
                     known, ")");
}

}  // namespace backend
}  // inline namespace v1
}  // namespace obol
