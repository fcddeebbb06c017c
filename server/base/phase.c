/* phase.c — names and meanings of the connection phases (see phase.h).
 *
 * The FreeRDP mapping follows rdp_server_transition_to_state() in FreeRDP
 * 2.11: the server never enters MCS_CHANNEL_JOIN itself (it goes from
 * ATTACH_USER to RDP_SECURITY_COMMENCEMENT once every channel is joined),
 * and it enters LICENSING as soon as the Client Info PDU is read, so those
 * states mark `channel-join` and `client-info`. */
#include "base/phase.h"

#include <string.h>

static const struct {
	const char *name;
	const char *when;
} phases[PH_COUNT] = {
        [PH_NONE] = {"none", "before anything happened"},
        [PH_TCP_ACCEPT] = {"tcp-accept", "the harness accepted the TCP connection"},
        [PH_X224_REQUEST] = {"x224-request", "the client's whole X.224 Connection Request arrived"},
        [PH_X224_CONFIRM] = {"x224-confirm",
                             "the server's X.224 Connection Confirm left for the client"},
        [PH_TLS_CLIENT_HELLO] = {"tls-client-hello", "the client's TLS ClientHello record arrived"},
        [PH_TLS_SERVER_HELLO] = {"tls-server-hello", "the server's TLS ServerHello went out"},
        [PH_TLS_FINISHED] = {"tls-finished", "the server completed the TLS handshake"},
        [PH_CREDSSP] = {"credssp", "CredSSP (NLA) began inside TLS"},
        [PH_MCS_CONNECT] = {"mcs-connect",
                            "the MCS Connect Initial was read and the Connect Response sent"},
        [PH_ERECT_DOMAIN] = {"erect-domain", "the MCS Erect Domain Request was read"},
        [PH_ATTACH_USER] = {"attach-user", "the MCS Attach User Request was read and confirmed"},
        [PH_CHANNEL_JOIN] = {"channel-join", "every MCS Channel Join Request was confirmed"},
        [PH_SECURITY_EXCHANGE] = {"security-exchange",
                                  "RDP Standard Security: the Security Exchange PDU was read"},
        [PH_CLIENT_INFO] = {"client-info", "the Client Info PDU was read"},
        [PH_LICENSING] = {"licensing", "the server began licensing (FreeRDP's license callback)"},
        [PH_CAPABILITIES] = {"capabilities", "the server sent Demand Active"},
        [PH_CONFIRM_ACTIVE] = {"confirm-active", "the client's Confirm Active was read"},
        [PH_FINALIZATION] = {"finalization",
                             "the server sent its Synchronize and Control (Cooperate, Granted "
                             "Control) PDUs"},
        [PH_ACTIVE] = {"active", "the connection sequence completed; the session is active"},
};

/* Five characters at most: a template's instances are aliased PREFIX-CODE
 * (close-at-finalization is cls-final), short enough for the nine
 * characters of mstsc's cookie. */
static const char *const short_codes[PH_COUNT] = {
        [PH_NONE] = "none",
        [PH_TCP_ACCEPT] = "tcp",
        [PH_X224_REQUEST] = "x224r",
        [PH_X224_CONFIRM] = "x224c",
        [PH_TLS_CLIENT_HELLO] = "tlsch",
        [PH_TLS_SERVER_HELLO] = "tlssh",
        [PH_TLS_FINISHED] = "tlsfn",
        [PH_CREDSSP] = "cssp",
        [PH_MCS_CONNECT] = "mcs",
        [PH_ERECT_DOMAIN] = "erect",
        [PH_ATTACH_USER] = "attch",
        [PH_CHANNEL_JOIN] = "join",
        [PH_SECURITY_EXCHANGE] = "secx",
        [PH_CLIENT_INFO] = "info",
        [PH_LICENSING] = "lic",
        [PH_CAPABILITIES] = "caps",
        [PH_CONFIRM_ACTIVE] = "cfma",
        [PH_FINALIZATION] = "final",
        [PH_ACTIVE] = "activ",
};

/* Where a cut (reset, close) at the phase strikes: what the server has
 * sent, what the harness has read, and whether the protocol says the
 * client waits already (immediate) or the cut waits until it fell quiet
 * (no byte for 200 ms). Either way the client's next syscall is a read. */
