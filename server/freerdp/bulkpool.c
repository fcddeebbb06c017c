/* bulkpool.c — FreeRDP 2.11's bulk compressors made on first use and kept
 * for the next peer (see bulkpool.h). */
#include "freerdp/bulkpool.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <freerdp/codec/mppc.h>
#include <freerdp/codec/ncrush.h>
#include <freerdp/codec/xcrush.h>

enum kind { K_MPPC, K_NCRUSH, K_XCRUSH, K_COUNT };

/* Two peers' worth of each: a peer that ends frees its six while the next
 * makes its own, so steady load reuses nearly every one; a burst's extra
 * ones are freed for real (the memory stays bounded). */
#define KEEP_MAX 2
/* The contexts a thread made and has not freed: a peer's six and the two
 * MPPC inside its XCRUSH ones, with room to spare. */
#define LIVE_MAX 16
/* Contexts FreeRDP holds and has not used yet: a peer's six, for this
 * many peers at once. Past it a context is made at once, as FreeRDP would. */
#define STUB_MAX (6 * 8192)

struct ctx {
	void *p;
	unsigned level; /* MPPC's compression level (the pool matches it) */
	unsigned char comp, used;
};

typedef MPPC_CONTEXT *(*mppc_new_fn)(DWORD, BOOL);
typedef NCRUSH_CONTEXT *(*ncrush_new_fn)(BOOL);
typedef XCRUSH_CONTEXT *(*xcrush_new_fn)(BOOL);
typedef void (*free_fn)(void *);
typedef void (*reset_fn)(void *, BOOL);
typedef void (*level_fn)(MPPC_CONTEXT *, DWORD);
typedef int (*compress_fn)(void *, BYTE *, UINT32, BYTE **, UINT32 *, UINT32 *);
typedef int (*decompress_fn)(void *, BYTE *, UINT32, BYTE **, UINT32 *, UINT32);

static struct {
	void *make[K_COUNT];
	free_fn free[K_COUNT];
	reset_fn reset[K_COUNT];
	compress_fn compress[K_COUNT];
	decompress_fn decompress[K_COUNT];
	level_fn level;
} real;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctx kept[K_COUNT][KEEP_MAX];
static int n_kept[K_COUNT];
static atomic_ulong n_made, n_reused, n_reset, n_never;

/* What FreeRDP holds until it first uses a context: its address stands for
 * the context (FreeRDP's structures are opaque to it, every call on one
 * passes here), and the context is made, exactly as FreeRDP asked, on the
 * first call. One peer thread uses it, from FreeRDP's making it to its
 * freeing it. */
struct stub {
	void *real; /* NULL until the first call */
	unsigned level;
	unsigned char kind, comp;
	int next_free;
};
static struct stub stubs[STUB_MAX];
static int stub_free_head = -1, stub_high; /* under lock */
/* A real context being made: FreeRDP's XCRUSH makes an MPPC of its own,
 * which is made at once (its XCRUSH uses it from the start). */
static _Thread_local int making;

/* Each peer's contexts live on its own thread, from FreeRDP's making them
 * to its freeing them: whether one was used is noted here, without a lock.
 * A context this thread did not make (none, in the harness) is never
 * judged unused. */
static _Thread_local struct ctx live[LIVE_MAX];
static _Thread_local int n_live;

static void resolve(void)
{
	static const char *const names[K_COUNT][5] = {
	        {"mppc_context_new", "mppc_context_free", "mppc_context_reset", "mppc_compress",
	         "mppc_decompress"},
	        {"ncrush_context_new", "ncrush_context_free", "ncrush_context_reset",
	         "ncrush_compress", "ncrush_decompress"},
	        {"xcrush_context_new", "xcrush_context_free", "xcrush_context_reset",
	         "xcrush_compress", "xcrush_decompress"},
	};
	for (int k = 0; k < K_COUNT; k++) {
		real.make[k] = dlsym(RTLD_NEXT, names[k][0]);
		real.free[k] = (free_fn)dlsym(RTLD_NEXT, names[k][1]);
		real.reset[k] = (reset_fn)dlsym(RTLD_NEXT, names[k][2]);
		real.compress[k] = (compress_fn)dlsym(RTLD_NEXT, names[k][3]);
		real.decompress[k] = (decompress_fn)dlsym(RTLD_NEXT, names[k][4]);
	}
	real.level = (level_fn)dlsym(RTLD_NEXT, "mppc_set_compression_level");
}

static struct ctx *live_find(const void *p)
{
	for (int i = 0; i < n_live; i++)
		if (live[i].p == p)
			return &live[i];
	return NULL;
}

static void live_add(void *p, int comp, unsigned level)
{
	struct ctx *c = live_find(p);
	if (!c && n_live < LIVE_MAX)
		c = &live[n_live++];
	if (c)
		*c = (struct ctx){.p = p, .level = level, .comp = (unsigned char)comp};
}

