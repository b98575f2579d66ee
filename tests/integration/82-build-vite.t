# A real npm build: the Vite fixture (tests/fixtures/sites/vite) is
# detected, installed from the npm registry and built in the sandbox (with
# HOME and the npm cache inside its work dir), published and served as an
# SPA.  Slow and needs the npm registry: runs only with SHIPOFF_TEST_NPM=1.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up run tempdir top_dir in_chroot);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
use ShipoffNginx qw(request);

plan skip_all => 'set SHIPOFF_TEST_NPM=1 (needs the npm registry, slow)'
    unless $ENV{SHIPOFF_TEST_NPM};
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cg_parent = "shipoff-test-$$";
my $s = stack_up(env => { SHIPOFF_SANDBOX_CGROUP_PARENT => $cg_parent });
$s->stop('shipoffd');

END {
    rmdir "/sys/fs/cgroup/$_/$cg_parent" for qw(memory pids cpu freezer);
}

my $top = top_dir();
my $repo = tempdir() . '/vite';
run('mkdir', '-p', $repo);
run('cp', '-a', "$top/tests/fixtures/sites/vite/.", $repo);
for my $cmd (['init', '-q', '-b', 'main'], ['add', '-A'],
             ['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q',
              '-m', 'vite'])
{
    my ($rc, $out) = run('git', '-C', $repo, @$cmd);
    die "git @$cmd: $out" if $rc;
}

my $u = $s->signup;
my $name = "vite$$";
my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, repo_url => "file://$repo" });
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
