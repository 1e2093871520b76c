// Loading ONNX models: mapping the file, decoding, and resolving external data in place.
#include <cstring>
#include <map>
#include <string>

#include "formats/onnx/decode.hpp"
#include "obol/formats/onnx.hpp"
#include "obol/io/mapped_file.hpp"

namespace obol {
inline namespace v1 {
namespace onnx {

struct ModelStorage {
  std::vector<std::shared_ptr<const io::MappedFile>> files;  // [0] is the model (if mapped)
};

namespace {

bool is_default_domain(std::string_view d) { return d.empty() || d == "ai.onnx"; }

// Parses a non-negative decimal integer as written by onnx's external-data helpers.
bool parse_size(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// A location must stay inside the model's directory: relative, no ".." component, no NUL.
Status check_location(std::string_view tensor, std::string_view loc) {
  auto bad = [&](const char* why) {
    return make_status(StatusCode::invalid_argument, "onnx", "tensor '", tensor, "': external data location '", loc,
                       "' ", why);
  };
  if (loc.empty()) return bad("is empty");
  if (loc.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  if (loc.front() == '/' || loc.front() == '\\') return bad("is absolute");
  if (loc.size() >= 2 && loc[1] == ':') return bad("is absolute");
  size_t start = 0;
  while (start <= loc.size()) {
    size_t end = loc.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = loc.size();
    if (loc.substr(start, end - start) == "..") return bad("escapes the model directory with '..'");
    start = end + 1;
  }
  return Status::ok();
}

class ExternalResolver {
 public:
  ExternalResolver(std::string dir, ModelStorage* storage) : dir_(std::move(dir)), storage_(storage) {}

  Status resolve(TensorProto* t) {
    if (t->data_location != TensorProto::DataLocation::external) return Status::ok();
    std::string_view location;
    int64_t offset = 0, length = -1;
    bool has_location = false;
    for (const StringStringEntry& e : t->external_data) {
      if (e.key == "location") {
        location = e.value;
        has_location = true;
      } else if (e.key == "offset" || e.key == "length") {
        int64_t v;
        if (!parse_size(e.value, &v))
          return make_status(StatusCode::invalid_argument, "onnx", "tensor '", t->name, "': external data ", e.key,
                             " '", e.value, "' is not a non-negative integer");
        (e.key == "offset" ? offset : length) = v;
      }
    }
    if (!has_location)
      return make_status(StatusCode::invalid_argument, "onnx", "tensor '", t->name,
                         "': data_location is EXTERNAL but external_data has no 'location'");
    OBOL_RETURN_IF_ERROR(check_location(t->name, location));
    if (dir_.empty())
      return make_status(StatusCode::invalid_argument, "onnx", "tensor '", t->name, "': external data '", location,
                         "' needs LoadOptions::external_data_dir for a model loaded from memory");
    const std::string key(location);
    auto it = files_.find(key);
    if (it == files_.end()) {
      auto mapped = io::MappedFile::open(dir_ + "/" + key);
      if (!mapped)
        return make_status(mapped.status().code(), "onnx", "tensor '", t->name, "': external data: ",
                           std::string_view(mapped.status().message()).substr(5));  // drop "[io] "
      storage_->files.push_back(*mapped);
      it = files_.emplace(key, mapped->get()).first;
    }
    const io::MappedFile& file = *it->second;
    const uint64_t size = file.size();
    if (static_cast<uint64_t>(offset) > size || (length >= 0 && static_cast<uint64_t>(length) > size - offset))
      return make_status(StatusCode::out_of_range, "onnx", "tensor '", t->name, "': external data range offset ",
                         offset, " length ", length, " lies outside '", location, "' (", size, " bytes)");
    const uint64_t n = length >= 0 ? static_cast<uint64_t>(length) : size - static_cast<uint64_t>(offset);
    t->raw_data = std::string_view(reinterpret_cast<const char*>(file.data()) + offset, n);
    t->has_raw_data = true;
    t->external_resolved = true;
    return Status::ok();
  }

  // The decoded structs hold subgraphs and attribute tensors through shared_ptr<const>; they were
  // created non-const by this loader and are not shared yet, so resolving in place is sound.
  Status walk(GraphProto& g) {
    for (TensorProto& t : g.initializer) OBOL_RETURN_IF_ERROR(resolve(&t));
    for (NodeProto& n : g.node) {
      for (AttributeProto& a : n.attribute) {
        if (a.t) OBOL_RETURN_IF_ERROR(resolve(const_cast<TensorProto*>(a.t.get())));
        for (TensorProto& t : a.tensors) OBOL_RETURN_IF_ERROR(resolve(&t));
        if (a.g) OBOL_RETURN_IF_ERROR(walk(const_cast<GraphProto&>(*a.g)));
        for (auto& sg : a.graphs)
          if (sg) OBOL_RETURN_IF_ERROR(walk(const_cast<GraphProto&>(*sg)));
      }
    }
    return Status::ok();
  }

 private:
  std::string dir_;
  ModelStorage* storage_;
  std::map<std::string, const io::MappedFile*> files_;
};

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

struct ModelLoader {
  static Result<OnnxModel> load(const uint8_t* data, size_t size, std::shared_ptr<ModelStorage> storage,
                                const std::string& dir, const LoadOptions& options) {
    OnnxModel m;
    m.file_size_ = size;
    pb::Reader r(data, data + size, data, "ModelProto", 0);
    OBOL_RETURN_IF_ERROR(decode_model(r, &m.proto_));
    if (!m.proto_.has_graph)
      return make_status(StatusCode::invalid_argument, "onnx", "ModelProto has no graph (is this an ONNX model?)");
    if (options.load_external_data) {
      ExternalResolver resolver(dir, storage.get());
      OBOL_RETURN_IF_ERROR(resolver.walk(m.proto_.graph));
    }
    m.storage_ = std::move(storage);
    return m;
  }
};

int64_t OnnxModel::opset_version(std::string_view domain) const noexcept {
  const bool want_default = is_default_domain(domain);
  for (const OperatorSetId& o : proto_.opset_import)
    if (want_default ? is_default_domain(o.domain) : o.domain == domain) return o.version;
  return -1;
}

const AttributeProto* NodeProto::find_attribute(std::string_view n) const noexcept {
  for (const AttributeProto& a : attribute)
    if (a.name == n) return &a;
  return nullptr;
}

Result<OnnxModel> load_onnx_file(const std::string& path, const LoadOptions& options) {
  auto mapped = io::MappedFile::open(path);
  if (!mapped) return mapped.status();
  auto storage = std::make_shared<ModelStorage>();
  storage->files.push_back(*mapped);
  const io::MappedFile& f = **mapped;
  const std::string dir = options.external_data_dir.empty() ? parent_dir(path) : options.external_data_dir;
  // Decoding touches only the bytes around each field and skips over weights; without this hint a
  // cold file would be read ahead around every tensor header.
  f.advise(io::MappedFile::Access::sparse);
  auto model = ModelLoader::load(f.data(), f.size(), std::move(storage), dir, options);
  f.advise(io::MappedFile::Access::normal);
  if (!model) return Status(model.status().code(), model.status().message() + " (in '" + path + "')");
  return model;
}

Result<OnnxModel> load_onnx_bytes(const void* data, size_t size, const LoadOptions& options) {
  OBOL_CHECK_OR_RETURN(data != nullptr || size == 0, invalid_argument, "onnx", "null buffer of ", size, " bytes");
  const auto* p = static_cast<const uint8_t*>(data);
  return ModelLoader::load(p, size, std::make_shared<ModelStorage>(), options.external_data_dir, options);
}

Result<TensorProto> decode_tensor_proto(const void* data, size_t size) {
  OBOL_CHECK_OR_RETURN(data != nullptr || size == 0, invalid_argument, "onnx", "null buffer of ", size, " bytes");
  const auto* p = static_cast<const uint8_t*>(data);
  TensorProto t;
  OBOL_RETURN_IF_ERROR(decode_tensor(pb::Reader(p, p + size, p, "TensorProto", 0), &t));
  return t;
}

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
