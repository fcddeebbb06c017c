/* test_faults.c — the fault primitives (faults/nego, faults/credssp,
 * faults/tcp) and the plan compiler (server/faultplan): exact bytes of the
 * negotiation-failure PDU, NTSTATUS names, RST versus FIN seen from the
 * other end of a real loopback TCP connection, and every compile error
 * naming file, line and field. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "faults/codes.h"
#include "faults/credssp.h"
#include "faults/errinfo.h"
#include "catalog/faultplan.h"
#include "faults/license.h"
#include "faults/nego.h"
#include "faults/tcp.h"
#include "wire/tsrequest.h"
#include "faults/ultimatum.h"

static void test_nego_pdu_bytes(void **state)
{
	(void)state;
	uint8_t pdu[NEG_FAILURE_PDU_LEN];
	const uint8_t want[] = {0x03, 0x00, 0x00, 0x13, 0x0E, 0xD0, 0x00, 0x00, 0x12, 0x34,
	                        0x00, 0x03, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00};
	assert_int_equal(nego_failure_pdu(3, pdu), 19);
	assert_memory_equal(pdu, want, sizeof(want));
}

static void test_nego_codes(void **state)
{
	(void)state;
	uint32_t c = 0;
	assert_int_equal(nego_failure_code("SSL_CERT_NOT_ON_SERVER", &c), 0);
	assert_int_equal(c, 3);
	assert_int_equal(nego_failure_code("inconsistent_flags", &c), 0);
	assert_int_equal(c, 4);
	assert_int_equal(nego_failure_code("6", &c), 0);
	assert_int_equal(c, 6);
	assert_int_equal(nego_failure_code("0x5", &c), 0);
	assert_int_equal(c, 5);
	assert_int_equal(nego_failure_code("-1", &c), -1);
	assert_int_equal(nego_failure_code("NO_SUCH", &c), -1);
	assert_int_equal(nego_failure_code("", &c), -1);
	assert_string_equal(nego_failure_name(1), "SSL_REQUIRED_BY_SERVER");
	assert_string_equal(nego_failure_name(6), "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER");
	assert_null(nego_failure_name(0));
	assert_null(nego_failure_name(7));
}

static void test_credssp_codes(void **state)
{
	(void)state;
	uint32_t c = 0;
	assert_int_equal(credssp_status_code("STATUS_LOGON_FAILURE", &c), 0);
	assert_int_equal(c, 0xC000006D);
	assert_int_equal(credssp_status_code("account-disabled", &c), 0);
	assert_int_equal(c, 0xC0000072);
	assert_int_equal(credssp_status_code("password_must_change", &c), 0);
	assert_int_equal(c, 0xC0000224);
	assert_int_equal(credssp_status_code("0xC0000022", &c), 0);
	assert_int_equal(c, 0xC0000022);
	assert_int_equal(credssp_status_code("0x0", &c), -1);
	assert_int_equal(credssp_status_code("12", &c), -1); /* decimal is ambiguous: refused */
	assert_int_equal(credssp_status_code("STATUS_", &c), -1);
	assert_int_equal(credssp_status_code("logon", &c), -1);
}

/* A connected loopback TCP pair: [0] client, [1] accepted server side. */
static void tcp_pair(int fds[2])
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fds[0], (struct sockaddr *)&a, sizeof(a)), 0);
	fds[1] = accept(l, NULL, NULL);
	assert_true(fds[1] >= 0);
	close(l);
}

static void test_tcp_reset_is_rst(void **state)
{
	(void)state;
	int fds[2];
	char b;
	tcp_pair(fds);
	assert_int_equal(tcp_reset(fds[1]), 0);
	errno = 0;
	assert_int_equal(recv(fds[0], &b, 1, 0), -1);
	assert_int_equal(errno, ECONNRESET);
	close(fds[0]);
}

static void test_tcp_fin_keeps_reading(void **state)
{
	(void)state;
	int fds[2];
	char b;
	tcp_pair(fds);
	assert_int_equal(tcp_fin(fds[1]), 0);
	assert_int_equal(recv(fds[0], &b, 1, 0), 0); /* FIN: end of file, not an error */
	assert_int_equal(send(fds[0], "x", 1, 0), 1);
	assert_int_equal(recv(fds[1], &b, 1, 0), 1); /* the server side still reads */
	assert_int_equal(b, 'x');
	close(fds[0]);
	close(fds[1]);
}

