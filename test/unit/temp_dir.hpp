// A fresh directory for one test, removed at its end.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace chanstate::test {

/// A fresh, not yet existing directory under the system's temporary
/// directory (named after `what`, this process and a counter, so parallel
/// test processes and cases never share one), removed with everything in
/// it at the end of its scope.
struct temp_dir {
  std::filesystem::path path;

  explicit temp_dir(const std::string& what = "chanstate-test") {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path()
           / (what + "-" + std::to_string(::getpid()) + "-"
              + std::to_string(n++));
    std::filesystem::remove_all(path);
  }

  ~temp_dir() {
    std::filesystem::remove_all(path);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

} // namespace chanstate::test
