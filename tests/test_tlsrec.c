/* test_tlsrec.c — unit tests of the stream framing scanner (server/wire/tlsrec.c).
 *
 * Three realistic one-direction streams are built here unit by unit, with
 * the expected description of every unit written down as it is appended
 * (not taken from the scanner): client->server with TLS (X.224 CR, then
 * ClientHello, key exchange, ChangeCipherSpec, encrypted Finished, empty and
 * large application data, alert), server->client with TLS (X.224 CC,
 * ServerHello, ...) and client->server with Standard RDP Security (TPKTs and
 * fast-path PDUs with 1- and 2-byte lengths). Each is fed whole, one byte at
 * a time and in every 2-way split; the unit lists (kind, length, index,
 * tls_index, content_type, hs_type, tpdu_code), the `offset` of every unit
 * and the scanner's counters must match exactly. A callback that stops the
 * scan is tested at every unit and every split point: tlsrec_feed returns
 * where the unit began, bytes before it are accounted for, and feeding the
 * rest from there reports the same unit again and goes on. Then the ways
 * the scanner gives up: garbage first byte, a TLS record whose version is
 * not 3.x, 0x03 after TLS, impossible lengths. Every chunk is fed from an
 * exact-size heap copy so an over-read shows up under ASan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wire/tlsrec.h"

#define MAX_UNITS 32
#define MAX_STREAM 4096

/* ------------------------------------------------------------------ */
/* Streams with their expected units                                   */

struct expect {
	enum tlsrec_kind kind;
	uint32_t length, index, tls_index;
	uint8_t content_type;
	int hs_type;
	uint8_t tpdu_code;
	size_t start;  /* position of the unit in the stream */
	size_t hdrlen; /* bytes the scanner needs before it reports the unit */
};

struct stream {
	uint8_t buf[MAX_STREAM];
	size_t len;
	struct expect e[MAX_UNITS];
	size_t n;
	uint32_t tls;
};

static void add_unit(struct stream *st, const uint8_t *bytes, size_t n, enum tlsrec_kind kind,
                     uint8_t ct, int hs, uint8_t tpdu, size_t hdrlen)
{
	assert_true(st->len + n <= MAX_STREAM);
	assert_true(st->n < MAX_UNITS);
	memcpy(st->buf + st->len, bytes, n);
	struct expect *e = &st->e[st->n];
	e->kind = kind;
	e->length = (uint32_t)n;
	e->index = (uint32_t)st->n;
	e->tls_index = kind == TLSREC_TLS ? st->tls++ : 0;
	e->content_type = ct;
	e->hs_type = hs;
	e->tpdu_code = tpdu;
	e->start = st->len;
	e->hdrlen = hdrlen;
	st->len += n;
	st->n++;
}

/* A TLS record: type, version 3.minor, `body` bytes of body whose first
 * byte is `first` (the handshake type for a handshake record). */
static void add_tls(struct stream *st, uint8_t type, uint8_t minor, size_t body, uint8_t first)
{
	uint8_t b[MAX_STREAM];
	assert_true(5 + body <= sizeof(b));
	b[0] = type;
	b[1] = 3;
	b[2] = minor;
	b[3] = (uint8_t)(body >> 8);
	b[4] = (uint8_t)body;
	for (size_t i = 0; i < body; i++)
		b[5 + i] = (uint8_t)(i * 37 + 11);
	if (body)
		b[5] = first;
	if (type == TLS_CT_HANDSHAKE && body >= 6 && first <= 2) {
		/* A plaintext handshake message: 3-byte length of the rest. */
		b[6] = (uint8_t)((body - 4) >> 16);
		b[7] = (uint8_t)((body - 4) >> 8);
		b[8] = (uint8_t)(body - 4);
		b[9] = 3;
		b[10] = 3;
	}
	add_unit(st, b, 5 + body, TLSREC_TLS, type, type == TLS_CT_HANDSHAKE ? first : -1, 0,
	         type == TLS_CT_HANDSHAKE ? 6 : 5);
}

/* An X.224 Data TPDU in a TPKT of `total` bytes. */
static void add_tpkt_dt(struct stream *st, size_t total)
{
	uint8_t b[MAX_STREAM];
	assert_true(total >= 7 && total <= sizeof(b));
	b[0] = 3;
	b[1] = 0;
	b[2] = (uint8_t)(total >> 8);
	b[3] = (uint8_t)total;
	b[4] = 2;
	b[5] = 0xF0;
	b[6] = 0x80;
	for (size_t i = 7; i < total; i++)
		b[i] = (uint8_t)(i * 13 + 5);
	add_unit(st, b, total, TLSREC_TPKT, 0, -1, 0xF0, 6);
}

/* A fast-path PDU of `total` bytes, its length in one byte (total < 128
 * and !two) or two. */
