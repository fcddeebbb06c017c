/* test_toxics.c — each network condition and the chain: segments in at a
 * fake clock, segments and ends out (bytes and timing), triggers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "faults/toxics/chain.h"

#define MAXOUT 4096

struct rec {
	struct tx_seg out[MAXOUT];
	size_t n;
	uint64_t end_due;
	int end_how, end_id, ends;
	int fired_id;
	uint64_t fired_off;
	int fires;
};

static void sink(void *arg, const struct tx_seg *s)
{
	struct rec *r = arg;
	assert_true(r->n < MAXOUT);
	r->out[r->n++] = *s;
}

static void end(void *arg, int id, uint64_t due, enum tx_end how)
{
	struct rec *r = arg;
	r->ends++;
	r->end_id = id;
	r->end_due = due;
	r->end_how = (int)how;
}

static void fired(void *arg, int id, uint64_t off, uint64_t now)
{
	struct rec *r = arg;
	(void)now;
	r->fires++;
	r->fired_id = id;
	r->fired_off = off;
}

static struct tx_stage_def def(const char *type)
{
	struct tx_stage_def d;
	memset(&d, 0, sizeof d);
	d.t = toxic_find(type);
	assert_non_null(d.t);
	for (size_t i = 0; i < d.t->n_attrs; i++)
		d.a[i] = d.t->attrs[i].def;
	d.after_bytes = TX_NEVER;
	return d;
}

static void set(struct tx_stage_def *d, const char *attr, double v)
{
	int i = toxic_attr_index(d->t, attr);
	assert_true(i >= 0);
	d->a[i] = v;
}

static void chain1(struct tx_chain *c, struct rec *r, const struct tx_stage_def *d)
{
	const struct tx_stage_def *defs[] = {d};
	memset(r, 0, sizeof(*r));
	assert_int_equal(tx_chain_init(c, defs, 1, 42, 1000, r, sink, end, fired), 0);
}

/* Bytes out (not dropped) and the last due time. */
static uint64_t passed(const struct rec *r, uint64_t *last_due)
{
	uint64_t n = 0;
	*last_due = 0;
	for (size_t i = 0; i < r->n; i++)
		if (!(r->out[i].flags & TX_DROP)) {
			n += r->out[i].len;
			*last_due = r->out[i].due_us;
		}
	return n;
}

/* Segments come out in stream order, contiguous, due times never falling
 * (for bytes that pass). */
static void assert_ordered(const struct rec *r, uint64_t start)
{
	uint64_t off = start, due = 0;
	for (size_t i = 0; i < r->n; i++) {
		assert_int_equal(r->out[i].off, off);
		off += r->out[i].len;
		if (!(r->out[i].flags & TX_DROP)) {
			assert_true(r->out[i].due_us >= due);
			due = r->out[i].due_us;
		}
	}
}

static void test_registry(void **state)
{
	(void)state;
	size_t n = 0;
	for (; toxic_types[n]; n++) {
		assert_true(toxic_types[n]->n_attrs <= TX_ATTRS_MAX);
		assert_ptr_equal(toxic_find(toxic_types[n]->name), toxic_types[n]);
	}
	assert_int_equal(n, 10);
	assert_null(toxic_find("lag"));
	assert_int_equal(toxic_attr_index(toxic_find("latency"), "jitter"), 1);
	assert_int_equal(toxic_attr_index(toxic_find("latency"), "rate"), -1);
}

static void test_latency(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("latency");
	set(&d, "latency", 100);
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 10, 5000, 0);
	tx_chain_feed(&c, 10, 20, 6000, 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.out[0].due_us, 105000);
	assert_int_equal(r.out[1].due_us, 106000);
	assert_int_equal(r.out[1].len, 20);
	tx_chain_free(&c);

	/* Jitter: within +-jitter, order kept. */
	set(&d, "jitter", 50);
	chain1(&c, &r, &d);
	for (uint64_t i = 0; i < 1000; i++)
		tx_chain_feed(&c, i, 1, i * 200000, 0); /* 200 ms apart: none clamped */
	assert_ordered(&r, 0);
	int spread_low = 0, spread_high = 0;
	for (size_t i = 0; i < r.n; i++) {
		uint64_t in = i * 200000;
		assert_true(r.out[i].due_us >= in + 50000);
		assert_true(r.out[i].due_us <= in + 150000);
		spread_low += r.out[i].due_us < in + 80000;
		spread_high += r.out[i].due_us > in + 120000;
	}
	assert_true(spread_low > 100 && spread_high > 100);
	tx_chain_free(&c);

	/* Chunks closer together than the jitter: a later one never overtakes. */
	chain1(&c, &r, &d);
	for (uint64_t i = 0; i < 1000; i++)
		tx_chain_feed(&c, i, 1, i * 10, 0);
	assert_ordered(&r, 0);
	tx_chain_free(&c);
}

