// JS bindings only: argument checking, error objects, the event queue to JS. The work lives in
// loop.cc, relay.cc, socket.cc, tap.cc and codec.cc.
// clang-format off
#include <sys/socket.h>
#include <linux/vm_sockets.h>
// clang-format on
#include <fcntl.h>
#include <napi.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codec.h"
#include "loop.h"
#include "offload.h"
#include "peer-buffers.h"
#include "relay.h"
#include "socket.h"
#include "tap.h"
#include "unique_fd.h"

namespace arca {
namespace {

/** One event for JS, created on a loop thread, consumed (and freed) on the JS thread. */
struct Event {
  enum Type { kRelayClose, kAccept, kListenerClose, kListenerError };
  explicit Event(Type t) : type(t) {}
  Type type;
  uint64_t id = 0;
  std::string reason;
  int side = -1;
  std::string message;
  UniqueFd fd;
  uint32_t cid = 0;
  uint32_t port = 0;
  int err = 0;
  std::string syscall;
};

Napi::Error SysError(Napi::Env env, const SysResult& r, const std::string& context) {
  std::string detail = r.message.empty() ? std::string(std::strerror(r.err)) : r.message;
  Napi::Error e = Napi::Error::New(env, context + ": " + r.syscall + ": " + detail);
  e.Set("errno", Napi::Number::New(env, r.err));
  e.Set("syscall", Napi::String::New(env, r.syscall));
  return e;
}

Napi::Error ArgError(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("errno", Napi::Number::New(env, EINVAL));
  return e;
}

void CallJs(Napi::Env env, Napi::Function fn, Event* raw) {
  std::unique_ptr<Event> ev(raw);
  if (env == nullptr || fn == nullptr) return;  // teardown: ev's fd (if any) closes here
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", Napi::Number::New(env, static_cast<double>(ev->id)));
  switch (ev->type) {
    case Event::kRelayClose:
      o.Set("type", "relay-close");
      o.Set("reason", ev->reason);
      if (ev->side >= 0) o.Set("side", ev->side == 0 ? "a" : "b");
      if (!ev->message.empty()) o.Set("message", ev->message);
      break;
    case Event::kAccept:
      o.Set("type", "accept");
      o.Set("fd", Napi::Number::New(env, ev->fd.release()));
      o.Set("cid", Napi::Number::New(env, ev->cid));
      o.Set("port", Napi::Number::New(env, ev->port));
      break;
    case Event::kListenerClose:
      o.Set("type", "listener-close");
      break;
    case Event::kListenerError:
      o.Set("type", "listener-error");
      o.Set("errno", Napi::Number::New(env, ev->err));
      o.Set("syscall", ev->syscall);
      o.Set("message", ev->syscall + ": " + std::strerror(ev->err));
      break;
  }
  try {
    fn.Call({o});
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();  // surfaces as an uncaught exception in JS
  }
}

class Addon : public RelaySink, public ListenerSink {
 public:
  ~Addon() override { Shutdown(); }

  void SetHandler(Napi::Env env, Napi::Function fn) {
    if (hasTsfn_) throw Napi::Error::New(env, "event handler already set");
    tsfn_ = Napi::ThreadSafeFunction::New(env, fn, "arca-net-vsock-events", 0, 1);
    tsfn_.Unref(env);
    hasTsfn_ = true;
    // Registered after the TSFN, so it runs before the TSFN's own teardown (reverse order).
    env.AddCleanupHook([this] { Shutdown(); });
  }

  LoopPool& Pool(Napi::Env env) {
    if (!hasTsfn_) throw Napi::Error::New(env, "native event handler not set (load via lib/native.ts)");
    if (!pool_) {
      auto pool = std::make_unique<LoopPool>(threads_);
      int err = pool->Start();
      if (err != 0) {
        SysResult r;
        r.err = err;
        r.syscall = "loop start";
        throw SysError(env, r, "relay loops");
      }
      pool_ = std::move(pool);
    }
    return *pool_;
  }

