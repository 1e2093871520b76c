// CPU kernel: com.microsoft MatMulNBits (bits = 4): Y = A x dequantize(B) + bias, B blocked along K
// (see obol/quant/blocks.hpp for the layout). Constant 4-bit weights run on obol/kernels/q4gemm.hpp
// in place; run-time weights, float zero points and g_idx are dequantized per run for the f32 GEMM.
#include "obol/kernels/q4gemm.hpp"
#include "quant_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

struct NBitsAttrs {
  int64_t K = 0, N = 0, bits = 4, block_size = 0;
  int64_t accuracy_level = 0;  // 4: int8 activations allowed (ORT's meaning); otherwise f32 compute
  int64_t k_blocks() const { return (K + block_size - 1) / block_size; }
  int64_t blob() const { return block_size * bits / 8; }
};

Result<NBitsAttrs> parse_nbits_attrs(const graph::Node& node) {
  NBitsAttrs a;
  OBOL_ASSIGN_OR_RETURN(a.K, node.attr_int("K", 0));
  OBOL_ASSIGN_OR_RETURN(a.N, node.attr_int("N", 0));
  OBOL_ASSIGN_OR_RETURN(a.bits, node.attr_int("bits", 4));
  OBOL_ASSIGN_OR_RETURN(a.block_size, node.attr_int("block_size", 0));
  OBOL_ASSIGN_OR_RETURN(a.accuracy_level, node.attr_int("accuracy_level", 0));
  if (a.bits != 4) return node_error(StatusCode::unsupported, node, "bits = ", a.bits, " is not supported (4 is)");
  if (a.K < 1 || a.N < 1 || a.K > (int64_t{1} << 31) || a.N > (int64_t{1} << 31))
    return node_error(StatusCode::invalid_argument, node, "K and N must be positive, found K = ", a.K, ", N = ", a.N);
  if (a.block_size < 16 || a.block_size > 256 || (a.block_size & (a.block_size - 1)) != 0)
    return node_error(StatusCode::invalid_argument, node, "block_size must be a power of two in [16, 256], found ",
                      a.block_size);
  return a;
}

// The weight operands of one run (or of the constants at kernel creation).
struct NBitsWeights {
  const uint8_t* b = nullptr;
  const float* scales = nullptr;
  const uint8_t* zp_packed = nullptr;  // uint8 zero points, two per byte
  const float* zp_float = nullptr;     // float zero points, one per block
  const int32_t* g_idx = nullptr;      // block of each k, or null for k / block_size
};

Result<NBitsWeights> check_weights(const graph::Node& node, const NBitsAttrs& at, const TensorView& b,
                                   const TensorView& scales, const TensorView* zp, const TensorView* g_idx) {
  NBitsWeights w;
  const int64_t kb = at.k_blocks();
  if (b.dtype() != DType::u8 || b.numel() != at.N * kb * at.blob())
    return node_error(StatusCode::invalid_argument, node, "B must be uint8 with N x k_blocks x blob = ", at.N, " x ", kb,
                      " x ", at.blob(), " elements, found ", dtype_name(b.dtype()), b.shape().to_string());
  if (scales.dtype() != DType::f32 || scales.numel() != at.N * kb)
    return node_error(StatusCode::invalid_argument, node, "scales must be float32 with N x k_blocks = ", at.N * kb,
                      " elements, found ", dtype_name(scales.dtype()), scales.shape().to_string());
  w.b = b.data_as<const uint8_t>();
  w.scales = scales.data_as<const float>();
  if (zp) {
    if (zp->dtype() == DType::u8 && zp->numel() == at.N * ((kb * at.bits + 7) / 8)) {
      w.zp_packed = zp->data_as<const uint8_t>();
    } else if (zp->dtype() == DType::f32 && zp->numel() == at.N * kb) {
      w.zp_float = zp->data_as<const float>();
    } else {
      return node_error(StatusCode::invalid_argument, node, "zero_points must be uint8 with ", at.N * ((kb + 1) / 2),
                        " elements or float32 with ", at.N * kb, ", found ", dtype_name(zp->dtype()),
                        zp->shape().to_string());
    }
  }
  if (g_idx) {
    if (g_idx->dtype() != DType::i32 || g_idx->numel() != at.K)
      return node_error(StatusCode::invalid_argument, node, "g_idx must be int32 with K = ", at.K, " elements, found ",
                        dtype_name(g_idx->dtype()), g_idx->shape().to_string());
    w.g_idx = g_idx->data_as<const int32_t>();
    for (int64_t k = 0; k < at.K; ++k)
      if (w.g_idx[k] < 0 || w.g_idx[k] >= kb)
        return node_error(StatusCode::out_of_range, node, "g_idx[", k, "] = ", w.g_idx[k], " is not a block in [0, ", kb,
                          ")");
  }
  return w;
}

