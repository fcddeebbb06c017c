/* warmup.c — FreeRDP 2.11's lazily made statics, made once up front (see
 * warmup.h): one throw-away peer on a socketpair makes the transport's
 * socket BIO methods; a TLS accept with no key makes the TLS BIO method
 * and fails before any handshake. */
#include "freerdp/warmup.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <freerdp/crypto/tls.h>
#include <freerdp/peer.h>
#include <openssl/bio.h>

int freerdp_warm_statics(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	int rc = -1;
	freerdp_peer *p = freerdp_peer_new(sv[0]);
	if (p) {
		p->ContextSize = sizeof(rdpContext);
		if (freerdp_peer_context_new(p)) {
			rdpTls *tls = tls_new(p->settings);
			BIO *under = BIO_new(BIO_s_mem());
			if (tls && under) {
				/* No key in these settings: it stops right after
				 * making its BIO, and frees `under` with its own. */
				(void)tls_accept(tls, under, p->settings);
				under = NULL;
				rc = 0;
			}
			BIO_free(under);
			tls_free(tls);
			freerdp_peer_context_free(p);
		}
		freerdp_peer_free(p);
	}
	/* The transport closes its socket; close it if it did not. */
	if (fcntl(sv[0], F_GETFD) != -1)
		close(sv[0]);
	close(sv[1]);
	return rc;
}
