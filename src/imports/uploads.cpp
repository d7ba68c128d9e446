// Files uploaded in chunks: appended in order under a data directory, so a file larger than the
// HTTP body limit can still arrive, and a retried chunk is harmless.

#include <fmt/format.h>
#include <sodium.h>

#include <cstdio>
#include <filesystem>

#include "core/text.h"
#include "imports/imports.h"

namespace fidelis::imports {

namespace {
bool valid_id(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
}  // namespace

Uploads::Uploads(std::string dir) : dir_(std::move(dir)) {}

Result<std::string> Uploads::create() {
  if (sodium_init() < 0) return Error::internal("libsodium failed to initialise");
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  std::string id = text::hex_encode(std::string_view(reinterpret_cast<char*>(b), sizeof b));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir_) / "uploads", ec);
  if (ec) return Error::unavailable("cannot create the upload directory " + dir_ + ": " + ec.message());
  std::FILE* f = std::fopen((std::filesystem::path(dir_) / "uploads" / id).c_str(), "wb");
  if (f == nullptr) return Error::unavailable("cannot create the upload file");
  std::fclose(f);
  return id;
}

Result<std::string> Uploads::path(std::string_view id) const {
  if (!valid_id(id)) return Error::not_found("upload_id", "no such upload");
  auto p = std::filesystem::path(dir_) / "uploads" / std::string(id);
  if (!std::filesystem::exists(p)) return Error::not_found("upload_id", "no such upload");
  return p.string();
}

Result<int64_t> Uploads::append(std::string_view id, int64_t offset, std::string_view data) {
  std::lock_guard lock(mu_);
  FIDELIS_ASSIGN_OR_RETURN(std::string p, path(id));
  auto size = static_cast<int64_t>(std::filesystem::file_size(p));
  if (offset < 0 || offset > size)
    return Error::invalid_argument("offset", "the upload has " + std::to_string(size) + " bytes; send the chunk at that offset");
  int64_t end = offset + static_cast<int64_t>(data.size());
  if (end > kMaxBytes) return Error::resource_exhausted("upload", "an upload is at most 4 GiB");
  if (offset < size) {
    // A retried chunk: the bytes the upload already has must be the chunk's, or it is another file.
    std::FILE* in = std::fopen(p.c_str(), "rb");
    if (in == nullptr) return Error::unavailable("cannot open the upload file");
    auto overlap = static_cast<size_t>(std::min(end, size) - offset);
    std::string have(overlap, '\0');
    bool read = std::fseek(in, static_cast<long>(offset), SEEK_SET) == 0 && std::fread(have.data(), 1, overlap, in) == overlap;
    std::fclose(in);
    if (!read) return Error::unavailable("cannot read the upload file");
    if (have != data.substr(0, overlap))
      return Error::invalid_argument(
          "offset", fmt::format("the upload already has other bytes at {}..{}: only a chunk sent again may overlap "
                                "them; send the next chunk at {}",
                                offset, offset + static_cast<int64_t>(overlap), size));
    if (end <= size) return size;
  }
  std::FILE* f = std::fopen(p.c_str(), "ab");
  if (f == nullptr) return Error::unavailable("cannot open the upload file");
  std::string_view rest = data.substr(static_cast<size_t>(size - offset));
  bool written = std::fwrite(rest.data(), 1, rest.size(), f) == rest.size();
  std::fclose(f);
  if (!written) return Error::unavailable("cannot write the upload (disk full?)");
  return end;
}

}  // namespace fidelis::imports
