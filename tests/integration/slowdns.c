/* LD_PRELOAD shim for the tests: the host name slow-dns.sked.test resolves, like a DNS server
 * that takes its time, only after 2 s, to 127.0.0.1; fail-dns.sked.test does not resolve;
 * every other name as usual. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **) =
        (int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))dlsym(
            RTLD_NEXT, "getaddrinfo");
    if (node && strcmp(node, "fail-dns.sked.test") == 0) return EAI_NONAME;
    if (node && strcmp(node, "slow-dns.sked.test") == 0) {
        sleep(2);
        node = "127.0.0.1";
    }
    return real(node, service, hints, res);
}
