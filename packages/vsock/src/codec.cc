#include "codec.h"

namespace arca {

const char* HeaderErrorText(HeaderError e) noexcept {
  switch (e) {
    case HeaderError::kNone:
      return "";
    case HeaderError::kFlags:
      return "unknown flags";
    case HeaderError::kGsoType:
      return "unknown gso_type";
    case HeaderError::kHdrLen:
      return "hdr_len beyond the frame";
    case HeaderError::kGsoSize:
      return "gso_size 0 on a GSO frame";
    case HeaderError::kCsum:
      return "checksum field outside the frame";
  }
  return "invalid";
}

HeaderError CheckVnetHeader(const uint8_t* hdr, uint32_t frameLen) noexcept {
  uint8_t flags = hdr[0];
  uint8_t gso = static_cast<uint8_t>(hdr[1] & ~kVnetGsoEcn);
  uint16_t hdrLen = ReadLE16(hdr + 2);
  uint16_t gsoSize = ReadLE16(hdr + 4);
  uint16_t csumStart = ReadLE16(hdr + 6);
  uint16_t csumOffset = ReadLE16(hdr + 8);
  if ((flags & ~(kVnetFlagNeedsCsum | kVnetFlagDataValid | kVnetFlagRscInfo)) != 0) {
    return HeaderError::kFlags;
  }
  if (gso != kVnetGsoNone && gso != kVnetGsoTcpv4 && gso != kVnetGsoUdp && gso != kVnetGsoTcpv6 &&
      gso != kVnetGsoUdpL4) {
    return HeaderError::kGsoType;
  }
  if (hdrLen > frameLen) return HeaderError::kHdrLen;
  if (gso != kVnetGsoNone && gsoSize == 0) return HeaderError::kGsoSize;
  if ((flags & kVnetFlagNeedsCsum) != 0 &&
      uint32_t{csumStart} + uint32_t{csumOffset} + 2 > frameLen) {
    return HeaderError::kCsum;
  }
  return HeaderError::kNone;
}

ScanResult ScanFrames(const uint8_t* data, size_t len, uint32_t maxFrame, Framing framing) noexcept {
  ScanResult r;
  size_t pos = 0;
  const bool offload = framing == Framing::kOffload;
  const uint32_t minFrame = offload ? kVnetHdr + 1 : 1;
  while (len - pos >= kFrameHeader) {
    uint32_t frameLen = ReadBE32(data + pos);
    if (frameLen < minFrame || frameLen > maxFrame) {
      r.error = true;
      r.badLength = frameLen;
      break;
    }
    if (offload && len - pos - kFrameHeader >= kVnetHdr) {
      HeaderError e = CheckVnetHeader(data + pos + kFrameHeader,
                                      frameLen - static_cast<uint32_t>(kVnetHdr));
      if (e != HeaderError::kNone) {
        r.error = true;
        r.badLength = frameLen;
        r.badHeader = e;
        break;
      }
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
