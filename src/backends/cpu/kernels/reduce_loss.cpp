// CPU kernels of the reduce family that evaluate losses: SoftmaxCrossEntropyLoss and
// NegativeLogLikelihoodLoss (inference-time evaluation of the formulas; no gradients).
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "reduce_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {
namespace {

#define OBOL_LOSS_TYPES float, double, F16, BF16

enum class Reduction { none, sum, mean };

struct LossParams {
  bool softmax = false;  // SoftmaxCrossEntropyLoss: log-softmax over C first
  Reduction reduction = Reduction::mean;
  bool has_ignore_index = false;
  int64_t ignore_index = 0;
};

// Checks scores [N, C, d1.., dk] against labels [N, d1.., dk] and weights [C].
Status check_loss_shapes(const graph::Node& node, const TensorView& x, const TensorView& t, const TensorView* w) {
  const Shape& xs = x.shape();
  const Shape& ts = t.shape();
  if (xs.rank() < 2)
    return node_error(StatusCode::invalid_argument, node, "input of shape ", xs.to_string(),
                      " has rank ", xs.rank(), ", expected rank >= 2 ([N, C, d1, ...])");
  bool ok = ts.rank() == xs.rank() - 1 && ts[0] == xs[0];
  for (int i = 1; ok && i < ts.rank(); ++i) ok = ts[i] == xs[i + 1];
  if (!ok)
    return node_error(StatusCode::invalid_argument, node, "target shape ", ts.to_string(), " does not match input shape ",
                      xs.to_string(), " (expected [N, d1, ...] for input [N, C, d1, ...])");
  if (t.dtype() != DType::i64 && t.dtype() != DType::i32)
    return node_error(StatusCode::invalid_argument, node, "target must be int32 or int64, found ", dtype_name(t.dtype()));
  if (w != nullptr) {
    if (w->rank() != 1 || w->shape()[0] != xs[1])
      return node_error(StatusCode::invalid_argument, node, "weight has shape ", w->shape().to_string(),
                        ", expected [", xs[1], "] (one per class)");
    if (w->dtype() != x.dtype())
      return node_error(StatusCode::invalid_argument, node, "weight has element type ", dtype_name(w->dtype()),
                        ", expected ", dtype_name(x.dtype()), " like the input");
  }
  return Status::ok();
}

Status run_loss(const LossParams& lp, const graph::Node& node, backend::KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  const TensorView& t = ctx.input(1);
  if (!dtype_in<OBOL_LOSS_TYPES>(x.dtype())) return dtype_error(node, "input", x.dtype());
  const bool has_w = ctx.input_count() > 2 && ctx.has_input(2);
  const TensorView* w = has_w ? &ctx.input(2) : nullptr;
  OBOL_RETURN_IF_ERROR(check_loss_shapes(node, x, t, w));
  const int64_t N = x.shape()[0], C = x.shape()[1], D = x.shape().numel_range(2, x.rank());
  OBOL_ASSIGN_OR_RETURN(TensorView loss, ctx.output(0, x.dtype(), lp.reduction == Reduction::none ? t.shape() : Shape{}));
  TensorView log_prob;
  const bool want_log_prob = lp.softmax && ctx.output_count() > 1;
  if (want_log_prob) {
    OBOL_ASSIGN_OR_RETURN(log_prob, ctx.output(1, x.dtype(), x.shape()));
  }
  const bool write_log_prob = want_log_prob && ctx.has_output(1);

  return dispatch_dtype<OBOL_LOSS_TYPES>(x.dtype(), "loss", [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* px = x.data_as<const T>();
    const T* pw = has_w ? w->data_as<const T>() : nullptr;
    T* pl = loss.data_as<T>();
    T* plp = write_log_prob ? log_prob.data_as<T>() : nullptr;
    auto val = [&](int64_t i) { return static_cast<double>(load_value(px[i])); };
    double sum = 0.0, weight_sum = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t d = 0; d < D; ++d) {
        const int64_t base = n * C * D + d;  // element (n, 0, d); classes are D apart
        double log_z = 0.0;                  // log of the softmax normaliser
        if (lp.softmax) {
          double m = -std::numeric_limits<double>::infinity();
          for (int64_t c = 0; c < C; ++c) m = std::fmax(m, val(base + c * D));
          double s = 0.0;
          for (int64_t c = 0; c < C; ++c) s += std::exp(val(base + c * D) - m);
          log_z = m + std::log(s);
          if (plp != nullptr)
            for (int64_t c = 0; c < C; ++c) plp[base + c * D] = store_value<T>(val(base + c * D) - log_z);
        }
        const int64_t label = t.dtype() == DType::i64 ? t.data_as<const int64_t>()[n * D + d]
                                                      : int64_t{t.data_as<const int32_t>()[n * D + d]};
        double l = 0.0, wt = 0.0;
        if (!(lp.has_ignore_index && label == lp.ignore_index)) {
          if (label < 0 || label >= C)
            return node_error(StatusCode::out_of_range, node, "target value ", label, " at position ", n * D + d,
                              " is outside [0, ", C, ")",
                              lp.has_ignore_index ? str_cat(" and is not ignore_index ", lp.ignore_index) : "");
          wt = pw != nullptr ? static_cast<double>(load_value(pw[label])) : 1.0;
          l = -(val(base + label * D) - log_z) * wt;
        }
        if (lp.reduction == Reduction::none) pl[n * D + d] = store_value<T>(l);
        sum += l;
        weight_sum += wt;
      }
    }
    if (lp.reduction == Reduction::sum) pl[0] = store_value<T>(sum);
    if (lp.reduction == Reduction::mean) pl[0] = store_value<T>(sum / weight_sum);
    return Status::ok();
  });
}

template <bool Softmax>
Result<std::unique_ptr<backend::Kernel>> make_loss(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, Softmax ? 2 : 1));
  if (node.inputs[1] == graph::kNoValue) return node_error(StatusCode::invalid_argument, node, "input 'target' is missing");
  LossParams p;
  p.softmax = Softmax;
  OBOL_ASSIGN_OR_RETURN(const std::string reduction, node.attr_string("reduction", "mean"));
  if (reduction == "none") p.reduction = Reduction::none;
  else if (reduction == "sum") p.reduction = Reduction::sum;
  else if (reduction == "mean") p.reduction = Reduction::mean;
  else
    return node_error(StatusCode::invalid_argument, node, "reduction '", reduction,
                      "' is not one of 'none', 'sum', 'mean'");
  if (node.find_attribute("ignore_index") != nullptr) {
    p.has_ignore_index = true;
    OBOL_ASSIGN_OR_RETURN(p.ignore_index, node.attr_int("ignore_index", 0));
  }
  OBOL_RETURN_IF_ERROR(check_input_dtype<OBOL_LOSS_TYPES>(g, node, 0, "input"));
  OBOL_RETURN_IF_ERROR(check_input_dtype<int32_t, int64_t>(g, node, 1, "target"));
  return make_kernel([p, label = node_label(node)](backend::KernelContext& ctx) -> Status {
    return run_loss(p, label, ctx);
  });
}

}  // namespace

void register_reduce_loss(CpuOpRegistry& r) {
  r.add(graph::OpKind::SoftmaxCrossEntropyLoss, &make_loss<true>);
  r.add(graph::OpKind::NegativeLogLikelihoodLoss, &make_loss<false>);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
