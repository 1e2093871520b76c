// The wire-format reader on hand-made bytes: values, bounds, and the messages of its errors.
#include <catch2/catch.hpp>
#include <string>

#include "formats/onnx/protobuf_reader.hpp"
#include "formats/onnx/protobuf_writer.hpp"
#include "obol/formats/onnx.hpp"

using namespace obol;
using onnx::pb::Field;
using onnx::pb::Reader;
using onnx::pb::Writer;

namespace {

Reader reader_of(const std::string& s, const char* message = "Test") {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  return Reader(p, p + s.size(), p, message, 0);
}

}  // namespace

TEST_CASE("varints of every width round-trip", "[onnx][protobuf]") {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, 0xffffffffull, ~0ull}) {
    Writer w;
    w.int_field(1, static_cast<int64_t>(v));
    const std::string s = w.str();
    Reader r = reader_of(s);
    Field f;
    REQUIRE(r.next(&f));
    CHECK(f.number == 1);
    uint64_t got = 0;
    REQUIRE(r.read_uint64(f, "x", &got));
    CHECK(got == v);
    CHECK(r.at_end());
  }
}

TEST_CASE("negative int32 values use ten-byte varints", "[onnx][protobuf]") {
  Writer w;
  w.int_field(2, -5);
  const std::string s = w.str();
  CHECK(s.size() == 11);
  Reader r = reader_of(s);
  Field f;
  REQUIRE(r.next(&f));
  int32_t v = 0;
  REQUIRE(r.read_int32(f, "x", &v));
  CHECK(v == -5);
}

TEST_CASE("truncated varints name the message, field and offset", "[onnx][protobuf]") {
  const std::string s = std::string("\x08\x80\x80", 3);  // field 1, varint, truncated
  Reader r = reader_of(s, "TensorProto");
  Field f;
  REQUIRE(r.next(&f));
  int64_t v;
  const Status st = r.read_int64(f, "dims", &v);
  REQUIRE_FALSE(st);
  CHECK(st.code() == StatusCode::invalid_argument);
  CHECK(st.message() == "[onnx] TensorProto.dims: truncated varint at offset 1");
}

TEST_CASE("an 11-byte varint is refused", "[onnx][protobuf]") {
  const std::string s = "\x08" + std::string(10, '\x80') + "\x01";
  Reader r = reader_of(s);
  Field f;
  REQUIRE(r.next(&f));
  int64_t v;
  const Status st = r.read_int64(f, "x", &v);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains("longer than 10 bytes"));
}

TEST_CASE("lengths beyond the remaining bytes are refused", "[onnx][protobuf]") {
  const std::string s = std::string("\x0a\x05" "abc", 5);  // says 5, has 3
  Reader r = reader_of(s, "NodeProto");
  Field f;
  REQUIRE(r.next(&f));
  std::string_view out;
  const Status st = r.read_bytes(f, "name", &out);
  REQUIRE_FALSE(st);
  CHECK(st.message() == "[onnx] NodeProto.name: length 5 exceeds the 3 bytes left at offset 1");
}

TEST_CASE("a huge length does not overflow the bounds check", "[onnx][protobuf]") {
  Writer w;
  w.tag(1, 2);
  w.varint(~0ull);
  w.append_raw("xx", 2);
  const std::string s = w.str();
  Reader r = reader_of(s);
  Field f;
  REQUIRE(r.next(&f));
  std::string_view out;
  CHECK_FALSE(r.read_bytes(f, "x", &out));
  Reader r2 = reader_of(s);
  REQUIRE(r2.next(&f));
  CHECK_FALSE(r2.skip(f));
}

TEST_CASE("groups, bad wire types and field 0 are errors", "[onnx][protobuf]") {
  Field f;
  {
    const std::string s = "\x0b";  // field 1, start group
    Reader r = reader_of(s, "GraphProto");
    const Status st = r.next(&f);
    REQUIRE_FALSE(st);
    CHECK(st.message() == "[onnx] GraphProto.field 1: protobuf groups are not supported at offset 0");
  }
  {
    const std::string s = "\x0e";  // wire type 6
    Reader r = reader_of(s);
    CHECK_FALSE(r.next(&f));
  }
  {
    const std::string s = std::string("\x00\x01", 2);  // field 0
    Reader r = reader_of(s);
    CHECK_FALSE(r.next(&f));
  }
}

TEST_CASE("a field with the wrong wire type is an error", "[onnx][protobuf]") {
  Writer w;
  w.bytes_field(2, "x");
  const std::string s = w.str();
  Reader r = reader_of(s, "TensorProto");
  Field f;
  REQUIRE(r.next(&f));
  int32_t v;
  const Status st = r.read_int32(f, "data_type", &v);
  REQUIRE_FALSE(st);
  CHECK(st.message() == "[onnx] TensorProto.data_type: wire type length-delimited, expected varint at offset 0");
}

