/*
 * Ferry lab guest workload.
 *
 * Runs inside the lab VM and proves, from the outside, that a live migration
 * kept the guest alive and intact:
 *   - heartbeat lines with a sequence number and clocks (liveness, downtime);
 *   - a memory dirtier that rewrites pages at a set rate with a pattern that
 *     encodes (page, generation), and a checker that verifies every page
 *     (integrity: catches pages left stale by a migration);
 *   - a disk writer that appends sequence-numbered records with sync'd writes
 *     and verifies none went missing (block device consistency);
 *   - network setup so the guest answers ping.
 *
 * Settings come from the kernel command line (ferry.KEY=VALUE). Every output
 * line starts with "FERRY " and goes to the serial console and, when present,
 * to the virtio-serial port org.ferry.workload. Formats: guest/README.md.
 *
 * Build: gcc -static -O2 -Wall -Wextra -pthread -o workload workload.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE 4096u
#define WORDS_PER_PAGE (PAGE_SIZE / sizeof(uint64_t))
#define VPORT_NAME "org.ferry.workload"
#define MAX_CORRUPT_LINES 200

/* ------------------------------------------------------------------ config */

struct config {
    char name[64];
    long dirty_mib;      /* size of the dirtied and checked region */
    long dirty_rate;     /* pages (4 KiB) rewritten per second */
    long hb_ms;          /* heartbeat period */
    char ip[64];         /* CIDR for eth0, empty = leave the network alone */
    char gw[64];         /* optional default gateway */
    char disk[128];      /* raw block device for the record log, empty = off */
    long disk_rate;      /* records per second */
    long disk_check_s;   /* periodic full verification of the record log */
    long memcheck_s;     /* minimum seconds between memcheck lines */
    long perf_ms;        /* period of "perf" lines (CPU and memory loop rates), 0 = off */
};

static struct config cfg = {
    .name = "guest", .dirty_mib = 64, .dirty_rate = 1000, .hb_ms = 10,
    .disk_rate = 10, .disk_check_s = 30, .memcheck_s = 1,
};

static void set_str(char *dst, size_t n, const char *v)
{
    snprintf(dst, n, "%s", v);
}

/* Applies one "ferry.key=value" token; unknown keys are ignored. */
static void apply_setting(const char *key, const char *val)
{
    if (!strcmp(key, "name")) set_str(cfg.name, sizeof cfg.name, val);
    else if (!strcmp(key, "dirty_mib")) cfg.dirty_mib = atol(val);
    else if (!strcmp(key, "dirty_rate")) cfg.dirty_rate = atol(val);
    else if (!strcmp(key, "hb_ms")) cfg.hb_ms = atol(val);
    else if (!strcmp(key, "ip")) set_str(cfg.ip, sizeof cfg.ip, val);
    else if (!strcmp(key, "gw")) set_str(cfg.gw, sizeof cfg.gw, val);
    else if (!strcmp(key, "disk")) set_str(cfg.disk, sizeof cfg.disk, val);
    else if (!strcmp(key, "disk_rate")) cfg.disk_rate = atol(val);
    else if (!strcmp(key, "disk_check_s")) cfg.disk_check_s = atol(val);
    else if (!strcmp(key, "memcheck_s")) cfg.memcheck_s = atol(val);
    else if (!strcmp(key, "perf_ms")) cfg.perf_ms = atol(val);
}