  void Shutdown() {
    if (pool_) {
      pool_->Stop();
      pool_.reset();
    }
    if (hasTsfn_) {
      hasTsfn_ = false;
      tsfn_.Release();
    }
  }

  void Ref(Napi::Env env) {
    if (hasTsfn_) tsfn_.Ref(env);
  }
  void Unref(Napi::Env env) {
    if (hasTsfn_) tsfn_.Unref(env);
  }

  unsigned threads() const { return pool_ ? pool_->size() : threads_; }
  bool SetThreads(unsigned n) {
    if (pool_) return false;
    threads_ = n;
    return true;
  }
  uint64_t droppedEvents() const { return dropped_.load(std::memory_order_relaxed); }

  // --- sinks (loop threads) ---------------------------------------------------------
  void OnRelayClosed(Relay& relay, const CloseInfo& info) override {
    auto* ev = new Event(Event::kRelayClose);
    ev->id = relay.id();
    ev->reason = info.reason;
    ev->side = info.side;
    ev->message = info.message;
    Emit(ev);
  }
  void OnAccepted(Listener& listener, UniqueFd fd, const Peer& peer) override {
    auto* ev = new Event(Event::kAccept);
    ev->id = listener.id();
    ev->fd = std::move(fd);
    ev->cid = peer.cid;
    ev->port = peer.port;
    Emit(ev);
  }
  void OnListenerError(Listener& listener, const SysResult& error) override {
    auto* ev = new Event(Event::kListenerError);
    ev->id = listener.id();
    ev->err = error.err;
    ev->syscall = error.syscall;
    Emit(ev);
  }
  void OnListenerClosed(Listener& listener) override {
    auto* ev = new Event(Event::kListenerClose);
    ev->id = listener.id();
    Emit(ev);
  }

 private:
  void Emit(Event* ev) {
    // The queue is unbounded, so NonBlockingCall only fails while the environment closes.
    if (tsfn_.NonBlockingCall(ev, CallJs) != napi_ok) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      delete ev;  // closes an accepted fd
    }
  }