static void add_fastpath(struct stream *st, uint8_t first, size_t total, int two)
{
	uint8_t b[MAX_STREAM];
	size_t h;
	assert_true(total <= sizeof(b));
	b[0] = first;
	if (two) {
		b[1] = (uint8_t)(0x80 | (total >> 8));
		b[2] = (uint8_t)total;
		h = 3;
	} else {
		assert_true(total < 0x80);
		b[1] = (uint8_t)total;
		h = 2;
	}
	for (size_t i = h; i < total; i++)
		b[i] = (uint8_t)(i * 29 + 1);
	add_unit(st, b, total, TLSREC_FASTPATH, 0, -1, 0, h);
}

/* mstsc's X.224 Connection Request: cookie, RDP_NEG_REQ for TLS|HYBRID. */
static const uint8_t x224_cr[] = {0x03, 0x00, 0x00, 0x2c, 0x27, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  'C',  'o',  'o',  'k',  'i',  'e',  ':',  ' ',  'm',  's',  't',
                                  's',  'h',  'a',  's',  'h',  '=',  'e',  'l',  't',  'o',  'n',
                                  's',  '\r', '\n', 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00};

/* The X.224 Connection Confirm with RDP_NEG_RSP selecting HYBRID. */
static const uint8_t x224_cc[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                  0x00, 0x02, 0x1f, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00};

static void client_tls_stream(struct stream *st)
{
	memset(st, 0, sizeof(*st));
	add_unit(st, x224_cr, sizeof(x224_cr), TLSREC_TPKT, 0, -1, 0xE0, 6);
	add_tls(st, TLS_CT_HANDSHAKE, 1, 512, 1); /* ClientHello */
	add_tls(st, TLS_CT_HANDSHAKE, 3, 70, 16); /* ClientKeyExchange */
	add_tls(st, TLS_CT_CHANGE_CIPHER_SPEC, 3, 1, 1);
	add_tls(st, TLS_CT_HANDSHAKE, 3, 40, 0xA7);          /* encrypted Finished */
	add_tls(st, TLS_CT_APPLICATION_DATA, 3, 0, 0);       /* empty record */
	add_tls(st, TLS_CT_APPLICATION_DATA, 3, 1200, 0x5C); /* CredSSP */
	add_tls(st, TLS_CT_ALERT, 3, 26, 0x01);
	assert_int_equal(st->len, 1928);
}

static void server_tls_stream(struct stream *st)
{
	memset(st, 0, sizeof(*st));
	add_unit(st, x224_cc, sizeof(x224_cc), TLSREC_TPKT, 0, -1, 0xD0, 6);
	add_tls(st, TLS_CT_HANDSHAKE, 3, 900, 2); /* ServerHello, Certificate, ... */
	add_tls(st, TLS_CT_CHANGE_CIPHER_SPEC, 3, 1, 1);
	add_tls(st, TLS_CT_HANDSHAKE, 3, 40, 0x3B); /* encrypted Finished */
	add_tls(st, TLS_CT_APPLICATION_DATA, 3, 58, 0x90);
	add_tls(st, TLS_CT_APPLICATION_DATA, 3, 300, 0x01);
}

/* Standard RDP Security: no TLS; slow-path TPKTs and fast-path input. */
static void client_rdp_stream(struct stream *st)
{
	memset(st, 0, sizeof(*st));
	add_unit(st, x224_cr, sizeof(x224_cr), TLSREC_TPKT, 0, -1, 0xE0, 6);
	add_tpkt_dt(st, 420);           /* MCS Connect Initial */
	add_tpkt_dt(st, 12);            /* Erect Domain */
	add_tpkt_dt(st, 8);             /* Attach User */
	add_tpkt_dt(st, 7);             /* the smallest TPKT the scanner takes */
	add_fastpath(st, 0x44, 10, 0);  /* 1 event, 1-byte length */
	add_fastpath(st, 0xC4, 300, 1); /* encrypted, 2-byte length */
	add_fastpath(st, 0x00, 2, 0);   /* the smallest */
	add_fastpath(st, 0x88, 3, 1);   /* 2-byte length, header only */
	add_fastpath(st, 0x08, 0x7F, 0);
	add_fastpath(st, 0x04, 0x80, 1);
	add_tpkt_dt(st, 40); /* slow-path again: the stream is not TLS */
	add_fastpath(st, 0x2C, 1000, 1);
}

/* ------------------------------------------------------------------ */
/* Feeding and recording                                               */

struct got {
	struct tlsrec_unit u;
	size_t base; /* stream position of the chunk it was reported in */
	size_t flen; /* length of that chunk */
};

struct rec {
	struct got g[MAX_UNITS * 2];
	size_t n;
	size_t base, flen; /* the chunk being fed */
	long stop_index;   /* stop once at this unit index; -1: never */
	int stopped;
	struct got stop;
};

static int on_unit(const struct tlsrec_unit *u, void *arg)
{
	struct rec *r = arg;
	struct got g = {.u = *u, .base = r->base, .flen = r->flen};
	if (!r->stopped && r->stop_index >= 0 && (long)u->index == r->stop_index) {
		r->stopped = 1;
		r->stop = g;
		return 1;
	}
	assert_true(r->n < MAX_UNITS * 2);
	r->g[r->n++] = g;
	return 0;
}

