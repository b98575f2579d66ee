# ShipoffBrowser: a browser test (tests/browser/*.mjs: Debian's chromium
# driven by playwright-core) as part of an integration test file.
#
#   use ShipoffBrowser qw(browser_test);
#   browser_test($stack, 'tests/browser/docs.mjs', NAME => 'value', ...);
#
# Runs `node SCRIPT` with the stack's public address in SHIPOFF_URL, its
# port in SHIPOFF_HTTP_PORT, a temp dir of its own in SHIPOFF_BROWSER_TMP
# (the browser's profile goes there) and the extra environment given, and
# turns each TAP line the script prints into a test of this file ("ok N -
# name" passes, "not ok N - name" fails, "# ..." is a diagnostic).  The
# script is killed after SHIPOFF_BROWSER_TIMEOUT seconds (default 240):
# its own waits all time out first.  A missing browser or npm package is
# a failure that says how to install it, not a skip: make check installs
# both (scripts/deps, npm ci).

package ShipoffBrowser;

use strict;
use warnings;
use Exporter 'import';
use Test::More ();
use ShipoffTest qw(top_dir tempdir);

our @EXPORT_OK = qw(browser_test);

sub browser_test {
    my ($stack, $script, %env) = @_;
    my $top = top_dir();
    my $chromium = $ENV{CHROMIUM} || '/usr/bin/chromium';

    my @missing;
    push @missing, "$chromium (scripts/deps installs Debian's chromium)"
        unless -x $chromium;
    push @missing, 'tests/browser/node_modules (make check runs npm ci '
                   . 'there; or: cd tests/browser && npm ci)'
        unless -d "$top/tests/browser/node_modules/playwright-core";
    if (@missing) {
        Test::More::fail("$script: its browser and packages are installed");
        Test::More::diag("missing: $_") for @missing;
        return 0;
    }

    my $limit = $ENV{SHIPOFF_BROWSER_TIMEOUT} || 240;
    local %ENV = (%ENV,
                  SHIPOFF_URL => $stack->url(''),
                  SHIPOFF_HTTP_PORT => $stack->port('http'),
                  SHIPOFF_BROWSER_TMP => tempdir(),
                  %env);
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec('timeout', '-k', '5', $limit, 'node', "$top/$script")
            or die "exec node: $!";
    }
    my ($plan, $failed) = (0, 0);
    while (my $line = <$fh>) {
        chomp $line;
        if ($line =~ /^(not )?ok \d+(?: - (.*))?$/) {
            Test::More::ok(!$1, $2 // '');
            $failed = 1 if $1;
        } elsif ($line =~ /^1\.\.\d+$/) {
            $plan = 1;
        } elsif ($failed) {
            Test::More::diag($line =~ s/^# ?//r);
        } else {
            Test::More::note($line =~ s/^# ?//r);
        }
    }
    close $fh;
    my $rc = $? >> 8;
    Test::More::ok($plan, "$script: ran to its end")
        or Test::More::diag($rc == 124 ? "killed after $limit s"
                                       : "exit code $rc");
    return $rc == 0;
}

1;