  Napi::ThreadSafeFunction tsfn_;
  bool hasTsfn_ = false;
  unsigned threads_ = LoopPool::DefaultThreads();
  std::unique_ptr<LoopPool> pool_;
  std::atomic<uint64_t> dropped_{0};
};

Addon& GetAddon(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

struct RelayHandle {
  std::shared_ptr<Relay> relay;
  Loop* loop;
};

struct ListenerHandle {
  std::shared_ptr<Listener> listener;
  Loop* loop;
};

uint32_t U32(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw ArgError(v.Env(), std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw ArgError(v.Env(), std::string(what) + " must be an integer 0..2^32-1");
  }
  return static_cast<uint32_t>(d);
}

int Fd(const Napi::Value& v, const char* what) {
  uint32_t fd = U32(v, what);
  if (fd > 0x7fffffff) throw ArgError(v.Env(), std::string(what) + " is not a valid fd");
  return static_cast<int>(fd);
}

std::string Str(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw ArgError(v.Env(), std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// --- events, pool -------------------------------------------------------------------

Napi::Value SetEventHandler(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw ArgError(info.Env(), "handler must be a function");
  GetAddon(info.Env()).SetHandler(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value Ref(const Napi::CallbackInfo& info) {
  GetAddon(info.Env()).Ref(info.Env());
  return info.Env().Undefined();
}

Napi::Value Unref(const Napi::CallbackInfo& info) {
  GetAddon(info.Env()).Unref(info.Env());
  return info.Env().Undefined();
}

Napi::Value SetLoopThreads(const Napi::CallbackInfo& info) {
  uint32_t n = U32(info[0], "threads");
  if (n < 1 || n > 64) throw ArgError(info.Env(), "threads must be 1..64");
  return Napi::Boolean::New(info.Env(), GetAddon(info.Env()).SetThreads(n));
}

Napi::Value LoopThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), GetAddon(info.Env()).threads());
}

// --- codec --------------------------------------------------------------------------

Napi::Value ScanFramesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw ArgError(env, "data must be a Uint8Array");
  auto data = info[0].As<Napi::Uint8Array>();
  uint32_t maxFrame = U32(info[1], "maxFrame");
  Framing framing = info[2].ToBoolean() ? Framing::kOffload : Framing::kPlain;
  ScanResult r = ScanFrames(data.Data(), data.ByteLength(), maxFrame, framing);
  Napi::Object o = Napi::Object::New(env);
  o.Set("complete", Napi::Number::New(env, static_cast<double>(r.complete)));
  o.Set("frames", Napi::Number::New(env, static_cast<double>(r.frames)));
  o.Set("payload", Napi::Number::New(env, static_cast<double>(r.payload)));
  o.Set("error", Napi::Boolean::New(env, r.error));
  o.Set("badLength", Napi::Number::New(env, r.badLength));
  o.Set("badHeader", Napi::String::New(env, HeaderErrorText(r.badHeader)));
  return o;
}

/** Test seam for offload.cc: the units a relay writes to the router for one offload unit. */
Napi::Value FinishOffloadsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw ArgError(env, "unit must be a Uint8Array");
  auto in = info[0].As<Napi::Uint8Array>();
  std::vector<uint8_t> unit(in.Data(), in.Data() + in.ByteLength());
  Napi::Array out = Napi::Array::New(env);
  if (unit.size() >= kVnetHdr && (unit[1] & ~kVnetGsoEcn) != kVnetGsoNone) {
    std::vector<uint8_t> scratch(unit.size());
    struct Ctx {
      Napi::Env env;
      Napi::Array out;
    } ctx{env, out};
    SegmentTcp(
        unit.data(), unit.size(), scratch.data(), scratch.size(),
        [](void* c, const uint8_t* p, size_t n) {
          auto* x = static_cast<Ctx*>(c);
          x->out.Set(x->out.Length(), Napi::Buffer<uint8_t>::Copy(x->env, p, n));
          return true;
        },
        &ctx);
    return out;
  }
  FinishChecksum(unit.data(), unit.size());
  out.Set(0u, Napi::Buffer<uint8_t>::Copy(env, unit.data(), unit.size()));
  return out;
}

// --- relays -------------------------------------------------------------------------

EndKind Kind(const Napi::Value& v) {
  uint32_t k = U32(v, "end kind");
  if (k > 2) throw ArgError(v.Env(), "end kind must be 0 (stream), 1 (tap) or 2 (raw)");
  return static_cast<EndKind>(k);
}

void CheckEnd(Napi::Env env, EndKind kind, int fd, const char* side) {
  SysResult r = kind == EndKind::kTap ? CheckCharDevice(fd) : CheckSocket(fd);
  if (r.ok()) r = SetNonBlocking(fd);
  if (!r.ok()) throw SysError(env, r, std::string("relay end ") + side);
}

Napi::Value RelayOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = GetAddon(env);
  double id = info[0].As<Napi::Number>().DoubleValue();
  EndKind ka = Kind(info[1]);
  int fa = Fd(info[2], "fd a");
  EndKind kb = Kind(info[3]);
  int fb = Fd(info[4], "fd b");
  uint32_t maxFrame = U32(info[5], "maxFrame");
  if (maxFrame < 1 || maxFrame > (1u << 20)) throw ArgError(env, "maxFrame must be 1..1048576");
  if ((ka == EndKind::kRaw) != (kb == EndKind::kRaw)) {
    throw ArgError(env, "raw ends can only be relayed to raw ends");
  }
  if (fa == fb) throw ArgError(env, "both relay ends are the same fd");
  CheckEnd(env, ka, fa, "a");
  Framing framing = info[6].ToBoolean() ? Framing::kOffload : Framing::kPlain;
  if (framing == Framing::kOffload && (ka == EndKind::kRaw || kb == EndKind::kRaw)) {
    throw ArgError(env, "offload framing needs stream or tap ends");
  }
  if (framing == Framing::kOffload && maxFrame <= kVnetHdr) {
    throw ArgError(env, "maxFrame must exceed the 12-byte virtio-net header in offload framing");
  }
  CheckEnd(env, kb, fb, "b");
  LoopPool& pool = addon.Pool(env);
  // From here on the relay owns both fds.
  auto relay = std::make_shared<Relay>(static_cast<uint64_t>(id), UniqueFd(fa), ka, UniqueFd(fb),
                                       kb, maxFrame, &addon, framing);
  if (framing == Framing::kOffload && info[7].IsTypedArray()) {
    auto mac = info[7].As<Napi::Uint8Array>();
    if (mac.ByteLength() == 6) relay->SetFinishMac(mac.Data());
  }
  Loop& loop = pool.Pick();
  loop.Post([relay, &loop] {
    loop.Adopt(relay);
    relay->Attach(loop);
  });
  return Napi::External<RelayHandle>::New(env, new RelayHandle{relay, &loop},
                                          [](Napi::Env, RelayHandle* h) { delete h; });
}

