// The relay engine without Node: built with AddressSanitizer + UBSan by `make -C fuzz asan-test`
// (run from test/vsock/sanitizers.test.ts). Socketpairs, a LoopPool, chains of Relays.
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "codec.h"
#include "loop.h"
#include "relay.h"
#include "socket.h"

using namespace arca;

#define EXPECT(cond)                                                        \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: expectation failed: %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                         \
    }                                                                       \
  } while (0)

namespace {

class Sink : public RelaySink {
 public:
  void OnRelayClosed(Relay& relay, const CloseInfo& info) override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_[relay.id()] = info.reason;
    cv_.notify_all();
  }
  std::string Wait(uint64_t id) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT(cv_.wait_for(lock, std::chrono::seconds(30), [&] { return closed_.count(id) > 0; }));
    return closed_[id];
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::string> closed_;
};

int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) n++;
  closedir(d);
  return n;
}

void Blocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); }

bool WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

/** Reads until EOF; returns all bytes. */
std::vector<uint8_t> ReadToEof(int fd) {
  std::vector<uint8_t> out;
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

std::vector<uint8_t> Frame(uint32_t index, uint32_t len) {
  std::vector<uint8_t> f(4 + len);
  WriteBE32(f.data(), len);
  for (uint32_t j = 0; j < len; ++j) f[4 + j] = static_cast<uint8_t>(index * 31 + j);
  return f;
}

struct Chain {
  int x, y;
  std::vector<std::shared_ptr<Relay>> relays;
};

uint64_t nextId = 1;

std::shared_ptr<Relay> Open(LoopPool& pool, Sink& sink, int a, int b, uint32_t maxFrame = 65536) {
  auto relay = std::make_shared<Relay>(nextId++, UniqueFd(a), EndKind::kStream, UniqueFd(b),
                                       EndKind::kStream, maxFrame, &sink);
  Loop& loop = pool.Pick();
  loop.Post([relay, &loop] {
    loop.Adopt(relay);
    relay->Attach(loop);
  });
  return relay;
}

Chain MakeChain(LoopPool& pool, Sink& sink, int n) {
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i <= n; ++i) {
    UniqueFd a, b;
    EXPECT(SocketPair(a, b).ok());
    pairs.emplace_back(a.release(), b.release());
  }
  Chain c;
  for (int i = 0; i < n; ++i) c.relays.push_back(Open(pool, sink, pairs[i].second, pairs[i + 1].first));
  c.x = pairs[0].first;
  c.y = pairs[n].second;
  Blocking(c.x);
  Blocking(c.y);
  return c;
}

void TestChainIntegrity(LoopPool& pool, Sink& sink) {
  Chain c = MakeChain(pool, sink, 3);
  const int count = 20000;
  std::mt19937 gen(1);
  std::uniform_real_distribution<double> dist(std::log(60.0), std::log(65537.0));
  std::vector<uint32_t> lengths;
  uint64_t total = 0;
  for (int i = 0; i < count; ++i) {
    lengths.push_back(std::min<uint32_t>(65536, static_cast<uint32_t>(std::exp(dist(gen)))));
    total += lengths.back();
  }
  std::thread writer([&] {
    for (int i = 0; i < count; ++i) {
      auto f = Frame(static_cast<uint32_t>(i), lengths[i]);
      EXPECT(WriteAll(c.x, f.data(), f.size()));
    }
    ::shutdown(c.x, SHUT_WR);
  });
  std::vector<uint8_t> got = ReadToEof(c.y);
  writer.join();
  size_t pos = 0;
  for (int i = 0; i < count; ++i) {
    auto f = Frame(static_cast<uint32_t>(i), lengths[i]);
    EXPECT(got.size() - pos >= f.size());
    EXPECT(std::memcmp(got.data() + pos, f.data(), f.size()) == 0);
    pos += f.size();
  }
  EXPECT(pos == got.size());
  for (auto& r : c.relays) {
    EXPECT(sink.Wait(r->id()) == "eof");
    EXPECT(r->stats(0).frames.load() == static_cast<uint64_t>(count));
    EXPECT(r->stats(0).bytes.load() == total);
  }
  close(c.x);
  close(c.y);
  std::printf("ok chain: %d frames, %llu bytes through 3 relays\n", count,
              static_cast<unsigned long long>(total));
}

