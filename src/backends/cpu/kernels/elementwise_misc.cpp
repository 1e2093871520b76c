// CPU kernels: Where, Cast, CastLike, Identity and inference-mode Dropout.
#include <cstring>

#include "elementwise_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using ew::KernelPtr;
using ew::NodeTag;

// --- Where --------------------------------------------------------------------------------------

template <class T>
void where_copy(const TensorView& c, const TensorView& x, const TensorView& y, const TensorView& out) {
  const Shape* shapes[3] = {&c.shape(), &x.shape(), &y.shape()};
  const ew::BroadcastPlan<3> p = ew::plan_broadcast<3>(out.shape(), shapes);
  const bool* pc = c.data_as<const bool>();
  const T* px = x.data_as<const T>();
  const T* py = y.data_as<const T>();
  T* po = out.data_as<T>();
  ew::parallel_runs(p, [&](const int64_t* off, const int64_t* inc, int64_t oo, int64_t n) {
    const bool* cc = pc + off[0];
    const T* xx = px + off[1];
    const T* yy = py + off[2];
    T* o = po + oo;
    for (int64_t i = 0; i < n; ++i) o[i] = cc[i * inc[0]] ? xx[i * inc[1]] : yy[i * inc[2]];
  });
}

Result<KernelPtr> make_where(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 3, 1, 1));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, ew::BoolTypes{}));
  const DType tx = input_type(g, node, 1).dtype, ty = input_type(g, node, 2).dtype;
  if (tx != DType::invalid && ty != DType::invalid && tx != ty)
    return node_error(StatusCode::invalid_argument, node, "X and Y have different element types: ", dtype_name(tx),
                      " and ", dtype_name(ty));
  return make_kernel([tag = NodeTag(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& c = ctx.input(0);
    const TensorView& x = ctx.input(1);
    const TensorView& y = ctx.input(2);
    OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, c, 0, ew::BoolTypes{}));
    if (x.dtype() != y.dtype())
      return tag.error(StatusCode::invalid_argument, "X and Y have different element types: ", dtype_name(x.dtype()),
                       " and ", dtype_name(y.dtype()));
    const size_t es = dtype_size(x.dtype());
    if (es == 0 || es > 8)
      return tag.error(StatusCode::unsupported, "element type ", dtype_name(x.dtype()), " is not supported");
    const TensorView* in[3] = {&c, &x, &y};
    OBOL_ASSIGN_OR_RETURN(const Shape shape, ew::broadcast_all(tag, in, 3));
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, x.dtype(), shape));
    // Only the element size matters for a selection.
    switch (es) {
      case 1:
        where_copy<uint8_t>(c, x, y, out);
        break;
      case 2:
        where_copy<uint16_t>(c, x, y, out);
        break;
      case 4:
        where_copy<uint32_t>(c, x, y, out);
        break;
      default:
        where_copy<uint64_t>(c, x, y, out);
        break;
    }
    return Status::ok();
  });
}

// --- Cast / CastLike ----------------------------------------------------------------------------

// The obol dtype of an ONNX TensorProto.DataType number (the numbers are fixed by onnx.proto).
Result<DType> onnx_type(const graph::Node& node, int64_t t) {
  switch (t) {
    case 1:
      return DType::f32;
    case 2:
      return DType::u8;
    case 3:
      return DType::i8;
    case 4:
      return DType::u16;
    case 5:
      return DType::i16;
    case 6:
      return DType::i32;
    case 7:
      return DType::i64;
    case 9:
      return DType::boolean;
    case 10:
      return DType::f16;
    case 11:
      return DType::f64;
    case 12:
      return DType::u32;
    case 13:
      return DType::u64;
    case 16:
      return DType::bf16;
    case 8:
      return node_error(StatusCode::unsupported, node, "casts to STRING are not supported (no string tensors)");
    default:
      break;
  }
  if (t > 0 && t <= 25)
    return node_error(StatusCode::unsupported, node, "casts to ONNX data type ", t,
                      " (complex, float8 or 4-bit) are not supported");
  return node_error(StatusCode::invalid_argument, node, "'to' is not an ONNX data type: ", t);
}

Status cast_tensor(const NodeTag& tag, const TensorView& x, const TensorView& y) {
  if (x.dtype() == y.dtype()) {
    if (x.data() != y.data() && y.nbytes() > 0) std::memcpy(y.data(), x.data(), y.nbytes());
    return Status::ok();
  }
  return ew::dispatch(ew::AllTypes{}, x.dtype(), [&](auto tf) {
    using From = decltype(tf);
    return ew::dispatch(ew::AllTypes{}, y.dtype(), [&](auto tt) {
      using To = decltype(tt);
      // In place only works element for element, when both types have one size (the executor
      // shares buffers of equal byte size only, which for one element count means exactly that).
      if (sizeof(To) != sizeof(From) && x.data() == y.data() && x.numel() > 0)
        return tag.error(StatusCode::internal, "cast between types of different sizes cannot run in place");
      ew::map_unary<From, To>(x, y, [](From v) { return ew::convert<To>(v); });
      return Status::ok();
    });
  });
}

