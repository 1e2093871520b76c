// CPU kernel: Einsum. Operands are contracted left to right; each contraction lays both operands out
// as [batch, free, contracted] with one strided copy (which also takes diagonals and sums labels no
// later step needs) and runs a batched GEMM (sgemm for fp32).
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "matmul_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {
namespace {

// Labels are the letters' character codes; the dimensions an ellipsis stands for get kEllipsis + j,
// j counted so that ellipses of every operand align at the right (numpy broadcasting).
constexpr int kEllipsis = 128;
constexpr int kLabels = 256;

struct Term {
  std::vector<int> letters;
  int ellipsis_at = -1;  // index into letters where "..." stands, or -1
};

struct Equation {
  std::vector<Term> inputs;
  Term output;
  bool explicit_output = false;
};

Result<Term> parse_term(const graph::Node& node, const std::string& s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == '.') {
      if (t.ellipsis_at >= 0 || s.compare(i, 3, "...") != 0)
        return node_error(StatusCode::invalid_argument, node, "malformed ellipsis in equation term '", s, "'");
      t.ellipsis_at = static_cast<int>(t.letters.size());
      i += 2;
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
      t.letters.push_back(static_cast<unsigned char>(ch));
    } else {
      return node_error(StatusCode::invalid_argument, node, "unexpected character '", ch, "' in equation");
    }
  }
  return t;
}

