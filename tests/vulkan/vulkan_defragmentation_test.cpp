// Defragmentation of Vulkan buffers on a real device (lavapipe in CI), with
// the copies recorded by gpu_alloc/vulkan/defragmentation.hpp: many buffers
// created through the allocator and filled through mapped memory, every other
// one freed, then defragmentation passes whose copies run on the GPU
// (vkCmdCopyBuffer from the old buffers into new ones bound at the
// destinations). Afterwards every byte of every buffer is read back at its new
// place, fewer device memory objects are alive, and the validation layer with
// synchronization validation (enabled by the fixture's context) reported
// nothing. A last test shows that synchronization validation does see missing
// barriers, so that its silence above means something.
#include <gtest/gtest.h>
#include <gpu_alloc/ostream.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include <gpu_alloc/vulkan/adapter.hpp>
#include <gpu_alloc/vulkan/defragmentation.hpp>
#include <gpu_alloc/vulkan/resources.hpp>

#include "vulkan_fixture.hpp"

namespace gpu_alloc::vulkan_testing {

/// In vulkan_defragmentation_no_prototypes.cpp: the helper built under VK_NO_PROTOTYPES.
decltype(&vulkan::record_buffer_moves) record_buffer_moves_without_prototypes();

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr VkBufferUsageFlags movable_usage =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

std::byte pattern(std::uint32_t seed, std::uint64_t i) {
    const std::uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
    return static_cast<std::byte>(x >> 56);
}

// One application buffer: its create info, the buffer and its block (the
// block's address is what the Defragmentation is given, so it never moves).
struct Movable {
    VkBufferCreateInfo info{};
    vulkan::BufferAllocation allocation;
    std::uint32_t seed = 0;
    bool keep_mapped = false;
};

class DefragmentationTest : public VulkanTest {
protected:
    void SetUp() override {
        VulkanTest::SetUp();
        if (HasFatalFailure()) return;
        device_ = std::make_unique<vulkan::VulkanMemoryDevice>(ctx_->functions(), ctx_->info());
        const DeviceProperties props = vulkan::device_properties(ctx_->functions(), ctx_->info());
        Config config = Config::low_memory();
        config.min_chunk_size = 4 * MiB;  // many small chunks: fragmentation shows in object counts
        config.max_chunk_size = 4 * MiB;
        config.dedicated_threshold = 4 * MiB;
        allocator_ = std::make_unique<vulkan::VulkanAllocator>(props, config);

        VkCommandPoolCreateInfo pool_info{};
        pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
        pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
        pool_info.queueFamilyIndex = ctx_->queue_family();
        ASSERT_EQ(vkCreateCommandPool(ctx_->device(), &pool_info, nullptr, &pool_), VK_SUCCESS);
        VkCommandBufferAllocateInfo cmd_info{};
        cmd_info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
        cmd_info.commandPool = pool_;
        cmd_info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        cmd_info.commandBufferCount = 1;
        ASSERT_EQ(vkAllocateCommandBuffers(ctx_->device(), &cmd_info, &cmd_), VK_SUCCESS);
        VkFenceCreateInfo fence_info{};
        fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
        ASSERT_EQ(vkCreateFence(ctx_->device(), &fence_info, nullptr, &fence_), VK_SUCCESS);
    }

    void TearDown() override {
        if (allocator_) {
            for (auto& m : live_) destroy(*m);
            live_.clear();
            allocator_->cleanup(*device_);
            allocator_.reset();
            EXPECT_EQ(device_->live_memory_objects(), 0u);
        }
        if (fence_ != VK_NULL_HANDLE) vkDestroyFence(ctx_->device(), fence_, nullptr);
        if (pool_ != VK_NULL_HANDLE) vkDestroyCommandPool(ctx_->device(), pool_, nullptr);
        device_.reset();
        VulkanTest::TearDown();
    }

