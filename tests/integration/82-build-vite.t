# A real npm build: the Vite fixture (tests/fixtures/sites/vite), cloned
# over HTTP from ShipoffGit, is detected, installed from the npm registry
# and built in the sandbox (with HOME and the npm cache inside its work
# dir), published and served as an SPA.  Needs the npm registry, which
# these machines reach; SHIPOFF_TEST_NO_NPM=1 skips it where there is none.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up run top_dir in_chroot);
use ShipoffGit;

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
use ShipoffNginx qw(request);

plan skip_all => 'SHIPOFF_TEST_NO_NPM is set (no npm registry here)'
    if $ENV{SHIPOFF_TEST_NO_NPM};
plan skip_all => 'needs npm' unless grep { -x "$_/npm" } split /:/, $ENV{PATH};
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cg_parent = "shipoff-test-$$";
my $s = stack_up(env => { SHIPOFF_SANDBOX_CGROUP_PARENT => $cg_parent });
$s->stop('shipoffd');

END {
    rmdir "/sys/fs/cgroup/$_/$cg_parent" for qw(memory pids cpu freezer);
}

my $top = top_dir();
my $g = ShipoffGit->start;
my $url = $g->repo('vite', 'tests/fixtures/sites/vite');

my $u = $s->signup;
my $name = "vite$$";
my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, repo_url => $url });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};

$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
my $id = $res->{json}{id};
my ($rc, $out);
{
    local %ENV = (%ENV, %{ $s->{env} });
    ($rc, $out) = run("$top/builder/shipoffd", '-c', $s->conf, 'build', $id);
}
is($rc, 0, 'shipoffd build exits 0') or diag($out);
like($s->psql("SELECT string_agg(line, E'\\n' ORDER BY id) FROM log_lines"
              . " WHERE deployment_id = $id AND stream = 'system'"),
     qr/^cloning http:.*\n(?s:.*)^running npm (ci|install)/m,
     '  cloned over HTTP, installed with npm');
is($s->psql("SELECT state || ' ' || framework FROM deployments"
            . " WHERE id = $id"), 'PRODUCTION vite', 'PRODUCTION, vite');

my $port = $s->port('http');
my $host = "$name.localhost";
my $index = request($port, 'GET', '/', headers => { Host => $host });
is($index->{status}, 200, 'GET /: 200');
like($index->{content}, qr{<script type="module"[^>]*src="/assets/[^"]+\.js"},
     '  the built index.html');
my ($js) = $index->{content} =~ m{src="(/assets/[^"]+\.js)"};
like(request($port, 'GET', $js, headers => { Host => $host })->{content},
     qr/built by vite for shipoff/, '  the bundle');
my $spa = request($port, 'GET', '/some/client/route',
                  headers => { Host => $host });
is($spa->{status}, 200, 'an SPA route answers index.html');
like($spa->{content}, qr/Vite fixture/, '  with the app');

done_testing;
