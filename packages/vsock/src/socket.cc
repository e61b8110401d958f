#include "socket.h"

// clang-format off
#include <sys/socket.h>
#include <linux/vm_sockets.h>
// clang-format on
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace arca {

namespace {

constexpr int kAcceptBudget = 64;

SysResult Fail(const char* syscall, int err = errno, std::string message = {}) {
  SysResult r;
  r.err = err;
  r.syscall = syscall;
  r.message = std::move(message);
  return r;
}

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

/** Waits for `events` on fd until the deadline; returns 0, ETIMEDOUT or an errno. */
int WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n > 0) return 0;
    if (n == 0) return ETIMEDOUT;
    if (errno != EINTR) return errno;
  }
}

bool MakeUnixAddress(const std::string& path, sockaddr_un& addr, socklen_t& len) {
  if (path.empty() || path.size() >= sizeof addr.sun_path) return false;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return true;
}

/** Non-blocking connect completed within the deadline (fd is non-blocking). */
SysResult ConnectWithin(int fd, const sockaddr* addr, socklen_t len, Clock::time_point deadline,
                        bool retryEagain) {
  for (;;) {
    if (::connect(fd, addr, len) == 0) return {};
    int err = errno;
    if (err == EINTR || err == EINPROGRESS) break;
    // AF_UNIX: a full backlog gives EAGAIN; try again until the deadline.
    if (retryEagain && err == EAGAIN) {
      if (RemainingMs(deadline) == 0) return Fail("connect", ETIMEDOUT);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    return Fail("connect", err);
  }
  int err = WaitFor(fd, POLLOUT, deadline);
  if (err != 0) return Fail("connect", err);
  int soErr = 0;
  socklen_t soLen = sizeof soErr;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &soLen) != 0) return Fail("getsockopt");
  if (soErr != 0) return Fail("connect", soErr);
  return {};
}

}  // namespace

SysResult ListenVsock(uint32_t cid, uint32_t& port, int backlog, UniqueFd& out) {
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Fail("socket");
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return Fail("bind");
  if (::listen(fd.get(), backlog) != 0) return Fail("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Fail("getsockname");
  }
  port = addr.svm_port;
  out = std::move(fd);
  return {};
}

SysResult ListenUnix(const std::string& path, int backlog, UniqueFd& out) {
  sockaddr_un addr;
  socklen_t len;
  if (!MakeUnixAddress(path, addr, len)) return Fail("bind", ENAMETOOLONG, "socket path too long");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Fail("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return Fail("bind");
  if (::listen(fd.get(), backlog) != 0) return Fail("listen");
  out = std::move(fd);
  return {};
}

SysResult ConnectVsock(uint32_t cid, uint32_t port, int timeoutMs, UniqueFd& out) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Fail("socket");
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  SysResult r =
      ConnectWithin(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr, deadline, false);
  if (!r.ok()) return r;
  out = std::move(fd);
  return {};
}

SysResult ConnectUnix(const std::string& path, int timeoutMs, UniqueFd& out) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  sockaddr_un addr;
  socklen_t len;
  if (!MakeUnixAddress(path, addr, len)) {
    return Fail("connect", ENAMETOOLONG, "socket path too long");
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Fail("socket");
  SysResult r = ConnectWithin(fd.get(), reinterpret_cast<sockaddr*>(&addr), len, deadline, true);
  if (!r.ok()) return r;
  out = std::move(fd);
  return {};
}

