// Moves bytes between pairs of connected TCP sockets with splice(2) through a pipe per
// direction, on a thread of its own with its own epoll (compiled by bun:ffi's cc).
// The caller hands over a pair of fds (dup'ed here: the caller's fds stay its own and
// its event loop must not read them: Bun sockets paused). EOF on one side: the pipe is
// emptied into the other, then shutdown(SHUT_WR) on it. A pair ends when both
// directions saw EOF and are flushed, on an error, or on sr_close(id): the thread
// drops its fds and calls `done(id, bytesAtoB, bytesBtoA, err)` (err: 0, an errno, or
// -1 for closed on request); the caller then closes its sockets.
// SR_COPY=1: read/write through a SR_CHUNK-byte buffer instead of splice (same thread,
// same epoll): on loopback it moved more MB/s than splice (/work/notes/splice.md; a
// guess, not checked: loopback gives no page-backed skbs, so splice saves no copy).
// Bench prototype only (bench/ceiling-splice-ffi.ts): not used by gangway.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>

// TinyCC ignores glibc's __attribute__((packed)) on struct epoll_event (it lays it out
// in 16 bytes, data at offset 8; the kernel's x86-64 layout is 12 bytes, data at 4):
// our own layout, all 32-bit fields, so there is no padding to get wrong.
struct kev { uint32_t events; uint32_t id; uint32_t pad; };
#define MAXPAIRS 65536
#define CTL_ID 0xffffffffu
#define GONE 0xffffffffu
static long CHUNK = 1 << 20;
static int copy_mode = 0; // SR_COPY=1: read/write through a buffer instead of splice (for the bench)

struct dir { int in, out, pr, pw; long inpipe; int eof, shut; double bytes; char *buf; long off; };
struct pair { struct dir d[2]; int fd[2]; int id; uint32_t want[2]; };

static int ep = -1, ctl = -1;
static pthread_t thr;
static void (*done_cb)(int, double, double, int);
static struct pair *pairs[MAXPAIRS];
static volatile int closereqs[MAXPAIRS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int next_id = 0;

static void finish(struct pair *p, int err) {
  if (getenv("SR_DEBUG")) { char m[160]; int k = snprintf(m, sizeof m, "finish %d err %d ab %.0f ba %.0f\n", p->id, err, p->d[0].bytes, p->d[1].bytes); (void)!write(2, m, k); }
  epoll_ctl(ep, EPOLL_CTL_DEL, p->fd[0], 0);
  epoll_ctl(ep, EPOLL_CTL_DEL, p->fd[1], 0);
  for (int i = 0; i < 2; i++) { close(p->d[i].pr); close(p->d[i].pw); close(p->fd[i]); free(p->d[i].buf); }
  pthread_mutex_lock(&mu);
  pairs[p->id] = 0;
  pthread_mutex_unlock(&mu);
  done_cb(p->id, p->d[0].bytes, p->d[1].bytes, err);
  free(p);
}

// 0: waiting, 1: this direction is over (EOF passed on), <0: -errno
static int pump(struct dir *d) {
  for (;;) {
    while (d->inpipe > 0) {
      ssize_t n = copy_mode ? write(d->out, d->buf + d->off, d->inpipe) : splice(d->pr, 0, d->out, 0, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) { if (errno == EAGAIN) return 0; if (errno == EINTR) continue; return -errno; }
      d->inpipe -= n; d->bytes += n; d->off += n;
    }
    if (d->eof) {
      if (!d->shut) { d->shut = 1; shutdown(d->out, SHUT_WR); }
      return 1;
    }
    d->off = 0;
    ssize_t n = copy_mode ? read(d->in, d->buf, CHUNK) : splice(d->in, 0, d->pw, 0, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) { d->eof = 1; continue; }
    if (n < 0) { if (errno == EAGAIN) return 0; if (errno == EINTR) continue; return -errno; }
    d->inpipe += n;
  }
}

// Level-triggered, and each fd watched only for what we wait on: EPOLLIN while its
// direction reads (its pipe empty, no EOF yet), EPOLLOUT while the other direction has
// bytes for it. (Edge-triggered EPOLLIN|EPOLLOUT on both woke the thread on every ACK
// that freed send space: 2-4 useless splices per wake.)
static void watch(struct pair *p) {
  for (int i = 0; i < 2; i++) {
    struct dir *r = &p->d[i], *w = &p->d[1 - i]; // r reads fd[i], w writes fd[i]
    uint32_t want = (!r->eof && r->inpipe == 0 ? EPOLLIN : 0) | (w->inpipe > 0 ? EPOLLOUT : 0);
    if (want == p->want[i] || p->want[i] == GONE) continue;
    struct kev e = { want, (uint32_t)p->id, (uint32_t)i };
    epoll_ctl(ep, EPOLL_CTL_MOD, p->fd[i], (struct epoll_event *)&e);
    p->want[i] = want;
  }
}

static void service(struct pair *p) {
  int a = pump(&p->d[0]);
  if (a < 0) return finish(p, -a);
  int b = pump(&p->d[1]);
  if (b < 0) return finish(p, -b);
  if (a == 1 && b == 1) return finish(p, 0);
  watch(p);
}

static void *run(void *arg) {
  struct kev ev[256];
  for (;;) {
    int n = epoll_wait(ep, (struct epoll_event *)ev, 256, -1);
    for (int i = 0; i < n; i++) {
      uint32_t k = ev[i].id;
      if (k == CTL_ID) {
        uint64_t v; (void)!read(ctl, &v, 8);
        for (int id = 0; id < MAXPAIRS; id++) {
          if (!closereqs[id]) continue;
          closereqs[id] = 0;
          struct pair *p = pairs[id];
          if (p) finish(p, -1);
        }
        continue;
      }
      struct pair *p = k < MAXPAIRS ? pairs[k] : 0;
      if (!p) continue;
      service(p);
      // still here with that fd in error: finish; hung up (both ways shut, no error):
      // what it still holds is read as the other side drains (splice gives data or 0,
      // never EAGAIN), but level-triggered HUP would wake us forever: stop watching it
      if ((ev[i].events & (EPOLLERR | EPOLLHUP)) && pairs[k] == p) {
        int side = ev[i].pad & 1, err = 0; socklen_t l = sizeof err;
        getsockopt(p->fd[side], SOL_SOCKET, SO_ERROR, &err, &l);
        if (err != 0 || (ev[i].events & EPOLLERR)) finish(p, err ? err : EIO);
        else { epoll_ctl(ep, EPOLL_CTL_DEL, p->fd[side], 0); p->want[side] = GONE; }
      }
    }
  }
  return arg;
}

// 0 or -errno
int sr_start(void (*cb)(int, double, double, int)) {
  if (ep >= 0) return 0;
  done_cb = cb;
  if (getenv("SR_CHUNK")) CHUNK = atol(getenv("SR_CHUNK"));
  if (getenv("SR_COPY")) copy_mode = atoi(getenv("SR_COPY"));
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -errno;
  ctl = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (ctl < 0) return -errno;
  struct kev e = { EPOLLIN, CTL_ID, 0 };
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ctl, (struct epoll_event *)&e) < 0) return -errno;
  int r = pthread_create(&thr, 0, run, 0);
  if (r != 0) { close(ep); ep = -1; return -r; }
  pthread_detach(thr);
  return 0;
}

