// Models built in the test: contents, tensor materialisation, external data and error paths.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "obol/formats/onnx.hpp"
#include "obol/io/mapped_file.hpp"
#include "onnx_builder.hpp"

namespace fs = std::filesystem;
using namespace obol;
using namespace obol::test;

namespace {

constexpr int32_t kFloat = 1, kInt64 = 7, kFloat16 = 10, kBool = 9, kString = 8;

std::string floats_raw(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("obol-onnx-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::string file(const std::string& name, const std::string& bytes) const {
    const fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p.string();
  }
};

// y = MatMul(x, W) + B with W, B initializers; x has a symbolic batch dim.
std::string small_model(Writer w_init, Writer b_init) {
  Writer g;
  g.bytes_field(2, "tiny");
  g.message_field(1, node("MatMul", {"x", "W"}, {"xw"}, "mm"));
  g.message_field(1, node("Add", {"xw", "B"}, {"y"}, "add"));
  g.message_field(1, node("FusedThing", {"y"}, {"z"}, "custom", "com.example"));
  g.message_field(5, w_init);
  g.message_field(5, b_init);
  g.message_field(11, value_info("x", tensor_type(kFloat, {{0, "batch"}, {2, ""}})));
  g.message_field(12, value_info("z", tensor_type(kFloat, {{0, "batch"}, {3, ""}})));
  return model(g);
}

}  // namespace

TEST_CASE("a built model decodes to what was written", "[onnx]") {
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  const std::string bytes =
      small_model(raw_tensor("W", kFloat, {2, 3}, floats_raw(w)), raw_tensor("B", kFloat, {3}, floats_raw({7, 8, 9})));
  auto m = onnx::load_onnx_bytes(bytes.data(), bytes.size());
  REQUIRE(m);
  const auto& p = m->proto();
  CHECK(p.ir_version == 8);
  CHECK(p.producer_name == "obol-test");
  CHECK(m->opset_version("") == 17);
  CHECK(m->opset_version("ai.onnx") == 17);
  CHECK(m->opset_version("com.example") == -1);
  const auto& g = m->graph();
  CHECK(g.name == "tiny");
  REQUIRE(g.node.size() == 3);
  CHECK(g.node[2].domain == "com.example");
  REQUIRE(g.input.size() == 1);
  REQUIRE(g.input[0].type.shape.size() == 2);
  CHECK_FALSE(g.input[0].type.shape[0].has_value);
  CHECK(g.input[0].type.shape[0].param == "batch");
  CHECK(g.input[0].type.shape[1].has_value);
  CHECK(g.input[0].type.shape[1].value == 2);
  REQUIRE(g.initializer.size() == 2);
  auto d = onnx::tensor_data(g.initializer[0]);
  REQUIRE(d);
  CHECK(d->view.shape() == Shape{2, 3});
  std::vector<float> got(6);
  std::memcpy(got.data(), d->view.data(), 24);
  CHECK(got == w);
  // Borrowed data points into the caller's buffer; owned data is a copy of unaligned bytes.
  const char* base = bytes.data();
  if (d->borrowed()) {
    CHECK(static_cast<const char*>(d->view.data()) >= base);
    CHECK(static_cast<const char*>(d->view.data()) < base + bytes.size());
  } else {
    CHECK(reinterpret_cast<uintptr_t>(g.initializer[0].raw_data.data()) % 4 != 0);
  }
}

TEST_CASE("load_onnx_file maps the model and weights are used in place when aligned", "[onnx]") {
  TempDir dir;
  // Try raw_data placements until one is 4-byte aligned in the file (name length shifts it).
  bool saw_borrowed = false, saw_owned = false;
  for (int pad = 0; pad < 4; ++pad) {
    const std::string name = "W" + std::string(static_cast<size_t>(pad), 'x');
    Writer g;
    g.message_field(5, raw_tensor(name, kFloat, {4}, floats_raw({1, 2, 3, 4})));
    const std::string path = dir.file("m" + std::to_string(pad) + ".onnx", model(g));
    auto m = onnx::load_onnx_file(path);
    REQUIRE(m);
    CHECK(m->file_size() == fs::file_size(path));
    auto d = onnx::tensor_data(m->graph().initializer[0]);
    REQUIRE(d);
    CHECK(d->view.data_as<float>()[3] == 4.0f);
    (d->borrowed() ? saw_borrowed : saw_owned) = true;
  }
  CHECK(saw_borrowed);
  CHECK(saw_owned);
}

