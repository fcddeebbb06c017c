/* bulkpool.c — FreeRDP 2.11's bulk compressors kept for the next peer (see
 * bulkpool.h). */
#include "freerdp/bulkpool.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

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
static atomic_ulong n_made, n_reused, n_reset;

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

static void *make(enum kind k, int comp, unsigned level)
{
	pthread_once(&once, resolve);
	if (!real.make[k])
		return NULL;
	void *p = take(k, comp, level);
	if (p)
		return p;
	p = k == K_MPPC     ? (void *)((mppc_new_fn)real.make[k])(level, comp)
	    : k == K_NCRUSH ? (void *)((ncrush_new_fn)real.make[k])(comp)
	                    : (void *)((xcrush_new_fn)real.make[k])(comp);
	if (p) {
		atomic_fetch_add(&n_made, 1);
		live_add(p, comp, level);
	}
	return p;
}

static void release(enum kind k, void *p)
{
	pthread_once(&once, resolve);
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
	struct ctx *c = live_find(mppc);
	if (c) {
		c->level = (unsigned)CompressionLevel;
		c->used = 1;
	}
	real.level(mppc, CompressionLevel);
}

/* Compression or decompression: the context is used from now on. Returns
 * FreeRDP's own function of that kind. */
static compress_fn used_compress(enum kind k, const void *p)
{
	pthread_once(&once, resolve);
	mark_used(p);
	return real.compress[k];
}

static decompress_fn used_decompress(enum kind k, const void *p)
{
	pthread_once(&once, resolve);
	mark_used(p);
	return real.decompress[k];
}

int mppc_compress(MPPC_CONTEXT *mppc, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                  UINT32 *pDstSize, UINT32 *pFlags)
{
	return used_compress(K_MPPC, mppc)(mppc, pSrcData, SrcSize, ppDstData, pDstSize, pFlags);
}

int mppc_decompress(MPPC_CONTEXT *mppc, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                    UINT32 *pDstSize, UINT32 flags)
{
	return used_decompress(K_MPPC, mppc)(mppc, pSrcData, SrcSize, ppDstData, pDstSize, flags);
}

int ncrush_compress(NCRUSH_CONTEXT *ncrush, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                    UINT32 *pDstSize, UINT32 *pFlags)
{
	return used_compress(K_NCRUSH, ncrush)(ncrush, pSrcData, SrcSize, ppDstData, pDstSize,
	                                       pFlags);
}

int ncrush_decompress(NCRUSH_CONTEXT *ncrush, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                      UINT32 *pDstSize, UINT32 flags)
{
	return used_decompress(K_NCRUSH, ncrush)(ncrush, pSrcData, SrcSize, ppDstData, pDstSize,
	                                         flags);
}

int xcrush_compress(XCRUSH_CONTEXT *xcrush, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                    UINT32 *pDstSize, UINT32 *pFlags)
{
	return used_compress(K_XCRUSH, xcrush)(xcrush, pSrcData, SrcSize, ppDstData, pDstSize,
	                                       pFlags);
}

int xcrush_decompress(XCRUSH_CONTEXT *xcrush, BYTE *pSrcData, UINT32 SrcSize, BYTE **ppDstData,
                      UINT32 *pDstSize, UINT32 flags)
{
	return used_decompress(K_XCRUSH, xcrush)(xcrush, pSrcData, SrcSize, ppDstData, pDstSize,
	                                         flags);
}
