// CPU kernels: If, Loop and Scan, which run subgraphs.
//
// Each subgraph is compiled once, in the factory, with the CPU backend. Values it captures from
// enclosing graphs (is_outer_scope) are turned into extra graph inputs, fed from the node's implicit
// inputs, so a subgraph runs through an ordinary Executor.
#include <algorithm>
#include <cstring>
#include <string>

#include "common.hpp"
#include "obol/backend/backend.hpp"
#include "obol/graph/executor.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using graph::CompiledGraph;
using graph::Executor;
using graph::Graph;
using graph::Node;

// A compiled subgraph and, for each captured outer value, the index of the node input feeding it.
struct Body {
  std::shared_ptr<const CompiledGraph> compiled;
  size_t declared_inputs = 0;
  std::vector<int> capture_inputs;
};

Result<Body> compile_body(const Graph& g, const Node& node, const char* attr_name) {
  const graph::Attribute* a = node.find_attribute(attr_name);
  if (!a || a->kind != graph::Attribute::Kind::g || !a->g)
    return node_error(StatusCode::invalid_argument, node, "missing graph attribute '", attr_name, "'");
  auto sg = std::make_shared<Graph>(*a->g);
  Body body;
  body.declared_inputs = sg->inputs().size();
  const size_t first_implicit = node.inputs.size() - static_cast<size_t>(node.implicit_inputs);
  for (graph::ValueId v = 0; v < sg->value_count(); ++v) {
    if (!sg->value(v).is_outer_scope) continue;
    int from = -1;
    for (size_t k = first_implicit; k < node.inputs.size(); ++k)
      if (node.inputs[k] != graph::kNoValue && g.value(node.inputs[k]).name == sg->value(v).name) from = static_cast<int>(k);
    if (from < 0)
      return node_error(StatusCode::invalid_argument, node, "subgraph '", attr_name, "' reads '", sg->value(v).name,
                        "', which the enclosing graph does not provide");
    sg->value(v).is_outer_scope = false;
    sg->add_input(v);
    body.capture_inputs.push_back(from);
  }
  OBOL_ASSIGN_OR_RETURN(std::unique_ptr<backend::Backend> cpu, backend::make_backend("cpu"));
  auto compiled = CompiledGraph::compile(sg, {cpu.get()});
  if (!compiled.is_ok())
    return node_error(compiled.status().code(), node, "subgraph '", attr_name, "': ", compiled.status().message());
  body.compiled = std::move(compiled.value());
  return body;
}

// Appends the captured values to a subgraph's inputs.
void add_captures(const Body& body, backend::KernelContext& ctx, std::vector<TensorView>& inputs) {
  for (int k : body.capture_inputs) inputs.push_back(ctx.input(k));
}

Status copy_to_output(backend::KernelContext& ctx, int i, const TensorView& src) {
  OBOL_ASSIGN_OR_RETURN(TensorView dst, ctx.output(i, src.dtype(), src.shape()));
  if (src.nbytes()) std::memcpy(dst.data(), src.data(), src.nbytes());
  return Status::ok();
}

// --- If -----------------------------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_if(const Graph& g, const Node& node) {
  OBOL_ASSIGN_OR_RETURN(Body then_body, compile_body(g, node, "then_branch"));
  OBOL_ASSIGN_OR_RETURN(Body else_body, compile_body(g, node, "else_branch"));
  const size_t n_out = node.outputs.size();
  for (const Body* b : {&then_body, &else_body})
    if (b->compiled->graph().outputs().size() != n_out)
      return node_error(StatusCode::invalid_argument, node, "a branch has ", b->compiled->graph().outputs().size(),
                        " outputs, the node ", n_out);
  return make_kernel([then_body, else_body, node_name = node.name, n_out](backend::KernelContext& ctx) -> Status {
    const TensorView& c = ctx.input(0);
    if (c.numel() != 1 || c.dtype() != DType::boolean)
      return make_status(StatusCode::invalid_argument, "If", "node '", node_name, "': cond must be one bool, found ",
                         dtype_name(c.dtype()), c.shape().to_string());
    const Body& body = c.data_as<const uint8_t>()[0] ? then_body : else_body;
    std::vector<TensorView> inputs;
    add_captures(body, ctx, inputs);
    Executor ex(body.compiled);
    std::vector<Tensor> outs;
    OBOL_RETURN_IF_ERROR(ex.run(inputs, outs));
    for (size_t i = 0; i < n_out; ++i) OBOL_RETURN_IF_ERROR(copy_to_output(ctx, static_cast<int>(i), outs[i].view()));
    return Status::ok();
  });
}