Result<Equation> parse_equation(const graph::Node& node, std::string eq) {
  eq.erase(std::remove_if(eq.begin(), eq.end(), [](char c) { return c == ' ' || c == '\t'; }), eq.end());
  Equation e;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    OBOL_ASSIGN_OR_RETURN(Term t, parse_term(node, lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    e.inputs.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (arrow != std::string::npos) {
    e.explicit_output = true;
    OBOL_ASSIGN_OR_RETURN(e.output, parse_term(node, eq.substr(arrow + 2)));
    std::array<bool, kLabels> seen{};
    for (int l : e.output.letters) {
      if (seen[static_cast<size_t>(l)])
        return node_error(StatusCode::invalid_argument, node, "label '", static_cast<char>(l),
                          "' appears twice in the output of '", eq, "'");
      seen[static_cast<size_t>(l)] = true;
      bool found = false;
      for (const Term& t : e.inputs) found = found || std::count(t.letters.begin(), t.letters.end(), l) > 0;
      if (!found)
        return node_error(StatusCode::invalid_argument, node, "output label '", static_cast<char>(l),
                          "' appears in no input of '", eq, "'");
    }
  }
  return e;
}

// A strided view of an operand: one entry per distinct label (a repeated label's strides add up,
// which reads its diagonal).
struct View {
  std::vector<int> labels;
  std::vector<int64_t> dims, strides;
  int find(int l) const {
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == l) return static_cast<int>(i);
    return -1;
  }
};

// out[o] = sum over r of in[offset(o) + offset(r)]; out is contiguous over out_dims.
template <class T>
void strided_sum(const T* in, const std::vector<int64_t>& out_dims, const std::vector<int64_t>& out_strides,
                 const std::vector<int64_t>& red_dims, const std::vector<int64_t>& red_strides, T* out) {
  int64_t n_out = 1, n_red = 1;
  for (int64_t d : out_dims) n_out *= d;
  for (int64_t d : red_dims) n_red *= d;
  const int ro = static_cast<int>(out_dims.size()), rr = static_cast<int>(red_dims.size());
  std::vector<int64_t> idx(out_dims.size(), 0), ridx(red_dims.size(), 0);
  int64_t off = 0;
  for (int64_t o = 0; o < n_out; ++o) {
    T acc = T(0);
    int64_t roff = 0;
    std::fill(ridx.begin(), ridx.end(), 0);
    for (int64_t r = 0; r < n_red; ++r) {
      acc = static_cast<T>(acc + in[off + roff]);
      for (int d = rr - 1; d >= 0; --d) {
        roff += red_strides[static_cast<size_t>(d)];
        if (++ridx[static_cast<size_t>(d)] < red_dims[static_cast<size_t>(d)]) break;
        roff -= red_strides[static_cast<size_t>(d)] * red_dims[static_cast<size_t>(d)];
        ridx[static_cast<size_t>(d)] = 0;
      }
    }
    out[o] = acc;
    for (int d = ro - 1; d >= 0; --d) {
      off += out_strides[static_cast<size_t>(d)];
      if (++idx[static_cast<size_t>(d)] < out_dims[static_cast<size_t>(d)]) break;
      off -= out_strides[static_cast<size_t>(d)] * out_dims[static_cast<size_t>(d)];
      idx[static_cast<size_t>(d)] = 0;
    }
  }
}

// One pairwise contraction: X laid out as [batch, m, k], Y as [batch, k, n], Z = X x Y as [batch, m, n].
struct Step {
  std::vector<int> batch, m, k, n, sum_x, sum_y;
  int64_t nb = 1, nm = 1, nk = 1, nn = 1;
  size_t x_at = 0, y_at = 0, z_at = 0;  // scratch offsets in bytes
};

int64_t product(const std::vector<int>& labels, const std::array<int64_t, kLabels>& size) {
  int64_t p = 1;
  for (int l : labels) p *= size[static_cast<size_t>(l)];
  return p;
}

// Copies `v` into `out` laid out as `order` (labels), summing over `sum`.
template <class T>
void gather(const T* data, const View& v, const std::vector<int>& order, const std::vector<int>& sum,
            const std::array<int64_t, kLabels>& size, T* out) {
  std::vector<int64_t> od, os, rd, rs;
  for (int l : order) {
    const int i = v.find(l);
    od.push_back(size[static_cast<size_t>(l)]);
    os.push_back(i >= 0 ? v.strides[static_cast<size_t>(i)] : 0);
  }
  for (int l : sum) {
    const int i = v.find(l);
    rd.push_back(v.dims[static_cast<size_t>(i)]);
    rs.push_back(v.strides[static_cast<size_t>(i)]);
  }
  strided_sum(data, od, os, rd, rs, out);
}

template <class T>
void batched_gemm(const Step& s, const T* x, const T* y, T* z) {
  const int64_t M = s.nm, N = s.nn, K = s.nk;
  if (s.nb == 0 || M == 0 || N == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    const kernels::KernelTable& kt = kernels::cpu_kernels();
    auto one = [&](int64_t b) {
      kernels::SgemmArgs g;
      g.M = M;
      g.N = N;
      g.K = K;
      g.A = x + b * M * K;
      g.lda = K;
      g.B = y + b * K * N;
      g.ldb = N;
      g.C = z + b * M * N;
      g.ldc = N;
      kt.sgemm(g);
    };
    if (s.nb > 1)
      parallel_for(s.nb, one);
    else
      one(0);
  } else {
    parallel_for(s.nb, [&](int64_t b) { gemm_plain<T>(M, N, K, x + b * M * K, K, 1, y + b * K * N, N, 1, z + b * M * N, N); });
  }
}

// The contiguous [batch, m, n] result of a step.
View product_view(const Step& s, const std::array<int64_t, kLabels>& size) {
  View z;
  for (const std::vector<int>* part : {&s.batch, &s.m, &s.n})
    for (int l : *part) z.labels.push_back(l);
  z.dims.resize(z.labels.size());
  z.strides.resize(z.labels.size());
  int64_t stride = 1;
  for (size_t a = z.labels.size(); a-- > 0;) {
    z.dims[a] = size[static_cast<size_t>(z.labels[a])];
    z.strides[a] = stride;
    stride *= z.dims[a];
  }
  return z;
}

struct EinsumPlan {
  std::vector<View> views;
  std::array<int64_t, kLabels> size{};
  std::vector<int> out_labels;
  std::vector<Step> steps;
  size_t scratch_bytes = 0;
};


Result<EinsumPlan> plan_einsum(const graph::Node& node, const Equation& eq, const std::vector<Shape>& shapes,
                               size_t elem_bytes) {
  EinsumPlan p;
  const size_t n_in = eq.inputs.size();
  std::vector<int> ell(n_in, 0);
  int max_ell = 0;
  for (size_t i = 0; i < n_in; ++i) {
    const Term& t = eq.inputs[i];
    const int rank = shapes[i].rank(), nl = static_cast<int>(t.letters.size());
    if (t.ellipsis_at < 0 ? rank != nl : rank < nl)
      return node_error(StatusCode::invalid_argument, node, "input ", i, " has shape ", shapes[i].to_string(),
                        " but its equation term has ", nl, t.ellipsis_at < 0 ? "" : " or more", " labels");
    ell[i] = rank - nl;
    max_ell = std::max(max_ell, ell[i]);
  }
  std::array<bool, kLabels> sized{};
  std::array<int, kLabels> count{};
  for (size_t i = 0; i < n_in; ++i) {
    const Term& t = eq.inputs[i];
    std::vector<int> labels;
    for (int j = 0; j < static_cast<int>(t.letters.size()) + 1; ++j) {
      if (j == t.ellipsis_at)
        for (int e = 0; e < ell[i]; ++e) labels.push_back(kEllipsis + max_ell - ell[i] + e);
      if (j < static_cast<int>(t.letters.size())) labels.push_back(t.letters[static_cast<size_t>(j)]);
    }
    View v;
    int64_t strides[Shape::kMaxRank];
    contiguous_strides(shapes[i], strides);
    for (size_t a = 0; a < labels.size(); ++a) {
      const int l = labels[a];
      const int64_t d = shapes[i][static_cast<int>(a)];
      ++count[static_cast<size_t>(l)];
      if (d != 1) {
        if (sized[static_cast<size_t>(l)] && p.size[static_cast<size_t>(l)] != d)
          return node_error(StatusCode::invalid_argument, node, "label ",
                            l < kEllipsis ? std::string(1, static_cast<char>(l)) : std::string("..."),
                            " has sizes ", p.size[static_cast<size_t>(l)], " and ", d);
        p.size[static_cast<size_t>(l)] = d;
        sized[static_cast<size_t>(l)] = true;
      } else if (!sized[static_cast<size_t>(l)]) {
        p.size[static_cast<size_t>(l)] = 1;
      }
      if (d == 1) continue;  // size-1 axes broadcast: drop them from the view
      const int at = v.find(l);
      if (at >= 0) {
        v.strides[static_cast<size_t>(at)] += strides[a];
      } else {
        v.labels.push_back(l);
        v.dims.push_back(d);
        v.strides.push_back(strides[a]);
      }
    }
    p.views.push_back(std::move(v));
  }
  if (eq.explicit_output) {
    const Term& t = eq.output;
    for (int j = 0; j < static_cast<int>(t.letters.size()) + 1; ++j) {
      if (j == t.ellipsis_at)
        for (int e = 0; e < max_ell; ++e) p.out_labels.push_back(kEllipsis + e);
      if (j < static_cast<int>(t.letters.size())) p.out_labels.push_back(t.letters[static_cast<size_t>(j)]);
    }
  } else {
    for (int e = 0; e < max_ell; ++e) p.out_labels.push_back(kEllipsis + e);
    for (int l = 0; l < kEllipsis; ++l)
      if (count[static_cast<size_t>(l)] == 1) p.out_labels.push_back(l);
  }
  // Label sizes: a label seen only with size 1 in views was dropped; its size stays 1.
  std::array<bool, kLabels> in_out{};
  for (int l : p.out_labels) in_out[static_cast<size_t>(l)] = true;

  ScratchCarver sc;
  View cur = p.views[0];
  for (size_t i = 1; i < n_in; ++i) {
    const View y = p.views[i];
    std::array<bool, kLabels> kept = in_out;
    for (size_t j = i + 1; j < n_in; ++j)
      for (int l : p.views[j].labels) kept[static_cast<size_t>(l)] = true;
    Step s;
    for (int l : cur.labels) {
      const bool in_y = y.find(l) >= 0;
      (in_y ? (kept[static_cast<size_t>(l)] ? s.batch : s.k) : (kept[static_cast<size_t>(l)] ? s.m : s.sum_x)).push_back(l);
    }
    for (int l : y.labels)
      if (cur.find(l) < 0) (kept[static_cast<size_t>(l)] ? s.n : s.sum_y).push_back(l);
    s.nb = product(s.batch, p.size);
    s.nm = product(s.m, p.size);
    s.nk = product(s.k, p.size);
    s.nn = product(s.n, p.size);
    s.x_at = sc.add(static_cast<size_t>(s.nb * s.nm * s.nk) * elem_bytes);
    s.y_at = sc.add(static_cast<size_t>(s.nb * s.nk * s.nn) * elem_bytes);
    s.z_at = sc.add(static_cast<size_t>(s.nb * s.nm * s.nn) * elem_bytes);
    cur = product_view(s, p.size);
    p.steps.push_back(std::move(s));
  }
  p.scratch_bytes = sc.total();
  return p;
}

template <class T>
void run_einsum(const EinsumPlan& p, void* scratch, T* out, const std::vector<const T*>& inputs) {
  auto* base = static_cast<uint8_t*>(scratch);
  const T* cur = inputs[0];
  const View* cur_view = &p.views[0];
  View z_view;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step& s = p.steps[i];
    T* x = reinterpret_cast<T*>(base + s.x_at);
    T* y = reinterpret_cast<T*>(base + s.y_at);
    T* z = reinterpret_cast<T*>(base + s.z_at);
    std::vector<int> xo(s.batch), yo(s.batch);
    xo.insert(xo.end(), s.m.begin(), s.m.end());
    xo.insert(xo.end(), s.k.begin(), s.k.end());
    yo.insert(yo.end(), s.k.begin(), s.k.end());
    yo.insert(yo.end(), s.n.begin(), s.n.end());
    gather(cur, *cur_view, xo, s.sum_x, p.size, x);
    gather(inputs[i + 1], p.views[i + 1], yo, s.sum_y, p.size, y);
    batched_gemm(s, x, y, z);
    cur = z;
    z_view = product_view(s, p.size);
    cur_view = &z_view;
  }
  std::vector<int> sum;
  for (int l : cur_view->labels)
    if (std::find(p.out_labels.begin(), p.out_labels.end(), l) == p.out_labels.end()) sum.push_back(l);
  gather(cur, *cur_view, p.out_labels, sum, p.size, out);
}