/* Parses a kernel-command-line-like string: tokens split on whitespace. */
static void parse_cmdline(char *s)
{
    for (char *tok = strtok(s, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
        if (strncmp(tok, "ferry.", 6)) continue;
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = '\0';
        apply_setting(tok + 6, eq + 1);
    }
    if (cfg.hb_ms < 1) cfg.hb_ms = 1;
    if (cfg.dirty_mib < 0) cfg.dirty_mib = 0;
    if (cfg.dirty_rate < 0) cfg.dirty_rate = 0;
    if (cfg.disk_rate < 1) cfg.disk_rate = 1;
    if (cfg.memcheck_s < 1) cfg.memcheck_s = 1;
    if (cfg.perf_ms < 0) cfg.perf_ms = 0;
}

static int host_test; /* run on a host: stdout only, no /dev/ttyS0 */

static void load_config(int argc, char **argv)
{
    char buf[4096] = "";
    /* "--cmdline STRING" lets the workload run on a host for testing. */
    if (argc == 3 && !strcmp(argv[1], "--cmdline")) {
        set_str(buf, sizeof buf, argv[2]);
        host_test = 1;
    } else {
        FILE *f = fopen("/proc/cmdline", "r");
        if (f) {
            if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
            fclose(f);
        }
    }
    parse_cmdline(buf);
}

/* ------------------------------------------------------------------ output */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int console_fd = 1;
static int input_fd = 0; /* where commands come from: ttyS0 in the guest */
static atomic_int vport_fd = -1;
static atomic_ulong vport_dropped;

static int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

/*
 * Emits one "FERRY ..." line to the console and the virtio port. One lock
 * and one write() per line keep lines whole. The port is non-blocking: with
 * no reader on the host, virtio_console would block the writer, and a
 * stalled heartbeat must never be caused by the host not listening.
 */
static void emit(const char *fmt, ...)
{
    char line[512] = "FERRY ";
    const size_t room = sizeof line - 7; /* after the prefix, before '\n' */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + 6, room, fmt, ap);
    va_end(ap);
    size_t len = 6 + (n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1);
    line[len++] = '\n';

    pthread_mutex_lock(&out_lock);
    write_all(console_fd, line, len);
    int vp = atomic_load(&vport_fd);
    if (vp >= 0 && write(vp, line, len) != (ssize_t)len)
        atomic_fetch_add(&vport_dropped, 1);
    pthread_mutex_unlock(&out_lock);
}

/* Console: raw output (no \r added) and no echo, so commands typed on the
 * serial line do not come back as output. */
static void open_console(void)
{
    int fd = open("/dev/ttyS0", O_RDWR | O_NOCTTY);
    if (fd < 0) return; /* not in the guest: keep stdout */
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        t.c_oflag &= ~(tcflag_t)OPOST;
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        tcsetattr(fd, TCSANOW, &t);
    }
    console_fd = input_fd = fd;
}

/* Finds /dev/vportNpM whose sysfs name is org.ferry.workload (works with or
 * without the udev-style /dev/virtio-ports symlink). */
static int open_vport(void)
{
    int fd = open("/dev/virtio-ports/" VPORT_NAME, O_RDWR | O_NONBLOCK | O_NOCTTY);
    if (fd >= 0) return fd;
    glob_t g;
    if (glob("/sys/class/virtio-ports/*/name", 0, NULL, &g)) return -1;
    for (size_t i = 0; i < g.gl_pathc && fd < 0; i++) {
        char name[128] = "", dev[300];
        FILE *f = fopen(g.gl_pathv[i], "r");
        if (!f) continue;
        if (!fgets(name, sizeof name, f)) name[0] = '\0';
        fclose(f);
        name[strcspn(name, "\n")] = '\0';
        if (strcmp(name, VPORT_NAME)) continue;
        /* /sys/class/virtio-ports/vport1p1/name -> /dev/vport1p1 */
        const char *base = g.gl_pathv[i] + strlen("/sys/class/virtio-ports/");
        snprintf(dev, sizeof dev, "/dev/%.*s", (int)strcspn(base, "/"), base);
        fd = open(dev, O_RDWR | O_NONBLOCK | O_NOCTTY);
    }
    globfree(&g);
    return fd;
}

/* ------------------------------------------------------------- heartbeat */

static atomic_ullong hb_seq;

static void ts_add_ns(struct timespec *ts, int64_t ns)
{
    ts->tv_nsec += ns;
    while (ts->tv_nsec >= 1000000000) { ts->tv_nsec -= 1000000000; ts->tv_sec++; }
}

/* Heartbeat on an absolute schedule. If we fall behind by more than a period
 * (vCPU starved), we resynchronise instead of bursting to catch up, so every
 * line is one real beat and gaps in mono show the stall. */
