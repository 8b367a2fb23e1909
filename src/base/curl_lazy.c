/*
 * curl_lazy: the part of libcurl's API sked uses, loaded with dlopen on first use.
 *
 * libcurl brings some thirty shared libraries with it (OpenSSL, GnuTLS, Kerberos, LDAP, SSH,
 * ...), about half of an idle server's resident memory, for what only notifications, the http
 * builtin and the CLI use. So sked is not linked against it: these definitions of libcurl's
 * functions (the declarations are curl.h's) load libcurl.so.4 the first time one is called and
 * forward to it. Without a loadable libcurl every call fails the way libcurl reports a failure
 * (NULL handle, CURLE_FAILED_INIT, the reason from curl_easy_strerror), so a delivery or an
 * http run fails with that reason, and nothing else in sked is affected.
 */
#define CURL_DISABLE_TYPECHECK /* the type-checking macros would rename what is defined here */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static struct {
    CURLcode (*global_init)(long);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    char *(*easy_escape)(CURL *, const char *, int);
    void (*free)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *lib;
static char why[256] = "libcurl is not loaded";

static void load(void)
{
    lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, sizeof why, "libcurl could not be loaded (install libcurl4): %s", dlerror());
        return;
    }
    struct {
        const char *name;
        void **slot;
    } sym[] = {
#define SYM(n) {"curl_" #n, (void **)&fn.n}
        SYM(global_init),   SYM(global_cleanup), SYM(easy_init),     SYM(easy_setopt),
        SYM(easy_perform),  SYM(easy_getinfo),   SYM(easy_cleanup),  SYM(easy_strerror),
        SYM(easy_escape),   SYM(free),           SYM(slist_append),  SYM(slist_free_all),
#undef SYM
    };
    for (size_t i = 0; i < sizeof sym / sizeof sym[0]; i++) {
        *sym[i].slot = dlsym(lib, sym[i].name);
        if (!*sym[i].slot) {
            snprintf(why, sizeof why, "libcurl.so.4 has no %s", sym[i].name);
            fn.easy_init = NULL; /* marks the library unusable */
            return;
        }
    }
    if (fn.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(why, sizeof why, "libcurl failed to initialise");
        fn.easy_init = NULL;
    }
}

static int ready(void)
{
    pthread_once(&once, load);
    return fn.easy_init != NULL;
}

/* The real initialisation happens on first use, once, whichever thread gets there first. */
CURLcode curl_global_init(long flags)
{
    (void)flags;
    return CURLE_OK;
}

void curl_global_cleanup(void)
{
    if (lib && fn.easy_init) fn.global_cleanup();
}

CURL *curl_easy_init(void)
{
    return ready() ? fn.easy_init() : NULL;
}

/* One argument follows the option; its type is given by the option's number range, as in
 * libcurl itself: long, object pointer, function pointer, curl_off_t, blob pointer. */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    if (!ready() || !h) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        rc = fn.easy_setopt(h, opt, va_arg(ap, long));
    else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
        rc = fn.easy_setopt(h, opt, va_arg(ap, void *));
    else if (opt < CURLOPTTYPE_OFF_T)
        rc = fn.easy_setopt(h, opt, va_arg(ap, void (*)(void)));
    else if (opt < CURLOPTTYPE_BLOB)
        rc = fn.easy_setopt(h, opt, va_arg(ap, curl_off_t));
    else
        rc = fn.easy_setopt(h, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
    return ready() && h ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    if (!ready() || !h) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = fn.easy_getinfo(h, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

void curl_easy_cleanup(CURL *h)
{
    if (h && ready()) fn.easy_cleanup(h);
}

const char *curl_easy_strerror(CURLcode code)
{
    return ready() ? fn.easy_strerror(code) : why;
}

char *curl_easy_escape(CURL *h, const char *s, int len)
{
    return ready() ? fn.easy_escape(h, s, len) : NULL;
}

void curl_free(void *p)
{
    if (p && ready()) fn.free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
    return ready() ? fn.slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
    if (list && ready()) fn.slist_free_all(list);
}
