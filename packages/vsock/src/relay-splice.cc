// Large offload frames between two stream ends, moved with splice(2) through a pipe.
//
// Between Unix stream sockets (the lab's stand-in for vsock) splice moves page references:
// socket → pipe takes the pages of the sender's skbs (unix_stream_splice_read), pipe → socket
// hands them to the destination's skbs (MSG_SPLICE_PAGES, Linux 6.5+). A frame that went
// read() + send() (two copies) goes through with none. At a frame boundary with an empty
// buffer the relay peeks the 4-byte length and the 12-byte virtio-net header, validates them
// exactly as the buffer path does (ScanFrames), and splices large frames; small frames (pings,
// ACKs) keep the buffer, and a direction that has not seen a large frame recently never peeks.
// A TAP cannot take a pipe (tun has no splice_write: EINVAL) nor fill one (no splice_read), and
// AF_VSOCK has no splice_read (the kernel would copy), so only Unix stream sources splice.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "relay.h"

namespace arca {

namespace {

constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
constexpr int kSpliceFramesPerFill = 16;

bool IsPeerGone(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

template <typename T>
void Bump(std::atomic<T>& counter, T by) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

bool IsUnixSocket(int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  return ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

}  // namespace

bool SpliceEnabled() {
  static const bool enabled = [] {
    const char* text = std::getenv("ARCA_NET_RELAY_SPLICE");
    return text == nullptr || std::strcmp(text, "0") != 0;
  }();
  return enabled;
}

void Relay::SetupSplice() {
  if (framing_ != Framing::kOffload || !SpliceEnabled()) return;
  for (int d = 0; d < 2; ++d) {
    dirs_[d].sp.enabled = ends_[d].kind == EndKind::kStream &&
                          ends_[1 - d].kind == EndKind::kStream && IsUnixSocket(ends_[d].fd.get());
  }
}

Relay::SpliceStep Relay::FillSplice(int d) {
  End& src = ends_[d];
  Direction& dir = dirs_[d];
  Direction::Splice& sp = dir.sp;
  bool progress = false;
  for (int i = 0; i < kSpliceFramesPerFill; ++i) {
    if (sp.inLeft == 0) {
      // A frame boundary in the source: room in the pipe for another maximal frame?
      if (sp.count == kSplicePipeFrames ||
          (sp.inPipe > 0 && sp.inPipe + kFrameHeader + maxFrame_ > sp.pipeCap / 2)) {
        break;
      }
      uint8_t head[kFrameHeader + kVnetHdr];
      ssize_t n = RetryEintr(
          [&] { return ::recv(src.fd.get(), head, sizeof head, MSG_PEEK | MSG_DONTWAIT); });
      if (n == 0 || (n < 0 && IsPeerGone(errno))) {
        dir.eof = true;
        src.readable = false;
        return SpliceStep::kProgress;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        src.readable = false;
        break;
      }
      if (n < 0) {
        Fail("error", d, "recv", errno);
        return SpliceStep::kIdle;
      }
      if (static_cast<size_t>(n) < sizeof head) {
        // Not even a whole header yet: the buffer path reads it (and sees EOF after it).
        if (sp.inPipe == 0) return SpliceStep::kUseBuffer;
        break;
      }
      // The same judgement as the buffer path's (ScanFrames sees a header of 16 bytes).
      ScanResult scan = ScanFrames(head, sizeof head, maxFrame_, framing_);
      if (scan.error) {
        ProtocolClose(d, scan.badLength, scan.badHeader);
        return SpliceStep::kIdle;
      }
      uint32_t len = ReadBE32(head);
      if (len < kSpliceMinFrame) {
        sp.big = false;
        if (sp.inPipe == 0) return SpliceStep::kUseBuffer;
        break;
      }
      if (!sp.pipeW) {
        int fds[2];
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
          sp.enabled = sp.big = false;
          return SpliceStep::kUseBuffer;
        }
        sp.pipeR.reset(fds[0]);
        sp.pipeW.reset(fds[1]);
        int cap = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(kSplicePipe));
        if (cap < 0) cap = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(kSplicePipeSmall));
        if (cap < 0 || static_cast<size_t>(cap) < 2 * (kFrameHeader + size_t{maxFrame_})) {
          // Too small for two maximal frames (a pipe-user-pages limit): no splice here.
          sp.pipeR.reset();
          sp.pipeW.reset();
          sp.enabled = sp.big = false;
          return SpliceStep::kUseBuffer;
        }
        sp.pipeCap = static_cast<size_t>(cap);
      }
      sp.big = true;
      sp.inLeft = kFrameHeader + uint64_t{len};
      sp.lens[(sp.first + sp.count) % kSplicePipeFrames] = len;
      sp.count++;
    }
    ssize_t n = RetryEintr([&] {
      return ::splice(src.fd.get(), nullptr, sp.pipeW.get(), nullptr,
                      static_cast<size_t>(sp.inLeft), kSpliceFlags);
    });
    if (n > 0) {
      sp.inLeft -= static_cast<uint64_t>(n);
      sp.inPipe += static_cast<size_t>(n);
      if (sp.inLeft == 0 || sp.cutThrough) sp.readyInPipe = sp.inPipe;
      if (sp.inLeft == 0) sp.cutThrough = false;
      progress = true;
      continue;
    }
    if (n == 0 || IsPeerGone(errno)) {
      dir.eof = true;  // inside a frame: its spliced part never goes out (readyInPipe)
      src.readable = false;
      return SpliceStep::kProgress;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      uint8_t one;
      if (sp.inPipe > 0 &&
          RetryEintr([&] { return ::recv(src.fd.get(), &one, 1, MSG_PEEK | MSG_DONTWAIT); }) > 0) {
        // The pipe is full (its slots: a sender that wrote the frame in many small pieces)
        // with a frame that has not all arrived: let that frame's bytes go out as they come.
        sp.cutThrough = true;
        if (sp.readyInPipe != sp.inPipe) {
          sp.readyInPipe = sp.inPipe;
          progress = true;
        }
      } else {
        src.readable = false;
      }
      break;
    }
    Fail("error", d, "splice", errno);
    return SpliceStep::kIdle;
  }
  return progress ? SpliceStep::kProgress : SpliceStep::kIdle;
}