static void *heartbeat_main(void *arg)
{
    (void)arg;
    const int64_t period = cfg.hb_ms * 1000000LL;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        unsigned long long seq = atomic_fetch_add(&hb_seq, 1);
        emit("hb seq=%llu mono=%" PRId64 " real=%" PRId64,
             seq, now_ns(CLOCK_MONOTONIC), now_ns(CLOCK_REALTIME));
        ts_add_ns(&next, period);
        int64_t next_ns = (int64_t)next.tv_sec * 1000000000 + next.tv_nsec;
        if (now_ns(CLOCK_MONOTONIC) > next_ns + period) {
            clock_gettime(CLOCK_MONOTONIC, &next);
            ts_add_ns(&next, period);
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
    }
    return NULL;
}

/* ---------------------------------------------------------------- memory */

/*
 * The dirtier rewrites the region's pages in a fixed order: write number s
 * (0, 1, 2, ...) goes to page order[s % n] with generation s / n + 1 (the
 * initial fill is generation 0). The expected generation of any page is
 * therefore a pure function of the write counter, so the checks need no
 * per-page bookkeeping in guest memory (which a bad migration could corrupt
 * too). The order strides by a number coprime with the page count, so
 * consecutive writes land far apart.
 */
struct page_set {
    uint64_t n, stride, stride_inv;
    atomic_ullong writes;               /* completed page writes (s) */
};

static volatile uint64_t *mem;
static uint64_t npages;
static struct page_set bulk;
static atomic_ullong corrupt_total;      /* distinct bad page versions seen */
static atomic_uchar *reported;           /* per page: already reported since last rewrite */
static atomic_ullong corrupt_lines;

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) { uint64_t t = a % b; a = b; b = t; }
    return a;
}

/* Modular inverse of a mod m (a coprime with m), by extended Euclid. */
static uint64_t mod_inverse(uint64_t a, uint64_t m)
{
    int64_t t = 0, nt = 1, r = (int64_t)m, nr = (int64_t)(a % m);
    while (nr) {
        int64_t q = r / nr, tmp;
        tmp = t - q * nt; t = nt; nt = tmp;
        tmp = r - q * nr; r = nr; nr = tmp;
    }
    return (uint64_t)(t < 0 ? t + (int64_t)m : t);
}

static void set_init(struct page_set *set, uint64_t n)
{
    set->n = n;
    set->stride = n / 2 + 1;
    while (n && gcd(set->stride, n) != 1) set->stride++;
    set->stride_inv = n ? mod_inverse(set->stride, n) : 0;
    atomic_store(&set->writes, 0);
}


static uint64_t page_at_step(const struct page_set *set, uint64_t k)
{
    return (k % set->n) * set->stride % set->n;
}

/* Generation page p of `set` holds after `writes` completed writes. */
static uint64_t expected_gen(const struct page_set *set, uint64_t p, uint64_t writes)
{
    uint64_t step = p * set->stride_inv % set->n;
    return writes / set->n + (step < writes % set->n ? 1 : 0);
}

/* Word i of page p at generation g. The salt makes every word of a page
 * distinct, so a zeroed, shifted or foreign page never looks right. */
static uint64_t salt(uint64_t i) { return (i + 1) * 0x9E3779B97F4A7C15ULL; }
static uint64_t pattern(uint64_t p, uint64_t g, uint64_t i)
{
    return ((p << 32) | (g & 0xffffffffULL)) ^ salt(i);
}

static volatile uint64_t *page_ptr(uint64_t p) { return mem + p * WORDS_PER_PAGE; }

static void fill_page(uint64_t p, uint64_t g)
{
    volatile uint64_t *w = page_ptr(p);
    for (uint64_t i = 0; i < WORDS_PER_PAGE; i++) w[i] = pattern(p, g, i);
}

/* Guest-physical frame of a virtual address (root only), to correlate a
 * corrupt page with a host-side RAM comparison. 0 if unknown. */
static uint64_t pfn_of(const volatile void *addr)
{
    static int fd = -2;
    if (fd == -2) fd = open("/proc/self/pagemap", O_RDONLY);
    uint64_t ent = 0;
    if (fd < 0) return 0;
    off_t off = (off_t)((uintptr_t)addr / PAGE_SIZE * 8);
    if (pread(fd, &ent, 8, off) != 8 || !(ent >> 63)) return 0;
    return ent & ((1ULL << 55) - 1);
}