static const struct {
	const char *sent, *read;
	int immediate;
} strikes[PH_COUNT] = {
        [PH_TCP_ACCEPT] = {"nothing",
                           "nothing: the client's Connection Request waits unread in the socket; "
                           "the cut comes once it is whole there (or the client fell quiet)",
                           1},
        [PH_X224_REQUEST] = {"nothing", "the Connection Request", 1},
        [PH_X224_CONFIRM] = {"the Connection Confirm",
                             "the client's answer to it (its TLS ClientHello; under RDP Standard "
                             "Security its MCS Connect Initial), which FreeRDP never gets",
                             0},
        [PH_TLS_CLIENT_HELLO] = {"the Connection Confirm",
                                 "the TLS ClientHello, which FreeRDP never gets; the client waits "
                                 "for the ServerHello",
                                 1},
        [PH_TLS_SERVER_HELLO] =
                {"the server's whole first TLS flight (TLS 1.3: ServerHello to "
                 "Finished; TLS 1.2: to ServerHelloDone); with flight: first-record, "
                 "the ServerHello record alone (the client then waits for the rest)",
                 "the client's answer to the flight (its Finished and, under TLS 1.3, "
                 "what it sends next), which FreeRDP never gets",
                 0},
        [PH_TLS_FINISHED] =
                {"the whole TLS handshake (TLS 1.3: and the session tickets)",
                 "the client's Finished; what it sends next (its MCS Connect Initial or "
                 "first TSRequest) FreeRDP never gets",
                 0},
        [PH_CREDSSP] = {"the whole TLS handshake",
                        "the client's Finished; its first TSRequest FreeRDP never gets", 0},
        [PH_MCS_CONNECT] = {"the MCS Connect Response",
                            "the MCS Connect Initial; the client's Erect Domain and Attach User "
                            "Requests FreeRDP never gets",
                            0},
        [PH_ERECT_DOMAIN] = {"the MCS Connect Response",
                             "the Erect Domain Request; the Attach User Request is never answered",
                             0},
        [PH_ATTACH_USER] = {"the Attach User Confirm",
                            "the Attach User Request; the client's first Channel Join Request is "
                            "never answered",
                            0},
        [PH_CHANNEL_JOIN] = {"the last Channel Join Confirm",
                             "every Channel Join Request; what the client sends next (Security "
                             "Exchange, Client Info) is never answered",
                             0},
        [PH_SECURITY_EXCHANGE] = {"the last Channel Join Confirm",
                                  "the Security Exchange PDU; the Client Info is never answered",
                                  0},
        [PH_CLIENT_INFO] = {"the last Channel Join Confirm", "the Client Info PDU", 0},
        [PH_LICENSING] = {"the server's licensing PDU (a stall or delay holds it instead)",
                          "the Client Info PDU", 0},
        [PH_CAPABILITIES] = {"Demand Active",
                             "what the client sent before it; its Confirm Active and the PDUs it "
                             "sends with it are never answered",
                             0},
        [PH_CONFIRM_ACTIVE] = {"Demand Active, nothing since",
                               "the Confirm Active; the finalization PDUs the client sends without "
                               "waiting are never answered",
                               0},
        [PH_FINALIZATION] = {"Synchronize, Control Cooperate and Control Granted Control",
                             "the client's Synchronize, Control Cooperate and Request Control; its "
                             "Font List is never answered (no Font Map)",
                             0},
        [PH_ACTIVE] = {"the Font Map: the session is active",
                       "every PDU of the connection sequence; what the client sends once active "
                       "is never answered",
                       0},
};

const char *phase_strike_sent(enum phase p)
{
	return (int)p > 0 && p < PH_COUNT && strikes[p].sent ? strikes[p].sent : "";
}

const char *phase_strike_read(enum phase p)
{
	return (int)p > 0 && p < PH_COUNT && strikes[p].read ? strikes[p].read : "";
}

int phase_strike_immediate(enum phase p)
{
	return (int)p > 0 && p < PH_COUNT && strikes[p].immediate;
}

const char *phase_name(enum phase p)
{
	if ((int)p < 0 || p >= PH_COUNT)
		return "none";
	return phases[p].name;
}

const char *phase_description(enum phase p)
{
	if ((int)p < 0 || p >= PH_COUNT)
		return "";
	return phases[p].when;
}

enum phase phase_from_name(const char *name)
{
	if (!name)
		return PH_NONE;
	for (int i = 1; i < PH_COUNT; i++)
		if (strcmp(phases[i].name, name) == 0)
			return (enum phase)i;
	return PH_NONE;
}

enum phase phase_from_freerdp_state(const char *s)
{
	static const struct {
		const char *state;
		enum phase phase;
	} map[] = {
	        {"CONNECTION_STATE_MCS_CONNECT", PH_MCS_CONNECT},
	        {"CONNECTION_STATE_MCS_ERECT_DOMAIN", PH_ERECT_DOMAIN},
	        {"CONNECTION_STATE_MCS_ATTACH_USER", PH_ATTACH_USER},
	        {"CONNECTION_STATE_RDP_SECURITY_COMMENCEMENT", PH_CHANNEL_JOIN},
	        {"CONNECTION_STATE_LICENSING", PH_CLIENT_INFO},
	        {"CONNECTION_STATE_CAPABILITIES_EXCHANGE", PH_CAPABILITIES},
	        {"CONNECTION_STATE_FINALIZATION", PH_FINALIZATION},
	        {"CONNECTION_STATE_ACTIVE", PH_ACTIVE},
	};
	if (!s)
		return PH_NONE;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].state, s) == 0)
			return map[i].phase;
	return PH_NONE;
}

const char *phase_short(enum phase p)
{
	return (int)p >= 0 && p < PH_COUNT && short_codes[p] ? short_codes[p] : "none";
}
