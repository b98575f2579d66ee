/*
 * so_ssrf.c: the address classifier (see so_ssrf.h).
 *
 * IPv4 ranges are one table of (network, prefix length, class) from the
 * IANA special-purpose registry (RFC 6890 and successors), led by the
 * clouds' metadata services.  IPv6 first unwraps an embedded IPv4
 * address, then uses its own table.
 */

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shipoff.h"
#include "so_ssrf.h"


typedef struct {
    uint32_t     net;
    int          bits;
    const char  *why;
} so_ssrf_v4_t;


typedef struct {
    uint8_t      net[16];
    int          bits;
    const char  *why;
} so_ssrf_v6_t;


static const so_ssrf_v4_t  so_ssrf_v4[] = {
    { 0xa9fea9fe, 32, SO_SSRF_METADATA },   /* 169.254.169.254 */
    { 0xa9feaa02, 32, SO_SSRF_METADATA },   /* 169.254.170.2 (ECS) */
    { 0x646464c8, 32, SO_SSRF_METADATA },   /* 100.100.100.200 (Alibaba) */
    { 0x00000000, 8,  "unspecified" },      /* 0.0.0.0/8 "this network" */
    { 0x0a000000, 8,  "private" },          /* 10.0.0.0/8 */
    { 0x64400000, 10, "CGNAT" },            /* 100.64.0.0/10 */
    { 0x7f000000, 8,  "loopback" },         /* 127.0.0.0/8 */
    { 0xa9fe0000, 16, "link-local" },       /* 169.254.0.0/16 */
    { 0xac100000, 12, "private" },          /* 172.16.0.0/12 */
    { 0xc0000000, 24, "reserved" },         /* 192.0.0.0/24 IETF */
    { 0xc0000200, 24, "reserved" },         /* 192.0.2.0/24 TEST-NET-1 */
    { 0xc0586300, 24, "reserved" },         /* 192.88.99.0/24 6to4 relay */
    { 0xc0a80000, 16, "private" },          /* 192.168.0.0/16 */
    { 0xc6120000, 15, "reserved" },         /* 198.18.0.0/15 benchmarks */
    { 0xc6336400, 24, "reserved" },         /* 198.51.100.0/24 TEST-NET-2 */
    { 0xcb007100, 24, "reserved" },         /* 203.0.113.0/24 TEST-NET-3 */
    { 0xe0000000, 4,  "multicast" },        /* 224.0.0.0/4 */
    { 0xf0000000, 4,  "reserved" },         /* 240.0.0.0/4, broadcast */
};


static const so_ssrf_v6_t  so_ssrf_v6[] = {
    { { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, 0x54 }, 128,
      SO_SSRF_METADATA },                                   /* fd00:ec2::254 */
    { { 0 }, 128, "unspecified" },                          /* :: */
    { { [15] = 1 }, 128, "loopback" },                      /* ::1 */
    { { 0x01, 0x00 }, 64, "reserved" },                     /* 100::/64 */
    { { 0x20, 0x01, 0x00, 0x00 }, 32, "reserved" },         /* Teredo */
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32, "reserved" },         /* docs */
    { { 0xfc }, 7, "private" },                             /* ULA */
    { { 0xfe, 0x80 }, 10, "link-local" },                   /* fe80::/10 */
    { { 0xfe, 0xc0 }, 10, "private" },                      /* site-local */
    { { 0xff }, 8, "multicast" },                           /* ff00::/8 */
};


static const char *so_ssrf_classify_v4(uint32_t a);
static const char *so_ssrf_classify_v6(const uint8_t a[16]);
static int so_ssrf_prefix(const uint8_t *a, const uint8_t *net, int bits);
static int so_ssrf_check(const char *host, int metadata_only, char *reason,
    size_t len);


static const char *
so_ssrf_classify_v4(uint32_t a)
{
    size_t  i;

    for (i = 0; i < so_nelems(so_ssrf_v4); i++) {
        if ((a >> (32 - so_ssrf_v4[i].bits))
            == (so_ssrf_v4[i].net >> (32 - so_ssrf_v4[i].bits)))
        {
            return so_ssrf_v4[i].why;
        }
    }

    return NULL;
}


