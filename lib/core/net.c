/*
 * net.c - libcurl through dlopen: only remote models and the gate make requests, so the other
 * commands never pay for loading libcurl and the TLS stack behind it. Loaded and initialised once
 * (curl_global_init is not for concurrent first use: the gate's threads and the daemon's may all ask).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/net.h"

#define LIBCURL "libcurl.so.4"

static mg_curl_api api;
static int api_ok;
static char api_err[256];

/* 7.85: CURLOPT_PROTOCOLS_STR, which keeps every request to http and https */
#define MIN_VERSION 0x075500

static void load(void)
{
    void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(api_err, sizeof api_err, "cannot load %s (Debian: apt-get install libcurl4): %s", LIBCURL, dlerror());
        return;
    }
    curl_version_info_data *(*version)(CURLversion) = NULL;
    *(void **)&version = dlsym(h, "curl_version_info");
    curl_version_info_data *v = version ? version(CURLVERSION_NOW) : NULL;
    if (!v || v->version_num < MIN_VERSION) {
        snprintf(api_err, sizeof api_err, "%s is libcurl %s: mlgate needs 7.85 or newer", LIBCURL,
                 v && v->version ? v->version : "(unknown)");
        dlclose(h);
        return;
    }
    static const struct { const char *name; size_t off; } syms[] = {
#define SYM(field, name) {name, offsetof(mg_curl_api, field)}
        SYM(easy_init, "curl_easy_init"),         SYM(easy_setopt, "curl_easy_setopt"),
        SYM(easy_perform, "curl_easy_perform"),   SYM(easy_getinfo, "curl_easy_getinfo"),
        SYM(easy_cleanup, "curl_easy_cleanup"),   SYM(easy_strerror, "curl_easy_strerror"),
        SYM(slist_append, "curl_slist_append"),   SYM(slist_free_all, "curl_slist_free_all"),
        SYM(mime_init, "curl_mime_init"),         SYM(mime_addpart, "curl_mime_addpart"),
        SYM(mime_name, "curl_mime_name"),         SYM(mime_filename, "curl_mime_filename"),
        SYM(mime_type, "curl_mime_type"),         SYM(mime_data, "curl_mime_data"),
        SYM(mime_free, "curl_mime_free"),
#undef SYM
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *p = dlsym(h, syms[i].name);
        if (!p) {
            snprintf(api_err, sizeof api_err, "%s lacks %s", LIBCURL, syms[i].name);
            dlclose(h);
            return;
        }
        memcpy((char *)&api + syms[i].off, &p, sizeof p);
    }
    CURLcode (*global_init)(long) = NULL;
    *(void **)&global_init = dlsym(h, "curl_global_init");
    if (!global_init || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(api_err, sizeof api_err, "libcurl could not start (curl_global_init)");
        dlclose(h);
        return;
    }
    api_ok = 1;   /* the library stays loaded for the life of the process */
}

const mg_curl_api *mg_curl(char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, load);
    if (!api_ok && err)
        snprintf(err, errlen, "%s", api_err);
    return api_ok ? &api : NULL;
}
