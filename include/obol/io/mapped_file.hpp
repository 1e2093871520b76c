// obol/io/mapped_file.hpp — a read-only memory mapping of a whole file.
//
// Model weights are used in place from the mapping, so loaders keep it in a shared owner
// (std::shared_ptr<const MappedFile>) and every view into it lives as long as that owner does.
// The pages are mapped PROT_READ: writing through a pointer into the mapping faults. A mapped file
// that is truncated on disk by another process while mapped raises SIGBUS on access; obol does not
// guard against concurrent modification of model files.
// Thread-safety: a MappedFile is immutable after open(); any number of threads may read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "obol/core/status.hpp"

namespace obol {
inline namespace v1 {
namespace io {

class MappedFile {
 public:
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Maps `path` read-only. An empty file gives a valid MappedFile of size 0 (data() == nullptr).
  // Errors: not_found when the file does not exist, io_error when it cannot be opened or mapped,
  // invalid_argument when it is not a regular file.
  static Result<std::shared_ptr<const MappedFile>> open(const std::string& path);

  const uint8_t* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  std::string_view bytes() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::string& path() const noexcept { return path_; }

  // Access-pattern hint for the kernel's readahead. `sparse` suits a pass that reads scattered
  // headers (decoding a model skips over weights); `sequential` suits streaming the weights.
  // Only a hint: errors are ignored.
  enum class Access { normal, sparse, sequential };
  void advise(Access access) const noexcept;

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Reads a whole file into a string (for small files such as tensors; models should be mapped).
Result<std::string> read_file(const std::string& path);
// Writes `bytes` to `path`, replacing it.
Status write_file(const std::string& path, std::string_view bytes);

}  // namespace io
}  // inline namespace v1
}  // namespace obol
