// The executor against a small test backend whose kernels are plain loops.
#include <catch2/catch.hpp>
#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

#include "obol/graph/executor.hpp"

// The replaced operator new/delete pair below is malloc/free on purpose.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

using namespace obol;
using namespace obol::graph;

// Counts every global operator new while armed: the executor must not allocate on the heap in a run
// with shapes it has already planned for.
namespace {
std::atomic<bool> g_count_allocs{false};
std::atomic<int64_t> g_allocs{0};
}  // namespace
namespace {
void* counted_alloc(size_t n) noexcept {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  return std::malloc(n ? n : 1);
}
}  // namespace
// The whole family of non-aligned forms, so every pointer is malloc'ed and free'd consistently.
void* operator new(size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

class UnaryKernel final : public backend::Kernel {
 public:
  explicit UnaryKernel(OpKind op) : op_(op) {}
  Status run(backend::KernelContext& ctx) const override {
    const TensorView& x = ctx.input(0);
    if (x.dtype() != DType::f32) return make_status(StatusCode::invalid_argument, "test", "expected f32");
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::f32, x.shape()));
    const float* in = x.data_as<float>();
    float* out = y.data_as<float>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = op_ == OpKind::Relu ? (in[i] > 0 ? in[i] : 0.0f) : -in[i];
    return Status::ok();
  }
  int inplace_input(int) const noexcept override { return 0; }

 private:
  OpKind op_;
};

class AddKernel final : public backend::Kernel {
 public:
  Status run(backend::KernelContext& ctx) const override {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    if (a.shape() != b.shape())
      return make_status(StatusCode::invalid_argument, "Add", "shapes ", a.shape().to_string(), " and ",
                         b.shape().to_string(), " differ");
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::f32, a.shape()));
    OBOL_ASSIGN_OR_RETURN(void* tmp, ctx.scratch(64));
    (void)tmp;
    for (int64_t i = 0; i < a.numel(); ++i) y.data_as<float>()[i] = a.data_as<float>()[i] + b.data_as<float>()[i];
    return Status::ok();
  }
};

class TestBackend final : public backend::Backend {
 public:
  TestBackend(std::string name, bool relu_only) : name_(std::move(name)), relu_only_(relu_only) {}
  std::string_view name() const noexcept override { return name_; }
  backend::Availability probe() override { return {}; }
  bool supports(const Graph& g, NodeId n, std::string* why) const override {
    const OpKind op = g.node(n).op;
    const bool ok = relu_only_ ? op == OpKind::Relu : (op == OpKind::Relu || op == OpKind::Neg || op == OpKind::Add);
    if (!ok && why) *why = "op not implemented";
    return ok;
  }
  Result<std::unique_ptr<backend::Kernel>> create_kernel(const Graph& g, NodeId n) const override {
    const OpKind op = g.node(n).op;
    if (op == OpKind::Add) return std::unique_ptr<backend::Kernel>(new AddKernel());
    return std::unique_ptr<backend::Kernel>(new UnaryKernel(op));
  }

 private:
  std::string name_;
  bool relu_only_;
};