    void destroy(Movable& m) {
        if (m.allocation.block.mapped_ptr() != nullptr) {
            EXPECT_TRUE(m.allocation.block.unmap(*device_));
        }
        vulkan::destroy_buffer(*allocator_, *device_, std::move(m.allocation));
    }

    // `count` buffers of 1 KiB to 96 KiB (log-uniform), each filled with its
    // own pattern through mapped memory (every fifth stays mapped); then every
    // other one is destroyed.
    void create_fragmented(std::size_t count) {
        std::mt19937 rng(20240611);
        std::uniform_real_distribution<double> log_size(0.0, std::log2(96.0));
        std::vector<std::unique_ptr<Movable>> all;
        for (std::size_t i = 0; i < count; ++i) {
            auto m = std::make_unique<Movable>();
            m->seed = static_cast<std::uint32_t>(i);
            m->keep_mapped = i % 5 == 0;
            m->info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
            m->info.size = static_cast<VkDeviceSize>(static_cast<double>(KiB) * std::exp2(log_size(rng))) + i % 13;
            m->info.usage = movable_usage;
            m->info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
            vulkan::ResourceMemoryInfo memory;
            memory.usage = UsageFlags::upload;
            auto b = vulkan::create_buffer(*allocator_, *device_, m->info, memory);
            ASSERT_TRUE(b) << vulkan::to_string(b.error());
            m->allocation = std::move(*b);
            std::vector<std::byte> bytes(m->info.size);
            for (std::uint64_t k = 0; k < bytes.size(); ++k) bytes[k] = pattern(m->seed, k);
            auto p = m->allocation.block.map(*device_, 0, m->info.size);
            ASSERT_TRUE(p) << "lavapipe's memory type is host-visible";
            std::memcpy(*p, bytes.data(), bytes.size());
            ASSERT_TRUE(m->allocation.block.flush(*device_, 0, m->info.size));
            if (!m->keep_mapped) {
                ASSERT_TRUE(m->allocation.block.unmap(*device_));
            }
            all.push_back(std::move(m));
        }
        for (std::size_t i = 0; i < all.size(); ++i) {
            if (i % 2 == 1) destroy(*all[i]);
            else live_.push_back(std::move(all[i]));
        }
    }

    std::vector<vulkan::VulkanBlock*> blocks() {
        std::vector<vulkan::VulkanBlock*> out;
        for (auto& m : live_) out.push_back(&m->allocation.block);
        return out;
    }

    Movable& owner_of(const vulkan::VulkanBlock& block) {
        for (auto& m : live_)
            if (&m->allocation.block == &block) return *m;
        ADD_FAILURE() << "a move of a block that was not named";
        return *live_.front();
    }

    void begin_commands() {
        ASSERT_EQ(vkResetCommandBuffer(cmd_, 0), VK_SUCCESS);
        VkCommandBufferBeginInfo begin{};
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        ASSERT_EQ(vkBeginCommandBuffer(cmd_, &begin), VK_SUCCESS);
    }

