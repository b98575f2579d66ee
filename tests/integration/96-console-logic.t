# The console's logic that needs no browser (tests/console/logic.mjs, run
# with node as plain ES modules, as the browser loads them): parsing a
# pasted .env file, stripping ANSI escapes from log lines, and the actions
# each deployment state allows.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(top_dir);

my $top = top_dir();
plan skip_all => 'node is not installed' unless grep { -x "$_/node" }
    split /:/, $ENV{PATH};

open(my $fh, '-|', 'node', "$top/tests/console/logic.mjs")
    or die "node: $!";
my $seen = 0;
while (my $line = <$fh>) {
    chomp $line;
    if ($line =~ /^(not )?ok \d+ - (.*)$/) {
        ok(!$1, $2);
        $seen++;
    } elsif ($line =~ /^# ?(.*)$/) {
        diag($1);
    }
}
close $fh;
is($? >> 8, 0, 'logic.mjs exits 0');
cmp_ok($seen, '>=', 10, 'logic.mjs ran its tests');
done_testing;
