/* net.h - libcurl's one-time global set-up, shared by every part of the library that makes requests. */
#ifndef MG_NET_H
#define MG_NET_H

/* Initialises libcurl once, thread-safely; 1 when it is usable. */
int mg_curl_ready(void);

#endif
