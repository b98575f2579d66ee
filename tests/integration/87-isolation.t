# What a build cannot do, on a real stack (repositories over HTTP from
# ShipoffGit, `shipoffd build ID` with the daemon stopped): a build whose
# script probes the host reaches none of the secrets file, another
# project's published site, the environment of the platform's processes
# (its /proc/1 is its own), PostgreSQL's socket (psql) or Redis's (redis-cli
# and a raw connect), and still deploys.  The same probes run on the host
# first, so each of them is shown able to succeed.  A fork bomb stays
# under the pids limit while the host forks freely, and the deployment
# fails; a build that allocates 1 GiB fails with oom; one that outlives
# build_timeout, with children that detach (setsid, nohup, ignoring
# SIGTERM), fails with build_timeout and leaves no process and no cgroup.
#
# Builds have a network namespace of their own (89-sandbox-network.t);
# nothing of the control plane listens on loopback TCP all the same: nginx's route control is on a Unix socket in a root-only
# dir (the public port answers /_shipoff/routes with 404) and the FastCGI
# apps on sockets only nginx's workers (www-data) may reach.  Neither is
# reachable from a build; on the host, root reaches both, a project's
# sandbox uid neither even with var/ in sight, www-data the apps only.
#
# The stack's var/ is under /var/tmp, not /tmp: the sandbox replaces /tmp
# with an empty tmpfs anyway, so only a var/ outside it shows that var/
# itself is hidden.  (80-build-static.t covers reading the secrets and
# writing outside the work dir with var/ under /tmp; test_sandbox.c the
# sandbox alone.)

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);
use ShipoffTest qw(stack_up run top_dir in_chroot);
use ShipoffNginx qw(request);
use ShipoffGit;

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cg_parent = "shipoff-t87-$$";
my $marker = 'host-env-' . join '', map { sprintf '%02x', int rand 256 } 1 .. 8;
my $s = do {
    local $ENV{TMPDIR} = '/var/tmp';
    stack_up(env => { SHIPOFF_BUILD_TIMEOUT         => '10',
                      SHIPOFF_SANDBOX_PIDS          => '64',
                      SHIPOFF_SANDBOX_CGROUP_PARENT => $cg_parent,
                      SHIPOFF_T87_MARKER            => $marker });
};
$s->stop('shipoffd');
my $g = ShipoffGit->start;

my $var = $s->var;
my $top = top_dir();
my $shipoffd = $ENV{SHIPOFFD} // "$top/builder/shipoffd";

END {
    local $?;
    for my $dir (glob("/sys/fs/cgroup/*/$cg_parent"),
                 glob("/sys/fs/cgroup/$cg_parent"))
    {
        run('find', $dir, '-depth', '-type', 'd', '-exec', 'rmdir', '{}',
            '+');
    }
}

sub psql { $s->psql($_[0]) }

my $u = $s->signup;

sub project {
    my ($name, $url, $build) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $u,
                      { name => "$name$$", repo_url => $url,
                        kind => 'static', build_cmd => $build,
                        output_dir => 'public' });
    die "project $name: $res->{status} $res->{content}"
        unless $res->{status} == 201;
    return $res->{json}{id};
}

# a deployment of project pid, built by `shipoffd build` in the
# background: (deployment id, the build's pid)
sub deploy_bg {
    my ($pid) = @_;
    my $r = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
    die "deploy: $r->{status} $r->{content}" unless $r->{status} == 202;
    my $id = $r->{json}{id};
    my $child = fork // die "fork: $!";
    if (!$child) {
        %ENV = (%ENV, %{ $s->{env} });
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec($shipoffd, '-c', $s->conf, 'build', $id) or POSIX::_exit(127);
    }
    return ($id, $child);
}

# the same, waited for: (id, "STATE reason")
sub deploy {
    my ($id, $child) = deploy_bg(@_);
    waitpid($child, 0);
    return ($id, psql("SELECT state || ' ' || coalesce(reason, '')"
                      . " FROM deployments WHERE id = $id"));
}

sub log_text { $s->log_text(@_) }

# the build's cgroup dirs (v1: one per controller; v2: one)
sub cgroups_of {
    my ($id) = @_;
    return grep { -d } glob("/sys/fs/cgroup/*/$cg_parent/build-$id"),
                       "/sys/fs/cgroup/$cg_parent/build-$id";
}

sub pgrep {
    my ($re) = @_;
    my (undef, $out) = run('pgrep', '-f', $re);
    return grep { /\d/ } split /\n/, $out;
}

# ---- another project, published: what the probe must not read

