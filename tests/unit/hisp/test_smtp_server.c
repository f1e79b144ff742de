#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SMTP_TEST_SOCKETS
#include "tests/lib/testlib.h"
#include "tests/unit/hisp/smtp_test_private.h"

#include "core/xmalloc.h"
#include "hisp/smtp_server.h"
#include "hisp/tls.h"

/* Session options a case can turn on. */
#define O_TLS 0x01         /* STARTTLS offered */
#define O_REQ_TLS 0x02     /* mail commands need TLS */
#define O_AUTH 0x04        /* AUTH enabled, under TLS only */
#define O_AUTH_PLAIN 0x08  /* AUTH enabled without TLS */
#define O_REQ_AUTH 0x10    /* MAIL needs AUTH */
#define O_BARE_REJECT 0x20 /* bare LF: 521 and close */
#define O_SMALL 0x40       /* 20-byte messages, 2 recipients, 3 errors */
#define O_TLS_ACTIVE 0x80  /* the connection starts under TLS */
#define O_CHUNK 0x100      /* CHUNKING offered (BDAT) */

struct srv_case {
	const char *name;
	unsigned opts;
	const char *input;
	const char *after_tls; /* input once the handshake is done */
	const char *want;      /* reply codes, see srv_reply_codes */
	const char *want_events;
	const char *want_body;
};

#define EHLO "EHLO client.test\r\n"
#define MAIL "MAIL FROM:<a@remote.test>\r\n"
#define RCPT "RCPT TO:<b@local.test>\r\n"
/* AUTH PLAIN \0alice\0secret, \0alice\0wrong, alice, secret */
#define PLAIN_OK "AGFsaWNlAHNlY3JldA=="
#define PLAIN_BAD "AGFsaWNlAHdyb25n"
#define B64_ALICE "YWxpY2U="
#define B64_SECRET "c2VjcmV0"