static void report_corrupt(const char *who, uint64_t p, uint64_t i,
                           uint64_t want_gen, uint64_t found)
{
    if (atomic_exchange(&reported[p], 1)) return; /* one report per bad page version */
    atomic_fetch_add(&corrupt_total, 1);
    if (atomic_fetch_add(&corrupt_lines, 1) >= MAX_CORRUPT_LINES) return;
    uint64_t dec = found ^ salt(i);
    volatile uint64_t *a = page_ptr(p) + i;
    emit("CORRUPT addr=%p page=%" PRIu64 " word=%" PRIu64 " pfn=0x%" PRIx64
         " expected=0x%016" PRIx64 " found=0x%016" PRIx64
         " expected_gen=%" PRIu64 " found_gen=%" PRIu64 " found_page=%" PRIu64 " by=%s",
         (void *)a, p, i, pfn_of(a), pattern(p, want_gen, i), found,
         want_gen, dec & 0xffffffffULL, dec >> 32, who);
}

/*
 * Checks page p against generations [lo, hi] (a range because the dirtier
 * may rewrite the page while we read it). Returns the index of the first bad
 * word, or -1 if the page is good: a stale page is stale as a whole, so one
 * word is enough to report.
 */
static long bad_word(uint64_t p, uint64_t lo, uint64_t hi)
{
    volatile uint64_t *w = page_ptr(p);
    for (uint64_t i = 0; i < WORDS_PER_PAGE; i++) {
        uint64_t v = w[i];
        if (v == pattern(p, lo, i)) continue;
        uint64_t dec = v ^ salt(i);
        uint64_t g = dec & 0xffffffffULL;
        if ((dec >> 32) == p && g >= (lo & 0xffffffffULL) && g <= (hi & 0xffffffffULL))
            continue;
        return (long)i;
    }
    return -1;
}

/* Writes the set's next page. Before overwriting, it verifies the page still
 * holds the previous generation (exact: the dirtier is the only writer): a
 * page that a migration left stale is caught here even if the checker has
 * not reached it yet, instead of being silently repaired by this write. */
static void write_next(struct page_set *set)
{
    uint64_t s = atomic_load(&set->writes);
    uint64_t p = page_at_step(set, s);
    uint64_t g = s / set->n + 1;
    long i = bad_word(p, g - 1, g - 1);
    if (i >= 0) report_corrupt("dirtier", p, (uint64_t)i, g - 1, page_ptr(p)[i]);
    fill_page(p, g);
    atomic_store(&reported[p], 0);
    atomic_store_explicit(&set->writes, s + 1, memory_order_release);
}

/* Checker's check, racing the dirtier: if the page was rewritten while we
 * read it, read it again against the new range before blaming memory. */
static int checker_page_ok(uint64_t p)
{
    struct page_set *set = &bulk;
    for (int attempt = 0; attempt < 3; attempt++) {
        uint64_t s1 = atomic_load_explicit(&set->writes, memory_order_acquire);
        uint64_t lo = expected_gen(set, p, s1);
        long i = bad_word(p, lo, expected_gen(set, p, s1 + 1));
        if (i < 0) return 1;
        uint64_t v = page_ptr(p)[i];
        uint64_t s2 = atomic_load_explicit(&set->writes, memory_order_acquire);
        if (expected_gen(set, p, s2 + 1) == lo || attempt == 2) {
            report_corrupt("checker", p, (uint64_t)i, lo, v);
            return 0;
        }
    }
    return 0;
}

static int setup_memory(void)
{
    npages = (uint64_t)cfg.dirty_mib * 256;
    if (npages == 0) return 0;
    size_t len = npages * PAGE_SIZE;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED) {
        emit("error what=mmap mib=%ld errno=%d", cfg.dirty_mib, errno);
        npages = 0;
        return -1;
    }
    mlock(m, len); /* no swap in the guest, but be explicit: stay resident */
    mem = m;
    reported = calloc(npages, 1);
    set_init(&bulk, npages);
    for (uint64_t p = 0; p < npages; p++) fill_page(p, 0);
    return 0;
}

