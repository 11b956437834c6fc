// gpu_alloc::version(): the library reports the version its generated header
// names, and the changelog has a section for it.
#include <gpu_alloc/version.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

TEST(Version, LibraryMatchesHeaderMacros) {
    const gpu_alloc::Version v = gpu_alloc::version();
    EXPECT_EQ(v.major, static_cast<unsigned>(GPU_ALLOC_VERSION_MAJOR));
    EXPECT_EQ(v.minor, static_cast<unsigned>(GPU_ALLOC_VERSION_MINOR));
    EXPECT_EQ(v.patch, static_cast<unsigned>(GPU_ALLOC_VERSION_PATCH));
    EXPECT_EQ(v, gpu_alloc::header_version);
}

TEST(Version, StringIsMajorMinorPatch) {
    const std::string expected = std::to_string(GPU_ALLOC_VERSION_MAJOR) + "." +
                                 std::to_string(GPU_ALLOC_VERSION_MINOR) + "." +
                                 std::to_string(GPU_ALLOC_VERSION_PATCH);
    EXPECT_EQ(std::string(GPU_ALLOC_VERSION_STRING), expected);
    EXPECT_EQ(std::string(gpu_alloc::version_string()), expected);
    // The same pointer every time: a string with static storage.
    EXPECT_EQ(gpu_alloc::version_string(), gpu_alloc::version_string());
}

TEST(Version, NumberOrdersLikeTheVersion) {
    static_assert(GPU_ALLOC_VERSION ==
                  GPU_ALLOC_VERSION_MAJOR * 1000000 + GPU_ALLOC_VERSION_MINOR * 1000 + GPU_ALLOC_VERSION_PATCH);
    constexpr gpu_alloc::Version older{0, 1, 0};
    constexpr gpu_alloc::Version patch_older{GPU_ALLOC_VERSION_MAJOR, GPU_ALLOC_VERSION_MINOR, 0};
    static_assert(older < gpu_alloc::header_version);
    static_assert(patch_older <= gpu_alloc::header_version);
    EXPECT_GT(gpu_alloc::version(), older);
}

TEST(Version, ChangelogHasASection) {
    std::ifstream in(std::string(GPU_ALLOC_SOURCE_DIR) + "/CHANGELOG.md");
    ASSERT_TRUE(in) << "CHANGELOG.md not found";
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find(std::string("## [") + GPU_ALLOC_VERSION_STRING + "]"), std::string::npos)
        << "CHANGELOG.md has no section \"## [" << GPU_ALLOC_VERSION_STRING << "]\"";
}

}  // namespace