static void mark_used(const void *p)
{
	struct ctx *c = live_find(p);
	if (c)
		c->used = 1;
}

/* A kept context for (kind, comp, level), reset if its last peer used it;
 * NULL when none is kept. */
static void *take(enum kind k, int comp, unsigned level)
{
	struct ctx got = {0};
	pthread_mutex_lock(&lock);
	for (int i = 0; i < n_kept[k]; i++)
		if (kept[k][i].comp == comp && kept[k][i].level == level) {
			got = kept[k][i];
			kept[k][i] = kept[k][--n_kept[k]];
			break;
		}
	pthread_mutex_unlock(&lock);
	if (!got.p)
		return NULL;
	if (got.used) {
		real.reset[k](got.p, FALSE);
		atomic_fetch_add(&n_reset, 1);
	}
	atomic_fetch_add(&n_reused, 1);
	live_add(got.p, comp, level);
	return got.p;
}

/* A real context: a kept one, else FreeRDP's own. */
static void *make_real(enum kind k, int comp, unsigned level)
{
	void *p = take(k, comp, level);
	if (p)
		return p;
	making++;
	p = k == K_MPPC     ? (void *)((mppc_new_fn)real.make[k])(level, comp)
	    : k == K_NCRUSH ? (void *)((ncrush_new_fn)real.make[k])(comp)
	                    : (void *)((xcrush_new_fn)real.make[k])(comp);
	making--;
	if (p) {
		atomic_fetch_add(&n_made, 1);
		live_add(p, comp, level);
	}
	return p;
}

static struct stub *as_stub(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)stubs;
	if (a < lo || a >= lo + sizeof(stubs) || (a - lo) % sizeof(stubs[0]) != 0)
		return NULL;
	return &stubs[(a - lo) / sizeof(stubs[0])];
}

static void *make(enum kind k, int comp, unsigned level)
{
	pthread_once(&once, resolve);
	if (!real.make[k])
		return NULL;
	if (making)
		return make_real(k, comp, level);
	struct stub *s = NULL;
	pthread_mutex_lock(&lock);
	if (stub_free_head >= 0) {
		s = &stubs[stub_free_head];
		stub_free_head = s->next_free;
	} else if (stub_high < STUB_MAX) {
		s = &stubs[stub_high++];
	}
	pthread_mutex_unlock(&lock);
	if (!s)
		return make_real(k, comp, level);
	*s = (struct stub){.level = level, .kind = (unsigned char)k, .comp = (unsigned char)comp};
	return s;
}

/* The real context behind p (made now if p is a stub not used yet), or p
 * itself; NULL when it cannot be made (FreeRDP's own calls then fail as on
 * an allocation failure of its own). */
static void *real_of(const void *p)
{
	struct stub *s = as_stub(p);
	if (!s)
		return (void *)p;
	if (!s->real)
		s->real = make_real((enum kind)s->kind, s->comp, s->level);
	return s->real;
}

static void release_real(enum kind k, void *p);

static void release(enum kind k, void *p)
{
	pthread_once(&once, resolve);
	struct stub *s = as_stub(p);
	if (s) {
		void *r = s->real;
		pthread_mutex_lock(&lock);
		s->next_free = stub_free_head;
		stub_free_head = (int)(s - stubs);
		pthread_mutex_unlock(&lock);
		if (r)
			release_real(k, r);
		else
			atomic_fetch_add(&n_never, 1);
		return;
	}
	release_real(k, p);
}

static void release_real(enum kind k, void *p)
{
	if (!p || !real.free[k])
		return;
	struct ctx *c = live_find(p);
	if (c) {
		struct ctx keep = *c;
		*c = live[--n_live];
		pthread_mutex_lock(&lock);
		if (n_kept[k] < KEEP_MAX) {
			kept[k][n_kept[k]++] = keep;
			p = NULL;
		}
		pthread_mutex_unlock(&lock);
	}
	if (p)
		real.free[k](p); /* not ours to judge, or the pool is full */
}

static void drain_kind(enum kind k)
{
	pthread_mutex_lock(&lock);
	int n = n_kept[k];
	struct ctx v[KEEP_MAX];
	for (int i = 0; i < n; i++)
		v[i] = kept[k][i];
	n_kept[k] = 0;
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < n; i++)
		real.free[k](v[i].p);
}

void bulkpool_drain(void)
{
	pthread_once(&once, resolve);
	/* An XCRUSH context frees the MPPC one inside it through
	 * mppc_context_free, which may keep it: MPPC's are drained last. */
	if (real.free[K_XCRUSH])
		drain_kind(K_XCRUSH);
	if (real.free[K_NCRUSH])
		drain_kind(K_NCRUSH);
	if (real.free[K_MPPC])
		drain_kind(K_MPPC);
}

