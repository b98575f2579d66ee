# What a build and an app can reach over the network, through the real
# daemon: each runs in a network namespace of its own with outbound
# access only.  The test listens on the host's 127.0.0.1 and on its own
# address (reached on the host, to show the probe can succeed); a build
# and an app connect to both and to 169.254.169.254:80 (the metadata
# service) and find each refused or unreachable, while the npm registry
# resolves and answers.  An app that binds every port of the apps range
# does not keep another project's app from starting, nor gets its route;
# two projects' apps run as different uids.  And what answers on an
# app's port must be the app's: a listener the test plants in the app's
# own namespace (root on the host, outside the app's cgroup) does not
# pass its health check.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use IO::Socket::INET;
use ShipoffTest qw(stack_up in_chroot wait_for);
use ShipoffNginx qw(request);
use ShipoffGit;

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups, namespaces, nftables)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my ($port_min, $port_max) = (20000, 20039);
my $cgroups = "shipoff-t89-$$";
my $s = stack_up(env => { SHIPOFF_STARTUP_TIMEOUT       => '15s',
                          SHIPOFF_APP_DRAIN             => '1s',
                          SHIPOFF_APP_STOP_GRACE        => '1s',
                          SHIPOFF_APP_PORT_MIN          => $port_min,
                          SHIPOFF_APP_PORT_MAX          => $port_max,
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups,
                          SHIPOFF_AUTH_RATE             => '1000r/s' });

# apps outlive shipoffd (by design): they go once the stack is down
my $http = $s->port('http');
my $git = ShipoffGit->start;
my $u = $s->signup;

sub psql { $s->psql($_[0]) }

# ---- what the host offers: a listener on loopback, one on its address

my $lo = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                               Listen => 16, ReuseAddr => 1)
    or die "listen 127.0.0.1: $!";
my $host_ip = IO::Socket::INET->new(Proto => 'udp', PeerAddr => '192.0.2.1',
                                    PeerPort => 9)->sockhost;
my $eth = IO::Socket::INET->new(LocalAddr => $host_ip, LocalPort => 0,
                                Listen => 16, ReuseAddr => 1)
    or die "listen $host_ip: $!";

my %refused = ('127.0.0.1:' . $lo->sockport           => 'host loopback',
               "$host_ip:" . $eth->sockport           => 'host address',
               '169.254.169.254:80'                   => 'metadata');
my $outside = 'registry.npmjs.org:443';

for my $t (grep { !/^169/ } sort keys %refused) {
    ok(IO::Socket::INET->new(PeerAddr => $t, Timeout => 3),
       "on the host, $refused{$t} ($t) is open");
}

my %files = (
    'targets.txt' => join(' ', sort(keys %refused), $outside) . "\n",
    'probe.py' => <<'EOF',
# connects to each host:port of targets.txt and says how it went
import socket


def probe():
    out = []
    for t in open('targets.txt').read().split():
        host, port = t.rsplit(':', 1)
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((host, int(port)))
            r = 'open'
        except socket.timeout:
            r = 'timeout'
        except OSError as e:
            r = 'refused' if e.errno == 111 else 'unreachable'
        s.close()
        out.append('%s %s\n' % (t, r))
    return ''.join(out)


if __name__ == '__main__':
    print(probe(), end='')
EOF
    'app.py' => <<'EOF',
# answers every request with its uid and what the probe found at start
import http.server
import os

import probe

body = ('uid=%d\n%s' % (os.getuid(), probe.probe())).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer((os.environ['HOST'], int(os.environ['PORT'])),
                       Handler).serve_forever()
EOF
    'squat.py' => <<"EOF",
# binds every port of the apps range and answers "squatter" on each
import os
import selectors
import socket

sel = selectors.DefaultSelector()
for port in range($port_min, $port_max + 1):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(('0.0.0.0', port))
    except OSError:
        s.close()
        continue
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
print('squatting', len(sel.get_map()), 'ports', flush=True)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Length: 9\\r\\n\\r\\n'
                  b'squatter\\n')
        c.close()
EOF
);

my $url = $git->repo('net', undef);
$git->commit('net', \%files, 'the probes');

sub project {
    my ($name, %more) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $u,
                      { name => $name, repo_url => $url, branch => 'main',
                        %more });
    die "project $name: $res->{status} $res->{content}"
        unless $res->{status} == 201;
    return $res->{json}{id};
}

sub deploy {
    my ($pid) = @_;
    my $res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
    die "deploy: $res->{status} $res->{content}" unless $res->{status} == 202;
    return $res->{json}{id};
}