#define OBOL_EINSUM_TYPES float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, F16, BF16

Result<std::unique_ptr<backend::Kernel>> make_einsum(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 64, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const std::string text, node.attr_string("equation", ""));
  OBOL_ASSIGN_OR_RETURN(Equation eq, parse_equation(node, text));
  if (eq.inputs.size() != node.inputs.size())
    return node_error(StatusCode::invalid_argument, node, "equation '", text, "' has ", eq.inputs.size(),
                      " input terms but the node has ", node.inputs.size(), " inputs");
  return make_kernel([eq, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const int n = ctx.input_count();
    std::vector<Shape> shapes;
    const DType dt = ctx.input(0).dtype();
    for (int i = 0; i < n; ++i) {
      if (ctx.input(i).dtype() != dt)
        return node_error(StatusCode::invalid_argument, nref, "all inputs must have one type, input 0 is ",
                          dtype_name(dt), " and input ", i, " is ", dtype_name(ctx.input(i).dtype()));
      shapes.push_back(ctx.input(i).shape());
    }
    return dispatch_dtype<OBOL_EINSUM_TYPES>(dt, "Einsum", [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = std::conditional_t<is_half_v<T>, float, T>;  // half types compute in fp32
      OBOL_ASSIGN_OR_RETURN(const EinsumPlan p, plan_einsum(nref, eq, shapes, sizeof(C)));
      Shape out_shape;
      for (int l : p.out_labels)
        if (!out_shape.push_back(p.size[static_cast<size_t>(l)]))
          return node_error(StatusCode::unsupported, nref, "output rank exceeds ", Shape::kMaxRank);
      OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, dt, out_shape));
      ScratchCarver sc;
      const size_t steps_at = sc.add(p.scratch_bytes);
      std::vector<size_t> conv_at;
      if constexpr (is_half_v<T>) {
        for (int i = 0; i < n; ++i) conv_at.push_back(sc.add(static_cast<size_t>(ctx.input(i).numel()) * sizeof(float)));
        conv_at.push_back(sc.add(static_cast<size_t>(y.numel()) * sizeof(float)));
      }
      OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(std::max<size_t>(sc.total(), 64)));
      auto* base = static_cast<uint8_t*>(mem);
      std::vector<const C*> ins;
      C* out = nullptr;
      if constexpr (is_half_v<T>) {
        for (int i = 0; i < n; ++i) {
          auto* f = reinterpret_cast<float*>(base + conv_at[static_cast<size_t>(i)]);
          const T* src = ctx.input(i).template data_as<const T>();
          for (int64_t e = 0; e < ctx.input(i).numel(); ++e) f[e] = to_f32(src[e]);
          ins.push_back(f);
        }
        out = reinterpret_cast<float*>(base + conv_at.back());
      } else {
        for (int i = 0; i < n; ++i) ins.push_back(ctx.input(i).template data_as<const T>());
        out = y.data_as<T>();
      }
      run_einsum<C>(p, base + steps_at, out, ins);
      if constexpr (is_half_v<T>) {
        T* dst = y.data_as<T>();
        for (int64_t e = 0; e < y.numel(); ++e) dst[e] = from_f32<T>(out[e]);
      }
      return Status::ok();
    });
  });
}

}  // namespace

void register_einsum(CpuOpRegistry& r) { r.add(graph::OpKind::Einsum, &make_einsum); }

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
