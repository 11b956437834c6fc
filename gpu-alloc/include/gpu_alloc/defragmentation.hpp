// Defragmentation: moving live blocks out of sparsely used chunks into the
// holes of fuller ones, so that whole device memory objects can be given back.
//
// Why pass-based and caller-driven: the allocator knows where every block
// lies, but only the application knows what is in it (a buffer, an image in
// some layout), when the GPU is done with it, and which resources to rebind.
// So the allocator plans, the caller copies: a pass is a list of moves (source
// block -> a destination block already allocated in a fuller chunk of the same
// memory type), the caller records the copies (vkCmdCopyBuffer, or a memcpy for
// host-visible memory), waits for them, rebinds its resources and ends the
// pass; the allocator then frees the sources and every chunk left empty.
// Passes are bounded (bytes and moves), so a long-running application can
// defragment a little every frame. See docs/defragmentation.md.
//
// How the caller's blocks follow their data: the caller names the blocks that
// may move (a span of MemoryBlock pointers); end_pass() swaps each accepted
// move's destination into the caller's MemoryBlock object, so after it the
// caller's block describes the new place (memory(), offset(), mapped_ptr()).
//
// What moves: blocks of the free-list pools (both), buddy and slab chunks.
// What does not: dedicated and imported blocks (an object of their own: moving
// them frees nothing), linear (transient) blocks (they die at the end of their
// frame anyway), blocks the caller did not name, and mapped blocks when
// DefragmentationOptions::move_mapped is false. A mapped block that moves stays
// mapped: after end_pass() its mapped_ptr() is the new address, and pointers
// the caller kept into the old place must be fixed up.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <gpu_alloc/gpu_allocator.hpp>
#include <gpu_alloc/memory_block.hpp>

namespace gpu_alloc {

/// What a defragmentation aims for.
enum class DefragmentationGoal : std::uint8_t {
    /// Only empty whole chunks: a chunk is emptied when every one of its blocks
    /// may move and they fit into the free space of fuller chunks; other blocks
    /// stay. Fewest bytes copied per device object given back.
    free_chunks,
    /// Also pack partly movable chunks: every movable block goes to a chunk
    /// fuller than its own when one has room, least used chunks first. Copies
    /// more; leaves fewer, larger holes even when no chunk can be emptied.
    full_compaction,
};

/// How a defragmentation runs.
struct DefragmentationOptions {
    /// Bit i set: blocks of memory type i may move.
    std::uint32_t memory_types = ~0u;
    /// Bytes (sum of the moved blocks' sizes) one pass may copy; 0: no limit.
    /// A block larger than this is never moved.
    std::uint64_t max_bytes_per_pass = 0;
    /// Moves one pass may hold; 0: no limit.
    std::uint32_t max_moves_per_pass = 0;
    DefragmentationGoal goal = DefragmentationGoal::free_chunks;
    /// Whether mapped blocks may move (their mapped_ptr() changes at end_pass);
    /// false leaves them, and so their chunks, where they are.
    bool move_mapped = true;
};

/// Running totals of one defragmentation.
struct DefragmentationStats {
    std::uint64_t passes = 0;            ///< passes that held at least one move
    std::uint64_t moves = 0;             ///< accepted moves (blocks that now live elsewhere)
    std::uint64_t bytes_moved = 0;       ///< sum of the accepted moves' sizes
    std::uint64_t moves_vetoed = 0;      ///< moves the caller vetoed (or invalidated, see end_pass)
    std::uint64_t device_objects_freed = 0;  ///< chunks given back by end_pass()
    std::uint64_t bytes_freed = 0;       ///< bytes of those chunks
};

/// One planned move: the caller's block (still at its source until end_pass)
/// and the destination block the allocator set aside for it.
template <class Memory>
class DefragmentationMove {
public:
    using Block = MemoryBlock<Memory>;

    /// The caller's block: it describes the source until end_pass(), the
    /// destination after it (unless vetoed).
    Block& block() const noexcept { return *block_; }
    /// The new place, owned by the pass. Copy block().size() bytes from
    /// (source_memory(), source_offset()) to (destination().memory(),
    /// destination().offset()).
    const Block& destination() const noexcept { return destination_; }
    Memory source_memory() const noexcept { return block_->memory(); }
    std::uint64_t source_offset() const noexcept { return block_->offset(); }
    /// Bytes to copy (the block's requested size).
    std::uint64_t size() const noexcept { return destination_.size(); }

    /// Keeps the block where it is: end_pass() frees the destination instead.
    void veto() noexcept { vetoed_ = true; }
    bool vetoed() const noexcept { return vetoed_; }

    /// Copies the bytes through host mappings (both blocks host-visible): maps
    /// what is not mapped yet, invalidates the source, flushes the destination,
    /// and restores both blocks' mapping state.
    /// Errors: not_host_visible, and the device's map/flush errors (then nothing was copied
    /// or the destination is incomplete: veto the move).
    template <MemoryDevice D>
    Result<void, MapError> copy_on_host(D& device) {
        const std::uint64_t n = destination_.size();
        const bool was_mapped = destination_.mapped_ptr() != nullptr;
        if (!was_mapped) {
            auto p = destination_.map(device, 0, n);
            if (!p) return unexpected(p.error());
        }
        auto r = block_->read_bytes(device, 0, std::span<std::byte>(destination_.mapped_ptr(), n));
        if (r) r = destination_.flush(device, 0, n);
        if (!was_mapped) (void)destination_.unmap(device);
        return r;
    }

private:
    friend class Defragmentation<Memory>;
    DefragmentationMove(Block* block, Block&& destination, std::uint64_t chunk_id, std::uint64_t offset) noexcept
        : block_(block), destination_(std::move(destination)), source_chunk_id_(chunk_id), source_offset_(offset) {}

