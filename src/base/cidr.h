/*
 * cidr: lists of IP addresses and networks ("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8"), and
 * whether an address is in one. For the reverse proxies whose X-Forwarded-For sked believes.
 * An IPv4 address written as IPv6 (::ffff:10.0.0.1, how a dual-stack socket shows an IPv4
 * peer) is taken as the IPv4 address.
 */
#ifndef SKED_CIDR_H
#define SKED_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct cidr {
    unsigned char addr[16]; /* IPv4 in the first 4 bytes */
    unsigned char bits;     /* the prefix length */
    bool v6;
};

struct cidr_list {
    struct cidr *v;
    size_t n;
};

/* Parses a comma-separated list (blanks around items ignored; empty: no entries). NULL when
 * it parses, else why not, with the item at fault copied to bad. out is replaced only on
 * success. */
const char *cidr_list_parse(const char *text, struct cidr_list *out, char *bad, size_t badlen);
void cidr_list_free(struct cidr_list *l);
/* Whether addr (an address as text: a bare IPv4 or IPv6 address) is in one of l's entries. */
bool cidr_list_has(const struct cidr_list *l, const char *addr);
/* Reads an address as text into *a (bits = the full length): 0, or -1 when it is none. */
int cidr_addr(const char *addr, struct cidr *a);

/* How many of the n bytes at h are a host and its optional :PORT, as URLs and Host headers
 * carry them: a name or an IPv4 address (letters, digits, '-', '.' and '_', from a letter or a
 * digit) or an IPv6 address in brackets, then ':' and a port from 1 to 65535 (a port that is
 * none is not counted). 0 when no host starts h. */
size_t host_port_len(const char *h, size_t n);

#endif
