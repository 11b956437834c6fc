//! The Rust gpu-alloc 0.6 behind a C ABI, for benches/peers (see peer_rs.h).
//!
//! One `PeerRs` holds a `GpuAllocator<u64>` made with `Config::i_am_prototyping()`
//! (as wgpu used it) and a mock device with the memory layout the caller passes
//! (the H100 profile). `alloc`/`dealloc` take `&mut self`: the caller serializes,
//! there is no lock. Blocks are written into caller storage of
//! `PEER_RS_BLOCK_BYTES` bytes (no heap allocation per block on this side) and
//! read back from it by `peer_rs_dealloc`.
//!
//! The mock device counts memory objects (created, destroyed, live, peak) and
//! their bytes, refuses an object that does not fit its heap or exceeds
//! `max_memory_allocation_size` (OutOfDeviceMemory, like a driver), and maps a
//! host-visible object (gpu-alloc 0.6 maps every host-visible chunk when it
//! creates it) as address space reserved with mmap, never touched.

use core::cell::RefCell;
use core::ptr::NonNull;
use std::borrow::Cow;

use gpu_alloc::{
    AllocationError, AllocationFlags, Config, DeviceMapError, DeviceProperties, GpuAllocator,
    MappedMemoryRange, MemoryBlock, MemoryDevice, MemoryHeap, MemoryPropertyFlags, MemoryType,
    OutOfMemory, Request, UsageFlags,
};

/// Bytes of caller storage for one block (peer_rs.h says the same).
pub const PEER_RS_BLOCK_BYTES: usize = 96;
const _: () = assert!(core::mem::size_of::<MemoryBlock<u64>>() <= PEER_RS_BLOCK_BYTES);
const _: () = assert!(core::mem::align_of::<MemoryBlock<u64>>() <= 8);

extern "C" {
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
    fn munmap(addr: *mut u8, len: usize) -> i32;
}
const PROT_READ: i32 = 1;
const PROT_WRITE: i32 = 2;
const MAP_PRIVATE: i32 = 0x02;
const MAP_ANONYMOUS: i32 = 0x20;
const MAP_NORESERVE: i32 = 0x4000;

struct Object {
    size: u64,
    memory_type: u32,
    heap: u32,
    live: bool,
    mapped: *mut u8,
}

#[derive(Default, Clone, Copy)]
#[repr(C)]
pub struct PeerRsCounters {
    pub device_allocations: u64,
    pub device_frees: u64,
    pub failed_device_allocations: u64,
    pub live_objects: u64,
    pub peak_objects: u64,
    pub live_bytes: u64,
}

struct MockState {
    objects: Vec<Object>, // memory id n is objects[n - 1]
    heap_live: Vec<u64>,
    counters: PeerRsCounters,
}

struct MockDevice {
    heap_sizes: Vec<u64>,
    type_heaps: Vec<u32>,
    max_allocation_size: u64,
    state: RefCell<MockState>,
}

impl MockDevice {
    fn unmap(object: &mut Object) {
        if !object.mapped.is_null() {
            unsafe { munmap(object.mapped, object.size as usize) };
            object.mapped = core::ptr::null_mut();
        }
    }
}

impl MemoryDevice<u64> for MockDevice {
    unsafe fn allocate_memory(&self, size: u64, memory_type: u32, _flags: AllocationFlags) -> Result<u64, OutOfMemory> {
        let mut s = self.state.borrow_mut();
        let heap = self.type_heaps[memory_type as usize];
        if size == 0 || size > self.max_allocation_size || s.heap_live[heap as usize] + size > self.heap_sizes[heap as usize] {
            s.counters.failed_device_allocations += 1;
            return Err(OutOfMemory::OutOfDeviceMemory);
        }
        s.heap_live[heap as usize] += size;
        s.objects.push(Object { size, memory_type, heap, live: true, mapped: core::ptr::null_mut() });
        let c = &mut s.counters;
        c.device_allocations += 1;
        c.live_objects += 1;
        c.live_bytes += size;
        if c.live_objects > c.peak_objects {
            c.peak_objects = c.live_objects;
        }
        Ok(s.objects.len() as u64)
    }

