# POST /api/v1/detect: clone a repository (file:// here, which the test
# stack allows), detect what it is, answer, and leave no clone behind;
# repo_url, branch and root_dir rules; a missing branch or repository.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http run tempdir top_dir);

my $s = stack_up();
my $u = $s->signup;
my $top = top_dir();
my $git = tempdir();

# one repository per fixture, on branch main; "mono" holds two apps
sub make_repo {
    my ($name, @trees) = @_;
    my $dir = "$git/$name";
    for my $t (@trees) {
        my ($from, $to) = @$t;
        run('mkdir', '-p', "$dir/$to");
        run('cp', '-a', "$top/tests/fixtures/detect/$from/.", "$dir/$to");
    }
    for my $cmd (['init', '-q', '-b', 'main'], ['add', '-A'],
                 ['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit',
                  '-q', '-m', 'x'])
    {
        my ($rc, $out) = run('git', '-C', $dir, @$cmd);
        die "git @$cmd: $out" if $rc;
    }
    return "file://$dir";
}

my %repo = (
    vite  => make_repo('vite', [ 'vite', '.' ]),
    flask => make_repo('flask', [ 'flask', '.' ]),
    empty => make_repo('empty', [ 'empty', '.' ]),
    mono  => make_repo('mono', [ 'static', '.' ], [ 'next', 'apps/web' ]),
);

sub detect {
    my ($body) = @_;
    return http(POST => $s->url('/api/v1/detect'), $body,
                $s->auth_header($u));
}

my $tmp = $ENV{TMPDIR} // '/tmp';
my @before = glob "$tmp/detect-*";

for my $c (
    [ 'vite', { repo_url => $repo{vite}, branch => 'main' },
      { detected => 1, kind => 'static', framework => 'vite',
        output_dir => 'dist', build_cmd => 'npm run build' } ],
    [ 'flask', { repo_url => $repo{flask} },
      { kind => 'dynamic', framework => 'flask', runtime => 'python' } ],
    [ 'mono root', { repo_url => $repo{mono} },
      { kind => 'static', output_dir => '.' } ],
    [ 'mono apps/web', { repo_url => $repo{mono}, root_dir => 'apps/web' },
      { kind => 'dynamic', framework => 'next', run_cmd => 'npm start' } ],
    [ 'nothing', { repo_url => $repo{empty} },
      { detected => 0, kind => undef, framework => undef } ],
) {
    my ($name, $body, $want) = @$c;
    my $res = detect($body);
    is($res->{status}, 200, "$name: 200") or diag($res->{content});
    for my $k (sort keys %$want) {
        my $got = $res->{json}{$k};
        $got = $got ? 1 : 0 if $k eq 'detected';
        is($got, $want->{$k}, "$name: $k");
    }
}

my @after = glob "$tmp/detect-*";
is(scalar @after, scalar @before, 'no clone left behind');

for my $c (
    [ 'no repo_url', {}, 422, 'repo_url' ],
    [ 'ftp', { repo_url => 'ftp://x/y' }, 422, 'repo_url' ],
    [ 'bad branch', { repo_url => $repo{vite}, branch => '..' }, 422,
      'branch' ],
    [ 'no such branch', { repo_url => $repo{vite}, branch => 'nope' }, 422,
      'branch' ],
    [ 'no such repo', { repo_url => "file://$git/nope" }, 422, undef ],
    [ 'root escape', { repo_url => $repo{vite}, root_dir => '../..' }, 422,
      'root_dir' ],
    [ 'root missing', { repo_url => $repo{vite}, root_dir => 'nope' }, 422,
      'root_dir' ],
    [ 'unknown field', { repo_url => $repo{vite}, x => 1 }, 422, 'x' ],
) {
    my ($name, $body, $status, $field) = @$c;
    my $res = detect($body);
    is($res->{status}, $status, "$name: $status") or diag($res->{content});
    is($res->{json}{error}{field}, $field, "$name: field $field")
        if defined $field;
}

is(http(POST => $s->url('/api/v1/detect'), { repo_url => $repo{vite} })
   ->{status}, 401, 'unauthenticated: 401');

done_testing;
