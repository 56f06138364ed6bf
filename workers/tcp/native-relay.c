// Native relay for TCP sessions (workers/tcp/native-relay.ts): one thread per worker with
// its own epoll copies bytes between pairs of connected sockets with read/write through
// one scratch buffer (splice(2) through a pipe was slower on loopback: bench/README.md).
// Compiled by bun:ffi's cc (TinyCC) when a worker opens a TLS or TCP port. No #include: machines without libc
// headers must compile it, so the few functions and constants are declared here (Linux).
//
// Ownership: nr_add dups the caller's two fds; the thread reads, writes and closes only
// its dups. The caller's fds stay the caller's (its sockets paused, closed by it after the
// pair is over), so no fd number is closed twice or reused under the other's feet.
// A direction reads fd[i] and writes fd[1-i]; its bytes count in info (nr_info). EOF:
// what is held is written, then shutdown(SHUT_WR) on the other fd (half-close passes).
// A pair is over when both directions are, on an error, or on nr_close(id). One mutex:
// the thread holds it while it services a pair, the caller while it adds or closes one.
// Over by itself: done(id, err, side) (err 0: side is the one whose FIN came first, or
// 2 + a side that closed after its FIN while it was written to (the other side may not
// have sent its FIN); or an
// errno on fd[side]); the slot is held until nr_release(id), so its info stays readable.
// Over by nr_close: no callback, the slot is free at once.
// Memory: data read and not taken by the other side is held, at most one read per
// direction: CHUNK bytes, SMALL once the worker holds HELD_CAP in all.

typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned long size_t;
typedef long ssize_t;

extern int *__errno_location(void);
#define errno (*__errno_location())
extern ssize_t read(int, void *, size_t);
extern ssize_t write(int, const void *, size_t);
extern ssize_t send(int, const void *, size_t, int);
extern int close(int);
extern int shutdown(int, int);
extern int fcntl(int, int, ...);
extern int getsockopt(int, int, int, void *, u32 *);
extern int epoll_create1(int);
extern int epoll_ctl(int, int, int, void *);
extern int epoll_wait(int, void *, int, int);
extern void *malloc(size_t);
extern void *calloc(size_t, size_t);
extern void free(void *);
extern void *memcpy(void *, const void *, size_t);
extern int pthread_create(u64 *, const void *, void *(*)(void *), void *);
extern int pthread_detach(u64);
extern int pthread_mutex_lock(void *);
extern int pthread_mutex_unlock(void *);

#define EINTR 4
#define EIO 5
#define EAGAIN 11
#define ENOMEM 12
#define ENOSPC 28
#define ECONNRESET 104
#define EBADF 9
#define O_CLOEXEC 02000000
#define F_DUPFD_CLOEXEC 1030
#define SHUT_WR 1
#define MSG_NOSIGNAL 0x4000
#define SOL_SOCKET 1
#define SO_ERROR 4
#define SOL_TCP 6
#define TCP_INFO 11
#define TCP_CLOSE 7
#define EPOLLIN 0x001
#define EPOLLOUT 0x004
#define EPOLLERR 0x008
#define EPOLLHUP 0x010
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3

// The kernel's struct epoll_event: packed (12 bytes) on x86-64, 16 bytes elsewhere.
// Our own (TinyCC lays out glibc's packed one in 16 bytes): 32-bit fields only.
#ifdef __x86_64__
struct kev { u32 events; u32 id; u32 side; };
#else
struct kev { u32 events; u32 pad; u32 id; u32 side; };
#endif

#define MAXPAIRS 4096
#define GONE 0xffffffffu
#define CHUNK (256 * 1024)
#define SMALL (16 * 1024)
#define HELD_CAP (32L * 1024 * 1024)
static long held_total = 0; // bytes held by all pairs (changed with mu held)

struct dir { int eof, shut; char *held; long off, len; };
// tag: this pair's number (events carry it with the side: tag * 2 + side), so an event taken
// for an earlier pair in the same slot is not applied to this one
// first_eof: the side whose FIN came first; gone: a side that closed after its FIN (-1: none)
struct pair { int fd[2]; struct dir d[2]; u32 want[2]; int id, first_eof, gone; u32 tag; };
static u32 tags = 0;

static int ep = -1, stopped = 0, debug = 0;