Napi::Value RelayClose(const Napi::CallbackInfo& info) {
  auto* h = info[0].As<Napi::External<RelayHandle>>().Data();
  std::shared_ptr<Relay> relay = h->relay;
  h->loop->Post([relay] {
    CloseInfo ci;
    ci.reason = "closed";
    relay->Close(std::move(ci));
  });
  return info.Env().Undefined();
}

Napi::Value RelayStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* h = info[0].As<Napi::External<RelayHandle>>().Data();
  Napi::Array out = Napi::Array::New(env, 8);
  for (uint32_t d = 0; d < 2; ++d) {
    const DirectionStats& s = h->relay->stats(static_cast<int>(d));
    auto get = [](const std::atomic<uint64_t>& c) {
      return static_cast<double>(c.load(std::memory_order_relaxed));
    };
    out.Set(d * 4 + 0, get(s.frames));
    out.Set(d * 4 + 1, get(s.bytes));
    out.Set(d * 4 + 2, get(s.drops));
    out.Set(d * 4 + 3, get(s.protocolErrors));
  }
  return out;
}

// --- listeners ----------------------------------------------------------------------

Napi::Value StartListener(Napi::Env env, double id, UniqueFd fd, int family,
                          std::vector<uint32_t> allow) {
  Addon& addon = GetAddon(env);
  LoopPool& pool = addon.Pool(env);
  auto listener = std::make_shared<Listener>(static_cast<uint64_t>(id), std::move(fd), family,
                                             std::move(allow), &addon);
  Loop& loop = pool.Pick();
  loop.Post([listener, &loop] {
    loop.Adopt(listener);
    listener->Attach(loop);
  });
  return Napi::External<ListenerHandle>::New(env, new ListenerHandle{listener, &loop},
                                             [](Napi::Env, ListenerHandle* h) { delete h; });
}

Napi::Value ListenVsockJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double id = info[0].As<Napi::Number>().DoubleValue();
  uint32_t cid = info[1].IsUndefined() || info[1].IsNull() ? VMADDR_CID_ANY : U32(info[1], "cid");
  uint32_t port = U32(info[2], "port");
  int backlog = static_cast<int>(U32(info[3], "backlog"));
  std::vector<uint32_t> allow;
  if (info[4].IsArray()) {
    auto arr = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) allow.push_back(U32(arr.Get(i), "allowCids[]"));
  }
  GetAddon(env).Pool(env);  // fail before binding when the loops cannot start
  UniqueFd fd;
  SysResult r = ListenVsock(cid, port, backlog, fd);
  if (!r.ok()) throw SysError(env, r, "vsock listen port " + std::to_string(port));
  Napi::Object o = Napi::Object::New(env);
  o.Set("port", Napi::Number::New(env, port));
  o.Set("handle", StartListener(env, id, std::move(fd), AF_VSOCK, std::move(allow)));
  return o;
}