static const struct srv_case cases[] = {
	{"full transaction", 0,
	    EHLO MAIL RCPT "DATA\r\nSubject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n",
	    NULL, "220,250,250 2.1.0,250 2.1.5,354,250 2.0.0,221 2.0.0",
	    "ehlo:client.test mail:a@remote.test rcpt:b@local.test data "
	    "end:21 ", "Subject: x\r\n\r\nhello\r\n"},
	{"helo then transaction", 0,
	    "HELO c\r\n" MAIL RCPT "DATA\r\n.\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,354,250 2.0.0",
	    "helo:c mail:a@remote.test rcpt:b@local.test data end:0 ", ""},
	{"pipelined transaction with two recipients", 0,
	    EHLO MAIL RCPT "RCPT TO:<c@local.test>\r\nRCPT TO:<d@far.test>\r\n"
	    "DATA\r\nx\r\n.\r\nRSET\r\nNOOP\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,250 2.1.5,554 5.7.1,354,250 2.0.0,"
	    "250 2.0.0,250 2.0.0", NULL, "x\r\n"},
	{"ehlo without a name", 0, "EHLO\r\nHELO \r\n", NULL,
	    "220,501 5.5.4,501 5.5.4", NULL, NULL},
	{"mail before helo", 0, MAIL, NULL, "220,503 5.5.1", NULL, NULL},
	{"rcpt before mail", 0, EHLO RCPT, NULL, "220,250,503 5.5.1", NULL,
	    NULL},
	{"data before rcpt", 0, EHLO MAIL "DATA\r\n", NULL,
	    "220,250,250 2.1.0,503 5.5.1", NULL, NULL},
	{"data before mail", 0, EHLO "DATA\r\n", NULL, "220,250,503 5.5.1",
	    NULL, NULL},
	{"data with every recipient refused", 0,
	    EHLO MAIL "RCPT TO:<x@far.test>\r\nDATA\r\n", NULL,
	    "220,250,250 2.1.0,554 5.7.1,554 5.5.1", NULL, NULL},
	{"data with an argument", 0, EHLO MAIL RCPT "DATA now\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,501 5.5.4", NULL, NULL},
	{"nested mail", 0, EHLO MAIL MAIL, NULL,
	    "220,250,250 2.1.0,503 5.5.1", NULL, NULL},
	{"null sender", 0, EHLO "MAIL FROM:<>\r\n", NULL, "220,250,250 2.1.0",
	    "ehlo:client.test mail: ", NULL},
	{"sender without brackets", 0, EHLO "MAIL FROM:a@b.test\r\n", NULL,
	    "220,250,501 5.1.7", NULL, NULL},
	{"sender with empty domain", 0, EHLO "MAIL FROM:<a@>\r\n", NULL,
	    "220,250,501 5.1.7", NULL, NULL},
	{"sender with a double dot", 0, EHLO "MAIL FROM:<a..b@c.test>\r\n",
	    NULL, "220,250,501 5.1.7", NULL, NULL},
	{"sender with trailing junk", 0, EHLO "MAIL FROM:<a@b.test>x\r\n", NULL,
	    "220,250,501 5.1.7", NULL, NULL},
	{"sender with a space after the colon", 0,
	    EHLO "MAIL FROM: <a@b.test>\r\n", NULL, "220,250,250 2.1.0", NULL,
	    NULL},
	{"sender with a source route", 0,
	    EHLO "MAIL FROM:<@x.test,@y.test:a@b.test>\r\n", NULL,
	    "220,250,250 2.1.0", "ehlo:client.test mail:a@b.test ", NULL},
	{"quoted local part and address literal", 0,
	    EHLO "MAIL FROM:<\"a b\"@[127.0.0.1]>\r\n", NULL,
	    "220,250,250 2.1.0", "ehlo:client.test mail:\"a b\"@[127.0.0.1] ",
	    NULL},
	{"local part longer than 64", 0,
	    EHLO "MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaa@b.test>\r\n", NULL, "220,250,501 5.1.7", NULL, NULL},
	{"mail without FROM", 0, EHLO "MAIL TO:<a@b.test>\r\n", NULL,
	    "220,250,501 5.5.4", NULL, NULL},
	{"sender refused by policy", 0, EHLO "MAIL FROM:<bad@x.test>\r\n" RCPT,
	    NULL, "220,250,550 5.7.1,503 5.5.1", NULL, NULL},
	{"size and body parameters", 0,
	    EHLO "MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME\r\n", NULL,
	    "220,250,250 2.1.0", "ehlo:client.test mail:a@b.test:8bit:size ",
	    NULL},
	{"size over the limit", O_SMALL, EHLO "MAIL FROM:<a@b.test> SIZE=21\r\n",
	    NULL, "220,250,552 5.3.4", NULL, NULL},
	{"size not a number", 0, EHLO "MAIL FROM:<a@b.test> SIZE=1x\r\n", NULL,
	    "220,250,501 5.5.4", NULL, NULL},
	{"body unknown", 0, EHLO "MAIL FROM:<a@b.test> BODY=BINARYMIME\r\n",
	    NULL, "220,250,501 5.5.4", NULL, NULL},
	{"mail auth parameter ignored", 0,
	    EHLO "MAIL FROM:<a@b.test> AUTH=<>\r\n", NULL, "220,250,250 2.1.0",
	    NULL, NULL},
	{"unknown mail parameter", 0, EHLO "MAIL FROM:<a@b.test> RET=FULL\r\n",
	    NULL, "220,250,555 5.5.4", NULL, NULL},
	{"recipient parameter", 0, EHLO MAIL "RCPT TO:<b@local.test> NOTIFY=NEVER\r\n",
	    NULL, "220,250,250 2.1.0,555 5.5.4", NULL, NULL},
	{"recipient syntax", 0, EHLO MAIL "RCPT TO:<b@local.test\r\n"
	    "RCPT TO:<>\r\nRCPT <b@local.test>\r\n", NULL,
	    "220,250,250 2.1.0,501 5.1.3,501 5.1.3,501 5.5.4", NULL, NULL},
	{"postmaster without a domain", 0, EHLO MAIL "RCPT TO:<Postmaster>\r\n"
	    "RCPT TO:<bob>\r\n", NULL, "220,250,250 2.1.0,250 2.1.5,501 5.1.3",
	    NULL, NULL},
	{"relay refused without auth", 0, EHLO MAIL "RCPT TO:<x@far.test>\r\n",
	    NULL, "220,250,250 2.1.0,554 5.7.1", NULL, NULL},
	{"too many recipients", O_SMALL, EHLO MAIL RCPT RCPT RCPT, NULL,
	    "220,250,250 2.1.0,250 2.1.5,250 2.1.5,452 4.5.3", NULL, NULL},
	{"refused recipients do not count", O_SMALL,
	    EHLO MAIL "RCPT TO:<x@far.test>\r\n" RCPT RCPT, NULL,
	    "220,250,250 2.1.0,554 5.7.1,250 2.1.5,250 2.1.5", NULL, NULL},
	{"rset ends the transaction", 0, EHLO MAIL RCPT "RSET\r\n" RCPT, NULL,
	    "220,250,250 2.1.0,250 2.1.5,250 2.0.0,503 5.5.1",
	    "ehlo:client.test mail:a@remote.test rcpt:b@local.test abort:rset ",
	    NULL},
	{"rset with an argument", 0, "RSET x\r\n", NULL, "220,501 5.5.4", NULL,
	    NULL},
	{"ehlo ends the transaction", 0, EHLO MAIL EHLO RCPT, NULL,
	    "220,250,250 2.1.0,250,503 5.5.1", NULL, NULL},
	{"noop help vrfy expn", 0,
	    "NOOP\r\nNOOP hello\r\nHELP\r\nVRFY bob\r\nVRFY\r\nEXPN list\r\n",
	    NULL, "220,250 2.0.0,250 2.0.0,214 2.0.0,252 2.0.0,501 5.5.4,"
	    "502 5.5.1", NULL, NULL},
	{"lower case commands", 0,
	    "ehlo c\r\nmail from:<a@b.test>\r\nrcpt to:<b@local.test>\r\n",
	    NULL, "220,250,250 2.1.0,250 2.1.5", NULL, NULL},
	{"quit closes", 0, "QUIT\r\nNOOP\r\n", NULL, "220,221 2.0.0", NULL, NULL},
	{"quit during a transaction aborts it", 0, EHLO MAIL "QUIT\r\n", NULL,
	    "220,250,250 2.1.0,221 2.0.0",
	    "ehlo:client.test mail:a@remote.test abort:quit ", NULL},
	{"unknown command", 0, "FOO\r\n\r\n", NULL, "220,500 5.5.2,500 5.5.2",
	    NULL, NULL},
	{"bdat not offered", 0, "BDAT 10 LAST\r\n", NULL, "220,502 5.5.1",
	    NULL, NULL},
	{"pipelined garbage gets one reply per command", 0,
	    EHLO "FOO\r\n" MAIL "BAR baz\r\n" RCPT "MAIL FROM:<\r\n"
	    "DATA\r\nx\r\n.\r\n", NULL,
	    "220,250,500 5.5.2,250 2.1.0,500 5.5.2,250 2.1.5,503 5.5.1,354,"
	    "250 2.0.0", NULL, "x\r\n"},
	{"command line of 512 bytes", 0,
	    "NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
	    NULL, "220,250 2.0.0", NULL, NULL},
	{"command line of 513 bytes", 0,
	    "NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	    "NOOP\r\n", NULL, "220,500 5.5.2,250 2.0.0", NULL, NULL},
	{"non-ascii in a command", 0, "NOOP \xc3\xa9\r\n", NULL,
	    "220,500 5.5.2", NULL, NULL},
	{"bare LF command normalized", 0, "NOOP\nNOOP\r\n", NULL,
	    "220,250 2.0.0,250 2.0.0", NULL, NULL},
	{"bare LF command rejected", O_BARE_REJECT, "NOOP\nNOOP\r\n", NULL,
	    "220,521 5.5.2", NULL, NULL},
	{"too many errors", O_SMALL, "A\r\nB\r\nC\r\nNOOP\r\n", NULL,
	    "220,500 5.5.2,500 5.5.2,500 5.5.2,421 4.7.0", NULL, NULL},
	{"too many errors aborts the transaction", O_SMALL,
	    EHLO MAIL "A\r\nB\r\nC\r\n", NULL,
	    "220,250,250 2.1.0,500 5.5.2,500 5.5.2,500 5.5.2,421 4.7.0",
	    "ehlo:client.test mail:a@remote.test abort:errors ", NULL},
	{"message at the size limit", O_SMALL,
	    EHLO MAIL RCPT "DATA\r\n123456789012345678\r\n.\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,354,250 2.0.0", NULL,
	    "123456789012345678\r\n"},
	{"message over the size limit", O_SMALL,
	    EHLO MAIL RCPT "DATA\r\n1234567890123456789\r\n.\r\n" MAIL, NULL,
	    "220,250,250 2.1.0,250 2.1.5,354,552 5.3.4,250 2.1.0",
	    "ehlo:client.test mail:a@remote.test rcpt:b@local.test data "
	    "abort:size mail:a@remote.test ", NULL},
	{"dot-unstuffing", 0,
	    EHLO MAIL RCPT "DATA\r\n..a\r\n.b\r\n...\r\nc.\r\n.\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,354,250 2.0.0", NULL,
	    ".a\r\nb\r\n..\r\nc.\r\n"},
	{"end of data needs CRLF.CRLF", 0,
	    EHLO MAIL RCPT "DATA\r\na\r\n.\nb\n.\r\nc\r\n.x\r\n.\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,354,250 2.0.0", NULL,
	    "a\r\n.\r\nb\r\n.\r\nc\r\nx\r\n"},
	{"smuggled end of data stays in the message", 0,
	    EHLO MAIL RCPT "DATA\r\nhi\n.\nMAIL FROM:<evil@x.test>\r\n.\r\n",
	    NULL, "220,250,250 2.1.0,250 2.1.5,354,250 2.0.0",
	    "ehlo:client.test mail:a@remote.test rcpt:b@local.test data "
	    "end:32 ", "hi\r\n.\r\nMAIL FROM:<evil@x.test>\r\n"},
	{"bare LF in data rejected", O_BARE_REJECT,
	    EHLO MAIL RCPT "DATA\r\nhi\n.\r\nNOOP\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,354,521 5.5.2",
	    "ehlo:client.test mail:a@remote.test rcpt:b@local.test data "
	    "abort:bare_lf ", "hi"},
	{"bare CR kept in data", 0,
	    EHLO MAIL RCPT "DATA\r\na\rb\r\n.\rc\r\n.\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,354,250 2.0.0", NULL,
	    "a\rb\r\n\rc\r\n"},
	{"message line longer than 1000", 0,
	    EHLO MAIL RCPT "DATA\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "\r\n.\r\nNOOP\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,354,500 5.5.2,250 2.0.0", NULL, NULL},
	{"bdat transaction", O_CHUNK,
	    EHLO MAIL RCPT "BDAT 5\r\nhelloBDAT 8 LAST\r\n world\r\nNOOP\r\n",
	    NULL, "220,250,250 2.1.0,250 2.1.5,250 2.0.0,250 2.0.0,250 2.0.0",
	    "ehlo:client.test mail:a@remote.test rcpt:b@local.test data "
	    "end:13 ", "hello world\r\n"},
	{"bdat zero last", O_CHUNK, EHLO MAIL RCPT "BDAT 3\r\nabcBDAT 0 LAST\r\n",
	    NULL, "220,250,250 2.1.0,250 2.1.5,250 2.0.0,250 2.0.0", NULL, "abc"},
	{"bdat octets are not dot-stuffed or line-checked", O_CHUNK,
	    EHLO MAIL RCPT "BDAT 6 LAST\r\n..\r\n.\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,250 2.0.0", NULL, "..\r\n.\n"},
	{"bdat without mail still reads the chunk", O_CHUNK,
	    EHLO "BDAT 4\r\nNOOPNOOP\r\n", NULL, "220,250,503 5.5.1,250 2.0.0",
	    NULL, ""},
	{"bdat with every recipient refused", O_CHUNK,
	    EHLO MAIL "RCPT TO:<x@far.test>\r\nBDAT 3 LAST\r\nabc", NULL,
	    "220,250,250 2.1.0,554 5.7.1,554 5.5.1", NULL, ""},
	{"bdat syntax", O_CHUNK, EHLO MAIL RCPT "BDAT x\r\nBDAT 1 FIRST\r\n"
	    "BDAT\r\nBDAT 1 LAST x\r\n", NULL,
	    "220,250,250 2.1.0,250 2.1.5,501 5.5.4,501 5.5.4,501 5.5.4,501 5.5.4",
	    NULL, NULL},
	{"data after bdat", O_CHUNK, EHLO MAIL RCPT "BDAT 2\r\nabDATA\r\n",
	    NULL, "220,250,250 2.1.0,250 2.1.5,250 2.0.0,503 5.5.1", NULL, "ab"},
	{"bdat over the size limit", O_CHUNK | O_SMALL,
	    EHLO MAIL RCPT "BDAT 25 LAST\r\n0123456789012345678901234" MAIL,
	    NULL, "220,250,250 2.1.0,250 2.1.5,552 5.3.4,250 2.1.0",
	    "ehlo:client.test mail:a@remote.test rcpt:b@local.test data "
	    "abort:size mail:a@remote.test ", "01234567890123456789"},
	{"rset during bdat", O_CHUNK, EHLO MAIL RCPT "BDAT 1\r\nxRSET\r\n"
	    MAIL RCPT "BDAT 1 LAST\r\ny", NULL,
	    "220,250,250 2.1.0,250 2.1.5,250 2.0.0,250 2.0.0,250 2.1.0,"
	    "250 2.1.5,250 2.0.0", NULL, "xy"},
	{"bdat before starttls when required", O_CHUNK | O_TLS | O_REQ_TLS,
	    EHLO "BDAT 4\r\nRSETNOOP\r\n", NULL, "220,250,530 5.7.0,250 2.0.0",
	    NULL, NULL},
	{"starttls not offered", 0, "STARTTLS\r\n", NULL, "220,502 5.5.1", NULL,
	    NULL},
	{"starttls with an argument", O_TLS, "STARTTLS now\r\n", NULL,
	    "220,501 5.5.4", NULL, NULL},
	{"starttls when already active", O_TLS | O_TLS_ACTIVE, "STARTTLS\r\n",
	    NULL, "220,503 5.5.1", NULL, NULL},
	{"starttls then ehlo again", O_TLS, EHLO "STARTTLS\r\n", EHLO MAIL,
	    "220,250,220 2.0.0,250,250 2.1.0",
	    "ehlo:client.test starttls ehlo:client.test mail:a@remote.test ",
	    NULL},
	{"starttls injection is discarded", O_TLS,
	    EHLO "STARTTLS\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<b@local.test>\r\n",
	    "MAIL FROM:<a@b.test>\r\n", "220,250,220 2.0.0,503 5.5.1",
	    "ehlo:client.test starttls ", NULL},
	{"starttls forgets the helo name", O_TLS, EHLO MAIL "STARTTLS\r\n", MAIL,
	    "220,250,250 2.1.0,220 2.0.0,503 5.5.1",
	    "ehlo:client.test mail:a@remote.test abort:starttls starttls ",
	    NULL},
	{"mail before starttls when required", O_TLS | O_REQ_TLS,
	    EHLO MAIL "RCPT TO:<b@local.test>\r\nDATA\r\nVRFY x\r\n", NULL,
	    "220,250,530 5.7.0,530 5.7.0,530 5.7.0,530 5.7.0", NULL, NULL},
	{"mail after starttls when required", O_TLS | O_REQ_TLS,
	    EHLO "STARTTLS\r\n", EHLO MAIL, "220,250,220 2.0.0,250,250 2.1.0",
	    NULL, NULL},
	{"auth not enabled", 0, EHLO "AUTH PLAIN " PLAIN_OK "\r\n", NULL,
	    "220,250,503 5.5.1", NULL, NULL},
	{"auth before starttls", O_TLS | O_AUTH,
	    EHLO "AUTH PLAIN " PLAIN_OK "\r\n", NULL, "220,250,538 5.7.11",
	    NULL, NULL},
	{"auth plain with initial response", O_TLS | O_AUTH, EHLO "STARTTLS\r\n",
	    EHLO "AUTH PLAIN " PLAIN_OK "\r\n" MAIL "RCPT TO:<x@far.test>\r\n",
	    "220,250,220 2.0.0,250,235 2.7.0,250 2.1.0,250 2.1.5",
	    "ehlo:client.test starttls ehlo:client.test auth:PLAIN:alice "
	    "mail:a@remote.test rcpt:x@far.test ", NULL},
	{"auth plain bad credentials", O_AUTH_PLAIN,
	    EHLO "AUTH PLAIN " PLAIN_BAD "\r\n", NULL, "220,250,535 5.7.8",
	    NULL, NULL},
	{"auth plain continuation", O_AUTH_PLAIN,
	    EHLO "AUTH PLAIN\r\n" PLAIN_OK "\r\n", NULL, "220,250,334,235 2.7.0",
	    NULL, NULL},
	{"auth plain empty initial response", O_AUTH_PLAIN,
	    EHLO "AUTH PLAIN =\r\n", NULL, "220,250,501 5.5.2", NULL, NULL},
	{"auth plain without authcid", O_AUTH_PLAIN,
	    EHLO "AUTH PLAIN AABzZWNyZXQ=\r\n", NULL, "220,250,501 5.5.2",
	    NULL, NULL},
	{"auth login", O_AUTH_PLAIN,
	    EHLO "AUTH LOGIN\r\n" B64_ALICE "\r\n" B64_SECRET "\r\n", NULL,
	    "220,250,334,334,235 2.7.0", "ehlo:client.test auth:LOGIN:alice ",
	    NULL},
	{"auth login with initial response", O_AUTH_PLAIN,
	    EHLO "AUTH LOGIN " B64_ALICE "\r\n" B64_SECRET "\r\n", NULL,
	    "220,250,334,235 2.7.0", NULL, NULL},
	{"auth login bad password", O_AUTH_PLAIN,
	    EHLO "AUTH LOGIN " B64_ALICE "\r\nd3Jvbmc=\r\n", NULL,
	    "220,250,334,535 5.7.8", NULL, NULL},
	{"auth cancelled", O_AUTH_PLAIN, EHLO "AUTH LOGIN\r\n*\r\nNOOP\r\n",
	    NULL, "220,250,334,501 5.0.0,250 2.0.0", NULL, NULL},
	{"auth bad base64", O_AUTH_PLAIN,
	    EHLO "AUTH PLAIN AGFsaWNl!\r\nAUTH LOGIN\r\nYWxpY2U\r\n", NULL,
	    "220,250,501 5.5.2,334,501 5.5.2", NULL, NULL},
	{"auth unknown mechanism", O_AUTH_PLAIN, EHLO "AUTH CRAM-MD5\r\nAUTH\r\n",
	    NULL, "220,250,504 5.5.4,501 5.5.4", NULL, NULL},
	{"auth twice", O_AUTH_PLAIN,
	    EHLO "AUTH PLAIN " PLAIN_OK "\r\nAUTH PLAIN " PLAIN_OK "\r\n", NULL,
	    "220,250,235 2.7.0,503 5.5.1", NULL, NULL},
	{"auth before ehlo", O_AUTH_PLAIN, "HELO c\r\nAUTH PLAIN " PLAIN_OK "\r\n",
	    NULL, "220,250,503 5.5.1", NULL, NULL},
	{"auth during a transaction", O_AUTH_PLAIN,
	    EHLO MAIL "AUTH PLAIN " PLAIN_OK "\r\n", NULL,
	    "220,250,250 2.1.0,503 5.5.1", NULL, NULL},
	{"mail before auth when required", O_AUTH_PLAIN | O_REQ_AUTH,
	    EHLO MAIL "AUTH PLAIN " PLAIN_OK "\r\n" MAIL, NULL,
	    "220,250,530 5.7.0,235 2.7.0,250 2.1.0", NULL, NULL},
	{"relay allowed once authenticated", O_AUTH_PLAIN,
	    EHLO "AUTH PLAIN " PLAIN_OK "\r\n" MAIL "RCPT TO:<x@far.test>\r\n",
	    NULL, "220,250,235 2.7.0,250 2.1.0,250 2.1.5", NULL, NULL},
};

static void
set_opts(struct smtp_server_params *p, unsigned opts)
{
	smtp_server_params_default(p);
	p->hostname = "mx.local.test";
	p->tls_available = (opts & O_TLS) != 0;
	p->tls_active = (opts & O_TLS_ACTIVE) != 0;
	p->require_tls = (opts & O_REQ_TLS) != 0;
	p->auth_enabled = (opts & (O_AUTH | O_AUTH_PLAIN)) != 0;
	p->auth_requires_tls = (opts & O_AUTH) != 0;
	p->require_auth = (opts & O_REQ_AUTH) != 0;
	p->chunking = (opts & O_CHUNK) != 0;
	if (opts & O_BARE_REJECT)
		p->bare_lf = SMTP_SERVER_BARE_LF_REJECT;
	if (opts & O_SMALL) {
		p->max_message_size = 20;
		p->max_recipients = 2;
		p->max_errors = 3;
	}
}

/* The case's input: plaintext then (if any) what follows the handshake. */
static char *
case_input(const struct srv_case *c, size_t *n_r, size_t *tls_at_r)
{
	size_t a = strlen(c->input);
	size_t b = c->after_tls ? strlen(c->after_tls) : 0;
	char *in;

	in = xmalloc(a + b + 1);
	memcpy(in, c->input, a);
	if (b)
		memcpy(in + a, c->after_tls, b);
	in[a + b] = '\0';
	*n_r = a + b;
	*tls_at_r = c->after_tls ? a : 0;
	return in;
}

static void
test_smtp_server_table_cases(void **state)
{
	struct srv_run r;
	struct buf codes;
	int failures = 0;

	buf_init(&codes, BUF_UNLIMITED);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct srv_case *c = &cases[i];
		size_t n;
		char *in;

		memset(&r, 0, sizeof(r));
		set_opts(&r.params, c->opts);
		in = case_input(c, &n, &r.tls_at);
		testlib_trickle(&srv_trickle_ops, &r, in, n, 8);
		srv_reply_codes(&r.out, &codes);
		if (strcmp(buf_cstr(&codes), c->want) != 0) {
			print_error("%s: replies: got %s, want %s\n", c->name,
			    buf_cstr(&codes), c->want);
			failures++;
		}
		if (c->want_events != NULL &&
		    strcmp(buf_cstr(&r.events), c->want_events) != 0) {
			print_error("%s: events: got \"%s\", want \"%s\"\n",
			    c->name, buf_cstr(&r.events), c->want_events);
			failures++;
		}
		if (c->want_body != NULL &&
		    strcmp(buf_cstr(&r.body), c->want_body) != 0) {
			print_error("%s: body: got \"%s\", want \"%s\"\n",
			    c->name, buf_cstr(&r.body), c->want_body);
			failures++;
		}
		srv_release(&r);
		free(in);
	}
	buf_release(&codes);
	assert_int_equal(failures, 0);
}

static void
run_plain(struct srv_run *r, unsigned opts, const char *input)
{
	memset(r, 0, sizeof(*r));
	set_opts(&r->params, opts);
	/* Whole, byte by byte, random splits: the same; r keeps the last. */
	testlib_trickle(&srv_trickle_ops, r, input, strlen(input), 4);
}

static void
test_smtp_server_ehlo_advertises_extensions(void **state)
{
	struct srv_run r;

	run_plain(&r, O_TLS | O_AUTH, EHLO);
	assert_string_equal(buf_cstr(&r.out),
	    "220 mx.local.test ESMTP directgate\r\n"
	    "250-mx.local.test\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 52428800\r\n"
	    "250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250 STARTTLS\r\n");
	srv_release(&r);
}

static void
test_smtp_server_ehlo_offers_auth_only_under_tls(void **state)
{
	struct srv_run r;
	const char *in = EHLO "STARTTLS\r\n" EHLO;

	memset(&r, 0, sizeof(r));
	set_opts(&r.params, O_TLS | O_AUTH);
	r.tls_at = strlen(EHLO "STARTTLS\r\n");
	srv_begin(&r);
	srv_feed(&r, (const uint8_t *)in, strlen(in));
	assert_non_null(strstr(buf_cstr(&r.out),
	    "220 2.0.0 Ready to start TLS\r\n"
	    "250-mx.local.test\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 52428800\r\n"
	    "250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250 AUTH PLAIN LOGIN\r\n"));
	assert_true(smtp_server_tls_active(r.s));
	srv_release(&r);
}

static void
test_smtp_server_ehlo_advertises_chunking_when_enabled(void **state)
{
	struct srv_run r;

	run_plain(&r, O_CHUNK, EHLO);
	assert_non_null(strstr(buf_cstr(&r.out), "250-8BITMIME\r\n"
	    "250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n"));
	srv_release(&r);
}

static void
test_smtp_server_bdat_refused_by_the_caller_after_the_chunk(void **state)
{
	struct srv_run r;
	const char *in = EHLO MAIL RCPT "BDAT 4 LAST\r\nabcdNOOP\r\n";
	struct buf codes;

	buf_init(&codes, BUF_UNLIMITED);
	memset(&r, 0, sizeof(r));
	set_opts(&r.params, O_CHUNK);
	r.defer = true;
	srv_begin(&r);
	srv_feed(&r, (const uint8_t *)in, strlen(in));
	assert_int_equal(smtp_server_accept(r.s, NULL), 0); /* MAIL */
	srv_pump(&r);
	assert_int_equal(smtp_server_accept(r.s, NULL), 0); /* RCPT */
	srv_pump(&r);
	/* The DATA decision for the first chunk: refused. */
	assert_int_equal(smtp_server_reject(r.s, 451, "4.3.0", "busy"), 0);
	srv_pump(&r);
	srv_reply_codes(&r.out, &codes);
	assert_string_equal(buf_cstr(&codes),
	    "220,250,250 2.1.0,250 2.1.5,451 4.3.0,250 2.0.0");
	assert_int_equal(r.body.len, 0);
	buf_release(&codes);
	srv_release(&r);
}

static void
test_smtp_server_greeting_and_helo_reply(void **state)
{
	struct srv_run r;

	run_plain(&r, 0, "HELO c\r\n");
	assert_string_equal(buf_cstr(&r.out),
	    "220 mx.local.test ESMTP directgate\r\n250 mx.local.test\r\n");
	assert_string_equal(smtp_server_get0_helo(r.s), "c");
	srv_release(&r);
}

static void
test_smtp_server_too_many_errors_reply_names_host(void **state)
{
	struct srv_run r;

	run_plain(&r, O_SMALL, "A\r\nB\r\nC\r\n");
	assert_non_null(strstr(buf_cstr(&r.out),
	    "421 4.7.0 mx.local.test Error: too many errors\r\n"));
	assert_true(r.closed);
	srv_release(&r);
}

/* Decisions answered later: the session says nothing more and holds the
 * pipelined input until the answer comes. */
static void
test_smtp_server_pauses_until_the_caller_answers(void **state)
{
	struct srv_run r;
	struct buf codes;
	const char *in = EHLO MAIL RCPT "DATA\r\nhi\r\n.\r\nNOOP\r\n";
	struct smtp_server_event ev;

	buf_init(&codes, BUF_UNLIMITED);
	memset(&r, 0, sizeof(r));
	set_opts(&r.params, 0);
	r.defer = true;
	srv_begin(&r);
	srv_feed(&r, (const uint8_t *)in, strlen(in));
	srv_reply_codes(&r.out, &codes);
	assert_string_equal(buf_cstr(&codes), "220,250");
	assert_int_equal(smtp_server_timeout_ms(r.s), -1);
	/* Nothing more comes out while the MAIL decision is open. */
	assert_int_equal(smtp_server_next_event(r.s, &ev), 0);
	assert_int_equal(smtp_server_accept(r.s, NULL), 0);
	assert_int_equal(smtp_server_accept(r.s, NULL), -1);
	srv_pump(&r); /* RCPT event */
	assert_int_equal(smtp_server_accept(r.s, NULL), 0);
	srv_pump(&r); /* DATA event */
	assert_int_equal(smtp_server_accept(r.s, NULL), 0);
	srv_pump(&r); /* chunk, DATA_END */
	srv_reply_codes(&r.out, &codes);
	assert_string_equal(buf_cstr(&codes), "220,250,250 2.1.0,250 2.1.5,354");
	assert_string_equal(buf_cstr(&r.body), "hi\r\n");
	assert_int_equal(smtp_server_rcpt_count(r.s), 1);
	assert_string_equal(smtp_server_get0_rcpt(r.s, 0), "b@local.test");
	assert_string_equal(smtp_server_get0_sender(r.s), "a@remote.test");
	/* The durable commit happens here; then 250 and the NOOP. */
	assert_int_equal(smtp_server_accept(r.s, "Ok: queued as Q1"), 0);
	srv_pump(&r);
	srv_reply_codes(&r.out, &codes);
	assert_string_equal(buf_cstr(&codes),
	    "220,250,250 2.1.0,250 2.1.5,354,250 2.0.0,250 2.0.0");
	assert_non_null(strstr(buf_cstr(&r.out), "250 2.0.0 Ok: queued as Q1\r\n"));
	assert_null(smtp_server_get0_sender(r.s));
	buf_release(&codes);
	srv_release(&r);
}

static void
test_smtp_server_reject_checks_code_and_enhanced_code(void **state)
{
	struct srv_run r;

	memset(&r, 0, sizeof(r));
	set_opts(&r.params, 0);
	r.defer = true;
	srv_begin(&r);
	srv_feed(&r, (const uint8_t *)(EHLO MAIL), strlen(EHLO MAIL));
	assert_int_equal(smtp_server_reject(r.s, 250, NULL, NULL), -1);
	assert_int_equal(smtp_server_reject(r.s, 421, NULL, NULL), -1);
	/* A class that does not match the code is replaced. */
	assert_int_equal(smtp_server_reject(r.s, 450, "5.1.1", "later\r\nx"), 0);
	srv_pump(&r);
	assert_non_null(strstr(buf_cstr(&r.out), "450 4.7.1 later??x\r\n"));
	srv_release(&r);
}

static void
test_smtp_server_holds_input_while_paused(void **state)
{
	struct srv_run r;
	size_t big = 300000, took;
	uint8_t *noops = xmalloc(big);

	for (size_t i = 0; i < big; i += 6)
		memcpy(noops + i, "NOOP\r\n", 6);
	memset(&r, 0, sizeof(r));
	set_opts(&r.params, 0);
	r.defer = true;
	srv_begin(&r);
	srv_feed(&r, (const uint8_t *)(EHLO MAIL), strlen(EHLO MAIL));
	took = smtp_server_receive(r.s, noops, big);
	assert_true(took < big);
	assert_true(took > 60000);
	assert_int_equal(smtp_server_receive(r.s, noops, 6), 0);
	smtp_server_accept(r.s, NULL);
	srv_pump(&r);
	/* Once the answer is in, the held NOOPs are answered. */
	assert_true(smtp_server_receive(r.s, noops, 6) == 6 ||
	    r.out.len > 10000);
	free(noops);
	srv_release(&r);
}

static void
test_smtp_server_reports_timeouts_per_state(void **state)
{
	struct srv_run r;

	run_plain(&r, 0, EHLO MAIL RCPT "DATA\r\npartial");
	assert_int_equal(smtp_server_timeout_ms(r.s), 10 * 60 * 1000);
	smtp_server_expire(r.s);
	srv_pump(&r);
	assert_true(r.closed);
	assert_non_null(strstr(buf_cstr(&r.out),
	    "421 4.4.2 mx.local.test Error: timeout exceeded\r\n"));
	assert_non_null(strstr(buf_cstr(&r.events), "abort:timeout"));
	assert_int_equal(smtp_server_timeout_ms(r.s), -1);
	srv_release(&r);

	run_plain(&r, 0, "");
	assert_int_equal(smtp_server_timeout_ms(r.s), 5 * 60 * 1000);
	srv_release(&r);
}

static void
test_smtp_server_close_421_drops_pending_decision(void **state)
{
	struct srv_run r;

	memset(&r, 0, sizeof(r));
	set_opts(&r.params, 0);
	r.defer = true;
	srv_begin(&r);
	srv_feed(&r, (const uint8_t *)(EHLO MAIL), strlen(EHLO MAIL));
	smtp_server_close_421(r.s, "shutting down");
	assert_int_equal(smtp_server_accept(r.s, NULL), -1);
	srv_pump(&r);
	assert_true(r.closed);
	assert_non_null(strstr(buf_cstr(&r.out),
	    "421 4.3.2 mx.local.test shutting down\r\n"));
	srv_release(&r);
}

static void
test_smtp_server_disconnect_aborts_the_transaction(void **state)
{
	struct srv_run r;

	memset(&r, 0, sizeof(r));
	set_opts(&r.params, 0);
	r.defer = true;
	srv_begin(&r);
	srv_feed(&r, (const uint8_t *)(EHLO MAIL), strlen(EHLO MAIL));
	assert_int_equal(smtp_server_accept(r.s, NULL), 0);
	srv_pump(&r);
	buf_reset(&r.out);
	smtp_server_disconnected(r.s);
	srv_pump(&r);
	assert_true(r.closed);
	assert_int_equal(r.out.len, 0);
	assert_non_null(strstr(buf_cstr(&r.events), "abort:disconnect"));
	assert_int_equal(smtp_server_receive(r.s, (const uint8_t *)"x", 1), 1);
	srv_release(&r);
}

static void
test_smtp_server_big_message_is_streamed_in_chunks(void **state)
{
	static const char line[] = ".0123456789abcdefghijklmnopqrstuvwxyz"
	    "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop\r\n";
	size_t nlines = 3000, ll = sizeof(line) - 2; /* unstuffed */
	struct srv_run r;
	struct buf in;

	buf_init(&in, BUF_UNLIMITED);
	buf_append_str(&in, EHLO MAIL RCPT "DATA\r\n");
	for (size_t i = 0; i < nlines; i++)
		buf_append_str(&in, line);
	buf_append_str(&in, ".\r\n");
	memset(&r, 0, sizeof(r));
	set_opts(&r.params, 0);
	testlib_trickle(&srv_trickle_ops, &r, in.data, in.len, 2);
	for (size_t i = 0; i < r.body.len; i += ll)
		if (r.body.len - i < ll ||
		    memcmp(r.body.data + i, line + 1, ll) != 0)
			fail_msg("body differs at %zu: %.110s", i,
			    (const char *)r.body.data + i);
	assert_int_equal(r.body.len, ll * nlines);
	assert_non_null(strstr(buf_cstr(&r.out), "250 2.0.0 Ok: queued as T1"));
	buf_release(&in);
	srv_release(&r);
}

static void
test_smtp_server_rejects_nul_in_a_command(void **state)
{
	static const char in[] = "NOOP a\0b\r\nNOOP\r\n";
	struct srv_run r;
	struct buf codes;

	buf_init(&codes, BUF_UNLIMITED);
	memset(&r, 0, sizeof(r));
	set_opts(&r.params, 0);
	testlib_trickle(&srv_trickle_ops, &r, in, sizeof(in) - 1, 8);
	srv_reply_codes(&r.out, &codes);
	if (strcmp(buf_cstr(&codes), "220,500 5.5.2,250 2.0.0") != 0)
		fail_msg("got %s, want 220,500 5.5.2,250 2.0.0",
		    buf_cstr(&codes));
	buf_release(&codes);
	srv_release(&r);
}

/* ---- real clients on loopback: Python's smtplib and swaks ---- */

struct peer_srv {
	struct srv_run r;
	struct tls_ctx *ctx;
	struct tls_conn *tls;
	bool tls_started;
};

static int
peer_flush(struct peer_srv *ps, int fd)
{
	struct buf wire;
	struct err e;
	int rc = 0;

	buf_init(&wire, BUF_UNLIMITED);
	if (ps->tls != NULL) {
		if (ps->r.out.len > 0 && tls_conn_write(ps->tls, ps->r.out.data,
		    ps->r.out.len, &e) != 0)
			rc = -1;
		tls_conn_take_output(ps->tls, &wire);
	} else {
		buf_append(&wire, ps->r.out.data, ps->r.out.len);
	}
	buf_reset(&ps->r.out);
	if (wire.len > 0 && peer_write_all(fd, wire.data, wire.len) != 0)
		rc = -1;
	buf_release(&wire);
	return rc;
}

/* Serves one connection on lfd with the scripted policy until the client
 * quits or goes away; TLS through hisp/tls when the client asks. */
static void
peer_serve_one(struct peer_srv *ps, int lfd)
{
	struct pollfd pfd = {lfd, POLLIN, 0};
	uint8_t in[16384];
	struct buf plain;
	struct err e;
	int fd;

	assert_int_equal(poll(&pfd, 1, 20000), 1);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	buf_init(&plain, BUF_UNLIMITED);
	srv_begin(&ps->r);
	peer_flush(ps, fd);
	while (!ps->r.closed) {
		ssize_t n = peer_read(fd, in, sizeof(in), 20000);

		if (n <= 0)
			break;
		if (ps->tls != NULL) {
			if (tls_conn_feed(ps->tls, in, (size_t)n, &e) != 0) {
				print_error("tls: %s\n", e.msg);
				break;
			}
			if (!ps->tls_started && tls_conn_handshake_done(ps->tls)) {
				ps->tls_started = true;
				smtp_server_tls_started(ps->r.s);
				srv_pump(&ps->r);
			}
			buf_reset(&plain);
			if (tls_conn_read(ps->tls, &plain, &e) < 0)
				break;
			if (plain.len > 0)
				srv_feed_plain(&ps->r, plain.data, plain.len);
		} else {
			srv_feed_plain(&ps->r, in, (size_t)n);
		}
		if (peer_flush(ps, fd) != 0)
			break;
		if (ps->r.want_tls && ps->tls == NULL) {
			ps->r.want_tls = false;
			ps->tls = tls_conn_new(ps->ctx, NULL);
		}
	}
	peer_flush(ps, fd);
	close(fd);
	buf_release(&plain);
}

static const char smtplib_script[] =
    "import smtplib, ssl, sys\n"
    "port, ca = int(sys.argv[1]), sys.argv[2]\n"
    "ctx = ssl.create_default_context(cafile=ca)\n"
    "ctx.check_hostname = False\n"
    "s = smtplib.SMTP('127.0.0.1', port, local_hostname='client.test', "
    "timeout=20)\n"
    "s.ehlo()\n"
    "assert s.has_extn('starttls') and not s.has_extn('auth'), s.esmtp_features\n"
    "s.starttls(context=ctx)\n"
    "s.ehlo()\n"
    "assert s.has_extn('auth') and s.has_extn('pipelining')\n"
    "try:\n"
    "    s.login('alice', 'wrong')\n"
    "    sys.exit('login with a bad password succeeded')\n"
    "except smtplib.SMTPAuthenticationError as e:\n"
    "    assert e.smtp_code == 535, e\n"
    "s.login('alice', 'secret')\n"
    "msg = 'Subject: t\\n\\n.dot line\\nbody\\n'\n"
    "refused = s.sendmail('alice@local.test', ['b@local.test', "
    "'x@far.test'], msg)\n"
    "assert refused == {}, refused\n"
    "code, _ = s.docmd('VRFY', 'bob')\n"
    "assert code == 252, code\n"
    "s.quit()\n";

static void
test_smtp_server_serves_python_smtplib_with_starttls_and_auth(void **state)
{
	char *dir = testlib_tmpdir();
	char *cert = xasprintf("%s/c.pem", dir), *key = xasprintf("%s/k.pem", dir);
	char *script = xasprintf("%s/client.py", dir), *cmd;
	struct peer_srv ps;
	struct err e;
	int port = 0, lfd, rc;
	pid_t pid;

	if (access("/usr/bin/python3", X_OK) != 0) {
		print_message("skipped: no /usr/bin/python3\n");
		skip();
	}
	cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 2 "
	    "-subj /CN=mx.local.test >/dev/null 2>&1", key, cert);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	testlib_write_file(script, smtplib_script, sizeof(smtplib_script) - 1);
	memset(&ps, 0, sizeof(ps));
	set_opts(&ps.r.params, O_TLS | O_AUTH | O_REQ_TLS | O_REQ_AUTH);
	ps.ctx = tls_ctx_new_server(cert, key, &e);
	assert_non_null(ps.ctx);
	lfd = peer_listen(&port);
	assert_true(lfd >= 0);
	cmd = xasprintf("/usr/bin/python3 %s %d %s", script, port, cert);
	pid = peer_spawn(cmd);
	peer_serve_one(&ps, lfd);
	rc = peer_wait(pid, 20);
	if (rc != 0)
		fail_msg("smtplib: got exit %d, want 0 (events: %s)", rc,
		    buf_cstr(&ps.r.events));
	assert_string_equal(buf_cstr(&ps.r.body),
	    "Subject: t\r\n\r\n.dot line\r\nbody\r\n");
	/* smtplib tries PLAIN then LOGIN with the bad password. */
	if (strstr(buf_cstr(&ps.r.events), "auth:PLAIN:alice "
	    "auth:LOGIN:alice auth:PLAIN:alice mail:alice@local.test:size "
	    "rcpt:b@local.test rcpt:x@far.test data end:31 ") == NULL)
		fail_msg("events: got %s", buf_cstr(&ps.r.events));
	close(lfd);
	srv_release(&ps.r);
	tls_conn_free(&ps.tls);
	tls_ctx_free(&ps.ctx);
	testlib_rmtree(dir);
	free(dir);
	free(cert);
	free(key);
	free(script);
	free(cmd);
}

