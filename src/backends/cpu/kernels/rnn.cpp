// CPU kernels: the recurrent operators RNN, GRU and LSTM (all ONNX attributes and optional inputs).
//
// Per direction, the input projection X * W^T of every time step is one GEMM (f32: the kernel
// table's sgemm, with constant W and R pre-packed); each step then adds H_{t-1} * R^T and
// applies the cell's gate equations. Batch entries past their sequence_lens stop updating, so
// Y_h / Y_c hold their last valid step, and their Y rows stay zero. A reverse direction walks each
// batch entry's own valid prefix backwards.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "obol/kernels/cpu.hpp"
#include "rnn_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using graph::Graph;
using graph::Node;
using rnn::Activation;
using rnn::Cell;
using rnn::RnnAttrs;

// Pre-packed constant f32 weights, per direction: W, and R (GRU without linear_before_reset: the
// z/r rows in r0 and the h rows in r1, which multiply different left operands).
struct PackedWeights {
  std::vector<std::shared_ptr<float>> w, r0, r1;
  int64_t input_size = -1, rows = -1, hidden = -1;
};

Result<std::shared_ptr<float>> pack_rows(const Node& node, const float* b, int64_t n, int64_t k) {
  const kernels::KernelTable& kt = kernels::cpu_kernels();
  const size_t bytes = (kt.sgemm_packed_b_bytes(k, n) + 63) / 64 * 64;
  float* buf = static_cast<float*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes));
  if (buf == nullptr) return node_error(StatusCode::out_of_memory, node, "cannot allocate packed weights");
  std::shared_ptr<float> p(buf, std::free);
  kt.sgemm_pack_b(k, n, b, k, true, buf);
  return p;
}

// C[M, N] (+)= A[M, K] * B[N, K]^T, row-major with leading dimensions.
template <class T>
void gemm_nt(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
             bool accumulate, const float* packed_b = nullptr) {
  if (M == 0 || N == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    kernels::SgemmArgs g;
    g.M = M;
    g.N = N;
    g.K = K;
    g.A = A;
    g.lda = lda;
    g.B = B;
    g.ldb = ldb;
    g.trans_b = true;
    g.C = C;
    g.ldc = ldc;
    g.beta = accumulate ? 1.0f : 0.0f;
    if (packed_b != nullptr) kernels::cpu_kernels().sgemm_packed(g, packed_b);
    else kernels::cpu_kernels().sgemm(g);
  } else {
    (void)packed_b;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        T s = accumulate ? C[m * ldc + n] : T(0);
        for (int64_t k = 0; k < K; ++k) s += A[m * lda + k] * B[n * ldb + k];
        C[m * ldc + n] = s;
      }
  }
}

template <class T>
T clipped(T x, double clip) {
  if (clip <= 0.0) return x;
  const T c = static_cast<T>(clip);
  return x < -c ? -c : x > c ? c : x;
}

struct Dims {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  int nd = 1, gates = 1;
};

