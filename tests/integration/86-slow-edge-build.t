# A static build under an edge that accepts connections and never
# answers, listed first: the build worker pushes the route to every edge
# at once and promotes once one edge took it, so the deployment reaches
# PRODUCTION and its site answers on the healthy edge; the silent edge is
# asked again in the background by the daemon's events path.  Before, the
# worker pushed to each edge in turn (3 x 5 s on the silent one) and
# failed the build with route_push_failed.
#
# A dynamic app the same way: its supervisor promotes it once one edge
# took its route and asks the silent one again at each reap_interval.
# Before, it failed with route_push_failed when any edge was silent.
#
# When no edge answers at all the build fails with route_push_failed and
# the previous PRODUCTION stays, served as before (docs/ARCHITECTURE.md:
# a deployment is PRODUCTION only once an edge serves it).

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up top_dir in_chroot wait_for silent_server);
use ShipoffNginx qw(request);
use ShipoffGit;

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my ($silent_port, $silent) = silent_server();

# edge_timeout: the silent edge is missed after 3 tries of 1 s, not of 5
my $s = stack_up(env => { SHIPOFF_SANDBOX_CGROUP_PARENT => "shipoff-t86b-$$",
                          SHIPOFF_REAP_INTERVAL         => '2s',
                          SHIPOFF_EDGE_TIMEOUT          => '1s' });

END {
    local $?;
    $s->down if $s;
    if ($silent) {
        kill 'TERM', $silent;
        waitpid $silent, 0;
    }
}

my $mute = "http://127.0.0.1:$silent_port/_shipoff/routes";
my $real = 'http://unix:' . $s->var . '/run/control/nginx.sock:/_shipoff/routes';

# shipoffd again, with these edges
sub edges {
    $s->stop('shipoffd');
    $s->{env}{SHIPOFF_EDGES} = join ' ', @_;
    $s->start('shipoffd');
}

sub psql { $s->psql($_[0]) }

# the deployment's "STATE reason" once it has ended (or its last state, if
# it never ends within the build's own time)
sub settled {
    my ($dep) = @_;
    my $sql = "SELECT state || ' ' || coalesce(reason, '')"
              . " FROM deployments WHERE id = $dep";
    wait_for(300, sub { psql($sql) =~ /^(PRODUCTION|FAILED|CANCELED) / });
    return psql($sql);
}

my $top = top_dir();
my $http = $s->port('http');
my $git = ShipoffGit->start;
my $u = $s->signup;
my $name = "silentbuild$$";
my $host = "$name.localhost";

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name,
                    repo_url => $git->repo('plain', "$top/tests/fixtures/sites/plain"),
                    kind => 'static', build_cmd => 'sh build.sh',
                    output_dir => 'public' });
is($res->{status}, 201, 'a static project') or diag($res->{content});
my $pid = $res->{json}{id};

# ---- a silent edge first, the real one second

edges($mute, $real);

$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
is($res->{status}, 202, 'a build queued') or diag($res->{content});
my $first = $res->{json}{id};

like(settled($first), qr/^PRODUCTION deployed/,
     'one edge silent, one healthy: the build reaches PRODUCTION');
$res = request($http, 'GET', '/', headers => { Host => $host });
is($res->{status}, 200, '... and its site answers on the healthy edge');
like($res->{content}, qr/Hello from the plain site/, "... with its page");

# the events path asks every edge again; the silent one fails after its
# retries and is left to be tried again
ok(wait_for(120, sub { $s->logs =~ /deployment=$first: routing \Q$host\E: .*tried again later/ }),
   'the silent edge: the route is pushed again in the background');
my ($missed) = $s->logs =~ /^.*deployment=$first: routing \Q$host\E: (.*)$/m;
like($missed, qr{^\Q$mute/$host\E: .*timed out after 1\d\d\d milliseconds},
     '... each try waited edge_timeout (1 s), and said which edge');
unlike($missed, qr{\Q$mute/$host\E: \Q$mute/$host\E},
       '... naming it once');

# ---- a dynamic app, the same edges

my $app = "silentapp$$";
$res = $s->api(POST => '/api/v1/projects', $u,
               { name => $app, branch => 'main',
                 repo_url => $git->repo('flask', "$top/tests/fixtures/apps/flask") });
is($res->{status}, 201, 'a dynamic project') or diag($res->{content});
my $app_pid = $res->{json}{id};
$res = $s->api(POST => "/api/v1/projects/$app_pid/deployments", $u, {});
is($res->{status}, 202, 'its build queued') or diag($res->{content});
my $app_dep = $res->{json}{id};

like(settled($app_dep), qr/^PRODUCTION /,
     'one edge silent, one healthy: the app reaches PRODUCTION');
$res = request($http, 'GET', '/', headers => { Host => "$app.localhost" },
               timeout => 10);
is($res->{status}, 200, '... and answers on the healthy edge');
like($res->{content} // '', qr/^flask says /, '... from the app');
ok(wait_for(60, sub { my $n = () = $s->logs =~ /deployment=$app_dep: \d+ edges took \Q$app.localhost\E: the others are asked again/g; $n >= 2 }),
   'the silent edge is asked again at the next checks');

# ---- no edge answers

edges($mute);

$git->commit('plain', { 'site/index.html' => "<h1>second</h1>\n" },
             'a second version');
$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
is($res->{status}, 202, 'another build queued') or diag($res->{content});
my $second = $res->{json}{id};

like(settled($second), qr/^FAILED route_push_failed/,
     'no edge answers: the build fails with route_push_failed');
is(psql("SELECT state FROM deployments WHERE id = $first"), 'PRODUCTION',
   '... and the previous deployment stays PRODUCTION');
$res = request($http, 'GET', '/', headers => { Host => $host });
like($res->{content}, qr/Hello from the plain site/,
     '... still served');

done_testing();
