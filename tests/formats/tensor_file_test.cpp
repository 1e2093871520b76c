// .npy and TensorProto .pb tensor files: round trips, hand-made headers and error paths.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <string>

#include "obol/io/mapped_file.hpp"
#include "obol/io/npy.hpp"
#include "obol/io/tensor_file.hpp"

namespace fs = std::filesystem;
using namespace obol;

namespace {

template <class T>
Tensor iota_tensor(const Shape& shape) {
  Tensor t = Tensor::empty(dtype_of_v<T>, shape).value();
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<T>()[i] = static_cast<T>(i * 3 - 5);
  return t;
}

std::string tmp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("obol-io-test-" + std::to_string(::getpid()) + "-" + name)).string();
}

// An .npy image with a hand-written header dict.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  const size_t n = dict.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + dict + data;
}

}  // namespace

TEMPLATE_TEST_CASE("npy round trip", "[io][npy]", float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t,
                   uint32_t, int64_t, uint64_t) {
  for (const Shape& shape : {Shape{}, Shape{0}, Shape{1}, Shape{7}, Shape{2, 3, 4}, Shape{1, 1, 1, 1, 1, 1, 1, 2}}) {
    const Tensor t = iota_tensor<TestType>(shape);
    auto bytes = io::encode_npy(t);
    REQUIRE(bytes);
    CHECK((bytes->size() - t.nbytes()) % 64 == 0);  // header padded to 64 bytes
    auto back = io::parse_npy(*bytes);
    REQUIRE(back);
    CHECK(back->dtype() == t.dtype());
    CHECK(back->shape() == shape);
    if (t.nbytes()) CHECK(std::memcmp(back->data(), t.data(), t.nbytes()) == 0);  // empty: data() is null
  }
}

TEST_CASE("npy headers as NumPy writes them", "[io][npy]") {
  const float vals[] = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
  const std::string data(reinterpret_cast<const char*>(vals), sizeof vals);
  SECTION("version 1, 2 and 3") {
    for (int major : {1, 2, 3}) {
      auto t = io::parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n", data, major));
      REQUIRE(t);
      CHECK(t->shape() == Shape{2, 3});
      CHECK(t->data_as<float>()[5] == 6.f);
    }
  }
  SECTION("key order, a one-tuple, a scalar, bool") {
    auto t = io::parse_npy(npy_bytes("{'shape': (6,), 'fortran_order': False, 'descr': '<f4'}\n", data));
    REQUIRE(t);
    CHECK(t->shape() == Shape{6});
    auto s = io::parse_npy(npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': ()}\n", std::string(8, '\x01')));
    REQUIRE(s);
    CHECK(s->rank() == 0);
    auto b = io::parse_npy(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}\n", std::string("\x01\x00", 2)));
    REQUIRE(b);
    CHECK(b->dtype() == DType::boolean);
  }
  SECTION("errors") {
    auto st = [&](const std::string& bytes) {
      auto t = io::parse_npy(bytes);
      REQUIRE_FALSE(t);
      return t.status();
    };
    CHECK(st(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", data)).message() ==
          "[npy] Fortran-order arrays are not supported");
    CHECK(st(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }\n", data)).code() ==
          StatusCode::unsupported);
    CHECK(st(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }\n", data)).code() ==
          StatusCode::unsupported);
    CHECK_THAT(st(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }\n", data)).message(),
               Catch::Contains("data holds 24 bytes but [7] of f32 needs 28"));
    CHECK_THAT(st(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }\n", data))
                   .message(),
               Catch::Contains("overflows"));
    CHECK_THAT(st(npy_bytes("{'descr': '<f4', 'shape': (6,), }\n", data)).message(), Catch::Contains("missing"));
    CHECK_THAT(st(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6,\n", data)).message(),
               Catch::StartsWith("[npy] header:"));
    CHECK_THAT(st("not npy at all").message(), Catch::Contains("bad magic"));
    std::string truncated = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", data);
    truncated[8] = '\xff';  // header length past the end
    CHECK_THAT(st(truncated).message(), Catch::Contains("exceeds the file"));
  }
}

TEST_CASE("bf16 has no npy form, f16 has", "[io][npy]") {
  Tensor bf = Tensor::zeros(DType::bf16, Shape{2}).value();
  CHECK(io::encode_npy(bf).status().code() == StatusCode::unsupported);
  Tensor h = Tensor::zeros(DType::f16, Shape{2}).value();
  auto bytes = io::encode_npy(h);
  REQUIRE(bytes);
  CHECK(bytes->find("'<f2'") != std::string::npos);
}

TEST_CASE("TensorProto .pb round trip, and files by extension", "[io][pb]") {
  const Tensor t = iota_tensor<float>(Shape{2, 5});
  for (const char* ext : {".pb", ".npy"}) {
    const std::string path = tmp_path(std::string("t") + ext);
    REQUIRE(io::write_tensor_file(path, t, "my_input"));
    auto back = io::read_tensor_file(path);
    REQUIRE(back);
    CHECK(back->name == (std::string(ext) == ".pb" ? "my_input" : ""));
    CHECK(back->tensor.shape() == t.shape());
    CHECK(std::memcmp(back->tensor.data(), t.data(), t.nbytes()) == 0);
    fs::remove(path);
  }
  CHECK(io::read_tensor_file("x.txt").status().code() == StatusCode::invalid_argument);
  CHECK(io::read_tensor_file(tmp_path("missing.npy")).status().code() == StatusCode::not_found);
  CHECK(io::write_tensor_file("x.txt", t).code() == StatusCode::invalid_argument);
}

TEST_CASE("the conformance suite's .pb files read as written", "[io][pb]") {
  const std::string dir = "/usr/share/libonnx-testdata/data/node/test_cast_FLOAT_to_FLOAT16/test_data_set_0/";
  if (!fs::exists(dir)) return;
  auto in = io::read_tensor_pb(dir + "input_0.pb");
  auto out = io::read_tensor_pb(dir + "output_0.pb");
  REQUIRE(in);
  REQUIRE(out);
  CHECK(in->tensor.dtype() == DType::f32);
  CHECK(out->tensor.dtype() == DType::f16);
  REQUIRE(in->tensor.shape() == out->tensor.shape());
  for (int64_t i = 0; i < in->tensor.numel(); ++i) {
    const float x = in->tensor.data_as<float>()[i];
    if (x != x) continue;  // NaN
    CHECK(out->tensor.data_as<uint16_t>()[i] == f32_to_f16(x));
  }
  // Writing it back gives a file that reads the same.
  const std::string path = tmp_path("cast.pb");
  REQUIRE(io::write_tensor_pb(path, out->tensor, out->name));
  auto again = io::read_tensor_pb(path);
  REQUIRE(again);
  CHECK(again->name == out->name);
  CHECK(std::memcmp(again->tensor.data(), out->tensor.data(), out->tensor.nbytes()) == 0);
  fs::remove(path);
}
