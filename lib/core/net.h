/* net.h - libcurl, loaded with dlopen on first use (only URLs and the gate need it), with its one-time global set-up. */
#ifndef MG_CORE_NET_H
#define MG_CORE_NET_H

#include <curl/curl.h>   /* types and constants only: nothing is linked */
#include <stddef.h>

/* The libcurl functions mlgate calls. */
typedef struct mg_curl_api {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    curl_mime *(*mime_init)(CURL *);
    curl_mimepart *(*mime_addpart)(curl_mime *);
    CURLcode (*mime_name)(curl_mimepart *, const char *);
    CURLcode (*mime_filename)(curl_mimepart *, const char *);
    CURLcode (*mime_type)(curl_mimepart *, const char *);
    CURLcode (*mime_data)(curl_mimepart *, const char *, size_t);
    void (*mime_free)(curl_mime *);
} mg_curl_api;

/* libcurl, loaded and initialised once, thread-safely; NULL with why in err when it cannot be. */
const mg_curl_api *mg_curl(char *err, size_t errlen);

#endif