static void trace(const char *what, int id, int a, int b) {
  if (!debug) return;
  char m[96];
  int k = 0;
  while (*what && k < 60) m[k++] = *what++;
  int v[3] = { id, a, b };
  for (int j = 0; j < 3; j++) {
    long x = v[j];
    m[k++] = ' ';
    if (x < 0) { m[k++] = '-'; x = -x; }
    char t[12]; int n = 0;
    do { t[n++] = '0' + x % 10; x /= 10; } while (x && n < 11);
    while (n) m[k++] = t[--n];
  }
  m[k++] = '\n';
  (void)write(2, m, k);
}
void nr_debug(int on) { debug = on; }
static void (*done_cb)(int, int, int);
static struct pair *pairs[MAXPAIRS];
static char used[MAXPAIRS];           // slot taken (a pair, or over and not released yet)
// Held by the thread while it services a pair, by the caller in nr_add/close/release: a
// pair is only ever touched by one thread at a time. pthread_mutex_t is 40 bytes on glibc
// x86-64 and aarch64 (48 reserved), all zero is PTHREAD_MUTEX_INITIALIZER.
static long mu[8];
static char scratch[CHUNK];
// Per slot, read by the caller any time: [0] bytes written fd0 -> fd1, [1] fd1 -> fd0,
// [2] flags: 1 << i: FIN read from fd[i], 4 << i: FIN passed on by direction i (to fd[1-i]).
static double info[MAXPAIRS * 4];

static void set_want(struct pair *p, int i, u32 want) {
  if (want == p->want[i] || p->want[i] == GONE) return;
#ifdef __x86_64__
  struct kev e = { want, (u32)p->id, p->tag * 2 + i };
#else
  struct kev e = { want, 0, (u32)p->id, p->tag * 2 + i };
#endif
  epoll_ctl(ep, EPOLL_CTL_MOD, p->fd[i], &e);
  p->want[i] = want;
}

// err: 0 (both ways over), an errno (on fd[side]), -1 (nr_close: no callback, slot freed).
// With mu held.
static void finish(struct pair *p, int err, int side) {
  int id = p->id;
  trace("finish", id, err, side);
  for (int i = 0; i < 2; i++) {
    if (p->want[i] != GONE) epoll_ctl(ep, EPOLL_CTL_DEL, p->fd[i], 0);
    close(p->fd[i]);
    free(p->d[i].held);
    held_total -= p->d[i].len;
  }
  free(p);
  pairs[id] = 0;
  if (err == -1) used[id] = 0;
  else if (!stopped) done_cb(id, err, side); // queued for the caller's thread (a threadsafe JSCallback)
}

// Writing to fd[1-i] failed with e: that side is gone. It sent its FIN before: only this
// direction is over (as a peer that closes after its FIN); else it reset: the pair is over.
static int out_gone(struct pair *p, int i, int e, int *err, int *side) {
  struct dir *d = &p->d[i];
  if (p->d[1 - i].eof) {
    free(d->held);
    held_total -= d->len;
    d->held = 0;
    d->len = 0;
    d->eof = 1;
    if (!d->shut) info[p->id * 4 + 2] += 4 << i; // that side is closed both ways now
    d->shut = 1;
    if (p->gone < 0) p->gone = 1 - i;
    return 1;
  }
  *err = e;
  *side = 1 - i;
  return -1;
}

// EOF read from fd, a side we sent no FIN to: a FIN (CLOSE_WAIT), or a reset whose error the
// caller's event loop took first (Bun reads SO_ERROR of its paused socket and closes its fd):
// then the socket is in TCP_CLOSE, which a FIN alone never leaves it in.
static int reset_seen_as_eof(int fd) {
  unsigned char ti[8] = { 0 }; // struct tcp_info begins with tcpi_state
  u32 l = sizeof ti;
  return getsockopt(fd, SOL_TCP, TCP_INFO, ti, &l) == 0 && ti[0] == TCP_CLOSE;
}