// W (K x N row-major) = (code - zero point) * scale, in parallel over columns.
void dequantize_nbits(const NBitsAttrs& at, const NBitsWeights& w, float* W) {
  const int64_t kb = at.k_blocks(), blob = at.blob(), zp_row = (kb + 1) / 2;
  parallel_for_range(at.N, 16, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const uint8_t* col = w.b + n * kb * blob;
      for (int64_t k = 0; k < at.K; ++k) {
        const int64_t blk = w.g_idx ? w.g_idx[k] : k / at.block_size;
        const int64_t in = k % at.block_size;
        const int code = (col[(k / at.block_size) * blob + in / 2] >> (4 * (in & 1))) & 15;
        float zp = 8.0f;
        if (w.zp_packed) zp = static_cast<float>((w.zp_packed[n * zp_row + blk / 2] >> (4 * (blk & 1))) & 15);
        else if (w.zp_float) zp = w.zp_float[n * kb + blk];
        W[k * at.N + n] = (static_cast<float>(code) - zp) * w.scales[n * kb + blk];
      }
    }
  });
}

const TensorView* optional_input(const backend::KernelContext& ctx, int i) {
  return ctx.input_count() > i && ctx.has_input(i) ? &ctx.input(i) : nullptr;
}

Result<std::unique_ptr<backend::Kernel>> make_matmul_nbits(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 6, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const NBitsAttrs at, parse_nbits_attrs(node));
  const kernels::KernelTable* kt = &kernels::cpu_kernels();
  // Constant weights (uint8 zero points or none, no g_idx) stay 4-bit and run on q4_matmul; the
  // constants are kept alive by their shared owners.
  std::shared_ptr<const std::vector<std::shared_ptr<const graph::ConstantData>>> keep;
  kernels::Q4Weights q4;
  {
    auto present = [&](int i) {
      return i < static_cast<int>(node.inputs.size()) && node.inputs[static_cast<size_t>(i)] != graph::kNoValue;
    };
    const graph::ConstantData* cb = constant_input(g, node, 1);
    const graph::ConstantData* cs = constant_input(g, node, 2);
    const graph::ConstantData* cz = constant_input(g, node, 3);
    if (cb && cs && (!present(3) || cz) && !present(4)) {
      OBOL_ASSIGN_OR_RETURN(const NBitsWeights w, check_weights(node, at, cb->view, cs->view, cz ? &cz->view : nullptr, nullptr));
      if (!w.zp_float) {
        std::vector<std::shared_ptr<const graph::ConstantData>> owners{g.value(node.inputs[1]).constant,
                                                                       g.value(node.inputs[2]).constant};
        if (cz) owners.push_back(g.value(node.inputs[3]).constant);
        keep = std::make_shared<const std::vector<std::shared_ptr<const graph::ConstantData>>>(std::move(owners));
        q4.format = kernels::Q4Format::nbits;
        q4.K = at.K;
        q4.N = at.N;
        q4.block_size = at.block_size;
        q4.data = w.b;
        q4.scales = w.scales;
        q4.zero_points = w.zp_packed;
      }
    }
  }
  return make_kernel([at, kt, keep, q4, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    if (a.dtype() != DType::f32)
      return node_error(StatusCode::unsupported, nref, "A must be float32, found ", dtype_name(a.dtype()));
    if (a.rank() < 1 || a.shape().back() != at.K)
      return node_error(StatusCode::invalid_argument, nref, "A's last dimension must be K = ", at.K, ", found ",
                        a.shape().to_string());
    const float* bias = nullptr;
    if (const TensorView* bt = optional_input(ctx, 5)) {
      if (bt->dtype() != DType::f32 || bt->numel() != at.N)
        return node_error(StatusCode::invalid_argument, nref, "bias must be float32 with N = ", at.N,
                          " elements, found ", dtype_name(bt->dtype()), bt->shape().to_string());
      bias = bt->data_as<const float>();
    }
    Shape out = a.shape();
    out[out.rank() - 1] = at.N;
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::f32, out));
    const int64_t M = a.numel() / at.K;
    if (M == 0) return Status::ok();
    kernels::SgemmArgs gs;
    gs.M = M;
    gs.N = at.N;
    gs.K = at.K;
    gs.A = a.data_as<const float>();
    gs.lda = at.K;
    gs.ldb = at.N;
    gs.C = y.data_as<float>();
    gs.ldc = at.N;
    gs.bias = bias;
    if (keep) {
      kernels::Q4MatmulArgs qa;
      qa.M = M;
      qa.X = a.data_as<const float>();
      qa.ldx = at.K;
      qa.Y = y.data_as<float>();
      qa.ldy = at.N;
      qa.bias = bias;
      qa.compute = at.accuracy_level == 4 ? kernels::Q4Compute::automatic : kernels::Q4Compute::f32;
      return kernels::q4_matmul(qa, q4);
    }
    OBOL_ASSIGN_OR_RETURN(const NBitsWeights w, check_weights(nref, at, ctx.input(1), ctx.input(2), optional_input(ctx, 3),
                                                              optional_input(ctx, 4)));
    OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(at.K * at.N) * sizeof(float)));
    auto* W = static_cast<float*>(mem);
    dequantize_nbits(at, w, W);
    gs.B = W;
    kt->sgemm(gs);
    return Status::ok();
  });
}

}  // namespace

void register_quant_nbits(CpuOpRegistry& r) { r.add(graph::OpKind::MsMatMulNBits, &make_matmul_nbits); }

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
