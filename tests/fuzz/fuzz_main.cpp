// A main() for the fuzz targets when they are built without libFuzzer (g++,
// or the normal project build): runs LLVMFuzzerTestOneInput once on every file
// named on the command line or found (recursively) in a named directory. This
// is how the checked-in seed corpora and the saved crash inputs run as
// regression tests in every build, sanitizers included, with no fuzzing
// engine. Exits 0 when every input ran (a broken invariant aborts), 1 on an
// unreadable path or when no input was found.
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        return false;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "running %s (%zu bytes)\n", path.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t inputs = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path path(argv[i]);
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            std::vector<std::filesystem::path> files;
            for (const auto& entry : std::filesystem::recursive_directory_iterator(path, ec))
                if (entry.is_regular_file()) files.push_back(entry.path());
            std::sort(files.begin(), files.end());
            for (const auto& file : files) {
                if (!run_file(file)) return 1;
                ++inputs;
            }
        } else {
            if (!run_file(path)) return 1;
            ++inputs;
        }
    }
    std::fprintf(stderr, "%zu inputs ran\n", inputs);
    return inputs > 0 ? 0 : 1;
}
