/*
 * Autostrada WebSocket load generator (bench/ws/loadgen.c).
 *
 * A lean, single-threaded epoll client used by bench/ws/run.mjs so that the
 * load generator is never the bottleneck (a Node `ws` client tops out around
 * 35k msgs/s on this kind of machine; this one does several times that).
 *
 * Build:  cc -O2 -o bench/build/loadgen bench/ws/loadgen.c            (no deflate)
 *         cc -O2 -DHAVE_ZLIB -o bench/build/loadgen bench/ws/loadgen.c -lz
 *
 * Modes (one JSON line of results on stdout, diagnostics on stderr):
 *   --mode echo        open --conns connections, keep --inflight messages in
 *                      flight on each, verify every echoed message (length,
 *                      opcode, bytes; deflate rows: inflate then compare),
 *                      warm up --warmup s, then measure --seconds s (or until
 *                      --messages echoed messages).
 *   --mode handshakes  --conns parallel sockets, each looping: connect, HTTP
 *                      upgrade (check 101 + Sec-WebSocket-Accept), close
 *                      handshake, wait for the server's FIN, repeat.
 *   --mode idle        open --conns connections, upgrade them, print
 *                      {"event":"ready",...}, hold them (answering pings)
 *                      until stdin closes, SIGTERM/SIGINT, or --seconds.
 *
 * Common options: --host 127.0.0.1 --port N --path / --pid <server pid>
 *   (--pid: read the server's utime+stime from /proc/<pid>/stat at the exact
 *   start and end of the timed window, and its VmRSS).
 * Echo options: --size N --opcode text|binary --payload random|json
 *   --deflate (offer "permessage-deflate; client_max_window_bits")
 *   --no-verify (skip byte comparison; length/opcode are always checked).
 *
 * The upgrade uses the fixed RFC 6455 sample key; frames are masked with a
 * fixed random-per-run mask key and pre-built once, so sending a message is
 * a writev() of a pointer into that buffer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

enum { MODE_ECHO, MODE_HANDSHAKES, MODE_IDLE };
enum { ST_FREE, ST_CONNECTING, ST_UPGRADING, ST_OPEN, ST_CLOSING, ST_WAIT_EOF };
enum { PH_SETUP, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE };

static struct {
  int mode;
  const char *host;
  int port;
  const char *path;
  int conns;
  int inflight;
  size_t size;
  int opcode; /* 1 text, 2 binary */
  int deflate;
  int json;
  int verify;
  double seconds;
  double warmup;
  long long messages;
  int pid;
  int max_pending;
} opt;

typedef struct conn {
  int fd;
  int idx;
  int state;
  int want_out;
  uint32_t ev_mask;
  double t_state;
  /* handshake */
  char *hbuf;
  int hlen;
  int req_off;
  /* outgoing data frames (all identical, pre-built) */
  const unsigned char *frame;
  size_t frame_len;
  long long frames_pending;
  size_t frame_off;
  /* outgoing control frame (pong / close) */
  unsigned char ctrl[136];
  int ctrl_len, ctrl_off;
  /* incoming frame parser */
  int rstate; /* 0 header, 1 payload */
  unsigned char hdr[14];
  int hdr_have;
  uint64_t pay_rem;
  int cur_op, cur_fin;
  int in_msg, msg_op, msg_z;
  uint64_t msg_len;
  unsigned char ctl[125];
  int ctl_len;
  int got_close;
  /* echo */
  int inflight;
  int pmd;
#ifdef HAVE_ZLIB
  z_stream *zin;
#endif
} conn;

static conn *conns;
static int *free_stack;
static int free_top;
static int ep;
static int phase = PH_SETUP;
static int sending = 1;
static volatile sig_atomic_t got_signal = 0;
static int stdin_closed = 0;
static int stdin_marker;

static long long attempts, opened, open_now, pending_now, failed, closed_by_peer;
static long long messages, handshakes, hs_cycles, close_timeouts, errors;
static long long pmd_negotiated, pmd_refused;
static long long bytes_in;
static char first_error[512];

static unsigned char *payload;
static unsigned char *frame_plain;
static size_t frame_plain_len;
#ifdef HAVE_ZLIB
static unsigned char *frame_z[16];
static size_t frame_z_len[16];
static unsigned char zscratch[65536];
#endif
static unsigned char mask_key[4];
static char request[1024];
static int request_len;
static unsigned char rbuf[256 * 1024];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double self_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime+stime (all threads) of opt.pid in seconds, -1 if unavailable */
static double server_cpu(void) {
  if (opt.pid <= 0) return -1;
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", opt.pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2; /* field 3 (state) */
  for (int field = 3; field < 14; field++) {
    p = strchr(p, ' ');
    if (!p) return -1;
    p++;
  }
  unsigned long long ut = 0, st = 0;
  if (sscanf(p, "%llu %llu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* run-queue wait of the main thread of pid (0 = self), in seconds: time it
   was runnable but another task held its CPU (/proc/<pid>/schedstat, second
   field, ns). A large share of the window means the core was contended (a
   noisy neighbour, or the process's own helper threads), so the figures are
   suspect. */
static double runq_wait_s(int pid) {
  char path[64], buf[128];
  if (pid == 0) pid = getpid();
  snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  unsigned long long run = 0, wait = 0;
  if (sscanf(buf, "%llu %llu", &run, &wait) != 2) return -1;
  return wait / 1e9;
}

/* per-CPU busy and total jiffies from /proc/stat; returns the CPU count */
#define MAX_CPUS 64
static int cpu_times(unsigned long long *busy, unsigned long long *total) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    int id;
    unsigned long long v[10] = {0};
    if (strncmp(line, "cpu", 3) || line[3] == ' ') continue;
    if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &id, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], &v[7]) < 9 || id < 0 || id >= MAX_CPUS)
      continue;
    unsigned long long t = 0;
    for (int i = 0; i < 8; i++) t += v[i];
    total[id] = t;
    busy[id] = t - v[3] - v[4]; /* minus idle and iowait */
    if (id + 1 > n) n = id + 1;
  }
  fclose(f);
  return n;
}

