/*
 * netns.c: the network of the sandboxes (see netns.h for the design).
 *
 * The host's side is one nftables table, written by `nft -f -` as one
 * transaction that creates the table, deletes it and writes it anew, so
 * a restart or reload replaces exactly what the platform made and never
 * flushes or edits another ruleset.  The chains hook input (a sandbox
 * opens nothing on the host: its own answers only), forward (what a
 * sandbox sends out passes the egress chain; nothing new enters one) and
 * postrouting (masquerade).  IPv4 forwarding must be on for the NAT; when
 * it was off before the platform turned it on, the table also drops
 * forwarding that neither comes from nor goes to a sandbox (chain
 * "foreign"), so the host does not become a router for its neighbours;
 * that choice is kept across restarts by looking for the chain.
 *
 * A namespace is made by unshare() of the calling thread, which sets it
 * up from inside before it goes back with setns(): the veth pair is made
 * there with its host's end placed straight into the host's namespace
 * (IFLA_NET_NS_FD).  Each end is configured over rtnetlink from its own
 * namespace, on a socket per request.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_fd.h"
#include "netns.h"

#define NN_MSG_MAX      1024
#define NN_OUT_MAX      4096
#define NN_SLOT_TRIES   64

/* refused to every sandbox whatever sandbox_allow_networks says */
#define NN_NEVER        "169.254.0.0/16"

/* private, shared, loopback and reserved: refused unless allowed */
static const char *const  nn_refused[] = {
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
    "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "224.0.0.0/3"
};

typedef union {
    struct nlmsghdr  h;
    char             buf[NN_MSG_MAX];
} nn_msg_t;


static int nn_cidr(const char *s, uint32_t *net, unsigned *prefix);
static int nn_network(const so_config_t *cfg, uint32_t *net,
    unsigned *prefix, char *err, size_t errlen);
static int nn_list(FILE *f, const char *set, const char *list,
    const char *key, char *err, size_t errlen);
static void nn_nameservers(FILE *f);
static int nn_run(const char *nft, const char *const *argv,
    const char *input, char *out, size_t outlen);
static char *nn_ruleset(const so_config_t *cfg, int guard, char *err,
    size_t errlen);
static void nn_msg_init(nn_msg_t *m, int type, int flags, const void *hdr,
    size_t len);
static struct rtattr *nn_attr(nn_msg_t *m, int type, const void *data,
    size_t len);
static void nn_attr_end(nn_msg_t *m, struct rtattr *a);
static int nn_talk(nn_msg_t *m);
static int nn_link_veth(const char *name, int host);
static int nn_slot(bld_netns_t *ns, int host, unsigned prefix,
    unsigned *slot);
static int nn_up(const char *ifname, uint32_t addr, uint32_t gw);


/* "a.b.c.d/n" (n 0..32; no "/n": 32) into network and prefix */
static int
nn_cidr(const char *s, uint32_t *net, unsigned *prefix)
{
    struct in_addr   a;
    char             ip[BLD_NETNS_ADDRLEN], *end;
    const char      *slash;
    unsigned long    n;
    size_t           len;

    slash = strchr(s, '/');
    len = slash != NULL ? (size_t) (slash - s) : strlen(s);
    if (len == 0 || len >= sizeof(ip)) {
        return SO_EINVAL;
    }
    memcpy(ip, s, len);
    ip[len] = '\0';

    if (inet_pton(AF_INET, ip, &a) != 1) {
        return SO_EINVAL;
    }

    n = 32;
    if (slash != NULL) {
        errno = 0;
        n = strtoul(slash + 1, &end, 10);
        if (errno != 0 || end == slash + 1 || *end != '\0' || n > 32) {
            return SO_EINVAL;
        }
    }

    *prefix = (unsigned) n;
    *net = ntohl(a.s_addr) & (n == 0 ? 0 : ~0U << (32 - n));
    return SO_OK;
}


/* sandbox_network, a /8 to /28: 0 or SO_EINVAL with err */
static int
nn_network(const so_config_t *cfg, uint32_t *net, unsigned *prefix,
    char *err, size_t errlen)
{
    if (nn_cidr(cfg->sandbox_network, net, prefix) == SO_OK
        && *prefix >= 8 && *prefix <= 28)
    {
        return SO_OK;
    }

    snprintf(err, errlen, "sandbox_network: \"%s\" is not an IPv4 network "
             "from /8 to /28", cfg->sandbox_network);
    return SO_EINVAL;
}


