#include "georank/core/atomic_file.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <system_error>

#include "georank/core/error.hpp"

namespace georank {

namespace {
std::atomic<unsigned> next_tmp{0};
}

AtomicPath::AtomicPath(std::string path)
    : path_(std::move(path)),
      tmp_(path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(next_tmp++)) {
  const auto parent = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
}

AtomicPath::~AtomicPath() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void AtomicPath::commit() {
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) throw Error(ErrorKind::io, path_ + ": cannot rename temporary file " + tmp_ + ": " + ec.message());
  committed_ = true;
}

AtomicFile::AtomicFile(std::string path, bool binary) : target_(std::move(path)) {
  out_.open(target_.tmp(),
            binary ? std::ios::out | std::ios::binary | std::ios::trunc : std::ios::out | std::ios::trunc);
  if (!out_) throw Error(ErrorKind::io, target_.path() + ": cannot open for writing");
}

void AtomicFile::commit() {
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok || out_.fail()) throw Error(ErrorKind::io, target_.path() + ": write failed");
  target_.commit();
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicFile f(path, true);
  f.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  f.commit();
}

void write_json_atomic(const std::string& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

std::string read_file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::not_found, path + ": cannot be opened");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace georank