static void rec_init(struct rec *r, long stop_index)
{
	memset(r, 0, sizeof(*r));
	r->stop_index = stop_index;
}

/* Feeds stream bytes [from, from + n) as one chunk (from an exact-size
 * heap copy). When the callback stops the scan, checks what tlsrec_feed
 * returned and feeds the rest from there, as a relay would. */
static void feed_chunk(struct tlsrec_scanner *s, const struct stream *st, size_t from, size_t n,
                       struct rec *r)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, st->buf + from, n);
	size_t off = 0;
	do {
		int was_stopped = r->stopped;
		uint64_t bytes0 = s->bytes;
		r->base = from + off;
		r->flen = n - off;
		size_t used = tlsrec_feed(s, copy + off, n - off, on_unit, r);
		assert_true(used <= n - off);
		/* Bytes before the stopped unit are accounted for, it is not. */
		assert_int_equal(s->bytes, bytes0 + used);
		if (used == n - off) {
			assert_int_equal(r->stopped, was_stopped);
			break;
		}
		assert_true(r->stopped && !was_stopped);
		assert_int_equal(used, r->stop.u.offset);
		off += used;
	} while (off < n);
	free(copy);
}

/* Checks one reported unit against the expected one. */
static void check_unit(const struct got *g, const struct expect *e)
{
	assert_int_equal(g->u.kind, e->kind);
	assert_int_equal(g->u.length, e->length);
	assert_int_equal(g->u.index, e->index);
	assert_int_equal(g->u.tls_index, e->tls_index);
	assert_int_equal(g->u.content_type, e->content_type);
	assert_int_equal(g->u.hs_type, e->hs_type);
	assert_int_equal(g->u.tpdu_code, e->tpdu_code);
	/* Reported in the chunk holding the last header byte... */
	assert_true(e->start + e->hdrlen - 1 >= g->base);
	assert_true(e->start + e->hdrlen - 1 < g->base + g->flen);
	/* ...at its place in that chunk, or 0 when it began earlier. */
	assert_int_equal(g->u.offset, e->start >= g->base ? e->start - g->base : 0);
}

/* Checks the whole record of a scan of `st` that ended at its end. */
static void check_scan(const struct tlsrec_scanner *s, const struct stream *st, const struct rec *r)
{
	assert_int_equal(r->n, st->n);
	for (size_t i = 0; i < st->n; i++)
		check_unit(&r->g[i], &st->e[i]);
	if (r->stop_index >= 0) {
		assert_true(r->stopped);
		check_unit(&r->stop, &st->e[r->stop_index]);
	}
	assert_int_equal(s->units, st->n);
	assert_int_equal(s->tls_records, st->tls);
	assert_int_equal(s->tls, st->tls > 0);
	assert_int_equal(s->bytes, st->len);
	assert_int_equal(s->stopped, 0);
	assert_int_equal(s->remaining, 0);
	assert_int_equal(s->have, 0);
}

static void scan_whole(const struct stream *st, long stop)
{
	struct tlsrec_scanner s;
	struct rec r;
	tlsrec_init(&s);
	rec_init(&r, stop);
	feed_chunk(&s, st, 0, st->len, &r);
	check_scan(&s, st, &r);
	/* Fed whole, a unit's offset is its place in the stream (once
	 * stopped, the rest is fed from the stopped unit on). */
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.g[i].u.offset, stop < 0 || i < (size_t)stop
		                                          ? st->e[i].start
		                                          : st->e[i].start - st->e[stop].start);
}

static void scan_bytes(const struct stream *st, long stop)
{
	struct tlsrec_scanner s;
	struct rec r;
	tlsrec_init(&s);
	rec_init(&r, stop);
	for (size_t i = 0; i < st->len; i++)
		feed_chunk(&s, st, i, 1, &r);
	check_scan(&s, st, &r);
	/* Every header is at least 2 bytes: no unit is reported in the chunk
	 * it starts in. */
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.g[i].u.offset, 0);
}

static void scan_splits(const struct stream *st, long stop)
{
	for (size_t k = 0; k <= st->len; k++) {
		struct tlsrec_scanner s;
		struct rec r;
		tlsrec_init(&s);
		rec_init(&r, stop);
		feed_chunk(&s, st, 0, k, &r);
		feed_chunk(&s, st, k, st->len - k, &r);
		check_scan(&s, st, &r);
	}
}

/* ------------------------------------------------------------------ */
/* The three streams                                                   */