template <class T>
Status run_recurrent(const Node& node, const RnnAttrs& a, const PackedWeights* packed, backend::KernelContext& ctx,
                     const Dims& dm) {
  const int64_t S = dm.seq, Bn = dm.batch, I = dm.input, H = dm.hidden, GH = dm.gates * dm.hidden;
  const int nd = dm.nd;
  const bool lstm = a.cell == Cell::lstm, gru = a.cell == Cell::gru;
  const T* x = ctx.input(0).data_as<const T>();
  const T* w = ctx.input(1).data_as<const T>();
  const T* r = ctx.input(2).data_as<const T>();
  const T* bias = ctx.has_input(3) ? ctx.input(3).data_as<const T>() : nullptr;
  std::vector<int64_t> lens(static_cast<size_t>(Bn), S);
  if (ctx.has_input(4)) {
    OBOL_ASSIGN_OR_RETURN(lens, read_ints(ctx.input(4), "sequence_lens"));
    for (int64_t l : lens)
      if (l < 0 || l > S)
        return node_error(StatusCode::invalid_argument, node, "sequence_lens values must be in [0, ", S, "], found ", l);
  }
  const T* init_h = ctx.has_input(5) ? ctx.input(5).data_as<const T>() : nullptr;
  const T* init_c = lstm && ctx.has_input(6) ? ctx.input(6).data_as<const T>() : nullptr;
  const T* peep = lstm && ctx.has_input(7) ? ctx.input(7).data_as<const T>() : nullptr;

  const DType dt = ctx.input(0).dtype();
  const Shape y_shape = a.layout == 0 ? Shape{S, nd, Bn, H} : Shape{Bn, S, nd, H};
  const Shape state_shape = a.layout == 0 ? Shape{nd, Bn, H} : Shape{Bn, nd, H};
  T* y = nullptr;
  T* y_h = nullptr;
  T* y_c = nullptr;
  if (ctx.output_count() > 0 && ctx.has_output(0)) {
    OBOL_ASSIGN_OR_RETURN(TensorView v, ctx.output(0, dt, y_shape));
    y = v.data_as<T>();
    if (v.numel() > 0) std::memset(static_cast<void*>(y), 0, v.nbytes());
  }
  if (ctx.output_count() > 1 && ctx.has_output(1)) {
    OBOL_ASSIGN_OR_RETURN(TensorView v, ctx.output(1, dt, state_shape));
    y_h = v.data_as<T>();
  }
  if (lstm && ctx.output_count() > 2 && ctx.has_output(2)) {
    OBOL_ASSIGN_OR_RETURN(TensorView v, ctx.output(2, dt, state_shape));
    y_c = v.data_as<T>();
  }

  // Scratch: input projections, recurrent projections, h, c, GRU reset products / gates.
  const size_t n_xw = static_cast<size_t>(S * Bn * GH), n_g = static_cast<size_t>(Bn * GH), n_s = static_cast<size_t>(Bn * H);
  const size_t total = n_xw + n_g + 4 * n_s + 1;
  OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(total * sizeof(T)));
  T* xw = static_cast<T*>(mem);
  T* gates = xw + n_xw;
  T* h = gates + n_g;
  T* c = h + n_s;
  T* tmp = c + n_s;   // GRU: r (.) h_{t-1}
  T* zr = tmp + n_s;  // GRU: z gate of each batch entry
  const int64_t x_rows = S * Bn;

  auto state_index = [&](int d, int64_t b) { return a.layout == 0 ? (d * Bn + b) * H : (b * nd + d) * H; };
  auto x_row = [&](int64_t t, int64_t b) { return a.layout == 0 ? t * Bn + b : b * S + t; };
  auto y_index = [&](int64_t t, int d, int64_t b) {
    return a.layout == 0 ? ((t * nd + d) * Bn + b) * H : ((b * S + t) * nd + d) * H;
  };

  for (int d = 0; d < nd; ++d) {
    const bool backwards = nd == 2 ? d == 1 : a.reverse;
    const T* wd = w + static_cast<int64_t>(d) * GH * I;
    const T* rd = r + static_cast<int64_t>(d) * GH * H;
    const T* wb = bias != nullptr ? bias + static_cast<int64_t>(d) * 2 * GH : nullptr;
    const T* rb = wb != nullptr ? wb + GH : nullptr;
    const T* pd = peep != nullptr ? peep + static_cast<int64_t>(d) * 3 * H : nullptr;
    const Activation* acts = a.acts.data() + static_cast<size_t>(d) * static_cast<size_t>(a.acts_per_direction());
    const Activation& f = acts[0];
    const Activation& g = acts[a.cell == Cell::rnn ? 0 : 1];
    const Activation& hact = acts[lstm ? 2 : 0];

    const float* pw = nullptr;
    const float* pr0 = nullptr;
    const float* pr1 = nullptr;
    if constexpr (std::is_same_v<T, float>) {
      const size_t di = static_cast<size_t>(d);
      if (packed != nullptr && packed->input_size == I) pw = packed->w[di].get();
      if (packed != nullptr && packed->hidden == H) {
        pr0 = packed->r0[di].get();
        pr1 = packed->r1.empty() ? nullptr : packed->r1[di].get();
      }
    }
    gemm_nt<T>(x_rows, GH, I, x, I, wd, I, xw, GH, false, pw);
    for (int64_t b = 0; b < Bn; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        h[b * H + j] = init_h != nullptr ? init_h[state_index(d, b) + j] : T(0);
        c[b * H + j] = init_c != nullptr ? init_c[state_index(d, b) + j] : T(0);
      }
    }
    auto bsum = [&](int64_t k) { return wb != nullptr ? wb[k] + rb[k] : T(0); };

    for (int64_t s = 0; s < S; ++s) {
      if (gru && !a.linear_before_reset) gemm_nt<T>(Bn, 2 * H, H, h, H, rd, H, gates, GH, false, pr0);
      else gemm_nt<T>(Bn, GH, H, h, H, rd, H, gates, GH, false, pr0);
      if (gru) {
        for (int64_t b = 0; b < Bn; ++b) {
          const int64_t len = lens[static_cast<size_t>(b)];
          if (s >= len) {
            std::fill(tmp + b * H, tmp + (b + 1) * H, T(0));
            continue;
          }
          const int64_t t = backwards ? len - 1 - s : s;
          const T* xr = xw + x_row(t, b) * GH;
          const T* gr = gates + b * GH;
          for (int64_t j = 0; j < H; ++j) {
            const T z = rnn::activate(f, clipped(xr[j] + gr[j] + bsum(j), a.clip));
            const T rr = rnn::activate(f, clipped(xr[H + j] + gr[H + j] + bsum(H + j), a.clip));
            zr[b * H + j] = z;
            tmp[b * H + j] = a.linear_before_reset ? rr : rr * h[b * H + j];
          }
        }
        if (!a.linear_before_reset) gemm_nt<T>(Bn, H, H, tmp, H, rd + 2 * H * H, H, gates + 2 * H, GH, false, pr1);
      }
      for (int64_t b = 0; b < Bn; ++b) {
        const int64_t len = lens[static_cast<size_t>(b)];
        if (s >= len) continue;
        const int64_t t = backwards ? len - 1 - s : s;
        const T* xr = xw + x_row(t, b) * GH;
        const T* gr = gates + b * GH;
        T* hb = h + b * H;
        T* cb = c + b * H;
        if (a.cell == Cell::rnn) {
          for (int64_t j = 0; j < H; ++j) hb[j] = rnn::activate(f, clipped(xr[j] + gr[j] + bsum(j), a.clip));
        } else if (gru) {
          for (int64_t j = 0; j < H; ++j) {
            const T wb_h = wb != nullptr ? wb[2 * H + j] : T(0);
            const T rb_h = rb != nullptr ? rb[2 * H + j] : T(0);
            const T rec = a.linear_before_reset ? tmp[b * H + j] * (gr[2 * H + j] + rb_h) : gr[2 * H + j] + rb_h;
            const T hh = rnn::activate(g, clipped(xr[2 * H + j] + wb_h + rec, a.clip));
            const T z = zr[b * H + j];
            hb[j] = (T(1) - z) * hh + z * hb[j];
          }
        } else {
          // Gate order in W, R and B: i, o, f, c; peepholes: i, o, f.
          for (int64_t j = 0; j < H; ++j) {
            const T c_prev = cb[j];
            T gi = xr[j] + gr[j] + bsum(j);
            T go = xr[H + j] + gr[H + j] + bsum(H + j);
            T gf = xr[2 * H + j] + gr[2 * H + j] + bsum(2 * H + j);
            T gc = xr[3 * H + j] + gr[3 * H + j] + bsum(3 * H + j);
            if (pd != nullptr) {
              gi += pd[j] * c_prev;
              gf += pd[2 * H + j] * c_prev;
            }
            const T it = rnn::activate(f, clipped(gi, a.clip));
            const T ft = a.input_forget ? T(1) - it : rnn::activate(f, clipped(gf, a.clip));
            const T ct = rnn::activate(g, clipped(gc, a.clip));
            const T c_new = ft * c_prev + it * ct;
            if (pd != nullptr) go += pd[H + j] * c_new;
            const T ot = rnn::activate(f, clipped(go, a.clip));
            cb[j] = c_new;
            hb[j] = ot * rnn::activate(hact, c_new);
          }
        }
        if (y != nullptr) std::memcpy(y + y_index(t, d, b), hb, static_cast<size_t>(H) * sizeof(T));
      }
    }
    for (int64_t b = 0; b < Bn; ++b) {
      if (y_h != nullptr) std::memcpy(y_h + state_index(d, b), h + b * H, static_cast<size_t>(H) * sizeof(T));
      if (y_c != nullptr) std::memcpy(y_c + state_index(d, b), c + b * H, static_cast<size_t>(H) * sizeof(T));
    }
  }
  return Status::ok();
}

