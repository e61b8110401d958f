// Software completion of offloads, for offload-framed frames that must reach a switch with
// complete checksums: OVS 3.1's userspace NAT updates a partial (offloaded) TCP checksum as if
// it were complete, so a frame that will be NATed (one sent to the network's router) leaves the
// relay segmented and checksummed. Pure functions over byte buffers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace arca {

/**
 * Completes the checksum of one non-GSO frame in place (`unit` = 12-byte virtio-net header +
 * frame, `len` its length) and clears NEEDS_CSUM. Returns false (and changes nothing) when the
 * header asks for no checksum or its offsets do not fit.
 */
bool FinishChecksum(uint8_t* unit, size_t len) noexcept;

/** Receives one segment (virtio-net header of zeros + frame); returns false to stop. */
using SegmentSink = bool (*)(void* ctx, const uint8_t* unit, size_t len);

/**
 * Splits one TCP GSO frame (IPv4 or IPv6 without extension headers, `unit` = header + frame)
 * into gso_size segments with complete IP and TCP checksums, built in `scratch` (at least
 * `len` bytes) and handed to `sink` one by one. Returns the number of segments, or 0 when the
 * frame is not one it can split (then nothing was emitted).
 */
size_t SegmentTcp(const uint8_t* unit, size_t len, uint8_t* scratch, size_t scratchLen,
                  SegmentSink sink, void* ctx) noexcept;

}  // namespace arca