SysResult ConnectHvsock(const std::string& path, uint32_t port, int timeoutMs, UniqueFd& out) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  UniqueFd fd;
  SysResult r = ConnectUnix(path, timeoutMs, fd);
  if (!r.ok()) return r;
  std::string request = "CONNECT " + std::to_string(port) + "\n";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int err = WaitFor(fd.get(), POLLOUT, deadline);
      if (err != 0) return Fail("send", err);
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return Fail("send", ECONNRESET, "connection closed before the CONNECT request was sent");
    }
    return Fail("send");
  }
  // Read the reply line exactly: peek, then consume only up to and including '\n', so any
  // data the guest sent right after the OK line stays in the socket for its next reader.
  std::string line;
  constexpr size_t kMaxLine = 64;
  for (;;) {
    char peek[kMaxLine];
    ssize_t n = RetryEintr([&] { return ::recv(fd.get(), peek, sizeof peek, MSG_PEEK); });
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int err = WaitFor(fd.get(), POLLIN, deadline);
      if (err != 0) return Fail("recv", err, "no reply to CONNECT");
      continue;
    }
    if (n < 0) {
      if (errno == ECONNRESET) break;
      return Fail("recv");
    }
    if (n == 0) break;  // closed before the reply
    const char* nl = static_cast<const char*>(std::memchr(peek, '\n', static_cast<size_t>(n)));
    size_t take = nl != nullptr ? static_cast<size_t>(nl - peek) + 1 : static_cast<size_t>(n);
    ssize_t got = RetryEintr([&] { return ::recv(fd.get(), peek, take, 0); });
    if (got != static_cast<ssize_t>(take)) return Fail("recv", got < 0 ? errno : EIO);
    line.append(peek, take);
    if (nl != nullptr) {
      line.pop_back();
      unsigned long value = 0;
      bool ok = line.size() > 3 && line.compare(0, 3, "OK ") == 0 &&
                line.find_first_not_of("0123456789", 3) == std::string::npos &&
                line.size() <= 13;
      if (ok) value = std::stoul(line.substr(3));
      if (!ok || value > 0xffffffffUL) {
        return Fail("connect", EPROTO, "unexpected hybrid vsock reply '" + line + "'");
      }
      out = std::move(fd);
      return {};
    }
    if (line.size() >= kMaxLine) {
      return Fail("connect", EPROTO, "hybrid vsock reply longer than 64 bytes without newline");
    }
  }
  return Fail("connect", ECONNRESET,
              "connection closed before the OK reply (no listener on that port in the guest?)");
}

SysResult SocketPair(UniqueFd& a, UniqueFd& b) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    return Fail("socketpair");
  }
  a.reset(fds[0]);
  b.reset(fds[1]);
  return {};
}

SysResult CheckSocket(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Fail("fstat");
  if (!S_ISSOCK(st.st_mode)) return Fail("fstat", ENOTSOCK, "fd " + std::to_string(fd) + " is not a socket");
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return Fail("getsockopt");
  if (type != SOCK_STREAM) {
    return Fail("getsockopt", EPROTOTYPE, "fd " + std::to_string(fd) + " is not a stream socket");
  }
  return {};
}

SysResult CheckCharDevice(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Fail("fstat");
  if (!S_ISCHR(st.st_mode)) {
    return Fail("fstat", ENODEV, "fd " + std::to_string(fd) + " is not a TAP (character device)");
  }
  return {};
}

SysResult SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return Fail("fcntl");
  if ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return Fail("fcntl");
  }
  return {};
}

Listener::Listener(uint64_t id, UniqueFd fd, int family, std::vector<uint32_t> allowCids,
                   ListenerSink* sink)
    : id_(id), fd_(std::move(fd)), family_(family), allowCids_(std::move(allowCids)), sink_(sink) {
  watch_ = {this, 0};
}

void Listener::Attach(Loop& loop) {
  loop_ = &loop;
  int err = loop.Watch(fd_.get(), &watch_, EPOLLIN | EPOLLET);
  if (err != 0) {
    SysResult r;
    r.err = err;
    r.syscall = "epoll_ctl";
    if (sink_ != nullptr) sink_->OnListenerError(*this, r);
    Close();
    return;
  }
  if (OnEvents(0, EPOLLIN)) loop.Resume(this);
}

void Listener::Close() {
  if (closed_) return;
  closed_ = true;
  if (loop_ != nullptr && fd_) loop_->Unwatch(fd_.get());
  fd_.reset();
  if (sink_ != nullptr) sink_->OnListenerClosed(*this);
  if (loop_ != nullptr) loop_->Release(this);
}

bool Listener::OnEvents(int /*tag*/, uint32_t /*events*/) {
  for (int i = 0; i < kAcceptBudget && !closed_; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return false;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      SysResult r;
      r.err = err;
      r.syscall = "accept4";
      if (sink_ != nullptr) sink_->OnListenerError(*this, r);
      return false;
    }
    UniqueFd conn(fd);
    Peer peer;
    peer.family = family_;
    if (family_ == AF_VSOCK) {
      const auto* vm = reinterpret_cast<const sockaddr_vm*>(&ss);
      peer.cid = vm->svm_cid;
      peer.port = vm->svm_port;
      if (!allowCids_.empty() &&
          std::find(allowCids_.begin(), allowCids_.end(), peer.cid) == allowCids_.end()) {
        rejected_.store(rejected_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        continue;  // conn closes here
      }
    }
    if (sink_ != nullptr) sink_->OnAccepted(*this, std::move(conn), peer);
  }
  return !closed_;
}

}  // namespace arca