// Direction i (fd[i] -> fd[1-i]). 0: waiting, 1: over, -1: error (*err, *side set).
// `all`: read until EAGAIN, EOF or blocked; else stop after a short read (epoll tells
// when there is more) or ROUNDS reads (the other pairs' turn, and nr_close waits less).
#define ROUNDS 8
static int pump(struct pair *p, int i, int all, int *err, int *side) {
  struct dir *d = &p->d[i];
  int in = p->fd[i], out = p->fd[1 - i], rounds = 0;
  double *count = &info[p->id * 4 + i];
  for (;;) {
    if (d->len > 0) {
      ssize_t n = send(out, d->held + d->off, d->len, MSG_NOSIGNAL);
      if (n < 0) {
        int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN) return 0;
        return out_gone(p, i, e, err, side);
      }
      d->off += n;
      d->len -= n;
      held_total -= n;
      *count += n;
      if (d->len > 0) return 0;
      free(d->held);
      d->held = 0;
      d->off = 0;
    }
    if (d->eof) {
      if (!d->shut) {
        d->shut = 1;
        shutdown(out, SHUT_WR);
        info[p->id * 4 + 2] += 4 << i;
      }
      return 1;
    }
    ssize_t n = read(in, scratch, held_total < HELD_CAP ? CHUNK : SMALL);
    if (n == 0 && !p->d[1 - i].shut && reset_seen_as_eof(in)) {
      *err = ECONNRESET;
      *side = i;
      return -1;
    }
    if (n == 0) {
      d->eof = 1;
      trace("eof", p->id, i, 0);
      info[p->id * 4 + 2] += 1 << i;
      if (p->first_eof < 0) p->first_eof = i;
      continue;
    }
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN) return 0;
      *err = e;
      *side = i;
      return -1;
    }
    ssize_t w = send(out, scratch, n, MSG_NOSIGNAL);
    if (w < 0) {
      int e = errno;
      if (e != EAGAIN && e != EINTR) return out_gone(p, i, e, err, side);
      w = 0;
    }
    *count += w;
    if (w < n) {
      d->held = malloc(n - w);
      if (d->held == 0) {
        *err = ENOMEM;
        *side = i;
        return -1;
      }
      memcpy(d->held, scratch + w, n - w);
      d->len = n - w;
      held_total += d->len;
      return 0;
    }
    if (!all && (n < CHUNK || ++rounds >= ROUNDS)) return 0;
  }
}

// `all`: after HUP/ERR. A direction whose input is no longer watched (hung up) reads to EOF.
static void service(struct pair *p, int all) {
  int err = 0, side = 0;
  int a = pump(p, 0, all || p->want[0] == GONE, &err, &side);
  if (a < 0) return finish(p, err ? err : EIO, side);
  int b = pump(p, 1, all || p->want[1] == GONE, &err, &side);
  if (b < 0) return finish(p, err ? err : EIO, side);
  // reported side: the one whose FIN came first (0, 1), or 2 + one that closed after its FIN
  if (a == 1 && b == 1) return finish(p, 0, p->gone >= 0 ? 2 + p->gone : p->first_eof < 0 ? 0 : p->first_eof);
  for (int i = 0; i < 2; i++) {
    struct dir *r = &p->d[i], *w = &p->d[1 - i]; // r reads fd[i], w writes fd[i]
    set_want(p, i, (!r->eof && r->len == 0 ? EPOLLIN : 0) | (w->len > 0 ? EPOLLOUT : 0));
  }
}

// One event on pair p's fd[side], with mu held.
static void event(struct pair *p, u32 events, int side) {
  int bad = (events & (EPOLLERR | EPOLLHUP)) != 0, fin_before = p->d[side].eof, err = 0;
  u32 l = sizeof err;
  trace("event", p->id, events, side);
  if ((events & EPOLLHUP) && !p->d[1 - side].shut && !fin_before) {
    // hung up with no FIN from it and ours not sent: reset (or timed out). Its error may
    // have been read already by the caller's event loop (its sockets are paused, but
    // epoll tells them errors): then reads would see EOF, not the error
    getsockopt(p->fd[side], SOL_SOCKET, SO_ERROR, &err, &l);
    return finish(p, err ? err : ECONNRESET, side);
  }
  service(p, bad);
  if (!bad || pairs[p->id] != p) return;
  // still here with that fd in error: over, unless its side sent FIN before: then only
  // writing to it is over. Hung up (both ways shut, read to EOF or held): stop watching
  // it, level-triggered HUP would wake us forever; its direction reads to EOF from now on.
  getsockopt(p->fd[side], SOL_SOCKET, SO_ERROR, &err, &l);
  if (err != 0 || (events & EPOLLERR)) {
    if (!fin_before) return finish(p, err ? err : EIO, side);
    int e2, s2;
    out_gone(p, 1 - side, err, &e2, &s2);
  }
  epoll_ctl(ep, EPOLL_CTL_DEL, p->fd[side], 0);
  p->want[side] = GONE;
  service(p, 1);
}