static void test_client_tls_whole(void **state)
{
	(void)state;
	static struct stream st;
	client_tls_stream(&st);
	scan_whole(&st, -1);

	/* The facts the relay relies on, spelled out. */
	struct tlsrec_scanner s;
	struct rec r;
	tlsrec_init(&s);
	rec_init(&r, -1);
	assert_int_equal(tlsrec_feed(&s, st.buf, st.len, on_unit, &r), st.len);
	assert_int_equal(r.n, 8);
	assert_int_equal(r.g[0].u.kind, TLSREC_TPKT);
	assert_int_equal(r.g[0].u.tpdu_code, 0xE0);
	assert_int_equal(r.g[0].u.length, 44);
	assert_int_equal(r.g[0].u.hs_type, -1);
	assert_int_equal(r.g[1].u.kind, TLSREC_TLS);
	assert_int_equal(r.g[1].u.content_type, TLS_CT_HANDSHAKE);
	assert_int_equal(r.g[1].u.hs_type, 1);
	assert_int_equal(r.g[1].u.length, 517);
	assert_int_equal(r.g[1].u.index, 1);
	assert_int_equal(r.g[1].u.tls_index, 0);
	assert_int_equal(r.g[1].u.offset, 44);
	assert_int_equal(r.g[1].u.tpdu_code, 0);
	assert_int_equal(r.g[3].u.content_type, TLS_CT_CHANGE_CIPHER_SPEC);
	assert_int_equal(r.g[3].u.hs_type, -1);
	assert_int_equal(r.g[5].u.length, 5);
	assert_int_equal(r.g[6].u.length, 1205);
	assert_int_equal(r.g[6].u.offset, 692);
	assert_int_equal(r.g[7].u.content_type, TLS_CT_ALERT);
	assert_int_equal(r.g[7].u.index, 7);
	assert_int_equal(r.g[7].u.tls_index, 6);
	assert_int_equal(s.bytes, 1928);
}

static void test_client_tls_bytewise(void **state)
{
	(void)state;
	static struct stream st;
	client_tls_stream(&st);
	scan_bytes(&st, -1);
}

static void test_client_tls_every_split(void **state)
{
	(void)state;
	static struct stream st;
	client_tls_stream(&st);
	scan_splits(&st, -1);
}

static void test_server_tls(void **state)
{
	(void)state;
	static struct stream st;
	server_tls_stream(&st);
	scan_whole(&st, -1);
	scan_bytes(&st, -1);
	scan_splits(&st, -1);
	assert_int_equal(st.e[0].tpdu_code, 0xD0);
	assert_int_equal(st.e[1].hs_type, 2);
}

static void test_client_rdp_security(void **state)
{
	(void)state;
	static struct stream st;
	client_rdp_stream(&st);
	scan_whole(&st, -1);
	scan_bytes(&st, -1);
	scan_splits(&st, -1);
}

/* Three chunks: the first cut anywhere in the first 64 bytes (inside the
 * CR and the MCS TPKT header), the second every 7 bytes after it. */