TEST_CASE("views stay valid while the storage handle lives", "[onnx]") {
  TempDir dir;
  Writer g;
  g.message_field(1, node("Relu", {"a"}, {"b"}, "relu_node"));
  const std::string path = dir.file("m.onnx", model(g));
  std::shared_ptr<const onnx::ModelStorage> keep;
  std::string_view name;
  {
    auto m = onnx::load_onnx_file(path);
    REQUIRE(m);
    keep = m->storage();
    name = m->graph().node[0].name;
  }
  CHECK(name == "relu_node");
}

TEST_CASE("typed tensor fields decode to owned tensors", "[onnx]") {
  SECTION("float_data") {
    Writer t;
    t.int_field(1, 2);
    t.int_field(2, kFloat);
    t.float_field(4, 1.5f);
    t.float_field(4, -2.f);
    const std::string s = t.str();
    auto p = onnx::decode_tensor_proto(s.data(), s.size());
    REQUIRE(p);
    auto d = onnx::tensor_data(*p);
    REQUIRE(d);
    CHECK_FALSE(d->borrowed());
    CHECK(d->view.data_as<float>()[0] == 1.5f);
    CHECK(d->view.data_as<float>()[1] == -2.f);
  }
  SECTION("int64_data, scalar") {
    Writer t;
    t.int_field(2, kInt64);
    t.int_field(7, -7);
    const std::string s = t.str();
    auto p = onnx::decode_tensor_proto(s.data(), s.size());
    REQUIRE(p);
    auto d = onnx::tensor_data(*p);
    REQUIRE(d);
    CHECK(d->view.rank() == 0);
    CHECK(d->view.data_as<int64_t>()[0] == -7);
  }
  SECTION("float16 bit patterns and bools in int32_data") {
    Writer t;
    t.int_field(1, 2);
    t.int_field(2, kFloat16);
    t.int_field(5, f32_to_f16(0.5f));
    t.int_field(5, f32_to_f16(-3.f));
    const std::string s = t.str();
    auto p = onnx::decode_tensor_proto(s.data(), s.size());
    REQUIRE(p);
    auto d = onnx::tensor_data(*p);
    REQUIRE(d);
    CHECK(d->view.dtype() == DType::f16);
    CHECK(f16_to_f32(d->view.data_as<uint16_t>()[1]) == -3.f);

    Writer b;
    b.int_field(1, 3);
    b.int_field(2, kBool);
    for (int v : {0, 1, 5}) b.int_field(5, v);
    const std::string bs = b.str();
    auto bp = onnx::decode_tensor_proto(bs.data(), bs.size());
    REQUIRE(bp);
    auto bd = onnx::tensor_data(*bp);
    REQUIRE(bd);
    CHECK(bd->view.data_as<uint8_t>()[2] == 1);
  }
}

TEST_CASE("tensor materialisation checks counts, sizes, ranks and types", "[onnx]") {
  auto status_of = [](const Writer& t) {
    const std::string s = t.str();
    auto p = onnx::decode_tensor_proto(s.data(), s.size());
    REQUIRE(p);
    auto d = onnx::tensor_data(*p);
    REQUIRE_FALSE(d);
    return d.status();
  };
  SECTION("raw_data size differs from dims") {
    const Status st = status_of(raw_tensor("W", kFloat, {2, 3}, floats_raw({1, 2, 3})));
    CHECK(st.code() == StatusCode::invalid_argument);
    CHECK(st.message() == "[onnx] tensor 'W': raw_data holds 12 bytes but [2, 3] of f32 needs 24");
  }
  SECTION("typed count differs from dims") {
    Writer t;
    t.int_field(1, 3);
    t.int_field(2, kFloat);
    t.bytes_field(8, "c");
    t.float_field(4, 1.f);
    CHECK(status_of(t).message() == "[onnx] tensor 'c': float_data holds 1 values but dims [3] need 3");
  }
  SECTION("negative dims") {
    CHECK_THAT(status_of(raw_tensor("n", kFloat, {-1}, "")).message(), Catch::Contains("negative"));
  }
  SECTION("element count overflow") {
    const Status st = status_of(raw_tensor("o", kFloat, {1ll << 40, 1ll << 40}, ""));
    CHECK(st.code() == StatusCode::out_of_range);
  }
  SECTION("rank above the maximum") {
    const Status st = status_of(raw_tensor("r", kFloat, {1, 1, 1, 1, 1, 1, 1, 1, 1}, floats_raw({1})));
    CHECK(st.code() == StatusCode::unsupported);
    CHECK_THAT(st.message(), Catch::Contains("rank 9 exceeds the maximum of 8"));
  }
  SECTION("strings and complex are unsupported, unknown types invalid") {
    Writer s;
    s.int_field(2, kString);
    s.bytes_field(6, "hello");
    s.bytes_field(8, "str");
    const Status st = status_of(s);
    CHECK(st.code() == StatusCode::unsupported);
    CHECK(st.message() == "[onnx] tensor 'str': data type STRING is not supported");
    CHECK(status_of(raw_tensor("c", 14, {1}, std::string(8, '\0'))).code() == StatusCode::unsupported);
    CHECK(status_of(raw_tensor("u", 99, {1}, "x")).code() == StatusCode::invalid_argument);
  }
}

