// RAII ownership of file descriptors (after Android's unique_fd).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace arca {

/** Calls `fn` again while it fails with EINTR (never use around close()). */
template <typename Fn>
auto RetryEintr(Fn fn) -> decltype(fn()) {
  decltype(fn()) result;
  do {
    result = fn();
  } while (result == -1 && errno == EINTR);
  return result;
}

/** Owns one fd and closes it exactly once (in reset() or the destructor). Move-only. */
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  /** Gives up ownership without closing. */
  [[nodiscard]] int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

  /** Closes the owned fd (if any; errors ignored, no EINTR retry) and owns `fd` instead. */
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      int saved = errno;
      ::close(fd_);
      errno = saved;
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/** A non-owning view of an fd, for parameters. */
class BorrowedFd {
 public:
  explicit BorrowedFd(int fd) : fd_(fd) {}
  BorrowedFd(const UniqueFd& fd) : fd_(fd.get()) {}  // NOLINT: implicit by design
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace arca
