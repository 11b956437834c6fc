// The C ABI of rust/src/lib.rs: the Rust gpu-alloc 0.6 with Config::i_am_prototyping()
// over a mock device, for the peers benchmark.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

/// Caller storage for one block (lib.rs asserts that a MemoryBlock<u64> fits).
inline constexpr std::size_t peer_rs_block_storage = 96;

struct PeerRs;

struct PeerRsMemoryType {
    std::uint32_t heap;
    std::uint32_t props;  ///< VkMemoryPropertyFlags bits
};

struct PeerRsCounters {
    std::uint64_t device_allocations;
    std::uint64_t device_frees;
    std::uint64_t failed_device_allocations;
    std::uint64_t live_objects;
    std::uint64_t peak_objects;
    std::uint64_t live_bytes;
};

PeerRs* peer_rs_create(const std::uint64_t* heap_sizes, std::uint32_t heap_count, const PeerRsMemoryType* types,
                       std::uint32_t type_count, std::uint32_t max_memory_allocation_count,
                       std::uint64_t max_memory_allocation_size, std::uint64_t non_coherent_atom_size,
                       std::int32_t buffer_device_address);
void peer_rs_cleanup(PeerRs* rs);
void peer_rs_destroy(PeerRs* rs);
/// 0 on success (the block is written to block_out), else 1 + gpu-alloc's AllocationError.
std::int32_t peer_rs_alloc(PeerRs* rs, std::uint64_t size, std::uint64_t align_mask, std::uint32_t usage,
                           std::uint32_t memory_types, unsigned char* block_out);
void peer_rs_dealloc(PeerRs* rs, unsigned char* block);
void peer_rs_block_info(const unsigned char* block, std::uint64_t* memory, std::uint64_t* offset,
                        std::uint64_t* size);
std::uint64_t peer_rs_object_size(const PeerRs* rs, std::uint64_t memory);
PeerRsCounters peer_rs_counters(const PeerRs* rs);
/// Memory objects ever created (live or not), and the index-th one's size and type (returns 1 when live).
std::uint64_t peer_rs_object_count(const PeerRs* rs);
std::int32_t peer_rs_object(const PeerRs* rs, std::uint64_t index, std::uint64_t* size, std::uint32_t* memory_type);
std::size_t peer_rs_block_bytes();

}  // extern "C"
