// Stream sockets: AF_VSOCK and AF_UNIX listeners (accepting on a Loop), connects with a
// timeout, and the hybrid-vsock (Firecracker) CONNECT handshake.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "loop.h"
#include "unique_fd.h"

namespace arca {

/** The result of a setup syscall sequence: err == 0 on success, else errno + the failing step. */
struct SysResult {
  int err = 0;
  std::string syscall;
  std::string message;  // optional, more specific than strerror(err)
  bool ok() const { return err == 0; }
};

struct Peer {
  int family = 0;  // AF_VSOCK or AF_UNIX
  uint32_t cid = 0;
  uint32_t port = 0;
};

/** Binds and listens on AF_VSOCK (cid may be VMADDR_CID_ANY); `port` receives the bound port. */
SysResult ListenVsock(uint32_t cid, uint32_t& port, int backlog, UniqueFd& out);
/** Binds and listens on a Unix stream socket at `path` (the caller handles the directory). */
SysResult ListenUnix(const std::string& path, int backlog, UniqueFd& out);

/** Blocking (bounded by timeoutMs) connects, for short setup work off the JS thread. */
SysResult ConnectVsock(uint32_t cid, uint32_t port, int timeoutMs, UniqueFd& out);
SysResult ConnectUnix(const std::string& path, int timeoutMs, UniqueFd& out);
/**
 * Hybrid vsock: connect to `path`, send "CONNECT <port>\n", expect "OK <n>\n". Bytes that
 * follow the OK line stay unread in the socket (the reply is consumed exactly up to '\n').
 * A connection closed before the reply gives ECONNRESET (no listener in the guest yet);
 * any other reply gives EPROTO.
 */
SysResult ConnectHvsock(const std::string& path, uint32_t port, int timeoutMs, UniqueFd& out);

/** A non-blocking, close-on-exec AF_UNIX stream socketpair. */
SysResult SocketPair(UniqueFd& a, UniqueFd& b);
/** fstat-based checks for relay ends. */
SysResult CheckSocket(int fd);
SysResult CheckCharDevice(int fd);
SysResult SetNonBlocking(int fd);

class Listener;

class ListenerSink {
 public:
  virtual ~ListenerSink() = default;
  /** A connection was accepted (ownership of fd moves to the sink). */
  virtual void OnAccepted(Listener& listener, UniqueFd fd, const Peer& peer) = 0;
  virtual void OnListenerError(Listener& listener, const SysResult& error) = 0;
  virtual void OnListenerClosed(Listener& listener) = 0;
};

/** Accepts connections on a Loop; filters AF_VSOCK peers by CID when an allow-list is set. */
class Listener : public LoopClient {
 public:
  Listener(uint64_t id, UniqueFd fd, int family, std::vector<uint32_t> allowCids,
           ListenerSink* sink);
  void Attach(Loop& loop);
  void Close();
  bool OnEvents(int tag, uint32_t events) override;
  bool closed() const override { return closed_; }
  void Shutdown() override {
    closed_ = true;
    fd_.reset();
  }
  uint64_t id() const { return id_; }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  uint64_t id_;
  UniqueFd fd_;
  int family_;
  std::vector<uint32_t> allowCids_;
  ListenerSink* sink_;
  Loop* loop_ = nullptr;
  struct Watch watch_;
  bool closed_ = false;
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace arca
