/* IOTLS_API marks the library's public functions. The shared library is
 * built with hidden visibility and exports these alone, so programs cannot
 * come to depend on internal functions that change between versions. */
#ifndef IOTLS_API_H
#define IOTLS_API_H

#if defined(__GNUC__) || defined(__clang__)
#define IOTLS_API __attribute__((visibility("default")))
#else
#define IOTLS_API
#endif

#endif
