// obol_model: loading from a file or from memory, and input/output introspection.
#include <cstring>

#include "c_api/c_api_internal.hpp"
#include "obol/formats/onnx.hpp"
#include "obol/formats/onnx_graph.hpp"

namespace obol {
inline namespace v1 {
namespace capi {

Result<std::shared_ptr<const Model>> ModelState::model_at(int level) {
  std::lock_guard<std::mutex> lock(mutex);
  if (by_level[level]) return by_level[level];
  ModelOptions options;
  options.opt_level = static_cast<OptLevel>(level);
  std::shared_ptr<const Model> m;
  if (!path.empty()) {
    OBOL_ASSIGN_OR_RETURN(m, Model::load(path, options));
  } else {
    OBOL_ASSIGN_OR_RETURN(onnx::OnnxModel onnx_model, onnx::load_onnx_bytes(bytes, size));
    OBOL_ASSIGN_OR_RETURN(std::shared_ptr<graph::Graph> g, onnx::to_graph(onnx_model));
    OBOL_ASSIGN_OR_RETURN(m, Model::from_graph(std::move(g), options));
  }
  by_level[level] = m;
  return m;
}

namespace {

std::vector<IoInfo> io_infos(const std::vector<TensorInfo>& infos) {
  std::vector<IoInfo> r(infos.size());
  for (size_t i = 0; i < infos.size(); ++i) {
    IoInfo& o = r[i];
    o.name = infos[i].name;
    o.dtype = static_cast<obol_dtype>(infos[i].dtype);
    o.rank = infos[i].rank_known ? static_cast<int64_t>(infos[i].dims.size()) : -1;
    if (infos[i].rank_known) {
      o.dims = infos[i].dims;
      o.symbols = infos[i].symbols;
      o.symbols.resize(o.dims.size());
    }
  }
  for (IoInfo& o : r)  // pointers into the final vectors
    for (const std::string& s : o.symbols) o.symbol_ptrs.push_back(s.c_str());
  return r;
}

obol_status* finish_load(std::shared_ptr<ModelState> state, obol_model** out) {
  OBOL_C_ASSIGN_OR_RETURN(std::shared_ptr<const Model> m, state->model_at(ModelState::kDefaultLevel));
  state->inputs = io_infos(m->inputs());
  state->outputs = io_infos(m->outputs());
  auto box = std::make_unique<obol_model>();
  box->state = std::move(state);
  *out = box.release();
  return nullptr;
}

obol_status* io_info(const char* function, const obol_model* model, const std::vector<IoInfo> ModelState::*list,
                     size_t index, obol_tensor_info* out) {
  if (!model) return null_argument(function, "model");
  if (!out) return null_argument(function, "out");
  if (obol_status* s = check_struct_size(function, "obol_tensor_info", out->struct_size, sizeof(obol_tensor_info),
                                         sizeof(obol_tensor_info)))
    return s;
  const std::vector<IoInfo>& infos = (*model->state).*list;
  if (index >= infos.size())
    return make_error(OBOL_ERROR_OUT_OF_RANGE, str_cat("[model] ", function, ": index ", index, " is out of range (the model has ",
                                                       infos.size(), ")"));
  const IoInfo& i = infos[index];
  out->name = i.name.c_str();
  out->dtype = i.dtype;
  out->rank = i.rank;
  out->dims = i.dims.empty() ? nullptr : i.dims.data();
  out->dim_symbols = i.symbol_ptrs.empty() ? nullptr : i.symbol_ptrs.data();
  return nullptr;
}

obol_status* io_index(const char* function, const obol_model* model, const std::vector<IoInfo> ModelState::*list,
                      const char* kind, const char* name, size_t* out) {
  if (!model) return null_argument(function, "model");
  if (!name) return null_argument(function, "name");
  if (!out) return null_argument(function, "out");
  const std::vector<IoInfo>& infos = (*model->state).*list;
  std::string names;
  for (size_t k = 0; k < infos.size(); ++k) {
    if (infos[k].name == name) {
      *out = k;
      return nullptr;
    }
    names += str_cat(k ? ", " : "", infos[k].name);
  }
  return make_error(OBOL_ERROR_NOT_FOUND, str_cat("[model] the model has no ", kind, " '", name, "' (", kind, "s: ",
                                                  names, ")"));
}

}  // namespace
}  // namespace capi
}  // inline namespace v1
}  // namespace obol