static void test_bandwidth(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("bandwidth");
	set(&d, "rate", 10); /* 10,000 bytes/s: 100 bytes per 10 ms piece */
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 10000, 1000, 0);
	uint64_t last;
	assert_int_equal(passed(&r, &last), 10000);
	assert_int_equal(r.n, 100);
	assert_int_equal(last, 1000 + 1000000); /* one second for 10,000 bytes */
	assert_ordered(&r, 0);
	/* Idle, then more: no credit saved up beyond the link being free. */
	tx_chain_feed(&c, 10000, 100, 5000000, 0);
	assert_int_equal(r.out[r.n - 1].due_us, 5000000 + 10000);
	/* The end waits behind the bytes. */
	tx_chain_feed(&c, 10100, 1000, 6000000, 0);
	tx_chain_feed(&c, 11100, 0, 6000000, TX_EOF);
	assert_true(r.out[r.n - 1].flags & TX_EOF);
	assert_int_equal(r.out[r.n - 1].due_us, 6000000 + 100000);
	tx_chain_free(&c);
}

static void test_slicer(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("slicer");
	set(&d, "average_size", 10);
	set(&d, "delay", 500);
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 95, 1000, 0);
	assert_int_equal(r.n, 10);
	assert_int_equal(r.out[9].len, 5);
	assert_int_equal(r.out[0].due_us, 1000);
	assert_int_equal(r.out[9].due_us, 1000 + 9 * 500);
	assert_ordered(&r, 0);
	tx_chain_free(&c);

	set(&d, "size_variation", 5);
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 10000, 0, 0);
	assert_ordered(&r, 0);
	for (size_t i = 0; i + 1 < r.n; i++)
		assert_true(r.out[i].len >= 5 && r.out[i].len <= 15);
	tx_chain_free(&c);
}

static void test_limit_data(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("limit_data");
	set(&d, "bytes", 150);
	d.id = 3;
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 100, 10, 0);
	assert_int_equal(r.ends, 0);
	tx_chain_feed(&c, 100, 100, 20, 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.out[1].len, 50);
	assert_false(r.out[1].flags & TX_DROP);
	assert_int_equal(r.out[2].len, 50);
	assert_true(r.out[2].flags & TX_DROP);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.end_id, 3);
	assert_int_equal(r.end_how, TX_END_CLOSE);
	assert_int_equal(r.end_due, 20);
	tx_chain_feed(&c, 200, 10, 30, 0);
	assert_true(r.out[3].flags & TX_DROP);
	assert_int_equal(r.ends, 1);
	tx_chain_free(&c);
}

static void test_slow_close(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("slow_close");
	set(&d, "delay", 3000);
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 10, 100, 0);
	tx_chain_feed(&c, 10, 0, 200, TX_EOF);
	assert_int_equal(r.out[0].due_us, 100);
	assert_int_equal(r.out[1].due_us, 200 + 3000000);
	tx_chain_free(&c);
}

static void test_timeout_and_reset(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("timeout");
	set(&d, "timeout", 2000);
	chain1(&c, &r, &d);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.end_due, 1000 + 2000000);
	assert_int_equal(r.end_how, TX_END_CLOSE);
	tx_chain_feed(&c, 0, 10, 5000, 0);
	assert_true(r.out[0].flags & TX_DROP);
	tx_chain_free(&c);

	set(&d, "timeout", 0); /* held for good: no end */
	chain1(&c, &r, &d);
	assert_int_equal(r.ends, 0);
	tx_chain_free(&c);

	d = def("reset_peer");
	set(&d, "timeout", 500);
	chain1(&c, &r, &d);
	assert_int_equal(r.end_how, TX_END_RESET);
	assert_int_equal(r.end_due, 1000 + 500000);
	tx_chain_feed(&c, 0, 10, 5000, 0);
	assert_false(r.out[0].flags & TX_DROP);
	assert_int_equal(r.out[0].due_us, 5000);
	tx_chain_free(&c);
}

static void test_blackhole(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("blackhole");
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 10, 5000, 0);
	tx_chain_feed(&c, 10, 0, 6000, TX_EOF);
	assert_true(r.out[0].flags & TX_DROP);
	assert_true(r.out[1].flags & TX_DROP); /* the FIN too */
	tx_chain_free(&c);
	set(&d, "window", 1);
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 10, 5000, 0);
	assert_false(r.out[0].flags & TX_DROP);
	assert_int_equal(r.out[0].due_us, TX_NEVER); /* held: reading stops */
	tx_chain_free(&c);
}