Node node(OpKind op, std::string name, std::vector<ValueId> in, std::vector<ValueId> out) {
  Node n;
  n.op = op;
  n.name = std::move(name);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// y = relu(neg(x)) + c ;  z = neg(neg(neg(x)))   with x: f32[batch, 4], c constant [.., 4]
std::shared_ptr<Graph> make_graph(const std::shared_ptr<std::vector<float>>& cdata, int64_t rows) {
  auto g = std::make_shared<Graph>();
  ValueType xt;
  xt.dtype = DType::f32;
  xt.rank_known = true;
  xt.dims = {Dim::named("batch"), Dim::known(4)};
  const ValueId x = g->add_value("x", xt);
  g->add_input(x);
  const ValueId c = g->add_value("c", ValueType::tensor(DType::f32, Shape{rows, 4}));
  auto cd = std::make_shared<ConstantData>();
  cd->view = TensorView(cdata->data(), DType::f32, Shape{rows, 4});
  cd->owner = cdata;
  g->value(c).constant = cd;
  const ValueId a = g->add_value("a"), b = g->add_value("b"), y = g->add_value("y");
  const ValueId n1 = g->add_value("n1"), n2 = g->add_value("n2"), z = g->add_value("z");
  g->add_node(node(OpKind::Neg, "neg", {x}, {a}));
  g->add_node(node(OpKind::Relu, "relu", {a}, {b}));
  g->add_node(node(OpKind::Add, "add", {b, c}, {y}));
  g->add_node(node(OpKind::Neg, "neg1", {x}, {n1}));
  g->add_node(node(OpKind::Neg, "neg2", {n1}, {n2}));
  g->add_node(node(OpKind::Neg, "neg3", {n2}, {z}));
  g->add_output(y);
  g->add_output(z);
  return g;
}

std::vector<float> iota_data(int64_t n, float start) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<float>(i);
  return v;
}

}  // namespace

TEST_CASE("executor runs, plans memory, then runs without heap allocations", "[graph][executor]") {
  auto cdata = std::make_shared<std::vector<float>>(iota_data(8, 100.0f));
  TestBackend cpu("cpu", false);
  auto compiled = CompiledGraph::compile(make_graph(cdata, 2), {&cpu});
  REQUIRE(compiled.is_ok());
  Executor ex(*compiled);

  std::vector<float> x = iota_data(8, -4.0f);  // -4..3
  std::vector<TensorView> inputs{TensorView(x.data(), DType::f32, Shape{2, 4})};
  std::vector<Tensor> outputs;
  REQUIRE(ex.run(inputs, outputs).is_ok());
  REQUIRE(outputs.size() == 2);
  for (int i = 0; i < 8; ++i) {
    const float xi = x[static_cast<size_t>(i)];
    CHECK(outputs[0].data_as<float>()[i] == (-xi > 0 ? -xi : 0.0f) + (*cdata)[static_cast<size_t>(i)]);
    CHECK(outputs[1].data_as<float>()[i] == -xi);
  }
  CHECK(ex.stats().plans_made == 1);
  // a/b share one buffer in place, n1/n2 likewise, and the two pairs live at different times
  // (steps 0-2 and 3-5), so one 64-byte slot holds all four.
  CHECK(ex.stats().arena_bytes == 64);

  std::vector<float> y(8), z(8);
  std::vector<TensorView> outs{TensorView(y.data(), DType::f32, Shape{2, 4}), TensorView(z.data(), DType::f32, Shape{2, 4})};
  g_allocs = 0;
  g_count_allocs = true;
  const Status st = ex.run_into(inputs, outs);
  g_count_allocs = false;
  REQUIRE(st.is_ok());
  CHECK(g_allocs.load() == 0);
  CHECK(ex.stats().last_run_allocations == 0);
  CHECK(ex.stats().plans_made == 1);
  CHECK(y[0] == 4.0f + 100.0f);
  CHECK(z[7] == -3.0f);
}

TEST_CASE("executor re-plans when input shapes change", "[graph][executor]") {
  // The constant has one row and the Add kernel needs equal shapes, so batch must be 1 here.
  auto cdata = std::make_shared<std::vector<float>>(iota_data(4, 0.0f));
  TestBackend cpu("cpu", false);
  auto g = make_graph(cdata, 1);
  g->node(2).removed = false;
  auto compiled = CompiledGraph::compile(g, {&cpu});
  REQUIRE(compiled.is_ok());
  Executor ex(*compiled);
  std::vector<float> x1 = iota_data(4, 1.0f);
  std::vector<Tensor> out;
  REQUIRE(ex.run({TensorView(x1.data(), DType::f32, Shape{1, 4})}, out).is_ok());
  CHECK(ex.stats().plans_made == 1);
  // A batch of 3 reaches Add with mismatched shapes: the kernel's error names the node.
  std::vector<float> x3 = iota_data(12, 1.0f);
  const Status bad = ex.run({TensorView(x3.data(), DType::f32, Shape{3, 4})}, out);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.message() == "[Add] shapes [3, 4] and [1, 4] differ (in node 'add' (Add))");
  // The session still works afterwards.
  REQUIRE(ex.run({TensorView(x1.data(), DType::f32, Shape{1, 4})}, out).is_ok());
  CHECK(out[1].data_as<float>()[3] == -4.0f);
}