    unsafe fn deallocate_memory(&self, memory: u64) {
        let mut s = self.state.borrow_mut();
        let s = &mut *s;
        let object = &mut s.objects[(memory - 1) as usize];
        if !object.live {
            std::process::abort(); // double free: the allocator broke its contract
        }
        object.live = false;
        MockDevice::unmap(object);
        s.heap_live[object.heap as usize] -= object.size;
        s.counters.device_frees += 1;
        s.counters.live_objects -= 1;
        s.counters.live_bytes -= object.size;
    }

    unsafe fn map_memory(&self, memory: &mut u64, offset: u64, size: u64) -> Result<NonNull<u8>, DeviceMapError> {
        let mut s = self.state.borrow_mut();
        let object = &mut s.objects[(*memory - 1) as usize];
        if !object.mapped.is_null() || offset + size > object.size {
            return Err(DeviceMapError::MapFailed);
        }
        let p = mmap(core::ptr::null_mut(), object.size as usize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if p.is_null() || p as isize == -1 {
            return Err(DeviceMapError::OutOfHostMemory);
        }
        object.mapped = p;
        Ok(NonNull::new_unchecked(p.add(offset as usize)))
    }

    unsafe fn unmap_memory(&self, memory: &mut u64) {
        let mut s = self.state.borrow_mut();
        MockDevice::unmap(&mut s.objects[(*memory - 1) as usize]);
    }

    unsafe fn invalidate_memory_ranges(&self, _ranges: &[MappedMemoryRange<'_, u64>]) -> Result<(), OutOfMemory> {
        Ok(())
    }

    unsafe fn flush_memory_ranges(&self, _ranges: &[MappedMemoryRange<'_, u64>]) -> Result<(), OutOfMemory> {
        Ok(())
    }
}

pub struct PeerRs {
    allocator: GpuAllocator<u64>,
    device: MockDevice,
}

#[repr(C)]
pub struct PeerRsMemoryType {
    pub heap: u32,
    pub props: u32, // Vulkan's VkMemoryPropertyFlags bits
}

/// A new allocator and mock device. Returns null for a layout gpu-alloc refuses.
#[no_mangle]
pub unsafe extern "C" fn peer_rs_create(heap_sizes: *const u64, heap_count: u32, types: *const PeerRsMemoryType,
                                        type_count: u32, max_memory_allocation_count: u32,
                                        max_memory_allocation_size: u64, non_coherent_atom_size: u64,
                                        buffer_device_address: i32) -> *mut PeerRs {
    if heap_count == 0 || type_count == 0 || type_count > 32 || !non_coherent_atom_size.is_power_of_two() {
        return core::ptr::null_mut();
    }
    let heaps = core::slice::from_raw_parts(heap_sizes, heap_count as usize);
    let types = core::slice::from_raw_parts(types, type_count as usize);
    if types.iter().any(|t| t.heap >= heap_count) {
        return core::ptr::null_mut();
    }
    let memory_types: Vec<MemoryType> = types
        .iter()
        .map(|t| MemoryType { heap: t.heap, props: MemoryPropertyFlags::from_bits_truncate(t.props as u8) })
        .collect();
    let memory_heaps: Vec<MemoryHeap> = heaps.iter().map(|&size| MemoryHeap { size }).collect();
    let props = DeviceProperties {
        memory_types: Cow::Owned(memory_types),
        memory_heaps: Cow::Owned(memory_heaps),
        max_memory_allocation_count,
        max_memory_allocation_size,
        non_coherent_atom_size,
        buffer_device_address: buffer_device_address != 0,
    };
    let device = MockDevice {
        heap_sizes: heaps.to_vec(),
        type_heaps: types.iter().map(|t| t.heap).collect(),
        max_allocation_size: max_memory_allocation_size,
        state: RefCell::new(MockState {
            objects: Vec::new(),
            heap_live: vec![0; heaps.len()],
            counters: PeerRsCounters::default(),
        }),
    };
    let allocator = GpuAllocator::new(Config::i_am_prototyping(), props);
    Box::into_raw(Box::new(PeerRs { allocator, device }))
}

/// GpuAllocator::cleanup: gives back the memory objects kept for reuse.
#[no_mangle]
pub unsafe extern "C" fn peer_rs_cleanup(rs: *mut PeerRs) {
    let PeerRs { allocator, device } = &mut *rs;
    allocator.cleanup(device);
}

/// Drops the allocator and the device (call peer_rs_cleanup first).
#[no_mangle]
pub unsafe extern "C" fn peer_rs_destroy(rs: *mut PeerRs) {
    if rs.is_null() {
        return;
    }
    let rs = Box::from_raw(rs);
    let PeerRs { allocator, device } = *rs;
    drop(allocator);
    let mut s = device.state.borrow_mut();
    for object in s.objects.iter_mut() {
        MockDevice::unmap(object);
    }
}

/// Allocates into `block_out` (PEER_RS_BLOCK_BYTES bytes, 8-aligned).
/// `usage` holds gpu-alloc's UsageFlags bits. Returns 0, or 1 + the
/// AllocationError (1 out of device memory, 2 out of host memory, 3 no
/// compatible memory types, 4 too many objects); `block_out` is then untouched.
#[no_mangle]
pub unsafe extern "C" fn peer_rs_alloc(rs: *mut PeerRs, size: u64, align_mask: u64, usage: u32, memory_types: u32,
                                       block_out: *mut u8) -> i32 {
    let rs = &mut *rs;
    let request = Request {
        size,
        align_mask,
        usage: UsageFlags::from_bits_truncate(usage as u8),
        memory_types,
    };
    match rs.allocator.alloc(&rs.device, request) {
        Ok(block) => {
            core::ptr::write(block_out as *mut MemoryBlock<u64>, block);
            0
        }
        Err(AllocationError::OutOfDeviceMemory) => 1,
        Err(AllocationError::OutOfHostMemory) => 2,
        Err(AllocationError::NoCompatibleMemoryTypes) => 3,
        Err(AllocationError::TooManyObjects) => 4,
    }
}

/// Gives back the block in `block` (written by peer_rs_alloc); the storage is then free.
#[no_mangle]
pub unsafe extern "C" fn peer_rs_dealloc(rs: *mut PeerRs, block: *mut u8) {
    let rs = &mut *rs;
    let block = core::ptr::read(block as *mut MemoryBlock<u64>);
    rs.allocator.dealloc(&rs.device, block);
}

/// The memory object (its id), offset and size of a live block.
#[no_mangle]
pub unsafe extern "C" fn peer_rs_block_info(block: *const u8, memory: *mut u64, offset: *mut u64, size: *mut u64) {
    let block = &*(block as *const MemoryBlock<u64>);
    *memory = *block.memory();
    *offset = block.offset();
    *size = block.size();
}

/// The size of memory object `memory`, or 0 when it is not live.
#[no_mangle]
pub unsafe extern "C" fn peer_rs_object_size(rs: *const PeerRs, memory: u64) -> u64 {
    let s = (*rs).device.state.borrow();
    match s.objects.get((memory as usize).wrapping_sub(1)) {
        Some(o) if o.live => o.size,
        _ => 0,
    }
}

#[no_mangle]
pub unsafe extern "C" fn peer_rs_counters(rs: *const PeerRs) -> PeerRsCounters {
    (*rs).device.state.borrow().counters
}

/// Memory objects ever created by this device (live or not).
#[no_mangle]
pub unsafe extern "C" fn peer_rs_object_count(rs: *const PeerRs) -> u64 {
    (*rs).device.state.borrow().objects.len() as u64
}

/// The `index`-th memory object ever created: its size and memory type; returns whether it is live.
#[no_mangle]
pub unsafe extern "C" fn peer_rs_object(rs: *const PeerRs, index: u64, size: *mut u64, memory_type: *mut u32) -> i32 {
    let s = (*rs).device.state.borrow();
    match s.objects.get(index as usize) {
        Some(o) => {
            *size = o.size;
            *memory_type = o.memory_type;
            o.live as i32
        }
        None => 0,
    }
}

#[no_mangle]
pub extern "C" fn peer_rs_block_bytes() -> usize {
    core::mem::size_of::<MemoryBlock<u64>>()
}
