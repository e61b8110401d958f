// A pool of epoll loops: our own threads, each serving many relays and listeners.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "unique_fd.h"

namespace arca {

class Loop;

/** Something registered with a loop (a relay, a listener). All methods run on the loop thread. */
class LoopClient {
 public:
  virtual ~LoopClient() = default;
  /**
   * Readiness of the fd registered under `tag` (tag -1: a resume after OnEvents asked for more).
   * Returns true when work remains that should run again without waiting for the kernel
   * (so one busy client cannot starve the others in the loop).
   */
  virtual bool OnEvents(int tag, uint32_t events) = 0;
  /** True once the client is closed; the loop then stops calling it. */
  virtual bool closed() const = 0;
  /** The loop is stopping (environment teardown): close fds now, report nothing. */
  virtual void Shutdown() = 0;

 protected:
  friend class Loop;
  bool queuedForMore_ = false;
};

/** What a loop stores in epoll_event.data.ptr for each registered fd. */
struct Watch {
  LoopClient* client = nullptr;
  int tag = 0;
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /** Creates epoll + eventfd and starts the thread; returns 0 or an errno. */
  int Start();
  /** Runs `fn` on the loop thread soon (thread-safe; wakes the loop through its eventfd). */
  void Post(std::function<void()> fn);
  /** Stops the thread and destroys every client it still holds (closing their fds). */
  void Stop();

  // --- loop thread only --------------------------------------------------------
  /** Registers `fd` (edge-triggered `events`); returns 0 or an errno. */
  int Watch(int fd, struct Watch* watch, uint32_t events);
  /** Changes the events of a watched fd (epoll re-checks readiness, so no edge is lost); 0 or an errno. */
  int Modify(int fd, struct Watch* watch, uint32_t events);
  void Unwatch(int fd);
  /** The loop keeps `client` alive until Release. */
  void Adopt(std::shared_ptr<LoopClient> client);
  /** Asks for another OnEvents(-1) turn before the loop next blocks. */
  void Resume(LoopClient* client);
  /** Drops the loop's reference after the current batch of events. */
  void Release(LoopClient* client);

  /** Number of clients (approximate when read from another thread). */
  size_t load() const { return load_.load(std::memory_order_relaxed); }

  /**
   * Microseconds a loop polls (epoll_wait with no timeout) before it blocks, from
   * ARCA_NET_RELAY_SPIN_US (0, the default: block at once; capped at 1000). Read once.
   */
  static unsigned SpinMicros();

 private:
  void Run();
  void Drain();

  UniqueFd epoll_;
  UniqueFd wake_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  bool stopping_ = false;  // loop thread only
  std::atomic<size_t> load_{0};
  std::unordered_map<LoopClient*, std::shared_ptr<LoopClient>> clients_;
  std::vector<std::shared_ptr<LoopClient>> graveyard_;
  std::vector<LoopClient*> more_;
};

/** A fixed set of loops; new clients go to the least loaded one. */
class LoopPool {
 public:
  explicit LoopPool(unsigned threads);
  ~LoopPool();
  /** Starts the loops; returns 0 or an errno. */
  int Start();
  Loop& Pick();
  void Stop();
  unsigned size() const { return static_cast<unsigned>(loops_.size()); }

  /** The default number of loop threads: one per core, at least 1, at most 4. */
  static unsigned DefaultThreads();

 private:
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<unsigned> next_{0};
};

}  // namespace arca
