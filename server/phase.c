/* phase.c — names and meanings of the connection phases (see phase.h).
 *
 * The FreeRDP mapping follows rdp_server_transition_to_state() in FreeRDP
 * 2.11: the server never enters MCS_CHANNEL_JOIN itself (it goes from
 * ATTACH_USER to RDP_SECURITY_COMMENCEMENT once every channel is joined),
 * and it enters LICENSING as soon as the Client Info PDU is read, so those
 * states mark `channel-join` and `client-info`. */
#include "phase.h"

#include <string.h>

static const struct {
	const char *name;
	const char *when;
} phases[PH_COUNT] = {
    [PH_NONE] = {"none", "before anything happened"},
    [PH_TCP_ACCEPT] = {"tcp-accept", "the harness accepted the TCP connection"},
    [PH_X224_REQUEST] = {"x224-request", "the client's whole X.224 Connection Request arrived"},
    [PH_X224_CONFIRM] = {"x224-confirm", "the server's X.224 Connection Confirm left for the client"},
    [PH_TLS_CLIENT_HELLO] = {"tls-client-hello", "the client's TLS ClientHello record arrived"},
    [PH_TLS_SERVER_HELLO] = {"tls-server-hello", "the server's TLS ServerHello record left"},
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
    [PH_LICENSING] = {"licensing", "the server began licensing (its first licensing PDU)"},
    [PH_CAPABILITIES] = {"capabilities", "the server sent Demand Active"},
    [PH_CONFIRM_ACTIVE] = {"confirm-active", "the client's Confirm Active was read"},
    [PH_FINALIZATION] = {"finalization",
                         "the server sent its Synchronize and Control (Cooperate) PDUs"},
    [PH_ACTIVE] = {"active", "the connection sequence completed; the session is active"},
};

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