Napi::Value ListenUnixJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double id = info[0].As<Napi::Number>().DoubleValue();
  std::string path = Str(info[1], "path");
  int backlog = static_cast<int>(U32(info[2], "backlog"));
  GetAddon(env).Pool(env);
  UniqueFd fd;
  SysResult r = ListenUnix(path, backlog, fd);
  if (!r.ok()) throw SysError(env, r, "unix listen " + path);
  return StartListener(env, id, std::move(fd), AF_UNIX, {});
}

Napi::Value ListenerClose(const Napi::CallbackInfo& info) {
  auto* h = info[0].As<Napi::External<ListenerHandle>>().Data();
  std::shared_ptr<Listener> listener = h->listener;
  h->loop->Post([listener] { listener->Close(); });
  return info.Env().Undefined();
}

Napi::Value ListenerRejected(const Napi::CallbackInfo& info) {
  auto* h = info[0].As<Napi::External<ListenerHandle>>().Data();
  return Napi::Number::New(info.Env(), static_cast<double>(h->listener->rejected()));
}

// --- connects (short, bounded setup work: AsyncWorker) ------------------------------

class ConnectWorker : public Napi::AsyncWorker {
 public:
  enum Mode { kVsock, kUnix, kHvsock };
  ConnectWorker(Napi::Env env, Mode mode, std::string path, uint32_t cid, uint32_t port,
                int timeoutMs)
      : Napi::AsyncWorker(env, "arca-net-connect"),
        deferred_(Napi::Promise::Deferred::New(env)),
        mode_(mode),
        path_(std::move(path)),
        cid_(cid),
        port_(port),
        timeoutMs_(timeoutMs) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    switch (mode_) {
      case kVsock:
        result_ = ConnectVsock(cid_, port_, timeoutMs_, fd_);
        break;
      case kUnix:
        result_ = ConnectUnix(path_, timeoutMs_, fd_);
        break;
      case kHvsock:
        result_ = ConnectHvsock(path_, port_, timeoutMs_, fd_);
        break;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (result_.ok()) {
      deferred_.Resolve(Napi::Number::New(env, fd_.release()));
      return;
    }
    std::string what = mode_ == kVsock ? "vsock connect cid " + std::to_string(cid_) + " port " +
                                             std::to_string(port_)
                       : mode_ == kUnix ? "unix connect " + path_
                                        : "hvsock connect " + path_ + " port " + std::to_string(port_);
    deferred_.Reject(SysError(env, result_, what).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Mode mode_;
  std::string path_;
  uint32_t cid_, port_;
  int timeoutMs_;
  UniqueFd fd_;
  SysResult result_;
};

Napi::Value ConnectVsockJs(const Napi::CallbackInfo& info) {
  auto* w = new ConnectWorker(info.Env(), ConnectWorker::kVsock, "", U32(info[0], "cid"),
                              U32(info[1], "port"), static_cast<int>(U32(info[2], "timeoutMs")));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ConnectUnixJs(const Napi::CallbackInfo& info) {
  auto* w = new ConnectWorker(info.Env(), ConnectWorker::kUnix, Str(info[0], "path"), 0, 0,
                              static_cast<int>(U32(info[1], "timeoutMs")));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ConnectHvsockJs(const Napi::CallbackInfo& info) {
  auto* w = new ConnectWorker(info.Env(), ConnectWorker::kHvsock, Str(info[0], "path"), 0,
                              U32(info[1], "port"), static_cast<int>(U32(info[2], "timeoutMs")));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// --- TAP, fds -----------------------------------------------------------------------

Napi::Value TapCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Str(info[0], "name");
  const uint8_t* mac = nullptr;
  if (info[1].IsTypedArray()) {
    auto arr = info[1].As<Napi::Uint8Array>();
    if (arr.ByteLength() != 6) throw ArgError(env, "mac must be 6 bytes");
    mac = arr.Data();
  }
  int mtu = static_cast<int>(U32(info[2], "mtu"));
  bool up = info[3].ToBoolean();
  bool offload = info[4].ToBoolean();
  TapInfo tap;
  SysResult r = CreateTap(name, mac, mtu, up, tap, offload);
  if (!r.ok()) throw SysError(env, r, "TAP " + name);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ifindex", Napi::Number::New(env, tap.ifindex));
  o.Set("mac", Napi::Buffer<uint8_t>::Copy(env, tap.mac, 6));
  o.Set("offloads", Napi::Number::New(env, tap.offloads));
  o.Set("fd", Napi::Number::New(env, tap.fd.release()));
  return o;
}

Napi::Value TapSetMtu(const Napi::CallbackInfo& info) {
  std::string name = Str(info[0], "name");
  SysResult r = SetTapMtu(name, static_cast<int>(U32(info[1], "mtu")));
  if (!r.ok()) throw SysError(info.Env(), r, "TAP " + name);
  return info.Env().Undefined();
}

Napi::Value SocketPairJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UniqueFd a, b;
  SysResult r = SocketPair(a, b);
  if (!r.ok()) throw SysError(env, r, "socketpair");
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, a.release()));
  out.Set(1u, Napi::Number::New(env, b.release()));
  return out;
}

Napi::Value DupFd(const Napi::CallbackInfo& info) {
  int fd = Fd(info[0], "fd");
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) {
    SysResult r;
    r.err = errno;
    r.syscall = "fcntl(F_DUPFD_CLOEXEC)";
    throw SysError(info.Env(), r, "dup fd " + std::to_string(fd));
  }
  return Napi::Number::New(info.Env(), dup);
}

