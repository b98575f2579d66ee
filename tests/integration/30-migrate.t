# The migration runner: order, one transaction per file, rerun is a no-op,
# a failure names file and line and leaves the database as it was.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up run tempdir top_dir);

my $s = stack_up();
my $top = top_dir();
my $var = $s->var;
my $pgport = $s->port('pg');

my @psql = ('psql', '-X', '-q', '-tA', '-h', "$var/run/pg", '-p', $pgport);

sub psql {
    my ($db, $sql) = @_;
    my ($rc, $out) = run(@psql, '-U', 'postgres', '-d', $db, '-c', $sql);
    die "psql: $out" if $rc;
    chomp $out;
    return $out;
}

psql('postgres', 'CREATE DATABASE mtest');

my $dir = tempdir();

sub write_sql {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die "$name: $!";
    print $fh $text;
    close $fh;
}

sub migrate {
    local $ENV{SHIPOFF_SQL_DIR} = $dir;
    local $ENV{SHIPOFF_PG_DSN} =
        "host=$var/run/pg port=$pgport dbname=mtest user=postgres";
    return run("$top/builder/shipoffd", '-c', $s->conf, 'migrate');
}

sub applied { psql('mtest', 'SELECT count(*) FROM schema_migrations') }

write_sql('0001_a.sql', <<'SQL');
-- a table and a row
CREATE TABLE a (id int PRIMARY KEY, note text);
INSERT INTO a VALUES (1, 'semi;colon in a string');
SQL

write_sql('0002_b.sql', <<'SQL');
/* a function whose body holds semicolons */
CREATE FUNCTION twice(x int) RETURNS int AS $body$
BEGIN
    RETURN x * 2;
END;
$body$ LANGUAGE plpgsql;
CREATE TABLE "b;c" (x int)
SQL

write_sql('notes.txt', "not a migration\n");

my ($rc, $out) = migrate();
is($rc, 0, 'first run succeeds') or diag $out;
like($out, qr/2 migration\(s\) applied/, 'two files applied');
is(psql('mtest', 'SELECT twice(21)'), 42, 'the function works');
is(psql('mtest', 'SELECT note FROM a'), 'semi;colon in a string',
   'the string kept its semicolon');
is(applied(), 2, 'two rows in schema_migrations');

($rc, $out) = migrate();
is($rc, 0, 'rerun succeeds');
like($out, qr/up to date/, 'rerun applies nothing');
is(applied(), 2, 'still two rows');

# a failure with a position: line of the error inside a statement
write_sql('0003_bad.sql', <<'SQL');
-- creates c, then fails
CREATE TABLE c (x int);
SELECT 1;
INSERT INTO c
    SELECT * FROM nope;
SQL

($rc, $out) = migrate();
isnt($rc, 0, 'a bad file fails');
like($out, qr{0003_bad\.sql:5: relation "nope" does not exist},
     'the error names file and line');
is(psql('mtest', "SELECT to_regclass('c') IS NULL"), 't',
   'nothing of the bad file was applied');
is(applied(), 2, 'the bad file is not recorded');

# a failure without a position (a constraint): the statement's line
write_sql('0003_bad.sql', <<'SQL');
CREATE TABLE c (x int);

INSERT INTO a VALUES (1, 'duplicate key');
SQL

($rc, $out) = migrate();
isnt($rc, 0, 'a constraint violation fails');
like($out, qr{0003_bad\.sql:3: duplicate key value}, 'it names line 3');
is(psql('mtest', "SELECT to_regclass('c') IS NULL"), 't',
   'still nothing of it applied');

write_sql('0003_bad.sql', "CREATE TABLE c (x int);\n");
($rc, $out) = migrate();
is($rc, 0, 'the fixed file applies') or diag $out;
is(applied(), 3, 'three rows');

# the platform's own migrations ran at make up
is(psql('shipoff', "SELECT count(*) FROM schema_migrations"),
   scalar(() = glob("$top/sql/[0-9][0-9][0-9][0-9]_*.sql")),
   'make up applied every file in sql/');

done_testing();
