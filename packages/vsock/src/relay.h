// The frame relay: moves Ethernet frames between two fds on a Loop, with no JS and no
// allocation per frame. See ARCHITECTURE.md §4–§5.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "codec.h"
#include "loop.h"
#include "unique_fd.h"

namespace arca {

enum class EndKind : uint8_t {
  kStream,  // 4-byte big-endian length + frame
  kTap,     // one frame per read()/write()
  kRaw,     // bytes copied unchanged (raw↔raw only: socket proxies)
};

struct DirectionStats {
  std::atomic<uint64_t> frames{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> drops{0};
  std::atomic<uint64_t> protocolErrors{0};
  /** Offload framing: segments made in software (frames to the router, see SetFinishMac). */
  std::atomic<uint64_t> softwareSegments{0};
};

struct CloseInfo {
  const char* reason = "closed";  // "closed" | "eof" | "error" | "protocol"
  int side = -1;                  // -1: none, 0: a, 1: b
  std::string message;
};

class Relay;

/** Where a relay reports that it closed (called on the loop thread, at most once per relay). */
class RelaySink {
 public:
  virtual ~RelaySink() = default;
  virtual void OnRelayClosed(Relay& relay, const CloseInfo& info) = 0;
};

/** Per-direction buffer size: at least this, and always room for two maximal frames. */
constexpr size_t kDirectionBuffer = 256 * 1024;

class Relay : public LoopClient {
 public:
  /** Takes both fds (already validated and non-blocking). */
  /** `framing` kOffload: every frame carries a virtio-net header, validated on stream sources. */
  Relay(uint64_t id, UniqueFd a, EndKind kindA, UniqueFd b, EndKind kindB, uint32_t maxFrame,
        RelaySink* sink, Framing framing = Framing::kPlain);
  ~Relay() override;

  /**
   * Before Attach: frames written to a TAP end whose destination MAC is `mac` (the network's
   * router) and that ask for checksum offload leave complete: checksummed, GSO ones segmented
   * (see offload.h for why). Offload framing only.
   */
  void SetFinishMac(const uint8_t* mac);

  /** Loop thread: registers both fds and starts moving data. */
  void Attach(Loop& loop);
  /** Loop thread: closes both fds once, reports `info` to the sink once. Idempotent. */
  void Close(CloseInfo info);

  bool OnEvents(int tag, uint32_t events) override;
  bool closed() const override { return closed_; }
  void Shutdown() override;

  uint64_t id() const { return id_; }
  /** Direction 0 is a→b, 1 is b→a; safe to read from any thread. */
  const DirectionStats& stats(int direction) const { return dirs_[direction].stats; }

 private:
  struct End {
    UniqueFd fd;
    EndKind kind;
    bool readable = true;  // edge-triggered: true until read() says EAGAIN
    bool writable = true;
    // EPOLLOUT is asked for only after a write met EAGAIN: otherwise every frame the peer
    // consumes (every skb freed, for a TAP) would wake the loop once more for nothing.
    bool outArmed = false;
    struct Watch watch;
  };
  struct Direction {
    std::unique_ptr<uint8_t[]> buf;  // wire format: [len][frame][len][frame]...
    size_t head = 0;                 // next byte to write to the destination
    size_t ready = 0;                // end of complete frames
    size_t tail = 0;                 // end of bytes read
    uint64_t frameLeft = 0;          // stream destination: bytes of the current frame still to write
    uint32_t frameLen = 0;
    bool eof = false;
    DirectionStats stats;
  };

  bool Pump();
  /** Reads from the source of direction d; returns true on progress. */
  bool Fill(int d);
  /** Writes to the destination of direction d; returns true on progress. */
  bool Flush(int d);
  void Account(Direction& dir, size_t written);
  /** Writes one offload unit to TAP end `dst`, completing its offloads when it must; -1 + errno. */
  ssize_t WriteTapUnit(End& dst, uint8_t* unit, uint32_t len, Direction& dir);
  void Fail(const char* reason, int side, const char* what, int err);
  /** Asks for (or stops asking for) EPOLLOUT on end `side`; false when the relay closed. */
  bool ArmOut(int side, bool on);

  uint64_t id_;
  End ends_[2];
  Direction dirs_[2];
  uint32_t maxFrame_;
  Framing framing_;
  bool finish_ = false;
  uint8_t finishMac_[6] = {0, 0, 0, 0, 0, 0};
  std::unique_ptr<uint8_t[]> scratch_;  // one segment being built (offload completion)
  size_t capacity_;
  RelaySink* sink_;
  Loop* loop_ = nullptr;
  bool closed_ = false;
};

}  // namespace arca