/* Rewrites pages at cfg.dirty_rate pages/s, in ticks of about 1 ms. */
static void *dirtier_main(void *arg)
{
    (void)arg;
    const int64_t t0 = now_ns(CLOCK_MONOTONIC);
    uint64_t paced = 0; /* bulk writes the schedule allowed so far */
    const uint64_t max_backlog = (uint64_t)cfg.dirty_rate / 10 + 1;
    for (;;) {
        uint64_t due = (uint64_t)((now_ns(CLOCK_MONOTONIC) - t0) / 1000 *
                                  cfg.dirty_rate / 1000000);
        if (due > paced + max_backlog) paced = due - max_backlog; /* no bursts after a stall */
        for (; paced < due; paced++) write_next(&bulk);
        usleep(1000);
    }
    return NULL;
}

/* Background sweep over every page, at low priority. */
static void *checker_main(void *arg)
{
    (void)arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    uint64_t sweeps = 0, pages = 0, bad = 0, last_writes = atomic_load(&bulk.writes);
    int64_t last = now_ns(CLOCK_MONOTONIC);
    for (;;) {
        for (uint64_t p = 0; p < npages; p++) {
            int ok = checker_page_ok(p);
            pages++;
            bad += !ok;
        }
        sweeps++;
        int64_t t = now_ns(CLOCK_MONOTONIC);
        if (t - last < cfg.memcheck_s * 1000000000LL) continue;
        uint64_t w = atomic_load(&bulk.writes);
        unsigned long long corrupt = atomic_load(&corrupt_total);
        /* "ok" means no corruption was ever seen since boot, by anyone. */
        emit("memcheck %s pages=%" PRIu64 " gen=%" PRIu64 " sweeps=%" PRIu64
             " writes=%" PRIu64 " rate=%" PRIu64 " bad_pages=%" PRIu64 " corrupt=%llu",
             corrupt ? "BAD" : "ok", pages, w / bulk.n, sweeps, w,
             (w - last_writes) * 1000000000ULL / (uint64_t)(t - last), bad, corrupt);
        pages = bad = 0;
        last = t;
        last_writes = w;
    }
    return NULL;
}

/* Test hook: rolls one page back a generation, as a lossy migration would. */
static void inject_stale_page(struct page_set *set)
{
    if (!set->n) return;
    uint64_t s = atomic_load(&set->writes);
    uint64_t p = page_at_step(set, s + set->n / 2); /* far from the dirtier */
    uint64_t g = expected_gen(set, p, s);
    uint64_t stale = g ? g - 1 : 1;
    fill_page(p, stale);
    atomic_store(&reported[p], 0);
    emit("inject page=%" PRIu64 " gen=%" PRIu64 " stale_gen=%" PRIu64, p, g, stale);
}

/* ------------------------------------------------------------------ disk */

/*
 * Record log on a raw block device: record seq (1, 2, ...) lives in slot
 * (seq - 1) % nslots, one 4 KiB block per record, written with O_DIRECT |
 * O_DSYNC so a record is on the disk (not in the guest page cache) when the
 * write returns. Reads use O_DIRECT too, so verification sees the disk.
 */
#define REC_SIZE 4096u
#define REC_MAGIC "FERRYREC"

struct record {
    char magic[8];
    uint64_t seq;
    int64_t mono, real;
    char name[64];
    uint64_t sum; /* FNV-1a over the fields above */
};

static int disk_fd = -1;
static uint64_t nslots;
static atomic_ullong disk_last;
static atomic_int disk_check_requested;

static uint64_t fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    while (n--) { h ^= *b++; h *= 0x100000001b3ULL; }
    return h;
}

/* Sequence number held by a block, or 0 if it holds no valid record. */
static uint64_t record_seq(const unsigned char *blk)
{
    struct record r;
    memcpy(&r, blk, sizeof r);
    if (memcmp(r.magic, REC_MAGIC, 8)) return 0;
    if (fnv1a(&r, offsetof(struct record, sum)) != r.sum) return 0;
    return r.seq;
}

/* The record slot s must hold given the newest sequence number `last`
 * (0 = slot never written). */
static uint64_t slot_expected(uint64_t s, uint64_t last)
{
    if (last == 0) return 0;
    uint64_t k = (last - 1) % nslots;
    uint64_t back = s <= k ? k - s : k + nslots - s;
    return last > back ? last - back : 0;
}