my $other_url = $g->repo('other', 'tests/fixtures/sites/plain');
my $other = project('other', $other_url, 'sh build.sh');
my ($other_id, $st) = deploy($other);
is($st, 'PRODUCTION deployed', 'another project is published')
    or diag(log_text($other_id));
my $other_site = "$var/sites/$other/$other_id";
ok(-f "$other_site/index.html", '  its files are under var/sites');

# ---- the probes: on the host first, then in a build

my $pg_port = $s->port('pg');
my $http_port = $s->port('http');
my $probes = <<"EOF";
#!/bin/sh
# each probe prints "REACHED what" or "blocked what"
probe() {
    what=\$1
    shift
    if "\$@" > /dev/null 2>&1; then
        echo "REACHED \$what"
    else
        echo "blocked \$what"
    fi
}
probe secrets grep -q master_key '$var/secrets'
probe other-site grep -q 'plain site' '$other_site/index.html'
probe other-site-dir sh -c 'ls -A "$var/sites/$other" | grep -q .'
probe host-environ sh -c 'cat /proc/[0-9]*/environ | tr "\\\\000" "\\\\n" | grep -q "^SHIPOFF_T87_MARKER=$marker\\\$"'
probe pid1-is-own grep -qx bwrap /proc/1/comm
probe init-environ sh -c 'tr "\\\\000" "\\\\n" < /proc/1/environ | grep -q "^SHIPOFF_DEPLOYMENT_ID="'
probe postgres psql -X -h '$var/run/pg' -p $pg_port -U postgres -d shipoff -tAc 'SELECT 1'
probe postgres-tcp psql -X -h 127.0.0.1 -p $pg_port -U postgres -d shipoff -tAc 'SELECT 1'
probe redis-cli sh -c 'redis-cli -s "$var/run/redis.sock" ping | grep -q PONG'
probe redis-raw python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"PING\\r\\n"); sys.exit(s.recv(16)[:5] != b"+PONG")' '$var/run/redis.sock'
probe edge-control sh -c 'curl -sf --unix-socket "$var/run/control/nginx.sock" http://localhost/_shipoff/routes | grep -q generation'
probe edge-control-tcp sh -c 'curl -sf http://127.0.0.1:$http_port/_shipoff/routes | grep -q generation'
probe api-fastcgi python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])' '$var/run/fcgi/api.sock'
rm -rf public
cp -r site public
EOF

my %want_host = map { $_ => 'REACHED' }
    qw(secrets other-site other-site-dir host-environ postgres redis-cli
       redis-raw edge-control api-fastcgi);
$want_host{'pid1-is-own'} = 'blocked';     # the host's init is not a build
$want_host{'init-environ'} = 'blocked';    # nor has a build's environment
$want_host{'postgres-tcp'} = 'blocked';    # a Unix socket only, anywhere
$want_host{'edge-control-tcp'} = 'blocked';   # the control socket only

# the same probes on the host as root, as a project's sandbox uid, as
# nginx's workers' (the control-plane sockets only for the latter two)
my $sandbox_uid = 2000000000
    + psql("SELECT sandbox_slot FROM projects WHERE id = $other");
my @as = (
    [ 'root', [], \%want_host ],
    [ "the other project's sandbox uid ($sandbox_uid)",
      [ 'setpriv', "--reuid=$sandbox_uid", "--regid=$sandbox_uid",
        '--clear-groups' ],
      { 'edge-control' => 'blocked', 'api-fastcgi' => 'blocked' } ],
    [ 'www-data (nginx workers)',
      [ 'setpriv', '--reuid=www-data', '--regid=www-data', '--init-groups' ],
      { 'edge-control' => 'blocked', 'api-fastcgi' => 'REACHED' } ],
);
{
    my $f = "$var/probes.sh";
    ShipoffGit::write_file($f, $probes);
    chmod 0644, $f;
    for my $as (@as) {
        my ($who, $prefix, $want) = @$as;
        my ($rc, $out) = run(@$prefix, 'sh', $f);
        my %host = reverse($out =~ /^(REACHED|blocked) (\S+)$/mg);
        for my $p (sort keys %$want) {
            is($host{$p}, $want->{$p}, "on the host ($who), probe $p: "
               . $want->{$p}) or diag($out);
        }
    }
    unlink $f;
}
is(request($http_port, 'GET', '/_shipoff/routes')->{status}, 404,
   'the public port answers /_shipoff/routes with 404');
is($s->control(GET => '/_shipoff/metrics')->{status}, 200,
   'the control socket serves /_shipoff/metrics');

