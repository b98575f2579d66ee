# A PHP app as an operator of nginx + php-fpm runs one: deployed from its
# git repository, it is a php-fpm pool of its own in its sandbox, reached
# by nginx over FastCGI (route "protocol": "fastcgi"):
#   - PHP runs as php-fpm (php_sapi_name() is "fpm-fcgi"), and shipoffd
#     saw it healthy through FastCGI (no HTTP server answers there);
#   - a session lives across requests (the cookie sent back);
#   - the query string and a POST body reach PHP;
#   - a secret variable of the project reaches getenv() and $_SERVER;
#   - an existing .php file runs itself, a directory its index.php, any
#     other path the front controller (index.php) with REQUEST_URI intact;
#   - a file of its public dir is sent by nginx (even while the app
#     sleeps, without waking it), a dot file never is;
#   - a PHP warning shows in the app's runtime log stream;
#   - put to sleep, the next request wakes it.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up top_dir in_chroot wait_for json_decode);
use ShipoffNginx qw(request);
use ShipoffGit;
use ShipoffApps qw(app_procs wait_final);
use ShipoffSSE qw(sse_next);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';
plan skip_all => 'needs php-fpm (scripts/deps)' unless glob '/usr/sbin/php-fpm*';

my $cgroups = "shipoff-t93-$$";
my $s = stack_up(env => { SHIPOFF_STARTUP_TIMEOUT       => '15s',
                          SHIPOFF_IDLE_TIMEOUT          => '12s',
                          SHIPOFF_REAP_INTERVAL         => '1s',
                          SHIPOFF_APP_DRAIN             => '1s',
                          SHIPOFF_APP_STOP_GRACE        => '2s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups,
                          SHIPOFF_AUTH_RATE             => '1000r/s' });

my $top = top_dir();
my $git = ShipoffGit->start;
my $u = $s->signup;
my $name = "fpm$$";
my $host = "$name.localhost";
my $secret = 'k-' . join '', map { chr(97 + int rand 26) } 1 .. 20;

sub send_req {
    my ($method, $path, %o) = @_;
    return request($s->port('http'), $method, $path,
                   headers => { Host => $host, %{ $o{headers} || {} } },
                   body => $o{body}, timeout => 30);
}

sub body { my $r = send_req(GET => @_); return "$r->{status} $r->{content}" }

sub app_row {
    return $s->psql("SELECT state FROM app_processes"
                    . " WHERE deployment_id = $_[0]");
}

sub route {
    my $res = $s->control(GET => '/_shipoff/routes');
    my ($r) = grep { $_->{host} eq $host } @{ $res->{json}{routes} || [] };
    return $r || {};
}

# ---- deployed from its repository, with a secret

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, branch => 'main',
                    repo_url => $git->repo('phpfpm',
                                           "$top/tests/fixtures/apps/phpfpm") });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};
$res = $s->api(PUT => "/api/v1/projects/$pid/env/API_KEY", $u,
               { value => $secret, secret => \1 });
is($res->{status}, 201, 'a secret variable') or diag($res->{content});

$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
is($res->{status}, 202, 'deploying') or diag($res->{content});
my $dep = $res->{json}{id};

is(wait_final($s, $dep, 120), 'PRODUCTION', 'PRODUCTION')
    or diag($s->log_text($dep));
is($s->psql("SELECT run_cmd FROM deployments WHERE id = $dep"),
   'php-fpm public', 'its run command: the php-fpm pool of public/');
my $artifact = $s->psql("SELECT artifact_path FROM deployments"
                        . " WHERE id = $dep");

my $r = route();
is($r->{protocol}, 'fastcgi', 'its route: FastCGI');
is($r->{script_root}, "$artifact/public", '  to its public dir');
is($r->{root}, "$artifact/public", '  whose files nginx serves');

