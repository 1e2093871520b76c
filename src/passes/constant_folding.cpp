// Constant folding: evaluate nodes whose inputs are all known at load time.
#include <memory>

#include "obol/backend/backend.hpp"
#include "obol/graph/executor.hpp"
#include "obol/graph/passes.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

// Ops whose result is not a function of their inputs alone, or that hold subgraphs.
bool foldable_op(OpKind op) {
  switch (op) {
    case OpKind::RandomNormal:
    case OpKind::RandomNormalLike:
    case OpKind::RandomUniform:
    case OpKind::RandomUniformLike:
    case OpKind::Bernoulli:
    case OpKind::Multinomial:
    case OpKind::If:
    case OpKind::Loop:
    case OpKind::Scan:
      return false;
    default:
      return true;
  }
}

// Runs `node` alone on its constant inputs with the CPU backend.
Result<std::vector<Tensor>> evaluate(const Graph& g, const Node& node, backend::Backend& cpu) {
  auto one = std::make_shared<Graph>();
  Node copy = node;
  copy.inputs.clear();
  copy.outputs.clear();
  for (ValueId v : node.inputs) {
    if (v == kNoValue) {
      copy.inputs.push_back(kNoValue);
      continue;
    }
    const Value& src = g.value(v);
    const ValueId nv = one->add_value(src.name, src.type);
    one->value(nv).constant = src.constant;
    copy.inputs.push_back(nv);
  }
  for (ValueId v : node.outputs) {
    if (v == kNoValue) {
      copy.outputs.push_back(kNoValue);
      continue;
    }
    const ValueId nv = one->add_value(g.value(v).name, g.value(v).type);
    copy.outputs.push_back(nv);
    one->add_output(nv);
  }
  one->add_node(std::move(copy));
  std::string why;
  if (!cpu.supports(*one, 0, &why)) return make_status(StatusCode::unsupported, "fold", why);
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<const CompiledGraph> compiled, CompiledGraph::compile(one, {&cpu}));
  Executor ex(compiled);
  std::vector<Tensor> out;
  OBOL_RETURN_IF_ERROR(ex.run({}, out));
  return out;
}

}  // namespace

Result<int> fold_constants(Graph& g, size_t max_bytes) {
  OBOL_ASSIGN_OR_RETURN(std::unique_ptr<backend::Backend> cpu, backend::make_backend("cpu"));
  OBOL_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.topological_order());
  int folded = 0;
  for (NodeId n : order) {
    Node& node = g.node(n);
    if (!foldable_op(node.op) || node.outputs.empty()) continue;
    bool all_constant = true;
    for (ValueId v : node.inputs)
      if (v != kNoValue && !g.value(v).constant) all_constant = false;
    if (!all_constant) continue;
    auto outputs = evaluate(g, node, *cpu);
    if (!outputs.is_ok()) continue;  // left to run time, where the error (if any) is reported
    bool small = true;
    for (const Tensor& t : *outputs) small = small && t.nbytes() <= max_bytes;
    if (!small) continue;
    size_t k = 0;
    for (ValueId v : node.outputs) {
      if (v == kNoValue) {
        ++k;
        continue;
      }
      auto c = std::make_shared<ConstantData>();
      auto owned = std::make_shared<Tensor>(std::move((*outputs)[k++]));
      c->view = owned->view();
      c->owner = owned;
      Value& val = g.value(v);
      val.constant = std::move(c);
      val.producer = kNoNode;
      val.type = ValueType::tensor(val.constant->view.dtype(), val.constant->view.shape());
    }
    node.removed = true;
    ++folded;
  }
  return folded;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