using namespace obol::capi;

extern "C" {

obol_status* obol_model_load_file(obol_env* env, const char* path, obol_model** out) {
  return guarded("obol_model_load_file", [&]() -> obol_status* {
    if (!env) return null_argument("obol_model_load_file", "env");
    if (!path) return null_argument("obol_model_load_file", "path");
    if (!out) return null_argument("obol_model_load_file", "out");
    if (!*path) return make_error(OBOL_ERROR_INVALID_ARGUMENT, "[model] obol_model_load_file: the path is empty");
    auto state = std::make_shared<ModelState>();
    state->env = env->state;
    state->path = path;
    return finish_load(std::move(state), out);
  });
}

obol_status* obol_model_load_memory(obol_env* env, const void* data, size_t size, obol_memory_mode mode,
                                    obol_model** out) {
  return guarded("obol_model_load_memory", [&]() -> obol_status* {
    if (!env) return null_argument("obol_model_load_memory", "env");
    if (!data) return null_argument("obol_model_load_memory", "data");
    if (!out) return null_argument("obol_model_load_memory", "out");
    if (size == 0) return make_error(OBOL_ERROR_INVALID_ARGUMENT, "[model] obol_model_load_memory: size is 0");
    const int m = enum_value(mode);
    if (m != OBOL_MEMORY_BORROW && m != OBOL_MEMORY_COPY)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, obol::str_cat("[model] obol_model_load_memory: mode ", m,
                                                                   " is not an obol_memory_mode"));
    auto state = std::make_shared<ModelState>();
    state->env = env->state;
    state->size = size;
    if (m == OBOL_MEMORY_COPY) {
      const obol::Allocator alloc = env->state->allocator;
      void* copy = alloc.allocate(size, obol::kDefaultAlignment);
      if (!copy)
        return make_error(OBOL_ERROR_OUT_OF_MEMORY,
                          obol::str_cat("[model] copying the model: allocating ", size, " bytes failed"));
      std::memcpy(copy, data, size);
      // The deleter captures the allocator by value (the env state outlives it through `state`).
      state->copy = std::shared_ptr<void>(copy, [alloc, size](void* p) { alloc.deallocate(p, size); });
      state->bytes = copy;
    } else {
      state->bytes = data;
    }
    return finish_load(std::move(state), out);
  });
}

void obol_model_free(obol_model* model) {
  try {
    delete model;
  } catch (...) {
  }
}

obol_status* obol_model_input_count(const obol_model* model, size_t* out) {
  if (!model) return null_argument("obol_model_input_count", "model");
  if (!out) return null_argument("obol_model_input_count", "out");
  *out = model->state->inputs.size();
  return nullptr;
}

obol_status* obol_model_output_count(const obol_model* model, size_t* out) {
  if (!model) return null_argument("obol_model_output_count", "model");
  if (!out) return null_argument("obol_model_output_count", "out");
  *out = model->state->outputs.size();
  return nullptr;
}

obol_status* obol_model_input_info(const obol_model* model, size_t index, obol_tensor_info* out) {
  return guarded("obol_model_input_info",
                 [&] { return io_info("obol_model_input_info", model, &ModelState::inputs, index, out); });
}

obol_status* obol_model_output_info(const obol_model* model, size_t index, obol_tensor_info* out) {
  return guarded("obol_model_output_info",
                 [&] { return io_info("obol_model_output_info", model, &ModelState::outputs, index, out); });
}

obol_status* obol_model_input_index(const obol_model* model, const char* name, size_t* out) {
  return guarded("obol_model_input_index",
                 [&] { return io_index("obol_model_input_index", model, &ModelState::inputs, "input", name, out); });
}

obol_status* obol_model_output_index(const obol_model* model, const char* name, size_t* out) {
  return guarded("obol_model_output_index",
                 [&] { return io_index("obol_model_output_index", model, &ModelState::outputs, "output", name, out); });
}

}  // extern "C"