// --- Loop ---------------------------------------------------------------------------------------

// Stacks equally shaped tensors along a new leading axis.
Status stack_to_output(backend::KernelContext& ctx, int out, const std::vector<Tensor>& parts, const graph::ValueType& type,
                       const std::string& node_name) {
  if (parts.empty()) {
    Shape s{0};
    for (size_t d = 0; d < type.dims.size(); ++d) s.push_back(type.dims[d].is_known() ? type.dims[d].value : 0);
    const DType dt = type.dtype == DType::invalid ? DType::f32 : type.dtype;
    return ctx.output(out, dt, s).status();
  }
  const Shape& one = parts[0].shape();
  Shape s{static_cast<int64_t>(parts.size())};
  for (int64_t d : one)
    if (!s.push_back(d)) return make_status(StatusCode::unsupported, "Loop", "node '", node_name, "': scan output rank too large");
  for (const Tensor& p : parts)
    if (p.shape() != one || p.dtype() != parts[0].dtype())
      return make_status(StatusCode::invalid_argument, "Loop", "node '", node_name,
                         "': scan output changes shape or type between iterations (", one.to_string(), " vs ",
                         p.shape().to_string(), ")");
  OBOL_ASSIGN_OR_RETURN(TensorView dst, ctx.output(out, parts[0].dtype(), s));
  const size_t bytes = parts[0].nbytes();
  for (size_t i = 0; i < parts.size(); ++i)
    if (bytes) std::memcpy(static_cast<char*>(dst.data()) + i * bytes, parts[i].data(), bytes);
  return Status::ok();
}