my %final = map { $_ => 1 } qw(PRODUCTION INACTIVE FAILED CANCELED);

sub wait_final {
    my ($id) = @_;
    my $st;
    wait_for(180, sub {
        $st = psql("SELECT state FROM deployments WHERE id = $id");
        $final{$st};
    });
    return $st;
}

sub log_text {
    my ($dep) = @_;
    return psql("SELECT string_agg(line, E'\\n' ORDER BY id) FROM log_lines"
                . " WHERE deployment_id = $dep");
}

sub get {
    my ($name) = @_;
    my $res = request($http, 'GET', '/',
                      headers => { Host => "$name.localhost" },
                      timeout => 10);
    return $res->{status} == 200 ? $res->{content} : '';
}

sub refused_all {
    my ($who, $body) = @_;
    for my $t (sort keys %refused) {
        like($body, qr/^\Q$t\E (refused|unreachable)$/m,
             "$who: $refused{$t} ($t) refused or unreachable");
    }
    like($body, qr/^\Q$outside\E open$/m,
         "$who: the npm registry ($outside) is reachable");
}

# ---- a build

my $site = "netbuild$$";
my $dep = deploy(project($site, kind => 'static', output_dir => 'public',
                         build_cmd => 'mkdir -p public && python3 probe.py'
                                      . ' > public/index.html'));
is(wait_final($dep), 'PRODUCTION', 'the probing build deploys')
    or diag(log_text($dep));
my $body = get($site);
diag($body);
refused_all('a build', $body);

# ---- a listener on the app's port that is not the app's

my $mute = "netmute$$";
my $mute_dep = deploy(project($mute, kind => 'dynamic',
                              run_cmd => 'sleep 600', install_cmd => 'true'));
my ($app_pid, $app_port);
wait_for(120, sub {
    ($app_pid, $app_port) = split /\|/, psql("SELECT pid, port FROM"
        . " app_processes WHERE deployment_id = $mute_dep AND pid IS NOT NULL");
    $app_port;
}) or die "deployment $mute_dep: no app process in app_processes";
my $planted = fork // die "fork: $!";
if ($planted == 0) {
    exec 'nsenter', "--net=/proc/$app_pid/ns/net", 'python3', '-m',
         'http.server', '--bind', '0.0.0.0', $app_port;
    exit 127;
}
is(wait_final($mute_dep), 'FAILED',
   "an app whose port is answered by another process fails");
is(get($mute), '', '  and the listener gets no route');
kill 'TERM', $planted;
waitpid $planted, 0;
is(psql("SELECT reason FROM deployments WHERE id = $mute_dep"),
   'startup_timeout', '  with startup_timeout');
like(log_text($mute_dep), qr/answers, but not from a process of the app/,
     '  the log says why');

# ---- apps: the probes, a squatter of every port, uids

my %app;
for my $name ("neta$$", "netb$$", "squat$$") {
    my $cmd = $name =~ /^squat/ ? 'python3 squat.py' : 'python3 app.py';
    $app{$name} = deploy(project($name, kind => 'dynamic', run_cmd => $cmd,
                                 install_cmd => 'true'));
    is(wait_final($app{$name}), 'PRODUCTION', "$name: PRODUCTION")
        or diag(log_text($app{$name}));
}

my $a = get("neta$$");
diag($a);
refused_all('an app', $a);

like(get("squat$$"), qr/^squatter$/, 'the squatter answers its own host');

# deployed while the squatter holds every port of the range (in its own
# namespace): it starts, and its route is its own
my $late = "netc$$";
$app{$late} = deploy(project($late, kind => 'dynamic',
                             run_cmd => 'python3 app.py',
                             install_cmd => 'true'));
is(wait_final($app{$late}), 'PRODUCTION',
   'an app deployed while another binds every port of the range starts')
    or diag(log_text($app{$late}));
like(get($late), qr/^uid=\d+\n/, 'and answers itself, not the squatter');
like(log_text($app{"squat$$"}), qr/squatting \d+ ports/,
     'the squatter did bind the range');

my ($uid_a) = get("neta$$") =~ /^uid=(\d+)/;
my ($uid_b) = get("netb$$") =~ /^uid=(\d+)/;
ok(defined $uid_a && defined $uid_b && $uid_a != $uid_b,
   "two projects' apps run as different uids ("
   . ($uid_a // '?') . ', ' . ($uid_b // '?') . ')');

done_testing;