TEST_CASE("string tensors keep their strings", "[onnx]") {
  Writer s;
  s.int_field(1, 2);
  s.int_field(2, kString);
  s.bytes_field(6, "hello");
  s.bytes_field(6, "");
  const std::string bytes = s.str();
  auto p = onnx::decode_tensor_proto(bytes.data(), bytes.size());
  REQUIRE(p);
  REQUIRE(p->string_data.size() == 2);
  CHECK(p->string_data[0] == "hello");
  CHECK(p->string_data[1].empty());
}

TEST_CASE("ONNX data types map to obol dtypes and back", "[onnx]") {
  for (int32_t t : {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16}) {
    auto d = onnx::to_dtype(t);
    REQUIRE(d);
    CHECK(static_cast<int32_t>(onnx::from_dtype(*d)) == t);
  }
  CHECK(onnx::data_type_name(16) == "BFLOAT16");
  CHECK(onnx::data_type_name(1000) == "UNKNOWN(1000)");
  CHECK(onnx::to_dtype(8).status().code() == StatusCode::unsupported);
  CHECK(onnx::to_dtype(15).status().code() == StatusCode::unsupported);
  CHECK(onnx::to_dtype(0).status().code() == StatusCode::invalid_argument);
}

TEST_CASE("external data round trip", "[onnx][external]") {
  TempDir dir;
  // weights.bin: 16 bytes of padding, then W (6 floats), then B (3 floats).
  std::string blob(16, '\xee');
  blob += floats_raw({1, 2, 3, 4, 5, 6});
  blob += floats_raw({7, 8, 9});
  dir.file("data/weights.bin", blob);
  const std::string bytes =
      small_model(external_tensor("W", kFloat, {2, 3}, {{"location", "data/weights.bin"}, {"offset", "16"}, {"length", "24"}}),
                  external_tensor("B", kFloat, {3}, {{"location", "data/weights.bin"}, {"offset", "40"}}));
  const std::string path = dir.file("model.onnx", bytes);
  auto m = onnx::load_onnx_file(path);
  REQUIRE(m);
  const auto& inits = m->graph().initializer;
  REQUIRE(inits.size() == 2);
  CHECK(inits[0].external_resolved);
  auto w = onnx::tensor_data(inits[0]);
  REQUIRE(w);
  CHECK(w->borrowed());  // offset 16 in a page-aligned mapping
  CHECK(w->view.data_as<float>()[5] == 6.f);
  auto b = onnx::tensor_data(inits[1]);  // length defaults to the rest of the file
  REQUIRE(b);
  CHECK(b->view.data_as<float>()[2] == 9.f);

  SECTION("from memory with an explicit directory") {
    onnx::LoadOptions opt;
    opt.external_data_dir = dir.path.string();
    auto mm = onnx::load_onnx_bytes(bytes.data(), bytes.size(), opt);
    REQUIRE(mm);
    auto bw = onnx::tensor_data(mm->graph().initializer[1]);
    REQUIRE(bw);
    CHECK(bw->view.data_as<float>()[0] == 7.f);
  }
  SECTION("from memory without a directory") {
    auto mm = onnx::load_onnx_bytes(bytes.data(), bytes.size());
    REQUIRE_FALSE(mm);
    CHECK_THAT(mm.status().message(), Catch::Contains("needs LoadOptions::external_data_dir"));
  }
  SECTION("not loaded on request") {
    onnx::LoadOptions opt;
    opt.load_external_data = false;
    auto mm = onnx::load_onnx_file(path, opt);
    REQUIRE(mm);
    auto d = onnx::tensor_data(mm->graph().initializer[0]);
    REQUIRE_FALSE(d);
    CHECK_THAT(d.status().message(), Catch::Contains("external data was not loaded"));
  }
}

