#include "certs/dns_msg.h"

#include <stdlib.h>
#include <string.h>

#include "core/rd.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define DNS_HEADER_LEN 12
#define DNS_RR_MIN_LEN 11 /* root name, type, class, ttl, rdlength */

int
dns_msg_name(const uint8_t *p, size_t n, size_t off, char *out,
    size_t *end_r, struct err *e)
{
	size_t pos = off, limit = off, olen = 0, wire = 0, end = 0;
	bool jumped = false;
	int hops = 0;

	out[0] = '\0';
	for (;;) {
		uint8_t len;

		if (pos >= n)
			return err_set(e, ERR_PROTO,
			    "name at offset %zu runs past the message", off);
		len = p[pos];
		if ((len & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= n)
				return err_set(e, ERR_PROTO,
				    "name at offset %zu: truncated pointer", off);
			target = ((size_t)(len & 0x3f) << 8) | p[pos + 1];
			/* Each jump must land strictly before the start of
			 * the stretch that held the pointer: positions only
			 * go down, so no loop can form. */
			if (target >= limit)
				return err_set(e, ERR_PROTO,
				    "name at offset %zu: pointer to %zu does not "
				    "point backwards", off, target);
			if (++hops > DNS_NAME_HOPS_MAX)
				return err_set(e, ERR_PROTO,
				    "name at offset %zu: too many pointers", off);
			if (!jumped)
				end = pos + 2;
			jumped = true;
			pos = limit = target;
			continue;
		}
		if ((len & 0xc0) != 0)
			return err_set(e, ERR_PROTO,
			    "name at offset %zu: unsupported label type 0x%02x",
			    off, len);
		wire += 1u + len;
		if (wire > DNS_NAME_WIRE_MAX)
			return err_set(e, ERR_PROTO,
			    "name at offset %zu is longer than 255 octets", off);
		if (len == 0) {
			if (!jumped)
				end = pos + 1;
			break;
		}
		if (pos + 1 + len > n)
			return err_set(e, ERR_PROTO,
			    "name at offset %zu: label runs past the message",
			    off);
		if (olen > 0)
			out[olen++] = '.';
		for (size_t i = 0; i < len; i++) {
			uint8_t c = p[pos + 1 + i];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (c < 0x21 || c > 0x7e || c == '.' || c == '\\') {
				out[olen++] = '\\';
				out[olen++] = (char)('0' + c / 100);
				out[olen++] = (char)('0' + c / 10 % 10);
				out[olen++] = (char)('0' + c % 10);
			} else {
				out[olen++] = (char)c;
			}
		}
		out[olen] = '\0';
		pos += 1u + len;
	}
	out[olen] = '\0';
	if (end_r != NULL)
		*end_r = end;
	return 0;
}

/* Decodes a name that must end exactly at limit (inside RDATA) or anywhere
 * (limit 0); returns the allocated name. */
static char *
name_at(const uint8_t *p, size_t n, size_t off, size_t *end_r, struct err *e)
{
	char text[DNS_NAME_TEXT_MAX + 1];

	if (dns_msg_name(p, n, off, text, end_r, e) != 0)
		return NULL;
	return xstrdup(text);
}

int
dns_msg_check_url(const uint8_t *p, size_t n, struct err *e)
{
	if (n == 0)
		return err_set(e, ERR_PROTO, "empty URL");
	if (n > DNS_URL_MAX)
		return err_set(e, ERR_PROTO, "URL longer than %d bytes",
		    DNS_URL_MAX);
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return err_set(e, ERR_PROTO,
			    "URL byte %zu is not printable ASCII (0x%02x)", i,
			    p[i]);
	return 0;
}

static int
parse_rdata(struct dns_msg *m, struct dns_rr *rr, size_t rdoff,
    struct err *e)
{
	const uint8_t *p = m->packet;
	size_t rdend = rdoff + rr->rdlen, end;
	struct rd r;