void TestProtocolError(LoopPool& pool, Sink& sink) {
  Chain c = MakeChain(pool, sink, 1);
  auto good = Frame(1, 100);
  uint8_t bad[8] = {0, 1, 0, 1, 0, 0, 0, 0};  // 65537
  EXPECT(WriteAll(c.x, good.data(), good.size()));
  EXPECT(WriteAll(c.x, bad, sizeof bad));
  EXPECT(sink.Wait(c.relays[0]->id()) == "protocol");
  EXPECT(c.relays[0]->stats(0).protocolErrors.load() == 1);
  std::vector<uint8_t> got = ReadToEof(c.y);
  EXPECT(got.size() == good.size() || got.empty());
  close(c.x);
  close(c.y);
  std::printf("ok protocol error\n");
}

void TestEofMidFrame(LoopPool& pool, Sink& sink) {
  Chain c = MakeChain(pool, sink, 2);
  auto good = Frame(2, 300);
  auto partial = Frame(3, 1000);
  EXPECT(WriteAll(c.x, good.data(), good.size()));
  EXPECT(WriteAll(c.x, partial.data(), 500));
  ::shutdown(c.x, SHUT_WR);
  std::vector<uint8_t> got = ReadToEof(c.y);
  EXPECT(got == good);
  for (auto& r : c.relays) EXPECT(sink.Wait(r->id()) == "eof");
  close(c.x);
  close(c.y);
  std::printf("ok eof mid-frame\n");
}

void TestBackpressure(LoopPool& pool, Sink& sink) {
  Chain c = MakeChain(pool, sink, 1);
  size_t closedBefore = sink.count();
  const int count = 256;  // 256 × 32 KiB = 8 MiB
  std::thread writer([&] {
    for (int i = 0; i < count; ++i) {
      auto f = Frame(static_cast<uint32_t>(i), 32768);
      EXPECT(WriteAll(c.x, f.data(), f.size()));
    }
    ::shutdown(c.x, SHUT_WR);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the reader is stalled
  EXPECT(sink.count() == closedBefore);  // the relay lives while the reader stalls
  std::vector<uint8_t> got = ReadToEof(c.y);
  writer.join();
  EXPECT(got.size() == static_cast<size_t>(count) * (4 + 32768));
  for (int i = 0; i < count; ++i) {
    auto f = Frame(static_cast<uint32_t>(i), 32768);
    EXPECT(std::memcmp(got.data() + static_cast<size_t>(i) * f.size(), f.data(), f.size()) == 0);
  }
  EXPECT(sink.Wait(c.relays[0]->id()) == "eof");
  close(c.x);
  close(c.y);
  std::printf("ok backpressure\n");
}

void TestChurn(LoopPool& pool, Sink& sink) {
  int before = OpenFds();
  for (int round = 0; round < 20; ++round) {
    std::vector<Chain> chains;
    for (int i = 0; i < 100; ++i) chains.push_back(MakeChain(pool, sink, 1));
    for (auto& c : chains) {
      auto f = Frame(9, 64);
      EXPECT(WriteAll(c.x, f.data(), f.size()));
      ::shutdown(c.x, SHUT_WR);
      std::vector<uint8_t> got = ReadToEof(c.y);
      EXPECT(got == f);
      EXPECT(sink.Wait(c.relays[0]->id()) == "eof");
      close(c.x);
      close(c.y);
    }
  }
  EXPECT(OpenFds() == before);
  std::printf("ok churn: 2000 relays opened and closed, fds unchanged\n");
}

}  // namespace

int main() {
  Sink sink;
  LoopPool pool(2);
  EXPECT(pool.Start() == 0);
  TestChainIntegrity(pool, sink);
  TestProtocolError(pool, sink);
  TestEofMidFrame(pool, sink);
  TestBackpressure(pool, sink);
  TestChurn(pool, sink);
  // Relays still open at shutdown are closed by the loops (ASan reports any leak).
  Chain open = MakeChain(pool, sink, 2);
  pool.Stop();
  close(open.x);
  close(open.y);
  std::printf("ok all\n");
  return 0;
}