TEST_CASE("inputs are checked against the graph's declared types", "[graph][executor]") {
  auto cdata = std::make_shared<std::vector<float>>(iota_data(8, 0.0f));
  TestBackend cpu("cpu", false);
  Executor ex(*CompiledGraph::compile(make_graph(cdata, 2), {&cpu}));
  std::vector<int32_t> xi(8);
  std::vector<float> xf(10);
  std::vector<Tensor> out;
  CHECK(ex.run({}, out).message() == "[session] expected 1 inputs, got 0");
  CHECK(ex.run({TensorView(xi.data(), DType::i32, Shape{2, 4})}, out).message() ==
        "[session] input 'x' must be f32, got i32");
  CHECK(ex.run({TensorView(xf.data(), DType::f32, Shape{2, 5})}, out).message() ==
        "[session] input 'x' must have shape f32[batch, 4], got [2, 5]");
  std::vector<float> y(8), z(7);
  std::vector<float> x(8);
  const Status wrong = ex.run_into({TensorView(x.data(), DType::f32, Shape{2, 4})},
                                   {TensorView(y.data(), DType::f32, Shape{2, 4}), TensorView(z.data(), DType::f32, Shape{7})});
  CHECK(wrong.message() == "[session] output 'z' is f32[2, 4] but the buffer given is f32[7] (in node 'neg3' (Neg))");
}

TEST_CASE("placement records fallbacks, strict mode refuses them", "[graph][executor]") {
  auto cdata = std::make_shared<std::vector<float>>(iota_data(8, 0.0f));
  TestBackend fast("fast", true), cpu("cpu", false);
  auto compiled = CompiledGraph::compile(make_graph(cdata, 2), {&fast, &cpu});
  REQUIRE(compiled.is_ok());
  int on_fast = 0;
  for (const NodePlacement& p : (*compiled)->placement()) {
    const Node& n = (*compiled)->graph().node(p.node);
    if (n.op == OpKind::Relu) {
      CHECK(p.backend == "fast");
      CHECK(p.fallback_reason.empty());
      ++on_fast;
    } else {
      CHECK(p.backend == "cpu");
      CHECK(p.fallback_reason == "fast: op not implemented");
    }
  }
  CHECK(on_fast == 1);
  auto strict = CompiledGraph::compile(make_graph(cdata, 2), {&fast, &cpu}, true);
  REQUIRE_FALSE(strict.is_ok());
  CHECK(strict.status().message() ==
        "[executor] node 'neg' (Neg) cannot run on fast (op not implemented) and strict placement forbids fallback");
  auto none = CompiledGraph::compile(make_graph(cdata, 2), {&fast});
  CHECK(none.status().message() == "[executor] node 'neg' (Neg): no backend can run it (fast: op not implemented)");
}

TEST_CASE("sessions of one compiled graph run concurrently", "[graph][executor]") {
  auto cdata = std::make_shared<std::vector<float>>(iota_data(8, 0.0f));
  TestBackend cpu("cpu", false);
  auto compiled = *CompiledGraph::compile(make_graph(cdata, 2), {&cpu});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Executor ex(compiled);
      std::vector<float> x = iota_data(8, static_cast<float>(t));
      for (int it = 0; it < 200; ++it) {
        std::vector<Tensor> out;
        if (!ex.run({TensorView(x.data(), DType::f32, Shape{2, 4})}, out).is_ok()) ++failures;
        if (out.size() != 2 || out[1].data_as<float>()[5] != -x[5]) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
}
