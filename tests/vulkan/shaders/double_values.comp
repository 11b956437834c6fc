// Doubles `count` unsigned integers: dst[i] = src[i] * 2. The end-to-end test
// reads src from a mapped, sub-allocated host-visible buffer and writes dst
// into a device-local sub-allocated buffer.
#version 450

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Source { uint src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Destination { uint dst[]; };

layout(push_constant) uniform Constants { uint count; } constants;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < constants.count) dst[i] = src[i] * 2u;
}
