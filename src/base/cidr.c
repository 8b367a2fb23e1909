/* cidr: address lists and membership; see cidr.h. */
#include "cidr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int cidr_addr(const char *addr, struct cidr *a)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, addr, a->addr) == 1) {
        a->bits = 32;
        return 0;
    }
    unsigned char b[16];
    if (inet_pton(AF_INET6, addr, b) != 1) return -1;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, sizeof mapped) == 0) { /* ::ffff:a.b.c.d */
        memcpy(a->addr, b + 12, 4);
        a->bits = 32;
        return 0;
    }
    memcpy(a->addr, b, 16);
    a->bits = 128;
    a->v6 = true;
    return 0;
}

/* One item, "ADDRESS" or "ADDRESS/BITS", of len bytes. */
static const char *parse_item(const char *s, size_t len, struct cidr *c)
{
    char text[64];
    if (len >= sizeof text) return "not an IP address or network";
    memcpy(text, s, len);
    text[len] = '\0';
    char *slash = strchr(text, '/');
    if (slash) *slash = '\0';
    if (cidr_addr(text, c) != 0) return "not an IP address or network";
    if (slash) {
        if (!c->v6 && strchr(text, ':')) /* ::ffff:a.b.c.d/N would count the bits of IPv6 */
            return "write an IPv4 network as a.b.c.d/N";
        int max = c->v6 ? 128 : 32;
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || bits < 0 || bits > max)
            return c->v6 ? "the prefix length must be 0 to 128"
                         : "the prefix length must be 0 to 32";
        c->bits = (unsigned char)bits;
    }
    for (int i = 0; i < 16; i++) { /* host bits cleared: 10.1.2.3/8 is 10.0.0.0/8 */
        int keep = c->bits - i * 8;
        c->addr[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
    }
    return NULL;
}

const char *cidr_list_parse(const char *text, struct cidr_list *out, char *bad, size_t badlen)
{
    struct cidr_list l = {NULL, 0};
    size_t cap = 0;
    for (const char *p = text; *p;) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (!trimmed) {
            if (!p[len]) break; /* "a, b," ends with an empty item: allowed */
            snprintf(bad, badlen, "%s", "");
            free(l.v);
            return "an empty item between commas";
        }
        struct cidr c;
        const char *why = parse_item(p, trimmed, &c);
        if (why) {
            snprintf(bad, badlen, "%.*s", (int)trimmed, p);
            free(l.v);
            return why;
        }
        if (l.n == cap) {
            cap = cap ? cap * 2 : 4;
            l.v = xrealloc(l.v, cap * sizeof *l.v);
        }
        l.v[l.n++] = c;
        p += len;
        if (*p == ',') p++;
    }
    cidr_list_free(out);
    *out = l;
    return NULL;
}

void cidr_list_free(struct cidr_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool cidr_list_has(const struct cidr_list *l, const char *addr)
{
    struct cidr a;
    if (!l->n || cidr_addr(addr, &a) != 0) return false;
    for (size_t i = 0; i < l->n; i++) {
        const struct cidr *c = &l->v[i];
        if (c->v6 != a.v6) continue;
        int full = c->bits / 8, rest = c->bits % 8;
        if (memcmp(c->addr, a.addr, (size_t)full) != 0) continue;
        if (rest && ((c->addr[full] ^ a.addr[full]) & (0xff << (8 - rest)) & 0xff)) continue;
        return true;
    }
    return false;
}

size_t host_port_len(const char *h, size_t n)
{
    size_t i = 0;
    if (n && h[0] == '[') {
        while (i + 1 < n &&
               (isxdigit((unsigned char)h[i + 1]) || h[i + 1] == ':' || h[i + 1] == '.'))
            i++;
        if (i + 1 >= n || h[i + 1] != ']' || i < 2) return 0;
        i += 2;
    } else {
        if (!n || !isalnum((unsigned char)h[0])) return 0;
        while (i < n && (isalnum((unsigned char)h[i]) || (h[i] && strchr("-._", h[i])))) i++;
    }
    if (i < n && h[i] == ':') {
        size_t d = 0;
        long port = 0;
        while (i + 1 + d < n && d < 6 && isdigit((unsigned char)h[i + 1 + d]))
            port = port * 10 + (h[i + 1 + d++] - '0');
        if (d && d <= 5 && port >= 1 && port <= 65535) i += 1 + d;
    }
    return i;
}
