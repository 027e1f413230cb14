#pragma once
// Where tests write. `ctest -j N` runs every test in its own process, so:
// - scratch space is per process (GEORANK_TEST_WORK_DIR/scratch/<pid>), never shared, and
//   removed when the process's tests all passed (kept for a look after a failure);
// - shared fixtures (the tiny VLM, the encoder export, synthetic cities) are made once per
//   test run under GEORANK_TEST_WORK_DIR/fixtures/<name>: the first process takes a lock and
//   builds the fixture in a private folder renamed into place when complete; the others wait
//   on the lock and reuse it.

#include <functional>
#include <string>

namespace georank::test {

/// This process's scratch root (created on first use).
const std::string& scratch_root();

/// Scratch directory for a test (created, emptied): scratch_root()/<name>.
std::string fresh_work_dir(const std::string& name);

/// The folder of the shared fixture `name`, made by `make(folder)` if no complete one exists.
/// `make` writes into the folder it is given (a private temporary, not the final path), so it
/// must not store that path inside the files. Throws what `make` throws; a failed make leaves
/// nothing behind, and the next caller tries again.
std::string shared_fixture(const std::string& name, const std::function<void(const std::string&)>& make);

/// Removes this process's scratch root (test_main calls it when every test passed).
void remove_scratch_root();

}  // namespace georank::test
