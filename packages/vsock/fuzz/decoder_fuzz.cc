// libFuzzer target for the stream frame decoder (src/codec.cc).
// Input: 2 bytes choose maxFrame, the rest is stream bytes. Checks, for any input:
//  - ScanFrames' result is consistent with an independent walk of the frames;
//  - scanning the bytes incrementally in arbitrary chunks, the way the relay does (a `ready`
//    offset into a growing buffer), finds exactly the same frames and the same error.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec.h"

using arca::ReadBE32;
using arca::ScanFrames;
using arca::ScanResult;

#define CHECK(cond) \
  do {              \
    if (!(cond)) __builtin_trap(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint32_t maxFrame = 1 + ((uint32_t{data[0]} | (uint32_t{data[1]} << 8)) % 70000u);
  data += 2;
  size -= 2;

  ScanResult whole = ScanFrames(data, size, maxFrame);
  CHECK(whole.complete <= size);

  // Independent walk over the complete part.
  size_t pos = 0, frames = 0, payload = 0;
  while (pos < whole.complete) {
    CHECK(whole.complete - pos >= 4);
    uint32_t len = ReadBE32(data + pos);
    CHECK(len >= 1 && len <= maxFrame);
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
    CHECK(len == 0 || len > maxFrame);
  } else if (rest >= 4) {
    uint32_t len = ReadBE32(data + whole.complete);
    CHECK(len >= 1 && len <= maxFrame && rest - 4 < len);  // an incomplete, valid frame
  }

  // Incremental: chunk sizes derived from the data itself.
  std::vector<uint8_t> buf;
  size_t ready = 0, inFrames = 0, inPayload = 0, fed = 0;
  bool error = false;
  uint32_t badLength = 0;
  while (fed < size && !error) {
    size_t chunk = 1 + (data[fed] % 61);
    if (chunk > size - fed) chunk = size - fed;
    buf.insert(buf.end(), data + fed, data + fed + chunk);
    fed += chunk;
    ScanResult r = ScanFrames(buf.data() + ready, buf.size() - ready, maxFrame);
    ready += r.complete;
    inFrames += r.frames;
    inPayload += r.payload;
    if (r.error) {
      error = true;
      badLength = r.badLength;
    }
  }
  CHECK(error == whole.error);
  CHECK(ready == whole.complete);
  CHECK(inFrames == whole.frames);
  CHECK(inPayload == whole.payload);
  if (error) CHECK(badLength == whole.badLength);
  return 0;
}
