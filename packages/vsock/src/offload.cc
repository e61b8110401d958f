#include "offload.h"

#include <cstring>

#include "codec.h"

namespace arca {

namespace {

constexpr size_t kEth = 14;

uint32_t Sum(const uint8_t* p, size_t n, uint32_t acc) {
  while (n > 1) {
    acc += (uint32_t{p[0]} << 8) | p[1];
    p += 2;
    n -= 2;
  }
  if (n == 1) acc += uint32_t{p[0]} << 8;
  return acc;
}

uint16_t Fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

bool FinishChecksum(uint8_t* unit, size_t len) noexcept {
  if (len < kVnetHdr) return false;
  uint8_t* hdr = unit;
  if ((hdr[0] & kVnetFlagNeedsCsum) == 0) return false;
  size_t frameLen = len - kVnetHdr;
  size_t start = ReadLE16(hdr + 6);
  size_t field = start + ReadLE16(hdr + 8);
  if (field + 2 > frameLen || start >= frameLen) return false;
  uint8_t* frame = unit + kVnetHdr;
  // The field holds the pseudo-header sum (the kernel's seed): sum everything from csum_start.
  uint16_t csum = static_cast<uint16_t>(~Fold(Sum(frame + start, frameLen - start, 0)));
  Put16(frame + field, csum);
  hdr[0] = static_cast<uint8_t>(hdr[0] & ~kVnetFlagNeedsCsum);
  return true;
}

size_t SegmentTcp(const uint8_t* unit, size_t len, uint8_t* scratch, size_t scratchLen,
                  SegmentSink sink, void* ctx) noexcept {
  if (len < kVnetHdr + kEth || scratchLen < len) return 0;
  const uint8_t* hdr = unit;
  uint8_t gso = static_cast<uint8_t>(hdr[1] & ~kVnetGsoEcn);
  size_t mss = ReadLE16(hdr + 4);
  if ((gso != kVnetGsoTcpv4 && gso != kVnetGsoTcpv6) || mss == 0) return 0;
  const uint8_t* frame = unit + kVnetHdr;
  size_t frameLen = len - kVnetHdr;
  size_t l3 = kEth;
  uint16_t type = Get16(frame + 12);
  if (type == 0x8100 && frameLen >= kEth + 4) {
    type = Get16(frame + 16);
    l3 += 4;
  }
  bool v4 = type == 0x0800;
  if (!(v4 || type == 0x86dd) || frameLen < l3 + (v4 ? 20 : 40)) return 0;
  size_t l4;
  if (v4) {
    size_t ihl = size_t{frame[l3] & 0x0fu} * 4;
    if (ihl < 20 || frame[l3 + 9] != 6) return 0;
    l4 = l3 + ihl;
  } else {
    if (frame[l3 + 6] != 6) return 0;  // extension headers: not ours to split
    l4 = l3 + 40;
  }
  if (frameLen < l4 + 20) return 0;
  size_t doff = static_cast<size_t>(frame[l4 + 12] >> 4) * 4;
  size_t hdrs = l4 + doff;
  if (doff < 20 || frameLen < hdrs) return 0;
  size_t payload = frameLen - hdrs;
  uint32_t seq = (uint32_t{frame[l4 + 4]} << 24) | (uint32_t{frame[l4 + 5]} << 16) |
                 (uint32_t{frame[l4 + 6]} << 8) | frame[l4 + 7];
  uint16_t id = v4 ? Get16(frame + l3 + 4) : 0;
  uint8_t flags = frame[l4 + 13];

  size_t count = 0;
  for (size_t off = 0; off < payload || (payload == 0 && off == 0); off += mss) {
    size_t seg = payload - off < mss ? payload - off : mss;
    bool first = off == 0;
    bool last = off + seg >= payload;
    uint8_t* out = scratch;
    std::memset(out, 0, kVnetHdr);
    uint8_t* f = out + kVnetHdr;
    std::memcpy(f, frame, hdrs);
    std::memcpy(f + hdrs, frame + hdrs + off, seg);
    size_t l4len = doff + seg;
    if (v4) {
      size_t ihl = l4 - l3;
      Put16(f + l3 + 2, static_cast<uint16_t>(ihl + l4len));
      Put16(f + l3 + 4, static_cast<uint16_t>(id + count));
      Put16(f + l3 + 10, 0);
      Put16(f + l3 + 10, static_cast<uint16_t>(~Fold(Sum(f + l3, ihl, 0))));
    } else {
      Put16(f + l3 + 4, static_cast<uint16_t>(l4len));
    }
    uint32_t s = seq + static_cast<uint32_t>(off);
    f[l4 + 4] = static_cast<uint8_t>(s >> 24);
    f[l4 + 5] = static_cast<uint8_t>(s >> 16);
    f[l4 + 6] = static_cast<uint8_t>(s >> 8);
    f[l4 + 7] = static_cast<uint8_t>(s);
    uint8_t fl = flags;
    if (!last) fl = static_cast<uint8_t>(fl & ~0x09);  // FIN, PSH only on the last segment
    if (!first) fl = static_cast<uint8_t>(fl & ~0x80);  // CWR only on the first
    f[l4 + 13] = fl;
    Put16(f + l4 + 16, 0);
    uint32_t acc = 0;
    if (v4) {
      acc = Sum(f + l3 + 12, 8, acc);  // source and destination
    } else {
      acc = Sum(f + l3 + 8, 32, acc);
    }
    acc += 6;
    acc += static_cast<uint32_t>(l4len);
    acc = Sum(f + l4, l4len, acc);
    Put16(f + l4 + 16, static_cast<uint16_t>(~Fold(acc)));
    ++count;
    if (!sink(ctx, out, kVnetHdr + hdrs + seg)) break;
    if (payload == 0) break;
  }
  return count;
}

}  // namespace arca