/* the CIDRs of a space or comma separated list, added to the nft set */
static int
nn_list(FILE *f, const char *set, const char *list, const char *key,
    char *err, size_t errlen)
{
    struct in_addr   a;
    uint32_t         net;
    unsigned         prefix;
    char             item[64], ip[BLD_NETNS_ADDRLEN];
    size_t           len;

    while (list != NULL && *list != '\0') {
        list += strspn(list, " ,\t");
        len = strcspn(list, " ,\t");
        if (len == 0) {
            break;
        }

        if (len >= sizeof(item)) {
            snprintf(err, errlen, "%s: an item is too long", key);
            return SO_EINVAL;
        }
        memcpy(item, list, len);
        item[len] = '\0';
        list += len;

        if (nn_cidr(item, &net, &prefix) != SO_OK) {
            snprintf(err, errlen, "%s: \"%s\" is not an IPv4 address or "
                     "network (a.b.c.d/n)", key, item);
            return SO_EINVAL;
        }

        a.s_addr = htonl(net);
        inet_ntop(AF_INET, &a, ip, sizeof(ip));
        fprintf(f, "add element inet shipoff %s { %s/%u }\n", set, ip,
                prefix);
    }

    return SO_OK;
}


/* the host's IPv4 nameservers: a sandbox resolves names through them */
static void
nn_nameservers(FILE *f)
{
    struct in_addr   a;
    FILE            *rc;
    char             line[256], ip[64];

    rc = fopen("/etc/resolv.conf", "re");
    if (rc == NULL) {
        return;
    }

    while (fgets(line, sizeof(line), rc) != NULL) {
        if (sscanf(line, " nameserver %63s", ip) == 1
            && inet_pton(AF_INET, ip, &a) == 1)
        {
            fprintf(f, "add element inet shipoff dns { %s }\n", ip);
        }
    }

    fclose(rc);
}


/*
 * Runs nft (argv) with input on its stdin and its output (stdout and
 * stderr) into out, both through a memfd: nft reads the input whole and
 * writes all it has to say, whatever their size.  The exit status, or -1.
 */
static int
nn_run(const char *nft, const char *const *argv, const char *input,
    char *out, size_t outlen)
{
    posix_spawn_file_actions_t  fa;
    size_t                      len;
    ssize_t                     n;
    pid_t                       pid;
    int                         in, res, status, e;

    out[0] = '\0';
    status = -1;

    len = strlen(input);
    in = memfd_create("shipoff-nft", MFD_CLOEXEC);
    res = memfd_create("shipoff-nft-out", MFD_CLOEXEC);
    if (in == -1 || res == -1 || write(in, input, len) != (ssize_t) len
        || lseek(in, 0, SEEK_SET) == -1)
    {
        snprintf(out, outlen, "input for nft: %s", strerror(errno));
        goto done;
    }

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, res, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, res, STDERR_FILENO);
    e = posix_spawn(&pid, nft, &fa, NULL, (char *const *) argv,
                    (char *[]) { NULL });
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        snprintf(out, outlen, "%s: %s", nft, strerror(e));
        goto done;
    }

    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            status = -1;
            goto done;
        }
    }
    status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

    n = pread(res, out, outlen - 1, 0);
    len = n > 0 ? (size_t) n : 0;
    while (len > 0 && out[len - 1] == '\n') {
        len--;
    }
    out[len] = '\0';

done:

    so_fd_close(&in);
    so_fd_close(&res);
    return status;
}


