# A site with no framework whose package.json has a build script (plain
# `node build.js`, writing dist/, no dependency: no npm registry needed),
# cloned over HTTP, is detected as a static site with `npm run build`,
# built in the sandbox, and its dist/ published: the page served is the
# one the script wrote, not the source.  Vercel and Netlify do the same.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up run top_dir in_chroot);
use ShipoffNginx qw(request);
use ShipoffGit;

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs npm' unless grep { -x "$_/npm" } split /:/, $ENV{PATH};
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cg_parent = "shipoff-t82s-$$";
my $s = stack_up(env => { SHIPOFF_SANDBOX_CGROUP_PARENT => $cg_parent });
$s->stop('shipoffd');

END {
    rmdir "/sys/fs/cgroup/$_/$cg_parent" for qw(memory pids cpu freezer);
}

my $top = top_dir();
my $g = ShipoffGit->start;
my $url = $g->repo('build-script', 'tests/fixtures/sites/build-script');

my $u = $s->signup;
my $name = "script$$";
my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, repo_url => $url });
is($res->{status}, 201, 'a project with no command set')
    or diag($res->{content});
my $pid = $res->{json}{id};

$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
my $id = $res->{json}{id};
my ($rc, $out);
{
    local %ENV = (%ENV, %{ $s->{env} });
    ($rc, $out) = run("$top/builder/shipoffd", '-c', $s->conf, 'build', $id);
}
is($rc, 0, 'shipoffd build exits 0') or diag($out);
my $log = $s->psql("SELECT string_agg(line, E'\\n' ORDER BY id) FROM log_lines"
                   . " WHERE deployment_id = $id");
like($log, qr/^\Qdetected static (install: npm install; build: npm run build;\E
              \Q output: dist)\E$/mx, '  detected: static, npm run build, dist')
    or diag($log);
like($log, qr/^running npm run build$/m, '  the build script ran');
like($log, qr/^publishing dist$/m, '  dist/ published');
is($s->psql("SELECT state FROM deployments WHERE id = $id"), 'PRODUCTION',
   'PRODUCTION');

my $page = request($s->port('http'), 'GET', '/',
                   headers => { Host => "$name.localhost" });
is($page->{status}, 200, 'GET /: 200');
like($page->{content}, qr{<p>built by build\.js on node v\d+},
     '  the page the build script wrote');

done_testing;
