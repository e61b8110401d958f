#include "loop.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace arca {

namespace {
constexpr int kMaxEvents = 128;
}  // namespace

Loop::Loop() = default;

Loop::~Loop() { Stop(); }

int Loop::Start() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return errno;
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return errno;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake eventfd
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0) return errno;
  try {
    thread_ = std::thread([this] {
      // A name to tell the relay threads apart in `top -H`, perf and /proc/<pid>/task.
      (void)pthread_setname_np(pthread_self(), "arca-relay");
      Run();
    });
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

void Loop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  // The eventfd counter cannot overflow in practice; EAGAIN would mean it is already signalled.
  (void)RetryEintr([&] { return ::write(wake_.get(), &one, sizeof one); });
}

void Loop::Stop() {
  if (!thread_.joinable()) return;
  Post([this] { stopping_ = true; });
  thread_.join();
}

int Loop::Watch(int fd, struct Watch* watch, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = watch;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return errno;
  return 0;
}

int Loop::Modify(int fd, struct Watch* watch, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = watch;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return errno;
  return 0;
}

unsigned Loop::SpinMicros() {
  static const unsigned micros = [] {
    const char* text = std::getenv("ARCA_NET_RELAY_SPIN_US");
    if (text == nullptr || *text == '\0') return 0u;
    char* end = nullptr;
    unsigned long value = std::strtoul(text, &end, 10);
    if (end == nullptr || *end != '\0') return 0u;
    return static_cast<unsigned>(std::min<unsigned long>(value, 1000));
  }();
  return micros;
}

void Loop::Unwatch(int fd) { (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void Loop::Adopt(std::shared_ptr<LoopClient> client) {
  LoopClient* raw = client.get();
  clients_.emplace(raw, std::move(client));
  load_.store(clients_.size(), std::memory_order_relaxed);
}

void Loop::Resume(LoopClient* client) {
  if (client->closed() || client->queuedForMore_) return;
  client->queuedForMore_ = true;
  more_.push_back(client);
}

void Loop::Release(LoopClient* client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  graveyard_.push_back(std::move(it->second));
  clients_.erase(it);
  load_.store(clients_.size(), std::memory_order_relaxed);
  if (client->queuedForMore_) {
    more_.erase(std::remove(more_.begin(), more_.end(), client), more_.end());
    client->queuedForMore_ = false;
  }
}

void Loop::Drain() {
  uint64_t count;
  (void)RetryEintr([&] { return ::read(wake_.get(), &count, sizeof count); });
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(mu_);
    work.swap(queue_);
  }
  for (auto& fn : work) fn();
}

void Loop::Run() {
  epoll_event events[kMaxEvents];
  std::vector<LoopClient*> resume;
  const auto spin = std::chrono::microseconds(SpinMicros());
  while (!stopping_) {
    int timeout = more_.empty() ? -1 : 0;
    int n = 0;
    if (timeout < 0 && spin.count() > 0) {
      // Opt-in bounded spin: poll without blocking for a while, so a frame that arrives
      // soon costs no wake-up of this thread (it is already running); then block.
      const auto until = std::chrono::steady_clock::now() + spin;
      do {
        n = RetryEintr([&] { return ::epoll_wait(epoll_.get(), events, kMaxEvents, 0); });
      } while (n == 0 && std::chrono::steady_clock::now() < until);
    }
    if (n == 0) {
      n = RetryEintr([&] { return ::epoll_wait(epoll_.get(), events, kMaxEvents, timeout); });
    }
    if (n < 0) break;  // EBADF/EINVAL: cannot happen with our own epoll fd
    for (int i = 0; i < n; ++i) {
      auto* watch = static_cast<struct Watch*>(events[i].data.ptr);
      if (watch == nullptr) {
        Drain();
        continue;
      }
      LoopClient* client = watch->client;
      if (client->closed()) continue;
      if (client->OnEvents(watch->tag, events[i].events)) Resume(client);
    }
    // Clients that still had work after their budget get another turn before the next wait.
    resume.swap(more_);
    for (LoopClient* client : resume) client->queuedForMore_ = false;
    for (LoopClient* client : resume) {
      if (client->closed()) continue;
      if (client->OnEvents(-1, 0)) Resume(client);
    }
    resume.clear();
    graveyard_.clear();
  }
  // Stopping: destroy every client here (their UniqueFds close the fds), without events.
  more_.clear();
  graveyard_.clear();
  for (auto& entry : clients_) entry.second->Shutdown();
  clients_.clear();
  load_.store(0, std::memory_order_relaxed);
}

LoopPool::LoopPool(unsigned threads) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) loops_.push_back(std::make_unique<Loop>());
}

LoopPool::~LoopPool() { Stop(); }

int LoopPool::Start() {
  for (auto& loop : loops_) {
    int err = loop->Start();
    if (err != 0) return err;
  }
  return 0;
}

Loop& LoopPool::Pick() {
  // Least loaded, ties broken round-robin.
  unsigned start = next_.fetch_add(1, std::memory_order_relaxed);
  Loop* best = nullptr;
  for (unsigned i = 0; i < loops_.size(); ++i) {
    Loop* loop = loops_[(start + i) % loops_.size()].get();
    if (best == nullptr || loop->load() < best->load()) best = loop;
  }
  return *best;
}

void LoopPool::Stop() {
  for (auto& loop : loops_) loop->Stop();
}

unsigned LoopPool::DefaultThreads() {
  unsigned cores = std::thread::hardware_concurrency();
  return std::clamp(cores, 1u, 4u);
}

}  // namespace arca