/* the whole table as nft reads it; the caller frees */
static char *
nn_ruleset(const so_config_t *cfg, int guard, char *err, size_t errlen)
{
    FILE      *f;
    char      *text;
    size_t     len, i;
    uint32_t   net;
    unsigned   prefix;
    int        rc;

    text = NULL;

    if (nn_network(cfg, &net, &prefix, err, errlen) != SO_OK) {
        return NULL;
    }

    f = open_memstream(&text, &len);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

#define NN_REJECT  "reject with icmpx type admin-prohibited"
#define NN_IF      "\"" BLD_NETNS_IFPREFIX "*\""
#define NN_CIDRS   "{ type ipv4_addr; flags interval; auto-merge; }\n"

    /* an empty set matches nothing: the rules need no condition */
    fprintf(f,
        "table inet shipoff {}\n"
        "delete table inet shipoff\n"
        "table inet shipoff {\n"
        "  set refused " NN_CIDRS
        "  set allowed " NN_CIDRS
        "  set dns { type ipv4_addr; }\n"
        "  chain input {\n"
        "    type filter hook input priority filter; policy accept;\n"
        "    iifname " NN_IF " ct state established,related accept\n"
        "    iifname " NN_IF " " NN_REJECT "\n"
        "  }\n"
        "  chain forward {\n"
        "    type filter hook forward priority filter; policy accept;\n"
        "    iifname " NN_IF " jump egress\n"
        "    oifname " NN_IF " ct state established,related accept\n"
        "    oifname " NN_IF " " NN_REJECT "\n"
        "%s"
        "  }\n"
        "%s"
        "  chain egress {\n"
        "    meta nfproto ipv6 " NN_REJECT "\n"
        "    oifname " NN_IF " " NN_REJECT "\n"
        "    ip daddr " NN_NEVER " " NN_REJECT "\n"
        "    ip daddr @dns meta l4proto { tcp, udp } th dport 53 accept\n"
        "    ip daddr @allowed accept\n"
        "    ip daddr @refused " NN_REJECT "\n"
        "    fib daddr type { local, broadcast, multicast } " NN_REJECT "\n"
        "    accept\n"
        "  }\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        "    ip saddr %s oifname != " NN_IF " masquerade\n"
        "  }\n"
        "}\n",
        guard ? "    jump foreign\n" : "",
        guard ? "  chain foreign {\n    drop\n  }\n" : "",
        cfg->sandbox_network);

#undef NN_IF
#undef NN_REJECT
#undef NN_CIDRS

    for (i = 0; i < so_nelems(nn_refused); i++) {
        fprintf(f, "add element inet shipoff refused { %s }\n",
                nn_refused[i]);
    }
    nn_nameservers(f);

    rc = nn_list(f, "allowed", cfg->sandbox_allow_networks,
                 "sandbox_allow_networks", err, errlen);
    if (rc == SO_OK) {
        rc = nn_list(f, "refused", cfg->sandbox_deny_networks,
                     "sandbox_deny_networks", err, errlen);
    }

    if (fclose(f) != 0 && rc == SO_OK) {
        snprintf(err, errlen, "out of memory");
        rc = SO_ERR;
    }

    if (rc != SO_OK) {
        free(text);
        return NULL;
    }

    return text;
}


int
bld_netns_host_init(const so_config_t *cfg, char *err, size_t errlen)
{
    static const char *const  list[] = {
        "nft", "list", "chain", "inet", "shipoff", "foreign", NULL
    };
    static const char *const  apply[] = { "nft", "-f", "-", NULL };
    char                      out[NN_OUT_MAX], *rules, fwd[4];
    int                       fd, guard, rc;
    ssize_t                   n;

    err[0] = '\0';
    rules = NULL;
    rc = SO_ERR;

    fd = open("/proc/sys/net/ipv4/ip_forward", O_RDWR | O_CLOEXEC);
    n = fd == -1 ? -1 : read(fd, fwd, sizeof(fwd));
    if (n < 1) {
        snprintf(err, errlen, "/proc/sys/net/ipv4/ip_forward: %s",
                 strerror(errno));
        goto done;
    }

    /* off until now, or off before an earlier life turned it on */
    guard = fwd[0] == '0'
            || nn_run(cfg->sandbox_nft, list, "", out, sizeof(out)) == 0;

    rules = nn_ruleset(cfg, guard, err, errlen);
    if (rules == NULL) {
        rc = SO_EINVAL;
        goto done;
    }

    if (nn_run(cfg->sandbox_nft, apply, rules, out, sizeof(out)) != 0) {
        snprintf(err, errlen, "%s -f: %s", cfg->sandbox_nft, out);
        goto done;
    }

    if (fwd[0] == '0'
        && (lseek(fd, 0, SEEK_SET) == -1 || write(fd, "1\n", 2) != 2))
    {
        snprintf(err, errlen, "turning IPv4 forwarding on: %s",
                 strerror(errno));
        goto done;
    }

    rc = SO_OK;

done:

    so_fd_close(&fd);
    free(rules);
    return rc;
}


