#include "obol/io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace obol {
inline namespace v1 {
namespace io {

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::advise(Access access) const noexcept {
  if (!data_) return;
  const int advice = access == Access::sparse       ? MADV_RANDOM
                     : access == Access::sequential ? MADV_SEQUENTIAL
                                                    : MADV_NORMAL;
  (void)madvise(const_cast<uint8_t*>(data_), size_, advice);
}

Result<std::shared_ptr<const MappedFile>> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return make_status(err == ENOENT ? StatusCode::not_found : StatusCode::io_error, "io", "cannot open '", path,
                       "': ", std::strerror(err));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_status(StatusCode::io_error, "io", "cannot stat '", path, "': ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_status(StatusCode::invalid_argument, "io", "'", path, "' is not a regular file");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      f->size_ = 0;
      return make_status(StatusCode::io_error, "io", "cannot map '", path, "': ", std::strerror(err));
    }
    f->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return std::shared_ptr<const MappedFile>(std::move(f));
}

Result<std::string> read_file(const std::string& path) {
  std::FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) {
    const int err = errno;
    return make_status(err == ENOENT ? StatusCode::not_found : StatusCode::io_error, "io", "cannot open '", path,
                       "': ", std::strerror(err));
  }
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, fp)) > 0) out.append(buf, n);
  const bool failed = std::ferror(fp) != 0;
  std::fclose(fp);
  if (failed) return make_status(StatusCode::io_error, "io", "reading '", path, "' failed");
  return out;
}

Status write_file(const std::string& path, std::string_view bytes) {
  std::FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) return make_status(StatusCode::io_error, "io", "cannot create '", path, "': ", std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size();
  const bool closed = std::fclose(fp) == 0;
  if (!ok || !closed) return make_status(StatusCode::io_error, "io", "writing '", path, "' failed");
  return Status::ok();
}

}  // namespace io
}  // inline namespace v1
}  // namespace obol
