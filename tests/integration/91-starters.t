# The frameworks' own starters (tests/fixtures/starters, made by
# scripts/fixtures), deployed as a new user would on the day they are
# generated: each is detected as its framework, built and answers through
# nginx.  create-vite's and express-generator's dependencies come from the
# npm registry (SHIPOFF_TEST_NO_NPM=1 skips them); django-admin
# startproject runs on the host's Django (python3-django), served by
# gunicorn when the host has it (python3-gunicorn), and opens its SQLite
# database in its tree (a writable copy-on-write view).

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up top_dir in_chroot wait_for);
use ShipoffNginx qw(request);
use ShipoffGit;
use ShipoffApps qw(app_procs);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $npm = !$ENV{SHIPOFF_TEST_NO_NPM}
          && grep { -x "$_/npm" } split /:/, $ENV{PATH};
# the sandbox's python3, not whatever python3 is first in this PATH
my $django = system('/usr/bin/python3 -c "import django" 2> /dev/null') == 0;
plan skip_all => 'needs npm and the registry, or python3-django'
    unless $npm || $django;

my $cgroups = "shipoff-t91-$$";
my $s = stack_up(env => { SHIPOFF_STARTUP_TIMEOUT       => '20s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups });

# apps outlive shipoffd (by design): they go once the stack is down
my $top = top_dir();
my $git = ShipoffGit->start;
my $u = $s->signup;

my %final = map { $_ => 1 } qw(PRODUCTION INACTIVE FAILED CANCELED);

sub row {
    my ($id, $cols) = @_;
    return $s->psql("SELECT $cols FROM deployments WHERE id = $id");
}

sub cmdline {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/cmdline" or return '';
    local $/;
    my $cmd = <$fh> // '';
    $cmd =~ tr/\0/ /;
    return $cmd;
}

# one row per starter: what it is detected as, and what its / answers
my @starters = (
    { starter => 'vite', npm => 1, kind => 'static', framework => 'vite',
      body => qr{<script type="module" crossorigin src="/assets/index-[^"]+\.js">} },
    { starter => 'express', npm => 1, kind => 'dynamic',
      framework => 'express', body => qr{<h1>Express</h1>} },
    { starter => 'django', kind => 'dynamic', framework => 'django',
      body => qr{The install worked successfully},
      server => -d '/usr/lib/python3/dist-packages/gunicorn'
                ? qr{python3 -m gunicorn --bind \S+ mysite\.wsgi} : undef },
);

for my $c (@starters) {
    next if $c->{npm} ? !$npm : !$django;
    my $name = "$c->{starter}$$";
    my $url = $git->repo($c->{starter}, "$top/tests/fixtures/starters/$c->{starter}");
    my $res = $s->api(POST => '/api/v1/projects', $u,
                      { name => $name, repo_url => $url, branch => 'main' });
    is($res->{status}, 201, "$c->{starter}: a project")
        or diag($res->{content});
    $res = $s->api(POST => "/api/v1/projects/$res->{json}{id}/deployments",
                   $u, {});
    is($res->{status}, 202, "$c->{starter}: deploying")
        or diag($res->{content});
    $c->{name} = $name;
    $c->{dep} = $res->{json}{id};
}

for my $c (grep { $_->{dep} } @starters) {
    my $st;
    wait_for(300, sub { $st = row($c->{dep}, 'state'); $final{$st} });
    is(row($c->{dep}, "kind || ' ' || framework"),
       "$c->{kind} $c->{framework}", "$c->{starter}: detected as such");

    is($st, 'PRODUCTION', "$c->{starter}: PRODUCTION")
        or diag(row($c->{dep}, "coalesce(reason, '')") . "\n"
                . $s->log_text($c->{dep}));
    my $res = request($s->port('http'), 'GET', '/',
                      headers => { Host => "$c->{name}.localhost" },
                      timeout => 10);
    is($res->{status}, 200, "$c->{starter}: GET / answers");
    like($res->{content} // '', $c->{body}, "$c->{starter}: its own page");
    next unless $c->{server};

    my @cmds = map { cmdline($_) } app_procs($cgroups, $c->{dep});
    ok((grep { $_ =~ $c->{server} } @cmds),
       "$c->{starter}: served by its production server")
        or diag(join "\n", @cmds);
}

done_testing;