static void test_three_way_splits_rdp(void **state)
{
	(void)state;
	static struct stream st;
	client_rdp_stream(&st);
	for (size_t a = 0; a < 64 && a <= st.len; a++) {
		for (size_t b = a; b <= st.len; b += 7) {
			struct tlsrec_scanner s;
			struct rec r;
			tlsrec_init(&s);
			rec_init(&r, -1);
			feed_chunk(&s, &st, 0, a, &r);
			feed_chunk(&s, &st, a, b - a, &r);
			feed_chunk(&s, &st, b, st.len - b, &r);
			check_scan(&s, &st, &r);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Single units                                                        */

struct one {
	struct tlsrec_unit u[8];
	int n;
};

static int on_one(const struct tlsrec_unit *u, void *arg)
{
	struct one *o = arg;
	assert_true(o->n < 8);
	o->u[o->n++] = *u;
	return 0;
}

/* Feeds b[0..n) whole into a fresh scanner. */
static size_t feed_fresh(struct tlsrec_scanner *s, const uint8_t *b, size_t n, struct one *o)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, b, n);
	tlsrec_init(s);
	memset(o, 0, sizeof(*o));
	size_t used = tlsrec_feed(s, copy, n, on_one, o);
	free(copy);
	return used;
}

static void test_tpdu_codes(void **state)
{
	(void)state;
	static const struct {
		uint8_t code, want;
	} cases[] = {
	        {0xE0, 0xE0}, {0xD0, 0xD0}, {0xF0, 0xF0}, {0x80, 0x80},
	        {0x70, 0x70}, {0xE3, 0xE0}, /* CR with a credit: the low nibble is not the code */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[] = {0x03, 0x00, 0x00, 0x0b, 0x06, cases[i].code, 0, 0, 0, 0, 0};
		struct tlsrec_scanner s;
		struct one o;
		assert_int_equal(feed_fresh(&s, b, sizeof(b), &o), sizeof(b));
		assert_int_equal(o.n, 1);
		assert_int_equal(o.u[0].kind, TLSREC_TPKT);
		assert_int_equal(o.u[0].tpdu_code, cases[i].want);
		assert_int_equal(o.u[0].length, 11);
		assert_int_equal(o.u[0].content_type, 0);
		assert_int_equal(o.u[0].hs_type, -1);
		assert_int_equal(s.tls, 0);
		assert_int_equal(s.remaining, 0);
	}
}

static void test_handshake_types(void **state)
{
	(void)state;
	for (int t = 0; t < 256; t += 1) {
		uint8_t b[] = {0x16, 0x03, 0x03, 0x00, 0x04, (uint8_t)t, 0, 0, 0};
		struct tlsrec_scanner s;
		struct one o;
		assert_int_equal(feed_fresh(&s, b, sizeof(b), &o), sizeof(b));
		assert_int_equal(o.n, 1);
		assert_int_equal(o.u[0].kind, TLSREC_TLS);
		assert_int_equal(o.u[0].content_type, TLS_CT_HANDSHAKE);
		assert_int_equal(o.u[0].hs_type, t);
		assert_int_equal(o.u[0].length, 9);
		assert_int_equal(s.tls, 1);
		assert_int_equal(s.tls_records, 1);
	}
	/* Other content types carry no handshake type, whatever follows. */
	for (uint8_t ct = TLS_CT_CHANGE_CIPHER_SPEC; ct <= TLS_CT_APPLICATION_DATA; ct++) {
		uint8_t b[] = {ct, 0x03, 0x01, 0x00, 0x02, 0x01, 0x02};
		struct tlsrec_scanner s;
		struct one o;
		assert_int_equal(feed_fresh(&s, b, sizeof(b), &o), sizeof(b));
		assert_int_equal(o.n, 1);
		assert_int_equal(o.u[0].content_type, ct);
		assert_int_equal(o.u[0].hs_type, ct == TLS_CT_HANDSHAKE ? 1 : -1);
		assert_int_equal(o.u[0].length, 7);
	}
}

static void test_fastpath_lengths(void **state)
{
	(void)state;
	static const struct {
		uint8_t hdr[3];
		size_t hlen;
		uint32_t length;
	} cases[] = {
	        {{0x44, 0x07}, 2, 7},           {{0x00, 0x02}, 2, 2},
	        {{0x04, 0x7F}, 2, 127},         {{0x44, 0x81, 0x2c}, 3, 300},
	        {{0x80, 0x80, 0x03}, 3, 3},     {{0xC0, 0x80, 0x80}, 3, 128},
	        {{0x04, 0xFF, 0xFF}, 3, 32767},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *b = calloc(1, cases[i].length + 2);
		assert_non_null(b);
		memcpy(b, cases[i].hdr, cases[i].hlen);
		/* A second PDU right behind: the first length must be exact. */
		b[cases[i].length] = 0x04;
		b[cases[i].length + 1] = 0x02;
		struct tlsrec_scanner s;
		struct one o;
		assert_int_equal(feed_fresh(&s, b, cases[i].length + 2, &o), cases[i].length + 2);
		assert_int_equal(o.n, 2);
		assert_int_equal(o.u[0].kind, TLSREC_FASTPATH);
		assert_int_equal(o.u[0].length, cases[i].length);
		assert_int_equal(o.u[0].tpdu_code, 0);
		assert_int_equal(o.u[0].hs_type, -1);
		assert_int_equal(o.u[1].kind, TLSREC_FASTPATH);
		assert_int_equal(o.u[1].length, 2);
		assert_int_equal(o.u[1].offset, cases[i].length);
		assert_int_equal(o.u[1].index, 1);
		assert_int_equal(s.stopped, 0);
		free(b);
	}
}

/* ------------------------------------------------------------------ */
/* Where the scanner gives up                                          */

/* Feeds a then b as two chunks; returns the units seen. */
static int feed_two(struct tlsrec_scanner *s, const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen, struct one *o)
{
	tlsrec_init(s);
	memset(o, 0, sizeof(*o));
	assert_int_equal(tlsrec_feed(s, a, alen, on_one, o), alen);
	assert_int_equal(tlsrec_feed(s, b, blen, on_one, o), blen);
	return o->n;
}

static void test_tpkt_after_tls_stops(void **state)
{
	(void)state;
	uint8_t rec[] = {0x17, 0x03, 0x03, 0x00, 0x02, 0xAA, 0xBB};
	struct tlsrec_scanner s;
	struct one o;
	/* Whole, then split inside the would-be TPKT header. */
	for (size_t k = 0; k <= sizeof(x224_cc); k++) {
		tlsrec_init(&s);
		memset(&o, 0, sizeof(o));
		assert_int_equal(tlsrec_feed(&s, rec, sizeof(rec), on_one, &o), sizeof(rec));
		assert_int_equal(tlsrec_feed(&s, x224_cc, k, on_one, &o), k);
		assert_int_equal(tlsrec_feed(&s, x224_cc + k, sizeof(x224_cc) - k, on_one, &o),
		                 sizeof(x224_cc) - k);
		assert_int_equal(o.n, 1);
		assert_int_equal(o.u[0].kind, TLSREC_TLS);
		assert_int_equal(s.stopped, 1);
		assert_int_equal(s.units, 1);
		assert_int_equal(s.bytes, sizeof(rec) + sizeof(x224_cc));
	}
	/* Nor is a fast-path header. */
	uint8_t fp[] = {0x44, 0x07, 0, 0, 0, 0, 0};
	assert_int_equal(feed_two(&s, rec, sizeof(rec), fp, sizeof(fp), &o), 1);
	assert_int_equal(s.stopped, 1);
	/* A TLS record after TLS is fine, of course. */
	assert_int_equal(feed_two(&s, rec, sizeof(rec), rec, sizeof(rec), &o), 2);
	assert_int_equal(o.u[1].tls_index, 1);
	assert_int_equal(s.stopped, 0);
	/* And before TLS a TPKT is a TPKT. */
	assert_int_equal(feed_two(&s, x224_cc, sizeof(x224_cc), rec, sizeof(rec), &o), 2);
	assert_int_equal(o.u[0].kind, TLSREC_TPKT);
	assert_int_equal(o.u[1].kind, TLSREC_TLS);
	assert_int_equal(o.u[1].tls_index, 0);
	assert_int_equal(o.u[1].index, 1);
}

static void test_garbage_first_byte(void **state)
{
	(void)state;
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct tlsrec_scanner s;
	struct one o;
	size_t n = sizeof(http) - 1;

	assert_int_equal(feed_fresh(&s, (const uint8_t *)http, n, &o), n);
	assert_int_equal(o.n, 0);
	assert_int_equal(s.stopped, 1);
	assert_int_equal(s.units, 0);
	assert_int_equal(s.bytes, n);
	/* Stopped for good: a valid unit afterwards is not interpreted, but
	 * still consumed and counted. */
	assert_int_equal(tlsrec_feed(&s, x224_cr, sizeof(x224_cr), on_one, &o), sizeof(x224_cr));
	assert_int_equal(o.n, 0);
	assert_int_equal(s.bytes, n + sizeof(x224_cr));
	assert_int_equal(tlsrec_feed(&s, x224_cr, 0, on_one, &o), 0);
	assert_int_equal(s.bytes, n + sizeof(x224_cr));

	/* Every first byte that fits no framing, before and after TLS. */
	for (int b0 = 0; b0 < 256; b0++) {
		uint8_t b[] = {(uint8_t)b0, 0x03, 0x03, 0x00, 0x08, 0x02, 0xF0, 0x80};
		int tls_ct = b0 >= TLS_CT_CHANGE_CIPHER_SPEC && b0 <= TLS_CT_APPLICATION_DATA;
		int fastpath = !tls_ct && b0 != 0x03 && (b0 & 3) == 0;
		int framed = tls_ct || b0 == 0x03 || fastpath;
		assert_int_equal(feed_fresh(&s, b, sizeof(b), &o), sizeof(b));
		/* A fast-path PDU is 3 bytes here, then 00 08 is another. */
		assert_int_equal(o.n, fastpath ? 2 : framed);
		assert_int_equal(s.stopped, !framed);
		uint8_t rec[] = {0x15, 0x03, 0x03, 0x00, 0x00};
		assert_int_equal(feed_two(&s, rec, sizeof(rec), b, sizeof(b), &o), 1 + tls_ct);
		assert_int_equal(s.stopped, !tls_ct);
	}

	/* Garbage after good units: the units before it are reported. */
	uint8_t mixed[sizeof(x224_cr) + 4];
	memcpy(mixed, x224_cr, sizeof(x224_cr));
	memcpy(mixed + sizeof(x224_cr), "GET ", 4);
	assert_int_equal(feed_fresh(&s, mixed, sizeof(mixed), &o), sizeof(mixed));
	assert_int_equal(o.n, 1);
	assert_int_equal(s.stopped, 1);
	assert_int_equal(s.bytes, sizeof(mixed));
}

static void test_tls_bad_version_stops(void **state)
{
	(void)state;
	static const uint8_t bad[][6] = {
	        {0x16, 0x02, 0x00, 0x00, 0x01, 0x01}, /* SSL 2-ish */
	        {0x16, 0x00, 0x03, 0x00, 0x01, 0x01},
	        {0x17, 0x04, 0x03, 0x00, 0x01, 0x01},
	        {0x14, 0xFF, 0x03, 0x00, 0x01, 0x01},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t k = 0; k <= sizeof(bad[i]); k++) {
			struct tlsrec_scanner s;
			struct one o;
			assert_int_equal(
			        feed_two(&s, bad[i], k, bad[i] + k, sizeof(bad[i]) - k, &o), 0);
			assert_int_equal(s.stopped, 1);
			assert_int_equal(s.units, 0);
			assert_int_equal(s.tls, 0);
			assert_int_equal(s.bytes, sizeof(bad[i]));
		}
	}
	/* After a good record too. */
	uint8_t good[] = {0x16, 0x03, 0x01, 0x00, 0x01, 0x01};
	struct tlsrec_scanner s;
	struct one o;
	assert_int_equal(feed_two(&s, good, sizeof(good), bad[0], sizeof(bad[0]), &o), 1);
	assert_int_equal(s.stopped, 1);
	assert_int_equal(s.tls_records, 1);
}

