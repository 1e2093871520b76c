// The smallest use of obol's kernels: a dense layer y = relu(x W + b) on the tier this CPU supports.
#include <cstdio>
#include <vector>

#include <obol/core.hpp>
#include <obol/kernels/cpu.hpp>

int main() {
  constexpr int64_t kBatch = 2, kIn = 3, kOut = 4;
  const std::vector<float> x = {1, 2, 3, -1, -2, -3};
  const std::vector<float> w = {0.1f, 0.2f, 0.3f, 0.4f,  0.5f, 0.6f,  // kIn x kOut, row-major
                                0.7f, 0.8f, 0.9f, 1.0f,  1.1f, 1.2f};
  const std::vector<float> b = {0.0f, -1.0f, 0.5f, 0.0f};

  const obol::kernels::KernelTable& k = obol::kernels::cpu_kernels();
  // Weights are constant: pack them once, reuse for every call.
  auto packed = obol::Tensor::empty(obol::DType::u8, obol::Shape{static_cast<int64_t>(k.sgemm_packed_b_bytes(kIn, kOut))});
  if (!packed) {
    std::fprintf(stderr, "%s\n", packed.status().to_string().c_str());
    return 1;
  }
  k.sgemm_pack_b(kIn, kOut, w.data(), kOut, false, packed->data_as<float>());

  auto y = obol::Tensor::empty(obol::DType::f32, obol::Shape{kBatch, kOut});
  if (!y) return 1;
  obol::kernels::SgemmArgs args;
  args.M = kBatch, args.N = kOut, args.K = kIn;
  args.A = x.data(), args.lda = kIn;
  args.C = y->data_as<float>(), args.ldc = kOut;
  args.bias = b.data();
  args.act = obol::kernels::UnaryOp::relu;
  k.sgemm_packed(args, packed->data_as<float>());

  std::printf("tier %s\n", obol::kernels::isa_name(k.isa));
  for (int64_t i = 0; i < kBatch; ++i) {
    for (int64_t j = 0; j < kOut; ++j) std::printf(" %6.2f", y->data_as<float>()[i * kOut + j]);
    std::printf("\n");
  }
  return 0;
}