/* Reads slots [0, count) in 1 MiB chunks and calls fn(slot, seq, ctx). */
static int scan_slots(uint64_t count, void (*fn)(uint64_t, uint64_t, void *), void *ctx)
{
    const size_t chunk = 256 * REC_SIZE;
    unsigned char *buf;
    if (posix_memalign((void **)&buf, 4096, chunk)) return -1;
    for (uint64_t s = 0; s < count;) {
        uint64_t n = count - s < 256 ? count - s : 256;
        ssize_t r = pread(disk_fd, buf, n * REC_SIZE, (off_t)(s * REC_SIZE));
        if (r != (ssize_t)(n * REC_SIZE)) {
            emit("disk error op=read slot=%" PRIu64 " errno=%d", s, r < 0 ? errno : 0);
            free(buf);
            return -1;
        }
        for (uint64_t j = 0; j < n; j++, s++) fn(s, record_seq(buf + j * REC_SIZE), ctx);
    }
    free(buf);
    return 0;
}

static void max_seq_fn(uint64_t s, uint64_t seq, void *ctx)
{
    (void)s;
    uint64_t *m = ctx;
    if (seq > *m) *m = seq;
}

struct verify_state { uint64_t last, missing, first_slot, first_expected, first_found; };

static void verify_fn(uint64_t s, uint64_t seq, void *ctx)
{
    struct verify_state *v = ctx;
    uint64_t want = slot_expected(s, v->last);
    if (seq == want || (want == 0 && seq == 0)) return;
    if (want == 0) return; /* an old record beyond our range: harmless */
    if (v->missing++ == 0) { v->first_slot = s; v->first_expected = want; v->first_found = seq; }
}

/* Verifies that every record from max(1, last - nslots + 1) to last is on
 * the disk; prints "disk ok" or "disk GAP". */
static void disk_verify(uint64_t last)
{
    struct verify_state v = { .last = last };
    uint64_t count = last < nslots ? last : nslots;
    if (scan_slots(count, verify_fn, &v)) return;
    if (v.missing)
        emit("disk GAP last=%" PRIu64 " missing=%" PRIu64 " first_slot=%" PRIu64
             " expected=%" PRIu64 " found=%" PRIu64,
             last, v.missing, v.first_slot, v.first_expected, v.first_found);
    else
        emit("disk ok last=%" PRIu64 " checked=%" PRIu64, last, count);
}

static int disk_write(uint64_t seq, unsigned char *blk)
{
    struct record r = { .seq = seq, .mono = now_ns(CLOCK_MONOTONIC),
                        .real = now_ns(CLOCK_REALTIME) };
    memcpy(r.magic, REC_MAGIC, 8);
    set_str(r.name, sizeof r.name, cfg.name);
    r.sum = fnv1a(&r, offsetof(struct record, sum));
    memset(blk, 0, REC_SIZE);
    memcpy(blk, &r, sizeof r);
    off_t off = (off_t)(((seq - 1) % nslots) * REC_SIZE);
    return pwrite(disk_fd, blk, REC_SIZE, off) == (ssize_t)REC_SIZE ? 0 : -1;
}

/* Opens the device and finds where the log left off. Runs before "ready". */
static int setup_disk(void)
{
    if (!cfg.disk[0]) return 0;
    disk_fd = open(cfg.disk, O_RDWR | O_DIRECT | O_DSYNC);
    uint64_t bytes = 0;
    struct stat st;
    if (disk_fd >= 0 && fstat(disk_fd, &st) == 0 && S_ISREG(st.st_mode))
        bytes = (uint64_t)st.st_size; /* a plain file, when testing on a host */
    else if (disk_fd >= 0 && ioctl(disk_fd, BLKGETSIZE64, &bytes) < 0)
        bytes = 0;
    if (disk_fd < 0 || bytes < REC_SIZE) {
        emit("disk error op=open dev=%s errno=%d", cfg.disk, errno);
        disk_fd = -1;
        return -1;
    }
    nslots = bytes / REC_SIZE;
    uint64_t last = 0;
    if (nslots == 0 || scan_slots(nslots, max_seq_fn, &last)) { disk_fd = -1; return -1; }
    atomic_store(&disk_last, last);
    emit("disk last=%" PRIu64 " slots=%" PRIu64 " dev=%s", last, nslots, cfg.disk);
    disk_verify(last);
    return 0;
}