static void
test_smtp_server_serves_swaks_pipelining(void **state)
{
	struct peer_srv ps;
	int port = 0, lfd, rc;
	pid_t pid;
	char *cmd;

	if (system("command -v swaks >/dev/null 2>&1") != 0) {
		print_message("skipped: swaks is not installed\n");
		skip();
	}
	memset(&ps, 0, sizeof(ps));
	set_opts(&ps.r.params, 0);
	lfd = peer_listen(&port);
	assert_true(lfd >= 0);
	cmd = xasprintf("swaks --silent 2 --server 127.0.0.1:%d --pipeline "
	    "--helo client.test --from a@remote.test "
	    "--to b@local.test,c@local.test --header 'Subject: swaks' "
	    "--body 'hello from swaks' --timeout 20", port);
	pid = peer_spawn(cmd);
	peer_serve_one(&ps, lfd);
	rc = peer_wait(pid, 20);
	if (rc != 0)
		fail_msg("swaks: got exit %d, want 0 (events: %s)", rc,
		    buf_cstr(&ps.r.events));
	assert_non_null(strstr(buf_cstr(&ps.r.events),
	    "mail:a@remote.test rcpt:b@local.test rcpt:c@local.test data "));
	assert_non_null(strstr(buf_cstr(&ps.r.body), "hello from swaks"));
	close(lfd);
	srv_release(&ps.r);
	free(cmd);
}