/* Codes by name in every spelling, by number, and nothing else. */
static void test_codes(void **state)
{
	(void)state;
	uint32_t c = 0;
	assert_int_equal(license_error_code("ERR_NO_LICENSE_SERVER", &c), 0);
	assert_int_equal(c, 6);
	assert_int_equal(license_error_code("no-license-server", &c), 0);
	assert_int_equal(c, 6);
	assert_int_equal(license_error_code("err-invalid-mac", &c), 0);
	assert_int_equal(c, 3);
	assert_int_equal(license_error_code("0xC", &c), 0);
	assert_int_equal(c, 12);
	assert_int_equal(license_error_code("ERR_", &c), -1);
	assert_int_equal(license_error_code("", &c), -1);
	assert_int_equal(license_error_code("-1", &c), -1);
	assert_int_equal(license_transition_code("total-abort", &c), 0);
	assert_int_equal(c, 1);
	assert_string_equal(license_transition_name(4), "ST_RESEND_LAST_MESSAGE");
	assert_null(license_transition_name(9));
	assert_int_equal(ultimatum_reason("rn-user-requested", &c), 0);
	assert_int_equal(c, 3);
	assert_int_equal(ultimatum_reason("PROVIDER_INITIATED", &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(ultimatum_reason("5", &c), -1);
	assert_int_equal(errinfo_code("server-denied-connection", &c), 0);
	assert_int_equal(c, 7);
	assert_int_equal(errinfo_code("0", &c), -1);
	assert_int_equal(errinfo_code("ERRINFO_LICENSE_NO_LICENSE_SERVER", &c), 0);
	assert_int_equal(c, 0x101);
}

/* The "valid client" answer exactly as FreeRDP 2.11.7 writes it into TLS. */
static const uint8_t valid_client[35] = {0x03, 0x00, 0x00, 0x23, 0x02, 0xf0, 0x80, 0x68, 0x00,
                                         0x08, 0x03, 0xeb, 0x70, 0x80, 0x14, 0x80, 0x00, 0x00,
                                         0x00, 0xff, 0x03, 0x10, 0x00, 0x07, 0x00, 0x00, 0x00,
                                         0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00};

static void test_license_rewrite(void **state)
{
	(void)state;
	uint8_t pdu[sizeof(valid_client)];
	memcpy(pdu, valid_client, sizeof(pdu));
	assert_int_equal(license_error_rewrite(pdu, sizeof(pdu), 6, 1), 0);
	/* dwErrorCode and dwStateTransition changed, nothing else. */
	for (size_t i = 0; i < sizeof(pdu); i++)
		if (i < 23 || i >= 31)
			assert_int_equal(pdu[i], valid_client[i]);
	const uint8_t fields[8] = {0x06, 0, 0, 0, 0x01, 0, 0, 0};
	assert_memory_equal(pdu + 23, fields, 8);

	/* Behind another PDU in the same write (a Set Error Info first). */
	uint8_t two[64] = {0x03, 0x00, 0x00, 0x09, 0x02, 0xf0, 0x80, 0x21, 0x80};
	memcpy(two + 9, valid_client, sizeof(valid_client));
	assert_int_equal(license_error_rewrite(two, 9 + sizeof(valid_client), 6, 1), 0);
	assert_int_equal(two[9 + 23], 0x06);

	/* Every truncation, and every single corrupted header byte, is
	 * refused without touching the fields (ASan checks the reads). */
	for (size_t n = 0; n < sizeof(valid_client); n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, valid_client, n);
		assert_int_equal(license_error_rewrite(cut, n, 6, 1), -1);
		free(cut);
	}
	for (size_t i = 0; i < 23; i++) {
		if (i == 8 || i == 9 || i == 10 || i == 11 || i == 12 || i == 16 || i == 17 ||
		    i == 18 || i == 20)
			continue; /* initiator, channel, priority, flagsHi, preamble flags: any
			             value */
		memcpy(pdu, valid_client, sizeof(pdu));
		pdu[i] ^= 0x08;
		int rc = license_error_rewrite(pdu, sizeof(pdu), 6, 1);
		if (rc != -1)
			fail_msg("byte %zu corrupted, still rewritten", i);
	}
	/* An encrypted licensing PDU (SEC_ENCRYPT) is left alone. */
	memcpy(pdu, valid_client, sizeof(pdu));
	pdu[15] |= 0x08;
	assert_int_equal(license_error_rewrite(pdu, sizeof(pdu), 6, 1), -1);
}

static void test_ultimatum_pdu(void **state)
{
	(void)state;
	uint8_t pdu[ULTIMATUM_PDU_LEN];
	/* rn-user-requested is 21 80, as T.125's ALIGNED PER has it. */
	const uint8_t user[] = {0x03, 0x00, 0x00, 0x09, 0x02, 0xF0, 0x80, 0x21, 0x80};
	assert_int_equal(ultimatum_pdu(3, pdu), ULTIMATUM_PDU_LEN);
	assert_memory_equal(pdu, user, sizeof(user));
	ultimatum_pdu(1, pdu);
	assert_int_equal(pdu[7], 0x20);
	assert_int_equal(pdu[8], 0x80);
	ultimatum_pdu(4, pdu);
	assert_int_equal(pdu[7], 0x22);
	assert_int_equal(pdu[8], 0x00);
}

/* Compiles a scenario file; returns the problem count and the text. */
static int compile_file(const char *name, char *text, size_t n, struct fault_plan *plan)
{
	char path[512];
	struct scenario *s = NULL;
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	FILE *err = fmemopen(text, n, "w");
	assert_non_null(err);
	assert_int_equal(scenario_load_file(path, &s, err), 0);
	int problems = fault_plan_compile(s, plan, err);
	fclose(err);
	if (!problems) {
		/* steps point into the scenario: check what we need now */
		assert_true(plan->n == s->n_faults);
	}
	scenario_free(s);
	return problems;
}

static void test_plan_ok(void **state)
{
	(void)state;
	char text[2048] = "";
	struct fault_plan p;
	assert_int_equal(compile_file("faults-ok/faults-ok.yaml", text, sizeof(text), &p), 0);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.steps[0].action, FA_NEG_FAILURE);
	assert_int_equal(p.steps[0].at, PH_X224_CONFIRM);
	assert_int_equal(p.steps[0].code, 3);
	assert_int_equal(p.steps[1].action, FA_CREDSSP_ERROR);
	assert_int_equal(p.steps[1].at, PH_CREDSSP);
	assert_int_equal(p.steps[1].code, NTSTATUS_ACCOUNT_DISABLED);
	assert_int_equal(p.steps[2].action, FA_STALL);
	assert_int_equal(p.steps[2].duration_ms, 2500);
	assert_ptr_equal(fault_plan_find(&p, FA_STALL), &p.steps[2]);
	json_t *j = fault_step_json(&p.steps[1]);
	assert_string_equal(json_string_value(json_object_get(j, "code")), "0xC0000072");
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	                    "STATUS_ACCOUNT_DISABLED");
	assert_string_equal(json_string_value(json_object_get(j, "at")), "credssp");
	json_decref(j);
	fault_plan_free(&p);
}

