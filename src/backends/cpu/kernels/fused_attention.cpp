// CPU kernel: ScaledDotProductAttention (obol) — softmax(scale * Q x Kt + mask) x V.
//
// Per (batch, head) matrix and block of query rows: one SGEMM makes the block's scores (scale in
// alpha), the mask is added row by row, softmax runs in place, and a second SGEMM multiplies by V
// straight into the output. Only one block of scores per worker thread exists at any time (at most
// ~64 KiB), instead of the whole [S, T] matrix per head. Blocks are spread over threads with
// parallel_for; the SGEMMs inside a task run on that task's thread.
#include <algorithm>
#include <vector>

#include "fused_util.hpp"
#include "matmul_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

// One operand's view from the output's batch index: its shape padded to the output rank and the
// element offset of each batch matrix.
struct Operand {
  int64_t dims[Shape::kMaxRank] = {};
  int64_t stride[Shape::kMaxRank] = {};  // elements; 0 where the operand broadcasts
};

Operand pad_operand(const Shape& s, int rank) {
  Operand o;
  const int lead = rank - s.rank();
  for (int d = 0; d < rank; ++d) o.dims[d] = d < lead ? 1 : s[d - lead];
  int64_t st = 1;
  for (int d = rank - 1; d >= 0; --d) {
    o.stride[d] = o.dims[d] == 1 ? 0 : st;
    st *= o.dims[d];
  }
  return o;
}

Result<std::unique_ptr<backend::Kernel>> make_attention(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 4, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const float scale, node.attr_float("scale", 1.0f));
  const kernels::KernelTable* kt = &kernels::cpu_kernels();
  return make_kernel([kt, scale, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& q = ctx.input(0);
    const TensorView& k = ctx.input(1);
    const TensorView& v = ctx.input(2);
    const bool has_mask = ctx.input_count() > 3 && ctx.has_input(3);
    const TensorView* mask = has_mask ? &ctx.input(3) : nullptr;
    for (const TensorView* t : {&q, &k, &v, mask})
      if (t && t->dtype() != DType::f32)
        return node_error(StatusCode::invalid_argument, nref, "Q, Kt, V and mask must be float32, found ",
                          dtype_name(t->dtype()));
    if (q.rank() < 2 || k.rank() < 2 || v.rank() < 2)
      return node_error(StatusCode::invalid_argument, nref, "Q, Kt and V must have rank >= 2, found ",
                        q.shape().to_string(), ", ", k.shape().to_string(), " and ", v.shape().to_string());
    int rank = std::max({q.rank(), k.rank(), v.rank()});
    if (mask) rank = std::max(rank, mask->rank());
    const Operand oq = pad_operand(q.shape(), rank), ok = pad_operand(k.shape(), rank), ov = pad_operand(v.shape(), rank);
    const Operand om = mask ? pad_operand(mask->shape(), rank) : Operand{};
    const int64_t S = oq.dims[rank - 2], D = oq.dims[rank - 1], T = ok.dims[rank - 1], Dv = ov.dims[rank - 1];
    if (ok.dims[rank - 2] != D || ov.dims[rank - 2] != T)
      return node_error(StatusCode::invalid_argument, nref, "shapes do not chain: Q ", q.shape().to_string(), ", Kt ",
                        k.shape().to_string(), ", V ", v.shape().to_string());
    const int64_t ms = mask ? om.dims[rank - 2] : 1, mt = mask ? om.dims[rank - 1] : 1;
    if (mask && ((ms != 1 && ms != S) || (mt != 1 && mt != T)))
      return node_error(StatusCode::invalid_argument, nref, "mask of shape ", mask->shape().to_string(),
                        " does not broadcast to the scores [", S, ", ", T, "]");
    Shape out;
    int64_t batches = 1;
    for (int d = 0; d < rank - 2; ++d) {
      int64_t b = 1;
      for (const Operand* o : {&oq, &ok, &ov, mask ? &om : nullptr}) {
        if (!o || o->dims[d] == 1) continue;
        if (b != 1 && o->dims[d] != b)
          return node_error(StatusCode::invalid_argument, nref, "batch dimension ", d, " does not broadcast: Q ",
                            q.shape().to_string(), ", Kt ", k.shape().to_string(), ", V ", v.shape().to_string());
        b = o->dims[d];
      }
      for (const Operand* o : {&oq, &ok, &ov, mask ? &om : nullptr})
        if (o && o->dims[d] == 0) b = 0;
      out.push_back(b);
      batches *= b;
    }
    out.push_back(S);
    out.push_back(Dv);
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::f32, out));
    float* py = y.data_as<float>();
    if (y.numel() == 0) return Status::ok();
    if (T == 0) {
      std::fill(py, py + y.numel(), 0.0f);
      return Status::ok();
    }
    // Rows per block: the block's scores stay within 64 KiB (L2-resident), 8 to 64 rows.
    const int64_t rb = std::min(S, std::clamp<int64_t>(16384 / T, 8, 64));
    const int64_t blocks = (S + rb - 1) / rb, tasks = batches * blocks;
    const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(max_threads(), tasks));
    OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(workers * rb * T) * sizeof(float)));
    float* scratch = static_cast<float*>(mem);
    const float* pq = q.data_as<const float>();
    const float* pk = k.data_as<const float>();
    const float* pv = v.data_as<const float>();
    const float* pm = mask ? mask->data_as<const float>() : nullptr;
    const int nb = rank - 2;
    auto run_task = [&](int64_t t, float* sc) {
      const int64_t bi = t / blocks, r0 = (t % blocks) * rb, rows = std::min(rb, S - r0);
      int64_t iq = 0, ik = 0, iv = 0, im = 0;
      for (int64_t rest = bi, d = nb - 1; d >= 0; --d) {
        const int64_t i = rest % out[static_cast<int>(d)];
        rest /= out[static_cast<int>(d)];
        iq += i * oq.stride[d];
        ik += i * ok.stride[d];
        iv += i * ov.stride[d];
        if (pm) im += i * om.stride[d];
      }
      kernels::SgemmArgs s1;
      s1.M = rows;
      s1.N = T;
      s1.K = D;
      s1.A = pq + iq + r0 * D;
      s1.lda = D;
      s1.B = pk + ik;
      s1.ldb = T;
      s1.C = sc;
      s1.ldc = T;
      s1.alpha = scale;
      kt->sgemm(s1);
      if (pm) {
        for (int64_t r = 0; r < rows; ++r) {
          const float* mrow = pm + im + (ms == 1 ? 0 : (r0 + r) * mt);
          kt->binary_f32(kernels::BinaryOp::add, sc + r * T, 1, mrow, mt == 1 ? 0 : 1, sc + r * T, T);
        }
      }
      kt->softmax_f32(sc, sc, rows, T, false);
      kernels::SgemmArgs s2;
      s2.M = rows;
      s2.N = Dv;
      s2.K = T;
      s2.A = sc;
      s2.lda = T;
      s2.B = pv + iv;
      s2.ldb = Dv;
      s2.C = py + (bi * S + r0) * Dv;
      s2.ldc = Dv;
      kt->sgemm(s2);
    };
    if (workers == 1) {
      for (int64_t t = 0; t < tasks; ++t) run_task(t, scratch);
    } else {
      parallel_for(workers, [&](int64_t wk) {
        float* sc = scratch + wk * rb * T;
        for (int64_t t = wk; t < tasks; t += workers) run_task(t, sc);
      });
    }
    return Status::ok();
  });
}

}  // namespace

void register_fused_attention(CpuOpRegistry& r) { r.add(graph::OpKind::ObolAttention, &make_attention); }

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