static void test_impossible_lengths_stop(void **state)
{
	(void)state;
	static const struct {
		uint8_t b[8];
		size_t n;
	} cases[] = {
	        {{0x03, 0x00, 0x00, 0x06, 0x02, 0xF0, 0x80}, 7},       /* TPKT shorter than 7 */
	        {{0x03, 0x00, 0x00, 0x00, 0x02, 0xF0, 0x80}, 7},       /* TPKT length 0 */
	        {{0x44, 0x00, 0x00}, 3},                               /* fast-path length 0 */
	        {{0x44, 0x01, 0x00}, 3},                               /* fast-path length 1 */
	        {{0x44, 0x80, 0x02, 0x00}, 4},                         /* 2-byte length under 3 */
	        {{0x16, 0x03, 0x03, 0x00, 0x00, 0x16, 0x03, 0x03}, 8}, /* empty handshake record */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tlsrec_scanner s;
		struct one o;
		assert_int_equal(feed_fresh(&s, cases[i].b, cases[i].n, &o), cases[i].n);
		assert_int_equal(o.n, 0);
		assert_int_equal(s.stopped, 1);
		assert_int_equal(s.bytes, cases[i].n);
	}
	/* The boundaries just above are fine. */
	uint8_t tpkt7[] = {0x03, 0x00, 0x00, 0x07, 0x02, 0xF0, 0x80};
	uint8_t fp3[] = {0x44, 0x80, 0x03};
	uint8_t alert0[] = {0x15, 0x03, 0x03, 0x00, 0x00};
	struct tlsrec_scanner s;
	struct one o;
	assert_int_equal(feed_fresh(&s, tpkt7, sizeof(tpkt7), &o), sizeof(tpkt7));
	assert_int_equal(o.n, 1);
	assert_int_equal(o.u[0].length, 7);
	assert_int_equal(feed_fresh(&s, fp3, sizeof(fp3), &o), sizeof(fp3));
	assert_int_equal(o.n, 1);
	assert_int_equal(o.u[0].length, 3);
	assert_int_equal(feed_fresh(&s, alert0, sizeof(alert0), &o), sizeof(alert0));
	assert_int_equal(o.n, 1);
	assert_int_equal(o.u[0].length, 5);
	assert_int_equal(s.stopped, 0);
	assert_int_equal(s.remaining, 0);
}

