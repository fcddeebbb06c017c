/* cursor.h — the one bounds-checked reader of untrusted bytes.
 *
 * Every parser of bytes a client (or a test) supplies reads through a
 * cursor: each read either takes the bytes it asks for or fails without
 * moving, so no parser can read past its input, whatever the lengths inside
 * the bytes say. Functions return 0 on success and -1 when the bytes run
 * out (or a length says more than there is). Byte order is in the name:
 * be (network order: TPKT, X.224, MCS, TLS) or le (RDP's own fields). */
#ifndef RDPFAULT_CURSOR_H
#define RDPFAULT_CURSOR_H

#include <stddef.h>
#include <stdint.h>

struct cursor {
	const uint8_t *p;
	size_t n; /* bytes left */
};

static inline struct cursor cursor_of(const void *buf, size_t len)
{
	struct cursor c = {(const uint8_t *)buf, buf ? len : 0};
	return c;
}

/* Takes k bytes (out may be NULL: skip them). */
static inline int cur_take(struct cursor *c, size_t k, const uint8_t **out)
{
	if (c->n < k)
		return -1;
	if (out)
		*out = c->p;
	c->p += k;
	c->n -= k;
	return 0;
}

static inline int cur_skip(struct cursor *c, size_t k)
{
	return cur_take(c, k, NULL);
}

/* A sub-cursor over the next k bytes, which the parent skips. */
static inline int cur_sub(struct cursor *c, size_t k, struct cursor *sub)
{
	const uint8_t *b;
	if (cur_take(c, k, &b))
		return -1;
	*sub = cursor_of(b, k);
	return 0;
}

static inline int cur_u8(struct cursor *c, unsigned *v)
{
	const uint8_t *b;
	if (cur_take(c, 1, &b))
		return -1;
	*v = b[0];
	return 0;
}

static inline int cur_be16(struct cursor *c, unsigned *v)
{
	const uint8_t *b;
	if (cur_take(c, 2, &b))
		return -1;
	*v = (unsigned)b[0] << 8 | b[1];
	return 0;
}

static inline int cur_le16(struct cursor *c, unsigned *v)
{
	const uint8_t *b;
	if (cur_take(c, 2, &b))
		return -1;
	*v = (unsigned)b[1] << 8 | b[0];
	return 0;
}

static inline int cur_le32(struct cursor *c, uint32_t *v)
{
	const uint8_t *b;
	if (cur_take(c, 4, &b))
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

/* Byte-order helpers for writers (no bounds to check: the caller owns the
 * buffer's size). */
static inline uint16_t get_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint16_t get_le16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}
static inline uint32_t get_le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline void put_be16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}
static inline void put_le16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}
static inline void put_le32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

#endif