/* a request of type with its header hdr */
static void
nn_msg_init(nn_msg_t *m, int type, int flags, const void *hdr, size_t len)
{
    memset(m->buf, 0, sizeof(m->buf));
    m->h.nlmsg_len = NLMSG_LENGTH(0);
    m->h.nlmsg_type = (unsigned short) type;
    m->h.nlmsg_flags = (unsigned short) (NLM_F_REQUEST | NLM_F_ACK | flags);
    nn_attr(m, -1, hdr, len);
}


/* appends a header of len bytes (type < 0) or an attribute */
static struct rtattr *
nn_attr(nn_msg_t *m, int type, const void *data, size_t len)
{
    struct rtattr  *a;
    size_t          at;

    at = NLMSG_ALIGN(m->h.nlmsg_len);
    assert(at + RTA_SPACE(len) <= sizeof(m->buf));

    a = (struct rtattr *) (m->buf + at);
    if (type < 0) {
        memcpy(a, data, len);
        m->h.nlmsg_len = (unsigned) (at + len);
        return NULL;
    }

    a->rta_type = (unsigned short) type;
    a->rta_len = (unsigned short) RTA_LENGTH(len);
    if (len > 0) {
        memcpy(RTA_DATA(a), data, len);
    }
    m->h.nlmsg_len = (unsigned) (at + RTA_SPACE(len));
    return a;
}


/* closes a nested attribute opened by nn_attr(m, type, NULL, 0) */
static void
nn_attr_end(nn_msg_t *m, struct rtattr *a)
{
    a->rta_len = (unsigned short) (m->buf + m->h.nlmsg_len - (char *) a);
}

/*
 * Sends m on a socket of the thread's namespace and reads the kernel's
 * ack: 0 or -errno.
 */
static int
nn_talk(nn_msg_t *m)
{
    struct nlmsghdr  *h;
    struct nlmsgerr  *e;
    char              buf[NN_MSG_MAX];
    ssize_t           n;
    int               sock, rc;

    sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sock == -1) {
        return -errno;
    }

    /* an unconnected netlink socket sends to the kernel */
    n = send(sock, m->buf, m->h.nlmsg_len, 0);
    if (n != -1) {
        do {
            n = recv(sock, buf, sizeof(buf), 0);
        } while (n == -1 && errno == EINTR);
    }
    rc = n == -1 ? -errno : 0;
    close(sock);

    if (rc != 0) {
        return rc;
    }

    h = (struct nlmsghdr *) buf;
    if (!NLMSG_OK(h, (size_t) n) || h->nlmsg_type != NLMSG_ERROR) {
        return -EPROTO;
    }

    e = NLMSG_DATA(h);
    return e->error;
}


/* the pair: "eth0" here, name in the namespace host */
static int
nn_link_veth(const char *name, int host)
{
    struct ifinfomsg   ifi = { .ifi_family = AF_UNSPEC };
    struct rtattr     *info, *data, *peer;
    nn_msg_t           m;

    nn_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi,
                sizeof(ifi));
    nn_attr(&m, IFLA_IFNAME, "eth0", 5);
    info = nn_attr(&m, IFLA_LINKINFO, NULL, 0);
    nn_attr(&m, IFLA_INFO_KIND, "veth", 5);
    data = nn_attr(&m, IFLA_INFO_DATA, NULL, 0);
    peer = nn_attr(&m, VETH_INFO_PEER, NULL, 0);
    nn_attr(&m, -1, &ifi, sizeof(ifi));
    nn_attr(&m, IFLA_IFNAME, name, strlen(name) + 1);
    nn_attr(&m, IFLA_NET_NS_FD, &host, sizeof(host));
    nn_attr_end(&m, peer);
    nn_attr_end(&m, data);
    nn_attr_end(&m, info);

    return nn_talk(&m);
}


/*
 * The link ifname up, after its address addr/30 when not 0, and before
 * the default route via gw when not 0.  0 or -errno.
 */
