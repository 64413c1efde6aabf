/* malloc_census: where a running program's heap goes, by allocation size.
 *
 * A measurement tool for docs/memory.md ("Where an idle connection's memory
 * goes"), not part of iotls. Preloaded into a program, it counts the live
 * allocations of every usable size (glibc's malloc_usable_size, so the
 * figure is what each chunk really holds) and, whenever the file named by
 * MALLOC_CENSUS_TRIGGER appears, writes the census and glibc's own totals
 * (mallinfo2: arena bytes, bytes in use, free bytes held) to
 * MALLOC_CENSUS_OUT (appending) and removes the trigger. Two censuses, one
 * with N idle connections open and one before, give what each connection
 * holds: the sizes whose live count grew by N (or a multiple of it).
 *
 *   cc -O2 -shared -fPIC -o malloc_census.so tools/malloc_census.c  -ldl -lpthread
 *   MALLOC_CENSUS_TRIGGER=/tmp/c.trig MALLOC_CENSUS_OUT=/tmp/c.txt \
 *       LD_PRELOAD=$PWD/malloc_census.so iotls server ...
 *   touch /tmp/c.trig   # census written within 0.2 s
 *
 * A census thread polls for the trigger, so nothing runs in a signal
 * handler. glibc only (its __libc_* entry points). The live counts and
 * bytes are kept exactly; the boot buffer serves only dlsym. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* glibc's own entry points, found once through dlsym. The census defines
 * __libc_malloc and friends too, and counts there: a program with its own
 * malloc wrappers that forward to glibc's __libc_* functions (`iotls`'s
 * apps/memtrack.c) is then counted as well, and the plain malloc below
 * forwards to the same counted functions, so nothing is counted twice. */
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_memalign)(size_t, size_t);
static void (*real_free)(void *);
static int resolving;
/* What dlsym itself allocates while the real functions are looked up. */
static _Alignas(16) unsigned char boot[4096];
static size_t boot_used;

static void resolve(void)
{
    if (real_free != NULL)
        return;
    resolving = 1;
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "__libc_malloc");
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "__libc_calloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "__libc_realloc");
    real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "__libc_memalign");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "__libc_free");
    resolving = 0;
}

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot)
        return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p;
}

static int is_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot;
}

/* Usable sizes are multiples of 8 up to BUCKETS * 8; larger ones share the
 * last bucket. */
#define BUCKETS 16384
static atomic_long live_count[BUCKETS + 1];
static atomic_long live_bytes[BUCKETS + 1];

static size_t bucket_of(size_t usable)
{
    size_t b = usable / 8;
    return b < BUCKETS ? b : BUCKETS;
}

static void *counted(void *p)
{
    if (p != NULL) {
        size_t u = malloc_usable_size(p);
        atomic_fetch_add_explicit(&live_count[bucket_of(u)], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&live_bytes[bucket_of(u)], (long)u, memory_order_relaxed);
    }
    return p;
}

static void uncounted(void *p)
{
    if (p != NULL) {
        size_t u = malloc_usable_size(p);
        atomic_fetch_sub_explicit(&live_count[bucket_of(u)], 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&live_bytes[bucket_of(u)], (long)u, memory_order_relaxed);
    }
}

void *__libc_malloc(size_t n)
{
    if (resolving)
        return boot_alloc(n);
    resolve();
    return counted(real_malloc(n));
}

void *__libc_calloc(size_t n, size_t size)
{
    if (resolving)
        return boot_alloc(n * size); /* static: already zero */
    resolve();
    return counted(real_calloc(n, size));
}

void *__libc_realloc(void *old, size_t n)
{
    resolve();
    if (is_boot(old)) {
        void *p = __libc_malloc(n);
        size_t left = (size_t)(boot + sizeof boot - (unsigned char *)old);
        if (p != NULL) /* the old size is unknown: what there is, at most n */
            memcpy(p, old, n < left ? n : left);
        return p;
    }
    uncounted(old);
    void *p = real_realloc(old, n);
    if (p == NULL && n != 0) { /* failed: old is still live */
        counted(old);
        return NULL;
    }
    return counted(p);
}

void *__libc_memalign(size_t align, size_t n)
{
    resolve();
    return counted(real_memalign(align, n));
}

void __libc_free(void *p)
{
    if (p == NULL || is_boot(p))
        return;
    resolve();
    uncounted(p);
    real_free(p);
}

void *malloc(size_t n)
{
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    return __libc_calloc(n, size);
}

void *realloc(void *old, size_t n)
{
    return __libc_realloc(old, n);
}

void free(void *p)
{
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

static void census(const char *path)
{
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return;
    struct mallinfo2 mi = mallinfo2();
    long total_n = 0, total_b = 0;
    fprintf(f, "# census at %ld\n", (long)time(NULL));
    for (size_t b = 0; b <= BUCKETS; b++) {
        long n = atomic_load(&live_count[b]), bytes = atomic_load(&live_bytes[b]);
        if (n == 0)
            continue;
        total_n += n;
        total_b += bytes;
        if (b < BUCKETS)
            fprintf(f, "size %zu live %ld bytes %ld\n", b * 8, n, bytes);
        else
            fprintf(f, "size >=%d live %ld bytes %ld\n", BUCKETS * 8, n, bytes);
    }
    fprintf(f, "total live %ld bytes %ld\n", total_n, total_b);
    fprintf(f, "mallinfo2 arena %zu mmap %zu in_use %zu free %zu top_pad_releasable %zu\n",
            mi.arena, mi.hblkhd, mi.uordblks, mi.fordblks, mi.keepcost);
    fprintf(f, "# end\n");
    fclose(f);
}

static void *census_thread(void *arg)
{
    (void)arg;
    const char *trigger = getenv("MALLOC_CENSUS_TRIGGER");
    const char *out = getenv("MALLOC_CENSUS_OUT");
    if (trigger == NULL || out == NULL)
        return NULL;
    for (;;) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        if (access(trigger, F_OK) == 0) {
            census(out);
            unlink(trigger);
        }
    }
    return NULL;
}

__attribute__((constructor)) static void census_start(void)
{
    pthread_t th;
    if (getenv("MALLOC_CENSUS_TRIGGER") != NULL &&
        pthread_create(&th, NULL, census_thread, NULL) == 0)
        pthread_detach(th);
}
