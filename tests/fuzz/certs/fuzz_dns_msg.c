/* libFuzzer target: the DNS message parser (header, names with
 * compression, every section, typed RDATA, CERT records and their URLs)
 * and the resolver's reading of a reply (rcode, CNAME chain, TTLs). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "certs/dns.h"
#include "certs/dns_msg.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_msg *m = NULL;
	struct err e;
	size_t sum = 0;

	if (dns_msg_parse(data, size, &m, &e) != 0)
		return 0;
	/* Touch everything the parser handed out. */
	if (m->qname != NULL)
		sum += strlen(m->qname);
	for (size_t i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];

		sum += strlen(rr->name);
		for (size_t k = 0; k < rr->rdlen; k++)
			sum += rr->rdata[k];
		if (rr->type == DNS_T_CERT) {
			for (size_t k = 0; k < rr->u.cert.len; k++)
				sum += rr->u.cert.data[k];
		} else if (rr->type == DNS_T_SRV) {
			sum += strlen(rr->u.srv.target);
		} else if (rr->type == DNS_T_MX) {
			sum += strlen(rr->u.mx.exchange);
		} else if (rr->type == DNS_T_CNAME || rr->type == DNS_T_NS) {
			sum += strlen(rr->u.name.target);
		} else if (rr->type == DNS_T_SOA) {
			sum += strlen(rr->u.soa.mname) +
			    strlen(rr->u.soa.rname);
		}
	}
	if (m->qname != NULL) {
		struct dns_answer *a = dns_answer_from_reply(m->qname,
		    m->qtype, data, size, 60000, 86400000);
		const struct dns_rr *rr;
		size_t it = 0;

		while ((rr = dns_answer_next(a, &it)) != NULL)
			sum += rr->rdlen;
		sum += a->ttl_s + strlen(a->reason);
		dns_answer_unref(&a);
	}
	dns_msg_free(&m);
	return sum == 0xdeadbeef;
}