	rd_init(&r, rr->rdata, rr->rdlen);
	switch (rr->type) {
	case DNS_T_A:
		if (rr->rdlen != 4)
			return err_set(e, ERR_PROTO, "A record of %u bytes",
			    rr->rdlen);
		memcpy(rr->u.a.addr, rr->rdata, 4);
		return 0;
	case DNS_T_AAAA:
		if (rr->rdlen != 16)
			return err_set(e, ERR_PROTO, "AAAA record of %u bytes",
			    rr->rdlen);
		memcpy(rr->u.aaaa.addr, rr->rdata, 16);
		return 0;
	case DNS_T_CNAME:
	case DNS_T_NS:
		/* The name may be compressed against the whole message but
		 * must fill the RDATA exactly. */
		if ((rr->u.name.target = name_at(p, rdend, rdoff, &end, e)) ==
		    NULL)
			return -1;
		break;
	case DNS_T_MX:
		if (rd_u16be(&r, &rr->u.mx.preference) != 0)
			return err_set(e, ERR_PROTO, "MX record too short");
		if ((rr->u.mx.exchange = name_at(p, rdend, rdoff + 2, &end,
		    e)) == NULL)
			return -1;
		break;
	case DNS_T_SRV:
		if (rd_u16be(&r, &rr->u.srv.priority) != 0 ||
		    rd_u16be(&r, &rr->u.srv.weight) != 0 ||
		    rd_u16be(&r, &rr->u.srv.port) != 0)
			return err_set(e, ERR_PROTO, "SRV record too short");
		if ((rr->u.srv.target = name_at(p, rdend, rdoff + 6, &end,
		    e)) == NULL)
			return -1;
		break;
	case DNS_T_SOA: {
		size_t mid;

		if ((rr->u.soa.mname = name_at(p, rdend, rdoff, &mid, e)) ==
		    NULL)
			return -1;
		if ((rr->u.soa.rname = name_at(p, rdend, mid, &end, e)) ==
		    NULL)
			return -1;
		if (end + 20 != rdend)
			return err_set(e, ERR_PROTO,
			    "SOA record has %zu bytes after its names, want 20",
			    rdend - end);
		rd_init(&r, p + end, 20);
		rd_u32be(&r, &rr->u.soa.serial);
		rd_u32be(&r, &rr->u.soa.refresh);
		rd_u32be(&r, &rr->u.soa.retry);
		rd_u32be(&r, &rr->u.soa.expire);
		rd_u32be(&r, &rr->u.soa.minimum);
		return 0;
	}
	case DNS_T_CERT: {
		struct err ue;

		if (rd_u16be(&r, &rr->u.cert.cert_type) != 0 ||
		    rd_u16be(&r, &rr->u.cert.key_tag) != 0 ||
		    rd_u8(&r, &rr->u.cert.algorithm) != 0)
			return err_set(e, ERR_PROTO,
			    "CERT record of %u bytes, want at least 5",
			    rr->rdlen);
		rr->u.cert.data = rr->rdata + 5;
		rr->u.cert.len = rr->rdlen - 5u;
		switch (rr->u.cert.cert_type) {
		case DNS_CERT_PKIX:
			if (rr->u.cert.len == 0)
				return err_set(e, ERR_PROTO,
				    "CERT PKIX record without a certificate");
			break;
		case DNS_CERT_IPKIX:
		case DNS_CERT_URI:
			if (dns_msg_check_url(rr->u.cert.data, rr->u.cert.len,
			    &ue) != 0)
				return err_set(e, ERR_PROTO,
				    "CERT type %u record: %s",
				    rr->u.cert.cert_type, ue.msg);
			break;
		default:
			break;
		}
		return 0;
	}
	default:
		return 0;
	}
	if (end != rdend)
		return err_set(e, ERR_PROTO,
		    "%u record: name does not fill the RDATA (%zu of %u bytes)",
		    rr->type, end - rdoff, rr->rdlen);
	return 0;
}

void
dns_msg_free(struct dns_msg **mp)
{
	struct dns_msg *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	*mp = NULL;
	for (size_t i = 0; i < m->nrr; i++) {
		struct dns_rr *rr = &m->rr[i];

		free(rr->name);
		switch (rr->type) {
		case DNS_T_CNAME:
		case DNS_T_NS:
			free(rr->u.name.target);
			break;
		case DNS_T_MX:
			free(rr->u.mx.exchange);
			break;
		case DNS_T_SRV:
			free(rr->u.srv.target);
			break;
		case DNS_T_SOA:
			free(rr->u.soa.mname);
			free(rr->u.soa.rname);
			break;
		default:
			break;
		}
	}
	free(m->rr);
	free(m->qname);
	free(m->packet);
	free(m);
}

int
dns_msg_parse(const uint8_t *p, size_t n, struct dns_msg **m_r,
    struct err *e)
{
	struct dns_msg *m;
	struct rd r;
	uint16_t flags;
	size_t total, end;
	bool have_opt = false;

