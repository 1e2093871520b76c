// ONNX ModelProto -> obol graph IR.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "obol/formats/onnx_graph.hpp"

namespace obol {
inline namespace v1 {
namespace onnx {

namespace {

// Keeps a constant's bytes alive: the model's mapping for borrowed data, or the decoded copy.
struct ConstantKeepAlive {
  std::shared_ptr<const ModelStorage> storage;
  Tensor owned;
  std::shared_ptr<const void> block;  // the RawBlock `view` points into, if any
};

// One allocation (from obol's allocator) holding copies of a graph's misaligned raw initializers.
// Protobuf puts inline weights at arbitrary offsets, so most cannot be used in place; one block,
// advised to use transparent huge pages where Linux offers them, costs a few dozen page faults for
// a 100 MB model where one allocation per tensor cost one fault (and one page clear) per 4 KiB.
class RawBlock {
 public:
  static constexpr size_t kHuge = size_t{2} << 20;

  static std::shared_ptr<RawBlock> create(size_t bytes) {
    const size_t alignment = bytes >= 2 * kHuge ? kHuge : 64;
    void* p = Allocator::default_instance().allocate(bytes, alignment);
    if (!p) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (alignment == kHuge) (void)madvise(p, bytes / kHuge * kHuge, MADV_HUGEPAGE);  // advice only
#endif
    return std::shared_ptr<RawBlock>(new RawBlock(p, bytes));
  }
  ~RawBlock() { Allocator::default_instance().deallocate(p_, bytes_); }
  RawBlock(const RawBlock&) = delete;
  RawBlock& operator=(const RawBlock&) = delete;
  char* data() const noexcept { return static_cast<char*>(p_); }

 private:
  RawBlock(void* p, size_t bytes) : p_(p), bytes_(bytes) {}
  void* p_;
  size_t bytes_;
};

// Copies below this size go through tensor_data()'s own allocation.
constexpr size_t kBlockMinBytes = 4096;

size_t block_slot(size_t bytes) { return (bytes + 63) / 64 * 64; }

std::shared_ptr<const graph::ConstantData> make_constant(TensorData data, const std::shared_ptr<const ModelStorage>& storage,
                                                         std::shared_ptr<const void> block = nullptr) {
  auto keep = std::make_shared<ConstantKeepAlive>();
  keep->storage = storage;
  keep->block = std::move(block);
  const TensorView view = data.view;
  keep->owned = std::move(data.owned);  // moving keeps `view` valid (the buffer does not move)
  auto c = std::make_shared<graph::ConstantData>();
  c->view = view;
  c->owner = std::move(keep);
  return c;
}

template <class T>
Result<std::shared_ptr<const graph::ConstantData>> make_constant_from(const std::vector<T>& values, bool scalar) {
  Shape shape;
  if (!scalar) shape = Shape{static_cast<int64_t>(values.size())};
  OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(dtype_of_v<T>, shape));
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(T));
  TensorData d;
  d.view = t.view();
  d.owned = std::move(t);
  return make_constant(std::move(d), nullptr);
}

class Importer {
 public:
  Importer(const OnnxModel& model, const Importer* parent) : model_(model), parent_(parent) {}

  Result<std::shared_ptr<graph::Graph>> import(const GraphProto& gp) {
    g_ = std::make_shared<graph::Graph>();
    g_->name = std::string(gp.name);
    size_t block_bytes = 0;
    for (const TensorProto& init : gp.initializer)
      if (raw_data_misaligned(init) && init.raw_data.size() >= kBlockMinBytes)
        block_bytes += block_slot(init.raw_data.size());
    std::shared_ptr<RawBlock> block = block_bytes ? RawBlock::create(block_bytes) : nullptr;
    size_t block_used = 0;
    for (const TensorProto& init : gp.initializer) {
      OBOL_CHECK_OR_RETURN(!init.name.empty(), invalid_argument, "onnx", "graph '", gp.name,
                           "' has an initializer without a name");
      void* dst = nullptr;
      if (block && raw_data_misaligned(init) && init.raw_data.size() >= kBlockMinBytes) {
        dst = block->data() + block_used;
        block_used += block_slot(init.raw_data.size());
      }
      auto data = tensor_data(init, dst);
      if (!data.is_ok())
        return Status(data.status().code(), str_cat(data.status().message(), " (initializer '", init.name, "')"));
      const graph::ValueId v = g_->add_value(std::string(init.name),
                                             graph::ValueType::tensor(data->view.dtype(), data->view.shape()));
      g_->value(v).constant = make_constant(std::move(data.value()), model_.storage(),
                                            dst ? std::shared_ptr<const void>(block) : nullptr);
      names_[std::string(init.name)] = v;
    }
    for (const ValueInfoProto& in : gp.input) {
      if (names_.count(std::string(in.name))) continue;  // IR < 4 lists initializers as inputs too
      OBOL_ASSIGN_OR_RETURN(graph::ValueType t, value_type(in, "input"));
      const graph::ValueId v = g_->add_value(std::string(in.name), std::move(t));
      names_[std::string(in.name)] = v;
      g_->add_input(v);
    }
    for (const NodeProto& np : gp.node) OBOL_RETURN_IF_ERROR(add_node(np));
    for (const ValueInfoProto& vi : gp.value_info) {
      auto it = names_.find(std::string(vi.name));
      if (it == names_.end() || vi.type.kind != TypeProto::Kind::tensor) continue;
      auto t = value_type(vi, "value");
      if (t.is_ok() && g_->value(it->second).type.dtype == DType::invalid) g_->value(it->second).type = std::move(t.value());
    }
    for (const ValueInfoProto& out : gp.output) {
      OBOL_ASSIGN_OR_RETURN(graph::ValueType t, value_type(out, "output"));
      const graph::ValueId v = lookup(out.name);
      graph::Value& val = g_->value(v);
      if (val.type.dtype == DType::invalid || !val.type.rank_known) val.type = std::move(t);
      g_->add_output(v);
    }
    OBOL_RETURN_IF_ERROR(g_->validate());
    return g_;
  }

 private:
  Result<graph::ValueType> value_type(const ValueInfoProto& vi, const char* what) const {
    graph::ValueType t;
    if (vi.type.kind == TypeProto::Kind::none) return t;  // untyped (allowed inside subgraphs)
    OBOL_CHECK_OR_RETURN(vi.type.kind == TypeProto::Kind::tensor, unsupported, "onnx", "graph ", what, " '", vi.name,
                         "' has ", type_kind_name(vi.type.kind), " type; only tensors are supported");
    auto dt = to_dtype(vi.type.elem_type);
    if (!dt.is_ok())
      return Status(dt.status().code(), str_cat(dt.status().message(), " (graph ", what, " '", vi.name, "')"));
    t.dtype = *dt;
    t.rank_known = vi.type.has_shape;
    for (const TypeProto::Dim& d : vi.type.shape)
      t.dims.push_back(d.has_value && d.value >= 0 ? graph::Dim::known(d.value) : graph::Dim::named(std::string(d.param)));
    return t;
  }

  static void collect_outer(const graph::Graph& sg, std::vector<std::string>& names) {
    for (int32_t v = 0; v < sg.value_count(); ++v) {
      const graph::Value& val = sg.value(v);
      if (val.is_outer_scope && std::find(names.begin(), names.end(), val.name) == names.end())
        names.push_back(val.name);
    }
  }

  bool defined_in_ancestors(const std::string& name) const {
    for (const Importer* p = parent_; p; p = p->parent_)
      if (p->names_.count(name)) return true;
    return false;
  }

  // The value called `name`: existing, captured from an enclosing graph, or a forward reference.
  graph::ValueId lookup(std::string_view name) {
    std::string key(name);
    auto it = names_.find(key);
    if (it != names_.end()) return it->second;
    const graph::ValueId v = g_->add_value(key);
    if (defined_in_ancestors(key)) g_->value(v).is_outer_scope = true;
    names_[key] = v;
    return v;
  }

  Status add_node(const NodeProto& np) {
    const std::string_view domain = np.domain == "ai.onnx" ? std::string_view() : np.domain;
    const int64_t opset = model_.opset_version(domain);
    if (np.op_type == "Constant" && domain.empty()) return add_constant(np);
    auto op = graph::op_from_onnx(domain, np.op_type);
    if (!op)
      return make_status(StatusCode::unsupported, "onnx", "operator '", np.op_type, "' (domain '",
                         domain.empty() ? std::string_view("ai.onnx") : domain, "', opset ", opset, ") of node '",
                         np.name, "' is not supported");
    graph::Node n;
    n.op = *op;
    n.name = np.name.empty() ? str_cat(np.op_type, "_", g_->node_count()) : std::string(np.name);
    n.domain = std::string(domain);
    n.opset = static_cast<int>(opset < 0 ? 1 : opset);
    for (std::string_view in : np.input) n.inputs.push_back(in.empty() ? graph::kNoValue : lookup(in));
    for (std::string_view out : np.output) {
      if (out.empty()) {
        n.outputs.push_back(graph::kNoValue);
        continue;
      }
      n.outputs.push_back(lookup(out));
    }
    for (const AttributeProto& a : np.attribute) {
      auto attr = convert_attribute(a, n.name);
      if (!attr.is_ok()) return attr.status();
      n.attributes.push_back(std::move(attr.value()));
    }
    // Names the subgraphs capture from this scope become trailing implicit inputs.
    std::vector<std::string> captured;
    for (const graph::Attribute& a : n.attributes) {
      if (a.g) collect_outer(*a.g, captured);
      for (const auto& sg : a.graphs) collect_outer(*sg, captured);
    }
    for (const std::string& name : captured) {
      n.inputs.push_back(lookup(name));
      ++n.implicit_inputs;
    }
    g_->add_node(std::move(n));
    return Status::ok();
  }

  Status add_constant(const NodeProto& np) {
    OBOL_CHECK_OR_RETURN(np.output.size() == 1 && !np.output[0].empty(), invalid_argument, "onnx", "Constant node '",
                         np.name, "' must have exactly one output");
    OBOL_CHECK_OR_RETURN(np.attribute.size() == 1, invalid_argument, "onnx", "Constant node '", np.name,
                         "' must have exactly one attribute, found ", np.attribute.size());
    const AttributeProto& a = np.attribute[0];
    std::shared_ptr<const graph::ConstantData> c;
    if (a.name == "value" && a.t) {
      auto data = tensor_data(*a.t);
      if (!data.is_ok())
        return Status(data.status().code(), str_cat(data.status().message(), " (Constant node '", np.name, "')"));
      c = make_constant(std::move(data.value()), model_.storage());
    } else if (a.name == "value_float") {
      OBOL_ASSIGN_OR_RETURN(c, make_constant_from(std::vector<float>{a.f}, true));
    } else if (a.name == "value_floats") {
      OBOL_ASSIGN_OR_RETURN(c, make_constant_from(a.floats, false));
    } else if (a.name == "value_int") {
      OBOL_ASSIGN_OR_RETURN(c, make_constant_from(std::vector<int64_t>{a.i}, true));
    } else if (a.name == "value_ints") {
      OBOL_ASSIGN_OR_RETURN(c, make_constant_from(a.ints, false));
    } else {
      return make_status(StatusCode::unsupported, "onnx", "Constant node '", np.name, "': attribute '", a.name,
                         "' is not supported (string and sparse constants are not)");
    }
    const std::string out(np.output[0]);
    OBOL_CHECK_OR_RETURN(!names_.count(out), invalid_argument, "onnx", "Constant node '", np.name, "': output '", out,
                         "' is already defined");
    const graph::ValueId v = g_->add_value(out, graph::ValueType::tensor(c->view.dtype(), c->view.shape()));
    g_->value(v).constant = std::move(c);
    names_[out] = v;
    return Status::ok();
  }

  Result<graph::Attribute> convert_attribute(const AttributeProto& a, const std::string& node_name) {
    using K = graph::Attribute::Kind;
    using T = AttributeProto::Type;
    graph::Attribute r;
    r.name = std::string(a.name);
    switch (a.type) {
      case T::float_: r.kind = K::f; r.f = a.f; break;
      case T::int_: r.kind = K::i; r.i = a.i; break;
      case T::string: r.kind = K::s; r.s = std::string(a.s); break;
      case T::floats: r.kind = K::floats; r.floats = a.floats; break;
      case T::ints: r.kind = K::ints; r.ints = a.ints; break;
      case T::strings:
        r.kind = K::strings;
        for (std::string_view s : a.strings) r.strings.emplace_back(s);
        break;
      case T::tensor: {
        OBOL_CHECK_OR_RETURN(a.t != nullptr, invalid_argument, "onnx", "node '", node_name, "': attribute '", a.name,
                             "' has no tensor");
        auto data = tensor_data(*a.t);
        if (!data.is_ok())
          return Status(data.status().code(),
                        str_cat(data.status().message(), " (attribute '", a.name, "' of node '", node_name, "')"));
        r.kind = K::t;
        r.t = make_constant(std::move(data.value()), model_.storage());
        break;
      }
      case T::tensors:
        r.kind = K::tensors;
        for (const TensorProto& tp : a.tensors) {
          auto data = tensor_data(tp);
          if (!data.is_ok()) return data.status();
          r.tensors.push_back(make_constant(std::move(data.value()), model_.storage()));
        }
        break;
      case T::graph: {
        OBOL_CHECK_OR_RETURN(a.g != nullptr, invalid_argument, "onnx", "node '", node_name, "': attribute '", a.name,
                             "' has no graph");
        Importer sub(model_, this);
        OBOL_ASSIGN_OR_RETURN(std::shared_ptr<graph::Graph> sg, sub.import(*a.g));
        r.kind = K::g;
        r.g = std::move(sg);
        break;
      }
      case T::graphs:
        r.kind = K::graphs;
        for (const auto& gp : a.graphs) {
          Importer sub(model_, this);
          OBOL_ASSIGN_OR_RETURN(std::shared_ptr<graph::Graph> sg, sub.import(*gp));
          r.graphs.push_back(std::move(sg));
        }
        break;
      default:
        return make_status(StatusCode::unsupported, "onnx", "node '", node_name, "': attribute '", a.name, "' has type ",
                           attribute_type_name(a.type), ", which is not supported");
    }
    return r;
  }

  const OnnxModel& model_;
  const Importer* parent_;
  std::shared_ptr<graph::Graph> g_;
  std::unordered_map<std::string, graph::ValueId> names_;
};

}  // namespace

Result<std::shared_ptr<graph::Graph>> to_graph(const OnnxModel& model) {
  OBOL_CHECK_OR_RETURN(model.proto().has_graph, invalid_argument, "onnx", "the model has no graph");
  Importer importer(model, nullptr);
  return importer.import(model.graph());
}

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