static void test_plan_problems(void **state)
{
	(void)state;
	static const struct {
		const char *file, *needle;
	} cases[] = {
	        {"faults-bad/unknown-action.yaml",
	         "unknown-action.yaml:9: faults[0].action: unknown action \"explode\""},
	        {"faults-bad/unknown-phase.yaml",
	         "unknown-phase.yaml:9: faults[0].at: unknown phase \"tls-middle\""},
	        {"faults-bad/wrong-phase.yaml",
	         "wrong-phase.yaml:9: faults[0].at: neg-failure cannot strike at active"},
	        {"faults-bad/bad-code.yaml", "bad-code.yaml:9: faults[0].params.code: "
	                                     "\"SSL_SOMETHING\" is not an RDP_NEG_FAILURE code"},
	        {"faults-bad/missing-code.yaml",
	         "missing-code.yaml:9: faults[0].params.code: neg-failure needs a code"},
	        {"faults-bad/bad-status.yaml",
	         "bad-status.yaml:11: faults[0].params.code: \"STATUS_SLEEPY\" is not an NTSTATUS"},
	        {"faults-bad/extra-param.yaml",
	         "extra-param.yaml:9: faults[0].params.when: stall takes no parameter \"when\""},
	        {"faults-bad/bad-duration.yaml",
	         "bad-duration.yaml:9: faults[0].params.duration_ms: \"soon\" is not 0-86400000 "
	         "milliseconds"},
	        {"faults-bad/credssp-without-nla.yaml",
	         "credssp-without-nla.yaml:9: faults[0].action: credssp-error needs NLA"},
	        {"faults-bad/license-without-tls.yaml",
	         "license-without-tls.yaml:9: faults[0].action: license-error needs TLS"},
	        {"faults-bad/bad-license-code.yaml",
	         "bad-license-code.yaml:9: faults[0].params.code: \"ERR_TOO_LATE\" is not a "
	         "licensing error code"},
	        {"faults-bad/bad-transition.yaml",
	         "bad-transition.yaml:9: faults[0].params.transition: \"ST_SOMEWHERE\" is not a "
	         "state transition"},
	        {"faults-bad/bad-reason.yaml",
	         "bad-reason.yaml:9: faults[0].params.reason: \"rn-bored\" is not an MCS reason"},
	        {"faults-bad/early-ultimatum.yaml",
	         "early-ultimatum.yaml:9: faults[0].at: disconnect-ultimatum cannot strike at "
	         "x224-confirm"},
	        {"faults-bad/license-wait.yaml",
	         "license-wait.yaml:9: faults[0].params.after_ms: licensing messages cannot wait "
	         "when a license-error is among them"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[2048] = "";
		struct fault_plan p;
		int n = compile_file(cases[i].file, text, sizeof(text), &p);
		if (n != 1 || !strstr(text, cases[i].needle))
			fail_msg("%s: %d problems:\n%s\nexpected: %s", cases[i].file, n, text,
			         cases[i].needle);
		assert_null(p.steps);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_nego_pdu_bytes),
	        cmocka_unit_test(test_nego_codes),
	        cmocka_unit_test(test_credssp_codes),
	        cmocka_unit_test(test_tcp_reset_is_rst),
	        cmocka_unit_test(test_tcp_fin_keeps_reading),
	        cmocka_unit_test(test_plan_ok),
	        cmocka_unit_test(test_plan_problems),
	        cmocka_unit_test(test_codes),
	        cmocka_unit_test(test_license_rewrite),
	        cmocka_unit_test(test_ultimatum_pdu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