// pair id (>= 0) or -errno
int sr_add(int fa, int fb) {
  struct pair *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  int pa[2], pb[2];
  if (pipe2(pa, O_NONBLOCK | O_CLOEXEC) < 0) { free(p); return -errno; }
  if (pipe2(pb, O_NONBLOCK | O_CLOEXEC) < 0) { int e = errno; close(pa[0]); close(pa[1]); free(p); return -e; }
  if (CHUNK > 65536) { fcntl(pa[1], F_SETPIPE_SZ, CHUNK); fcntl(pb[1], F_SETPIPE_SZ, CHUNK); }
  p->fd[0] = fcntl(fa, F_DUPFD_CLOEXEC, 0);
  p->fd[1] = fcntl(fb, F_DUPFD_CLOEXEC, 0);
  p->d[0] = (struct dir){ .in = p->fd[0], .out = p->fd[1], .pr = pa[0], .pw = pa[1] };
  p->d[1] = (struct dir){ .in = p->fd[1], .out = p->fd[0], .pr = pb[0], .pw = pb[1] };
  if (copy_mode) { p->d[0].buf = malloc(CHUNK); p->d[1].buf = malloc(CHUNK); }
  pthread_mutex_lock(&mu);
  int id = -1;
  for (int i = 0; i < MAXPAIRS; i++) { int j = (next_id + i) % MAXPAIRS; if (!pairs[j]) { id = j; break; } }
  if (id >= 0) { pairs[id] = p; next_id = (id + 1) % MAXPAIRS; closereqs[id] = 0; }
  pthread_mutex_unlock(&mu);
  if (id < 0 || p->fd[0] < 0 || p->fd[1] < 0) {
    if (id >= 0) { pthread_mutex_lock(&mu); pairs[id] = 0; pthread_mutex_unlock(&mu); }
    close(pa[0]); close(pa[1]); close(pb[0]); close(pb[1]);
    if (p->fd[0] >= 0) close(p->fd[0]);
    if (p->fd[1] >= 0) close(p->fd[1]);
    free(p);
    return id < 0 ? -ENOSPC : -EBADF;
  }
  p->id = id;
  struct kev e0 = { EPOLLIN, (uint32_t)id, 0 }, e1 = { EPOLLIN, (uint32_t)id, 1 };
  p->want[0] = p->want[1] = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[0], (struct epoll_event *)&e0);
  epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[1], (struct epoll_event *)&e1);
  return id;
}

// ask the thread to end pair `id` now (done is called with err -1)
void sr_close(int id) {
  if (id < 0 || id >= MAXPAIRS) return;
  closereqs[id] = 1;
  uint64_t one = 1;
  (void)!write(ctl, &one, 8);
}
