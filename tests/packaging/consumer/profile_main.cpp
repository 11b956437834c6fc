// Packaging tests: a consumer of gpu_alloc::profile. Loads every profile the
// package ships from the folder it names (GPU_ALLOC_PROFILE_DIR: the installed
// share/gpu_alloc/profiles, or the source tree's data/profiles for a
// subproject) and checks that each one describes a device. Exits 0 when all of
// them load.
#include <cstdio>
#include <string>

#include <gpu_alloc/mock/device_profile.hpp>

int main() {
    const char* names[] = {"nvidia-h100-vulkan.json", "lavapipe-vulkan.json"};
    for (const char* name : names) {
        const std::string path = std::string(GPU_ALLOC_PROFILE_DIR) + "/" + name;
        auto profile = gpu_alloc::mock::load_profile(path);
        if (!profile) {
            std::fprintf(stderr, "%s\n", profile.error().message.c_str());
            return 1;
        }
        if (profile->name.empty() || profile->properties.memory_types.empty()) {
            std::fprintf(stderr, "%s: no device in it\n", path.c_str());
            return 1;
        }
        std::printf("profile %s: %s, %zu memory types\n", name, profile->name.c_str(),
                    profile->properties.memory_types.size());
    }
    return 0;
}