Result<std::unique_ptr<backend::Kernel>> make_loop(const Graph& g, const Node& node) {
  OBOL_ASSIGN_OR_RETURN(Body body, compile_body(g, node, "body"));
  const size_t declared = node.inputs.size() - static_cast<size_t>(node.implicit_inputs);
  if (declared < 2) return node_error(StatusCode::invalid_argument, node, "expected at least 2 inputs (M, cond)");
  const size_t n_carried = declared - 2;
  const Graph& bg = body.compiled->graph();
  if (body.declared_inputs != n_carried + 2)
    return node_error(StatusCode::invalid_argument, node, "body has ", body.declared_inputs, " inputs, expected ",
                      n_carried + 2);
  if (bg.outputs().size() < n_carried + 1)
    return node_error(StatusCode::invalid_argument, node, "body has ", bg.outputs().size(), " outputs, expected at least ",
                      n_carried + 1);
  const size_t n_scan = bg.outputs().size() - 1 - n_carried;
  std::vector<graph::ValueType> scan_types;
  for (size_t k = 0; k < n_scan; ++k) scan_types.push_back(bg.value(bg.outputs()[1 + n_carried + k]).type);
  return make_kernel([body, n_carried, n_scan, scan_types, node_name = node.name](backend::KernelContext& ctx) -> Status {
    int64_t max_trips = INT64_MAX;
    if (ctx.has_input(0)) {
      const TensorView& m = ctx.input(0);
      if (m.numel() != 1 || m.dtype() != DType::i64)
        return make_status(StatusCode::invalid_argument, "Loop", "node '", node_name, "': M must be one int64");
      max_trips = m.data_as<const int64_t>()[0];
    }
    bool cond = true;
    if (ctx.has_input(1)) {
      const TensorView& c = ctx.input(1);
      if (c.numel() != 1 || c.dtype() != DType::boolean)
        return make_status(StatusCode::invalid_argument, "Loop", "node '", node_name, "': cond must be one bool");
      cond = c.data_as<const uint8_t>()[0] != 0;
    }
    std::vector<Tensor> carried;
    for (size_t k = 0; k < n_carried; ++k) {
      OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::copy_of(ctx.input(static_cast<int>(2 + k))));
      carried.push_back(std::move(t));
    }
    std::vector<std::vector<Tensor>> scans(n_scan);
    Executor ex(body.compiled);
    int64_t iter_value = 0;
    uint8_t cond_value = 1;
    for (int64_t i = 0; i < max_trips && cond; ++i) {
      iter_value = i;
      cond_value = cond ? 1 : 0;
      std::vector<TensorView> inputs{TensorView(&iter_value, DType::i64, Shape{}),
                                     TensorView(&cond_value, DType::boolean, Shape{})};
      for (const Tensor& t : carried) inputs.push_back(t.view());
      add_captures(body, ctx, inputs);
      std::vector<Tensor> outs;
      OBOL_RETURN_IF_ERROR(ex.run(inputs, outs));
      const TensorView c = outs[0].view();
      if (c.numel() != 1 || c.dtype() != DType::boolean)
        return make_status(StatusCode::invalid_argument, "Loop", "node '", node_name,
                           "': the body's cond output must be one bool, found ", dtype_name(c.dtype()), c.shape().to_string());
      cond = c.data_as<const uint8_t>()[0] != 0;
      for (size_t k = 0; k < n_carried; ++k) carried[k] = std::move(outs[1 + k]);
      for (size_t k = 0; k < n_scan; ++k) scans[k].push_back(std::move(outs[1 + n_carried + k]));
    }
    const size_t n_out = static_cast<size_t>(ctx.output_count());
    for (size_t k = 0; k < n_carried && k < n_out; ++k)
      OBOL_RETURN_IF_ERROR(copy_to_output(ctx, static_cast<int>(k), carried[k].view()));
    for (size_t k = 0; k < n_scan && n_carried + k < n_out; ++k)
      OBOL_RETURN_IF_ERROR(stack_to_output(ctx, static_cast<int>(n_carried + k), scans[k], scan_types[k], node_name));
    return Status::ok();
  });
}

// --- Scan ---------------------------------------------------------------------------------------

// Copies slice `index` along `axis` of `t` into `dst` (shape of t without that axis).
void take_slice(const TensorView& t, int axis, int64_t index, void* dst) {
  const size_t es = dtype_size(t.dtype());
  const int64_t outer = t.shape().numel_range(0, axis);
  const int64_t inner = t.shape().numel_range(axis + 1, t.rank()) * static_cast<int64_t>(es);
  const int64_t len = t.shape()[axis];
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(static_cast<char*>(dst) + o * inner, static_cast<const char*>(t.data()) + (o * len + index) * inner,
                static_cast<size_t>(inner));
}

// Writes `part` as slice `index` along `axis` of `out`.
void put_slice(const TensorView& out, int axis, int64_t index, const TensorView& part) {
  const size_t es = dtype_size(out.dtype());
  const int64_t outer = out.shape().numel_range(0, axis);
  const int64_t inner = out.shape().numel_range(axis + 1, out.rank()) * static_cast<int64_t>(es);
  const int64_t len = out.shape()[axis];
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(static_cast<char*>(out.data()) + (o * len + index) * inner,
                static_cast<const char*>(part.data()) + o * inner, static_cast<size_t>(inner));
}

Shape remove_axis(const Shape& s, int axis) {
  Shape r;
  for (int d = 0; d < s.rank(); ++d)
    if (d != axis) r.push_back(s[d]);
  return r;
}

Shape insert_axis(const Shape& s, int axis, int64_t n) {
  Shape r;
  for (int d = 0; d <= s.rank(); ++d) {
    if (d == axis) r.push_back(n);
    if (d < s.rank()) r.push_back(s[d]);
  }
  return r;
}

