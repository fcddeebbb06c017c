/* scenario.c — a loaded scenario's look-ups (a client's expectation, a
 * fault's parameter) and freeing. */
#include "catalog/scenario.h"

#include <stdlib.h>
#include <string.h>

void sc_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

const struct sc_expect *scenario_expect_for(const struct scenario *s, const char *client)
{
	if (!s || !client)
		return NULL;
	for (size_t i = 0; i < s->n_expect; i++)
		if (!strcmp(s->expect[i].client, client))
			return &s->expect[i];
	return NULL;
}

const char *sc_fault_param(const struct sc_fault *f, const char *key)
{
	if (!f || !key)
		return NULL;
	for (size_t i = 0; i < f->n_params; i++)
		if (!strcmp(f->params[i].key, key))
			return f->params[i].value;
	return NULL;
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->alias);
	free(s->file);
	free(s->summary);
	free(s->reproduces);
	free(s->field_report);
	sc_strv_free(s->tags);
	free(s->tls_ciphers);
	free(s->cert.subject_cn);
	sc_strv_free(s->cert.san_dns);
	sc_strv_free(s->cert.san_ip);
	free(s->cert.digest);
	free(s->account.user);
	free(s->account.domain);
	free(s->account.password);
	for (size_t i = 0; i < s->n_faults; i++) {
		struct sc_fault *f = &s->faults[i];
		free(f->action);
		free(f->at);
		for (size_t j = 0; j < f->n_params; j++) {
			free(f->params[j].key);
			free(f->params[j].value);
		}
		free(f->params);
	}
	free(s->faults);
	for (size_t i = 0; i < s->n_network; i++) {
		struct sc_condition *n = &s->network[i];
		free(n->name);
		free(n->type);
		free(n->stream);
		free(n->toxicity);
		free(n->from_phase);
		for (size_t j = 0; j < n->n_attrs; j++) {
			free(n->attrs[j].key);
			free(n->attrs[j].value);
		}
		free(n->attrs);
	}
	free(s->network);
	for (size_t i = 0; i < s->n_schedule; i++)
		free(s->schedule[i].scenario);
	free(s->schedule);
	for (size_t i = 0; i < s->n_set_texts; i++)
		free(s->set_texts[i]);
	free(s->set_texts);
	sc_strv_free(s->each_phase);
	free(s->template_name);
	free(s->admission.session_limit_code);
	free(s->multitransport.deny_code);
	for (size_t i = 0; i < s->n_expect; i++) {
		struct sc_expect *e = &s->expect[i];
		free(e->client);
		free(e->result);
		free(e->log);
		free(e->code);
		free(e->extended);
		free(e->message);
		free(e->note);
		free(e->args);
		struct sc_param *lists[3] = {e->exit_by_phase, e->result_by_phase, e->log_by_phase};
		size_t counts[3] = {e->n_exit_by_phase, e->n_result_by_phase, e->n_log_by_phase};
		for (size_t l = 0; l < 3; l++) {
			for (size_t j = 0; j < counts[l]; j++) {
				free(lists[l][j].key);
				free(lists[l][j].value);
			}
			free(lists[l]);
		}
	}
	free(s->expect);
	free(s);
}
