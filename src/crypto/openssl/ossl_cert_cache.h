/* The OpenSSL backend's cache of parsed peer certificates (x509.c), as the
 * bench and the tests see it: not part of the provider interface nor of
 * the public API. `iotls bench` turns the cache off at run time to measure
 * a handshake with a never-seen certificate beside the usual one, in the
 * same binary and run; the tests count parses to check that it did. */
#ifndef IOTLS_OSSL_CERT_CACHE_H
#define IOTLS_OSSL_CERT_CACHE_H

/* Slots of the cache; 0 builds it out (every peer certificate is parsed). */
#ifndef IOTLS_OSSL_CERT_CACHE
#define IOTLS_OSSL_CERT_CACHE 8
#endif

/* on = 0: from now on every peer certificate is parsed anew, as a
 * never-seen one is, and nothing is looked up in or added to the cache
 * (what it holds stays, unused); on = 1 (the start-up state): the cache is
 * used again. Any thread, any time; connections already running may see
 * the change or not. No effect when IOTLS_OSSL_CERT_CACHE is 0. */
void iotls__ossl_cert_cache_set_enabled(int on);

/* 1 when peer certificates go through the cache now: built in and not
 * turned off. */
int iotls__ossl_cert_cache_enabled(void);

/* Peer certificates (iotls__x509_add_der) since the process started: those
 * parsed (DER decoded by OpenSSL) and those taken parsed from the cache.
 * Either pointer may be NULL. */
void iotls__ossl_cert_cache_counts(unsigned long *parsed, unsigned long *hits);

#endif