Result<std::unique_ptr<backend::Kernel>> make_scan(const Graph& g, const Node& node) {
  OBOL_ASSIGN_OR_RETURN(Body body, compile_body(g, node, "body"));
  OBOL_ASSIGN_OR_RETURN(const int64_t m, node.attr_int("num_scan_inputs", -1));
  const bool v8 = node.opset < 9;  // opset 8: leading optional sequence_lens input and a batch axis
  const size_t declared = node.inputs.size() - static_cast<size_t>(node.implicit_inputs) - (v8 ? 1 : 0);
  if (m < 1 || static_cast<size_t>(m) > declared)
    return node_error(StatusCode::invalid_argument, node, "num_scan_inputs must be in [1, ", declared, "], found ", m);
  const size_t n_state = declared - static_cast<size_t>(m);
  const Graph& bg = body.compiled->graph();
  if (body.declared_inputs != declared || bg.outputs().size() < n_state)
    return node_error(StatusCode::invalid_argument, node, "body inputs/outputs do not match the node");
  const size_t n_scan_out = bg.outputs().size() - n_state;
  OBOL_ASSIGN_OR_RETURN(std::vector<int64_t> in_axes, node.attr_ints("scan_input_axes", std::vector<int64_t>(static_cast<size_t>(m), 0)));
  OBOL_ASSIGN_OR_RETURN(std::vector<int64_t> in_dirs, node.attr_ints(v8 ? "directions" : "scan_input_directions",
                                                                     std::vector<int64_t>(static_cast<size_t>(m), 0)));
  OBOL_ASSIGN_OR_RETURN(std::vector<int64_t> out_axes, node.attr_ints("scan_output_axes", std::vector<int64_t>(n_scan_out, 0)));
  OBOL_ASSIGN_OR_RETURN(std::vector<int64_t> out_dirs, node.attr_ints("scan_output_directions", std::vector<int64_t>(n_scan_out, 0)));
  if (in_axes.size() != static_cast<size_t>(m) || in_dirs.size() != static_cast<size_t>(m) ||
      out_axes.size() != n_scan_out || out_dirs.size() != n_scan_out)
    return node_error(StatusCode::invalid_argument, node, "scan axes/directions attributes have the wrong length");
  if (v8 && node.inputs[0] != graph::kNoValue)
    return node_error(StatusCode::unsupported, node, "sequence_lens is not supported");
  const size_t base = v8 ? 1 : 0;
  return make_kernel([=, node_name = node.name](backend::KernelContext& ctx) -> Status {
    // Opset 8 has a batch axis 0 on every input and output; run the batches one by one.
    const int64_t batches = v8 ? ctx.input(static_cast<int>(base)).shape()[0] : 1;
    std::vector<std::vector<Tensor>> state_out(n_state), scan_out(n_scan_out);
    Executor ex(body.compiled);
    for (int64_t b = 0; b < batches; ++b) {
      std::vector<Tensor> state;
      for (size_t k = 0; k < n_state; ++k) {
        TensorView in = ctx.input(static_cast<int>(base + k));
        if (v8) {
          OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(in.dtype(), remove_axis(in.shape(), 0)));
          take_slice(in, 0, b, t.data());
          state.push_back(std::move(t));
        } else {
          OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::copy_of(in));
          state.push_back(std::move(t));
        }
      }
      std::vector<Tensor> scan_in;
      std::vector<int> axes;
      for (size_t j = 0; j < static_cast<size_t>(m); ++j) {
        TensorView in = ctx.input(static_cast<int>(base + n_state + j));
        if (v8) {
          OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(in.dtype(), remove_axis(in.shape(), 0)));
          take_slice(in, 0, b, t.data());
          scan_in.push_back(std::move(t));
        } else {
          OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::copy_of(in));
          scan_in.push_back(std::move(t));
        }
        auto ax = scan_in.back().shape().normalize_axis(in_axes[j]);
        if (!ax.is_ok()) return make_status(StatusCode::invalid_argument, "Scan", "node '", node_name, "': ", ax.status().message());
        axes.push_back(*ax);
      }
      const int64_t len = scan_in.empty() ? 0 : scan_in[0].shape()[axes[0]];
      for (size_t j = 0; j < scan_in.size(); ++j)
        if (scan_in[j].shape()[axes[j]] != len)
          return make_status(StatusCode::invalid_argument, "Scan", "node '", node_name, "': scan inputs differ in length");
      std::vector<std::vector<Tensor>> per_iter(n_scan_out);
      std::vector<Tensor> slices;
      for (size_t j = 0; j < scan_in.size(); ++j) {
        OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(scan_in[j].dtype(), remove_axis(scan_in[j].shape(), axes[j])));
        slices.push_back(std::move(t));
      }
      for (int64_t it = 0; it < len; ++it) {
        std::vector<TensorView> inputs;
        for (const Tensor& t : state) inputs.push_back(t.view());
        for (size_t j = 0; j < scan_in.size(); ++j) {
          const int64_t idx = in_dirs[j] ? len - 1 - it : it;
          take_slice(scan_in[j].view(), axes[j], idx, slices[j].data());
          inputs.push_back(slices[j].view());
        }
        add_captures(body, ctx, inputs);
        std::vector<Tensor> outs;
        OBOL_RETURN_IF_ERROR(ex.run(inputs, outs));
        for (size_t k = 0; k < n_state; ++k) state[k] = std::move(outs[k]);
        for (size_t k = 0; k < n_scan_out; ++k) per_iter[k].push_back(std::move(outs[n_state + k]));
      }
      for (size_t k = 0; k < n_state; ++k) state_out[k].push_back(std::move(state[k]));
      for (size_t k = 0; k < n_scan_out; ++k) {
        if (per_iter[k].empty()) continue;
        const Shape& ps = per_iter[k][0].shape();
        auto ax = Shape(insert_axis(ps, 0, 1)).normalize_axis(out_axes[k]);
        if (!ax.is_ok()) return make_status(StatusCode::invalid_argument, "Scan", "node '", node_name, "': ", ax.status().message());
        OBOL_ASSIGN_OR_RETURN(Tensor stacked, Tensor::empty(per_iter[k][0].dtype(), insert_axis(ps, *ax, len)));
        for (int64_t it = 0; it < len; ++it) {
          const int64_t idx = out_dirs[k] ? len - 1 - it : it;
          if (per_iter[k][static_cast<size_t>(it)].shape() != ps)
            return make_status(StatusCode::invalid_argument, "Scan", "node '", node_name, "': scan output changes shape");
          put_slice(stacked.view(), *ax, idx, per_iter[k][static_cast<size_t>(it)].view());
        }
        scan_out[k].push_back(std::move(stacked));
      }
    }
    auto emit = [&](int out, std::vector<Tensor>& parts) -> Status {
      if (parts.empty()) return Status::ok();
      if (!v8) return copy_to_output(ctx, out, parts[0].view());
      OBOL_ASSIGN_OR_RETURN(TensorView dst, ctx.output(out, parts[0].dtype(), insert_axis(parts[0].shape(), 0, batches)));
      for (int64_t b = 0; b < batches; ++b) put_slice(dst, 0, b, parts[static_cast<size_t>(b)].view());
      return Status::ok();
    };
    const size_t n_out = static_cast<size_t>(ctx.output_count());
    for (size_t k = 0; k < n_state && k < n_out; ++k) OBOL_RETURN_IF_ERROR(emit(static_cast<int>(k), state_out[k]));
    for (size_t k = 0; k < n_scan_out && n_state + k < n_out; ++k)
      OBOL_RETURN_IF_ERROR(emit(static_cast<int>(n_state + k), scan_out[k]));
    return Status::ok();
  });
}

}  // namespace

void register_control_flow(CpuOpRegistry& r) {
  r.add(graph::OpKind::If, &make_if);
  r.add(graph::OpKind::Loop, &make_loop);
  r.add(graph::OpKind::Scan, &make_scan);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