my @pids = app_procs($cgroups, $dep);
sub cmdline {
    open my $fh, '<', "/proc/$_[0]/cmdline" or return '';
    local $/;
    return <$fh> // '';
}
my @cmds = map { cmdline($_) } @pids;
ok((grep { /^php-fpm: master process/ } @cmds), 'a php-fpm master runs')
    or diag(explain \@cmds);

# ---- PHP as php-fpm, its session, its input, its secret

is(body('/sapi'), "200 fpm-fcgi\n", 'php_sapi_name(): fpm-fcgi');

$res = send_req(GET => '/session');
is($res->{content}, "visit 1\n", 'a new session');
my ($cookie) = ($res->{headers}{'set-cookie'} // '') =~ /^([^;]+)/;
ok($cookie, 'with a cookie');
is(body('/session', headers => { Cookie => $cookie // '' }), "200 visit 2\n",
   'the same session on the next request');

is(body('/echo?q=a%20b'), "200 GET q=a b name=- body=\n",
   'the query string reaches PHP');
$res = send_req(POST => '/echo?q=1', body => 'name=fpm&x=y',
                headers => { 'Content-Type' =>
                             'application/x-www-form-urlencoded' });
is("$res->{status} $res->{content}", "200 POST q=1 name=fpm body=name=fpm&x=y\n",
   'a POST body reaches PHP, parsed and raw');

is(body('/env'), "200 getenv=$secret server=$secret\n",
   'the secret variable: getenv() and $_SERVER');

# ---- which script runs

is(body('/hello.php?x=1'), "200 hello.php /hello.php\n",
   'an existing .php file runs itself');
is(body('/docs/'), "200 docs /docs/index.php\n",
   'a directory runs its index.php');
is(body('/some/route?page=2'),
   "200 front /some/route?page=2 script /index.php\n",
   'any other path: the front controller, REQUEST_URI intact');
is(body('/missing.php'), "200 front /missing.php script /index.php\n",
   'a .php file that does not exist: the front controller');

# ---- its public files: sent by nginx, dot files never

ok(-e "$artifact/public/.env", 'the artifact has a dot file');
$res = send_req(GET => '/style.css');
is("$res->{status} $res->{content}", "200 body { color: teal; }\n",
   'a file of public/ is sent');
like($res->{headers}{'content-type'} // '', qr{^text/css}, '  as CSS');
is(body('/.env'), "200 front /.env script /index.php\n",
   'a dot file is not sent: the front controller answers');
$res = send_req(GET => '/hello.php');
unlike($res->{content}, qr/<\?php/, 'a script is never sent as text');

# ---- PHP's errors: in the app's runtime log stream

my $tag = "t$$";
my $st_ev = ShipoffSSE::sse_open($s->port('http'),
                                 "/api/v1/projects/$pid/logs/stream", $u);
is($st_ev->{status}, 200, 'the project log stream');
is(body("/warn?tag=$tag"), "200 warned\n", 'a request warns');
my $line;
my $end = time + 20;
while (my $ev = sse_next($st_ev, $end - time)) {
    next unless defined $ev->{id};
    my $l = json_decode($ev->{data});
    if ($l->{line} =~ /PHP Warning:\s+fixture warning \Q$tag\E/) {
        $line = $l;
        last;
    }
}
ok($line, 'the PHP warning is in the stream') or diag($s->log_text($dep));
is($line && "$line->{source} $line->{stream}", 'app stderr', '  on stderr');

# ---- asleep: its files still served, the next request wakes it

ok(wait_for(60, sub { app_row($dep) eq 'sleeping' }),
   'nobody asks for it: it sleeps');
is(route()->{state}, 'sleeping', '  its route too');
is(body('/style.css'), "200 body { color: teal; }\n",
   'a public file of a sleeping app is sent');
is(app_row($dep), 'sleeping', '  without waking it');
is(body('/sapi'), "200 fpm-fcgi\n", 'the next request wakes it');
is(app_row($dep), 'running', '  it runs again');

done_testing;
