/* pduinfo.c — naming the PDUs of a plaintext RDP stream (see pduinfo.h).
 *
 * MS-RDPBCGR: TPKT and X.224 (2.2.1.1), the MCS DomainMCSPDU choices
 * (T.125, PER: the choice is the first byte's top six bits), the security
 * header flags (2.2.8.1.1.2.1), the share control and share data headers
 * (2.2.8.1.1.1.1, 2.2.8.1.1.1.2) and the Control PDU actions
 * (2.2.1.15.1). Every read goes through the cursor. */
#include "wire/pduinfo.h"

#include <string.h>

#include "wire/cursor.h"

#define MCS_GLOBAL_CHANNEL 1003u

static const char *share_data_name(unsigned type2, unsigned action)
{
	switch (type2) {
	case 2:
		return "update";
	case 20:
		return action == 1   ? "control-request-control"
		       : action == 2 ? "control-granted-control"
		       : action == 3 ? "control-detach"
		       : action == 4 ? "control-cooperate"
		                     : "control";
	case 28:
		return "input";
	case 31:
		return "synchronize";
	case 33:
		return "refresh-rect";
	case 34:
		return "play-sound";
	case 35:
		return "suppress-output";
	case 36:
		return "shutdown-request";
	case 37:
		return "shutdown-denied";
	case 38:
		return "save-session-info";
	case 39:
		return "font-list";
	case 40:
		return "font-map";
	case 41:
		return "set-keyboard-indicators";
	case 43:
		return "persistent-key-list";
	case 47:
		return "set-error-info";
	case 54:
		return "status-info";
	case 55:
		return "monitor-layout";
	case 56:
		return "frame-acknowledge";
	default:
		return "share-data";
	}
}

static const char *mcs_name(unsigned choice)
{
	switch (choice) {
	case 1:
		return "mcs-erect-domain-request";
	case 8:
		return PDU_NAME_ULTIMATUM;
	case 10:
		return "mcs-attach-user-request";
	case 11:
		return "mcs-attach-user-confirm";
	case 14:
		return "mcs-channel-join-request";
	case 15:
		return "mcs-channel-join-confirm";
	default:
		return "mcs";
	}
}

/* The payload of an MCS Send Data PDU: a share control PDU, or one behind
 * a security header, or a virtual channel's data. */
static void name_payload(struct cursor c, struct pduinfo *out)
{
	unsigned w0, w1;
	struct cursor peek = c;
	if (cur_le16(&peek, &w0) || cur_le16(&peek, &w1)) {
		out->name = "send-data";
		return;
	}
	unsigned t = w1 & 0xF;
	if ((w1 & 0xFFF0) == 0x0010 && (t == 1 || t == 3 || t == 6 || t == 7 || t == 10)) {
		static const char *types[] = {[1] = "demand-active",
		                              [3] = "confirm-active",
		                              [6] = "deactivate-all",
		                              [10] = "server-redirect"};
		out->share_type = t;
		if (t != 7) {
			out->name = types[t];
			return;
		}
		/* Share data header: shareId(4) pad(1) streamId(1)
		 * uncompressedLength(2) pduType2(1) compressedType(1)
		 * compressedLength(2), then the PDU (a Control PDU's action
		 * first). */
		unsigned type2 = 0, action = 0;
		struct cursor d = peek;
		cur_skip(&d, 2); /* pduSource */
		if (cur_skip(&d, 8) || cur_u8(&d, &type2)) {
			out->name = "share-data";
			return;
		}
		if (!cur_skip(&d, 3))
			cur_le16(&d, &action);
		out->data_type = type2;
		out->name = share_data_name(type2, action);
		return;
	}
	if (w0 & 0x0001)
		out->name = "security-exchange";
	else if (w0 & 0x0002)
		out->name = "initiate-multitransport-request";
	else if (w0 & 0x0004)
		out->name = "initiate-multitransport-response";
	else if (w0 & 0x0040)
		out->name = "client-info";
	else if (w0 & 0x0080)
		out->name = "license";
	else if (w0 & 0x1000)
		out->name = "autodetect-request";
	else if (w0 & 0x2000)
		out->name = "autodetect-response";
	else if (w0 & 0x4000)
		out->name = "heartbeat";
	else if (w0 & 0x0008)
		out->name = "encrypted";
	else
		out->name = out->channel != MCS_GLOBAL_CHANNEL ? "channel-data" : "send-data";
}