static void *run(void *arg) {
  struct kev ev[128];
  for (;;) {
    int n = epoll_wait(ep, ev, 128, -1);
    for (int i = 0; i < n; i++) {
      u32 k = ev[i].id;
      pthread_mutex_lock(mu);
      // a pair ended (by us, or nr_close) after this batch was taken: nothing to do
      struct pair *p = k < MAXPAIRS ? pairs[k] : 0;
      if (p && p->tag == ev[i].side >> 1) event(p, ev[i].events, ev[i].side & 1);
      pthread_mutex_unlock(mu);
    }
  }
  return arg;
}

/** Start the thread; `cb(id, err, side)` when a pair is over by itself. 0 or -errno. */
int nr_start(void (*cb)(int, int, int)) {
  if (ep >= 0) return 0;
  done_cb = cb;
  ep = epoll_create1(O_CLOEXEC);
  if (ep < 0) return -errno;
  u64 thr;
  int r = pthread_create(&thr, 0, run, 0);
  if (r != 0) return -r;
  pthread_detach(thr);
  return 0;
}

/** No callback from now on (the worker is going away). */
void nr_stop(void) {
  pthread_mutex_lock(mu);
  stopped = 1;
  pthread_mutex_unlock(mu);
}

/** Relay between fa and fb (dup'ed here): a pair id >= 0, or -errno (nothing taken). */
int nr_add(int fa, int fb) {
  struct pair *p = calloc(1, sizeof *p);
  if (p == 0) return -ENOMEM;
  p->fd[0] = fcntl(fa, F_DUPFD_CLOEXEC, 0);
  p->fd[1] = fcntl(fb, F_DUPFD_CLOEXEC, 0);
  int id = -1;
  if (p->fd[0] >= 0 && p->fd[1] >= 0) {
    pthread_mutex_lock(mu);
    for (int i = 0; i < MAXPAIRS; i++)
      if (!used[i]) {
        id = i;
        break;
      }
    if (id >= 0) {
      used[id] = 1;
      p->tag = ++tags & 0x7fffffff;
      info[id * 4] = info[id * 4 + 1] = info[id * 4 + 2] = 0;
    }
    pthread_mutex_unlock(mu);
  }
  if (id < 0) {
    int e = p->fd[0] < 0 || p->fd[1] < 0 ? EBADF : ENOSPC;
    if (p->fd[0] >= 0) close(p->fd[0]);
    if (p->fd[1] >= 0) close(p->fd[1]);
    free(p);
    return -e;
  }
  p->id = id;
  p->first_eof = p->gone = -1;
  p->want[0] = p->want[1] = EPOLLIN;
#ifdef __x86_64__
  struct kev e0 = { EPOLLIN, (u32)id, p->tag * 2 }, e1 = { EPOLLIN, (u32)id, p->tag * 2 + 1 };
#else
  struct kev e0 = { EPOLLIN, 0, (u32)id, p->tag * 2 }, e1 = { EPOLLIN, 0, (u32)id, p->tag * 2 + 1 };
#endif
  // watched, then published: an event before that finds no pair and comes again
  if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[0], &e0) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[1], &e1) < 0) {
    int e = errno;
    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd[0], 0);
    close(p->fd[0]);
    close(p->fd[1]);
    free(p);
    pthread_mutex_lock(mu);
    used[id] = 0;
    pthread_mutex_unlock(mu);
    return -e;
  }
  pthread_mutex_lock(mu);
  pairs[id] = p;
  pthread_mutex_unlock(mu);
  return id;
}

/** End pair `id` now (its fds closed when this returns, its info final); no callback. */
void nr_close(int id) {
  if (id < 0 || id >= MAXPAIRS) return;
  pthread_mutex_lock(mu);
  struct pair *p = pairs[id];
  if (p) finish(p, -1, 0);
  pthread_mutex_unlock(mu);
}

/** info, for the caller to read as a Float64Array. */
double *nr_info(void) {
  return info;
}

/** The caller is done with an over pair's slot (after done). */
void nr_release(int id) {
  if (id < 0 || id >= MAXPAIRS) return;
  pthread_mutex_lock(mu);
  if (pairs[id] == 0) used[id] = 0;
  pthread_mutex_unlock(mu);
}