Result<KernelPtr> make_cast(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  if (!node.find_attribute("to")) return node_error(StatusCode::invalid_argument, node, "attribute 'to' is missing");
  OBOL_ASSIGN_OR_RETURN(const int64_t to_attr, node.attr_int("to", 0));
  OBOL_ASSIGN_OR_RETURN(const DType to, onnx_type(node, to_attr));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, ew::AllTypes{}));
  return make_kernel(
      [tag = NodeTag(node), to](backend::KernelContext& ctx) -> Status {
        const TensorView& x = ctx.input(0);
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, x, 0, ew::AllTypes{}));
        OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, to, x.shape()));
        return cast_tensor(tag, x, y);
      },
      0);
}

Result<KernelPtr> make_cast_like(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, ew::AllTypes{}));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 1, ew::AllTypes{}));
  return make_kernel(
      [tag = NodeTag(node)](backend::KernelContext& ctx) -> Status {
        const TensorView& x = ctx.input(0);
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, x, 0, ew::AllTypes{}));
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, ctx.input(1), 1, ew::AllTypes{}));
        OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, ctx.input(1).dtype(), x.shape()));
        return cast_tensor(tag, x, y);
      },
      0);
}

// --- Identity / Dropout -------------------------------------------------------------------------

Status copy_through(backend::KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), x.shape()));
  if (y.data() != x.data() && x.nbytes() > 0) std::memcpy(y.data(), x.data(), x.nbytes());
  return Status::ok();
}

Result<KernelPtr> make_identity(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  return make_kernel([](backend::KernelContext& ctx) { return copy_through(ctx); }, 0);
}

// The scalar bool/float in input i of a Dropout (ratio or training_mode).
Result<double> dropout_scalar(const NodeTag& tag, const TensorView& t, const char* what) {
  if (t.numel() != 1)
    return tag.error(StatusCode::invalid_argument, what, " must be a scalar, found shape ", t.shape().to_string());
  auto v = read_doubles(t, what);
  if (!v.is_ok()) return tag.error(StatusCode::invalid_argument, what, ": ", v.status().message());
  return (*v)[0];
}

// Inference Dropout: output = input, mask all true. Training mode is honoured only where it is the
// identity too (ratio 0); random dropping is not supported.
Result<KernelPtr> make_dropout(const graph::Graph& g, const graph::Node& node) {
  const bool inputs_form = node.opset <= 0 || node.opset >= 12;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, inputs_form ? 3 : 1, 1, 2));
  const NodeTag tag(node);
  // training_mode: 0 = off, 1 = on, -1 = decided at run time.
  int training = 0;
  if (inputs_form && node.inputs.size() > 2 && node.inputs[2] != graph::kNoValue) {
    training = -1;
    if (const graph::ConstantData* c = constant_input(g, node, 2)) {
      OBOL_ASSIGN_OR_RETURN(const double t, dropout_scalar(tag, c->view, "training_mode"));
      training = t != 0 ? 1 : 0;
    }
  }
  if (training == 1) {
    const graph::ConstantData* r = constant_input(g, node, 1);
    double ratio = 0.5;
    if (r) {
      OBOL_ASSIGN_OR_RETURN(ratio, dropout_scalar(tag, r->view, "ratio"));
    }
    const bool ratio_omitted = node.inputs.size() < 2 || node.inputs[1] == graph::kNoValue;
    if ((r || ratio_omitted) && ratio != 0)
      return node_error(StatusCode::unsupported, node, "training mode (random dropping) is not supported");
    if (!r && !ratio_omitted) training = -1;
  }
  DType mask_type = node.opset > 0 && node.opset < 10 ? DType::invalid : DType::boolean;
  if (node.outputs.size() > 1 && node.outputs[1] != graph::kNoValue) {
    const DType declared = g.value(node.outputs[1]).type.dtype;
    if (declared != DType::invalid) mask_type = declared;
  }
  return make_kernel(
      [tag, training, mask_type](backend::KernelContext& ctx) -> Status {
        if (training == -1 && ctx.input_count() > 2 && ctx.has_input(2)) {
          OBOL_ASSIGN_OR_RETURN(const double t, dropout_scalar(tag, ctx.input(2), "training_mode"));
          double ratio = 0.5;
          if (ctx.has_input(1)) {
            OBOL_ASSIGN_OR_RETURN(ratio, dropout_scalar(tag, ctx.input(1), "ratio"));
          }
          if (t != 0 && ratio != 0)
            return tag.error(StatusCode::unsupported, "training mode (random dropping) is not supported");
        }
        const TensorView& x = ctx.input(0);
        OBOL_RETURN_IF_ERROR(copy_through(ctx));
        if (ctx.output_count() > 1 && ctx.has_output(1)) {
          // Opsets 7-9 give the mask the input's type.
          const DType mt = mask_type == DType::invalid ? x.dtype() : mask_type;
          OBOL_ASSIGN_OR_RETURN(TensorView m, ctx.output(1, mt, x.shape()));
          return ew::dispatch(ew::AllTypes{}, mt, [&](auto t) {
            using T = decltype(t);
            T* p = m.data_as<T>();
            const T one = ew::convert<T>(1);
            for (int64_t i = 0; i < m.numel(); ++i) p[i] = one;
            return Status::ok();
          });
        }
        return Status::ok();
      },
      0);
}

}  // namespace

void register_elementwise_misc(CpuOpRegistry& r) {
  using graph::OpKind;
  r.add(OpKind::Where, &make_where);
  r.add(OpKind::Cast, &make_cast);
  r.add(OpKind::CastLike, &make_cast_like);
  r.add(OpKind::Identity, &make_identity);
  r.add(OpKind::Dropout, &make_dropout);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