TEST_CASE("unknown fields of every wire type are skipped", "[onnx][protobuf]") {
  Writer w;
  w.int_field(100, 5);
  w.float_field(101, 1.5f);
  w.tag(102, 1);
  w.append_raw("12345678", 8);
  w.bytes_field(103, "skip me");
  w.int_field(1, 42);
  const std::string s = w.str();
  Reader r = reader_of(s);
  Field f;
  int64_t v = 0;
  while (!r.at_end()) {
    REQUIRE(r.next(&f));
    if (f.number == 1) REQUIRE(r.read_int64(f, "x", &v));
    else REQUIRE(r.skip(f));
  }
  CHECK(v == 42);
}

TEST_CASE("truncated fixed-width values are errors", "[onnx][protobuf]") {
  const std::string s = std::string("\x0d\x01\x02", 3);  // fixed32 with 2 bytes
  Reader r = reader_of(s);
  Field f;
  REQUIRE(r.next(&f));
  float x;
  CHECK_FALSE(r.read_float(f, "f", &x));
  Reader r2 = reader_of(s);
  REQUIRE(r2.next(&f));
  CHECK_FALSE(r2.skip(f));
}

TEST_CASE("repeated fields accept packed and unpacked encodings", "[onnx][protobuf]") {
  Writer w;
  const int64_t packed[] = {1, 300, -2};
  w.packed_int64(1, packed, 3);
  w.int_field(1, 7);
  const std::string s = w.str();
  Reader r = reader_of(s);
  std::vector<int64_t> out;
  Field f;
  while (!r.at_end()) {
    REQUIRE(r.next(&f));
    REQUIRE(r.read_repeated_int64(f, "dims", &out));
  }
  CHECK(out == std::vector<int64_t>{1, 300, -2, 7});

  Writer fw;
  const float vals[] = {1.f, 2.5f};
  fw.bytes_field(4, std::string(reinterpret_cast<const char*>(vals), sizeof vals));
  fw.float_field(4, -1.f);
  const std::string fs = fw.str();
  Reader fr = reader_of(fs);
  std::vector<float> fout;
  while (!fr.at_end()) {
    REQUIRE(fr.next(&f));
    REQUIRE(fr.read_repeated_float(f, "float_data", &fout));
  }
  CHECK(fout == std::vector<float>{1.f, 2.5f, -1.f});
}

TEST_CASE("a packed float run that is not a multiple of 4 bytes is an error", "[onnx][protobuf]") {
  Writer w;
  w.bytes_field(4, "abcde");
  const std::string s = w.str();
  Reader r = reader_of(s, "TensorProto");
  Field f;
  REQUIRE(r.next(&f));
  std::vector<float> out;
  const Status st = r.read_repeated_float(f, "float_data", &out);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), Catch::StartsWith("[onnx] TensorProto.float_data: packed run of 5 bytes"));
}

TEST_CASE("a truncated varint inside a packed run reports its file offset", "[onnx][protobuf]") {
  Writer w;
  w.int_field(2, 1);                       // 2 bytes
  w.bytes_field(1, std::string("\x05\x80", 2));  // packed dims, last varint truncated
  const std::string s = w.str();
  Reader r = reader_of(s, "TensorProto");
  Field f;
  REQUIRE(r.next(&f));
  int32_t dt;
  REQUIRE(r.read_int32(f, "data_type", &dt));
  REQUIRE(r.next(&f));
  std::vector<int64_t> out;
  const Status st = r.read_repeated_int64(f, "dims", &out);
  REQUIRE_FALSE(st);
  CHECK(st.message() == "[onnx] TensorProto.dims: truncated varint at offset 5");
}

TEST_CASE("nesting deeper than the limit is refused", "[onnx][protobuf]") {
  // Attribute -> graph -> node -> attribute ... nested until past kMaxDepth.
  Writer inner;
  inner.bytes_field(1, "a");
  for (int level = 0; level < 40; ++level) {
    Writer graph;
    Writer nodew;
    Writer attr;
    attr.bytes_field(1, "body");
    attr.message_field(6, inner);
    attr.int_field(20, 5);
    nodew.bytes_field(4, "If");
    nodew.message_field(5, attr);
    graph.message_field(1, nodew);
    inner = graph;
  }
  Writer model;
  model.int_field(1, 8);
  model.message_field(7, inner);
  const std::string s = model.str();
  auto m = onnx::load_onnx_bytes(s.data(), s.size());
  REQUIRE_FALSE(m);
  CHECK_THAT(m.status().message(), Catch::Contains("nested deeper than 64 levels"));
}