static void
test_smtp_server_free_accepts_null(void **state)
{
	struct smtp_server *s = NULL;

	smtp_server_free(&s);
	smtp_server_free(NULL);
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_server_table_cases),
		cmocka_unit_test(test_smtp_server_ehlo_advertises_extensions),
		cmocka_unit_test(test_smtp_server_ehlo_offers_auth_only_under_tls),
		cmocka_unit_test(test_smtp_server_ehlo_advertises_chunking_when_enabled),
		cmocka_unit_test(test_smtp_server_bdat_refused_by_the_caller_after_the_chunk),
		cmocka_unit_test(test_smtp_server_greeting_and_helo_reply),
		cmocka_unit_test(test_smtp_server_too_many_errors_reply_names_host),
		cmocka_unit_test(test_smtp_server_pauses_until_the_caller_answers),
		cmocka_unit_test(test_smtp_server_reject_checks_code_and_enhanced_code),
		cmocka_unit_test(test_smtp_server_holds_input_while_paused),
		cmocka_unit_test(test_smtp_server_reports_timeouts_per_state),
		cmocka_unit_test(test_smtp_server_close_421_drops_pending_decision),
		cmocka_unit_test(test_smtp_server_disconnect_aborts_the_transaction),
		cmocka_unit_test(test_smtp_server_big_message_is_streamed_in_chunks),
		cmocka_unit_test(test_smtp_server_rejects_nul_in_a_command),
		cmocka_unit_test(test_smtp_server_serves_python_smtplib_with_starttls_and_auth),
		cmocka_unit_test(test_smtp_server_serves_swaks_pipelining),
		cmocka_unit_test(test_smtp_server_free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