    void submit_and_wait() {
        ASSERT_EQ(vkEndCommandBuffer(cmd_), VK_SUCCESS);
        ASSERT_EQ(vkResetFences(ctx_->device(), 1, &fence_), VK_SUCCESS);
        VkSubmitInfo submit{};
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
        submit.commandBufferCount = 1;
        submit.pCommandBuffers = &cmd_;
        ASSERT_EQ(vkQueueSubmit(ctx_->queue(), 1, &submit, fence_), VK_SUCCESS);
        ASSERT_EQ(vkWaitForFences(ctx_->device(), 1, &fence_, VK_TRUE, 60'000'000'000ull), VK_SUCCESS);
    }

    // After the wait: the old buffers of recorded moves are destroyed, the
    // pass ends, the new buffers replace them; checks that every recorded
    // move's block now describes its destination.
    void finish_pass(Defragmentation<VkDeviceMemory>& defrag, std::span<vulkan::VulkanDefragmentationMove> moves,
                     std::vector<vulkan::BufferMoveResult>& results) {
        struct Expected {
            Movable* owner;
            VkDeviceMemory memory;
            std::uint64_t offset;
            VkBuffer buffer;
        };
        std::vector<Expected> expected;
        for (std::size_t i = 0; i < moves.size(); ++i) {
            Movable& m = owner_of(moves[i].block());
            if (results[i].status != vulkan::BufferMoveStatus::recorded) {
                expected.push_back({&m, m.allocation.block.memory(), m.allocation.block.offset(), m.allocation.buffer});
                continue;
            }
            vkDestroyBuffer(ctx_->device(), m.allocation.buffer, nullptr);
            m.allocation.buffer = VK_NULL_HANDLE;
            expected.push_back(
                {&m, moves[i].destination().memory(), moves[i].destination().offset(), results[i].buffer});
        }
        defrag.end_pass(*device_);
        for (const Expected& e : expected) {
            e.owner->allocation.buffer = e.buffer;
            EXPECT_EQ(e.owner->allocation.block.memory(), e.memory);
            EXPECT_EQ(e.owner->allocation.block.offset(), e.offset);
            EXPECT_EQ(e.owner->allocation.block.mapped_ptr() != nullptr, e.owner->keep_mapped);
        }
    }

    // Every byte of every live buffer, read through its block's (new) place.
    void expect_all_data_intact() {
        std::size_t wrong_buffers = 0;
        for (auto& m : live_) {
            std::vector<std::byte> bytes(m->info.size);
            ASSERT_TRUE(m->allocation.block.read_bytes(*device_, 0, bytes));
            for (std::uint64_t k = 0; k < bytes.size(); ++k) {
                if (bytes[k] != pattern(m->seed, k)) {
                    if (++wrong_buffers <= 5) ADD_FAILURE() << "buffer " << m->seed << " byte " << k;
                    break;
                }
            }
        }
        EXPECT_EQ(wrong_buffers, 0u);
    }

    std::vector<vulkan::BufferMoveSource> sources_of(std::span<vulkan::VulkanDefragmentationMove> moves) {
        std::vector<vulkan::BufferMoveSource> sources;
        for (auto& move : moves) {
            Movable& m = owner_of(move.block());
            sources.push_back({m.allocation.buffer, &m.info});
        }
        return sources;
    }

    static vulkan::BufferMoveBarriers host_reads_after() {
        vulkan::BufferMoveBarriers b;
        b.dst_stages |= VK_PIPELINE_STAGE_HOST_BIT;
        b.dst_access |= VK_ACCESS_HOST_READ_BIT;
        return b;
    }

    std::unique_ptr<vulkan::VulkanMemoryDevice> device_;
    std::unique_ptr<vulkan::VulkanAllocator> allocator_;
    std::vector<std::unique_ptr<Movable>> live_;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkCommandBuffer cmd_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
};

TEST(DefragmentationHelper, BuildsWithoutVulkanPrototypes) {
    EXPECT_EQ(record_buffer_moves_without_prototypes(), &vulkan::record_buffer_moves);
}

TEST_F(DefragmentationTest, GpuCopiedPassesFreeObjectsAndKeepEveryByte) {
    create_fragmented(1200);
    const std::uint64_t objects_before = device_->live_memory_objects();
    ASSERT_GE(objects_before, 6u) << "expected a fragmented spread over many 4 MiB chunks";

    DefragmentationOptions options;
    options.max_bytes_per_pass = 2 * MiB;  // several passes, several submissions
    std::vector<vulkan::VulkanBlock*> movable = blocks();
    Defragmentation<VkDeviceMemory> defrag(*allocator_, movable, options);
    std::size_t passes = 0, recorded = 0, vetoed_by_caller = 0;
    for (; passes < 100; ++passes) {
        std::span<vulkan::VulkanDefragmentationMove> moves = defrag.begin_pass(*device_);
        if (moves.empty()) break;
        if (passes == 0)  // a resource in use this frame: the caller's veto
            for (std::size_t i = 0; i < moves.size(); i += 10, ++vetoed_by_caller) moves[i].veto();
        std::vector<vulkan::BufferMoveSource> sources = sources_of(moves);
        begin_commands();
        std::vector<vulkan::BufferMoveResult> results =
            vulkan::record_buffer_moves(*device_, cmd_, moves, sources, host_reads_after());
        ASSERT_EQ(results.size(), moves.size());
        for (std::size_t i = 0; i < moves.size(); ++i) {
            const bool caller_vetoed = passes == 0 && i % 10 == 0;
            EXPECT_EQ(results[i].status,
                      caller_vetoed ? vulkan::BufferMoveStatus::skipped : vulkan::BufferMoveStatus::recorded)
                << vulkan::to_string(results[i].status);
            EXPECT_EQ(results[i].buffer == VK_NULL_HANDLE, caller_vetoed);
            recorded += results[i].status == vulkan::BufferMoveStatus::recorded;
        }
        submit_and_wait();
        if (HasFatalFailure()) return;
        finish_pass(defrag, moves, results);
    }
    EXPECT_LT(passes, 100u) << "defragmentation did not end";
    EXPECT_GE(passes, 2u) << "2 MiB passes should take more than one";
    EXPECT_GT(recorded, 100u);
    EXPECT_EQ(defrag.stats().moves, recorded);
    EXPECT_GE(defrag.stats().moves_vetoed, vetoed_by_caller);

    const std::uint64_t objects_after = device_->live_memory_objects();
    EXPECT_LT(objects_after, objects_before);
    std::printf("[ measured ] %zu buffers, %zu passes, %zu GPU copies (%llu bytes), device objects %llu -> %llu\n",
                live_.size(), passes, recorded, static_cast<unsigned long long>(defrag.stats().bytes_moved),
                static_cast<unsigned long long>(objects_before), static_cast<unsigned long long>(objects_after));
    expect_all_data_intact();
}

TEST_F(DefragmentationTest, MovesThatCannotBeRecordedAreVetoedAndStay) {
    create_fragmented(300);
    std::vector<vulkan::VulkanBlock*> movable = blocks();
    Defragmentation<VkDeviceMemory> defrag(*allocator_, movable);
    std::span<vulkan::VulkanDefragmentationMove> moves = defrag.begin_pass(*device_);
    ASSERT_GE(moves.size(), 3u);

    // Move 0: a create info without TRANSFER_DST (the new buffer could not be
    // the copy's destination). The last move: no source given at all.
    std::vector<vulkan::BufferMoveSource> sources = sources_of(moves);
    VkBufferCreateInfo no_dst = *sources[0].create_info;
    no_dst.usage &= ~static_cast<VkBufferUsageFlags>(VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    sources[0].create_info = &no_dst;
    sources.pop_back();

    begin_commands();
    std::vector<vulkan::BufferMoveResult> results =
        vulkan::record_buffer_moves(*device_, cmd_, moves, sources, host_reads_after());
    ASSERT_EQ(results.size(), moves.size());
    EXPECT_EQ(results.front().status, vulkan::BufferMoveStatus::unsupported);
    EXPECT_EQ(results.back().status, vulkan::BufferMoveStatus::no_source);
    EXPECT_TRUE(moves.front().vetoed());
    EXPECT_TRUE(moves.back().vetoed());
    EXPECT_EQ(results.front().buffer, VK_NULL_HANDLE);
    for (std::size_t i = 1; i + 1 < moves.size(); ++i) {
        EXPECT_EQ(results[i].status, vulkan::BufferMoveStatus::recorded);
        EXPECT_FALSE(moves[i].vetoed());
    }
    submit_and_wait();
    if (HasFatalFailure()) return;
    finish_pass(defrag, moves, results);  // checks the vetoed blocks kept their places
    EXPECT_EQ(defrag.stats().moves, moves.size() - 2);
    EXPECT_EQ(defrag.stats().moves_vetoed, 2u);
    expect_all_data_intact();
}

TEST_F(DefragmentationTest, AbandonedPassLeavesEverythingInPlace) {
    create_fragmented(300);
    std::vector<vulkan::VulkanBlock*> movable = blocks();
    Defragmentation<VkDeviceMemory> defrag(*allocator_, movable);
    std::span<vulkan::VulkanDefragmentationMove> moves = defrag.begin_pass(*device_);
    ASSERT_FALSE(moves.empty());
    std::vector<vulkan::BufferMoveSource> sources = sources_of(moves);
    begin_commands();
    std::vector<vulkan::BufferMoveResult> results = vulkan::record_buffer_moves(*device_, cmd_, moves, sources);
    ASSERT_EQ(vkEndCommandBuffer(cmd_), VK_SUCCESS);  // never submitted
    vulkan::destroy_moved_buffers(*device_, results);
    for (auto& r : results) EXPECT_EQ(r.buffer, VK_NULL_HANDLE);
    for (auto& m : moves) m.veto();
    defrag.end_pass(*device_);
    EXPECT_EQ(defrag.stats().moves, 0u);
    expect_all_data_intact();
}

// Sources written by the GPU just before the copies, in the same command
// buffer: the default barriers order them; barriers that wait for nothing
// make synchronization validation report a read-after-write hazard.
class DefragmentationBarrierTest : public DefragmentationTest {
protected:
    // Returns the validation errors counted up to the wait; checks the moved
    // buffers hold the fill when `check_data`.
    std::uint32_t run_pass_after_fill(const vulkan::BufferMoveBarriers& barriers, bool check_data) {
        create_fragmented(300);
        std::vector<vulkan::VulkanBlock*> movable = blocks();
        Defragmentation<VkDeviceMemory> defrag(*allocator_, movable);
        std::span<vulkan::VulkanDefragmentationMove> moves = defrag.begin_pass(*device_);
        if (moves.empty()) {
            ADD_FAILURE() << "nothing to move";
            return 0;
        }
        std::vector<vulkan::BufferMoveSource> sources = sources_of(moves);
        begin_commands();
        for (auto& s : sources) vkCmdFillBuffer(cmd_, s.buffer, 0, VK_WHOLE_SIZE, 0x5a5a5a5au);
        std::vector<vulkan::BufferMoveResult> results =
            vulkan::record_buffer_moves(*device_, cmd_, moves, sources, barriers);
        submit_and_wait();
        const std::uint32_t errors = validation_errors();
        finish_pass(defrag, moves, results);
        for (auto& move : moves) {
            if (!check_data) break;
            Movable& m = owner_of(move.block());
            std::vector<std::byte> bytes(m.info.size & ~VkDeviceSize{3});  // the fill covers whole words
            EXPECT_TRUE(m.allocation.block.read_bytes(*device_, 0, bytes));
            std::size_t wrong = 0;
            for (std::byte b : bytes) wrong += b != std::byte{0x5a};
            EXPECT_EQ(wrong, 0u) << "buffer " << m.seed;
        }
        return errors;
    }
};

TEST_F(DefragmentationBarrierTest, DefaultBarriersOrderCopiesAfterEarlierGpuWrites) {
    EXPECT_EQ(run_pass_after_fill(host_reads_after(), true), 0u);
}

TEST_F(DefragmentationBarrierTest, MissingBarrierIsReportedBySynchronizationValidation) {
    if (!ctx_->validation_enabled()) GTEST_SKIP() << "no validation layer on this machine";
    vulkan::BufferMoveBarriers none = host_reads_after();
    none.src_stages = VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT;  // waits for nothing
    none.src_access = 0;
    EXPECT_GT(run_pass_after_fill(none, false), 0u) << "synchronization validation should see the unordered fill and copy";
    accept_validation_errors_so_far();
}

}  // namespace
}  // namespace gpu_alloc::vulkan_testing