static void name_tpkt(struct cursor c, struct pduinfo *out)
{
	unsigned li, code, b0, b1;
	if (cur_skip(&c, 4) || cur_u8(&c, &li) || cur_u8(&c, &code)) {
		out->name = "tpkt";
		return;
	}
	code &= 0xF0;
	if (code == 0xE0) {
		out->name = "x224-connection-request";
		return;
	}
	if (code == 0xD0) {
		out->name = "x224-connection-confirm";
		return;
	}
	if (code != 0xF0 || cur_skip(&c, 1) || cur_u8(&c, &b0)) {
		out->name = "x224";
		return;
	}
	if (b0 == 0x7F) {
		if (cur_u8(&c, &b1))
			b1 = 0;
		out->name = b1 == 0x65   ? "mcs-connect-initial"
		            : b1 == 0x66 ? "mcs-connect-response"
		                         : "mcs";
		return;
	}
	unsigned choice = b0 >> 2;
	if (choice != 25 && choice != 26) {
		out->name = mcs_name(choice);
		return;
	}
	/* Send Data Request/Indication: initiator, channelId, dataPriority and
	 * segmentation, then a PER length. */
	unsigned initiator, channel, flags, l0, l1;
	if (cur_be16(&c, &initiator) || cur_be16(&c, &channel) || cur_u8(&c, &flags) ||
	    cur_u8(&c, &l0)) {
		out->name = "send-data";
		return;
	}
	if ((l0 & 0x80) && cur_u8(&c, &l1)) {
		out->name = "send-data";
		return;
	}
	out->channel = channel;
	name_payload(c, out);
}

void pduinfo_name(const uint8_t *head, size_t headlen, size_t length, struct pduinfo *out)
{
	memset(out, 0, sizeof(*out));
	out->length = length;
	if (headlen == 0) {
		out->name = "empty";
		return;
	}
	if (head[0] == 0x03)
		name_tpkt(cursor_of(head, headlen), out);
	else if (head[0] == 0x30)
		out->name = "tsrequest";
	else if ((head[0] & 0x3) == 0)
		out->name = "fastpath";
	else
		out->name = "unframed";
}

/* The unit's length from its first bytes: 0 when more are needed, -1 when
 * the stream is not framed. DER is read only before the first X.224 Data
 * TPDU (CredSSP comes after the Connection Request and Confirm and before
 * MCS; after it, 0x30 is a fast-path header). */
static long unit_length(const struct pdutap *t)
{
	const uint8_t *h = t->head;
	size_t n = t->have;
	if (n < 2)
		return 0;
	if (h[0] == 0x03) {
		if (n < 4)
			return 0;
		long len = get_be16(h + 2);
		return len >= 7 ? len : -1;
	}
	if (h[0] == 0x30 && t->units_data == 0) {
		if (h[1] < 0x80)
			return 2 + h[1];
		size_t k = h[1] & 0x7F;
		if (k == 0 || k > 4)
			return -1;
		if (n < 2 + k)
			return 0;
		long len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | h[2 + i];
		return 2 + (long)k + len;
	}
	if ((h[0] & 0x3) == 0) {
		if (!(h[1] & 0x80))
			return h[1] >= 2 ? h[1] : -1;
		if (n < 3)
			return 0;
		long len = (long)(h[1] & 0x7F) << 8 | h[2];
		return len >= 3 ? len : -1;
	}
	return -1;
}

void pdutap_feed(struct pdutap *t, const uint8_t *buf, size_t len, pdutap_fn fn, void *arg)
{
	while (len > 0 && !t->lost) {
		if (t->length == 0) {
			/* Collect the header, a byte at a time until its length is
			 * known. */
			t->head[t->have++] = *buf++;
			len--;
			t->pos++;
			long l = unit_length(t);
			if (l < 0) {
				struct pduinfo u = {.name = "unframed", .length = t->pos};
				t->lost = 1;
				if (fn)
					fn(arg, &u);
				return;
			}
			if (l > 0)
				t->length = (size_t)l;
		} else {
			size_t want = t->length - t->pos;
			size_t k = len < want ? len : want;
			size_t room = sizeof(t->head) - t->have;
			size_t keep = k < room ? k : room;
			memcpy(t->head + t->have, buf, keep);
			t->have += keep;
			t->pos += k;
			buf += k;
			len -= k;
		}
		if (t->length && t->pos == t->length) {
			struct pduinfo u;
			pduinfo_name(t->head, t->have, t->length, &u);
			if (t->head[0] == 0x03 && t->have >= 6 && (t->head[5] & 0xF0) == 0xF0)
				t->units_data++;
			t->units++;
			t->have = t->pos = t->length = 0;
			if (fn)
				fn(arg, &u);
		}
	}
}