/* ------------------------------------------------------------------ */
/* Stopping from the callback                                          */

static void test_stop_whole(void **state)
{
	(void)state;
	static struct stream st;
	client_tls_stream(&st);

	/* Spelled out for the ClientHello (unit 1, at 44). */
	struct tlsrec_scanner s;
	struct rec r;
	tlsrec_init(&s);
	rec_init(&r, 1);
	assert_int_equal(tlsrec_feed(&s, st.buf, st.len, on_unit, &r), 44);
	assert_int_equal(r.stopped, 1);
	assert_int_equal(r.stop.u.offset, 44);
	assert_int_equal(r.stop.u.hs_type, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(s.units, 1);
	assert_int_equal(s.tls, 0);
	assert_int_equal(s.tls_records, 0);
	assert_int_equal(s.bytes, 44);
	assert_int_equal(s.have, 0);
	/* Fed again from there: the same unit, at offset 0, then the rest. */
	assert_int_equal(tlsrec_feed(&s, st.buf + 44, st.len - 44, on_unit, &r), st.len - 44);
	assert_int_equal(r.n, 8);
	assert_int_equal(r.g[1].u.offset, 0);
	assert_int_equal(r.g[1].u.index, 1);
	assert_int_equal(r.g[1].u.hs_type, 1);
	assert_int_equal(r.g[1].u.length, 517);
	assert_int_equal(r.g[2].u.offset, 517);
	assert_int_equal(s.bytes, st.len);

	/* Stopping at the first unit: nothing consumed. */
	tlsrec_init(&s);
	rec_init(&r, 0);
	assert_int_equal(tlsrec_feed(&s, st.buf, st.len, on_unit, &r), 0);
	assert_int_equal(s.bytes, 0);
	assert_int_equal(s.units, 0);

	/* Every unit, through the general checker. */
	for (size_t u = 0; u < st.n; u++)
		scan_whole(&st, (long)u);
}

/* The stopped unit's header began in the previous chunk. */
static void test_stop_header_in_previous_chunk(void **state)
{
	(void)state;
	static struct stream st;
	client_tls_stream(&st);
	const size_t at = 561; /* ClientKeyExchange record, unit 2 */
	assert_int_equal(st.e[2].start, at);

	for (size_t cut = at + 1; cut < at + 6; cut++) {
		struct tlsrec_scanner s;
		struct rec r;
		tlsrec_init(&s);
		rec_init(&r, 2);
		r.base = 0;
		r.flen = cut;
		assert_int_equal(tlsrec_feed(&s, st.buf, cut, on_unit, &r), cut);
		assert_int_equal(r.n, 2);
		assert_int_equal(r.stopped, 0);
		assert_int_equal(s.have, cut - at);
		assert_int_equal(s.bytes, cut);

		const uint8_t *rest = st.buf + cut;
		size_t rlen = st.len - cut;
		r.base = cut;
		r.flen = rlen;
		assert_int_equal(tlsrec_feed(&s, rest, rlen, on_unit, &r), 0);
		assert_int_equal(r.stopped, 1);
		assert_int_equal(r.stop.u.offset, 0);
		assert_int_equal(r.stop.u.index, 2);
		assert_int_equal(r.stop.u.length, 75);
		assert_int_equal(r.stop.u.hs_type, 16);
		assert_int_equal(s.bytes, cut);
		assert_int_equal(s.units, 2);
		/* The header bytes of the earlier chunk are kept. */
		assert_int_equal(s.have, cut - at);

		/* Again from offset 0: the same unit, then the rest. */
		assert_int_equal(tlsrec_feed(&s, rest, rlen, on_unit, &r), rlen);
		assert_int_equal(r.n, 8);
		assert_int_equal(r.g[2].u.offset, 0);
		assert_int_equal(r.g[2].u.index, 2);
		assert_int_equal(r.g[2].u.tls_index, 1);
		assert_int_equal(r.g[2].u.length, 75);
		assert_int_equal(r.g[2].u.hs_type, 16);
		assert_int_equal(r.g[3].u.offset, at + 75 - cut);
		check_scan(&s, &st, &r);
	}
}

static void test_stop_every_unit_every_split(void **state)
{
	(void)state;
	static struct stream st;
	void (*build[])(struct stream *) = {client_tls_stream, server_tls_stream,
	                                    client_rdp_stream};
	for (size_t b = 0; b < sizeof(build) / sizeof(build[0]); b++) {
		build[b](&st);
		for (size_t u = 0; u < st.n; u++) {
			scan_splits(&st, (long)u);
			scan_bytes(&st, (long)u);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Odds and ends                                                       */

static void test_no_callback(void **state)
{
	(void)state;
	static struct stream st;
	client_tls_stream(&st);
	struct tlsrec_scanner s;
	tlsrec_init(&s);
	assert_int_equal(tlsrec_feed(&s, st.buf, 100, NULL, NULL), 100);
	assert_int_equal(tlsrec_feed(&s, st.buf + 100, st.len - 100, NULL, NULL), st.len - 100);
	assert_int_equal(s.units, 8);
	assert_int_equal(s.tls_records, 7);
	assert_int_equal(s.bytes, st.len);
	assert_int_equal(s.stopped, 0);
}

static void test_empty_chunks(void **state)
{
	(void)state;
	static struct stream st;
	client_tls_stream(&st);
	struct tlsrec_scanner s;
	struct rec r;
	tlsrec_init(&s);
	rec_init(&r, -1);
	for (size_t i = 0; i < st.len; i++) {
		r.base = i;
		r.flen = 0;
		assert_int_equal(tlsrec_feed(&s, st.buf + i, 0, on_unit, &r), 0);
		feed_chunk(&s, &st, i, 1, &r);
	}
	check_scan(&s, &st, &r);
}

static void test_init_resets(void **state)
{
	(void)state;
	struct tlsrec_scanner s;
	memset(&s, 0x5A, sizeof(s));
	tlsrec_init(&s);
	assert_int_equal(s.have, 0);
	assert_int_equal(s.remaining, 0);
	assert_int_equal(s.tls, 0);
	assert_int_equal(s.stopped, 0);
	assert_int_equal(s.units, 0);
	assert_int_equal(s.tls_records, 0);
	assert_int_equal(s.bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_client_tls_whole),
	        cmocka_unit_test(test_client_tls_bytewise),
	        cmocka_unit_test(test_client_tls_every_split),
	        cmocka_unit_test(test_server_tls),
	        cmocka_unit_test(test_client_rdp_security),
	        cmocka_unit_test(test_three_way_splits_rdp),
	        cmocka_unit_test(test_tpdu_codes),
	        cmocka_unit_test(test_handshake_types),
	        cmocka_unit_test(test_fastpath_lengths),
	        cmocka_unit_test(test_tpkt_after_tls_stops),
	        cmocka_unit_test(test_garbage_first_byte),
	        cmocka_unit_test(test_tls_bad_version_stops),
	        cmocka_unit_test(test_impossible_lengths_stop),
	        cmocka_unit_test(test_stop_whole),
	        cmocka_unit_test(test_stop_header_in_previous_chunk),
	        cmocka_unit_test(test_stop_every_unit_every_split),
	        cmocka_unit_test(test_no_callback),
	        cmocka_unit_test(test_empty_chunks),
	        cmocka_unit_test(test_init_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