    Block* block_;
    Block destination_;
    std::uint64_t source_chunk_id_ = 0;  ///< checked at end_pass: the caller's block must not have changed
    std::uint64_t source_offset_ = 0;
    bool vetoed_ = false;
};

/// A defragmentation over the blocks the caller lets move. Not thread-safe
/// itself; other threads may keep allocating and freeing from the allocator
/// meanwhile (planning holds one pool's lock at a time).
///
/// Example (host-visible memory; for device-local memory record GPU copies instead):
/// ```
/// std::vector<gpu_alloc::MemoryBlock<M>*> movable = ...;
/// gpu_alloc::Defragmentation<M> defrag(allocator, movable, options);
/// for (;;) {
///     auto moves = defrag.begin_pass(device);
///     if (moves.empty()) break;
///     for (auto& m : moves)
///         if (in_use_this_frame(m.block()) || !m.copy_on_host(device)) m.veto();
///     defrag.end_pass(device);  // the blocks now describe their new places: rebind
/// }
/// ```
template <class Memory>
class Defragmentation {
public:
    using Block = MemoryBlock<Memory>;
    using Move = DefragmentationMove<Memory>;

    /// Begins a defragmentation of `blocks` (the caller's live blocks that may
    /// move; others stay). Preconditions: every pointer stays valid until this
    /// object is destroyed. Between passes the caller may give blocks back or
    /// move them (empty blocks are skipped); during a pass it must not touch
    /// the blocks of the pass's moves other than to read and copy them.
    /// Blocks that hold no memory, belong to another allocator, or cannot move
    /// (see the file comment) are ignored.
    Defragmentation(GpuAllocator<Memory>& allocator, std::span<Block* const> blocks,
                    DefragmentationOptions options = {})
        : allocator_(&allocator), options_(options) {
        blocks_.reserve(blocks.size());
        for (Block* b : blocks) blocks_.push_back(b);
    }
    Defragmentation(const Defragmentation&) = delete;
    Defragmentation& operator=(const Defragmentation&) = delete;
    /// A pass still open leaks its destinations (each is reported as a leaked block): end it first.
    ~Defragmentation() = default;

    /// Plans the next pass: moves within the options' budget, each with its
    /// destination allocated (in existing chunks only: defragmentation never
    /// creates device memory objects). Destinations of mapped blocks are
    /// mapped. Returns the moves; empty when nothing more can be gained (the
    /// defragmentation is done). While a pass is open, returns its moves again.
    template <MemoryDeviceFor<Memory> D>
    std::span<Move> begin_pass(D& device) {
        if (!pass_open_) {
            moves_.clear();
            std::vector<detail::BlockData*> raw;
            raw.reserve(blocks_.size());
            for (Block* b : blocks_) raw.push_back(b ? &b->data() : nullptr);
            std::vector<detail::MoveData> planned;
            allocator_->core_.plan_defragmentation(detail::device_ref(device), raw, options_, planned);
            moves_.reserve(planned.size());
            for (detail::MoveData& m : planned)
                moves_.push_back(Move(blocks_[m.index], Block(std::move(m.destination)), m.source_chunk_id,
                                      m.source_offset));
            pass_open_ = !moves_.empty();
            if (pass_open_) ++stats_.passes;
        }
        return std::span<Move>(moves_);
    }

    /// Ends the open pass: for each accepted move, the caller's block takes the
    /// destination and the source is freed; vetoed destinations are freed.
    /// Then every empty chunk of the defragmented memory types (free-list,
    /// buddy and slab pools) is destroyed. A move whose block the caller gave
    /// back or replaced during the pass counts as vetoed. Does nothing without an open pass.
    template <MemoryDeviceFor<Memory> D>
    void end_pass(D& device) {
        if (!pass_open_) return;
        std::vector<detail::MoveData> moves(moves_.size());
        for (std::size_t i = 0; i < moves_.size(); ++i) {
            Move& m = moves_[i];
            moves[i].block = &m.block_->data();
            moves[i].destination = std::move(m.destination_.data());
            moves[i].source_chunk_id = m.source_chunk_id_;
            moves[i].source_offset = m.source_offset_;
            moves[i].vetoed = m.vetoed_;
        }
        allocator_->core_.apply_defragmentation(detail::device_ref(device), options_, moves, stats_);
        for (std::size_t i = 0; i < moves_.size(); ++i) moves_[i].vetoed_ = moves[i].vetoed;
        moves_.clear();
        pass_open_ = false;
    }

    bool pass_open() const noexcept { return pass_open_; }
    const DefragmentationStats& stats() const noexcept { return stats_; }
    const DefragmentationOptions& options() const noexcept { return options_; }

private:
    GpuAllocator<Memory>* allocator_;
    std::vector<Block*> blocks_;
    DefragmentationOptions options_;
    std::vector<Move> moves_;
    DefragmentationStats stats_;
    bool pass_open_ = false;
};

}  // namespace gpu_alloc
