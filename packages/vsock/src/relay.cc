#include "relay.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "codec.h"
#include "offload.h"

namespace arca {

namespace {

constexpr uint32_t kBaseEvents = EPOLLIN | EPOLLRDHUP | EPOLLET;
constexpr int kPumpBudget = 64;          // read/write rounds per wakeup before yielding
constexpr int kTapFramesPerFlush = 64;   // TAP writes per round
constexpr size_t kMinStreamRead = 16 * 1024;

bool IsDropErrno(int err) {
  // A TAP that cannot take a frame right now (or is down): the frame is lost, the relay lives.
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ENOMEM || err == EIO ||
         err == EINVAL || err == EMSGSIZE;
}

bool IsPeerGone(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

template <typename T>
void Bump(std::atomic<T>& counter, T by) {
  // Single writer (the loop thread): a plain load+store is enough and cheaper than fetch_add.
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

Relay::Relay(uint64_t id, UniqueFd a, EndKind kindA, UniqueFd b, EndKind kindB,
             uint32_t maxFrame, RelaySink* sink, Framing framing)
    : id_(id),
      maxFrame_(maxFrame),
      framing_(framing),
      capacity_(std::max(kDirectionBuffer, 2 * (size_t{maxFrame} + kFrameHeader + 1))),
      sink_(sink) {
  ends_[0].fd = std::move(a);
  ends_[0].kind = kindA;
  ends_[1].fd = std::move(b);
  ends_[1].kind = kindB;
  for (int i = 0; i < 2; ++i) ends_[i].watch = {this, i};
}

Relay::~Relay() = default;

void Relay::SetFinishMac(const uint8_t* mac) {
  finish_ = true;
  std::memcpy(finishMac_, mac, 6);
}

namespace {
struct SegmentWrite {
  int fd;
  uint64_t segments = 0;
  int err = 0;
};
bool WriteSegment(void* ctx, const uint8_t* unit, size_t len) {
  auto* w = static_cast<SegmentWrite*>(ctx);
  ssize_t n = RetryEintr([&] { return ::write(w->fd, unit, len); });
  if (n < 0) {
    w->err = errno;
    return false;
  }
  w->segments++;
  return true;
}
}  // namespace

ssize_t Relay::WriteTapUnit(End& dst, uint8_t* unit, uint32_t len, Direction& dir) {
  if (finish_ && len >= kVnetHdr + 14 && (unit[0] & kVnetFlagNeedsCsum) != 0 &&
      std::memcmp(unit + kVnetHdr, finishMac_, 6) == 0) {
    if ((unit[1] & ~kVnetGsoEcn) == kVnetGsoNone) {
      FinishChecksum(unit, len);
    } else {
      if (!scratch_) scratch_.reset(new uint8_t[size_t{maxFrame_} + 1]);
      SegmentWrite w{dst.fd.get()};
      if (SegmentTcp(unit, len, scratch_.get(), size_t{maxFrame_} + 1, WriteSegment, &w) > 0) {
        Bump(dir.stats.softwareSegments, w.segments);
        if (w.err != 0) {
          errno = w.err;
          return -1;
        }
        return static_cast<ssize_t>(len);
      }
    }
  }
  return RetryEintr([&] { return ::write(dst.fd.get(), unit, len); });
}

void Relay::Attach(Loop& loop) {
  loop_ = &loop;
  for (int i = 0; i < 2; ++i) {
    int err = loop.Watch(ends_[i].fd.get(), &ends_[i].watch, kBaseEvents);
    if (err != 0) {
      Fail("error", i, "epoll_ctl", err);
      return;
    }
  }
  if (Pump()) loop.Resume(this);
}

void Relay::Close(CloseInfo info) {
  if (closed_) return;
  closed_ = true;
  for (auto& end : ends_) {
    if (loop_ != nullptr && end.fd) loop_->Unwatch(end.fd.get());
    end.fd.reset();
  }
  for (auto& dir : dirs_) dir.buf.reset();
  if (sink_ != nullptr) sink_->OnRelayClosed(*this, info);
  if (loop_ != nullptr) loop_->Release(this);
}

void Relay::Shutdown() {
  closed_ = true;
  for (auto& end : ends_) end.fd.reset();
  for (auto& dir : dirs_) dir.buf.reset();
}

void Relay::Fail(const char* reason, int side, const char* what, int err) {
  CloseInfo info;
  info.reason = reason;
  info.side = side;
  info.message = std::string(side == 0 ? "a: " : "b: ") + what;
  if (err != 0) info.message += std::string(": ") + std::strerror(err);
  Close(std::move(info));
}

bool Relay::ArmOut(int side, bool on) {
  End& end = ends_[side];
  if (end.outArmed == on) return true;
  int err = loop_->Modify(end.fd.get(), &end.watch, on ? kBaseEvents | EPOLLOUT : kBaseEvents);
  if (err != 0) {
    Fail("error", side, "epoll_ctl", err);
    return false;
  }
  end.outArmed = on;
  return true;
}

bool Relay::OnEvents(int tag, uint32_t events) {
  if (closed_) return false;
  if (tag >= 0) {
    End& end = ends_[tag];
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) end.readable = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) end.writable = true;
    // Writable again with nothing waiting for it: the backpressure episode is over.
    const Direction& toEnd = dirs_[1 - tag];
    if ((events & EPOLLOUT) != 0 && end.outArmed && toEnd.head == toEnd.ready &&
        !ArmOut(tag, false)) {
      return false;
    }
  }
  return Pump();
}

bool Relay::Pump() {
  for (int round = 0; round < kPumpBudget; ++round) {
    bool progress = false;
    for (int d = 0; d < 2 && !closed_; ++d) {
      progress |= Flush(d);
      if (closed_) break;
      progress |= Fill(d);
      if (closed_) break;
      progress |= Flush(d);
    }
    if (closed_ || !progress) return false;
  }
  return true;
}

bool Relay::Fill(int d) {
  End& src = ends_[d];
  Direction& dir = dirs_[d];
  if (!src.readable || dir.eof) return false;
  if (!dir.buf) dir.buf.reset(new uint8_t[capacity_]);  // once per relay, on first traffic
  uint8_t* buf = dir.buf.get();

  if (src.kind == EndKind::kTap) {
    // Room for a header plus one byte more than the largest frame (to detect oversize frames).
    size_t need = kFrameHeader + size_t{maxFrame_} + 1;
    if (capacity_ - dir.tail < need && dir.head > 0) {
      std::memmove(buf, buf + dir.head, dir.tail - dir.head);
      dir.ready -= dir.head;
      dir.tail -= dir.head;
      dir.head = 0;
    }
    if (capacity_ - dir.tail < need) return false;  // backpressure: destination is slow
    ssize_t n = RetryEintr([&] {
      return ::read(src.fd.get(), buf + dir.tail + kFrameHeader, size_t{maxFrame_} + 1);
    });
    if (n > 0) {
      if (static_cast<size_t>(n) > maxFrame_) {
        Bump(dir.stats.drops, uint64_t{1});
        return true;
      }
      WriteBE32(buf + dir.tail, static_cast<uint32_t>(n));
      dir.tail += kFrameHeader + static_cast<size_t>(n);
      dir.ready = dir.tail;
      return true;
    }
    if (n == 0) {
      dir.eof = true;
      return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      src.readable = false;
      return false;
    }
    Fail("error", d, "read", errno);
    return false;
  }

  // Stream and raw sources: read as much as fits.
  if (capacity_ - dir.tail < kMinStreamRead && dir.head > 0) {
    std::memmove(buf, buf + dir.head, dir.tail - dir.head);
    dir.ready -= dir.head;
    dir.tail -= dir.head;
    dir.head = 0;
  }
  if (dir.tail == capacity_) return false;  // backpressure
  ssize_t n = RetryEintr([&] { return ::read(src.fd.get(), buf + dir.tail, capacity_ - dir.tail); });
  if (n > 0) {
    dir.tail += static_cast<size_t>(n);
    if (src.kind == EndKind::kRaw) {
      dir.ready = dir.tail;
      return true;
    }
    ScanResult scan = ScanFrames(buf + dir.ready, dir.tail - dir.ready, maxFrame_, framing_);
    dir.ready += scan.complete;
    if (scan.error) {
      Bump(dir.stats.protocolErrors, uint64_t{1});
      Flush(d);  // best effort: complete frames before the bad header still go out
      if (closed_) return false;
      CloseInfo info;
      info.reason = "protocol";
      info.side = d;
      if (scan.badHeader != HeaderError::kNone) {
        info.message = std::string(d == 0 ? "a" : "b") + ": invalid virtio-net header (" +
                       HeaderErrorText(scan.badHeader) + ")";
      } else {
        uint32_t minFrame = framing_ == Framing::kOffload ? kVnetHdr + 1 : 1;
        info.message = std::string(d == 0 ? "a" : "b") + ": invalid frame length " +
                       std::to_string(scan.badLength) + " (allowed " + std::to_string(minFrame) +
                       ".." + std::to_string(maxFrame_) + ")";
      }
      Close(std::move(info));
      return false;
    }
    return true;
  }
  if (n == 0) {
    dir.eof = true;
    src.readable = false;
    return true;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    src.readable = false;
    return false;
  }
  if (IsPeerGone(errno)) {
    dir.eof = true;
    src.readable = false;
    return true;
  }
  Fail("error", d, "read", errno);
  return false;
}

void Relay::Account(Direction& dir, size_t written) {
  const uint8_t* p = dir.buf.get() + dir.head;
  while (written > 0) {
    if (dir.frameLeft == 0) {
      // A frame starts here; its header is in the buffer (only complete frames are written).
      dir.frameLen = ReadBE32(p);
      dir.frameLeft = kFrameHeader + uint64_t{dir.frameLen};
    }
    size_t step = static_cast<size_t>(std::min<uint64_t>(written, dir.frameLeft));
    dir.frameLeft -= step;
    written -= step;
    p += step;
    if (dir.frameLeft == 0) {
      Bump(dir.stats.frames, uint64_t{1});
      Bump(dir.stats.bytes, uint64_t{dir.frameLen});
    }
  }
}

bool Relay::Flush(int d) {
  End& dst = ends_[1 - d];
  Direction& dir = dirs_[d];
  bool progress = false;
  if (dir.head < dir.ready && dst.writable) {
    uint8_t* buf = dir.buf.get();
    if (dst.kind == EndKind::kTap) {
      for (int i = 0; i < kTapFramesPerFlush && dir.head < dir.ready; ++i) {
        uint32_t len = ReadBE32(buf + dir.head);
        ssize_t n = framing_ == Framing::kOffload
                        ? WriteTapUnit(dst, buf + dir.head + kFrameHeader, len, dir)
                        : RetryEintr([&] {
                            return ::write(dst.fd.get(), buf + dir.head + kFrameHeader, len);
                          });
        if (n >= 0) {
          Bump(dir.stats.frames, uint64_t{1});
          Bump(dir.stats.bytes, uint64_t{len});
        } else if (IsDropErrno(errno)) {
          Bump(dir.stats.drops, uint64_t{1});
        } else {
          Fail("error", 1 - d, "write", errno);
          return false;
        }
        dir.head += kFrameHeader + len;
        progress = true;
      }
    } else {
      ssize_t n = RetryEintr([&] {
        return ::send(dst.fd.get(), buf + dir.head, dir.ready - dir.head, MSG_NOSIGNAL);
      });
      if (n > 0) {
        if (dst.kind == EndKind::kRaw) {
          Bump(dir.stats.bytes, static_cast<uint64_t>(n));
        } else {
          Account(dir, static_cast<size_t>(n));
        }
        dir.head += static_cast<size_t>(n);
        progress = true;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        dst.writable = false;  // backpressure: EPOLLOUT (edge) will resume us
        if (!ArmOut(1 - d, true)) return false;
      } else if (n < 0 && IsPeerGone(errno)) {
        Fail("eof", 1 - d, "write", errno);
        return false;
      } else if (n < 0) {
        Fail("error", 1 - d, "write", errno);
        return false;
      }
    }
    if (dir.head == dir.tail) dir.head = dir.ready = dir.tail = 0;
  }
  if (dir.eof && dir.head == dir.ready) {
    // The source ended and every complete frame went out (a trailing partial frame is dropped).
    CloseInfo info;
    info.reason = "eof";
    info.side = d;
    info.message = std::string(d == 0 ? "a" : "b") + ": end of stream";
    if (dir.tail > dir.ready) info.message += " inside a frame (partial frame discarded)";
    Close(std::move(info));
    return false;
  }
  return progress;
}

}  // namespace arca
