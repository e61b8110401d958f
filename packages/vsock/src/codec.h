// The stream frame codec: 4-byte big-endian length + Ethernet frame (QEMU -netdev stream).
// Pure functions over byte buffers, so they can be unit tested and fuzzed without sockets.
#pragma once

#include <cstddef>
#include <cstdint>

namespace arca {

constexpr size_t kFrameHeader = 4;
constexpr uint32_t kDefaultMaxFrame = 65536;

/**
 * Offload framing: after the length comes `struct virtio_net_hdr_v1` (12 bytes, little-endian
 * fields), then the frame; the length covers both. A TAP opened with IFF_VNET_HDR reads and
 * writes exactly these header + frame units, so the relay moves them unchanged.
 */
enum class Framing : uint8_t { kPlain = 0, kOffload = 1 };
constexpr size_t kVnetHdr = 12;
/** Largest length in offload framing: a 64 KiB segment (65535) plus the header. */
constexpr uint32_t kOffloadMaxFrame = 65535 + kVnetHdr;

// virtio_net_hdr flags and gso types (linux/virtio_net.h).
constexpr uint8_t kVnetFlagNeedsCsum = 1;
constexpr uint8_t kVnetFlagDataValid = 2;
constexpr uint8_t kVnetFlagRscInfo = 4;
constexpr uint8_t kVnetGsoNone = 0;
constexpr uint8_t kVnetGsoTcpv4 = 1;
constexpr uint8_t kVnetGsoUdp = 3;
constexpr uint8_t kVnetGsoTcpv6 = 4;
constexpr uint8_t kVnetGsoUdpL4 = 5;
constexpr uint8_t kVnetGsoEcn = 0x80;

/** Why a virtio-net header was refused (kNone: it was not). */
enum class HeaderError : uint8_t {
  kNone = 0,
  kFlags,      // unknown flag bits
  kGsoType,    // unknown gso_type
  kHdrLen,     // hdr_len above the frame length
  kGsoSize,    // gso_size 0 on a GSO frame
  kCsum,       // csum_start + csum_offset + 2 outside the frame
};

/** A short text for `e` ("" for kNone). */
const char* HeaderErrorText(HeaderError e) noexcept;

/** Checks one virtio_net_hdr_v1 (`hdr`, 12 bytes) in front of a frame of `frameLen` bytes. */
HeaderError CheckVnetHeader(const uint8_t* hdr, uint32_t frameLen) noexcept;

inline uint16_t ReadLE16(const uint8_t* p) {
  return static_cast<uint16_t>(uint16_t{p[0]} | (uint16_t{p[1]} << 8));
}

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
  /** Offload framing: the header after the complete frames was refused (then `error` too). */
  HeaderError badHeader = HeaderError::kNone;
};

/**
 * Walks length-prefixed frames from the start of `data`: how many complete frames there are,
 * and whether the first incomplete position starts with an invalid header. A header is judged
 * as soon as its 4 bytes are present, even before its payload arrives. In offload framing a
 * length must also exceed the virtio-net header, and the header is judged as soon as its 12
 * bytes are present.
 */
ScanResult ScanFrames(const uint8_t* data, size_t len, uint32_t maxFrame,
                      Framing framing = Framing::kPlain) noexcept;

}  // namespace arca
