/* multitransport.c — multitransport bootstrapping PDUs (see
 * multitransport.h). Every read goes through struct cur, which never
 * passes its end. */
#include "faults/multitransport.h"

#include <string.h>

#define CS_MCS_MSGCHANNEL 0xC006u
#define CS_MULTITRANSPORT 0xC00Au
#define SC_MCS_MSGCHANNEL 0x0C04u
#define SC_MULTITRANSPORT 0x0C08u
#define SEC_TRANSPORT_REQ 0x0002u
#define SEC_TRANSPORT_RSP 0x0004u
#define MCS_BASE_CHANNEL_ID 1001u
#define MCS_SDRQ 25 /* DomainMCSPDU choice: Send Data Request */
#define MCS_SDIN 26 /* Send Data Indication */
#define MCS_AUCF 11 /* Attach User Confirm */

struct cur {
	const uint8_t *p;
	size_t n;
};

static int take(struct cur *c, size_t k, const uint8_t **out)
{
	if (c->n < k)
		return -1;
	if (out)
		*out = c->p;
	c->p += k;
	c->n -= k;
	return 0;
}

static int u8(struct cur *c, unsigned *v)
{
	const uint8_t *b;
	if (take(c, 1, &b))
		return -1;
	*v = b[0];
	return 0;
}