static int
so_ssrf_prefix(const uint8_t *a, const uint8_t *net, int bits)
{
    int  full, rest;

    full = bits / 8;
    rest = bits % 8;

    if (memcmp(a, net, (size_t) full) != 0) {
        return 0;
    }

    return rest == 0
           || ((a[full] ^ net[full]) & (uint8_t) (0xff << (8 - rest))) == 0;
}


static const char *
so_ssrf_classify_v6(const uint8_t a[16])
{
    static const uint8_t  mapped[12] = { [10] = 0xff, [11] = 0xff };
    static const uint8_t  nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
    static const uint8_t  zero[12] = { 0 };
    size_t                i;
    uint32_t              v4;

    for (i = 0; i < so_nelems(so_ssrf_v6); i++) {
        if (so_ssrf_prefix(a, so_ssrf_v6[i].net, so_ssrf_v6[i].bits)) {
            return so_ssrf_v6[i].why;
        }
    }

    /* ::ffff:a.b.c.d, 64:ff9b::a.b.c.d, ::a.b.c.d: the IPv4 address */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0
        || memcmp(a, zero, 12) == 0)
    {
        v4 = (uint32_t) a[12] << 24 | (uint32_t) a[13] << 16
             | (uint32_t) a[14] << 8 | a[15];
        return so_ssrf_classify_v4(v4);
    }

    /* 2002:AABB:CCDD::/48, 6to4: the IPv4 address AA.BB.CC.DD */
    if (a[0] == 0x20 && a[1] == 0x02) {
        v4 = (uint32_t) a[2] << 24 | (uint32_t) a[3] << 16
             | (uint32_t) a[4] << 8 | a[5];
        return so_ssrf_classify_v4(v4);
    }

    return NULL;
}


const char *
so_ssrf_classify(const struct sockaddr *sa)
{
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    if (sa->sa_family == AF_INET) {
        sin = (const struct sockaddr_in *) (const void *) sa;
        return so_ssrf_classify_v4(ntohl(sin->sin_addr.s_addr));
    }

    if (sa->sa_family == AF_INET6) {
        sin6 = (const struct sockaddr_in6 *) (const void *) sa;
        return so_ssrf_classify_v6(sin6->sin6_addr.s6_addr);
    }

    return "reserved";
}


const char *
so_ssrf_classify_text(const char *addr)
{
    struct sockaddr_in   sin;
    struct sockaddr_in6  sin6;

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));

    if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        return so_ssrf_classify((struct sockaddr *) &sin);
    }

    if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        return so_ssrf_classify((struct sockaddr *) &sin6);
    }

    return "reserved";
}


/* metadata_only: only the metadata services and link-local are refused */
static int
so_ssrf_check(const char *host, int metadata_only, char *reason, size_t len)
{
    struct addrinfo   hints, *res, *ai;
    const char       *why;
    int               rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    res = NULL;
    reason[0] = '\0';

    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        snprintf(reason, len, "its host does not resolve");
        rc = SO_ENOTFOUND;
        goto done;
    }

    rc = SO_OK;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        why = so_ssrf_classify(ai->ai_addr);
        if (why != NULL
            && (!metadata_only || strcmp(why, SO_SSRF_METADATA) == 0
                || strcmp(why, "link-local") == 0))
        {
            snprintf(reason, len, "its host resolves to a%s %s address",
                     why[0] == 'u' ? "n" : "", why);
            rc = SO_EDENIED;
            break;
        }
    }

done:

    if (res != NULL) {
        freeaddrinfo(res);
    }

    return rc;
}


int
so_ssrf_check_host(const char *host, char *reason, size_t len)
{
    return so_ssrf_check(host, 0, reason, len);
}


int
so_ssrf_check_metadata(const char *host, char *reason, size_t len)
{
    return so_ssrf_check(host, 1, reason, len);
}