static long server_rss_kib(void) {
  if (opt.pid <= 0) return -1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", opt.pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long v = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) { v = strtol(line + 6, NULL, 10); break; }
  fclose(f);
  return v;
}

static void note_error(conn *c, const char *fmt, ...) {
  errors++;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", msg);
  if (errors <= 5) fprintf(stderr, "loadgen: conn %d: %s\n", c ? c->idx : -1, msg);
}

/* ---------------------------------------------------------------- payloads */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
  uint64_t x = rng_state;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  return rng_state = x;
}

static void make_payload(void) {
  payload = malloc(opt.size ? opt.size : 1);
  if (opt.json) {
    /* a JSON array of small records, padded with spaces to exactly size */
    static const char *names[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"};
    static const char *tags[] = {"\"new\"", "\"vip\"", "\"beta\"", "\"eu\"", "\"us\"", "\"mobile\""};
    size_t len = 0;
    char rec[256];
    if (opt.size >= 2) payload[len++] = '[';
    int i = 0;
    for (;;) {
      int r = snprintf(rec, sizeof rec,
                       "%s{\"id\":%d,\"user\":\"%s%u\",\"active\":%s,\"score\":%u.%02u,\"tags\":[%s,%s]}",
                       i ? "," : "", 1000 + i, names[rng() % 8], (unsigned)(rng() % 1000),
                       (rng() & 1) ? "true" : "false", (unsigned)(rng() % 100),
                       (unsigned)(rng() % 100), tags[rng() % 6], tags[rng() % 6]);
      if (opt.size < 2 || len + (size_t)r + 1 > opt.size) break;
      memcpy(payload + len, rec, r);
      len += r;
      i++;
    }
    while (len + 1 < opt.size) payload[len++] = ' ';
    if (opt.size >= 2) payload[len++] = ']';
    while (len < opt.size) payload[len++] = ' ';
  } else if (opt.opcode == 1) {
    for (size_t i = 0; i < opt.size; i++) payload[i] = 0x20 + (unsigned char)(rng() % 95);
  } else {
    for (size_t i = 0; i < opt.size; i++) payload[i] = (unsigned char)rng();
  }
}

static unsigned char *build_frame(const unsigned char *data, size_t len, int first_byte, size_t *out_len) {
  size_t hl = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4;
  unsigned char *f = malloc(hl + len);
  size_t o = 0;
  f[o++] = (unsigned char)first_byte;
  if (len < 126) f[o++] = 0x80 | (unsigned char)len;
  else if (len < 65536) { f[o++] = 0x80 | 126; f[o++] = len >> 8; f[o++] = len & 0xff; }
  else { f[o++] = 0x80 | 127; for (int i = 7; i >= 0; i--) f[o++] = (unsigned char)((uint64_t)len >> (8 * i)); }
  memcpy(f + o, mask_key, 4);
  o += 4;
  for (size_t i = 0; i < len; i++) f[o + i] = data[i] ^ mask_key[i & 3];
  *out_len = hl + len;
  return f;
}

#ifdef HAVE_ZLIB
/* the message compressed with a fresh context (valid whether or not the
   server uses context takeover for its inflater), trailer 00 00 ff ff removed */
static void build_z_frame(int bits) {
  if (frame_z[bits]) return;
  z_stream z;
  memset(&z, 0, sizeof z);
  int wb = bits < 9 ? 9 : bits;
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -wb, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    fprintf(stderr, "loadgen: deflateInit2 failed\n");
    exit(2);
  }
  size_t cap = deflateBound(&z, opt.size) + 64;
  unsigned char *out = malloc(cap);
  z.next_in = payload;
  z.avail_in = opt.size;
  z.next_out = out;
  z.avail_out = cap;
  int r = deflate(&z, Z_SYNC_FLUSH);
  if (r != Z_OK || z.avail_in) { fprintf(stderr, "loadgen: deflate failed\n"); exit(2); }
  size_t clen = cap - z.avail_out;
  deflateEnd(&z);
  if (clen < 4 || memcmp(out + clen - 4, "\0\0\xff\xff", 4)) { fprintf(stderr, "loadgen: no sync trailer\n"); exit(2); }
  clen -= 4;
  frame_z[bits] = build_frame(out, clen, 0x80 | 0x40 | opt.opcode, &frame_z_len[bits]);
  free(out);
}
#endif

/* -------------------------------------------------------------- epoll glue */

