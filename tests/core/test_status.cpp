#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "obol/core/status.hpp"

using obol::Result;
using obol::Status;
using obol::StatusCode;

namespace {

Result<int> parse_positive(int v) {
  OBOL_CHECK_OR_RETURN(v > 0, invalid_argument, "parse", "expected a positive value, found ", v);
  return v;
}

Result<int> doubled(int v) {
  OBOL_ASSIGN_OR_RETURN(const int x, parse_positive(v));
  return 2 * x;
}

Status chain(int v) {
  OBOL_RETURN_IF_ERROR(doubled(v).status());
  return Status::ok();
}

}  // namespace

TEST_CASE("Status carries a code and a component-prefixed message", "[core][status]") {
  const Status ok;
  CHECK(ok.is_ok());
  CHECK(ok.message().empty());
  CHECK(ok.to_string() == "ok");

  const Status e = obol::make_status(StatusCode::out_of_range, "onnx", "offset ", 12, " past end ", 10);
  CHECK_FALSE(e.is_ok());
  CHECK(e.code() == StatusCode::out_of_range);
  CHECK(e.message() == "[onnx] offset 12 past end 10");
  CHECK(e.to_string() == "out_of_range: [onnx] offset 12 past end 10");
}

TEST_CASE("Result holds a value or an error, and the macros propagate errors", "[core][status]") {
  const Result<int> good = doubled(21);
  REQUIRE(good.is_ok());
  CHECK(*good == 42);

  const Result<int> bad = doubled(-3);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == StatusCode::invalid_argument);
  CHECK(bad.status().message() == "[parse] expected a positive value, found -3");

  CHECK(chain(1).is_ok());
  CHECK(chain(0).code() == StatusCode::invalid_argument);

  // An ok Status is not a value: it becomes an internal error rather than an empty Result.
  const Result<int> confused(Status::ok());
  CHECK_FALSE(confused.is_ok());
  CHECK(confused.status().code() == StatusCode::internal);
}

TEST_CASE("Result works with move-only and non-trivial types", "[core][status]") {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  REQUIRE(r.is_ok());
  std::unique_ptr<int> p = std::move(r).value();
  CHECK(*p == 7);

  Result<std::string> s(std::string(100, 'x'));
  Result<std::string> copy = s;
  CHECK(copy->size() == 100);
  copy = Result<std::string>(Status(StatusCode::not_found, "[x] gone"));
  CHECK_FALSE(copy.is_ok());
  CHECK(s->size() == 100);
}