static uint16_t le16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}
static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static void put16le(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}
static void put32le(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* BER length: short form, or 0x81/0x82 with one or two bytes. */
static int ber_len(struct cur *c, size_t *len)
{
	unsigned b, x;
	if (u8(c, &b))
		return -1;
	if (b < 0x80) {
		*len = b;
		return 0;
	}
	size_t k = b & 0x7F, v = 0;
	if (k == 0 || k > 2)
		return -1;
	while (k--) {
		if (u8(c, &x))
			return -1;
		v = v << 8 | x;
	}
	*len = v;
	return 0;
}

/* PER length: one byte, or two with the top bit set. */
static int per_len(struct cur *c, size_t *len)
{
	unsigned b, x;
	if (u8(c, &b))
		return -1;
	if (!(b & 0x80)) {
		*len = b;
		return 0;
	}
	if (u8(c, &x))
		return -1;
	*len = (size_t)(b & 0x7F) << 8 | x;
	return 0;
}

/* Bytes a BER length takes: at least `min` (the form FreeRDP chose:
 * the harness keeps its framing), more when the value needs them. */
static size_t ber_len_size(size_t len, size_t min)
{
	size_t need = len < 0x80 ? 1 : len <= 0xFF ? 2 : 3;
	return need > min ? need : min;
}

static size_t put_ber_len(uint8_t *o, size_t len, size_t size)
{
	if (size == 1) {
		o[0] = (uint8_t)len;
		return 1;
	}
	if (size == 2) {
		o[0] = 0x81;
		o[1] = (uint8_t)len;
		return 2;
	}
	o[0] = 0x82;
	o[1] = (uint8_t)(len >> 8);
	o[2] = (uint8_t)len;
	return 3;
}

static size_t put_per_len(uint8_t *o, size_t len, size_t size)
{
	if (size == 1) {
		o[0] = (uint8_t)len;
		return 1;
	}
	o[0] = (uint8_t)(0x80 | len >> 8);
	o[1] = (uint8_t)len;
	return 2;
}

/* TPKT (total bytes) and X.224 Data headers: 7 bytes. */
static void put_tpkt(uint8_t *o, size_t total)
{
	o[0] = 0x03;
	o[1] = 0;
	o[2] = (uint8_t)(total >> 8);
	o[3] = (uint8_t)total;
	o[4] = 0x02;
	o[5] = 0xF0;
	o[6] = 0x80;
}

/* TPKT and X.224 Data: leaves c on the payload, exactly the TPKT's. */
static int tpkt_data(const uint8_t *pdu, size_t len, struct cur *c)
{
	if (len < 7 || pdu[0] != 0x03 || pdu[1] != 0)
		return -1;
	size_t tl = (size_t)pdu[2] << 8 | pdu[3];
	if (tl != len || pdu[4] != 0x02 || pdu[5] != 0xF0 || pdu[6] != 0x80)
		return -1;
	c->p = pdu + 7;
	c->n = len - 7;
	return 0;
}

/* A BER element: tag bytes as given, its content in *body. */
static int ber_elem(struct cur *c, const uint8_t *tag, size_t tag_len, struct cur *body)
{
	const uint8_t *t;
	size_t l;
	if (take(c, tag_len, &t) || memcmp(t, tag, tag_len) || ber_len(c, &l) ||
	    take(c, l, &body->p))
		return -1;
	body->n = l;
	return 0;
}

/* Skips any BER element with a one-byte tag. */
static int ber_skip(struct cur *c, unsigned *tag)
{
	size_t l;
	if (u8(c, tag) || ber_len(c, &l) || take(c, l, NULL))
		return -1;
	return 0;
}

/* In a GCC Conference Create Request/Response, the user data blocks after
 * the H.221 key (4 bytes) and their PER length; they fill the rest. */
static int gcc_blocks(struct cur *gcc, const char key[4], struct cur *blocks, size_t *key_end)
{
	const uint8_t *start = gcc->p;
	for (size_t i = 0; i + 4 <= gcc->n; i++) {
		if (memcmp(gcc->p + i, key, 4))
			continue;
		struct cur c = {gcc->p + i + 4, gcc->n - i - 4};
		size_t l;
		if (per_len(&c, &l) || l != c.n)
			return -1;
		*blocks = c;
		if (key_end)
			*key_end = (size_t)(gcc->p + i + 4 - start);
		return 0;
	}
	return -1;
}

/* Walks data blocks (type, length, body); calls fn for each. */
static int walk_blocks(struct cur b, void (*fn)(void *, uint16_t, const uint8_t *, size_t),
                       void *arg)
{
	while (b.n > 0) {
		const uint8_t *h, *body;
		if (take(&b, 4, &h))
			return -1;
		uint16_t type = le16(h), bl = le16(h + 2);
		if (bl < 4 || take(&b, (size_t)bl - 4, &body))
			return -1;
		fn(arg, type, body, (size_t)bl - 4);
	}
	return 0;
}

static void client_block(void *arg, uint16_t type, const uint8_t *body, size_t len)
{
	struct mt_client_data *d = arg;
	if (type == CS_MULTITRANSPORT && len >= 4) {
		d->has_multitransport = 1;
		d->flags = le32(body);
	} else if (type == CS_MCS_MSGCHANNEL) {
		d->has_msgchannel = 1;
	}
}

int mt_parse_connect_initial(const uint8_t *pdu, size_t len, struct mt_client_data *out,
                             const char **why)
{
	static const uint8_t ci_tag[2] = {0x7F, 0x65};
	struct cur c, ci, ud;
	unsigned tag = 0;
	memset(out, 0, sizeof(*out));
	*why = "not an MCS Connect Initial (TPKT, X.224 Data, BER tag 0x7F65)";
	if (tpkt_data(pdu, len, &c) || ber_elem(&c, ci_tag, 2, &ci))
		return -1;
	/* callingDomainSelector, calledDomainSelector, upwardFlag, three
	 * DomainParameters, then userData. */
	*why = "the Connect Initial's fields are cut short";
	for (int i = 0; i < 6; i++)
		if (ber_skip(&ci, &tag))
			return -1;
	static const uint8_t os_tag[1] = {0x04};
	if (ber_elem(&ci, os_tag, 1, &ud))
		return -1;
	struct cur blocks;
	*why = "no GCC client data blocks (H.221 key \"Duca\") fill the user data";
	if (gcc_blocks(&ud, "Duca", &blocks, NULL))
		return -1;
	*why = "a client data block overruns the user data";
	if (walk_blocks(blocks, client_block, out))
		return -1;
	*why = NULL;
	return 0;
}

struct server_blocks {
	uint16_t msgchannel;
	int has_mt;
	uint32_t mt_flags;
};

static void server_block(void *arg, uint16_t type, const uint8_t *body, size_t len)
{
	struct server_blocks *s = arg;
	if (type == SC_MCS_MSGCHANNEL && len >= 2)
		s->msgchannel = le16(body);
	else if (type == SC_MULTITRANSPORT && len >= 4) {
		s->has_mt = 1;
		s->mt_flags = le32(body);
	}
}

/* The Connect Response's parts: everything before userData inside the
 * BER Connect-Response, and userData's GCC prefix and blocks. */
struct cresp {
	struct cur inner_head; /* result, calledConnectId, domainParameters */
	struct cur gcc;        /* userData content */
	struct cur blocks;
	size_t key_end;                        /* in gcc: just past "McDn" */
	size_t app_lsize, ud_lsize, per_lsize; /* the sizes of the three lengths */
};

static int parse_cresp(const uint8_t *pdu, size_t len, struct cresp *r, const char **why)
{
	static const uint8_t cr_tag[2] = {0x7F, 0x66};
	static const uint8_t os_tag[1] = {0x04};
	struct cur c, cr;
	unsigned tag;
	*why = "not an MCS Connect Response (TPKT, X.224 Data, BER tag 0x7F66)";
	if (tpkt_data(pdu, len, &c) || ber_elem(&c, cr_tag, 2, &cr) || c.n != 0)
		return -1;
	*why = "the Connect Response's fields are cut short";
	r->inner_head.p = cr.p;
	r->app_lsize = (size_t)(cr.p - (pdu + 9));
	for (int i = 0; i < 3; i++) /* result, calledConnectId, domainParameters */
		if (ber_skip(&cr, &tag))
			return -1;
	r->inner_head.n = (size_t)(cr.p - r->inner_head.p);
	if (ber_elem(&cr, os_tag, 1, &r->gcc) || cr.n != 0)
		return -1;
	*why = "no GCC server data blocks (H.221 key \"McDn\") fill the user data";
	if (gcc_blocks(&r->gcc, "McDn", &r->blocks, &r->key_end))
		return -1;
	r->ud_lsize = (size_t)(r->gcc.p - (r->inner_head.p + r->inner_head.n + 1));
	r->per_lsize = (size_t)(r->blocks.p - (r->gcc.p + r->key_end));
	return 0;
}

int mt_parse_connect_response(const uint8_t *pdu, size_t len, uint16_t *msgchannel,
                              int *has_multitransport, uint32_t *mt_flags, const char **why)
{
	struct cresp r;
	struct server_blocks sb = {0, 0, 0};
	if (parse_cresp(pdu, len, &r, why))
		return -1;
	*why = "a server data block overruns the user data";
	if (walk_blocks(r.blocks, server_block, &sb))
		return -1;
	*msgchannel = sb.msgchannel;
	*has_multitransport = sb.has_mt;
	*mt_flags = sb.mt_flags;
	*why = NULL;
	return 0;
}

size_t mt_add_server_multitransport(const uint8_t *pdu, size_t len, uint32_t flags, uint8_t *out,
                                    size_t cap, const char **why)
{
	uint16_t ch;
	int has;
	uint32_t f;
	struct cresp r;
	if (mt_parse_connect_response(pdu, len, &ch, &has, &f, why) ||
	    parse_cresp(pdu, len, &r, why))
		return 0;
	if (has) {
		*why = "the Connect Response already carries Server Multitransport Channel "
		       "Data";
		return 0;
	}
	size_t blocks_len = r.blocks.n + 8;
	size_t per_size = blocks_len < 0x80 && r.per_lsize < 2 ? 1 : 2;
	size_t gcc_len = r.key_end + per_size + blocks_len;
	size_t ud_size = ber_len_size(gcc_len, r.ud_lsize);
	size_t inner_len = r.inner_head.n + 1 + ud_size + gcc_len;
	size_t app_size = ber_len_size(inner_len, r.app_lsize);
	size_t total = 7 + 2 + app_size + inner_len;
	if (total > 0xFFFF || total > cap || blocks_len > 0x3FFF) {
		*why = "no room for the grown Connect Response";
		return 0;
	}
	uint8_t *o = out;
	put_tpkt(o, total);
	o += 7;
	*o++ = 0x7F;
	*o++ = 0x66;
	o += put_ber_len(o, inner_len, app_size);
	memcpy(o, r.inner_head.p, r.inner_head.n);
	o += r.inner_head.n;
	*o++ = 0x04;
	o += put_ber_len(o, gcc_len, ud_size);
	memcpy(o, r.gcc.p, r.key_end);
	o += r.key_end;
	o += put_per_len(o, blocks_len, per_size);
	memcpy(o, r.blocks.p, r.blocks.n);
	o += r.blocks.n;
	put16le(o, SC_MULTITRANSPORT);
	put16le(o + 2, 8);
	put32le(o + 4, flags);
	o += 8;
	*why = NULL;
	return (size_t)(o - out);
}

int mt_parse_attach_user_confirm(const uint8_t *pdu, size_t len, uint16_t *user_id)
{
	struct cur c;
	const uint8_t *b;
	if (tpkt_data(pdu, len, &c) || take(&c, 4, &b))
		return -1;
	/* choice (with "initiator present"), result 0, initiator. */
	if ((b[0] >> 2) != MCS_AUCF || !(b[0] & 0x02) || b[1] != 0)
		return -1;
	*user_id = (uint16_t)((b[2] << 8 | b[3]) + MCS_BASE_CHANNEL_ID);
	return 0;
}

/* Send Data Request/Indication header: choice, initiator, channel,
 * priority/segmentation, PER length of the data. */
static size_t put_senddata(uint8_t *o, unsigned choice, uint16_t initiator, uint16_t channel,
                           size_t data_len)
{
	uint16_t ini = (uint16_t)(initiator - MCS_BASE_CHANNEL_ID);
	o[0] = (uint8_t)(choice << 2);
	o[1] = (uint8_t)(ini >> 8);
	o[2] = (uint8_t)ini;
	o[3] = (uint8_t)(channel >> 8);
	o[4] = (uint8_t)channel;
	o[5] = 0x70; /* high priority, begin and end of segmentation */
	return 6 + put_per_len(o + 6, data_len, data_len < 0x80 ? 1 : 2);
}

size_t mt_request_pdu(const struct mt_request *r, uint8_t out[MT_REQUEST_PDU_LEN])
{
	put_tpkt(out, MT_REQUEST_PDU_LEN);
	uint8_t *o = out + 7;
	o += put_senddata(o, MCS_SDIN, r->initiator, r->channel, 28);
	put16le(o, SEC_TRANSPORT_REQ);
	put16le(o + 2, 0);
	put32le(o + 4, r->request_id);
	put16le(o + 8, r->protocol);
	put16le(o + 10, 0);
	memcpy(o + 12, r->cookie, MT_COOKIE_LEN);
	return MT_REQUEST_PDU_LEN;
}

size_t mt_response_pdu(uint16_t initiator, uint16_t channel, uint32_t request_id, uint32_t hr,
                       uint8_t out[MT_RESPONSE_PDU_LEN])
{
	put_tpkt(out, MT_RESPONSE_PDU_LEN);
	uint8_t *o = out + 7;
	o += put_senddata(o, MCS_SDRQ, initiator, channel, 12);
	put16le(o, SEC_TRANSPORT_RSP);
	put16le(o + 2, 0);
	put32le(o + 4, request_id);
	put32le(o + 8, hr);
	return MT_RESPONSE_PDU_LEN;
}

/* A Send Data PDU of `choice` whose basic security header has `flag`:
 * 1 with the data after the header in *body, 0 when it is something else,
 * -1 when the data is shorter than its PER length says. */
static int senddata(const uint8_t *pdu, size_t len, unsigned choice, uint16_t flag,
                    uint16_t *initiator, uint16_t *channel, struct cur *body)
{
	struct cur c;
	const uint8_t *h;
	size_t dl;
	if (tpkt_data(pdu, len, &c) || take(&c, 6, &h) || (h[0] >> 2) != choice)
		return 0;
	*initiator = (uint16_t)((h[1] << 8 | h[2]) + MCS_BASE_CHANNEL_ID);
	*channel = (uint16_t)(h[3] << 8 | h[4]);
	if (per_len(&c, &dl) || dl != c.n || c.n < 4)
		return 0;
	if (!(le16(c.p) & flag))
		return 0;
	body->p = c.p + 4;
	body->n = c.n - 4;
	return 1;
}

int mt_parse_request(const uint8_t *pdu, size_t len, uint16_t channel, struct mt_request *r)
{
	struct cur b;
	int k = senddata(pdu, len, MCS_SDIN, SEC_TRANSPORT_REQ, &r->initiator, &r->channel, &b);
	if (k <= 0 || (channel && r->channel != channel))
		return k <= 0 ? k : 0;
	if (b.n < 24)
		return -1;
	r->request_id = le32(b.p);
	r->protocol = le16(b.p + 4);
	memcpy(r->cookie, b.p + 8, MT_COOKIE_LEN);
	return 1;
}

int mt_parse_response(const uint8_t *pdu, size_t len, uint16_t channel, uint32_t *request_id,
                      uint32_t *hr)
{
	struct cur b;
	uint16_t ini, ch;
	int k = senddata(pdu, len, MCS_SDRQ, SEC_TRANSPORT_RSP, &ini, &ch, &b);
	if (k <= 0 || (channel && ch != channel))
		return k <= 0 ? k : 0;
	if (b.n < 8)
		return -1;
	*request_id = le32(b.p);
	*hr = le32(b.p + 4);
	return 1;
}

const char *mt_protocol_name(uint16_t protocol)
{
	return protocol == MT_TRANSPORTTYPE_UDPFECR   ? "reliable"
	       : protocol == MT_TRANSPORTTYPE_UDPFECL ? "lossy"
	                                              : "unknown";
}

const char *mt_hr_name(uint32_t hr)
{
	return hr == MT_E_ABORT ? "E_ABORT" : hr == MT_S_OK ? "S_OK" : NULL;
}
