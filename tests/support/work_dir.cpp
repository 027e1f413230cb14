#include "support/work_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <system_error>

namespace georank::test {
namespace {

namespace fs = std::filesystem;

// Holds an exclusive flock for its lifetime.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "flock " + path.string());
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

constexpr const char* kCompleteMarker = ".complete";

bool g_scratch_made = false;

}  // namespace

const std::string& scratch_root() {
  static const std::string root = [] {
    const fs::path dir = fs::path(GEORANK_TEST_WORK_DIR) / "scratch" / std::to_string(::getpid());
    fs::remove_all(dir);  // a leftover of an earlier process with the same pid
    fs::create_directories(dir);
    g_scratch_made = true;
    return dir.string();
  }();
  return root;
}

void remove_scratch_root() {
  if (!g_scratch_made) return;  // never asked for (a child process may not be allowed to make it)
  std::error_code ec;
  fs::remove_all(scratch_root(), ec);
}

std::string fresh_work_dir(const std::string& name) {
  const fs::path dir = fs::path(scratch_root()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string shared_fixture(const std::string& name, const std::function<void(const std::string&)>& make) {
  const fs::path root = fs::path(GEORANK_TEST_WORK_DIR) / "fixtures";
  const fs::path dir = root / name;
  if (fs::exists(dir / kCompleteMarker)) return dir.string();
  fs::create_directories(root);
  const FileLock lock(root / (name + ".lock"));
  if (fs::exists(dir / kCompleteMarker)) return dir.string();  // made while we waited
  fs::remove_all(dir);                                         // an incomplete one: a killed maker
  std::random_device rd;
  const fs::path tmp = root / (name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(tmp);
  try {
    make(tmp.string());
    std::FILE* marker = std::fopen((tmp / kCompleteMarker).c_str(), "w");
    if (!marker || std::fclose(marker) != 0)
      throw std::runtime_error("cannot write the fixture marker in " + tmp.string());
    fs::rename(tmp, dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  return dir.string();
}

}  // namespace georank::test