Status check_shape(const Node& node, const TensorView& t, const char* what, std::initializer_list<int64_t> want) {
  const Shape s(want);
  bool same = t.shape().rank() == s.rank();
  for (int i = 0; same && i < s.rank(); ++i) same = t.shape()[i] == s[i];
  if (same) return Status::ok();
  return node_error(StatusCode::invalid_argument, node, what, " must have shape ", s.to_string(), ", found ",
                    t.shape().to_string());
}

Result<std::unique_ptr<backend::Kernel>> make_recurrent(const Graph& gr, const Node& node, Cell cell) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, cell == Cell::lstm ? 8 : 6, 0, cell == Cell::lstm ? 3 : 2));
  OBOL_ASSIGN_OR_RETURN(const RnnAttrs attrs, rnn::parse_rnn_attrs(node, cell));

  // Pack constant f32 W and R once, for every direction; a shape that does not fit is reported at run time.
  std::shared_ptr<const PackedWeights> packed;
  {
    auto p = std::make_shared<PackedWeights>();
    const int64_t G = attrs.gates(), nd = attrs.num_directions;
    const graph::ConstantData* wc = constant_input(gr, node, 1);
    if (wc != nullptr && wc->view.dtype() == DType::f32 && wc->view.rank() == 3 && wc->view.shape()[0] == nd &&
        wc->view.shape()[1] % G == 0 && (attrs.hidden_size < 0 || wc->view.shape()[1] == G * attrs.hidden_size)) {
      p->rows = wc->view.shape()[1];
      p->input_size = wc->view.shape()[2];
      for (int64_t d = 0; d < nd; ++d) {
        OBOL_ASSIGN_OR_RETURN(auto buf, pack_rows(node, wc->view.data_as<const float>() + d * p->rows * p->input_size, p->rows, p->input_size));
        p->w.push_back(std::move(buf));
      }
    }
    const graph::ConstantData* rc = constant_input(gr, node, 2);
    if (rc != nullptr && rc->view.dtype() == DType::f32 && rc->view.rank() == 3 && rc->view.shape()[0] == nd &&
        rc->view.shape()[1] == G * rc->view.shape()[2] && (attrs.hidden_size < 0 || rc->view.shape()[2] == attrs.hidden_size)) {
      const int64_t H = rc->view.shape()[2];
      const bool split = attrs.cell == Cell::gru && !attrs.linear_before_reset;
      for (int64_t d = 0; d < nd; ++d) {
        const float* rd = rc->view.data_as<const float>() + d * G * H * H;
        OBOL_ASSIGN_OR_RETURN(auto r0, pack_rows(node, rd, split ? 2 * H : G * H, H));
        p->r0.push_back(std::move(r0));
        if (split) {
          OBOL_ASSIGN_OR_RETURN(auto r1, pack_rows(node, rd + 2 * H * H, H, H));
          p->r1.push_back(std::move(r1));
        }
      }
      p->hidden = H;
    }
    if (!p->w.empty() || !p->r0.empty()) packed = std::move(p);
  }

  return make_kernel([node, attrs, packed](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& w = ctx.input(1);
    const TensorView& r = ctx.input(2);
    const DType dt = x.dtype();
    if (dt != DType::f32 && dt != DType::f64)
      return node_error(StatusCode::unsupported, node, "X must be float32 or float64, found ", dtype_name(dt));
    for (int i = 1; i < std::min(ctx.input_count(), attrs.cell == Cell::lstm ? 8 : 6); ++i)
      if (i != 4 && ctx.has_input(i) && ctx.input(i).dtype() != dt)
        return node_error(StatusCode::invalid_argument, node, "input ", i, " must have X's element type ", dtype_name(dt),
                          ", found ", dtype_name(ctx.input(i).dtype()));
    if (x.rank() != 3) return node_error(StatusCode::invalid_argument, node, "X must be 3-D, found ", x.shape().to_string());
    if (r.rank() != 3) return node_error(StatusCode::invalid_argument, node, "R must be 3-D, found ", r.shape().to_string());
    Dims dm;
    dm.nd = attrs.num_directions;
    dm.gates = attrs.gates();
    dm.seq = attrs.layout == 0 ? x.shape()[0] : x.shape()[1];
    dm.batch = attrs.layout == 0 ? x.shape()[1] : x.shape()[0];
    dm.input = x.shape()[2];
    dm.hidden = attrs.hidden_size > 0 ? attrs.hidden_size : r.shape()[2];
    const int64_t H = dm.hidden, GH = dm.gates * H;
    OBOL_RETURN_IF_ERROR(check_shape(node, w, "W", {dm.nd, GH, dm.input}));
    OBOL_RETURN_IF_ERROR(check_shape(node, r, "R", {dm.nd, GH, H}));
    if (ctx.has_input(3)) OBOL_RETURN_IF_ERROR(check_shape(node, ctx.input(3), "B", {dm.nd, 2 * GH}));
    if (ctx.has_input(4)) OBOL_RETURN_IF_ERROR(check_shape(node, ctx.input(4), "sequence_lens", {dm.batch}));
    for (int i = 5; i <= 6 && i < ctx.input_count(); ++i)
      if (ctx.has_input(i))
        OBOL_RETURN_IF_ERROR(check_shape(node, ctx.input(i), i == 5 ? "initial_h" : "initial_c",
                                         attrs.layout == 0 ? std::initializer_list<int64_t>{dm.nd, dm.batch, H}
                                                           : std::initializer_list<int64_t>{dm.batch, dm.nd, H}));
    if (attrs.cell == Cell::lstm && ctx.input_count() > 7 && ctx.has_input(7))
      OBOL_RETURN_IF_ERROR(check_shape(node, ctx.input(7), "P", {dm.nd, 3 * H}));
    if (dt == DType::f32) return run_recurrent<float>(node, attrs, packed.get(), ctx, dm);
    return run_recurrent<double>(node, attrs, nullptr, ctx, dm);
  });
}

Result<std::unique_ptr<backend::Kernel>> make_rnn(const Graph& g, const Node& node) { return make_recurrent(g, node, Cell::rnn); }
Result<std::unique_ptr<backend::Kernel>> make_gru(const Graph& g, const Node& node) { return make_recurrent(g, node, Cell::gru); }
Result<std::unique_ptr<backend::Kernel>> make_lstm(const Graph& g, const Node& node) { return make_recurrent(g, node, Cell::lstm); }

}  // namespace

void register_rnn(CpuOpRegistry& r) {
  r.add(graph::OpKind::RNN, &make_rnn);
  r.add(graph::OpKind::GRU, &make_gru);
  r.add(graph::OpKind::LSTM, &make_lstm);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