	*m_r = NULL;
	if (n < DNS_HEADER_LEN)
		return err_set(e, ERR_PROTO, "message of %zu bytes is shorter "
		    "than a header", n);
	if (n > DNS_MSG_MAX)
		return err_set(e, ERR_PROTO, "message of %zu bytes is too long",
		    n);
	m = xcalloc(1, sizeof(*m));
	m->packet = xmemdup(p, n);
	m->packet_len = n;
	p = m->packet;
	rd_init(&r, p, n);
	rd_u16be(&r, &m->id);
	rd_u16be(&r, &flags);
	rd_u16be(&r, &m->qdcount);
	rd_u16be(&r, &m->ancount);
	rd_u16be(&r, &m->nscount);
	rd_u16be(&r, &m->arcount);
	m->qr = (flags & 0x8000) != 0;
	m->opcode = (uint8_t)((flags >> 11) & 0xf);
	m->aa = (flags & 0x0400) != 0;
	m->tc = (flags & 0x0200) != 0;
	m->rd = (flags & 0x0100) != 0;
	m->ra = (flags & 0x0080) != 0;
	m->rcode = flags & 0xf;

	if (m->qdcount > 1) {
		err_set(e, ERR_PROTO, "%u questions, at most 1 expected",
		    m->qdcount);
		goto fail;
	}
	total = (size_t)m->ancount + m->nscount + m->arcount;
	if (total > DNS_MSG_MAX_RR) {
		err_set(e, ERR_PROTO, "%zu records, at most %d accepted", total,
		    DNS_MSG_MAX_RR);
		goto fail;
	}
	if (total * DNS_RR_MIN_LEN > n - DNS_HEADER_LEN) {
		err_set(e, ERR_PROTO, "header counts %zu records, the message "
		    "cannot hold them", total);
		goto fail;
	}
	if (m->qdcount == 1) {
		m->qname = name_at(p, n, rd_offset(&r), &end, e);
		if (m->qname == NULL)
			goto fail;
		rd_seek(&r, end);
		if (rd_u16be(&r, &m->qtype) != 0 ||
		    rd_u16be(&r, &m->qclass) != 0) {
			err_set(e, ERR_PROTO, "question truncated");
			goto fail;
		}
	}
	m->rr = xcalloc(total ? total : 1, sizeof(*m->rr));
	for (size_t i = 0; i < total; i++) {
		struct dns_rr *rr = &m->rr[m->nrr];
		size_t start = rd_offset(&r), rdoff;
		char *name;

		rr->section = i < m->ancount ? DNS_SEC_ANSWER :
		    i < (size_t)m->ancount + m->nscount ? DNS_SEC_AUTHORITY :
		    DNS_SEC_ADDITIONAL;
		if ((name = name_at(p, n, start, &end, e)) == NULL) {
			err_prefix(e, "record %zu", i + 1);
			goto fail;
		}
		rd_seek(&r, end);
		if (rd_u16be(&r, &rr->type) != 0 ||
		    rd_u16be(&r, &rr->class) != 0 ||
		    rd_u32be(&r, &rr->ttl) != 0 ||
		    rd_u16be(&r, &rr->rdlen) != 0 ||
		    rd_bytes(&r, rr->rdlen, &rr->rdata) != 0) {
			free(name);
			err_set(e, ERR_PROTO, "record %zu at offset %zu is "
			    "truncated", i + 1, start);
			goto fail;
		}
		if (rr->ttl & 0x80000000u)
			rr->ttl = 0;
		if (rr->type == DNS_T_OPT) {
			bool root = name[0] == '\0';
			uint16_t udp = rr->class;

			free(name);
			memset(rr, 0, sizeof(*rr));
			if (have_opt || !root || i < (size_t)m->ancount +
			    m->nscount) {
				err_set(e, ERR_PROTO, "record %zu: misplaced "
				    "OPT record", i + 1);
				goto fail;
			}
			have_opt = true;
			/* class is the UDP size, the TTL's top byte extends
			 * the rcode */
			m->edns_size = udp ? udp : 1;
			m->rcode |= (uint16_t)((p[end + 4] & 0xffu) << 4);
			continue;
		}
		rr->name = name;
		m->nrr++;
		rdoff = rd_offset(&r) - rr->rdlen;
		if (parse_rdata(m, rr, rdoff, e) != 0) {
			err_prefix(e, "record %zu (%s)", i + 1, rr->name);
			goto fail;
		}
	}
	if (rd_remaining(&r) != 0) {
		err_set(e, ERR_PROTO, "%zu bytes after the last record",
		    rd_remaining(&r));
		goto fail;
	}
	*m_r = m;
	return 0;
fail:
	dns_msg_free(&m);
	return -1;
}