my $probe_url = $g->repo('probe', 'tests/fixtures/sites/plain');
$g->commit('probe', { 'build.sh' => $probes }, 'probes');
my $probe = project('probe', $probe_url, 'sh build.sh');
my ($probe_id);
($probe_id, $st) = deploy($probe);
is($st, 'PRODUCTION deployed', 'the probing build still deploys')
    or diag(log_text($probe_id));
my $log = log_text($probe_id);
my %in = reverse($log =~ /^stdout: (REACHED|blocked) (\S+)$/mg);
# the build's own init is bwrap, which never gets the build's environment
my %want_build = map { $_ => 'blocked' } keys %want_host;
$want_build{'pid1-is-own'} = 'REACHED';
for my $p (sort keys %want_build) {
    is($in{$p}, $want_build{$p}, "in the build, probe $p: $want_build{$p}")
        or diag($log);
}
like(request($http_port, 'GET', '/', headers => { Host => "probe$$.localhost" })
         ->{content}, qr/Hello from the plain site/, '  and is served');

# ---- failures: a fork bomb, 1 GiB, past the deadline

my %scripts = (
    "bomb-$$.sh" => <<'EOF',
echo "bomb: starting"
b() { b | b & }
b
sleep 3
echo "bomb: the shell still runs"
exit 1
EOF
    "oom-$$.sh" => <<'EOF',
echo "oom: 1 GiB"
python3 -c "x = b'x' * (1 << 30); print(len(x))"
EOF
    "slow-$$.sh" => <<"EOF",
echo "slow: children that try to stay"
setsid sleep 71$$ > /dev/null 2>&1 &
nohup sleep 72$$ > /dev/null 2>&1 &
sh -c 'trap "" TERM HUP INT; sleep 73$$' &
( sleep 74$$ & ) &
sleep 75$$
EOF
);
my $fail_url = $g->repo('fail', 'tests/fixtures/sites/plain');
$g->commit('fail', \%scripts, 'failing builds');

# the fork bomb, watched while it runs
{
    my $pid = project('bomb', $fail_url, "sh bomb-$$.sh");
    my ($id, $child) = deploy_bg($pid);
    my ($most, $host_forks, $seen) = (0, 1, 0);
    my $end = time + 20;
    while (time < $end && waitpid($child, POSIX::WNOHANG()) == 0) {
        for my $dir (cgroups_of($id)) {
            my $f = "$dir/pids.current";
            next unless -f $f;
            open my $fh, '<', $f or next;
            my $n = <$fh> // 0;
            chomp $n;
            $seen++ if $n > 0;
            $most = $n if $n > $most;
        }
        my ($rc) = run('true');
        $host_forks = 0 if $rc != 0;
        sleep 0.1;
    }
    my $row = psql("SELECT state || ' ' || coalesce(reason, '')"
                   . " FROM deployments WHERE id = $id");
    like($row, qr/^FAILED (build_failed|build_timeout)/,
         "a fork bomb: FAILED ($row)") or diag(log_text($id));
    ok($seen, '  its cgroup was watched while it ran');
    cmp_ok($most, '<=', 64, "  at most pids_limit processes ($most)");
    ok($host_forks, '  the host forked freely meanwhile');
    is(scalar(cgroups_of($id)), 0, '  its cgroup is gone');
    is(scalar(pgrep("bomb-$$")), 0, '  and every process of it');
    like(log_text($id), qr/^stdout: bomb: starting$/m, '  it did run');
}

{
    my $pid = project('oom', $fail_url, "sh oom-$$.sh");
    my ($id, $row) = deploy($pid);
    is($row, 'FAILED oom', 'a build that allocates 1 GiB: FAILED oom')
        or diag(log_text($id));
    like(log_text($id), qr/^system: the build ran out of memory/m,
         '  the log says so');
    is(scalar(cgroups_of($id)), 0, '  its cgroup is gone');
}

{
    my $pid = project('slow', $fail_url, "sh slow-$$.sh");
    my ($id, $row) = deploy($pid);
    is($row, 'FAILED build_timeout',
       'a build past build_timeout: FAILED build_timeout')
        or diag(log_text($id));
    like(log_text($id), qr/^system: the build ran over 10 s/m,
         '  the log says so');
    is(scalar(cgroups_of($id)), 0, '  its cgroup is gone');
    is(join(' ', pgrep("sleep 7[1-5]$$")), '',
       '  no process survives, not even detached ones');
}

# the platform is unharmed
is($s->api(GET => '/api/v1/health', undef)->{status}, 200,
   'the API still answers');
like(request($http_port, 'GET', '/', headers => { Host => "other$$.localhost" })
         ->{content}, qr/Hello from the plain site/,
     'the other project is still served');

done_testing;