static void *disk_main(void *arg)
{
    (void)arg;
    unsigned char *blk;
    if (posix_memalign((void **)&blk, 4096, REC_SIZE)) return NULL;
    const int64_t period = 1000000000LL / cfg.disk_rate;
    int64_t next_check = now_ns(CLOCK_MONOTONIC) + cfg.disk_check_s * 1000000000LL;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        uint64_t seq = atomic_load(&disk_last) + 1;
        if (disk_write(seq, blk) == 0) atomic_store(&disk_last, seq);
        else emit("disk error op=write seq=%" PRIu64 " errno=%d", seq, errno);

        int64_t t = now_ns(CLOCK_MONOTONIC);
        if (atomic_exchange(&disk_check_requested, 0) ||
            (cfg.disk_check_s > 0 && t >= next_check)) {
            disk_verify(atomic_load(&disk_last));
            next_check = t + cfg.disk_check_s * 1000000000LL;
        }
        ts_add_ns(&next, period);
        if (now_ns(CLOCK_MONOTONIC) > (int64_t)next.tv_sec * 1000000000 + next.tv_nsec + period)
            clock_gettime(CLOCK_MONOTONIC, &next);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
    }
    return NULL;
}

/* --------------------------------------------------------------- network */

static void setup_network(void)
{
    char cmd[256];
    int rc = system("ip link set lo up");
    if (!cfg.ip[0]) return;
    snprintf(cmd, sizeof cmd, "ip link set eth0 up && ip addr add %s dev eth0", cfg.ip);
    rc = system(cmd);
    if (rc == 0 && cfg.gw[0]) {
        snprintf(cmd, sizeof cmd, "ip route add default via %s", cfg.gw);
        rc = system(cmd);
    }
    emit("net dev=eth0 ip=%s gw=%s %s", cfg.ip, cfg.gw[0] ? cfg.gw : "-",
         rc == 0 ? "ok" : "error");
}

/* -------------------------------------------------------------- commands */

static void print_status(void)
{
    emit("status name=%s hb_seq=%llu writes=%llu corrupt=%llu disk_last=%llu vport_dropped=%lu",
         cfg.name, (unsigned long long)atomic_load(&hb_seq),
         (unsigned long long)atomic_load(&bulk.writes),
         (unsigned long long)atomic_load(&corrupt_total),
         (unsigned long long)atomic_load(&disk_last),
         (unsigned long)atomic_load(&vport_dropped));
}

static void run_command(char *line)
{
    line[strcspn(line, "\r\n")] = '\0';
    if (!strcmp(line, "disk-check")) {
        if (disk_fd >= 0) atomic_store(&disk_check_requested, 1);
        else emit("disk off");
    } else if (!strcmp(line, "status")) {
        print_status();
    } else if (!strcmp(line, "inject-stale")) {
        inject_stale_page(&bulk);

    } else if (line[0]) {
        emit("error what=unknown-command cmd=%.60s", line);
    }
}

/* Splits input from one fd into lines and runs each as a command. */
struct line_buf { char data[256]; size_t len; };

static void feed_input(int fd, struct line_buf *lb)
{
    ssize_t n = read(fd, lb->data + lb->len, sizeof lb->data - 1 - lb->len);
    if (n <= 0) { if (n == 0 || errno != EAGAIN) usleep(100000); return; }
    lb->len += (size_t)n;
    lb->data[lb->len] = '\0';
    char *nl;
    while ((nl = memchr(lb->data, '\n', lb->len))) {
        *nl = '\0';
        run_command(lb->data);
        lb->len -= (size_t)(nl + 1 - lb->data);
        memmove(lb->data, nl + 1, lb->len);
    }
    if (lb->len == sizeof lb->data - 1) lb->len = 0; /* overlong line: drop */
}

/* Reads commands from the serial console and the virtio port; also picks up
 * the port if its driver appears after we started. */