Napi::Value RaisePacketReceiveBuffersJs(const Napi::CallbackInfo& info) {
  int pid = static_cast<int>(U32(info[0], "pid"));
  int bytes = static_cast<int>(U32(info[1], "bytes"));
  int raised = 0;
  SysResult r = RaisePacketReceiveBuffers(pid, bytes, raised);
  if (!r.ok()) throw SysError(info.Env(), r, "packet sockets of pid " + std::to_string(pid));
  return Napi::Number::New(info.Env(), raised);
}

Napi::Value DroppedEvents(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(GetAddon(info.Env()).droppedEvents()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<Addon>(new Addon());
  auto fn = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name));
  };
  fn("setEventHandler", SetEventHandler);
  fn("ref", Ref);
  fn("unref", Unref);
  fn("setLoopThreads", SetLoopThreads);
  fn("loopThreads", LoopThreads);
  fn("droppedEvents", DroppedEvents);
  fn("scanFrames", ScanFramesJs);
  fn("finishOffloads", FinishOffloadsJs);
  fn("relayOpen", RelayOpen);
  fn("relayClose", RelayClose);
  fn("relayStats", RelayStats);
  fn("listenVsock", ListenVsockJs);
  fn("listenUnix", ListenUnixJs);
  fn("listenerClose", ListenerClose);
  fn("listenerRejected", ListenerRejected);
  fn("connectVsock", ConnectVsockJs);
  fn("connectUnix", ConnectUnixJs);
  fn("connectHvsock", ConnectHvsockJs);
  fn("tapCreate", TapCreate);
  fn("tapSetMtu", TapSetMtu);
  fn("socketPair", SocketPairJs);
  fn("dupFd", DupFd);
  fn("raisePacketReceiveBuffers", RaisePacketReceiveBuffersJs);
  return exports;
}

}  // namespace
}  // namespace arca

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return arca::Init(env, exports);
}

NODE_API_MODULE(arca_vsock, InitModule)