static void set_interest(conn *c) {
  uint32_t m = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
  if (m == c->ev_mask) return;
  struct epoll_event ev = {.events = m, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->ev_mask = m;
}

static void conn_close(conn *c) {
  if (c->state == ST_FREE) return;
  if (c->state == ST_CONNECTING || c->state == ST_UPGRADING) pending_now--;
  else open_now--;
  close(c->fd);
  c->fd = -1;
  c->state = ST_FREE;
  c->want_out = 0;
#ifdef HAVE_ZLIB
  if (c->zin) { inflateEnd(c->zin); free(c->zin); c->zin = NULL; }
#endif
  free_stack[free_top++] = c->idx;
}

static void conn_fail(conn *c) {
  failed++;
  conn_close(c);
}

static void conn_open(conn *c) {
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  int af = strchr(opt.host, ':') ? AF_INET6 : AF_INET;
  if (af == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(opt.port);
    inet_pton(AF_INET, opt.host, &a->sin_addr);
    sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(opt.port);
    inet_pton(AF_INET6, opt.host, &a->sin6_addr);
    sl = sizeof *a;
  }
  attempts++;
  int fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    note_error(c, "socket: %s", strerror(errno));
    failed++;
    free_stack[free_top++] = c->idx;
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->state = ST_CONNECTING;
  c->t_state = now_s();
  c->want_out = 1;
  c->hlen = 0;
  c->req_off = 0;
  c->frames_pending = 0;
  c->frame_off = 0;
  c->ctrl_len = c->ctrl_off = 0;
  c->rstate = 0;
  c->hdr_have = 0;
  c->in_msg = 0;
  c->got_close = 0;
  c->inflight = 0;
  c->pmd = 0;
  c->frame = frame_plain;
  c->frame_len = frame_plain_len;
  pending_now++;
  if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
    note_error(c, "connect: %s", strerror(errno));
    close(fd);
    c->state = ST_FREE;
    pending_now--;
    failed++;
    free_stack[free_top++] = c->idx;
    return;
  }
  /* on loopback the TCP handshake has usually completed inside connect():
     send the upgrade request at once and save a wake-up (EAGAIN: not yet) */
  ssize_t w = write(fd, request, request_len);
  if (w > 0) {
    c->state = ST_UPGRADING;
    c->req_off = (int)w;
    c->want_out = c->req_off < request_len;
  }
  c->ev_mask = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
  struct epoll_event ev = {.events = c->ev_mask, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void fill_connections(void) {
  while (free_top > 0 && pending_now < opt.max_pending) {
    if (opt.mode == MODE_HANDSHAKES) {
      if (phase >= PH_DRAIN) return;
    } else if (attempts >= opt.conns) {
      return;
    }
    conn_open(&conns[free_stack[--free_top]]);
  }
}

/* ------------------------------------------------------------------ output */

static void queue_ctrl(conn *c, int opcode, const unsigned char *data, int len) {
  if (c->ctrl_len > c->ctrl_off) return; /* one control frame at a time is enough here */
  if (len > 125) len = 125;
  int o = 0;
  c->ctrl[o++] = 0x80 | opcode;
  c->ctrl[o++] = 0x80 | len;
  memcpy(c->ctrl + o, mask_key, 4);
  o += 4;
  for (int i = 0; i < len; i++) c->ctrl[o + i] = data[i] ^ mask_key[i & 3];
  c->ctrl_len = o + len;
  c->ctrl_off = 0;
}

/* returns -1 if the connection was closed */
static int conn_flush(conn *c) {
  for (;;) {
    struct iovec iov[64];
    int n = 0, ctrl_in = 0;
    size_t total = 0;
    if (c->state == ST_UPGRADING && c->req_off < request_len) {
      iov[n].iov_base = request + c->req_off;
      iov[n].iov_len = request_len - c->req_off;
      total += iov[n++].iov_len;
    } else if (c->state >= ST_OPEN) {
      if (c->frame_off == 0 && c->ctrl_off < c->ctrl_len) {
        iov[n].iov_base = c->ctrl + c->ctrl_off;
        iov[n].iov_len = c->ctrl_len - c->ctrl_off;
        total += iov[n++].iov_len;
        ctrl_in = 1;
      }
      long long k = c->frames_pending;
      size_t off = c->frame_off;
      while (k > 0 && n < 64) {
        iov[n].iov_base = (void *)(c->frame + off);
        iov[n].iov_len = c->frame_len - off;
        total += iov[n++].iov_len;
        off = 0;
        k--;
      }
    }
    if (n == 0) { c->want_out = 0; break; }
    ssize_t w = writev(c->fd, iov, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) { c->want_out = 1; break; }
      if (phase < PH_DRAIN) note_error(c, "write: %s", strerror(errno));
      conn_fail(c);
      return -1;
    }
    size_t left = (size_t)w;
    if (c->state == ST_UPGRADING) {
      c->req_off += (int)left;
    } else {
      if (ctrl_in) {
        size_t t = c->ctrl_len - c->ctrl_off;
        if (left >= t) { left -= t; c->ctrl_off = c->ctrl_len = 0; }
        else { c->ctrl_off += (int)left; left = 0; }
      }
      while (left > 0) {
        size_t t = c->frame_len - c->frame_off;
        if (left >= t) { left -= t; c->frame_off = 0; c->frames_pending--; }
        else { c->frame_off += left; left = 0; }
      }
    }
    if ((size_t)w < total) { c->want_out = 1; break; }
  }
  if (c->state != ST_FREE) set_interest(c);
  return 0;
}

/* ------------------------------------------------------------------- input */

static void on_open(conn *c) {
  pending_now--;
  open_now++;
  opened++;
  c->state = ST_OPEN;
  c->t_state = now_s();
  if (opt.mode == MODE_ECHO) {
    if (sending) {
      c->frames_pending += opt.inflight;
      c->inflight += opt.inflight;
    }
  } else if (opt.mode == MODE_HANDSHAKES) {
    if (phase == PH_MEASURE) handshakes++;
    static const unsigned char code[2] = {0x03, 0xE8}; /* 1000 */
    queue_ctrl(c, 0x8, code, 2);
    c->state = ST_CLOSING;
  }
}

static int parse_response(conn *c, int hdr_end) {
  c->hbuf[hdr_end] = 0;
  if (strncmp(c->hbuf, "HTTP/1.1 101", 12) != 0) {
    char *eol = strstr(c->hbuf, "\r\n");
    if (eol) *eol = 0;
    note_error(c, "upgrade refused: %.200s", c->hbuf);
    return -1;
  }
  int accept_ok = 0;
  char *line = strstr(c->hbuf, "\r\n");
  while (line && line[2]) {
    line += 2;
    char *eol = strstr(line, "\r\n");
    if (!eol) break;
    *eol = 0;
    if (!strncasecmp(line, "sec-websocket-accept:", 21)) {
      char *v = line + 21;
      while (*v == ' ' || *v == '\t') v++;
      char *e = v + strlen(v);
      while (e > v && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
      accept_ok = !strcmp(v, WS_ACCEPT);
    } else if (!strncasecmp(line, "sec-websocket-extensions:", 25)) {
      char *v = line + 25;
      if (strcasestr(v, "permessage-deflate")) {
        if (!opt.deflate) { note_error(c, "server accepted an extension that was not offered: %s", v); *eol = '\r'; return -1; }
        c->pmd = 1;
        int bits = 15;
        char *b = strcasestr(v, "client_max_window_bits=");
        if (b) bits = atoi(b + 23);
        if (bits < 8 || bits > 15) bits = 15;
#ifdef HAVE_ZLIB
        build_z_frame(bits);
        c->frame = frame_z[bits];
        c->frame_len = frame_z_len[bits];
        c->zin = calloc(1, sizeof(z_stream));
        if (inflateInit2(c->zin, -15) != Z_OK) { note_error(c, "inflateInit2 failed"); return -1; }
#endif
      }
    }
    *eol = '\r';
    line = eol;
  }
  if (!accept_ok) {
    note_error(c, "missing or wrong Sec-WebSocket-Accept");
    return -1;
  }
  if (opt.deflate) {
    if (c->pmd) pmd_negotiated++;
    else pmd_refused++;
  }
  return 0;
}

static int msg_chunk_verify(conn *c, const unsigned char *p, size_t n) {
  if (c->msg_len + n > opt.size) {
    note_error(c, "echoed message longer than %zu bytes", opt.size);
    return -1;
  }
  if (opt.verify && memcmp(payload + c->msg_len, p, n)) {
    note_error(c, "echoed payload differs at offset ~%llu", (unsigned long long)c->msg_len);
    return -1;
  }
  c->msg_len += n;
  return 0;
}

#ifdef HAVE_ZLIB
static int inflate_feed(conn *c, const unsigned char *p, size_t n) {
  z_stream *z = c->zin;
  z->next_in = (unsigned char *)p;
  z->avail_in = n;
  do {
    z->next_out = zscratch;
    z->avail_out = sizeof zscratch;
    int r = inflate(z, Z_SYNC_FLUSH);
    if (r != Z_OK && r != Z_BUF_ERROR) {
      note_error(c, "inflate error %d (%s)", r, z->msg ? z->msg : "");
      return -1;
    }
    size_t got = sizeof zscratch - z->avail_out;
    if (got && msg_chunk_verify(c, zscratch, got) < 0) return -1;
    if (r == Z_BUF_ERROR && got == 0) break;
  } while (z->avail_in > 0 || z->avail_out == 0);
  return 0;
}
#endif

static int data_chunk(conn *c, const unsigned char *p, size_t n) {
  if (!c->msg_z) return msg_chunk_verify(c, p, n);
#ifdef HAVE_ZLIB
  return inflate_feed(c, p, n);
#else
  note_error(c, "compressed frame but built without zlib");
  return -1;
#endif
}

static int msg_done(conn *c) {
#ifdef HAVE_ZLIB
  if (c->msg_z) {
    static const unsigned char trailer[4] = {0, 0, 0xff, 0xff};
    if (inflate_feed(c, trailer, 4) < 0) return -1;
  }
#endif
  c->in_msg = 0;
  if (opt.mode != MODE_ECHO) {
    note_error(c, "unexpected data message");
    return -1;
  }
  if (c->msg_op != opt.opcode) {
    note_error(c, "echoed opcode %d, sent %d", c->msg_op, opt.opcode);
    return -1;
  }
  if (c->msg_len != opt.size) {
    note_error(c, "echoed %llu bytes, sent %zu", (unsigned long long)c->msg_len, opt.size);
    return -1;
  }
  messages++;
  c->inflight--;
  if (sending) {
    c->frames_pending++;
    c->inflight++;
  }
  return 0;
}

static int frame_done(conn *c) {
  if (c->cur_op >= 8) {
    if (c->cur_op == 0x9) {
      queue_ctrl(c, 0xA, c->ctl, c->ctl_len);
    } else if (c->cur_op == 0x8) {
      c->got_close = 1;
      if (opt.mode == MODE_HANDSHAKES && c->state == ST_CLOSING) {
        c->state = ST_WAIT_EOF;
        c->t_state = now_s();
      } else {
        if (phase < PH_DRAIN) note_error(c, "server sent close (len %d)", c->ctl_len);
        return -1;
      }
    }
    return 0;
  }
  if (c->cur_fin) return msg_done(c);
  return 0;
}

static int parse_frames(conn *c, const unsigned char *p, size_t n) {
  while (n > 0) {
    if (c->rstate == 0) {
      if (c->hdr_have < 2) {
        size_t t = 2 - c->hdr_have;
        if (t > n) t = n;
        memcpy(c->hdr + c->hdr_have, p, t);
        c->hdr_have += (int)t;
        p += t;
        n -= t;
        if (c->hdr_have < 2) break;
      }
      int len7 = c->hdr[1] & 0x7f;
      int masked = c->hdr[1] >> 7;
      int total = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
      if (c->hdr_have < total) {
        size_t t = total - c->hdr_have;
        if (t > n) t = n;
        memcpy(c->hdr + c->hdr_have, p, t);
        c->hdr_have += (int)t;
        p += t;
        n -= t;
        if (c->hdr_have < total) break;
      }
      c->hdr_have = 0;
      int b0 = c->hdr[0];
      int fin = b0 >> 7, rsv1 = (b0 >> 6) & 1, op = b0 & 0xf;
      uint64_t len = len7;
      if (len7 == 126) len = ((uint64_t)c->hdr[2] << 8) | c->hdr[3];
      else if (len7 == 127) { len = 0; for (int i = 0; i < 8; i++) len = (len << 8) | c->hdr[2 + i]; }
      if (masked) { note_error(c, "server frame is masked"); return -1; }
      if (b0 & 0x30) { note_error(c, "RSV2/RSV3 set"); return -1; }
      if (op >= 8) {
        if (!fin || len > 125 || rsv1 || (op != 8 && op != 9 && op != 10)) { note_error(c, "bad control frame op=%d len=%llu", op, (unsigned long long)len); return -1; }
        c->ctl_len = 0;
      } else if (op == 0) {
        if (!c->in_msg || rsv1) { note_error(c, "bad continuation frame"); return -1; }
      } else if (op == 1 || op == 2) {
        if (c->in_msg) { note_error(c, "new message inside a fragmented one"); return -1; }
        if (rsv1 && !c->pmd) { note_error(c, "RSV1 without permessage-deflate"); return -1; }
        c->in_msg = 1;
        c->msg_op = op;
        c->msg_z = rsv1;
        c->msg_len = 0;
      } else {
        note_error(c, "reserved opcode %d", op);
        return -1;
      }
      c->cur_op = op;
      c->cur_fin = fin;
      c->pay_rem = len;
      if (len == 0) {
        if (frame_done(c) < 0) return -1;
      } else {
        c->rstate = 1;
      }
    } else {
      size_t t = c->pay_rem < n ? (size_t)c->pay_rem : n;
      if (c->cur_op >= 8) {
        memcpy(c->ctl + c->ctl_len, p, t);
        c->ctl_len += (int)t;
      } else if (data_chunk(c, p, t) < 0) {
        return -1;
      }
      p += t;
      n -= t;
      c->pay_rem -= t;
      if (c->pay_rem == 0) {
        c->rstate = 0;
        if (frame_done(c) < 0) return -1;
      }
    }
  }
  return 0;
}

static int process_input(conn *c, const unsigned char *p, size_t n) {
  if (c->state == ST_UPGRADING) {
    size_t room = 8191 - c->hlen;
    size_t t = n < room ? n : room;
    memcpy(c->hbuf + c->hlen, p, t);
    int old = c->hlen;
    c->hlen += (int)t;
    c->hbuf[c->hlen] = 0;
    int from = old > 3 ? old - 3 : 0;
    char *e = memmem(c->hbuf + from, c->hlen - from, "\r\n\r\n", 4);
    if (!e) {
      if (c->hlen >= 8191) { note_error(c, "response headers too long"); return -1; }
      return 0;
    }
    int hdr_end = (int)(e - c->hbuf) + 4;
    size_t consumed = (size_t)(hdr_end - old);
    if (parse_response(c, hdr_end) < 0) return -1;
    on_open(c);
    p += consumed;
    n -= consumed;
  }
  if (n && c->state >= ST_OPEN) return parse_frames(c, p, n);
  return 0;
}

static void on_eof(conn *c) {
  if (opt.mode == MODE_HANDSHAKES && (c->state == ST_WAIT_EOF || c->state == ST_CLOSING)) {
    if (c->state == ST_WAIT_EOF && phase == PH_MEASURE) hs_cycles++;
    if (c->state == ST_CLOSING && phase < PH_DRAIN) note_error(c, "server closed TCP without a close frame");
    conn_close(c);
    return;
  }
  if (phase < PH_DRAIN) {
    closed_by_peer++;
    note_error(c, "server closed the connection (state %d)", c->state);
  }
  conn_fail(c);
}

static void conn_readable(conn *c) {
  for (;;) {
    ssize_t r = read(c->fd, rbuf, sizeof rbuf);
    if (r > 0) {
      bytes_in += r;
      if (process_input(c, rbuf, (size_t)r) < 0) { conn_fail(c); return; }
      if (c->state == ST_FREE) return;
      /* a short read normally means the socket is drained; but after the
         server's close frame its FIN usually follows at once, so look again */
      if ((size_t)r < sizeof rbuf && c->state != ST_WAIT_EOF) break;
    } else if (r == 0) {
      on_eof(c);
      return;
    } else {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      if (phase < PH_DRAIN && !(opt.mode == MODE_HANDSHAKES && c->state >= ST_CLOSING))
        note_error(c, "read: %s", strerror(errno));
      conn_fail(c);
      return;
    }
  }
  if (c->frames_pending > 0 || c->ctrl_len > c->ctrl_off) conn_flush(c);
}

static void conn_event(conn *c, uint32_t ev) {
  if (c->state == ST_CONNECTING) {
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
      if (phase < PH_DRAIN) note_error(c, "connect: %s", strerror(err));
      conn_fail(c);
      return;
    }
    c->state = ST_UPGRADING;
    c->t_state = now_s();
    if (conn_flush(c) < 0) return;
    ev &= ~EPOLLOUT;
  }
  if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    conn_readable(c);
    if (c->state == ST_FREE) return;
  }
  if (ev & EPOLLOUT) conn_flush(c);
}

