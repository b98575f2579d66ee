# POST /api/v1/detect: 202 and a pending detection, which a builder
# clones (file:// here, which the test stack allows) and detects in its
# sandbox; GET /api/v1/detect/{id} gives the answer, to its requester
# only (a django-admin startproject is Django by its manage.py; a
# package.json with only a build script is a site built into dist/).
# No clone is left behind; repo_url, branch and root_dir rules are
# answered at once, a missing branch, repository or root dir by the
# detection.  The API never clones: four detections of a server that
# accepts and never answers leave /api/v1/health answering at once, fail
# with clone_failed after detect_timeout, and a fifth pending one is
# refused with 429.  A "git bomb" (a tiny pack whose trees repeat one
# another, 10^7 files once checked out) is refused as too large without
# being expanded.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Time::HiRes qw(time);
use ShipoffTest qw(stack_up git_bomb silent_server http run tempdir top_dir);

my $s = stack_up(env => { SHIPOFF_DETECT_TIMEOUT => '4' });
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
    django => make_repo('django', [ '../starters/django', '.' ]),
    script => make_repo('script', [ 'build-script', '.' ]),
    mono  => make_repo('mono', [ 'static', '.' ], [ 'next', 'apps/web' ]),
);

sub post {
    my ($body, $who) = @_;
    return http(POST => $s->url('/api/v1/detect'), $body,
                $s->auth_header($who // $u));
}

sub get {
    my ($id, $who) = @_;
    return http(GET => $s->url("/api/v1/detect/$id"), undef,
                $s->auth_header($who // $u));
}

# the detection's last answer once it is no longer pending
sub finished {
    my ($id) = @_;
    my $res;
    for (1 .. 300) {
        $res = get($id);
        last if $res->{status} != 200 || $res->{json}{state} ne 'pending';
        select undef, undef, undef, 0.1;
    }
    return $res;
}

# POST, then the finished detection (or the POST's own error answer)
sub detect {
    my ($body) = @_;
    my $res = post($body);
    return $res unless $res->{status} == 202;
    return finished($res->{json}{id});
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
    [ 'django-admin startproject', { repo_url => $repo{django} },
      { kind => 'dynamic', framework => 'django', runtime => 'python',
        install_cmd => undef } ],
    [ 'a build script', { repo_url => $repo{script} },
      { kind => 'static', framework => undef, build_cmd => 'npm run build',
        output_dir => 'dist' } ],
    [ 'nothing', { repo_url => $repo{empty} },
      { detected => 0, kind => undef, framework => undef } ],
) {
    my ($name, $body, $want) = @$c;
    my $posted = post($body);
    is($posted->{status}, 202, "$name: 202") or diag($posted->{content});
    is($posted->{json}{state}, 'pending', "$name: pending at first");
    my $res = finished($posted->{json}{id});
    is($res->{json}{state}, 'done', "$name: done") or diag($res->{content});
    for my $k (sort keys %$want) {
        my $got = $res->{json}{result}{$k};
        $got = $got ? 1 : 0 if $k eq 'detected';
        is($got, $want->{$k}, "$name: $k");
    }
}

my @after = glob "$tmp/detect-*";
is(scalar @after, scalar @before, 'the API made no clone');
is(scalar(() = glob($s->var . '/builds/detect-*')), 0,
   "the builder's work dirs are gone");

# refused at once (422), or failed by the detection
for my $c (
    [ 'no repo_url', {}, 422, 'repo_url' ],
    [ 'ftp', { repo_url => 'ftp://x/y' }, 422, 'repo_url' ],
    [ 'bad branch', { repo_url => $repo{vite}, branch => '..' }, 422,
      'branch' ],
    [ 'root escape', { repo_url => $repo{vite}, root_dir => '../..' }, 422,
      'root_dir' ],
    [ 'unknown field', { repo_url => $repo{vite}, x => 1 }, 422, 'x' ],
    [ 'no such branch', { repo_url => $repo{vite}, branch => 'nope' },
      'failed', 'branch' ],
    [ 'no such repo', { repo_url => "file://$git/nope" }, 'failed',
      undef ],
    [ 'root missing', { repo_url => $repo{vite}, root_dir => 'nope' },
      'failed', 'root_dir' ],
) {
    my ($name, $body, $want, $field) = @$c;
    my $res = detect($body);
    if ($want eq 'failed') {
        is($res->{json}{state}, 'failed', "$name: failed")
            or diag($res->{content});
        is($res->{json}{error}{code}, 'validation_failed',
           "$name: validation_failed");
        ok(length $res->{json}{error}{message}, "$name: a message");
    } else {
        is($res->{status}, $want, "$name: $want") or diag($res->{content});
    }
    is(($want eq 'failed' ? $res->{json}{error}{field}
                          : $res->{json}{error}{field}), $field,
       "$name: field $field")
        if defined $field;
}

# ---- a detection is its requester's only

{
    my $other = $s->signup;
    my $mine = post({ repo_url => $repo{vite} });
    is(get($mine->{json}{id}, $other)->{status}, 404,
       "another user's detection: 404");
    is(get(999999999)->{status}, 404, 'no such detection: 404');
    is(get('x')->{status}, 404, 'not an id: 404');
    finished($mine->{json}{id});
}

# ---- a server that accepts and never answers

{
    my ($port, $pid) = silent_server();
    my $url = "http://127.0.0.1:$port/silent.git";

    my @ids;
    for my $i (1 .. 4) {
        my $res = post({ repo_url => $url });
        is($res->{status}, 202, "silent server $i: 202")
            or diag($res->{content});
        push @ids, $res->{json}{id};
    }
    my $fifth = post({ repo_url => $url });
    is($fifth->{status}, 429, 'a fifth pending detection: 429');
    ok($fifth->{headers}{'retry-after'}, '  with Retry-After');

    my $t0 = time;
    my $health = http(GET => $s->url('/api/v1/health'));
    is($health->{status}, 200, 'the API answers meanwhile');
    cmp_ok(time - $t0, '<', 2, '  at once');

    for my $id (@ids) {
        my $res = finished($id);
        is($res->{json}{state}, 'failed', "detection $id: failed");
        is($res->{json}{error}{code}, 'clone_failed', '  clone_failed');
        like($res->{json}{error}{message}, qr/did not answer within 4 s/,
             '  after detect_timeout');
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

# ---- a git bomb: refused before it is checked out

{
    my $dir = git_bomb("$git/bomb");
    my $res = detect({ repo_url => "file://$dir" });
    is($res->{json}{state}, 'failed', 'a git bomb: failed')
        or diag($res->{content});
    like($res->{json}{error}{message}, qr/too large/, '  too large');
    is(scalar(() = glob($s->var . '/builds/detect-*')), 0,
       '  nothing left on disk');
}

is(http(POST => $s->url('/api/v1/detect'), { repo_url => $repo{vite} })
   ->{status}, 401, 'unauthenticated: 401');

done_testing;
