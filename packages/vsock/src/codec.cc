#include "codec.h"

namespace arca {

ScanResult ScanFrames(const uint8_t* data, size_t len, uint32_t maxFrame) noexcept {
  ScanResult r;
  size_t pos = 0;
  while (len - pos >= kFrameHeader) {
    uint32_t frameLen = ReadBE32(data + pos);
    if (frameLen == 0 || frameLen > maxFrame) {
      r.error = true;
      r.badLength = frameLen;
      break;
    }
    if (len - pos - kFrameHeader < frameLen) break;
    pos += kFrameHeader + frameLen;
    r.frames++;
    r.payload += frameLen;
  }
  r.complete = pos;
  return r;
}

}  // namespace arca