static void test_mtu_blackhole(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("mtu_blackhole");
	set(&d, "mtu", 1000);
	chain1(&c, &r, &d);
	/* A ServerHello record (90), then the certificate's (1500) and a small
	 * one after it, all in one read. */
	tx_chain_unit(&c, 0, 90);
	tx_chain_unit(&c, 90, 1500);
	tx_chain_unit(&c, 1590, 60);
	tx_chain_feed(&c, 0, 1650, 100, 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.out[0].len, 90);
	assert_false(r.out[0].flags & TX_DROP);
	assert_int_equal(r.out[1].off, 90);
	assert_int_equal(r.out[1].len, 1560);
	assert_true(r.out[1].flags & TX_DROP);
	tx_chain_unit(&c, 1650, 20);
	tx_chain_feed(&c, 1650, 20, 200, 0);
	assert_true(r.out[2].flags & TX_DROP); /* nothing after the lost one */
	tx_chain_free(&c);

	chain1(&c, &r, &d); /* every unit small: all pass */
	for (uint64_t i = 0; i < 10; i++) {
		tx_chain_unit(&c, i * 1000, 1000);
		tx_chain_feed(&c, i * 1000, 1000, 100, 0);
	}
	uint64_t last;
	assert_int_equal(passed(&r, &last), 10000);
	tx_chain_free(&c);
}

static void test_loss(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def d = def("loss");
	set(&d, "rate", 0);
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 14480, 100, 0);
	assert_int_equal(r.n, 10);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.out[i].due_us, 100);
	tx_chain_free(&c);

	/* A quarter of the segments lost: every delay a sum of doubling
	 * timeouts, the stream in order, a share of about 25% delayed. */
	set(&d, "rate", 0.25);
	set(&d, "retransmit_ms", 200);
	chain1(&c, &r, &d);
	for (uint64_t i = 0; i < 2000; i++)
		tx_chain_feed(&c, i * 1448, 1448, i * 60000000, 0);
	assert_ordered(&r, 0);
	int delayed = 0;
	for (size_t i = 0; i < r.n; i++) {
		uint64_t extra = r.out[i].due_us - i * 60000000;
		if (extra) {
			delayed++;
			uint64_t t = extra / 200000;
			assert_int_equal(extra % 200000, 0);
			assert_int_equal(t & (t + 1), 0); /* 1, 3, 7, ...: 200 ms doubling */
		}
	}
	assert_true(delayed > 400 && delayed < 600);
	tx_chain_free(&c);

	/* The same seed, the same run. */
	struct rec r2;
	const struct tx_stage_def *defs[] = {&d};
	memset(&r2, 0, sizeof r2);
	tx_chain_init(&c, defs, 1, 42, 1000, &r2, sink, end, fired);
	for (uint64_t i = 0; i < 2000; i++)
		tx_chain_feed(&c, i * 1448, 1448, i * 60000000, 0);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r2.out[i].due_us, r.out[i].due_us);
	tx_chain_free(&c);
}

