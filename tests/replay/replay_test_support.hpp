// Helpers shared by the replay tests: a scratch directory per test, files,
// running the tool, and the small standard traces.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gpu_alloc/mock/device_profile.hpp>

#include "trace.hpp"
#include "workloads.hpp"

namespace gpu_alloc::replay::test {

inline bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }
inline bool executable_exists(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

/// A fresh directory for the running test: GPU_ALLOC_TEST_TMP/<suite>.<test>.
inline std::string scratch_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    ::mkdir(GPU_ALLOC_TEST_TMP, 0777);
    const std::string dir = std::string(GPU_ALLOC_TEST_TMP) + "/" + info->test_suite_name() + "." + info->name();
    std::system(("rm -rf '" + dir + "'").c_str());
    ::mkdir(dir.c_str(), 0777);
    return dir;
}

inline void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Result of running a command: exit status and what it printed.
struct CommandResult {
    int status = -1;
    std::string stdout_text;
    std::string stderr_text;
};

/// Runs `args` (already shell-quoted as needed) with stdout and stderr to files in `dir`.
inline CommandResult run_command(const std::string& dir, const std::string& command) {
    const std::string out = dir + "/stdout.txt";
    const std::string err = dir + "/stderr.txt";
    const int raw = std::system((command + " >'" + out + "' 2>'" + err + "'").c_str());
    CommandResult r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.stdout_text = read_text(out);
    r.stderr_text = read_text(err);
    return r;
}

/// Runs gpu-alloc-replay with `args`.
inline CommandResult run_tool(const std::string& dir, const std::string& args) {
    return run_command(dir, std::string("'") + GPU_ALLOC_REPLAY_EXE + "' " + args);
}

/// The H100 profile of the project.
inline gpu_alloc::mock::DeviceProfile h100_profile() {
    auto p = gpu_alloc::mock::load_profile(std::string(GPU_ALLOC_PROFILE_DIR) + "/nvidia-h100-vulkan.json");
    if (!p) ADD_FAILURE() << p.error().message;
    return p ? std::move(*p) : gpu_alloc::mock::DeviceProfile{};
}

/// The lavapipe profile of the project (one 2 GiB heap).
inline gpu_alloc::mock::DeviceProfile lavapipe_profile() {
    auto p = gpu_alloc::mock::load_profile(std::string(GPU_ALLOC_PROFILE_DIR) + "/lavapipe-vulkan.json");
    if (!p) ADD_FAILURE() << p.error().message;
    return p ? std::move(*p) : gpu_alloc::mock::DeviceProfile{};
}

/// Standard workload `name` at `scale` (seed 1), parsed.
inline Trace small_workload(std::string_view name, double scale = 0.01) {
    std::string text;
    generate_workload(name, 1, scale, text);
    auto trace = parse_trace(text, std::string(name));
    if (!trace) ADD_FAILURE() << "generated trace does not parse: " << trace.error().message;
    return trace ? std::move(*trace) : Trace{};
}

}  // namespace gpu_alloc::replay::test
