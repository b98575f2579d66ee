/*
 * netns.h: a network namespace of its own for each build and each app,
 * with outbound access only.
 *
 * Each sandbox gets a namespace holding a veth "eth0" with the second
 * address of a /30 of sandbox_network and a default route to the first,
 * which sits on the host's end, "shipoff<slot>".  The host forwards and
 * masquerades what goes out through one nftables table of the platform's
 * own, "inet shipoff", whose egress policy refuses the host itself, other
 * sandboxes, link-local (cloud metadata), loopback, private and reserved
 * ranges (sandbox_deny_networks too) unless sandbox_allow_networks says
 * otherwise; DNS to the host's nameservers is let through.  Sandboxes have
 * IPv4 only.
 *
 * The slot is taken by creating the host's end: the kernel refuses a
 * second link of that name, so concurrent workers, shipoffd and several
 * stacks on one host never share one, without any bookkeeping.  Nothing
 * needs removing either: the namespace lives while a process of the
 * sandbox is in it (apps outlive shipoffd with it) and its veth pair goes
 * with it.
 */

#ifndef BLD_NETNS_H
#define BLD_NETNS_H

#include "so_config.h"

#define BLD_NETNS_ERRLEN   160
#define BLD_NETNS_IFLEN    16          /* IFNAMSIZ */
#define BLD_NETNS_ADDRLEN  16          /* "255.255.255.255" */
#define BLD_NETNS_IFPREFIX "shipoff"    /* every host end; nft matches it */

typedef struct {
    int       fd;                       /* the namespace; -1: none */
    char      ifname[BLD_NETNS_IFLEN];  /* the host's end */
    char      addr[BLD_NETNS_ADDRLEN];  /* the sandbox's address */
    char      errstr[BLD_NETNS_ERRLEN];
} bld_netns_t;

/*
 * Sets the host up for sandbox namespaces: the table inet shipoff
 * (replaced whole and atomically, nothing else touched) and IPv4
 * forwarding.  At start and on reload.  0 or SO_EINVAL / SO_ERR with err.
 */
int bld_netns_host_init(const so_config_t *cfg, char *err, size_t errlen);

/*
 * A new namespace, ready to be joined (sandbox.c); 0 or SO_ERR.  Closing
 * ns->fd lets go of it: it lives on while a process is in it.
 */
int bld_netns_create(bld_netns_t *ns, const so_config_t *cfg);

#endif /* BLD_NETNS_H */