TEST_CASE("external data errors", "[onnx][external]") {
  TempDir dir;
  dir.file("w.bin", std::string(32, '\0'));
  auto load_with = [&](const std::vector<std::pair<std::string, std::string>>& entries) {
    const std::string bytes = small_model(external_tensor("W", kFloat, {2, 3}, entries),
                                          raw_tensor("B", kFloat, {3}, floats_raw({1, 2, 3})));
    const std::string path = dir.file("model.onnx", bytes);
    auto m = onnx::load_onnx_file(path);
    REQUIRE_FALSE(m);
    return m.status();
  };
  CHECK_THAT(load_with({{"location", "/etc/passwd"}}).message(), Catch::Contains("is absolute"));
  CHECK_THAT(load_with({{"location", "../w.bin"}}).message(), Catch::Contains("escapes the model directory"));
  CHECK_THAT(load_with({{"location", "sub/../../w.bin"}}).message(), Catch::Contains("escapes the model directory"));
  CHECK_THAT(load_with({{"offset", "0"}}).message(), Catch::Contains("has no 'location'"));
  const Status missing = load_with({{"location", "missing.bin"}});
  CHECK(missing.code() == StatusCode::not_found);
  CHECK_THAT(missing.message(), Catch::StartsWith("[onnx] tensor 'W': external data: cannot open"));
  const Status range = load_with({{"location", "w.bin"}, {"offset", "16"}, {"length", "24"}});
  CHECK(range.code() == StatusCode::out_of_range);
  CHECK_THAT(range.message(), Catch::Contains("lies outside 'w.bin' (32 bytes)"));
  CHECK(load_with({{"location", "w.bin"}, {"offset", "40"}}).code() == StatusCode::out_of_range);
  CHECK_THAT(load_with({{"location", "w.bin"}, {"offset", "-1"}}).message(), Catch::Contains("not a non-negative integer"));
  CHECK_THAT(load_with({{"location", "w.bin"}, {"length", "99999999999999999999"}}).message(),
             Catch::Contains("not a non-negative integer"));
  // The mapped range is right but its size does not match the dims: caught at materialisation.
  const std::string bytes = small_model(external_tensor("W", kFloat, {2, 3}, {{"location", "w.bin"}, {"length", "20"}}),
                                        raw_tensor("B", kFloat, {3}, floats_raw({1, 2, 3})));
  auto m = onnx::load_onnx_file(dir.file("ok.onnx", bytes));
  REQUIRE(m);
  CHECK_THAT(onnx::tensor_data(m->graph().initializer[0]).status().message(),
             Catch::Contains("raw_data holds 20 bytes"));
}

TEST_CASE("load errors say what was wrong", "[onnx]") {
  SECTION("missing file") {
    auto m = onnx::load_onnx_file("/nonexistent/model.onnx");
    REQUIRE_FALSE(m);
    CHECK(m.status().code() == StatusCode::not_found);
    CHECK_THAT(m.status().message(), Catch::StartsWith("[io] cannot open '/nonexistent/model.onnx'"));
  }
  SECTION("a directory") {
    auto m = onnx::load_onnx_file("/tmp");
    REQUIRE_FALSE(m);
    CHECK(m.status().code() == StatusCode::invalid_argument);
  }
  SECTION("empty and graphless files") {
    TempDir dir;
    auto m = onnx::load_onnx_file(dir.file("empty.onnx", ""));
    REQUIRE_FALSE(m);
    CHECK_THAT(m.status().message(), Catch::Contains("has no graph"));
    CHECK_THAT(m.status().message(), Catch::EndsWith("empty.onnx')"));
  }
  SECTION("text is not a model") {
    const std::string s = "hello, this is not protobuf";
    auto m = onnx::load_onnx_bytes(s.data(), s.size());
    REQUIRE_FALSE(m);
    CHECK_THAT(m.status().message(), Catch::StartsWith("[onnx] ModelProto."));
  }
  SECTION("sparse initializers are unsupported") {
    Writer g;
    g.bytes_field(15, "");
    const std::string s = model(g);
    auto m = onnx::load_onnx_bytes(s.data(), s.size());
    REQUIRE_FALSE(m);
    CHECK(m.status().code() == StatusCode::unsupported);
    CHECK_THAT(m.status().message(), Catch::Contains("sparse_initializer"));
  }
  SECTION("a truncated node inside the graph names NodeProto") {
    Writer n;
    n.tag(4, 2);
    n.varint(50);  // op_type claims 50 bytes
    n.append_raw("Add", 3);
    Writer g;
    g.message_field(1, n);
    const std::string s = model(g);
    auto m = onnx::load_onnx_bytes(s.data(), s.size());
    REQUIRE_FALSE(m);
    CHECK_THAT(m.status().message(), Catch::StartsWith("[onnx] NodeProto.op_type: length 50 exceeds the 3 bytes left"));
  }
}
