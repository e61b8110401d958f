/*
 * The two endpoints of the relay benchmark, in C so that they cost next to nothing next to the
 * relays under test. fd 3 is the "container" end of the chain, fd 4 the far ("helper") end.
 * Both are blocking stream sockets here; frames are 4-byte big-endian length + payload.
 *
 *   relay-endpoint rtt <payload> <count> <warmup>
 *       fd 4 echoes every byte back; fd 3 sends one frame at a time and waits for its echo.
 *       Prints one round-trip time in microseconds per line (warm-up rounds excluded).
 *   relay-endpoint tput <payload> <warmupMs> <measureMs>
 *       fd 3 writes large batches of pre-encoded frames; fd 4 reads and counts them.
 *       Prints "<bytes> <nanoseconds>" for the measured window (wire bytes, headers included),
 *       then stops the sender at a batch boundary and drains the chain before exiting, so the
 *       chain can carry the next test.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kNear = 3, kFar = 4, kBatch = 256 * 1024, kReadBuf = 1024 * 1024 };

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char* what) {
  fprintf(stderr, "relay-endpoint: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void set_blocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) die("fcntl");
}

static void write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

static size_t encode(uint8_t* p, uint32_t payload) {
  p[0] = (uint8_t)(payload >> 24);
  p[1] = (uint8_t)(payload >> 16);
  p[2] = (uint8_t)(payload >> 8);
  p[3] = (uint8_t)payload;
  for (uint32_t i = 0; i < payload; ++i) p[4 + i] = (uint8_t)(i * 7);
  return 4 + (size_t)payload;
}

static void* echo(void* arg) {
  (void)arg;
  uint8_t* buf = malloc(kReadBuf);
  if (buf == NULL) die("malloc");
  for (;;) {
    ssize_t n = read(kFar, buf, kReadBuf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    write_all(kFar, buf, (size_t)n);
  }
}

static int rtt(uint32_t payload, long count, long warmup) {
  uint8_t* frame = malloc(4 + (size_t)payload);
  uint8_t* in = malloc(4 + (size_t)payload);
  if (frame == NULL || in == NULL) die("malloc");
  size_t len = encode(frame, payload);
  pthread_t thread;
  if (pthread_create(&thread, NULL, echo, NULL) != 0) die("pthread_create");
  double* samples = malloc(sizeof(double) * (size_t)count);
  if (samples == NULL) die("malloc");
  for (long i = -warmup; i < count; ++i) {
    uint64_t t0 = now_ns();
    write_all(kNear, frame, len);
    size_t got = 0;
    while (got < len) {
      ssize_t n = read(kNear, in + got, len - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        errno = n == 0 ? EPIPE : errno;
        die("read echo");
      }
      got += (size_t)n;
    }
    uint64_t t1 = now_ns();
    if (memcmp(in, frame, len) != 0) {
      fprintf(stderr, "relay-endpoint: echoed frame differs\n");
      return 1;
    }
    if (i >= 0) samples[i] = (double)(t1 - t0) / 1000.0;
  }
  for (long i = 0; i < count; ++i) printf("%.3f\n", samples[i]);
  return 0;
}

static atomic_int stop_sending;
static atomic_int sender_done;
static atomic_uint_fast64_t bytes_sent;
static uint8_t* batch;
static size_t batch_len;

static void* send_loop(void* arg) {
  (void)arg;
  while (!atomic_load(&stop_sending)) {
    write_all(kNear, batch, batch_len);
    atomic_fetch_add(&bytes_sent, batch_len);
  }
  atomic_store(&sender_done, 1);
  return NULL;
}

static int tput(uint32_t payload, long warmup_ms, long measure_ms) {
  size_t frame_len = 4 + (size_t)payload;
  size_t frames = kBatch / frame_len > 0 ? kBatch / frame_len : 1;
  batch_len = frames * frame_len;
  batch = malloc(batch_len);
  uint8_t* buf = malloc(kReadBuf);
  if (batch == NULL || buf == NULL) die("malloc");
  for (size_t i = 0; i < frames; ++i) encode(batch + i * frame_len, payload);
  pthread_t thread;
  if (pthread_create(&thread, NULL, send_loop, NULL) != 0) die("pthread_create");
  uint64_t start = now_ns();
  uint64_t warm_end = start + (uint64_t)warmup_ms * 1000000u;
  uint64_t end = warm_end + (uint64_t)measure_ms * 1000000u;
  uint64_t received = 0, window_bytes = 0, window_start = 0, window_end = 0;
  int phase = 0;  // 0 warm-up, 1 measuring, 2 draining
  for (;;) {
    if (phase == 2) {
      // Drain: the sender stops after a whole batch; everything it sent must come out.
      if (atomic_load(&sender_done) && received == atomic_load(&bytes_sent)) break;
      struct pollfd pfd = {.fd = kFar, .events = POLLIN};
      if (poll(&pfd, 1, 1) == 0) continue;
    }
    ssize_t n = read(kFar, buf, kReadBuf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      errno = n == 0 ? EPIPE : errno;
      die("read");
    }
    received += (uint64_t)n;
    uint64_t t = now_ns();
    if (phase == 0 && t >= warm_end) {
      phase = 1;
      window_start = t;
      window_bytes = received;
    } else if (phase == 1 && t >= end) {
      phase = 2;
      window_end = t;
      window_bytes = received - window_bytes;
      atomic_store(&stop_sending, 1);
    }
  }
  pthread_join(thread, NULL);
  printf("%llu %llu\n", (unsigned long long)window_bytes,
         (unsigned long long)(window_end - window_start));
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: relay-endpoint rtt|tput <payload> <a> <b>\n");
    return 2;
  }
  set_blocking(kNear);
  set_blocking(kFar);
  uint32_t payload = (uint32_t)strtoul(argv[2], NULL, 10);
  long a = strtol(argv[3], NULL, 10), b = strtol(argv[4], NULL, 10);
  if (payload < 1 || payload > 65536 || a < 0 || b < 0) {
    fprintf(stderr, "relay-endpoint: bad arguments\n");
    return 2;
  }
  if (strcmp(argv[1], "rtt") == 0) return rtt(payload, a > 0 ? a : 1, b);
  if (strcmp(argv[1], "tput") == 0) return tput(payload, a, b);
  fprintf(stderr, "relay-endpoint: unknown mode %s\n", argv[1]);
  return 2;
}