static int
nn_up(const char *ifname, uint32_t addr, uint32_t gw)
{
    int               index = (int) if_nametoindex(ifname);
    struct ifinfomsg  ifi = {
        .ifi_family = AF_UNSPEC, .ifi_index = index,
        .ifi_flags = IFF_UP, .ifi_change = IFF_UP
    };
    struct ifaddrmsg  ifa = {
        .ifa_family = AF_INET, .ifa_prefixlen = 30,
        .ifa_index = (unsigned) index
    };
    struct rtmsg      rtm = {
        .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
        .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE,
        .rtm_type = RTN_UNICAST
    };
    uint32_t          a;
    nn_msg_t          m;
    int               rc;

    if (index == 0) {
        return -ENODEV;
    }

    if (addr != 0) {
        a = htonl(addr);
        nn_msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa,
                    sizeof(ifa));
        nn_attr(&m, IFA_LOCAL, &a, sizeof(a));
        nn_attr(&m, IFA_ADDRESS, &a, sizeof(a));
        rc = nn_talk(&m);
        if (rc != 0) {
            return rc;
        }
    }

    nn_msg_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    rc = nn_talk(&m);
    if (rc != 0 || gw == 0) {
        return rc;
    }

    /* the host's end may still be down: the route is made all the same */
    a = htonl(gw);
    nn_msg_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm,
                sizeof(rtm));
    nn_attr(&m, RTA_GATEWAY, &a, sizeof(a));
    return nn_talk(&m);
}


/*
 * From inside the new namespace, a veth pair with its host's end in the
 * namespace host, in a free slot of a /prefix network (*slot): slot s is
 * s*4+1 (host) and s*4+2 (sandbox), slots 1 .. nslots - 1, tried from a
 * random one.  0 or -errno (-EEXIST: none free).
 */
static int
nn_slot(bld_netns_t *ns, int host, unsigned prefix, unsigned *slot)
{
    uint32_t  seed;
    unsigned  nslots, tries;
    int       rc;

    nslots = 1U << (30 - prefix);
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
        seed = (uint32_t) getpid();
    }

    rc = -EEXIST;
    for (tries = 0; tries < NN_SLOT_TRIES && rc == -EEXIST; tries++) {
        *slot = 1 + (seed + tries) % (nslots - 1);
        /* prefix >= 8: slot < 2^22, at most 7 digits after "shipoff" */
        snprintf(ns->ifname, sizeof(ns->ifname), BLD_NETNS_IFPREFIX "%u",
                 *slot & 0x3fffff);
        rc = nn_link_veth(ns->ifname, host);
    }

    return rc;
}


int
bld_netns_create(bld_netns_t *ns, const so_config_t *cfg)
{
    struct in_addr  a;
    uint32_t        net, base;
    unsigned        prefix, slot;
    const char     *step;
    int             host, rc;

    memset(ns, 0, sizeof(*ns));
    ns->fd = -1;
    base = 0;

    if (nn_network(cfg, &net, &prefix, ns->errstr, sizeof(ns->errstr))
        != SO_OK)
    {
        return SO_ERR;
    }

    host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (host == -1) {
        step = "open the host's namespace";
        rc = -errno;
        goto done;
    }

    if (unshare(CLONE_NEWNET) == -1) {
        step = "unshare";
        rc = -errno;
        goto done;
    }

    /* the thread is in the new namespace until it goes back to host */
    ns->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ns->fd == -1) {
        step = "open the namespace";
        rc = -errno;
        goto back;
    }

    rc = nn_slot(ns, host, prefix, &slot);
    if (rc != 0) {
        step = rc == -EEXIST ? "no free slot in sandbox_network"
                             : "create the veth pair";
        ns->ifname[0] = '\0';
        goto back;
    }

    base = net + slot * 4;
    a.s_addr = htonl(base + 2);
    inet_ntop(AF_INET, &a, ns->addr, sizeof(ns->addr));

    step = "configure the namespace";
    rc = nn_up("lo", 0, 0);
    if (rc == 0) {
        rc = nn_up("eth0", base + 2, base + 1);
    }

back:

    if (setns(host, CLONE_NEWNET) == -1) {
        /* stuck in the sandbox's namespace: nothing of ours can go on */
        abort();
    }

    if (rc == 0) {
        step = "configure the host's end";
        rc = nn_up(ns->ifname, base + 1, 0);
    }

done:

    so_fd_close(&host);

    if (rc != 0) {
        snprintf(ns->errstr, sizeof(ns->errstr), "network namespace: %s: %s",
                 step, strerror(-rc));
        /* the veth pair, if made, goes with the namespace */
        so_fd_close(&ns->fd);
        return SO_ERR;
    }

    return SO_OK;
}