static int
put_name(struct buf *out, const char *name, struct err *e)
{
	size_t len = strlen(name), wire = 1, start = 0;

	if (len == 0 || (len == 1 && name[0] == '.'))
		goto root;
	if (name[len - 1] == '.')
		len--;
	while (start <= len) {
		size_t i = start;

		while (i < len && name[i] != '.')
			i++;
		if (i == start)
			return err_set(e, ERR_PERM, "empty label in name");
		if (i - start > 63)
			return err_set(e, ERR_PERM, "label longer than 63 bytes");
		for (size_t k = start; k < i; k++)
			if ((unsigned char)name[k] <= 0x20 ||
			    (unsigned char)name[k] >= 0x7f || name[k] == '\\')
				return err_set(e, ERR_PERM,
				    "name holds a byte that cannot be queried");
		wire += 1 + (i - start);
		if (wire > DNS_NAME_WIRE_MAX)
			return err_set(e, ERR_PERM,
			    "name longer than 255 octets");
		if (buf_putc(out, (uint8_t)(i - start)) != 0 ||
		    buf_append(out, name + start, i - start) != 0)
			return err_set(e, ERR_PERM, "query buffer full");
		start = i + 1;
	}
root:
	if (buf_putc(out, 0) != 0)
		return err_set(e, ERR_PERM, "query buffer full");
	return 0;
}

int
dns_msg_put_name(struct buf *out, const char *name, struct err *e)
{
	size_t start = out->len;

	if (put_name(out, name, e) != 0) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}

static int
put_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return buf_append(b, x, 2);
}

int
dns_msg_build_query(struct buf *out, uint16_t id, const char *name,
    uint16_t type, uint16_t edns_size, struct err *e)
{
	size_t start = out->len;

	if (put_u16(out, id) != 0 || put_u16(out, 0x0100) != 0 ||
	    put_u16(out, 1) != 0 || put_u16(out, 0) != 0 ||
	    put_u16(out, 0) != 0 || put_u16(out, edns_size ? 1 : 0) != 0)
		goto full;
	if (dns_msg_put_name(out, name, e) != 0) {
		buf_truncate(out, start);
		return -1;
	}
	if (put_u16(out, type) != 0 || put_u16(out, DNS_C_IN) != 0)
		goto full;
	if (edns_size != 0) {
		/* root name, OPT, UDP size, extended rcode/version/flags 0,
		 * no options */
		static const uint8_t opt_tail[] = {0, 0, 0, 0, 0, 0};

		if (buf_putc(out, 0) != 0 || put_u16(out, DNS_T_OPT) != 0 ||
		    put_u16(out, edns_size) != 0 ||
		    buf_append(out, opt_tail, sizeof(opt_tail)) != 0)
			goto full;
	}
	return 0;
full:
	buf_truncate(out, start);
	return err_set(e, ERR_PERM, "query buffer full");
}

const char *
dns_msg_type_name(uint16_t type, char buf[16])
{
	switch (type) {
	case DNS_T_A: return "A";
	case DNS_T_NS: return "NS";
	case DNS_T_CNAME: return "CNAME";
	case DNS_T_SOA: return "SOA";
	case DNS_T_MX: return "MX";
	case DNS_T_TXT: return "TXT";
	case DNS_T_AAAA: return "AAAA";
	case DNS_T_SRV: return "SRV";
	case DNS_T_CERT: return "CERT";
	case DNS_T_OPT: return "OPT";
	default:
		str_fmt(buf, 16, "TYPE%u", type);
		return buf;
	}
}

const char *
dns_msg_rcode_name(uint16_t rcode, char buf[16])
{
	switch (rcode) {
	case DNS_RCODE_NOERROR: return "NOERROR";
	case DNS_RCODE_FORMERR: return "FORMERR";
	case DNS_RCODE_SERVFAIL: return "SERVFAIL";
	case DNS_RCODE_NXDOMAIN: return "NXDOMAIN";
	case DNS_RCODE_NOTIMP: return "NOTIMP";
	case DNS_RCODE_REFUSED: return "REFUSED";
	default:
		str_fmt(buf, 16, "RCODE%u", rcode);
		return buf;
	}
}
