/* DNS messages, sans-I/O: a whole-message parser (header, question, every
 * resource record of every section, names with compression, typed RDATA for
 * A, AAAA, CNAME, NS, MX, SRV, SOA and CERT) and a query builder. No
 * sockets, no clock. Every malformed input is rejected with a reason
 * (ERR_PROTO); nothing is read outside the input.
 *
 * Names are returned in presentation form, lower-cased, without the final
 * dot ("" is the root); bytes outside 0x21..0x7e and '.' or '\' inside a
 * label are written as \DDD. A parsed message owns a copy of the packet:
 * every borrowed pointer in it (RDATA, CERT data) lives as long as the
 * message. */
#ifndef CERTS_DNS_MSG_H
#define CERTS_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_CERT = 37,
	DNS_T_OPT = 41,
};

enum {
	DNS_C_IN = 1,
};

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

/* CERT certificate types (RFC 4398) the gateway reads. */
enum {
	DNS_CERT_PKIX = 1,    /* an X.509 certificate, DER, inline */
	DNS_CERT_IPKIX = 4,   /* the URL of an X.509 certificate */
	DNS_CERT_URI = 253,   /* a URL, as the Direct Java RI publishes it */
};

#define DNS_MSG_MAX 65535       /* a message never exceeds this */
#define DNS_MSG_MAX_RR 1024     /* resource records per message, all sections */
#define DNS_NAME_WIRE_MAX 255   /* octets of a wire name, labels included */
#define DNS_NAME_TEXT_MAX 1021  /* presentation form, worst case escaped */
#define DNS_NAME_HOPS_MAX 64    /* compression pointers followed per name */
#define DNS_URL_MAX 2048        /* URL in a CERT record */

enum dns_section {
	DNS_SEC_ANSWER = 1,
	DNS_SEC_AUTHORITY = 2,
	DNS_SEC_ADDITIONAL = 3,
};

struct dns_rr {
	enum dns_section section;
	char *name; /* owned by the message */
	uint16_t type;
	uint16_t class;
	uint32_t ttl; /* values with the top bit set read as 0 (RFC 2181) */
	const uint8_t *rdata; /* borrowed from the message */
	uint16_t rdlen;
	union {
		struct {
			uint8_t addr[4];
		} a;
		struct {
			uint8_t addr[16];
		} aaaa;
		struct {
			char *target; /* CNAME and NS */
		} name;
		struct {
			uint16_t preference;
			char *exchange;
		} mx;
		struct {
			uint16_t priority;
			uint16_t weight;
			uint16_t port;
			char *target;
		} srv;
		struct {
			char *mname;
			char *rname;
			uint32_t serial, refresh, retry, expire, minimum;
		} soa;
		struct {
			uint16_t cert_type;
			uint16_t key_tag;
			uint8_t algorithm;
			const uint8_t *data; /* DER (PKIX) or URL text (not NUL-terminated) */
			size_t len;
		} cert;
	} u;
};

struct dns_msg {
	uint16_t id;
	bool qr, aa, tc, rd, ra;
	uint8_t opcode;
	uint16_t rcode; /* header rcode, extended by the OPT record if any */
	uint16_t qdcount, ancount, nscount, arcount;
	char *qname; /* NULL when qdcount is 0 */
	uint16_t qtype, qclass;
	uint16_t edns_size; /* 0 without an OPT record */
	size_t nrr;
	struct dns_rr *rr; /* answer, authority, additional; OPT excluded */
	uint8_t *packet; /* the copy the borrowed pointers point into */
	size_t packet_len;
};

/* Parses one whole message (a UDP datagram, or a TCP message without its
 * length prefix). On success *m_r is a new message the caller frees with
 * dns_msg_free. On error returns -1, *m_r is NULL and e (ERR_PROTO) says
 * what was wrong and at which offset. A message with more than one question
 * is rejected; unknown record types are kept with their raw RDATA; a CERT
 * record of a type other than PKIX, IPKIX or URI is kept untyped-checked
 * (only the 5-byte header is required). */
int dns_msg_parse(const uint8_t *p, size_t n, struct dns_msg **m_r,
    struct err *e);
void dns_msg_free(struct dns_msg **mp);

/* Decodes the (possibly compressed) name at offset off of the message
 * p[0..n) into out (size >= DNS_NAME_TEXT_MAX + 1). end_r, if not NULL,
 * receives the offset just past the name where it started (not where a
 * pointer led). Pointers must point strictly backwards and at most
 * DNS_NAME_HOPS_MAX are followed, so a loop cannot hang it. -1 with e set
 * on any error. */
int dns_msg_name(const uint8_t *p, size_t n, size_t off, char *out,
    size_t *end_r, struct err *e);

/* Encodes a presentation-form name ("a.b.test" or "a.b.test.") in wire
 * form onto out. Labels of 1..63 bytes, 255 octets in all; '\' escapes are
 * not accepted. -1 (ERR_PERM) on a malformed name or if out is full. */
int dns_msg_put_name(struct buf *out, const char *name, struct err *e);

/* Appends a query for (name, type, class IN) to out: header with the given
 * id and RD set, one question, and an OPT record advertising edns_size when
 * edns_size is not 0. -1 (ERR_PERM) on a bad name. */
int dns_msg_build_query(struct buf *out, uint16_t id, const char *name,
    uint16_t type, uint16_t edns_size, struct err *e);

/* Checks the URL of an IPKIX or URI CERT record: 1..DNS_URL_MAX printable
 * ASCII bytes (0x21..0x7e). 0 or -1 with a reason. */
int dns_msg_check_url(const uint8_t *p, size_t n, struct err *e);

/* "A", "CERT", ... or "TYPE<n>" into a static/ caller buffer of 16 bytes. */
const char *dns_msg_type_name(uint16_t type, char buf[16]);
/* "NOERROR", "NXDOMAIN", ... or "RCODE<n>". */
const char *dns_msg_rcode_name(uint16_t rcode, char buf[16]);

#endif