void bulkpool_get_stats(struct bulkpool_stats *st)
{
	st->made = atomic_load(&n_made);
	st->reused = atomic_load(&n_reused);
	st->reset = atomic_load(&n_reset);
	st->never_made = atomic_load(&n_never);
}

/* ---- FreeRDP's exported functions, in the executable. */

MPPC_CONTEXT *mppc_context_new(DWORD CompressionLevel, BOOL Compressor)
{
	return make(K_MPPC, Compressor ? 1 : 0, (unsigned)CompressionLevel);
}

NCRUSH_CONTEXT *ncrush_context_new(BOOL Compressor)
{
	return make(K_NCRUSH, Compressor ? 1 : 0, 0);
}

XCRUSH_CONTEXT *xcrush_context_new(BOOL Compressor)
{
	return make(K_XCRUSH, Compressor ? 1 : 0, 0);
}

void mppc_context_free(MPPC_CONTEXT *mppc)
{
	release(K_MPPC, mppc);
}

void ncrush_context_free(NCRUSH_CONTEXT *ncrush)
{
	release(K_NCRUSH, ncrush);
}

void xcrush_context_free(XCRUSH_CONTEXT *xcrush)
{
	release(K_XCRUSH, xcrush);
}

/* A level changed: the pool then matches the context by its new one. */
void mppc_set_compression_level(MPPC_CONTEXT *mppc, DWORD CompressionLevel)
{
	pthread_once(&once, resolve);
	mppc = real_of(mppc);
	if (!mppc)
		return;
	struct ctx *c = live_find(mppc);
	if (c) {
		c->level = (unsigned)CompressionLevel;
		c->used = 1;
	}
	real.level(mppc, CompressionLevel);
}

/* A reset of a context never used makes it first: FreeRDP's reset, with
 * its flush, then applies to the context exactly as it would have. */
static void reset(enum kind k, void *p, BOOL flush)
{
	pthread_once(&once, resolve);
	p = real_of(p);
	if (p)
		real.reset[k](p, flush);
}

void mppc_context_reset(MPPC_CONTEXT *mppc, BOOL flush)
{
	reset(K_MPPC, mppc, flush);
}

void ncrush_context_reset(NCRUSH_CONTEXT *ncrush, BOOL flush)
{
	reset(K_NCRUSH, ncrush, flush);
}

void xcrush_context_reset(XCRUSH_CONTEXT *xcrush, BOOL flush)
{
	reset(K_XCRUSH, xcrush, flush);
}

/* Compression or decompression: the context, made if it was not yet, is
 * used from now on. -1 (FreeRDP's failure) when it cannot be made. */
static void *used(const void *p)
{
	pthread_once(&once, resolve);
	void *r = real_of(p);
	if (r)
		mark_used(r);
	return r;
}

static int compress(enum kind k, void *p, BYTE *src, UINT32 n, BYTE **dst, UINT32 *dst_n,
                    UINT32 *flags)
{
	void *r = used(p);
	return r ? real.compress[k](r, src, n, dst, dst_n, flags) : -1;
}

static int decompress(enum kind k, void *p, BYTE *src, UINT32 n, BYTE **dst, UINT32 *dst_n,
                      UINT32 flags)
{
	void *r = used(p);
	return r ? real.decompress[k](r, src, n, dst, dst_n, flags) : -1;
}

int mppc_compress(MPPC_CONTEXT *mppc, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                  UINT32 *pDstSize, UINT32 *pFlags)
{
	return compress(K_MPPC, mppc, pSrcData, SrcSize, ppDstData, pDstSize, pFlags);
}

int mppc_decompress(MPPC_CONTEXT *mppc, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                    UINT32 *pDstSize, UINT32 flags)
{
	return decompress(K_MPPC, mppc, pSrcData, SrcSize, ppDstData, pDstSize, flags);
}

int ncrush_compress(NCRUSH_CONTEXT *ncrush, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                    UINT32 *pDstSize, UINT32 *pFlags)
{
	return compress(K_NCRUSH, ncrush, pSrcData, SrcSize, ppDstData, pDstSize, pFlags);
}

int ncrush_decompress(NCRUSH_CONTEXT *ncrush, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                      UINT32 *pDstSize, UINT32 flags)
{
	return decompress(K_NCRUSH, ncrush, pSrcData, SrcSize, ppDstData, pDstSize, flags);
}

int xcrush_compress(XCRUSH_CONTEXT *xcrush, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                    UINT32 *pDstSize, UINT32 *pFlags)
{
	return compress(K_XCRUSH, xcrush, pSrcData, SrcSize, ppDstData, pDstSize, pFlags);
}

int xcrush_decompress(XCRUSH_CONTEXT *xcrush, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                      UINT32 *pDstSize, UINT32 flags)
{
	return decompress(K_XCRUSH, xcrush, pSrcData, SrcSize, ppDstData, pDstSize, flags);
}
