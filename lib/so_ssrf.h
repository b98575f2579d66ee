/*
 * so_ssrf.h: is this address on the public internet?  The guard against
 * server-side request forgery: a repo_url (or any URL a user gives us to
 * fetch) must not make the platform talk to itself, its private network
 * or the cloud's metadata service (169.254.169.254).
 *
 * Every address a host resolves to must be public: a name with one
 * private address among public ones is refused (a resolver may answer
 * either).  IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 addresses
 * are judged by the IPv4 address they carry.
 *
 * The check is at validation time; a name may resolve differently when
 * the clone connects (DNS rebinding).  The builder's sandbox network
 * policy is the second line.
 */

#ifndef SO_SSRF_H
#define SO_SSRF_H

#include <stddef.h>
#include <sys/socket.h>

/* a cloud's metadata service (169.254.169.254, fd00:ec2::254 ...) */
#define SO_SSRF_METADATA  "cloud metadata"

/*
 * NULL when sa is a public unicast address, else why not ("loopback",
 * "private", "link-local", "CGNAT", "multicast", "unspecified",
 * "reserved", SO_SSRF_METADATA).  Only AF_INET and AF_INET6; any other
 * family is "reserved".
 */
const char *so_ssrf_classify(const struct sockaddr *sa);

/* so_ssrf_classify() of an address in text ("10.0.0.1", "::1") */
const char *so_ssrf_classify_text(const char *addr);

/*
 * Resolves host (a name or an address literal, without brackets) and
 * checks every address.  0; SO_EDENIED with reason "resolves to a
 * loopback address"; SO_ENOTFOUND when it does not resolve.
 */
int so_ssrf_check_host(const char *host, char *reason, size_t len);

/*
 * The same, refusing only what no private network setting may reach: the
 * metadata services and link-local addresses, where they live.
 */
int so_ssrf_check_metadata(const char *host, char *reason, size_t len);

#endif /* SO_SSRF_H */
