// libFuzzer target for the stream frame decoder (src/codec.cc).
// Input: 2 bytes choose maxFrame (its top bit: offload framing, with a virtio-net header after
// each length), the rest is stream bytes. Checks, for any input:
//  - ScanFrames' result is consistent with an independent walk of the frames;
//  - scanning the bytes incrementally in arbitrary chunks, the way the relay does (a `ready`
//    offset into a growing buffer), finds exactly the same frames and the same error;
//  - in offload framing, every complete frame's header passes CheckVnetHeader, and an error at a
//    complete header names exactly what CheckVnetHeader says.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec.h"
#include "offload.h"

using arca::CheckVnetHeader;
using arca::Framing;
using arca::HeaderError;
using arca::kVnetHdr;
using arca::ReadBE32;
using arca::ScanFrames;
using arca::ScanResult;

#define CHECK(cond) \
  do {              \
    if (!(cond)) __builtin_trap(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint32_t sel = uint32_t{data[0]} | (uint32_t{data[1]} << 8);
  Framing framing = (sel & 0x8000u) != 0 ? Framing::kOffload : Framing::kPlain;
  const bool offload = framing == Framing::kOffload;
  const uint32_t minFrame = offload ? kVnetHdr + 1 : 1;
  uint32_t maxFrame = 1 + ((sel & 0x7fffu) * 3u) % 70000u;
  if (maxFrame < minFrame) maxFrame = minFrame;
  data += 2;
  size -= 2;

  ScanResult whole = ScanFrames(data, size, maxFrame, framing);
  CHECK(whole.complete <= size);

  // Independent walk over the complete part.
  size_t pos = 0, frames = 0, payload = 0;
  while (pos < whole.complete) {
    CHECK(whole.complete - pos >= 4);
    uint32_t len = ReadBE32(data + pos);
    CHECK(len >= minFrame && len <= maxFrame);
    if (offload) CHECK(CheckVnetHeader(data + pos + 4, len - kVnetHdr) == HeaderError::kNone);
    pos += 4 + size_t{len};
    frames++;
    payload += len;
  }
  CHECK(pos == whole.complete);
  CHECK(frames == whole.frames);
  CHECK(payload == whole.payload);
  size_t rest = size - whole.complete;
  if (whole.error) {
    CHECK(rest >= 4);
    uint32_t len = ReadBE32(data + whole.complete);
    CHECK(len == whole.badLength);
    if (whole.badHeader == HeaderError::kNone) {
      CHECK(len < minFrame || len > maxFrame);
    } else {
      CHECK(offload && len >= minFrame && len <= maxFrame && rest >= 4 + kVnetHdr);
      CHECK(CheckVnetHeader(data + whole.complete + 4, len - kVnetHdr) == whole.badHeader);
    }
  } else if (rest >= 4) {
    uint32_t len = ReadBE32(data + whole.complete);
    CHECK(len >= minFrame && len <= maxFrame && rest - 4 < len);  // an incomplete, valid frame
    if (offload && rest >= 4 + kVnetHdr) {
      CHECK(CheckVnetHeader(data + whole.complete + 4, len - kVnetHdr) == HeaderError::kNone);
    }
  }

  // Incremental: chunk sizes derived from the data itself.
  std::vector<uint8_t> buf;
  size_t ready = 0, inFrames = 0, inPayload = 0, fed = 0;
  bool error = false;
  uint32_t badLength = 0;
  HeaderError badHeader = HeaderError::kNone;
  while (fed < size && !error) {
    size_t chunk = 1 + (data[fed] % 61);
    if (chunk > size - fed) chunk = size - fed;
    buf.insert(buf.end(), data + fed, data + fed + chunk);
    fed += chunk;
    ScanResult r = ScanFrames(buf.data() + ready, buf.size() - ready, maxFrame, framing);
    ready += r.complete;
    inFrames += r.frames;
    inPayload += r.payload;
    if (r.error) {
      error = true;
      badLength = r.badLength;
      badHeader = r.badHeader;
    }
  }
  CHECK(error == whole.error);
  CHECK(ready == whole.complete);
  CHECK(inFrames == whole.frames);
  CHECK(inPayload == whole.payload);
  if (error) CHECK(badLength == whole.badLength && badHeader == whole.badHeader);

  // Offload completion (offload.cc) on every complete unit: never reads or writes out of
  // bounds (ASan), every segment fits the unit it came from.
  if (offload) {
    for (size_t p = 0; p < whole.complete;) {
      uint32_t len = ReadBE32(data + p);
      std::vector<uint8_t> unit(data + p + 4, data + p + 4 + len);
      std::vector<uint8_t> scratch(unit.size());
      size_t total = unit.size();
      arca::SegmentTcp(
          unit.data(), unit.size(), scratch.data(), scratch.size(),
          [](void* ctx, const uint8_t*, size_t n) {
            CHECK(n <= *static_cast<size_t*>(ctx));
            return true;
          },
          &total);
      arca::FinishChecksum(unit.data(), unit.size());
      p += 4 + size_t{len};
    }
  }
  return 0;
}
