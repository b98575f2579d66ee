# ShipoffGit (tests/integration/lib/ShipoffGit.pm), the smart-HTTP git
# server other tests clone from: `git clone` of a public repository gets
# the fixture at the commit the server reports; a later commit() is what
# the next fetch sees; a private repository answers only to its user and
# password.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(run tempdir);
use ShipoffGit;

my $token = 'gho_' . join '', map { sprintf '%02x', int rand 256 } 1 .. 18;
my $g = ShipoffGit->start(auth => { user => 'x-access-token',
                                    password => $token });
my $url = $g->repo('site', 'tests/fixtures/sites/plain');
like($url, qr{^http://127\.0\.0\.1:\d+/site\.git$}, 'a clone URL');

my $tmp = tempdir();

sub git {
    my ($rc, $out) = run('git', '-c', 'credential.helper=',
                         '-c', 'core.askPass=/bin/false', @_);
    chomp $out;
    return ($rc, $out);
}

local $ENV{GIT_TERMINAL_PROMPT} = '0';

my ($rc, $out) = git('clone', '-q', $url, "$tmp/a");
is($rc, 0, 'git clone over HTTP') or diag($out, $g->logs);
ok(-f "$tmp/a/site/index.html", '  the fixture is there');
my ($rc2, $head) = git('-C', "$tmp/a", 'rev-parse', 'HEAD');
my ($rc3, $remote) = git('ls-remote', $url, 'refs/heads/main');
like($remote, qr/^\Q$head\E\trefs\/heads\/main$/,
     '  at the head the server reports');

my $sha = $g->commit('site', { 'NEW.txt' => "new\n", 'build.sh' => undef },
                     'second');
like($sha, qr/^[0-9a-f]{40}$/, 'commit() answers the commit id');
($rc, $out) = git('-C', "$tmp/a", 'pull', '-q', '--ff-only');
is($rc, 0, 'git pull') or diag($out);
is((git('-C', "$tmp/a", 'rev-parse', 'HEAD'))[1], $sha,
   '  gets the new commit');
ok(-f "$tmp/a/NEW.txt" && !-e "$tmp/a/build.sh", '  with its changes');

$g->repo('secret', 'tests/fixtures/sites/plain', private => 1);
like($g->url('secret'), qr{/private/secret\.git$}, 'a private repository');
($rc, $out) = git('clone', '-q', $g->url('secret'), "$tmp/b");
isnt($rc, 0, '  no clone without credentials');
like($out, qr/Authentication failed|could not read Username|401/,
     '  the server asked for them') or diag($out);
(my $bad = $g->auth_url('secret')) =~ s/\Q$token\E/wrong/;
($rc, $out) = git('clone', '-q', $bad, "$tmp/c");
isnt($rc, 0, '  nor with a wrong password');
($rc, $out) = git('clone', '-q', $g->auth_url('secret'), "$tmp/d");
is($rc, 0, '  a clone with its user and password') or diag($out);
ok(-f "$tmp/d/site/index.html", '  the fixture is there');

($rc, $out) = git('clone', '-q', $g->url('site') =~ s/site/nope/r,
                  "$tmp/e");
isnt($rc, 0, 'no such repository: the clone fails');

done_testing;