/* -------------------------------------------------------------------- main */

static void on_signal(int s) { (void)s; got_signal = 1; }

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --mode echo|handshakes|idle --port N [--host 127.0.0.1] [--path /]\n"
          "  [--conns N] [--inflight K] [--size BYTES] [--opcode text|binary] [--payload random|json]\n"
          "  [--deflate] [--no-verify] [--seconds S] [--warmup S] [--messages N] [--pid SERVER_PID]\n"
          "  [--max-pending N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  opt.mode = MODE_ECHO;
  opt.host = "127.0.0.1";
  opt.path = "/";
  opt.conns = 100;
  opt.inflight = 8;
  opt.size = 16;
  opt.opcode = 1;
  opt.verify = 1;
  opt.seconds = 3;
  opt.warmup = 1;
  opt.max_pending = 256;
  int seconds_given = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) usage(); i++; } while (0)
    if (!strcmp(a, "--mode")) { NEEDV(); opt.mode = !strcmp(v, "echo") ? MODE_ECHO : !strcmp(v, "handshakes") ? MODE_HANDSHAKES : !strcmp(v, "idle") ? MODE_IDLE : -1; if (opt.mode < 0) usage(); }
    else if (!strcmp(a, "--host")) { NEEDV(); opt.host = v; }
    else if (!strcmp(a, "--port")) { NEEDV(); opt.port = atoi(v); }
    else if (!strcmp(a, "--path")) { NEEDV(); opt.path = v; }
    else if (!strcmp(a, "--conns")) { NEEDV(); opt.conns = atoi(v); }
    else if (!strcmp(a, "--inflight")) { NEEDV(); opt.inflight = atoi(v); }
    else if (!strcmp(a, "--size")) { NEEDV(); opt.size = strtoull(v, NULL, 10); }
    else if (!strcmp(a, "--opcode")) { NEEDV(); opt.opcode = !strcmp(v, "binary") ? 2 : 1; }
    else if (!strcmp(a, "--payload")) { NEEDV(); opt.json = !strcmp(v, "json"); }
    else if (!strcmp(a, "--deflate")) { opt.deflate = 1; }
    else if (!strcmp(a, "--no-verify")) { opt.verify = 0; }
    else if (!strcmp(a, "--seconds")) { NEEDV(); opt.seconds = atof(v); seconds_given = 1; }
    else if (!strcmp(a, "--warmup")) { NEEDV(); opt.warmup = atof(v); }
    else if (!strcmp(a, "--messages")) { NEEDV(); opt.messages = atoll(v); }
    else if (!strcmp(a, "--pid")) { NEEDV(); opt.pid = atoi(v); }
    else if (!strcmp(a, "--max-pending")) { NEEDV(); opt.max_pending = atoi(v); }
    else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fprintf(stderr, "see the comment at the top of bench/ws/loadgen.c\n"); usage(); }
    else usage();
  }
  if (opt.port <= 0 || opt.conns <= 0 || opt.inflight <= 0) usage();
  if (opt.mode == MODE_IDLE && !seconds_given) opt.seconds = 300; /* safety bound */