static void *command_main(void *arg)
{
    (void)arg;
    struct line_buf con = {0}, vp = {0};
    for (;;) {
        if (atomic_load(&vport_fd) < 0) {
            int fd = open_vport();
            if (fd >= 0) { atomic_store(&vport_fd, fd); emit("vport open name=" VPORT_NAME); }
        }
        struct pollfd pf[2] = { { input_fd, POLLIN, 0 }, { atomic_load(&vport_fd), POLLIN, 0 } };
        if (poll(pf, 2, 1000) <= 0) continue;
        if (pf[0].revents & POLLIN) feed_input(input_fd, &con);
        if (pf[1].revents & POLLIN) feed_input(pf[1].fd, &vp);
        if (pf[1].revents & POLLHUP) usleep(100000); /* host side closed */
    }
    return NULL;
}

/* ------------------------------------------------------------ throughput */

/* Optional (ferry.perf_ms): every period, half the time in a CPU loop and
 * half copying a 1 MiB buffer, then one line with both rates measured in
 * the guest's monotonic clock. For benchmarks: what a guest gets done
 * before, during and after a migration. The buffer is small on purpose, so
 * the loop itself dirties only 256 pages and does not stop pre-copy from
 * converging. */
#define PERF_BUF (1u << 20)

static void *perf_main(void *arg)
{
    (void)arg;
    static unsigned char buf[2][PERF_BUF / 2];
    memset(buf, 1, sizeof buf);
    const int64_t half = cfg.perf_ms * 500000LL;
    volatile uint64_t sink = 0;
    for (;;) {
        uint64_t x = 88172645463325252ULL, iters = 0, bytes = 0;
        int64_t t0 = now_ns(CLOCK_MONOTONIC), t1;
        do {
            for (int k = 0; k < 1000; k++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
            iters += 1000;
            t1 = now_ns(CLOCK_MONOTONIC);
        } while (t1 - t0 < half);
        sink += x;
        int64_t t2;
        int dir = 0;
        do {
            memcpy(buf[dir], buf[!dir], PERF_BUF / 2);
            dir = !dir;
            bytes += PERF_BUF / 2;
            t2 = now_ns(CLOCK_MONOTONIC);
        } while (t2 - t1 < half);
        emit("perf cpu_iter=%" PRIu64 " mem_kib=%" PRIu64 " cpu_iter_s=%" PRIu64 " mem_mib_s=%" PRIu64 " mono=%" PRId64,
             iters, bytes / 1024, iters * 1000000ULL / (uint64_t)((t1 - t0) / 1000 + 1),
             bytes * 1000000ULL / (uint64_t)((t2 - t1) / 1000 + 1) / 1048576, t2);
    }
    return NULL;
}

/* ------------------------------------------------------------------ main */

static void start_thread(void *(*fn)(void *), int fifo_prio)
{
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    if (fifo_prio > 0) {
        /* The heartbeat must not wait behind the dirtier on a single vCPU. */
        struct sched_param sp = { .sched_priority = fifo_prio };
        pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
        pthread_attr_setschedpolicy(&a, SCHED_FIFO);
        pthread_attr_setschedparam(&a, &sp);
    }
    if (pthread_create(&t, &a, fn, NULL) && fifo_prio > 0)
        pthread_create(&t, NULL, fn, NULL); /* not root: run unprivileged */
    pthread_attr_destroy(&a);
}

int main(int argc, char **argv)
{
    load_config(argc, argv);
    if (!host_test) open_console();
    atomic_store(&vport_fd, open_vport());
    if (!host_test) setup_network();
    setup_memory();
    setup_disk();
    struct timespec up;
    clock_gettime(CLOCK_BOOTTIME, &up);
    emit("ready name=%s dirty_mib=%ld rate=%ld hb_ms=%ld disk=%s ip=%s vport=%s uptime_ms=%ld",
         cfg.name, cfg.dirty_mib, cfg.dirty_rate, cfg.hb_ms,
         disk_fd >= 0 ? cfg.disk : "-", cfg.ip[0] ? cfg.ip : "-",
         atomic_load(&vport_fd) >= 0 ? "yes" : "no",
         (long)(up.tv_sec * 1000 + up.tv_nsec / 1000000));

    start_thread(heartbeat_main, 10);
    if (npages) start_thread(checker_main, 0);
    if (npages && cfg.dirty_rate > 0) start_thread(dirtier_main, 0);
    if (disk_fd >= 0) start_thread(disk_main, 0);
    if (cfg.perf_ms > 0) start_thread(perf_main, 0);
    command_main(NULL);
    return 0;
}