static void test_triggers(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	/* after_bytes: the segment is split at the offset. */
	struct tx_stage_def d = def("blackhole");
	d.after_bytes = 25;
	d.id = 7;
	chain1(&c, &r, &d);
	assert_int_equal(r.fires, 0);
	tx_chain_feed(&c, 0, 10, 10, 0);
	tx_chain_feed(&c, 10, 30, 20, 0);
	assert_int_equal(r.fires, 1);
	assert_int_equal(r.fired_id, 7);
	assert_int_equal(r.fired_off, 25);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.out[1].len, 15);
	assert_false(r.out[1].flags & TX_DROP);
	assert_int_equal(r.out[2].off, 25);
	assert_true(r.out[2].flags & TX_DROP);
	tx_chain_free(&c);

	/* from_phase: nothing until the phase, then the stage is on. */
	d = def("latency");
	set(&d, "latency", 300);
	d.from_phase = 5;
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 10, 10, 0);
	tx_chain_phase(&c, 4, 10, 20);
	tx_chain_feed(&c, 10, 10, 30, 0);
	assert_int_equal(r.fires, 0);
	tx_chain_phase(&c, 6, 20, 40); /* a later phase: started too */
	assert_int_equal(r.fires, 1);
	assert_int_equal(r.fired_off, 20);
	tx_chain_feed(&c, 20, 10, 50, 0);
	assert_int_equal(r.out[0].due_us, 10);
	assert_int_equal(r.out[1].due_us, 30);
	assert_int_equal(r.out[2].due_us, 50 + 300000);
	tx_chain_free(&c);

	/* from_phase, told where the phase began: a phase whose start is still
	 * ahead of the bytes fed splits them there; one already behind them
	 * starts the stage at once. */
	d = def("blackhole");
	d.from_phase = 5;
	d.id = 9;
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 10, 10, 0);
	uint64_t began[8] = {TX_NEVER, TX_NEVER, TX_NEVER, TX_NEVER, TX_NEVER, 14, 14, TX_NEVER};
	tx_chain_phase_at(&c, 6, began, 10, 20);
	assert_int_equal(r.fires, 0);
	tx_chain_feed(&c, 10, 10, 30, 0);
	assert_int_equal(r.fires, 1);
	assert_int_equal(r.fired_off, 14);
	assert_int_equal(r.n, 3);
	assert_false(r.out[1].flags & TX_DROP); /* [10, 14): before the phase */
	assert_int_equal(r.out[1].len, 4);
	assert_true(r.out[2].flags & TX_DROP);
	tx_chain_free(&c);
	chain1(&c, &r, &d);
	tx_chain_feed(&c, 0, 20, 10, 0);
	tx_chain_phase_at(&c, 6, began, 20, 20); /* began at 14, told at 20 */
	assert_int_equal(r.fires, 1);
	assert_int_equal(r.fired_off, 20);
	tx_chain_free(&c);

	/* Stacked: latency then bandwidth, in the list's order. */
	struct tx_stage_def a = def("latency"), b = def("bandwidth");
	set(&a, "latency", 100);
	set(&b, "rate", 1);
	const struct tx_stage_def *defs[] = {&a, &b};
	memset(&r, 0, sizeof r);
	tx_chain_init(&c, defs, 2, 1, 0, &r, sink, end, fired);
	assert_int_equal(r.fires, 2);
	tx_chain_feed(&c, 0, 10, 0, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.out[0].due_us, 100000 + 10000);
	tx_chain_free(&c);
}

/* A stage appended to a running chain: bytes after it pass through it,
 * after the stages already there; its trigger counts what was reached. */
static void test_append(void **state)
{
	(void)state;
	struct tx_chain c;
	struct rec r;
	struct tx_stage_def a = def("latency"), b = def("latency"), h = def("blackhole");
	set(&a, "latency", 100);
	set(&b, "latency", 50);
	b.id = 1;
	chain1(&c, &r, &a);
	tx_chain_feed(&c, 0, 10, 0, 0);
	assert_int_equal(tx_chain_append(&c, &b, 10, 5), 0);
	assert_int_equal(r.fires, 2); /* a at the init, b at once */
	assert_int_equal(r.fired_id, 1);
	assert_int_equal(r.fired_off, 10);
	tx_chain_feed(&c, 10, 10, 10, 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.out[0].due_us, 100000);      /* before b: a alone */
	assert_int_equal(r.out[1].due_us, 10 + 150000); /* a, then b */
	/* A phase already reached starts an appended stage at once; a later
	 * one waits for it; an offset already passed starts it too. */
	tx_chain_phase(&c, 4, 20, 20);
	h.id = 2;
	h.from_phase = 6;
	assert_int_equal(tx_chain_append(&c, &h, 20, 25), 0);
	assert_int_equal(r.fires, 2);
	tx_chain_feed(&c, 20, 5, 30, 0);
	assert_false(r.out[r.n - 1].flags & TX_DROP);
	tx_chain_phase(&c, 6, 25, 40);
	assert_int_equal(r.fires, 3);
	tx_chain_feed(&c, 25, 5, 50, 0);
	assert_true(r.out[r.n - 1].flags & TX_DROP);
	struct tx_stage_def late = def("blackhole");
	late.id = 3;
	late.after_bytes = 5;
	assert_int_equal(tx_chain_append(&c, &late, 30, 60), 0);
	assert_int_equal(r.fires, 4);
	assert_int_equal(r.fired_off, 30);
	assert_ordered(&r, 0);
	tx_chain_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_registry),          cmocka_unit_test(test_latency),
	        cmocka_unit_test(test_bandwidth),         cmocka_unit_test(test_slicer),
	        cmocka_unit_test(test_limit_data),        cmocka_unit_test(test_slow_close),
	        cmocka_unit_test(test_timeout_and_reset), cmocka_unit_test(test_blackhole),
	        cmocka_unit_test(test_mtu_blackhole),     cmocka_unit_test(test_loss),
	        cmocka_unit_test(test_triggers),          cmocka_unit_test(test_append),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