#ifndef HAVE_ZLIB
  if (opt.deflate) {
    printf("{\"error\":\"built without zlib: install zlib1g-dev (zlib.h) and rebuild\"}\n");
    return 3;
  }
#endif
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  uint64_t seed = (uint64_t)now_s() * 1000003u ^ (uint64_t)getpid();
  uint64_t mk = seed * 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 4; i++) mask_key[i] = (unsigned char)(mk >> (8 * i)) | 1;
  if (opt.mode == MODE_ECHO) {
    make_payload();
    frame_plain = build_frame(payload, opt.size, 0x80 | opt.opcode, &frame_plain_len);
  }
  request_len = snprintf(request, sizeof request,
                         "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                         opt.path, opt.host, opt.port,
                         opt.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");

  conns = calloc(opt.conns, sizeof(conn));
  free_stack = malloc(sizeof(int) * opt.conns);
  char *hbufs = malloc((size_t)opt.conns * 8192);
  for (int i = 0; i < opt.conns; i++) {
    conns[i].idx = i;
    conns[i].fd = -1;
    conns[i].hbuf = hbufs + (size_t)i * 8192;
  }
  for (int i = opt.conns - 1; i >= 0; i--) free_stack[free_top++] = i;

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (opt.mode == MODE_IDLE) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &stdin_marker};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0) stdin_closed = -1; /* not pollable: rely on signals */
  }

  double t_begin = now_s(), t_phase = t_begin, t_sweep = t_begin;
  double t0 = 0, t1 = 0, cpu_s0 = -1, cpu_s1 = -1, self0 = 0, self1 = 0;
  double swait0 = -1, swait1 = -1, lwait0 = 0, lwait1 = 0;
  unsigned long long cb0[MAX_CPUS] = {0}, ct0[MAX_CPUS] = {0}, cb1[MAX_CPUS] = {0}, ct1[MAX_CPUS] = {0};
  int ncpu = 0;
  long long msgs0 = 0, msgs1 = 0, hs0 = 0, bytes0 = 0, bytes1 = 0;
  long rss_ready = -1;
  int ready_printed = 0;
  if (opt.mode == MODE_HANDSHAKES) phase = PH_WARMUP;
  struct epoll_event evs[512];
  fill_connections();

  while (phase != PH_DONE) {
    int nev = epoll_wait(ep, evs, 512, 2);
    for (int i = 0; i < nev; i++) {
      if (evs[i].data.ptr == &stdin_marker) {
        char b[256];
        ssize_t r = read(0, b, sizeof b);
        if (r <= 0) { stdin_closed = 1; epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL); }
        continue;
      }
      conn *c = evs[i].data.ptr;
      if (c->state != ST_FREE) conn_event(c, evs[i].events);
    }
    fill_connections();
    double t = now_s();

    if (t - t_sweep > 0.1) {
      t_sweep = t;
      for (int i = 0; i < opt.conns; i++) {
        conn *c = &conns[i];
        if ((c->state == ST_CONNECTING || c->state == ST_UPGRADING) && t - c->t_state > 10) {
          note_error(c, "%s timed out", c->state == ST_CONNECTING ? "connect" : "upgrade");
          conn_fail(c);
        } else if ((c->state == ST_CLOSING || c->state == ST_WAIT_EOF) && t - c->t_state > 2) {
          close_timeouts++;
          conn_close(c);
        }
      }
    }

    if (got_signal && phase < PH_DRAIN) {
      if (opt.mode == MODE_IDLE) phase = PH_DONE;
      else { note_error(NULL, "interrupted"); phase = PH_DRAIN; t_phase = t; sending = 0; if (!t1) { t1 = t; msgs1 = messages; bytes1 = bytes_in; cpu_s1 = server_cpu(); self1 = self_cpu(); } }
    }

    switch (phase) {
      case PH_SETUP:
        if (attempts >= opt.conns && pending_now == 0) {
          if (opt.mode == MODE_IDLE) {
            rss_ready = server_rss_kib();
            printf("{\"event\":\"ready\",\"open\":%lld,\"failed\":%lld,\"setup_s\":%.3f,\"server_rss_kib\":%ld}\n",
                   open_now, failed, t - t_begin, rss_ready);
            fflush(stdout);
            ready_printed = 1;
            phase = PH_MEASURE;
            t0 = t;
          } else if (open_now == 0) {
            note_error(NULL, "no connection could be opened");
            phase = PH_DONE;
          } else {
            phase = PH_WARMUP;
            t_phase = t;
          }
        } else if (t - t_begin > 60) {
          note_error(NULL, "setup took more than 60 s");
          phase = PH_DONE;
        }
        break;
      case PH_WARMUP:
        if (t - t_phase >= opt.warmup) {
          phase = PH_MEASURE;
          t0 = t_phase = t;
          msgs0 = messages;
          hs0 = handshakes;
          bytes0 = bytes_in;
          cpu_s0 = server_cpu();
          self0 = self_cpu();
          swait0 = opt.pid > 0 ? runq_wait_s(opt.pid) : -1;
          lwait0 = runq_wait_s(0);
          ncpu = cpu_times(cb0, ct0);
          handshakes = 0;
          hs_cycles = 0;
        }
        break;
      case PH_MEASURE:
        if (opt.mode == MODE_IDLE) {
          if (stdin_closed == 1 || t - t0 >= opt.seconds) phase = PH_DONE;
          break;
        }
        if (t - t_phase >= opt.seconds || (opt.messages > 0 && messages - msgs0 >= opt.messages)) {
          t1 = t;
          msgs1 = messages;
          bytes1 = bytes_in;
          cpu_s1 = server_cpu();
          self1 = self_cpu();
          swait1 = opt.pid > 0 ? runq_wait_s(opt.pid) : -1;
          lwait1 = runq_wait_s(0);
          cpu_times(cb1, ct1);
          phase = PH_DRAIN;
          t_phase = t;
          sending = 0;
        }
        break;
      case PH_DRAIN: {
        int busy = 0;
        for (int i = 0; i < opt.conns && !busy; i++)
          if (conns[i].state != ST_FREE && (opt.mode == MODE_HANDSHAKES || conns[i].inflight > 0)) busy = 1;
        if (!busy || t - t_phase > 2) phase = PH_DONE;
        break;
      }
    }
  }

  long long lost = 0;
  for (int i = 0; i < opt.conns; i++)
    if (conns[i].state == ST_OPEN) lost += conns[i].inflight;
  double win = t1 - t0;
  double scpu = (cpu_s0 >= 0 && cpu_s1 >= 0) ? cpu_s1 - cpu_s0 : -1;
  double swait_pct = (win > 0 && swait0 >= 0 && swait1 >= 0) ? 100 * (swait1 - swait0) / win : -1;
  double lwait_pct = win > 0 ? 100 * (lwait1 - lwait0) / win : -1;
  char busy[MAX_CPUS * 8 + 8];
  int bo = 0;
  busy[bo++] = '[';
  for (int i = 0; i < ncpu; i++) {
    unsigned long long dt = ct1[i] - ct0[i];
    bo += snprintf(busy + bo, sizeof busy - bo, "%s%.1f", i ? "," : "", dt ? 100.0 * (cb1[i] - cb0[i]) / dt : 0.0);
  }
  busy[bo++] = ']';
  busy[bo] = 0;
  if (opt.mode == MODE_ECHO) {
    long long m = msgs1 - msgs0;
    printf("{\"mode\":\"echo\",\"conns\":%d,\"open\":%lld,\"inflight\":%d,\"size\":%zu,\"opcode\":\"%s\",\"payload\":\"%s\","
           "\"deflate\":%s,\"deflate_negotiated\":%lld,\"deflate_refused\":%lld,\"verify\":%s,"
           "\"seconds\":%.4f,\"messages\":%lld,\"msgs_per_s\":%.1f,\"mib_in_per_s\":%.2f,"
           "\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f,\"loadgen_cpu_s\":%.3f,\"loadgen_cpu_pct\":%.1f,"
           "\"server_runq_wait_pct\":%.1f,\"loadgen_runq_wait_pct\":%.1f,\"cpu_busy_pct\":%s,"
           "\"server_rss_kib\":%ld,\"errors\":%lld,\"closed_by_peer\":%lld,\"unanswered_at_end\":%lld,\"first_error\":\"",
           opt.conns, opened, opt.inflight, opt.size, opt.opcode == 1 ? "text" : "binary", opt.json ? "json" : "random",
           opt.deflate ? "true" : "false", pmd_negotiated, pmd_refused, opt.verify ? "true" : "false",
           win, m, win > 0 ? m / win : 0, win > 0 ? (bytes1 - bytes0) / win / 1048576.0 : 0,
           scpu, win > 0 && scpu >= 0 ? 100 * scpu / win : -1, self1 - self0, win > 0 ? 100 * (self1 - self0) / win : -1,
           swait_pct, lwait_pct, busy, server_rss_kib(), errors, closed_by_peer, lost);
  } else if (opt.mode == MODE_HANDSHAKES) {
    (void)hs0;
    printf("{\"mode\":\"handshakes\",\"conns\":%d,\"seconds\":%.4f,\"handshakes\":%lld,\"handshakes_per_s\":%.1f,"
           "\"close_cycles\":%lld,\"close_timeouts\":%lld,\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f,"
           "\"loadgen_cpu_s\":%.3f,\"loadgen_cpu_pct\":%.1f,\"server_runq_wait_pct\":%.1f,\"loadgen_runq_wait_pct\":%.1f,"
           "\"cpu_busy_pct\":%s,\"server_rss_kib\":%ld,\"errors\":%lld,\"first_error\":\"",
           opt.conns, win, handshakes, win > 0 ? handshakes / win : 0, hs_cycles, close_timeouts,
           scpu, win > 0 && scpu >= 0 ? 100 * scpu / win : -1, self1 - self0, win > 0 ? 100 * (self1 - self0) / win : -1,
           swait_pct, lwait_pct, busy, server_rss_kib(), errors);
  } else {
    printf("{\"mode\":\"idle\",\"conns\":%d,\"open\":%lld,\"still_open\":%lld,\"failed\":%lld,\"ready\":%s,"
           "\"held_s\":%.3f,\"server_rss_kib_at_ready\":%ld,\"errors\":%lld,\"first_error\":\"",
           opt.conns, opened, open_now, failed, ready_printed ? "true" : "false", ready_printed ? now_s() - t0 : 0,
           rss_ready, errors);
  }
  for (const char *s = first_error; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    if ((unsigned char)*s < 0x20) continue;
    putchar(*s);
  }
  printf("\"}\n");
  fflush(stdout);
  return 0;
}
