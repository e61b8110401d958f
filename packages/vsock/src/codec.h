// The stream frame codec: 4-byte big-endian length + Ethernet frame (QEMU -netdev stream).
// Pure functions over byte buffers, so they can be unit tested and fuzzed without sockets.
#pragma once

#include <cstddef>
#include <cstdint>

namespace arca {

constexpr size_t kFrameHeader = 4;
constexpr uint32_t kDefaultMaxFrame = 65536;

inline uint32_t ReadBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline void WriteBE32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

struct ScanResult {
  /** Bytes from the start that form complete frames (headers included). */
  size_t complete = 0;
  /** Number of complete frames in those bytes. */
  size_t frames = 0;
  /** Payload bytes of those frames (headers excluded). */
  size_t payload = 0;
  /** A header right after the complete frames carries length 0 or a length above maxFrame. */
  bool error = false;
  /** The offending length when `error`. */
  uint32_t badLength = 0;
};

/**
 * Walks length-prefixed frames from the start of `data`: how many complete frames there are,
 * and whether the first incomplete position starts with an invalid header. A header is judged
 * as soon as its 4 bytes are present, even before its payload arrives.
 */
ScanResult ScanFrames(const uint8_t* data, size_t len, uint32_t maxFrame) noexcept;

}  // namespace arca