void Relay::AccountSplice(Direction& dir, size_t written) {
  Direction::Splice& sp = dir.sp;
  while (written > 0) {
    uint32_t len = sp.lens[sp.first];
    if (sp.outLeft == 0) sp.outLeft = kFrameHeader + uint64_t{len};
    size_t step = static_cast<size_t>(std::min<uint64_t>(written, sp.outLeft));
    sp.outLeft -= step;
    written -= step;
    if (sp.outLeft == 0) {
      Bump(dir.stats.frames, uint64_t{1});
      Bump(dir.stats.bytes, uint64_t{len});
      Bump(dir.stats.splicedFrames, uint64_t{1});
      sp.first = (sp.first + 1) % kSplicePipeFrames;
      sp.count--;
    }
  }
}

bool Relay::FlushSplice(int d) {
  End& dst = ends_[1 - d];
  Direction::Splice& sp = dirs_[d].sp;
  ssize_t n = RetryEintr([&] {
    return ::splice(sp.pipeR.get(), nullptr, dst.fd.get(), nullptr, sp.readyInPipe, kSpliceFlags);
  });
  if (n > 0) {
    AccountSplice(dirs_[d], static_cast<size_t>(n));
    sp.inPipe -= static_cast<size_t>(n);
    sp.readyInPipe -= static_cast<size_t>(n);
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    dst.writable = false;  // backpressure: EPOLLOUT (edge) will resume us
    (void)ArmOut(1 - d, true);
    return false;
  }
  if (n < 0 && IsPeerGone(errno)) {
    Fail("eof", 1 - d, "write", errno);
    return false;
  }
  Fail("error", 1 - d, "splice", n < 0 ? errno : EIO);
  return false;
}

}  // namespace arca
