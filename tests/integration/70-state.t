# The deployment state machine in SQL: the trigger allows exactly the
# transitions of tests/fixtures/transitions.txt (the matrix lib/so_state.c
# is unit-tested against), records each one, and the partial unique index
# keeps one PRODUCTION per project.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up run top_dir);

my $s = stack_up();
my $var = $s->var;
my @psql = ('psql', '-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1',
            '-h', "$var/run/pg", '-p', $s->port('pg'), '-U', 'shipoff',
            '-d', 'shipoff');

sub psql { run(@psql, '-c', $_[0]) }

my @states = qw(QUEUED BUILDING PROVISIONING PRODUCTION INACTIVE FAILED
                CANCELED);
my %path = (
    QUEUED       => [],
    BUILDING     => [qw(BUILDING)],
    PROVISIONING => [qw(BUILDING PROVISIONING)],
    PRODUCTION   => [qw(BUILDING PROVISIONING PRODUCTION)],
    INACTIVE     => [qw(BUILDING PROVISIONING PRODUCTION INACTIVE)],
    FAILED       => [qw(FAILED)],
    CANCELED     => [qw(CANCELED)],
);

my %legal;
open my $fh, '<', top_dir() . '/tests/fixtures/transitions.txt' or die $!;
while (<$fh>) {
    next if /^#/ || !/\S/;
    my ($from, $to) = split;
    $legal{"$from $to"} = 1;
}
close $fh;
is(scalar keys %legal, 12, 'the matrix has 12 legal transitions');

my ($rc, $out) = psql(q{INSERT INTO users (email) VALUES ('sm@example.com')});
is($rc, 0, 'a user') or diag $out;

# one transaction per pair, rolled back: walk to FROM, then try TO
for my $from (@states) {
    for my $to (@states) {
        next if $from eq $to;
        my $walk = join '', map { "UPDATE deployments SET state = '$_' "
                                  . "WHERE id = currval(pg_get_serial_sequence('deployments', 'id'));\n" }
                            @{ $path{$from} }, $to;
        my $sql = <<"SQL";
BEGIN;
INSERT INTO projects (name, owner_user_id, repo_url, webhook_secret_enc)
    VALUES ('sm', (SELECT id FROM users WHERE email = 'sm\@example.com'),
            'https://example.com/r.git', 'x');
INSERT INTO deployments (project_id, branch)
    VALUES (currval(pg_get_serial_sequence('projects', 'id')), 'main');
$walk
ROLLBACK;
SQL
        ($rc, $out) = psql($sql);
        if ($legal{"$from $to"}) {
            is($rc, 0, "$from -> $to is allowed") or diag $out;
        } else {
            isnt($rc, 0, "$from -> $to is refused");
            like($out, qr/illegal deployment transition $from -> $to/,
                 "$from -> $to: the error names it");
        }
    }
}

# a deployment is born QUEUED
($rc, $out) = psql(<<'SQL');
INSERT INTO projects (name, owner_user_id, repo_url, webhook_secret_enc)
    VALUES ('one', (SELECT id FROM users LIMIT 1), 'https://e.com/r', 'x');
SQL
is($rc, 0, 'a project');
($rc, $out) = psql(q{INSERT INTO deployments (project_id, branch, state)
                     SELECT id, 'main', 'PRODUCTION' FROM projects
                     WHERE name = 'one'});
isnt($rc, 0, 'a deployment cannot be born PRODUCTION');

# two deployments walked to PRODUCTION: the second is refused
my $to_prod = join '', map { "UPDATE deployments SET state = '$_', "
                             . "reason = 'test' WHERE id = :id;\n" }
                       @{ $path{PRODUCTION} };
for my $n (1, 2) {
    ($rc, $out) = run(@psql, '-c', q{INSERT INTO deployments (project_id,
                      branch) SELECT id, 'main' FROM projects
                      WHERE name = 'one'});
    is($rc, 0, "deployment $n queued");
}
my ($first, $second) = split /\n/,
    (psql(q{SELECT id FROM deployments ORDER BY id}))[1];
for my $id ($first, $second) {
    my $sql = $to_prod =~ s/:id/$id/gr;
    ($rc, $out) = psql($sql);
    if ($id == $first) {
        is($rc, 0, 'the first reaches PRODUCTION') or diag $out;
    } else {
        isnt($rc, 0, 'a second PRODUCTION in the project is refused');
        like($out, qr/deployments_one_production/, 'by the unique index');
    }
}

# every transition was recorded, with its reason
($rc, $out) = psql("SELECT string_agg(coalesce(from_state, '-') || '>'
                    || to_state || ':' || coalesce(reason, ''), ' '
                    ORDER BY id) FROM deployment_events
                    WHERE deployment_id = $first");
chomp $out;
is($out, '->QUEUED: QUEUED>BUILDING:test BUILDING>PROVISIONING:test '
         . 'PROVISIONING>PRODUCTION:test', 'the events of the first');

done_testing();
